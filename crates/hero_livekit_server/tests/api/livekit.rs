//! The control plane against the strict LiveKit stand-in: rooms and participants, the SFU going
//! away and coming back, zero-downtime key rotation, restart detection, audit and events.

use std::time::{Duration, Instant};

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_server::config::Settings;
use hero_livekit_testkit::http::Request;
use hero_livekit_testkit::{InProcess, Proc, free_port};
use livekit_standin::{Source, StandIn, TrackKind, TrackSpec};
use serde_json::json;

use crate::helpers::*;

/// A control plane pointed at a stand-in SFU that runs the livekit.yaml it wrote.
async fn with_sfu(tweak: impl FnOnce(&mut Settings)) -> (TestApp, StandIn) {
    let port = free_port();
    let app = spawn_with(|s| {
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.livekit_timeout = Some("2s".parse().unwrap());
        tweak(s);
    })
    .await;
    let sfu = StandIn::start(&app.home.join("livekit.yaml"), port)
        .await
        .unwrap();
    (app, sfu)
}

/// Room "standup" with alice in it, publishing a mic and a camera; returns the mic's sid.
async fn standup_with_alice() -> (TestApp, StandIn, String) {
    let (app, sfu) = with_sfu(|_| {}).await;
    app.create_room("standup").await;
    sfu.join("standup", "alice", "Alice", &tracks());
    let mic = app.participants("standup").await.unwrap()[0].tracks[0]
        .sid
        .clone();
    (app, sfu, mic)
}

/// Stops the SFU and starts it again on the current livekit.yaml, like `systemctl restart`.
async fn restart(app: &TestApp, sfu: StandIn) -> StandIn {
    let port = sfu.port();
    sfu.stop().await;
    StandIn::start(&app.home.join("livekit.yaml"), port)
        .await
        .unwrap()
}

fn tracks() -> Vec<TrackSpec> {
    vec![
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
    ]
}

fn patch_alice() -> ParticipantUpdateParams {
    ParticipantUpdateParams {
        room: "standup".into(),
        identity: "alice".into(),
        name: Some("Alice B".into()),
        metadata: Some("{\"hand\":true}".into()),
        attributes: Some([("role".to_string(), "host".to_string())].into()),
        permission: Some(PermissionPatch {
            can_publish: Some(false),
            can_publish_sources: Some(vec!["microphone".into()]),
            ..Default::default()
        }),
    }
}

fn text_to_standup() -> RoomSendDataParams {
    RoomSendDataParams {
        room: "standup".into(),
        data: "hello".into(),
        topic: Some("chat".into()),
        ..Default::default()
    }
}

fn bytes_to_alice() -> RoomSendDataParams {
    RoomSendDataParams {
        room: "standup".into(),
        data: "AAEC".into(),
        encoding: Some(DataEncoding::Base64),
        kind: Some(DataKind::Lossy),
        destination_identities: Some(vec!["alice".into()]),
        ..Default::default()
    }
}

/// An operator's session over every room and participant call, the refused ones included:
/// what the audit and the SFU's request log are checked against.
async fn every_room_call(app: &TestApp, mic: &str) {
    app.call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap();
    app.call::<RoomUpdateMetadata>(&RoomUpdateMetadataParams {
        name: "standup".into(),
        metadata: "m2".into(),
    })
    .await
    .unwrap();
    app.mute("standup", "alice", mic, true).await.unwrap();
    app.mute("standup", "alice", mic, false).await.unwrap_err();
    app.call::<ParticipantUpdate>(&patch_alice()).await.unwrap();
    app.participant("standup", "alice").await.unwrap();
    app.call::<RoomSendData>(&text_to_standup()).await.unwrap();
    app.call::<RoomSendData>(&bytes_to_alice()).await.unwrap();
    app.remove_participant("standup", "alice").await.unwrap();
    app.participant("standup", "alice").await.unwrap_err();
    app.delete_room("standup").await.unwrap();
    app.delete_room("standup").await.unwrap_err();
}

