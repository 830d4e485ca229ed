//! lk-backend replicas behind a load balancer, on one PostgreSQL (issue 12): any replica
//! verifies and stores, LiveKit's retries and double deliveries store one row, 2xx only after
//! commit, 503 when the database cannot commit, the same answers and the same live stream on
//! every replica, and the token endpoint untouched by a database outage.

use std::time::Duration;

use hero_livekit_backend::store::{EventFilter, EventStore, NewEvent, Stored};
use hero_livekit_testkit::{Postgres, wait_until_async};

use crate::events::next_event;
use crate::helpers::*;

async fn replica(url: &str) -> TestApp {
    let url = url.to_string();
    spawn_app_with(move |c| c.settings.env.database_url = url).await
}

#[tokio::test]
async fn thirty_two_senders_to_two_replicas_store_every_event_once() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let (a, b) = (replica(&url).await, replica(&url).await);
    let t = 1_795_700_000;
    let bodies: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            event_body(
                "participant_joined",
                &format!("EV_{i}"),
                "standup",
                Some(&format!("p{i}")),
                t + i,
            )
        })
        .collect();
    // 32 senders; each event goes to both replicas (a retry that reached the other one).
    let mut sends = Vec::new();
    for sender in 0..32 {
        let (a, b, bodies) = (&a, &b, &bodies);
        sends.push(async move {
            let mut acked = Vec::new();
            for i in (sender..64).step_by(32) {
                for (n, replica) in [a, b].into_iter().enumerate() {
                    let target = if (i + n) % 2 == 0 {
                        replica
                    } else if n == 0 {
                        b
                    } else {
                        a
                    };
                    let r = target.signed_webhook(&bodies[i], KEY_A, SECRET_A).await;
                    assert_eq!(r.status(), 200);
                    acked.push(i);
                }
            }
            acked
        });
    }
    let acked: Vec<usize> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(acked.len(), 128);
    for app in [&a, &b] {
        let listed = app.events("?limit=500").await;
        let ids: std::collections::BTreeSet<String> = listed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            listed["events"].as_array().unwrap().len(),
            64,
            "one row per event"
        );
        assert_eq!(ids.len(), 64);
    }
    assert_eq!(
        a.events("?room=standup&limit=5").await,
        b.events("?room=standup&limit=5").await
    );
}

#[tokio::test]
async fn the_live_stream_of_one_replica_announces_what_another_stored() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let (a, b) = (replica(&url).await, replica(&url).await);
    let mut stream = b
        .client
        .get(b.url("/api/events/stream"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let body = event_body(
        "room_started",
        "EV_elsewhere",
        "allhands",
        None,
        1_795_700_100,
    );
    assert_eq!(a.signed_webhook(&body, KEY_A, SECRET_A).await.status(), 200);
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(
        (data["id"].as_str(), data["room"].as_str()),
        (Some("EV_elsewhere"), Some("allhands"))
    );
    // A retry of the same event to the other replica is not news.
    assert_eq!(b.signed_webhook(&body, KEY_A, SECRET_A).await.status(), 200);
    let next = event_body("room_finished", "EV_after", "allhands", None, 1_795_700_200);
    assert_eq!(b.signed_webhook(&next, KEY_A, SECRET_A).await.status(), 200);
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(
        data["id"], "EV_after",
        "the duplicate was not announced twice"
    );
}

#[tokio::test]
async fn a_row_committed_late_under_a_lower_number_is_announced_once() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let (a, b) = (replica(&url).await, replica(&url).await);
    let db = url.rsplit('/').next().unwrap();
    let mut stream = b
        .client
        .get(b.url("/api/events/stream"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    // Another replica's transaction takes a number, and commits after a later one is announced.
    let late: i64 = pg
        .psql(
            db,
            "SELECT nextval(pg_get_serial_sequence('events', 'seq'))",
        )
        .parse()
        .unwrap();
    let high = event_body("room_started", "EV_high", "ops", None, 1_795_700_300);
    assert_eq!(a.signed_webhook(&high, KEY_A, SECRET_A).await.status(), 200);
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(data["id"], "EV_high");
    pg.psql(
        db,
        &format!(
            "INSERT INTO events (seq, event_id, event, room_name, created_at, received_at, signing_key, body) \
             VALUES ({late}, 'EV_late', 'room_finished', 'ops', 1795700301, 1795700301, '{KEY_A}', '\\x7b7d'::bytea)"
        ),
    );
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(data["id"], "EV_late", "the late row is news");
    let last = event_body("room_finished", "EV_last", "ops", None, 1_795_700_400);
    assert_eq!(b.signed_webhook(&last, KEY_A, SECRET_A).await.status(), 200);
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut stream, &mut buf, "webhook").await).unwrap();
    assert_eq!(data["id"], "EV_last", "nothing was announced twice");
}

