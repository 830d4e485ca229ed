use hero_livekit_api::timefmt::rfc3339;

use crate::helpers::*;

/// A day in a standup room, told by webhooks, one of them lost and one arriving late.
async fn seed(app: &TestApp) -> i64 {
    let t = 1_795_700_000;
    let events = [
        event_body("room_started", "EV_1", "standup", None, t),
        event_body(
            "participant_joined",
            "EV_2",
            "standup",
            Some("alice"),
            t + 10,
        ),
        event_body("participant_joined", "EV_3", "standup", Some("bob"), t + 20),
        // carol's join was dropped by LiveKit; only her left arrives.
        event_body("participant_left", "EV_4", "standup", Some("carol"), t + 30),
        event_body("participant_left", "EV_6", "standup", Some("alice"), t + 70),
        event_body("room_finished", "EV_7", "standup", None, t + 100),
        // Delivered after room_finished, but created before it.
        event_body(
            "participant_connection_aborted",
            "EV_5",
            "standup",
            Some("dave"),
            t + 40,
        ),
        event_body("room_started", "EV_8", "other", None, t + 50),
    ];
    for body in events {
        assert_eq!(
            app.signed_webhook(&body, KEY_A, SECRET_A).await.status(),
            200
        );
    }
    t
}

#[tokio::test]
async fn sessions_are_derived_even_from_incomplete_streams() {
    let app = spawn_app().await;
    let t = seed(&app).await;
    let r = app
        .client
        .get(app.url("/api/sessions?room=standup"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let rooms = v["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1);
    let room = &rooms[0];
    assert_eq!(room["name"], "standup");
    assert_eq!(room["sid"], "RM_standup");
    assert_eq!(room["started_at"], rfc3339(t));
    assert_eq!(room["ended_at"], rfc3339(t + 100));
    let by_id = |id: &str| {
        room["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["identity"] == id)
            .unwrap()
            .clone()
    };
    let alice = by_id("alice");
    assert_eq!(
        (alice["duration_s"].as_i64(), alice["end_reason"].as_str()),
        (Some(60), Some("left"))
    );
    assert_eq!(alice["joined_at"], rfc3339(t + 10));
    let bob = by_id("bob");
    assert_eq!(bob["left_at"], rfc3339(t + 100));
    assert_eq!(bob["end_reason"], "room_finished");
    // carol's body carries joinedAt, so her session is whole despite the lost join.
    let carol = by_id("carol");
    assert_eq!(carol["end_reason"], "left");
    assert_eq!(carol["joined_at"], rfc3339(t + 30));
    assert_eq!(by_id("dave")["end_reason"], "aborted");

    let all: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/sessions?since={}", rfc3339(t + 45))))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<_> = all["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert!(
        names.contains(&"other".into()) && names.contains(&"standup".into()),
        "{all}"
    );
    app.stop().await;
}

#[tokio::test]
async fn events_filter_and_paginate_newest_first() {
    let app = spawn_app().await;
    let t = seed(&app).await;
    let page = app.events("?room=standup&limit=3").await;
    let ids: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, vec!["EV_5", "EV_7", "EV_6"]);
    let next = page["next"].as_str().unwrap().to_string();
    let page2 = app
        .events(&format!("?room=standup&limit=3&before={next}"))
        .await;
    let ids2: Vec<_> = page2["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids2, vec!["EV_4", "EV_3", "EV_2"]);
    let page3 = app
        .events(&format!(
            "?room=standup&limit=3&before={}",
            page2["next"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page3["events"].as_array().unwrap().len(), 1);
    assert!(page3["next"].is_null());

    let joined = app.events("?event=participant_joined").await;
    assert_eq!(joined["events"].as_array().unwrap().len(), 2);
    let e = &joined["events"][0];
    assert_eq!(e["event"], "participant_joined");
    assert_eq!(e["created_at"], rfc3339(t + 20));
    assert!(e["received_at"].as_str().unwrap().ends_with('Z'));
    let recent = app.events(&format!("?since={}", rfc3339(t + 60))).await;
    assert_eq!(recent["events"].as_array().unwrap().len(), 2);

    // Privileged: the app token cannot read them; bad parameters name the field.
    for (auth, path, status) in [
        (APP_TOKEN, "/api/events", 401),
        (APP_TOKEN, "/api/sessions", 401),
        (API_TOKEN, "/api/events?limit=0", 400),
        (API_TOKEN, "/api/events?since=yesterday", 400),
        (API_TOKEN, "/api/sessions?since=yesterday", 400),
        (API_TOKEN, "/api/events?before=abc", 400),
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(v["error"].is_string());
        if status == 400 {
            assert!(path.contains(v["field"].as_str().unwrap()), "{path} {v}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let r = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["database"], "ok");
    // Nothing listens on the discard port: reported, not fatal.
    assert_eq!(v["livekit"]["reachable"], false);
    assert!(v["livekit"]["error"].is_string());
    assert!(!v.to_string().contains(SECRET_A));
    app.token("{}").await;
    let m = app.metrics().await;
    assert!(m.contains("lk_backend_tokens_minted_total 1"), "{m}");
    assert!(
        m.contains(r#"lk_backend_http_requests_total{route="/api/token",status="201"} 1"#),
        "{m}"
    );
    assert!(
        m.contains("lk_backend_http_request_duration_seconds_bucket"),
        "{m}"
    );
    app.stop().await;
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned() {
    let app = spawn_app_with(|c| {
        c.prune_interval = std::time::Duration::from_millis(100);
        // The optional variable, in the file (which the reloader re-reads) and the config.
        let text = std::fs::read_to_string(&c.env_file).unwrap() + "EVENT_RETENTION_DAYS=7\n";
        write_env_text(&c.env_file, &text);
        c.settings.event_retention_days = 7;
    })
    .await;
    let now = hero_livekit_api::timefmt::now_unix();
    let body = event_body("room_started", "EV_fresh", "r", None, now);
    assert_eq!(
        app.signed_webhook(&body, KEY_A, SECRET_A).await.status(),
        200
    );
    // An event received 8 days ago, as if stored back then.
    let pool = sqlx::SqlitePool::connect(&app.env.database_url.clone())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (event_id, event, room_name, created_at, received_at, signing_key, body)
         VALUES ('EV_old', 'room_started', 'r', ?1, ?1, 'APIk', '{}')",
    )
    .bind(now - 8 * 86_400)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let mut ids = vec![];
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let v = app.events("").await;
        ids = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].clone())
            .collect();
        if ids.len() == 1 {
            break;
        }
    }
    assert_eq!(ids, vec!["EV_fresh"]);
    app.stop().await;
}

/// Reads the stream until an SSE event named `name` arrives; returns its data line.
pub async fn next_event(stream: &mut reqwest::Response, buf: &mut String, name: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // Complete events are separated by a blank line.
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let field = |f: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(f))
                    .map(|v| v.trim_start().to_string())
            };
            if field("event:").as_deref() == Some(name) {
                return field("data:").unwrap_or_default();
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {name} event; have {buf:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before a {name} event"));
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_stream_announces_each_stored_event_once() {
    let app = spawn_app().await;
    let anonymous = app
        .client
        .get(app.url("/api/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let mut stream = app
        .client
        .get(app.url("/api/events/stream"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut buf = String::new();
    let t = 1_795_700_000;
    let joined = event_body(
        "participant_joined",
        "EV_live1",
        "standup",
        Some("alice"),
        t,
    );
    assert_eq!(
        app.signed_webhook(&joined, KEY_A, SECRET_A).await.status(),
        200
    );
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(data["id"], "EV_live1");
    assert_eq!(data["event"], "participant_joined");
    assert_eq!(data["room"], "standup");
    assert_eq!(data["participant"], "alice");
    assert_eq!(data["created_at"], rfc3339(t));

    // LiveKit's retry of the same event is stored once and announced once; a forged one never.
    assert_eq!(
        app.signed_webhook(&joined, KEY_A, SECRET_A).await.status(),
        200
    );
    let forged = event_body("room_finished", "EV_forged", "standup", None, t + 5);
    assert_eq!(
        app.signed_webhook(&forged, KEY_A, "not-the-secret")
            .await
            .status(),
        401
    );
    let left = event_body(
        "participant_left",
        "EV_live2",
        "standup",
        Some("alice"),
        t + 9,
    );
    app.signed_webhook(&left, KEY_A, SECRET_A).await;
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(
        data["id"], "EV_live2",
        "the duplicate and the forged one were not announced"
    );

    // Stopping the service ends the stream instead of holding the drain.
    app.stop().await;
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream outlived the service");
}
