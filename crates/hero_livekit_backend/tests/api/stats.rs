//! `GET /api/stats/*`: the chart series over HTTP (the values on both engines are checked in
//! replicas.rs), their clamping, their 400s naming the parameter, and the keyset-paged
//! `/api/sessions`.

use std::time::Duration;

use hero_livekit_api::timefmt::now_unix;
use hero_livekit_testkit::wait_until_async;
use serde_json::Value;

use crate::helpers::*;

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn sum(v: &Value, name: &str) -> i64 {
    v[name]
        .as_array()
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .iter()
        .map(|x| x.as_i64().unwrap())
        .sum()
}

#[tokio::test]
async fn series_count_participants_sessions_and_every_delivery() {
    let app = spawn_app().await;
    // 01:00 UTC: the times LiveKit gives (createdAt) place the participants.
    let t = 1_795_737_600 + 3600;
    let hooks = [
        event_body("participant_joined", "EV_1", "r1", Some("alice"), t),
        event_body("participant_joined", "EV_2", "r1", Some("bob"), t + 10),
        event_body("participant_joined", "EV_3", "r2", Some("carol"), t + 20),
        event_body("participant_left", "EV_4", "r1", Some("alice"), t + 290),
    ];
    for h in &hooks {
        assert_eq!(app.signed_webhook(h, KEY_A, SECRET_A).await.status(), 200);
    }
    // A duplicate and a forgery are counted, not stored.
    assert_eq!(
        app.signed_webhook(&hooks[0], KEY_A, SECRET_A)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.signed_webhook(&hooks[1], KEY_A, "not-the-secret")
            .await
            .status(),
        401
    );
    let range = format!("from={}&to={}", t - 3600, t + 3600);
    let (status, v) = get(&app, &format!("/api/stats/participants?{range}")).await;
    assert_eq!(status, 200, "{v}");
    let levels = v["participants"].as_array().unwrap();
    assert_eq!(v["t"].as_array().unwrap().len(), levels.len());
    assert_eq!(levels.last().unwrap(), 2, "bob and carol are in: {v}");
    assert_eq!(levels.iter().map(|l| l.as_i64().unwrap()).max(), Some(3));
    let (_, r1) = get(&app, &format!("/api/stats/participants?{range}&room=r1")).await;
    assert_eq!(r1["participants"].as_array().unwrap().last().unwrap(), 1);
    let (_, d) = get(&app, &format!("/api/stats/session_durations?{range}")).await;
    assert_eq!(d["buckets"].as_array().unwrap().len(), 6);
    assert_eq!(d["sessions"][1], 1, "alice stayed 5 minutes: {d}");
    let (_, m) = get(&app, &format!("/api/stats/participant_minutes?{range}")).await;
    assert_eq!(sum(&m, "minutes"), 5);
    // Deliveries count by when they arrived.
    let now = now_unix();
    let range = format!("from={}&to={}", now - 3600, now + 60);
    // Forgeries reach the database with the writer's next flush (within a second).
    wait_until_async(
        "the forgery is counted",
        Duration::from_secs(10),
        || async {
            let (_, w) = get(&app, &format!("/api/stats/webhooks?{range}")).await;
            sum(&w, "forgeries") == 1
        },
    )
    .await;
    let (_, w) = get(&app, &format!("/api/stats/webhooks?{range}")).await;
    assert_eq!((sum(&w, "stored"), sum(&w, "duplicates")), (4, 1), "{w}");
    app.stop().await;
}

#[tokio::test]
async fn series_stay_small_and_bad_parameters_are_named() {
    let app = spawn_app().await;
    let now = now_unix();
    for path in [
        "participants",
        "participant_minutes",
        "session_durations",
        "webhooks",
    ] {
        let month = format!(
            "/api/stats/{path}?from={}&to={now}&step=1",
            now - 30 * 86_400
        );
        let (status, v) = get(&app, &month).await;
        assert_eq!(status, 200, "{path}: {v}");
        if let Some(t) = v["t"].as_array() {
            assert!(
                !t.is_empty() && t.len() <= 360,
                "{path}: {} points",
                t.len()
            );
        }
        for (query, field) in [
            ("from=yesterday", "from"),
            ("to=soon", "to"),
            ("step=0", "step"),
            ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ] {
            let (status, v) = get(&app, &format!("/api/stats/{path}?{query}")).await;
            assert_eq!(
                (status, v["field"].as_str()),
                (400, Some(field)),
                "{path}?{query}: {v}"
            );
        }
        let anonymous = app
            .client
            .get(app.url(&format!("/api/stats/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
    }
    app.stop().await;
}

#[tokio::test]
async fn sessions_page_back_with_a_keyset_cursor() {
    let app = spawn_app().await;
    let now = now_unix();
    for (i, who) in ["a", "b", "c"].iter().enumerate() {
        let at = now - 100 + i as i64 * 10;
        let join = event_body("participant_joined", &format!("J{i}"), "r", Some(who), at);
        let left = event_body("participant_left", &format!("L{i}"), "r", Some(who), at + 5);
        assert_eq!(
            app.signed_webhook(&join, KEY_A, SECRET_A).await.status(),
            200
        );
        assert_eq!(
            app.signed_webhook(&left, KEY_A, SECRET_A).await.status(),
            200
        );
    }
    let (_, first) = get(&app, "/api/sessions?room=r&limit=2").await;
    let who = |v: &Value| -> Vec<String> {
        v["rooms"][0]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["identity"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(who(&first), ["c"], "{first}");
    let next = first["next"].as_str().unwrap();
    let (_, second) = get(&app, &format!("/api/sessions?room=r&limit=4&before={next}")).await;
    assert_eq!(who(&second), ["a", "b"], "{second}");
    assert!(second["next"].is_null());
    let (status, v) = get(&app, "/api/sessions?limit=0").await;
    assert_eq!((status, v["field"].as_str()), (400, Some("limit")));
    app.stop().await;
}
