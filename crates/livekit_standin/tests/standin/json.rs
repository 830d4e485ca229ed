//! JSON Twirp: responses in LiveKit's encoding (compared with the vectors' field sets), lenient
//! protojson-style requests, and the full flow over reqwest.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::*;

/// Keys of an object, minus the ones set to null (the vectors omit unset sub-messages).
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect()
}

#[tokio::test]
async fn responses_match_livekit_vectors() {
    let app = spawn().await;
    let (s, body) = app
        .call_json(
            "CreateRoom",
            Some(&creator()),
            &vector("CreateRoom.request.json"),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let room = parse(&body);
    let want = &vector("ListRooms.response.json")["rooms"][0];
    assert_eq!(keys(&room), keys(want));
    // Unset message is written as null, as the real server does.
    assert_eq!(room["version"], Value::Null);
    assert!(
        room["creation_time"].is_string() && room["creation_time_ms"].is_string(),
        "{room}"
    );
    assert_eq!(room["empty_timeout"], 300);
    assert_eq!(room["max_participants"], 8);
    assert_eq!(room["metadata"], want["metadata"]);
    assert_eq!(room["enabled_codecs"], json!([]));

    let (_, body) = app
        .call_json("ListRooms", Some(&creator()), &json!({}))
        .await;
    let list = parse(&body);
    assert_eq!(keys(&list), keys(&vector("ListRooms.response.json")));

    let mic = livekit_standin::TrackSpec {
        kind: livekit_standin::TrackKind::Audio,
        source: livekit_standin::Source::Microphone,
        name: "microphone".into(),
    };
    app.standin.join("standup", "alice", "Alice", &[mic]);
    let (s, body) = app
        .call_json(
            "ListParticipants",
            Some(&admin("standup")),
            &json!({"room": "standup"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let got = &parse(&body)["participants"][0];
    let want = &vector("ListParticipants.response.json")["participants"][0];
    assert_eq!(keys(got), keys(want));
    assert_eq!(keys(&got["permission"]), keys(&want["permission"]));
    assert_eq!(keys(&got["tracks"][0]), keys(&want["tracks"][0]));
    assert_eq!(got["state"], "ACTIVE");
    assert_eq!(got["kind"], "STANDARD");
    assert_eq!(got["disconnect_reason"], "UNKNOWN_REASON");
    assert!(got["joined_at"].is_string() && got["joined_at_ms"].is_string());
    assert_eq!(got["attributes"], json!({}));
    assert_eq!(got["tracks"][0]["type"], "AUDIO");
    assert_eq!(got["tracks"][0]["source"], "MICROPHONE");
    assert_eq!(got["tracks"][0]["mime_type"], "audio/opus");
    assert_eq!(got["tracks"][0]["encryption"], "NONE");
    assert_eq!(
        got["tracks"][0]["backup_codec_policy"],
        want["tracks"][0]["backup_codec_policy"]
    );

    // Empty responses are `{}`.
    let (s, body) = app
        .call_json("DeleteRoom", Some(&creator()), &json!({"room": "standup"}))
        .await;
    assert_eq!((s, parse(&body)), (200, json!({})));
}

#[tokio::test]
async fn requests_accept_camel_case_string_int64_and_unknown_fields() {
    let app = spawn().await;
    let (s, body) = app
        .call_json(
            "CreateRoom",
            Some(&creator()),
            &json!({"name": "c", "emptyTimeout": 42, "departureTimeout": "7", "maxParticipants": 3, "whatever": {"x": 1}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let room = parse(&body);
    assert_eq!(
        (
            room["empty_timeout"].clone(),
            room["departure_timeout"].clone(),
            room["max_participants"].clone()
        ),
        (json!(42), json!(7), json!(3))
    );
    // null means unset, as in protojson.
    let (s, b) = app
        .call_json(
            "CreateRoom",
            Some(&creator()),
            &json!({"name": "n", "metadata": null, "egress": null}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // A JSON value that is not an object is malformed.
    let (s, b) = app
        .call_json("CreateRoom", Some(&creator()), &json!([1]))
        .await;
    assert_eq!((s, parse(&b)["code"].clone()), (400, json!("malformed")));
    // int64 as number and as string.
    app.standin.join("c", "alice", "", &[]);
    for ts in [json!(1), json!("1")] {
        let (s, b) = app
            .call_json(
                "RemoveParticipant",
                Some(&admin("c")),
                &json!({"room": "c", "identity": "nobody", "revokeTokenTs": ts}),
            )
            .await;
        assert_eq!(s, 404, "{b}");
    }
}

#[tokio::test]
async fn json_flow_create_list_join_mute_update_remove_delete() {
    let app = spawn().await;
    let (s, _) = app
        .call_json("CreateRoom", Some(&creator()), &json!({"name": "j"}))
        .await;
    assert_eq!(s, 200);
    let cam = livekit_standin::TrackSpec {
        kind: livekit_standin::TrackKind::Video,
        source: livekit_standin::Source::Camera,
        name: "cam".into(),
    };
    let sid = app.standin.join("j", "alice", "Alice", &[cam]);
    let (_, b) = app
        .call_json("ListRooms", Some(&creator()), &json!({"names": ["j"]}))
        .await;
    let rooms = parse(&b)["rooms"].clone();
    assert_eq!(
        (
            rooms[0]["num_participants"].clone(),
            rooms[0]["num_publishers"].clone()
        ),
        (json!(1), json!(1))
    );

    let a = admin("j");
    let (_, b) = app
        .call_json(
            "GetParticipant",
            Some(&a),
            &json!({"room": "j", "identity": "alice"}),
        )
        .await;
    let p = parse(&b);
    assert_eq!(p["sid"], sid);
    let track = p["tracks"][0]["sid"].as_str().unwrap().to_string();
    assert_eq!(p["tracks"][0]["type"], "VIDEO");

    let (s, b) = app
        .call_json(
            "MutePublishedTrack",
            Some(&a),
            &json!({"room": "j", "identity": "alice", "track_sid": track, "muted": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(parse(&b)["track"]["muted"], true);

    let (s, b) = app
        .call_json(
            "UpdateParticipant",
            Some(&a),
            &json!({"room": "j", "identity": "alice", "name": "Al", "attributes": {"role": "host"},
                    "permission": {"can_publish": true, "canPublishSources": ["CAMERA"]}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let p = parse(&b);
    assert_eq!(p["name"], "Al");
    assert_eq!(p["attributes"], json!({"role": "host"}));
    assert_eq!(p["permission"]["can_publish_sources"], json!(["CAMERA"]));
    assert_eq!(
        p["permission"]["can_subscribe"], false,
        "permission replaces the whole set"
    );

    let (s, b) = app
        .call_json(
            "UpdateRoomMetadata",
            Some(&a),
            &json!({"room": "j", "metadata": "m"}),
        )
        .await;
    assert_eq!((s, parse(&b)["metadata"].clone()), (200, json!("m")));

    let (s, _) = app
        .call_json(
            "RemoveParticipant",
            Some(&a),
            &json!({"room": "j", "identity": "alice"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, b) = app
        .call_json("ListParticipants", Some(&a), &json!({"room": "j"}))
        .await;
    assert_eq!(parse(&b), json!({"participants": []}));
    let (s, _) = app
        .call_json("DeleteRoom", Some(&creator()), &json!({"room": "j"}))
        .await;
    assert_eq!(s, 200);
    let (_, b) = app
        .call_json("ListRooms", Some(&creator()), &json!({}))
        .await;
    assert_eq!(parse(&b), json!({"rooms": []}));
    assert!(
        app.standin
            .requests()
            .iter()
            .all(|(_, ct)| ct == "application/json")
    );
}

#[tokio::test]
async fn empty_room_closes_after_empty_timeout() {
    let app = spawn_with("room:\n  empty_timeout: 1\n  departure_timeout: 1\n").await;
    let (s, b) = app
        .call_json("CreateRoom", Some(&creator()), &json!({"name": "t"}))
        .await;
    assert_eq!((s, parse(&b)["empty_timeout"].clone()), (200, json!(1)));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, b) = app
        .call_json("ListRooms", Some(&creator()), &json!({}))
        .await;
    assert_eq!(parse(&b), json!({"rooms": []}));
}
