//! The Rust SDK's RoomClient (protobuf Twirp) against the stand-in: the path the control plane
//! uses in production.

use std::collections::HashMap;

use livekit_api::services::room::{CreateRoomOptions, SendDataOptions, UpdateParticipantOptions};
use livekit_protocol as proto;
use livekit_standin::{DataKind, Source, TrackKind, TrackSpec};

use crate::helpers::*;

#[tokio::test]
async fn room_client_full_round_trip() {
    let app = spawn().await;
    let rc = app.room_client();

    let room = rc
        .create_room(
            "standup",
            CreateRoomOptions {
                max_participants: 8,
                metadata: "m1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(room.sid.starts_with("RM_"), "{}", room.sid);
    assert_eq!(
        (
            room.empty_timeout,
            room.departure_timeout,
            room.max_participants
        ),
        (300, 20, 8)
    );
    assert!(room.creation_time > 0 && room.creation_time_ms >= room.creation_time * 1000);

    // Get-or-create: same room back, request ignored.
    let again = rc
        .create_room(
            "standup",
            CreateRoomOptions {
                metadata: "other".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (again.sid.as_str(), again.metadata.as_str()),
        (room.sid.as_str(), "m1")
    );

    let listed = rc.list_rooms(vec![]).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(rc.list_rooms(vec!["nope".into()]).await.unwrap().is_empty());

    let sid = app.standin.join(
        "standup",
        "alice",
        "Alice",
        &[
            TrackSpec {
                kind: TrackKind::Audio,
                source: Source::Microphone,
                name: "mic".into(),
            },
            TrackSpec {
                kind: TrackKind::Video,
                source: Source::Camera,
                name: "cam".into(),
            },
        ],
    );
    app.standin.join("standup", "bob", "Bob", &[]);
    assert!(sid.starts_with("PA_"));
    let r = &rc.list_rooms(vec!["standup".into()]).await.unwrap()[0];
    assert_eq!((r.num_participants, r.num_publishers), (2, 1));

    let ps = rc.list_participants("standup").await.unwrap();
    assert_eq!(
        ps.iter().map(|p| p.identity.as_str()).collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    let alice = rc.get_participant("standup", "alice").await.unwrap();
    assert_eq!(alice.sid, sid);
    assert_eq!(alice.state, proto::participant_info::State::Active as i32);
    let mic = alice
        .tracks
        .iter()
        .find(|t| t.name == "mic")
        .unwrap()
        .clone();
    assert!(mic.sid.starts_with("TR_"));
    assert_eq!(mic.r#type, proto::TrackType::Audio as i32);
    assert_eq!(mic.source, proto::TrackSource::Microphone as i32);

    let muted = rc
        .mute_published_track("standup", "alice", &mic.sid, true)
        .await
        .unwrap();
    assert!(muted.muted);
    // enable_remote_unmute defaults to false.
    let err = rc
        .mute_published_track("standup", "alice", &mic.sid, false)
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("remote unmute not enabled"),
        "{err:?}"
    );

    let updated = rc
        .update_participant(
            "standup",
            "alice",
            UpdateParticipantOptions {
                metadata: "meta".into(),
                attributes: HashMap::from([("role".into(), "host".into())]),
                permission: None,
                name: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.metadata.as_str()),
        ("Alice", "meta")
    );
    assert_eq!(updated.attributes["role"], "host");
    // Empty value deletes; permission replaces the whole set.
    let updated = rc
        .update_participant(
            "standup",
            "alice",
            UpdateParticipantOptions {
                attributes: HashMap::from([("role".into(), String::new())]),
                permission: Some(proto::ParticipantPermission {
                    can_subscribe: true,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(updated.attributes.is_empty());
    assert_eq!(updated.metadata, "meta", "empty metadata means no change");
    let perm = updated.permission.unwrap();
    assert!(perm.can_subscribe && !perm.can_publish && !perm.can_publish_data);

    let room = rc
        .update_room_metadata("standup", "new-meta")
        .await
        .unwrap();
    assert_eq!(room.metadata, "new-meta");

    rc.send_data(
        "standup",
        b"hello".to_vec(),
        SendDataOptions {
            kind: proto::data_packet::Kind::Reliable,
            destination_identities: vec!["bob".into()],
            topic: Some("chat".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let data = app.standin.data_messages("standup");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].payload, b"hello");
    assert_eq!(data[0].kind, DataKind::Reliable);
    assert_eq!(data[0].topic.as_deref(), Some("chat"));
    assert_eq!(data[0].destination_identities, ["bob"]);
    assert_eq!(data[0].nonce.len(), 16);

    rc.remove_participant("standup", "bob").await.unwrap();
    let err = rc.remove_participant("standup", "bob").await.unwrap_err();
    assert!(
        format!("{err:?}").contains("participant not found"),
        "{err:?}"
    );
    assert_eq!(rc.list_participants("standup").await.unwrap().len(), 1);

    rc.delete_room("standup").await.unwrap();
    let err = rc.delete_room("standup").await.unwrap_err();
    assert!(
        format!("{err:?}").contains("requested room does not exist"),
        "{err:?}"
    );
    assert!(rc.list_rooms(vec![]).await.unwrap().is_empty());

    // Every call went out as protobuf.
    let reqs = app.standin.requests();
    assert!(
        reqs.iter().all(|(_, ct)| ct == "application/protobuf"),
        "{reqs:?}"
    );
    assert!(reqs.iter().any(|(m, _)| m == "SendData"));
    app.standin.stop().await;
}

#[tokio::test]
async fn room_client_with_unknown_key_is_refused() {
    let app = spawn().await;
    let rc = livekit_api::services::room::RoomClient::with_api_key(
        &app.standin.url(),
        OTHER_KEY,
        SECRET,
    )
    .with_failover(false);
    // The plain-text 401 is not Twirp JSON; the SDK surfaces a decode error, as against the
    // real server (facts §3.2).
    assert!(rc.list_rooms(vec![]).await.is_err());
    assert_eq!(
        app.standin.requests(),
        [("ListRooms".to_string(), "application/protobuf".to_string())]
    );
}
