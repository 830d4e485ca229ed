//! Egress (issue 13) against the strict stand-in on a real Redis: egress.yaml against
//! livekit.yaml, every kind started, listed and stopped through `egress.*`, LiveKit's refusals
//! as operator messages, a key rotation during a running recording, and no stream key or
//! storage credential in any answer or audit row.

use std::time::Duration;

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_server::config::Settings;
use hero_livekit_testkit::{Redis, free_port, wait_until_async};
use livekit_standin::{Options, Source, StandIn, TrackKind, TrackSpec};
use serde_json::Value;

use crate::helpers::*;

const STREAM_KEY: &str = "sk-live-4f9a2c7e1b";
const S3_SECRET: &str = "S3SECRETd8e1f0a9c2";

/// A control plane with `[redis]` and `[egress]`, and the stand-in as its one node.
struct Stack {
    app: TestApp,
    sfu: StandIn,
    _redis: Option<Redis>,
}

fn egress_settings(toml: &str) -> hero_livekit_server::config::EgressSettings {
    toml::from_str(toml).unwrap()
}

async fn stack_with(redis: bool, options: Options, tweak: impl FnOnce(&mut Settings)) -> Stack {
    let redis = redis.then(Redis::start);
    let port = free_port();
    let app = spawn_with(|s| {
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.livekit_timeout = Some("2s".parse().unwrap());
        if let Some(r) = &redis {
            s.redis.address = Some(format!("127.0.0.1:{}", r.port()));
            // A Redis node registers its IP; the control plane reaches it on sfu_port.
            s.node_ip = Some("127.0.0.1".into());
            s.sfu_port = Some(port);
            s.egress = egress_settings("enabled = true");
        }
        tweak(s);
    })
    .await;
    let sfu = StandIn::start_with(
        &app.home.join("livekit.yaml"),
        Options {
            port,
            egress_start_delay: Duration::from_millis(50),
            egress_end_delay: Duration::from_millis(50),
            ..options
        },
    )
    .await
    .unwrap();
    Stack {
        app,
        sfu,
        _redis: redis,
    }
}

