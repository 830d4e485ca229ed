//! The recordings catalogue (issue 13): egress webhooks become one row per egress, listed with
//! filters and keyset pagination, announced on the live stream, kept forever unless a retention
//! is set — on SQLite and PostgreSQL alike.

use std::time::Duration;

use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::{EgressInfo, EgressStatus, RecordingList};
use hero_livekit_backend::store::{EventStore, NewRecording, RecordingFilter};
use serde_json::{Value, json};

use crate::helpers::*;

const NS: i64 = 1_000_000_000;

/// An egress webhook body as livekit-server sends it (protojson, camelCase, int64 as strings).
fn egress_body(event: &str, id: &str, room: &str, status: &str, at: i64, extra: Value) -> Vec<u8> {
    let mut info = json!({
        "egressId": id,
        "roomId": format!("RM_{room}"),
        "roomName": room,
        "status": status,
        "updatedAt": (at * NS).to_string(),
        "roomComposite": {"roomName": room, "layout": "grid"},
    });
    if status != "EGRESS_STARTING" {
        info["startedAt"] = Value::String(((at - 60) * NS).to_string());
    }
    for (k, v) in extra.as_object().unwrap() {
        info[k] = v.clone();
    }
    serde_json::to_vec(&json!({
        "event": event,
        "id": format!("EV_{id}_{event}_{at}"),
        "createdAt": at.to_string(),
        "room": {"sid": format!("RM_{room}"), "name": room},
        "egressInfo": info,
    }))
    .unwrap()
}

/// started → updated (active) → ended (complete, with a file), for `id` in `room`.
async fn record(app: &TestApp, id: &str, room: &str, ended_at: i64) {
    let steps = [
        (
            "egress_started",
            "EGRESS_STARTING",
            ended_at - 61,
            json!({}),
        ),
        ("egress_updated", "EGRESS_ACTIVE", ended_at - 60, json!({})),
        (
            "egress_ended",
            "EGRESS_COMPLETE",
            ended_at,
            json!({
                "endedAt": (ended_at * NS).to_string(),
                "fileResults": [{
                    "filename": format!("{room}.mp4"),
                    "location": format!("https://b.s3.amazonaws.com/{room}.mp4"),
                    "size": "7340032",
                    "duration": (60 * NS).to_string(),
                }],
            }),
        ),
    ];
    for (event, status, at, extra) in steps {
        let body = egress_body(event, id, room, status, at, extra);
        assert_eq!(
            app.signed_webhook(&body, KEY_A, SECRET_A).await.status(),
            200
        );
    }
}

impl TestApp {
    async fn recordings(&self, query: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(&format!("/api/egress{query}")))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn recording(&self, id: &str) -> (u16, Value) {
        self.recordings(&format!("/{id}")).await
    }
}

