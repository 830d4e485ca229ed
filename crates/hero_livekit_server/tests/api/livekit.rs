//! The control plane against the strict LiveKit stand-in: rooms and participants, the SFU going
//! away and coming back, zero-downtime key rotation, restart detection, audit and events.

use std::time::{Duration, Instant};

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_api::{ClientError, RpcClient};
use livekit_standin::{Source, StandIn, TrackKind, TrackSpec};
use serde_json::json;

use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A control plane pointed at a stand-in SFU that runs the livekit.yaml it wrote.
async fn with_sfu(
    tweak: impl FnOnce(&mut hero_livekit_server::config::Settings),
) -> (TestApp, StandIn) {
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

/// Stops the SFU and starts it again on the current livekit.yaml, like `systemctl restart`.
async fn restart(app: &TestApp, sfu: StandIn) -> StandIn {
    let port = sfu.port();
    sfu.stop().await;
    StandIn::start(&app.home.join("livekit.yaml"), port)
        .await
        .unwrap()
}

fn err(e: ClientError) -> (i32, serde_json::Value) {
    match e {
        ClientError::Rpc { code, data, .. } => (code, data.unwrap_or_default()),
        other => panic!("expected an RPC error, got {other}"),
    }
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

#[tokio::test]
async fn rooms_and_participants_through_the_room_service() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let c = app.client().await;

    let created = c
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
    let again = c
        .call::<RoomCreate>(&RoomCreateParams {
            name: "standup".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(again.sid, created.sid);
    let rooms = c
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap()
        .rooms;
    assert_eq!(
        rooms.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["standup"]
    );
    let updated = c
        .call::<RoomUpdateMetadata>(&RoomUpdateMetadataParams {
            name: "standup".into(),
            metadata: "m2".into(),
        })
        .await
        .unwrap();
    assert_eq!(updated.metadata, "m2");

    sfu.join("standup", "alice", "Alice", &tracks());
    let ps = c
        .call::<ParticipantListM>(&RoomParams {
            room: "standup".into(),
        })
        .await
        .unwrap()
        .participants;
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
    let mic = alice.tracks[0].sid.clone();

    let muted = c
        .call::<ParticipantMuteTrack>(&MuteTrackParams {
            room: "standup".into(),
            identity: "alice".into(),
            track_sid: mic.clone(),
            muted: true,
        })
        .await
        .unwrap();
    assert!(muted.track.muted);
    // Remote unmute is off by default in LiveKit: its error comes through with its code.
    let (code, data) = err(c
        .call::<ParticipantMuteTrack>(&MuteTrackParams {
            room: "standup".into(),
            identity: "alice".into(),
            track_sid: mic,
            muted: false,
        })
        .await
        .unwrap_err());
    assert_eq!(
        (code, data["twirp_code"].as_str()),
        (-32002, Some("failed_precondition"))
    );

    // A permission patch is merged over the current permission: can_subscribe survives.
    let p = c
        .call::<ParticipantUpdate>(&ParticipantUpdateParams {
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
        })
        .await
        .unwrap();
    assert_eq!(
        (p.name.as_str(), p.metadata.as_str()),
        ("Alice B", "{\"hand\":true}")
    );
    assert_eq!(p.attributes["role"], "host");
    let perm = p.permission.unwrap();
    assert!(!perm.can_publish && perm.can_subscribe, "{perm:?}");
    assert_eq!(perm.can_publish_sources, vec!["microphone".to_string()]);
    let got = c
        .call::<ParticipantGet>(&ParticipantParams {
            room: "standup".into(),
            identity: "alice".into(),
        })
        .await
        .unwrap();
    assert_eq!(got.name, "Alice B");

    c.call::<RoomSendData>(&RoomSendDataParams {
        room: "standup".into(),
        data: "hello".into(),
        topic: Some("chat".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    c.call::<RoomSendData>(&RoomSendDataParams {
        room: "standup".into(),
        data: "AAEC".into(),
        encoding: Some(DataEncoding::Base64),
        kind: Some(DataKind::Lossy),
        destination_identities: Some(vec!["alice".into()]),
        ..Default::default()
    })
    .await
    .unwrap();
    let sent = sfu.data_messages("standup");
    assert_eq!(sent[0].payload, b"hello");
    assert_eq!(sent[0].topic.as_deref(), Some("chat"));
    assert_eq!(sent[0].nonce.len(), 16);
    assert_eq!(sent[1].payload, vec![0, 1, 2]);
    assert_eq!(sent[1].destination_identities, vec!["alice".to_string()]);
    let (code, data) = err(c
        .call::<RoomSendData>(&RoomSendDataParams {
            room: "standup".into(),
            data: "%%".into(),
            encoding: Some(DataEncoding::Base64),
            ..Default::default()
        })
        .await
        .unwrap_err());
    assert_eq!((code, data["field"].as_str()), (-32602, Some("data")));

    c.call::<ParticipantRemove>(&ParticipantParams {
        room: "standup".into(),
        identity: "alice".into(),
    })
    .await
    .unwrap();
    let (code, data) = err(c
        .call::<ParticipantGet>(&ParticipantParams {
            room: "standup".into(),
            identity: "alice".into(),
        })
        .await
        .unwrap_err());
    assert_eq!(
        (code, data["twirp_code"].as_str()),
        (-32003, Some("not_found"))
    );
    c.call::<RoomDelete>(&RoomNameParams {
        name: "standup".into(),
    })
    .await
    .unwrap();
    let (code, _) = err(c
        .call::<RoomDelete>(&RoomNameParams {
            name: "standup".into(),
        })
        .await
        .unwrap_err());
    assert_eq!(code, -32003);
    let (code, _) = err(c
        .call::<ParticipantListM>(&RoomParams {
            room: "nope".into(),
        })
        .await
        .unwrap_err());
    assert_eq!(code, -32003);
    let (code, data) = err(c
        .call::<RoomCreate>(&RoomCreateParams {
            name: "x".repeat(300),
            ..Default::default()
        })
        .await
        .unwrap_err());
    assert_eq!((code, data["field"].as_str()), (-32602, Some("name")));

    // Every call was protobuf, each with a token the stand-in verified against livekit.yaml.
    let reqs = sfu.requests();
    assert!(
        reqs.len() > 10
            && reqs
                .iter()
                .all(|(_, ct)| ct.starts_with("application/protobuf")),
        "{reqs:?}"
    );

    // Every mutating call is in the audit log with the caller, and nothing secret.
    let audit = c
        .call::<AuditListM>(&AuditListParams::default())
        .await
        .unwrap()
        .entries;
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
    let filtered = c
        .call::<AuditListM>(&AuditListParams {
            method: Some("room.delete".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(filtered.entries.len(), 1);
    assert!(
        filtered.entries[0].outcome.starts_with("error"),
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
    let (code, data) = err(app
        .client()
        .await
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap_err());
    assert_eq!(
        (code, data["twirp_code"].as_str(), data["msg"].as_str()),
        (-32002, Some("unauthenticated"), Some("invalid API key"))
    );
    let s = app
        .client()
        .await
        .call::<StatusM>(&NoParams {})
        .await
        .unwrap();
    assert_eq!(s.keys[0].sfu_accepts, Some(false));
    assert_eq!(s.sfu.config_loaded, Some(false));
    assert!(s.restart_required);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_sfu_is_a_distinct_error_within_the_timeout_and_recovery_needs_no_restart() {
    let port = free_port();
    let app = spawn_with(|s| {
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.livekit_timeout = Some("1s".parse().unwrap());
    })
    .await;
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
        let (code, data) = err(c.call_raw(m, p.clone()).await.unwrap_err());
        assert_eq!(code, -32001, "{m}");
        assert_eq!(data["url"], format!("http://127.0.0.1:{port}"), "{m}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{m} took {:?}",
            start.elapsed()
        );
    }
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(!s.sfu.reachable && s.sfu.config_loaded.is_none() && !s.restart_required);

    // Something that accepts and never answers: still an unreachable error, after the timeout.
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
    let (code, _) = err(c
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap_err());
    assert_eq!(code, -32001);
    assert!(
        start.elapsed() >= Duration::from_millis(900) && start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    holder.abort();
    let _ = holder.await;

    // The SFU comes up: the same control plane works, no restart.
    let sfu = StandIn::start(&app.home.join("livekit.yaml"), port)
        .await
        .unwrap();
    let rooms = c
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap();
    assert!(rooms.rooms.is_empty());
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
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
    let resp = reqwest_post(
        &format!("{}/twirp/livekit.RoomService/ListRooms", sfu.url()),
        token,
    )
    .await;
    match resp {
        (401, body) if body.contains("permissions denied") => true,
        (401, _) => false,
        other => panic!("unexpected answer {other:?}"),
    }
}

async fn reqwest_post(url: &str, token: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let uri: hyper::Uri = url.parse().unwrap();
    let stream = tokio::net::TcpStream::connect((uri.host().unwrap(), uri.port_u16().unwrap()))
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::post(uri.path())
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(hyper::body::Bytes::from_static(b"{}")))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned(),
    )
}

async fn mint(c: &RpcClient) -> String {
    c.call::<TokenCreate>(&TokenCreateParams {
        room: "r".into(),
        identity: "u".into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .token
}

fn env_of(app: &TestApp) -> hero_livekit_api::env_file::BackendEnv {
    hero_livekit_api::env_file::BackendEnv::from_vars(
        &hero_livekit_api::env_file::parse(&app.read("backend.env")).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn key_rotation_end_to_end_without_a_refused_token() {
    let (app, mut sfu) = with_sfu(|_| {}).await;
    let c = app.client().await;
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(
        !s.restart_required && s.sfu.config_loaded == Some(true),
        "{:?}",
        s.restart_reasons
    );
    let old = s.keys[0].api_key.clone();
    assert!(sfu_accepts_token(&sfu, &mint(&c).await).await);

    // Subscribe to events before rotating.
    let mut events = c.subscribe_events().await.unwrap();

    // 1. Rotate: the new key is pending; everything still signs with the old one.
    let new = c
        .call::<KeysRotate>(&KeysRotateParams { grace_s: Some(1) })
        .await
        .unwrap();
    assert_eq!(new.state, KeyState::Pending);
    let new = new.api_key;
    assert_eq!(
        env_of(&app).livekit_api_key,
        old,
        "the backend still signs with the old key"
    );
    assert!(
        env_of(&app)
            .livekit_webhook_keys
            .iter()
            .any(|(k, _)| *k == new),
        "webhooks signed by the new key are accepted"
    );
    let yaml = hero_livekit_server::livekit_schema::check_yaml(&app.read("livekit.yaml")).unwrap();
    assert!(
        yaml.keys.as_ref().unwrap().contains_key(&new)
            && yaml.keys.as_ref().unwrap().contains_key(&old)
    );
    assert_eq!(yaml.webhook.unwrap().api_key.as_deref(), Some(new.as_str()));
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(s.restart_required);
    assert!(
        s.restart_reasons
            .iter()
            .any(|r| r.contains(&new) && r.contains("not loaded")),
        "{:?}",
        s.restart_reasons
    );
    let t = mint(&c).await;
    assert!(
        t.contains('.') && sfu_accepts_token(&sfu, &t).await,
        "a token minted mid-rotation is accepted"
    );
    let e = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.kind, "key.pending");
    // A second rotation while one is pending is refused.
    let (code, _) = err(c
        .call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap_err());
    assert_eq!(code, -32004);

    // 2. The SFU restarts on the new file: the new key becomes active.
    sfu = restart(&app, sfu).await;
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(!s.restart_required, "{:?}", s.restart_reasons);
    let states: Vec<(String, KeyState)> = s
        .keys
        .iter()
        .map(|k| (k.api_key.clone(), k.state))
        .collect();
    assert!(
        states.contains(&(new.clone(), KeyState::Active))
            && states.contains(&(old.clone(), KeyState::Retiring)),
        "{states:?}"
    );
    assert_eq!(
        env_of(&app).livekit_api_key,
        new,
        "the backend now signs with the new key"
    );
    let t = mint(&c).await;
    assert!(sfu_accepts_token(&sfu, &t).await);
    let d = c
        .call::<TokenDecode>(&TokenDecodeParams { token: t })
        .await
        .unwrap();
    assert_eq!(d.api_key.as_deref(), Some(new.as_str()));

    // 3. After the grace period the old key is retired: gone from livekit.yaml, still accepted
    // for webhooks, and the SFU (which still has it) must be restarted.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(
        s.keys
            .iter()
            .any(|k| k.api_key == old && k.state == KeyState::Retired),
        "{:?}",
        s.keys
    );
    assert!(!app.read("livekit.yaml").contains(&old));
    assert!(
        env_of(&app)
            .livekit_webhook_keys
            .iter()
            .any(|(k, _)| *k == old)
    );
    assert!(s.restart_required);
    assert!(
        s.restart_reasons
            .iter()
            .any(|r| r.contains(&old) && r.contains("still accepted")),
        "{:?}",
        s.restart_reasons
    );
    assert!(sfu_accepts_token(&sfu, &mint(&c).await).await);

    // 4. The SFU restarts again: the old key is revoked everywhere.
    sfu = restart(&app, sfu).await;
    let s = c.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(!s.restart_required, "{:?}", s.restart_reasons);
    assert!(!s.keys.iter().any(|k| k.api_key == old));
    assert!(
        !env_of(&app)
            .livekit_webhook_keys
            .iter()
            .any(|(k, _)| *k == old)
    );
    let listed = c
        .call::<KeysList>(&KeysListParams::default())
        .await
        .unwrap();
    assert_eq!(
        listed
            .keys
            .iter()
            .map(|k| k.api_key.as_str())
            .collect::<Vec<_>>(),
        vec![new.as_str()]
    );
    let all = c
        .call::<KeysList>(&KeysListParams {
            include_revoked: Some(true),
        })
        .await
        .unwrap();
    assert!(
        all.keys
            .iter()
            .any(|k| k.api_key == old && k.state == KeyState::Revoked)
    );
    assert!(sfu_accepts_token(&sfu, &mint(&c).await).await);

    // Tokens of the old key are refused by the SFU and explained by token.decode.
    let old_secret = {
        let store = hero_livekit_server::Store::open_sqlite(&app.home.join("server.db"))
            .await
            .unwrap();
        store.key(&old).await.unwrap().unwrap().secret
    };
    let stale = livekit_api::access_token::AccessToken::with_api_key(&old, old_secret.expose())
        .with_identity("u")
        .with_grants(livekit_api::access_token::VideoGrants {
            room_join: true,
            room: "r".into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    assert!(!sfu_accepts_token(&sfu, &stale).await);
    let d = c
        .call::<TokenDecode>(&TokenDecodeParams { token: stale })
        .await
        .unwrap();
    assert!(
        !d.valid && d.problems.iter().any(|p| p.contains("revoked")),
        "{:?}",
        d.problems
    );

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
    let audit = c
        .call::<AuditListM>(&AuditListParams {
            method: Some("keys.rotate".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.entries.len(), 2);
    sfu.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn any_setting_change_requires_a_restart_until_the_sfu_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let boot = |level: &'static str| {
        let mut s = settings(dir.path());
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.sfu_log_level = Some(level.into());
        s
    };
    let cfg = hero_livekit_server::Config::from_settings(boot("info"), None).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hero_livekit_server::boot(cfg).await.unwrap().serve(async {
        let _ = rx.await;
    }));
    let socket = dir.path().join("sock/rpc.sock");
    let sfu = StandIn::start(&dir.path().join("home/livekit.yaml"), port)
        .await
        .unwrap();
    let s = RpcClient::connect(&socket)
        .await
        .unwrap()
        .call::<StatusM>(&NoParams {})
        .await
        .unwrap();
    assert!(!s.restart_required && s.sfu.config_loaded == Some(true));
    let _ = tx.send(());
    server.await.unwrap().unwrap();

    // The operator changes the SFU log level; the control plane rewrites livekit.yaml.
    let cfg = hero_livekit_server::Config::from_settings(boot("debug"), None).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hero_livekit_server::boot(cfg).await.unwrap().serve(async {
        let _ = rx.await;
    }));
    let c = RpcClient::connect(&socket).await.unwrap();
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
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn revoke_and_import_keep_one_signing_key_and_redact_the_audit() {
    let (app, sfu) = with_sfu(|_| {}).await;
    let c = app.client().await;
    let first = c
        .call::<KeysList>(&KeysListParams::default())
        .await
        .unwrap()
        .keys[0]
        .api_key
        .clone();
    let (code, _) = err(c
        .call::<KeysRevoke>(&KeyParams {
            api_key: first.clone(),
        })
        .await
        .unwrap_err());
    assert_eq!(code, -32004, "the only signing key cannot be revoked");
    let (code, _) = err(c
        .call::<KeysRevoke>(&KeyParams {
            api_key: "APInope".into(),
        })
        .await
        .unwrap_err());
    assert_eq!(code, -32003);

    let secret = "imported-secret-0123456789abcdefghijklmnop";
    let (code, data) = err(c
        .call::<KeysImport>(&KeysImportParams {
            api_key: "APIlegacy".into(),
            secret: "short".into(),
        })
        .await
        .unwrap_err());
    assert_eq!((code, data["field"].as_str()), (-32602, Some("secret")));
    let k = c
        .call::<KeysImport>(&KeysImportParams {
            api_key: "APIlegacy".into(),
            secret: secret.into(),
        })
        .await
        .unwrap();
    assert_eq!(k.state, KeyState::Active);
    assert_eq!(env_of(&app).livekit_api_key, "APIlegacy");
    let (code, _) = err(c
        .call::<KeysImport>(&KeysImportParams {
            api_key: "APIlegacy".into(),
            secret: secret.into(),
        })
        .await
        .unwrap_err());
    assert_eq!(code, -32004);
    // The previous key keeps working through its grace; revoking it removes it everywhere.
    let r = c
        .call::<KeysRevoke>(&KeyParams {
            api_key: first.clone(),
        })
        .await
        .unwrap();
    assert_eq!(r.state, KeyState::Revoked);
    assert!(
        !app.read("livekit.yaml").contains(&first) && !app.read("backend.env").contains(&first)
    );

    let audit = c
        .call::<AuditListM>(&AuditListParams::default())
        .await
        .unwrap();
    let text = serde_json::to_string(&audit).unwrap();
    assert!(
        !text.contains(secret),
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

#[tokio::test]
async fn an_sfu_behind_https_is_driven_when_its_certificate_is_trusted_and_refused_when_not() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, cert, key) = test_pki();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}", proxy.local_addr().unwrap().port());

    // The binary, so the trust store can be given through the environment like in production.
    let start = |home: &str, trust: bool| {
        let mut cmd = std::process::Command::new(server_bin());
        cmd.arg("--home")
            .arg(dir.path().join(home))
            .arg("--socket")
            .arg(dir.path().join(home).join("rpc.sock"))
            .args(["--livekit-url", &url, "--livekit-timeout", "3s"])
            .env_remove("NOTIFY_SOCKET")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if trust {
            cmd.env("SSL_CERT_FILE", &ca_file);
        } else {
            cmd.env_remove("SSL_CERT_FILE");
        }
        cmd.spawn().unwrap()
    };
    let trusting = start("trusting", true);
    let socket = dir.path().join("trusting/rpc.sock");
    wait_socket(&socket);
    let sfu = StandIn::start(&dir.path().join("trusting/livekit.yaml"), 0)
        .await
        .unwrap();
    tls_proxy(proxy, sfu.port(), cert, key);

    let c = RpcClient::connect(&socket).await.unwrap();
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

    // Without the CA in its trust store, the same SFU is refused: the certificate is checked.
    let doubting = start("doubting", false);
    let socket2 = dir.path().join("doubting/rpc.sock");
    wait_socket(&socket2);
    let c2 = RpcClient::connect(&socket2).await.unwrap();
    let e = c2
        .call::<RoomListM>(&RoomListParams::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    let (code, data) = err(e);
    assert_eq!(code, -32001);
    assert_eq!(data["url"], url);
    assert!(text.to_lowercase().contains("certificate"), "{text}");

    drop((c, c2));
    for child in [trusting, doubting] {
        let (status, _) = terminate(child);
        assert!(status.success());
    }
    sfu.stop().await;
}