async fn stack() -> Stack {
    stack_with(true, Options::default(), |_| {}).await
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

fn file(path: &str) -> Option<FileOutput> {
    Some(FileOutput {
        filepath: path.into(),
        ..Default::default()
    })
}

impl Stack {
    /// Room "standup" with alice publishing a mic and a camera; returns (mic, cam) sids.
    async fn standup(&self) -> (String, String) {
        self.app.create_room("standup").await;
        self.sfu.join("standup", "alice", "Alice", &tracks());
        let p = self.app.participant("standup", "alice").await.unwrap();
        (p.tracks[0].sid.clone(), p.tracks[1].sid.clone())
    }

    async fn list(&self, params: EgressListParams) -> Vec<EgressInfo> {
        self.app
            .call::<EgressListM>(&params)
            .await
            .unwrap()
            .egresses
    }

    async fn one(&self, id: &str) -> EgressInfo {
        let l = self
            .list(EgressListParams {
                egress_id: Some(id.into()),
                ..Default::default()
            })
            .await;
        assert_eq!(l.len(), 1, "{l:?}");
        l.into_iter().next().unwrap()
    }

    async fn wait_status(&self, id: &str, status: EgressStatus) -> EgressInfo {
        wait_until_async(
            &format!("{id} {}", status.as_str()),
            Duration::from_secs(10),
            || async { self.one(id).await.status == status },
        )
        .await;
        self.one(id).await
    }

    async fn stop(self) {
        self.sfu.stop().await;
        self.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_starts_lists_and_stops() {
    let s = stack().await;
    let (mic, cam) = s.standup().await;
    let composite = s
        .app
        .call::<EgressStartRoomComposite>(&EgressRoomCompositeParams {
            room: "standup".into(),
            layout: Some("grid".into()),
            file: file("standups/{room_name}-{time}"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(composite.kind, EgressKind::RoomComposite);
    assert_eq!(composite.status, EgressStatus::Starting);
    assert_eq!(composite.room_name, "standup");
    let participant = s
        .app
        .call::<EgressStartParticipant>(&EgressParticipantParams {
            room: "standup".into(),
            identity: "alice".into(),
            stream: Some(StreamOutput {
                urls: vec![format!("rtmp://a.rtmp.youtube.com/live2/{STREAM_KEY}")],
                protocol: None,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(participant.kind, EgressKind::Participant);
    assert_eq!(
        participant.streams[0].url,
        "rtmp://a.rtmp.youtube.com/live2/<redacted>"
    );
    let track_composite = s
        .app
        .call::<EgressStartTrackComposite>(&EgressTrackCompositeParams {
            room: "standup".into(),
            audio_track_sid: Some(mic.clone()),
            video_track_sid: Some(cam),
            segments: Some(SegmentsOutput {
                filename_prefix: "hls/standup".into(),
                playlist_name: Some("standup.m3u8".into()),
                segment_duration_s: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let track = s
        .app
        .call::<EgressStartTrack>(&EgressTrackParams {
            room: "standup".into(),
            track_sid: mic,
            file: Some(DirectFileOutput {
                filepath: "tracks/mic".into(),
                ..Default::default()
            }),
            websocket_url: None,
        })
        .await
        .unwrap();
    assert_eq!(track.kind, EgressKind::Track);
    let web = s
        .app
        .call::<EgressStartWeb>(&EgressWebParams {
            url: "https://example.com/dashboard".into(),
            file: file("web/dashboard"),
            images: Some(ImagesOutput {
                capture_interval_s: 5,
                filename_prefix: "web/thumb".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(web.kind, EgressKind::Web);
    assert_eq!(web.room_name, "");

    let ids = [
        &composite.egress_id,
        &participant.egress_id,
        &track_composite.egress_id,
        &track.egress_id,
        &web.egress_id,
    ];
    for id in ids {
        let e = s.wait_status(id, EgressStatus::Active).await;
        assert!(e.started_at.is_some(), "{e:?}");
    }
    let running = s
        .list(EgressListParams {
            active: Some(true),
            ..Default::default()
        })
        .await;
    assert_eq!(running.len(), 5);
    let in_room = s
        .list(EgressListParams {
            room: Some("standup".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(in_room.len(), 4, "the web egress has no room");
    // A stream URL can be added and removed while it runs.
    let added = format!("rtmp://live.twitch.tv/app/{STREAM_KEY}-2");
    let updated = s
        .app
        .call::<EgressUpdateStream>(&EgressUpdateStreamParams {
            egress_id: participant.egress_id.clone(),
            add_urls: vec![added.clone()],
            remove_urls: vec![],
        })
        .await
        .unwrap();
    assert_eq!(updated.streams.len(), 2);
    s.app
        .call::<EgressUpdateLayout>(&EgressUpdateLayoutParams {
            egress_id: composite.egress_id.clone(),
            layout: "speaker".into(),
        })
        .await
        .unwrap();

    for id in ids {
        let stopped = s
            .app
            .call::<EgressStop>(&EgressIdParams {
                egress_id: id.to_string(),
            })
            .await
            .unwrap();
        assert_eq!(stopped.status, EgressStatus::Ending);
        assert_eq!(
            stopped.details.as_deref(),
            Some("End reason: StopEgress API")
        );
    }
    let done = s
        .wait_status(&composite.egress_id, EgressStatus::Complete)
        .await;
    assert_eq!(done.files.len(), 1);
    assert!(
        done.files[0].filename.starts_with("standups/standup-"),
        "{done:?}"
    );
    assert!(done.files[0].filename.ends_with(".mp4"), "{done:?}");
    assert!(done.files[0].size > 0);
    let hls = s
        .wait_status(&track_composite.egress_id, EgressStatus::Complete)
        .await;
    assert_eq!(hls.segments[0].playlist_name, "standup.m3u8");
    assert!(hls.segments[0].segment_count >= 1);
    let web = s.wait_status(&web.egress_id, EgressStatus::Complete).await;
    assert_eq!((web.files.len(), web.images.len()), (1, 1));
    let streamed = s
        .wait_status(&participant.egress_id, EgressStatus::Complete)
        .await;
    assert!(streamed.streams.iter().all(|r| r.status == "finished"));
    assert!(
        s.list(EgressListParams {
            active: Some(true),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_yaml_carries_a_key_the_sfu_accepts_and_livekit_yamls_redis() {
    let own_gid = rustix::process::getgid().as_raw();
    let s = stack_with(true, Options::default(), |s| {
        s.egress = egress_settings(&format!(
            "enabled = true\nfile_mode = \"0640\"\nfile_group = \"{own_gid}\"\n\
             [storage]\nprefix = \"rec/\"\n[storage.s3]\nbucket = \"lk\"\naccess_key = \"AKIA1\"\n\
             secret = \"{S3_SECRET}\"\nendpoint = \"http://minio:9000\"\nforce_path_style = true"
        ));
    })
    .await;
    let egress: Value = serde_saphyr::from_str(&s.app.read("egress.yaml")).unwrap();
    let livekit: Value = serde_saphyr::from_str(&s.app.read("livekit.yaml")).unwrap();
    let key = egress["api_key"].as_str().unwrap();
    assert_eq!(livekit["keys"][key], egress["api_secret"]);
    assert_eq!(egress["redis"], livekit["redis"]);
    assert_eq!(egress["ws_url"], format!("ws://127.0.0.1:{}", s.sfu.port()));
    assert_eq!(egress["insecure"], true);
    assert_eq!(egress["disallow_local_storage"], true);
    assert_eq!(egress["storage"]["s3"]["secret"], S3_SECRET);
    // The SFU accepts that key: a call signed by it is answered.
    let token = livekit_api::access_token::AccessToken::with_api_key(
        key,
        egress["api_secret"].as_str().unwrap(),
    )
    .with_grants(livekit_api::access_token::VideoGrants {
        room_list: true,
        ..Default::default()
    })
    .to_jwt()
    .unwrap();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/twirp/livekit.RoomService/ListRooms",
            s.sfu.url()
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Group-readable for an egress container, owned by the group asked for.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(s.app.home.join("egress.yaml")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert_eq!(meta.gid(), own_gid);
    // Shown, it is redacted; the storage secret appears nowhere.
    let files = s.app.call::<ConfigFilesM>(&NoParams {}).await.unwrap();
    let shown = files.egress_yaml.unwrap();
    assert!(shown.contains("api_secret: <redacted>"), "{shown}");
    assert!(shown.contains("bucket: lk"), "{shown}");
    let status = s.app.status().await;
    let everything = format!(
        "{shown}{}{}",
        serde_json::to_string(&status).unwrap(),
        s.app.call::<ConfigGet>(&NoParams {}).await.unwrap()
    );
    assert!(!everything.contains(S3_SECRET), "{everything}");
    assert!(status.files.egress_yaml.is_some());
    let e = status.egress.expect("status.egress");
    assert_eq!(e.api_key, key);
    assert_eq!(e.active, Some(0));
    assert!(!e.restart_required);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_never_breaks_a_running_recording() {
    // The stand-in also accepts a key the control plane will import: the new key is live on
    // the SFU before the switch, as after a restart that loaded it.
    let new_key = "APInewkey0000001";
    let new_secret = "n".repeat(44);
    let s = stack_with(true, Options::default(), |s| {
        s.token_ttl = Some("1s".parse().unwrap());
        s.token_max_ttl = Some("2s".parse().unwrap());
    })
    .await;
    let port = s.sfu.port();
    let old_key = s.app.status().await.keys[0].api_key.clone();
    s.sfu.stop().await;
    let mut doc: Value = serde_saphyr::from_str(&s.app.read("livekit.yaml")).unwrap();
    doc["keys"][new_key] = Value::String(new_secret.clone());
    let both = s.app.dir.path().join("both-keys.yaml");
    std::fs::write(&both, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    let sfu = StandIn::start_with(
        &both,
        Options {
            egress_start_delay: Duration::from_millis(50),
            egress_end_delay: Duration::from_millis(50),
            ..Options::port(port)
        },
    )
    .await
    .unwrap();
    let s = Stack { sfu, ..s };
    s.standup().await;
    let rec = s
        .app
        .call::<EgressStartRoomComposite>(&EgressRoomCompositeParams {
            room: "standup".into(),
            file: file("standup"),
            ..Default::default()
        })
        .await
        .unwrap();
    s.wait_status(&rec.egress_id, EgressStatus::Active).await;
    // The switch happens a whole second after the recording began.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.app
        .call::<KeysImport>(&KeysImportParams {
            api_key: new_key.into(),
            secret: new_secret.clone(),
        })
        .await
        .unwrap();
    // egress.yaml follows at once, and status says egress must restart.
    let egress: Value = serde_saphyr::from_str(&s.app.read("egress.yaml")).unwrap();
    assert_eq!(egress["api_key"], new_key);
    let st = s.app.status().await.egress.unwrap();
    assert!(st.restart_required);
    assert!(
        st.restart_reasons[0].contains(&format!("names the new key {new_key}")),
        "{st:?}"
    );
    // The grace (2 s) runs out while the recording still runs: the old key stays.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let st = s.app.status().await;
    let held = st.egress.clone().unwrap();
    assert_eq!(held.held_keys, vec![old_key.clone()], "{held:?}");
    assert_eq!(held.active, Some(1));
    assert!(
        st.keys
            .iter()
            .any(|k| k.api_key == old_key && k.state == KeyState::Retiring)
    );
    let yaml: Value = serde_saphyr::from_str(&s.app.read("livekit.yaml")).unwrap();
    assert!(
        yaml["keys"].get(&old_key).is_some(),
        "the old key left livekit.yaml"
    );
    assert!(
        held.restart_reasons
            .iter()
            .any(|r| r.contains(&old_key) && r.contains("still running")),
        "{held:?}"
    );
    // The recording ends: the old key retires as usual and leaves livekit.yaml.
    s.app
        .call::<EgressStop>(&EgressIdParams {
            egress_id: rec.egress_id.clone(),
        })
        .await
        .unwrap();
    s.wait_status(&rec.egress_id, EgressStatus::Complete).await;
    wait_until_async("the old key retired", Duration::from_secs(10), || async {
        s.app.status().await;
        s.app
            .keys(true)
            .await
            .iter()
            .any(|k| k.api_key == old_key && k.state == KeyState::Retired)
    })
    .await;
    let yaml: Value = serde_saphyr::from_str(&s.app.read("livekit.yaml")).unwrap();
    assert!(yaml["keys"].get(&old_key).is_none());
    assert!(s.app.status().await.egress.unwrap().held_keys.is_empty());
    s.stop().await;
}

/// A recording that started after the switch does not hold the old key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_started_after_the_switch_holds_nothing() {
    let new_key = "APInewkey0000002";
    let new_secret = "m".repeat(44);
    let s = stack_with(true, Options::default(), |s| {
        s.token_ttl = Some("1s".parse().unwrap());
        s.token_max_ttl = Some("3s".parse().unwrap());
    })
    .await;
    let port = s.sfu.port();
    s.sfu.stop().await;
    let mut doc: Value = serde_saphyr::from_str(&s.app.read("livekit.yaml")).unwrap();
    doc["keys"][new_key] = Value::String(new_secret.clone());
    let both = s.app.dir.path().join("both-keys.yaml");
    std::fs::write(&both, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    let sfu = StandIn::start_with(&both, Options::port(port))
        .await
        .unwrap();
    let s = Stack { sfu, ..s };
    s.app
        .call::<KeysImport>(&KeysImportParams {
            api_key: new_key.into(),
            secret: new_secret,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.standup().await;
    let rec = s
        .app
        .call::<EgressStartRoomComposite>(&EgressRoomCompositeParams {
            room: "standup".into(),
            file: file("later"),
            ..Default::default()
        })
        .await
        .unwrap();
    s.wait_status(&rec.egress_id, EgressStatus::Active).await;
    // The grace ends while it runs.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let st = s.app.status().await;
    let e = st.egress.unwrap();
    assert_eq!((e.active, e.held_keys.len()), (Some(1), 0), "{e:?}");
    assert!(st.keys.iter().all(|k| k.state != KeyState::Retiring));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn livekits_refusals_read_as_operator_messages() {
    let s = stack_with(
        true,
        Options {
            unwritable_prefix: Some("/root-only/".into()),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    s.standup().await;
    let composite = |room: &str, path: &str| EgressRoomCompositeParams {
        room: room.into(),
        file: file(path),
        ..Default::default()
    };
    // A room that is not open.
    let (code, data) = s
        .app
        .call_err::<EgressStartRoomComposite>(&composite("nobody-here", "x"))
        .await;
    assert_eq!(code, -32003);
    assert_eq!(data["twirp_code"], "not_found");
    assert_eq!(data["msg"], "requested room does not exist");
    // What the worker refuses: a participant who is not there.
    let err = s
        .app
        .call::<EgressStartParticipant>(&EgressParticipantParams {
            room: "standup".into(),
            identity: "bob".into(),
            file: file("bob"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("participant bob not found"),
        "{err}"
    );
    // Our own checks name the field before LiveKit is asked.
    let (code, data) = s
        .app
        .call_err::<EgressStartRoomComposite>(&EgressRoomCompositeParams {
            room: "standup".into(),
            ..Default::default()
        })
        .await;
    assert_eq!((code, data["field"].as_str()), (-32602, Some("file")));
    // A file egress cannot write: FAILED, with LiveKit's error and plain words.
    let failing = s
        .app
        .call::<EgressStartRoomComposite>(&composite("standup", "/root-only/x"))
        .await
        .unwrap();
    let failed = s
        .wait_status(&failing.egress_id, EgressStatus::Failed)
        .await;
    assert_eq!(failed.error_code, Some(500));
    let problem = failed.problem().unwrap();
    assert!(
        problem.starts_with("egress could not write the file")
            && problem.contains("permission denied"),
        "{problem}"
    );
    // Stopping what already ended is a conflict; an unknown id is not found.
    let (code, data) = s
        .app
        .call_err::<EgressStop>(&EgressIdParams {
            egress_id: failing.egress_id.clone(),
        })
        .await;
    assert_eq!(code, -32004);
    assert_eq!(data["twirp_code"], "failed_precondition");
    assert!(
        data["msg"].as_str().unwrap().contains("EGRESS_FAILED"),
        "{data}"
    );
    let (code, data) = s
        .app
        .call_err::<EgressStop>(&EgressIdParams {
            egress_id: "EG_nonexistent".into(),
        })
        .await;
    assert_eq!(
        (code, data["msg"].as_str()),
        (-32003, Some("egress does not exist"))
    );
    s.stop().await;

    // Redis, but no egress worker registered on it.
    let s = stack_with(
        true,
        Options {
            egress_worker: false,
            ..Options::default()
        },
        |_| {},
    )
    .await;
    s.standup().await;
    let err = s
        .app
        .call::<EgressStartRoomComposite>(&composite("standup", "x"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no egress worker with capacity is registered")
            && text.contains("no response from servers"),
        "{text}"
    );
    let (code, data) = rpc_err(err);
    assert_eq!(
        (code, data["twirp_code"].as_str()),
        (-32002, Some("unavailable"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_every_egress_call_says_redis_is_needed() {
    let s = stack_with(false, Options::default(), |_| {}).await;
    s.standup().await;
    // Start*: LiveKit finds no worker on its local bus ("no response from servers").
    let err = s
        .app
        .call::<EgressStartRoomComposite>(&EgressRoomCompositeParams {
            room: "standup".into(),
            file: file("x"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("egress needs Redis in livekit.yaml")
            && text.contains("unavailable \"no response from servers\""),
        "{text}"
    );
    // The store-backed calls: "egress not connected (redis required)".
    let err = s
        .app
        .call::<EgressListM>(&EgressListParams::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("egress needs Redis in livekit.yaml")
            && text.contains("egress not connected (redis required)"),
        "{text}"
    );
    let (code, data) = rpc_err(err);
    assert_eq!(
        (code, data["twirp_code"].as_str()),
        (-32002, Some("internal"))
    );
    let status = s.app.status().await;
    assert!(status.egress.is_none() && status.files.egress_yaml.is_none());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_keys_and_storage_secrets_reach_no_answer_or_audit_row() {
    let s = stack().await;
    s.standup().await;
    let started = s
        .app
        .call::<EgressStartRoomComposite>(&EgressRoomCompositeParams {
            room: "standup".into(),
            file: Some(FileOutput {
                filepath: "allhands".into(),
                storage: Some(Storage::S3(S3Storage {
                    bucket: "recordings".into(),
                    access_key: Some("AKIAEXAMPLE".into()),
                    secret: Some(S3_SECRET.into()),
                    ..Default::default()
                })),
                ..Default::default()
            }),
            stream: Some(StreamOutput {
                urls: vec![
                    format!("rtmp://a.rtmp.youtube.com/live2/{STREAM_KEY}"),
                    format!("srt://ingest.example:9000?streamid={STREAM_KEY}x&latency=120"),
                ],
                protocol: None,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = started.egress_id.clone();
    s.wait_status(&id, EgressStatus::Active).await;
    let removed = s
        .app
        .call::<EgressUpdateStream>(&EgressUpdateStreamParams {
            egress_id: id.clone(),
            add_urls: vec![],
            remove_urls: vec![format!("rtmp://a.rtmp.youtube.com/live2/{STREAM_KEY}")],
        })
        .await
        .unwrap();
    s.app
        .call::<EgressStop>(&EgressIdParams {
            egress_id: id.clone(),
        })
        .await
        .unwrap();
    let done = s.wait_status(&id, EgressStatus::Complete).await;
    assert_eq!(
        done.files[0].location,
        "https://recordings.s3.amazonaws.com/allhands.mp4"
    );
    let audit = s
        .app
        .audit(AuditListParams {
            method: None,
            ..Default::default()
        })
        .await;
    let egress_rows: Vec<&AuditEntry> = audit
        .iter()
        .filter(|a| a.method.starts_with("egress."))
        .collect();
    assert_eq!(egress_rows.len(), 3, "{audit:?}");
    let start = egress_rows
        .iter()
        .find(|a| a.method == "egress.start_room_composite")
        .unwrap();
    assert_eq!(
        start.params["stream"]["urls"][0],
        "rtmp://a.rtmp.youtube.com/live2/<redacted>"
    );
    assert_eq!(
        start.params["file"]["storage"]["s3"]["secret"],
        "<redacted>"
    );
    let everything = format!(
        "{}{}{}{}",
        serde_json::to_string(&started).unwrap(),
        serde_json::to_string(&removed).unwrap(),
        serde_json::to_string(&done).unwrap(),
        serde_json::to_string(&audit).unwrap()
    );
    for secret in [STREAM_KEY, S3_SECRET] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
    s.stop().await;
}

#[test]
fn enabling_egress_without_redis_is_refused_at_boot() {
    let site = site();
    let config = site.dir().join("egress.toml");
    std::fs::write(&config, "[egress]\nenabled = true\n").unwrap();
    let out = server_cmd(&site)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid setting egress.enabled: egress needs Redis"),
        "{stderr}"
    );
    assert!(!site.home().join("egress.yaml").exists());
}