#[tokio::test]
async fn a_database_outage_answers_503_loses_nothing_acknowledged_and_tokens_still_mint() {
    let mut pg = Postgres::start();
    let url = pg.create_database();
    let app = replica(&url).await;
    let t = 1_795_700_000;
    let before = event_body("room_started", "EV_before", "r", None, t);
    assert_eq!(
        app.signed_webhook(&before, KEY_A, SECRET_A).await.status(),
        200
    );

    pg.stop();
    let during = event_body("participant_joined", "EV_during", "r", Some("x"), t + 1);
    let r = app.signed_webhook(&during, KEY_A, SECRET_A).await;
    assert_eq!(
        r.status(),
        503,
        "LiveKit must retry: never 2xx for an event not stored"
    );
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    // The token endpoint's hot path touches no database.
    assert_eq!(
        app.token(r#"{"room_name":"r","participant_identity":"x"}"#)
            .await
            .status(),
        201
    );

    pg.resume();
    wait_until_async("the database is back", Duration::from_secs(20), || async {
        app.signed_webhook(&during, KEY_A, SECRET_A).await.status() == 200
    })
    .await;
    let ids: Vec<String> = app.events("?limit=10").await["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["EV_during".to_string(), "EV_before".to_string()]);
}

fn new_event(id: &str, room: &str, at: i64) -> NewEvent {
    NewEvent {
        event_id: id.into(),
        event: "room_started".into(),
        room_name: Some(room.into()),
        room_sid: None,
        participant_identity: None,
        participant_sid: None,
        created_at: at,
        received_at: at,
        signing_key: KEY_A.into(),
        body: b"{}".to_vec(),
    }
}

/// The event store's operations, the same on both engines.
#[tokio::test]
async fn the_event_store_behaves_the_same_on_both_engines() {
    let dir = hero_livekit_testkit::temp_dir();
    let pg = Postgres::start();
    for url in [
        format!("sqlite://{}", dir.path().join("b.db").display()),
        pg.create_database(),
    ] {
        let store = EventStore::open(&url).await.unwrap();
        assert!(store.ping().await);
        assert_eq!(store.last_seq().await.unwrap(), 0);
        let (w, task) = store.writer();
        assert_eq!(
            w.store(new_event("e1", "a", 10)).await.unwrap(),
            Stored::New
        );
        assert_eq!(
            w.store(new_event("e2", "b", 20)).await.unwrap(),
            Stored::New
        );
        assert_eq!(
            w.store(new_event("e1", "a", 10)).await.unwrap(),
            Stored::Duplicate
        );
        assert_eq!(
            w.store(new_event("e3", "a", 30)).await.unwrap(),
            Stored::New
        );
        drop(w);
        task.await.unwrap();
        let rows = store
            .list_events(&EventFilter {
                room: Some("a".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>(),
            vec!["e3", "e1"]
        );
        let last = store.last_seq().await.unwrap();
        let after = store.events_after(rows[1].seq, 10).await.unwrap();
        assert_eq!(
            after
                .iter()
                .map(|r| r.event_id.as_str())
                .collect::<Vec<_>>(),
            vec!["e2", "e3"]
        );
        assert_eq!(after.last().unwrap().seq, last);
        assert_eq!(store.prune(25).await.unwrap(), 2, "{url}");
        assert_eq!(
            store
                .list_events(&EventFilter {
                    limit: 10,
                    ..Default::default()
                })
                .await
                .unwrap()
                .len(),
            1
        );
        store.close().await;
    }
}

/// A participant event as the webhook route stores it.
fn presence(id: &str, event: &str, room: &str, who: Option<&str>, at: i64) -> NewEvent {
    NewEvent {
        event: event.into(),
        participant_identity: who.map(String::from),
        participant_sid: who.map(|w| format!("PA_{w}")),
        ..new_event(id, room, at)
    }
}

/// The chart series and the batched prune, the same on both engines: running totals survive
/// a late event and a prune, sessions land in their duration bucket and their minutes in
/// their day, webhooks are counted with their duplicates and forgeries.
#[tokio::test]
async fn the_chart_series_agree_on_both_engines() {
    use hero_livekit_backend::store::Series;
    const T: i64 = 1_700_006_400; // a UTC midnight
    let dir = hero_livekit_testkit::temp_dir();
    let pg = Postgres::start();
    for url in [
        format!("sqlite://{}", dir.path().join("s.db").display()),
        pg.create_database(),
    ] {
        let store = EventStore::open(&url).await.unwrap();
        let (w, task) = store.writer();
        w.forged(T + 5);
        w.forged(T + 5);
        let events = [
            presence("j_alice", "participant_joined", "r1", Some("alice"), T + 10),
            presence("j_bob", "participant_joined", "r1", Some("bob"), T + 70),
            presence(
                "j_carol",
                "participant_joined",
                "r2",
                Some("carol"),
                T + 130,
            ),
            presence("j_alice", "participant_joined", "r1", Some("alice"), T + 10),
            presence(
                "a_carol",
                "participant_connection_aborted",
                "r2",
                Some("carol"),
                T + 200,
            ),
            // Arrives after later events: every later running total moves.
            presence("j_dave", "participant_joined", "r2", Some("dave"), T + 20),
            presence("l_alice", "participant_left", "r1", Some("alice"), T + 3610),
            presence("f_r1", "room_finished", "r1", None, T + 7200),
            // Never joined (its join was lost): counts nothing.
            presence("l_erin", "participant_left", "r2", Some("erin"), T + 7300),
        ];
        for e in events {
            w.store(e).await.unwrap();
        }
        drop(w);
        task.await.unwrap();
        let s = |from, step, points| Series { from, step, points };
        assert_eq!(
            store.participants_series(None, s(T, 60, 4)).await.unwrap(),
            [2, 3, 4, 3],
            "{url}"
        );
        assert_eq!(
            store
                .participants_series(Some("r1"), s(T, 3600, 3))
                .await
                .unwrap(),
            [2, 1, 0]
        );
        assert_eq!(
            store
                .participants_series(Some("r2"), s(T, 3600, 3))
                .await
                .unwrap(),
            [1, 1, 1]
        );
        assert_eq!(
            store.session_durations(T, T + 3 * 3600).await.unwrap(),
            [0, 1, 0, 0, 2, 0]
        );
        assert_eq!(
            store.usage_series(s(T, 86_400, 2)).await.unwrap(),
            [70 + 3600 + 7130, 0]
        );
        assert_eq!(
            store.webhooks_series(s(T, 60, 2)).await.unwrap(),
            [[2, 1, 2], [1, 0, 0]]
        );
        assert_eq!(
            store.webhooks_series(s(T, 3600, 3)).await.unwrap(),
            [[5, 1, 2], [1, 0, 0], [2, 0, 0]]
        );
        let later = s(T + 3600, 3600, 2);
        assert_eq!(
            store.participants_series(None, later).await.unwrap(),
            [2, 1]
        );
        // Batches of two rows: five events go in three statements.
        assert_eq!(
            store
                .prune_in_batches(T + 3600, 2, std::time::Duration::ZERO)
                .await
                .unwrap(),
            5,
            "{url}"
        );
        assert_eq!(store.count().await.unwrap(), 3);
        assert_eq!(
            store.participants_series(None, later).await.unwrap(),
            [2, 1],
            "the running total before the cutoff is kept"
        );
        assert_eq!(
            store.webhooks_series(s(T, 3600, 3)).await.unwrap(),
            [[0, 0, 0], [1, 0, 0], [2, 0, 0]]
        );
        store.close().await;
    }
}