#[tokio::test]
async fn egress_webhooks_build_one_row_per_recording() {
    let app = spawn_app().await;
    let now = now_unix();
    record(&app, "EG_standup", "standup", now - 10).await;
    let (status, body) = app.recording("EG_standup").await;
    assert_eq!(status, 200, "{body}");
    let e: EgressInfo = serde_json::from_value(body).unwrap();
    assert_eq!(e.status, EgressStatus::Complete);
    assert_eq!(e.room_name, "standup");
    assert_eq!(e.duration_s, Some(60));
    assert_eq!(e.files[0].size, 7_340_032);
    assert_eq!(
        e.files[0].location,
        "https://b.s3.amazonaws.com/standup.mp4"
    );
    // The same delivery again (LiveKit retries) and a late "active": nothing moves back.
    let late = egress_body(
        "egress_updated",
        "EG_standup",
        "standup",
        "EGRESS_ACTIVE",
        now - 70,
        json!({}),
    );
    assert_eq!(
        app.signed_webhook(&late, KEY_A, SECRET_A).await.status(),
        200
    );
    record(&app, "EG_standup", "standup", now - 10).await;
    let (_, list) = app.recordings("").await;
    let list: RecordingList = serde_json::from_value(list).unwrap();
    assert_eq!(list.egress.len(), 1);
    assert_eq!(list.egress[0].status, EgressStatus::Complete);
    // A failed one keeps LiveKit's error.
    let failed = egress_body(
        "egress_ended",
        "EG_failed",
        "allhands",
        "EGRESS_FAILED",
        now,
        json!({"error": "Start signal not received", "errorCode": 412, "endedAt": (now * NS).to_string()}),
    );
    assert_eq!(
        app.signed_webhook(&failed, KEY_A, SECRET_A).await.status(),
        200
    );
    let (_, body) = app.recording("EG_failed").await;
    let e: EgressInfo = serde_json::from_value(body).unwrap();
    assert_eq!((e.status, e.error_code), (EgressStatus::Failed, Some(412)));
    assert!(e.problem().unwrap().contains("never started"));
    // Unknown id, no bearer.
    assert_eq!(app.recording("EG_nope").await.0, 404);
    let r = app.client.get(app.url("/api/egress")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn the_catalogue_filters_and_pages_newest_first() {
    let app = spawn_app().await;
    let now = now_unix();
    record(&app, "EG_1", "standup", now - 3000).await;
    record(&app, "EG_2", "standup", now - 2000).await;
    record(&app, "EG_3", "allhands", now - 1000).await;
    let running = egress_body(
        "egress_updated",
        "EG_4",
        "standup",
        "EGRESS_ACTIVE",
        now,
        json!({}),
    );
    assert_eq!(
        app.signed_webhook(&running, KEY_A, SECRET_A).await.status(),
        200
    );
    let ids = |v: &Value| -> Vec<String> {
        v["egress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["egress_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = app.recordings("").await;
    assert_eq!(ids(&all), ["EG_4", "EG_3", "EG_2", "EG_1"]);
    let (_, v) = app.recordings("?room=standup").await;
    assert_eq!(ids(&v), ["EG_4", "EG_2", "EG_1"]);
    let (_, v) = app.recordings("?status=active").await;
    assert_eq!(ids(&v), ["EG_4"]);
    let since = hero_livekit_api::timefmt::rfc3339(now - 1500);
    let (_, v) = app.recordings(&format!("?since={since}")).await;
    assert_eq!(ids(&v), ["EG_4", "EG_3"]);
    // Keyset pagination: two at a time, each page continuing where the last ended.
    let (_, page1) = app.recordings("?limit=2").await;
    assert_eq!(ids(&page1), ["EG_4", "EG_3"]);
    let next = page1["next"].as_str().unwrap().to_string();
    let (_, page2) = app.recordings(&format!("?limit=2&before={next}")).await;
    assert_eq!(ids(&page2), ["EG_2", "EG_1"]);
    assert!(page2["next"].is_null());
    for (q, field) in [
        ("?status=recording", "status"),
        ("?since=yesterday", "since"),
        ("?limit=0", "limit"),
        ("?before=abc", "before"),
    ] {
        let (status, body) = app.recordings(q).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{q}: {body}"
        );
    }
    app.stop().await;
}

/// Reads SSE blocks until one named `webhook` whose data has an `egress`; returns that data.
async fn next_egress_event(stream: &mut reqwest::Response, buf: &mut String) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(str::trim);
            if block.contains("event: webhook")
                && let Some(v) = data.and_then(|d| serde_json::from_str::<Value>(d).ok())
                && v.get("egress").is_some()
            {
                return v;
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .expect("an egress event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_stream_announces_each_recording_change() {
    let app = spawn_app().await;
    let mut stream = app
        .client
        .get(app.url("/api/events/stream"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let now = now_unix();
    let body = egress_body(
        "egress_started",
        "EG_live",
        "standup",
        "EGRESS_STARTING",
        now,
        json!({}),
    );
    assert_eq!(
        app.signed_webhook(&body, KEY_A, SECRET_A).await.status(),
        200
    );
    let v = next_egress_event(&mut stream, &mut buf).await;
    assert_eq!(v["event"], "egress_started");
    assert_eq!(
        v["egress"],
        json!({"egress_id": "EG_live", "status": "starting"})
    );
    // When it is announced, the catalogue already has it.
    assert_eq!(app.recording("EG_live").await.0, 200);
    let body = egress_body(
        "egress_ended",
        "EG_live",
        "standup",
        "EGRESS_COMPLETE",
        now + 5,
        json!({}),
    );
    assert_eq!(
        app.signed_webhook(&body, KEY_A, SECRET_A).await.status(),
        200
    );
    let v = next_egress_event(&mut stream, &mut buf).await;
    assert_eq!(v["egress"]["status"], "complete");
    app.stop().await;
}

#[tokio::test]
async fn recordings_are_kept_forever_unless_a_retention_is_set() {
    for retention in [None, Some(7)] {
        let app = spawn_app_with(|c| {
            c.prune_interval = Duration::from_millis(100);
            if let Some(days) = retention {
                let text = std::fs::read_to_string(&c.env_file).unwrap()
                    + &format!("EGRESS_RETENTION_DAYS={days}\n");
                write_env_text(&c.env_file, &text);
                c.settings.egress_retention_days = Some(days);
            }
        })
        .await;
        let now = now_unix();
        record(&app, "EG_old", "r", now - 40 * 86_400).await;
        record(&app, "EG_new", "r", now - 60).await;
        // A few pruning rounds.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, v) = app.recordings("").await;
        let n = v["egress"].as_array().unwrap().len();
        match retention {
            None => assert_eq!(n, 2, "the default keeps everything: {v}"),
            Some(_) => {
                assert_eq!(n, 1, "{v}");
                assert_eq!(app.recording("EG_old").await.0, 404);
            }
        }
        app.stop().await;
    }
}

/// The catalogue's statements on both engines.
async fn catalogue_on(store: EventStore) {
    let rec = |id: &str, status: &str, rank: i64, ns: i64| NewRecording {
        egress_id: id.into(),
        room_name: "standup".into(),
        kind: "room_composite".into(),
        status: status.into(),
        status_rank: rank,
        created_at: 1000 + ns,
        started_at: None,
        ended_at: (rank >= 3).then_some(2000),
        updated_ns: ns,
        info: "{}".into(),
    };
    assert!(
        store
            .upsert_recording(&rec("EG_a", "starting", 0, 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .upsert_recording(&rec("EG_a", "complete", 3, 5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .upsert_recording(&rec("EG_a", "active", 1, 3))
            .await
            .unwrap()
    );
    assert!(
        store
            .upsert_recording(&rec("EG_b", "active", 1, 2))
            .await
            .unwrap()
    );
    let all = store
        .recordings(&RecordingFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.egress_id.as_str()).collect::<Vec<_>>(),
        ["EG_b", "EG_a"]
    );
    // The earliest state's time stays the creation time.
    assert_eq!(
        store.recording("EG_a").await.unwrap().unwrap().created_at,
        1001
    );
    let done = store
        .recordings(&RecordingFilter {
            status: Some("complete".into()),
            since: Some(1000),
            before: Some(all[0].seq),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(store.prune_recordings(2001).await.unwrap(), 1);
    assert!(store.recording("EG_a").await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn the_catalogue_works_on_sqlite_and_postgresql() {
    let dir = hero_livekit_testkit::temp_dir();
    catalogue_on(
        EventStore::open_sqlite(&dir.path().join("b.db"))
            .await
            .unwrap(),
    )
    .await;
    let pg = hero_livekit_testkit::Postgres::start();
    catalogue_on(EventStore::open(&pg.create_database()).await.unwrap()).await;
}