#[tokio::test]
async fn a_room_is_created_with_its_settings_and_creating_it_again_returns_it() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let created = app
        .call::<RoomCreate>(&RoomCreateParams {
            name: "standup".into(),
            empty_timeout_s: Some(60),
            max_participants: Some(10),
            metadata: Some("m1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.empty_timeout_s,
            created.max_participants
        ),
        ("standup", 60, 10)
    );
    assert!(created.sid.starts_with("RM_"));
    // Get-or-create, as LiveKit does.
    let again = app.create_room("standup").await;
    assert_eq!(again.sid, created.sid);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn rooms_are_listed_and_their_metadata_replaced() {
    let (app, sfu) = with_sfu(|_| {}).await;
    app.create_room("standup").await;
    let rooms = app.rooms().await;
    assert_eq!(
        rooms.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["standup"]
    );
    let updated = app
        .call::<RoomUpdateMetadata>(&RoomUpdateMetadataParams {
            name: "standup".into(),
            metadata: "m2".into(),
        })
        .await
        .unwrap();
    assert_eq!(updated.metadata, "m2");
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn participants_are_listed_with_their_tracks() {
    let (app, sfu, _) = standup_with_alice().await;
    let ps = app.participants("standup").await.unwrap();
    assert_eq!(ps.len(), 1);
    let alice = &ps[0];
    assert_eq!(
        (
            alice.identity.as_str(),
            alice.name.as_str(),
            alice.state.as_str()
        ),
        ("alice", "Alice", "active")
    );
    assert_eq!(
        alice
            .tracks
            .iter()
            .map(|t| (t.kind.as_str(), t.source.as_str()))
            .collect::<Vec<_>>(),
        vec![("audio", "microphone"), ("video", "camera")]
    );
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_track_is_muted_and_remote_unmute_is_refused_with_livekits_code() {
    let (app, sfu, mic) = standup_with_alice().await;
    let muted = app.mute("standup", "alice", &mic, true).await.unwrap();
    assert!(muted.track.muted);
    // Remote unmute is off by default in LiveKit: its error comes through with its code.
    let (code, data) = rpc_err(app.mute("standup", "alice", &mic, false).await.unwrap_err());
    assert_eq!(
        (code, data["twirp_code"].as_str()),
        (-32002, Some("failed_precondition"))
    );
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_permission_patch_is_merged_over_the_current_permission() {
    let (app, sfu, _) = standup_with_alice().await;
    let p = app.call::<ParticipantUpdate>(&patch_alice()).await.unwrap();
    assert_eq!(
        (p.name.as_str(), p.metadata.as_str()),
        ("Alice B", "{\"hand\":true}")
    );
    assert_eq!(p.attributes["role"], "host");
    // can_subscribe was not in the patch: it survives.
    let perm = p.permission.unwrap();
    assert!(!perm.can_publish && perm.can_subscribe, "{perm:?}");
    assert_eq!(perm.can_publish_sources, vec!["microphone".to_string()]);
    let got = app.participant("standup", "alice").await.unwrap();
    assert_eq!(got.name, "Alice B");
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn data_messages_reach_the_room_as_sent() {
    let (app, sfu, _) = standup_with_alice().await;
    app.call::<RoomSendData>(&text_to_standup()).await.unwrap();
    app.call::<RoomSendData>(&bytes_to_alice()).await.unwrap();
    let sent = sfu.data_messages("standup");
    assert_eq!(sent[0].payload, b"hello");
    assert_eq!(sent[0].topic.as_deref(), Some("chat"));
    assert_eq!(sent[0].nonce.len(), 16);
    assert_eq!(sent[1].payload, vec![0, 1, 2]);
    assert_eq!(sent[1].destination_identities, vec!["alice".to_string()]);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn data_that_is_not_base64_is_refused_naming_the_field() {
    let (app, sfu, _) = standup_with_alice().await;
    let (code, data) = app
        .call_err::<RoomSendData>(&RoomSendDataParams {
            room: "standup".into(),
            data: "%%".into(),
            encoding: Some(DataEncoding::Base64),
            ..Default::default()
        })
        .await;
    assert_eq!((code, data["field"].as_str()), (-32602, Some("data")));
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_removed_participant_is_not_found_with_livekits_code() {
    let (app, sfu, _) = standup_with_alice().await;
    app.remove_participant("standup", "alice").await.unwrap();
    let (code, data) = rpc_err(app.participant("standup", "alice").await.unwrap_err());
    assert_eq!(
        (code, data["twirp_code"].as_str()),
        (-32003, Some("not_found"))
    );
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_room_is_gone_and_a_missing_room_is_not_found() {
    let (app, sfu, _) = standup_with_alice().await;
    app.delete_room("standup").await.unwrap();
    let (code, _) = rpc_err(app.delete_room("standup").await.unwrap_err());
    assert_eq!(code, -32003);
    let (code, _) = rpc_err(app.participants("nope").await.unwrap_err());
    assert_eq!(code, -32003);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_room_name_over_livekits_limit_is_refused_naming_the_field() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let (code, data) = app
        .call_err::<RoomCreate>(&RoomCreateParams {
            name: "x".repeat(300),
            ..Default::default()
        })
        .await;
    assert_eq!((code, data["field"].as_str()), (-32602, Some("name")));
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn every_sfu_call_is_protobuf_with_a_token_the_sfu_verified() {
    let (app, sfu, mic) = standup_with_alice().await;
    every_room_call(&app, &mic).await;
    // The stand-in refuses a request whose token livekit.yaml's keys do not verify.
    let reqs = sfu.requests();
    assert!(
        reqs.len() > 10
            && reqs
                .iter()
                .all(|(_, ct)| ct.starts_with("application/protobuf")),
        "{reqs:?}"
    );
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn every_mutating_call_is_audited_with_its_caller_and_nothing_secret() {
    let (app, sfu, mic) = standup_with_alice().await;
    every_room_call(&app, &mic).await;
    let audit = app.audit(AuditListParams::default()).await;
    let methods: Vec<&str> = audit.iter().map(|e| e.method.as_str()).collect();
    for m in [
        "room.create",
        "room.update_metadata",
        "participant.mute_track",
        "participant.update",
        "room.send_data",
        "participant.remove",
        "room.delete",
    ] {
        assert!(methods.contains(&m), "{m} not audited: {methods:?}");
    }
    assert!(
        !methods.contains(&"room.list") && !methods.contains(&"participant.get"),
        "reads are not audited"
    );
    let first = audit
        .iter()
        .find(|e| e.method == "participant.mute_track")
        .unwrap();
    assert_eq!(first.peer.pid, Some(std::process::id() as i32));
    assert_eq!(first.peer.uid, Some(rustix::process::getuid().as_raw()));
    assert!(
        audit.iter().any(|e| e.outcome.starts_with("error")),
        "failed calls are audited too"
    );
    let filtered = app
        .audit(AuditListParams {
            method: Some("room.delete".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await;
    assert_eq!(filtered.len(), 1);
    assert!(
        filtered[0].outcome.starts_with("error"),
        "newest first: the second delete failed"
    );
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn an_sfu_without_our_key_is_a_livekit_auth_error() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let port = sfu.port();
    sfu.stop().await;
    // An SFU running someone else's config.
    let foreign = app.dir.path().join("foreign.yaml");
    std::fs::write(
        &foreign,
        "port: 7880\nkeys:\n  APIsomeoneelse: 0123456789012345678901234567890123456789\n",
    )
    .unwrap();
    let sfu = StandIn::start(&foreign, port).await.unwrap();
    let (code, data) = app.call_err::<RoomListM>(&RoomListParams::default()).await;
    assert_eq!(
        (code, data["twirp_code"].as_str(), data["msg"].as_str()),
        (-32002, Some("unauthenticated"), Some("invalid API key"))
    );
    let s = app.status().await;
    assert_eq!(s.keys[0].sfu_accepts, Some(false));
    assert_eq!(s.sfu.config_loaded, Some(false));
    assert!(s.restart_required);
    sfu.stop().await;
    app.stop().await;
}

/// A control plane whose SFU, on `port`, is not running; a 1 s timeout.
async fn with_sfu_down() -> (TestApp, u16) {
    let port = free_port();
    let app = spawn_with(|s| {
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.livekit_timeout = Some("1s".parse().unwrap());
    })
    .await;
    (app, port)
}

#[tokio::test]
async fn every_sfu_call_on_an_unreachable_sfu_is_a_distinct_error_within_the_timeout() {
    let (app, port) = with_sfu_down().await;
    let c = app.client().await;
    let calls: Vec<(&str, serde_json::Value)> = vec![
        ("room.list", json!({})),
        ("room.create", json!({"name": "r"})),
        ("room.delete", json!({"name": "r"})),
        (
            "room.update_metadata",
            json!({"name": "r", "metadata": "m"}),
        ),
        ("room.send_data", json!({"room": "r", "data": "x"})),
        ("participant.list", json!({"room": "r"})),
        ("participant.get", json!({"room": "r", "identity": "i"})),
        ("participant.remove", json!({"room": "r", "identity": "i"})),
        (
            "participant.mute_track",
            json!({"room": "r", "identity": "i", "track_sid": "TR_x", "muted": true}),
        ),
        (
            "participant.update",
            json!({"room": "r", "identity": "i", "metadata": "m"}),
        ),
    ];
    for (m, p) in &calls {
        let start = Instant::now();
        let (code, data) = rpc_err(c.call_raw(m, p.clone()).await.unwrap_err());
        assert_eq!(code, -32001, "{m}");
        assert_eq!(data["url"], format!("http://127.0.0.1:{port}"), "{m}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{m} took {:?}",
            start.elapsed()
        );
    }
    let s = app.status().await;
    assert!(!s.sfu.reachable && s.sfu.config_loaded.is_none() && !s.restart_required);
    app.stop().await;
}

#[tokio::test]
async fn an_sfu_that_accepts_and_never_answers_is_unreachable_after_the_timeout() {
    let (app, port) = with_sfu_down().await;
    let hang = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept().await {
            held.push(s);
        }
    });
    let start = Instant::now();
    let (code, _) = app.call_err::<RoomListM>(&RoomListParams::default()).await;
    assert_eq!(code, -32001);
    assert!(
        start.elapsed() >= Duration::from_millis(900) && start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    holder.abort();
    let _ = holder.await;
    app.stop().await;
}

#[tokio::test]
async fn an_sfu_that_comes_up_later_is_used_without_a_restart() {
    let (app, port) = with_sfu_down().await;
    app.call_err::<RoomListM>(&RoomListParams::default()).await;
    let sfu = StandIn::start(&app.home.join("livekit.yaml"), port)
        .await
        .unwrap();
    assert!(app.rooms().await.is_empty());
    let s = app.status().await;
    assert!(
        s.sfu.reachable && s.sfu.config_loaded == Some(true) && !s.restart_required,
        "{:?}",
        s.restart_reasons
    );
    sfu.stop().await;
    app.stop().await;
}

/// Whether the running SFU's auth layer accepts `token` (a participant token has no admin
/// grant, so an accepted token gets LiveKit's JSON "permissions denied", a refused one a
/// plain-text 401).
async fn sfu_accepts_token(sfu: &StandIn, token: &str) -> bool {
    let resp = Request::post("/twirp/livekit.RoomService/ListRooms")
        .header("content-type", "application/json")
        .header("authorization", &format!("Bearer {token}"))
        .body("{}")
        .send_tcp_async(sfu.port())
        .await
        .unwrap();
    match (resp.status, resp.text()) {
        (401, body) if body.contains("permissions denied") => true,
        (401, _) => false,
        other => panic!("unexpected answer {other:?}"),
    }
}

/// The journey of one rotation, as an operator lives it: rotate, restart the SFU, wait out the
/// grace, restart again; no token is refused at any point.
#[tokio::test]
async fn key_rotation_end_to_end_without_a_refused_token() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let s = app.status().await;
    assert!(
        !s.restart_required && s.sfu.config_loaded == Some(true),
        "{:?}",
        s.restart_reasons
    );
    let old = s.keys[0].api_key.clone();
    assert!(sfu_accepts_token(&sfu, &app.mint("r", "u").await).await);
    // Subscribed before rotating (on a connection of its own, kept open).
    let subscriber = app.client().await;
    let mut events = subscriber.subscribe_events().await.unwrap();

    let new = rotated_key_is_pending(&app, &sfu, &old).await;
    let e = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.kind, "key.pending");
    let sfu = restart(&app, sfu).await;
    new_key_is_active(&app, &sfu, &old, &new).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    old_key_is_retired(&app, &sfu, &old).await;
    let sfu = restart(&app, sfu).await;
    old_key_is_revoked_everywhere(&app, &sfu, &old, &new).await;

    // The event stream saw the whole lifecycle.
    let mut kinds = Vec::new();
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(Duration::from_millis(200), events.next()).await
    {
        kinds.push(e.kind);
    }
    for k in [
        "key.active",
        "key.retiring",
        "key.retired",
        "key.revoked",
        "file.rewritten",
        "restart_required",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    // Every key transition request was audited.
    let audit = app
        .audit(AuditListParams {
            method: Some("keys.rotate".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(audit.len(), 2);
    sfu.stop().await;
    app.stop().await;
}

/// Step 1, rotate: the new key is pending; everything still signs with the old one, and a second
/// rotation is refused. Returns the new key.
async fn rotated_key_is_pending(app: &TestApp, sfu: &StandIn, old: &str) -> String {
    let new = app
        .call::<KeysRotate>(&KeysRotateParams { grace_s: Some(1) })
        .await
        .unwrap();
    assert_eq!(new.state, KeyState::Pending);
    let new = new.api_key;
    assert_eq!(
        app.env().livekit_api_key,
        old,
        "the backend still signs with the old key"
    );
    assert!(
        app.env()
            .livekit_webhook_keys
            .iter()
            .any(|(k, _)| *k == new),
        "webhooks signed by the new key are accepted"
    );
    let yaml = hero_livekit_server::livekit_schema::check_yaml(&app.read("livekit.yaml")).unwrap();
    assert!(
        yaml.keys.as_ref().unwrap().contains_key(&new)
            && yaml.keys.as_ref().unwrap().contains_key(old)
    );
    assert_eq!(yaml.webhook.unwrap().api_key.as_deref(), Some(new.as_str()));
    let s = app.status().await;
    assert!(s.restart_required);
    assert!(
        s.restart_reasons
            .iter()
            .any(|r| r.contains(&new) && r.contains("not loaded")),
        "{:?}",
        s.restart_reasons
    );
    let t = app.mint("r", "u").await;
    assert!(
        t.contains('.') && sfu_accepts_token(sfu, &t).await,
        "a token minted mid-rotation is accepted"
    );
    let (code, _) = app
        .call_err::<KeysRotate>(&KeysRotateParams::default())
        .await;
    assert_eq!(code, -32004, "a second rotation while one is pending");
    new
}

/// Step 2, the SFU restarted on the new file: the new key is active and signs everything.
async fn new_key_is_active(app: &TestApp, sfu: &StandIn, old: &str, new: &str) {
    let s = app.status().await;
    assert!(!s.restart_required, "{:?}", s.restart_reasons);
    let states: Vec<(String, KeyState)> = s
        .keys
        .iter()
        .map(|k| (k.api_key.clone(), k.state))
        .collect();
    assert!(
        states.contains(&(new.to_string(), KeyState::Active))
            && states.contains(&(old.to_string(), KeyState::Retiring)),
        "{states:?}"
    );
    assert_eq!(
        app.env().livekit_api_key,
        new,
        "the backend now signs with the new key"
    );
    let t = app.mint("r", "u").await;
    assert!(sfu_accepts_token(sfu, &t).await);
    assert_eq!(app.decode(&t).await.api_key.as_deref(), Some(new));
}

/// Step 3, after the grace period the old key is retired: gone from livekit.yaml, still accepted
/// for webhooks, and the SFU (which still has it) must be restarted.
async fn old_key_is_retired(app: &TestApp, sfu: &StandIn, old: &str) {
    let s = app.status().await;
    assert!(
        s.keys
            .iter()
            .any(|k| k.api_key == old && k.state == KeyState::Retired),
        "{:?}",
        s.keys
    );
    assert!(!app.read("livekit.yaml").contains(old));
    assert!(
        app.env()
            .livekit_webhook_keys
            .iter()
            .any(|(k, _)| *k == old)
    );
    assert!(s.restart_required);
    assert!(
        s.restart_reasons
            .iter()
            .any(|r| r.contains(old) && r.contains("still accepted")),
        "{:?}",
        s.restart_reasons
    );
    assert!(sfu_accepts_token(sfu, &app.mint("r", "u").await).await);
}

/// Step 4, the SFU restarted again: the old key is revoked everywhere, and its tokens are refused by
/// the SFU and explained by token.decode.
async fn old_key_is_revoked_everywhere(app: &TestApp, sfu: &StandIn, old: &str, new: &str) {
    let s = app.status().await;
    assert!(!s.restart_required, "{:?}", s.restart_reasons);
    assert!(!s.keys.iter().any(|k| k.api_key == old));
    assert!(
        !app.env()
            .livekit_webhook_keys
            .iter()
            .any(|(k, _)| *k == old)
    );
    assert_eq!(
        app.keys(false)
            .await
            .iter()
            .map(|k| k.api_key.as_str())
            .collect::<Vec<_>>(),
        vec![new]
    );
    assert!(
        app.keys(true)
            .await
            .iter()
            .any(|k| k.api_key == old && k.state == KeyState::Revoked)
    );
    assert!(sfu_accepts_token(sfu, &app.mint("r", "u").await).await);
    let old_secret = {
        let store = hero_livekit_server::Store::open_sqlite(&app.home.join("server.db"))
            .await
            .unwrap();
        store.key(old).await.unwrap().unwrap().secret
    };
    let stale = livekit_api::access_token::AccessToken::with_api_key(old, old_secret.expose())
        .with_identity("u")
        .with_grants(livekit_api::access_token::VideoGrants {
            room_join: true,
            room: "r".into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    assert!(!sfu_accepts_token(sfu, &stale).await);
    let d = app.decode(&stale).await;
    assert!(
        !d.valid && d.problems.iter().any(|p| p.contains("revoked")),
        "{:?}",
        d.problems
    );
}

#[tokio::test]
async fn any_setting_change_requires_a_restart_until_the_sfu_loads_it() {
    let dir = hero_livekit_testkit::temp_dir();
    let port = free_port();
    let boot = |level: &'static str| {
        let mut s = settings(dir.path());
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.sfu_log_level = Some(level.into());
        hero_livekit_server::Config::from_settings(s, None).unwrap()
    };
    let booted = hero_livekit_server::boot(boot("info")).await.unwrap();
    let server = InProcess::spawn(|stop| booted.serve(stop));
    let socket = dir.path().join("sock/rpc.sock");
    let sfu = StandIn::start(&dir.path().join("home/livekit.yaml"), port)
        .await
        .unwrap();
    let s = hero_livekit_api::RpcClient::connect(&socket)
        .await
        .unwrap()
        .call::<StatusM>(&NoParams {})
        .await
        .unwrap();
    assert!(!s.restart_required && s.sfu.config_loaded == Some(true));
    server.stop().await.unwrap();

    // The operator changes the SFU log level; the control plane rewrites livekit.yaml.
    let booted = hero_livekit_server::boot(boot("debug")).await.unwrap();
    let server = InProcess::spawn(|stop| booted.serve(stop));
    let c = hero_livekit_api::RpcClient::connect(&socket).await.unwrap();
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert_eq!(s.sfu.config_loaded, Some(false));
    assert!(s.restart_required);
    assert_eq!(
        s.restart_reasons,
        vec!["livekit.yaml changed since the SFU started".to_string()]
    );
    let port = sfu.port();
    sfu.stop().await;
    let sfu = StandIn::start(&dir.path().join("home/livekit.yaml"), port)
        .await
        .unwrap();
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(
        !s.restart_required && s.sfu.config_loaded == Some(true),
        "{:?}",
        s.restart_reasons
    );
    sfu.stop().await;
    server.stop().await.unwrap();
}

const IMPORTED_SECRET: &str = "imported-secret-0123456789abcdefghijklmnop";

async fn import_legacy(
    app: &TestApp,
    secret: &str,
) -> Result<KeyChange, hero_livekit_api::ClientError> {
    app.call::<KeysImport>(&KeysImportParams {
        api_key: "APIlegacy".into(),
        secret: secret.into(),
    })
    .await
}

async fn revoke(app: &TestApp, key: &str) -> Result<KeyChange, hero_livekit_api::ClientError> {
    app.call::<KeysRevoke>(&KeyParams {
        api_key: key.into(),
    })
    .await
}

#[tokio::test]
async fn the_only_signing_key_and_unknown_keys_cannot_be_revoked() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let first = app.keys(false).await[0].api_key.clone();
    let (code, _) = rpc_err(revoke(&app, &first).await.unwrap_err());
    assert_eq!(code, -32004, "the only signing key cannot be revoked");
    let (code, _) = rpc_err(revoke(&app, "APInope").await.unwrap_err());
    assert_eq!(code, -32003);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn an_imported_key_becomes_the_one_signing_key() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let (code, data) = rpc_err(import_legacy(&app, "short").await.unwrap_err());
    assert_eq!((code, data["field"].as_str()), (-32602, Some("secret")));
    let k = import_legacy(&app, IMPORTED_SECRET).await.unwrap();
    assert_eq!(k.state, KeyState::Active);
    assert_eq!(app.env().livekit_api_key, "APIlegacy");
    let (code, _) = rpc_err(import_legacy(&app, IMPORTED_SECRET).await.unwrap_err());
    assert_eq!(code, -32004);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn after_an_import_the_previous_key_is_revoked_everywhere_and_the_audit_is_redacted() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let first = app.keys(false).await[0].api_key.clone();
    import_legacy(&app, IMPORTED_SECRET).await.unwrap();
    // The previous key keeps working through its grace; revoking it removes it everywhere.
    let r = revoke(&app, &first).await.unwrap();
    assert_eq!(r.state, KeyState::Revoked);
    assert!(
        !app.read("livekit.yaml").contains(&first) && !app.read("backend.env").contains(&first)
    );
    let audit = app.audit(AuditListParams::default()).await;
    let text = serde_json::to_string(&audit).unwrap();
    assert!(
        !text.contains(IMPORTED_SECRET),
        "the imported secret is redacted in the audit log"
    );
    assert!(text.contains("keys.import") && text.contains("keys.revoke"));
    sfu.stop().await;
    app.stop().await;
}

/// A throwaway CA and a `localhost` certificate it signed: (CA PEM, leaf DER, leaf key DER).
fn test_pki() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    (ca.pem(), leaf.der().to_vec(), leaf_key.serialize_der())
}

/// Terminates TLS on `listener` and forwards the plain bytes to `127.0.0.1:upstream`, like the
/// reverse proxy an operator puts in front of the SFU.
fn tls_proxy(listener: tokio::net::TcpListener, upstream: u16, cert: Vec<u8>, key: Vec<u8>) {
    use tokio_rustls::rustls;
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses our certificate ends the handshake: nothing to forward.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut up = tokio::net::TcpStream::connect(("127.0.0.1", upstream))
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
}

/// An HTTPS front for an SFU (a stand-in on `livekit.yaml`, started behind it), its certificate
/// signed by a throwaway CA written to `ca.pem`, and the real server binary (so the trust store
/// comes from the environment, as in production) pointed at it.
struct HttpsSfu {
    site: hero_livekit_testkit::Site,
    url: String,
    ca_file: std::path::PathBuf,
    proxy: Option<tokio::net::TcpListener>,
    cert: (Vec<u8>, Vec<u8>),
}

impl HttpsSfu {
    async fn new() -> HttpsSfu {
        let site = site();
        let (ca_pem, cert, key) = test_pki();
        let ca_file = site.dir().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://localhost:{}", proxy.local_addr().unwrap().port());
        HttpsSfu {
            site,
            url,
            ca_file,
            proxy: Some(proxy),
            cert: (cert, key),
        }
    }

    /// The server, with or without the CA in its trust store.
    fn server(&self, trust: bool) -> Proc {
        let mut cmd = server_cmd(&self.site);
        cmd.args(["--livekit-url", &self.url, "--livekit-timeout", "3s"]);
        if trust {
            cmd.env("SSL_CERT_FILE", &self.ca_file);
        } else {
            cmd.env_remove("SSL_CERT_FILE");
        }
        let server = Proc::spawn(&mut cmd);
        wait_socket(&self.site.socket());
        server
    }

    /// Starts the SFU on the server's livekit.yaml, behind the TLS front.
    async fn start_sfu(&mut self) -> StandIn {
        let sfu = StandIn::start(&self.site.home().join("livekit.yaml"), 0)
            .await
            .unwrap();
        let (cert, key) = self.cert.clone();
        tls_proxy(self.proxy.take().unwrap(), sfu.port(), cert, key);
        sfu
    }
}

#[tokio::test]
async fn an_sfu_behind_https_is_driven_when_its_certificate_is_trusted() {
    let mut https = HttpsSfu::new().await;
    let server = https.server(true);
    let sfu = https.start_sfu().await;
    let c = hero_livekit_api::RpcClient::connect(&https.site.socket())
        .await
        .unwrap();
    let room = c
        .call::<RoomCreate>(&RoomCreateParams {
            name: "over-tls".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(room.name, "over-tls");
    let rooms = c
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap();
    assert_eq!(rooms.rooms.len(), 1, "{rooms:?}");
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(s.sfu.reachable, "{:?}", s.sfu);
    assert_eq!(s.sfu.config_loaded, Some(true), "{:?}", s.sfu);
    drop(c);
    assert!(server.terminate().status.success());
    sfu.stop().await;
}

#[tokio::test]
async fn an_sfu_behind_https_with_an_untrusted_certificate_is_refused() {
    let mut https = HttpsSfu::new().await;
    // Without the CA in its trust store, the SFU is refused: the certificate is checked.
    let server = https.server(false);
    let sfu = https.start_sfu().await;
    let c = hero_livekit_api::RpcClient::connect(&https.site.socket())
        .await
        .unwrap();
    let e = c
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    let (code, data) = rpc_err(e);
    assert_eq!(code, -32001);
    assert_eq!(data["url"], https.url);
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    drop(c);
    assert!(server.terminate().status.success());
    sfu.stop().await;
}
