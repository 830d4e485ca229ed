//! The stand-in sends LiveKit's webhooks: what happens in rooms reaches `webhook.urls`, in
//! order, signed so that LiveKit's own receiver accepts it, retried like the real notifier.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use livekit_api::access_token::TokenVerifier;
use livekit_api::webhooks::WebhookReceiver;
use livekit_standin::{Source, StandIn, TrackKind, TrackSpec};
use serde_json::json;
use tokio::sync::mpsc;

use crate::helpers::*;

/// (headers, body) of every POST; the first one is answered 503 to exercise the retry.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (tx, first) = (tx.clone(), first.clone());
            async move {
                tx.send((headers, body)).unwrap();
                if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

#[tokio::test]
async fn room_activity_reaches_the_webhook_url_signed_in_order_and_retried() {
    let (url, mut rx) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("livekit.yaml");
    std::fs::write(
        &yaml,
        format!("keys:\n  {KEY}: {SECRET}\n  {OTHER_KEY}: other-secret\nwebhook:\n  api_key: {KEY}\n  urls: [{url}]\n"),
    )
    .unwrap();
    hero_livekit_api::tls::install_crypto_provider();
    let app = TestApp {
        standin: StandIn::start(&yaml, 0).await.unwrap(),
        http: reqwest::Client::new(),
        _dir: dir,
        yaml,
    };

    let (s, _) = app
        .call_json("CreateRoom", Some(&creator()), &json!({"name": "standup"}))
        .await;
    assert_eq!(s, 200);
    // Get-or-create: asking again starts nothing.
    app.call_json("CreateRoom", Some(&creator()), &json!({"name": "standup"}))
        .await;
    let mic = TrackSpec {
        kind: TrackKind::Audio,
        source: Source::Microphone,
        name: "mic".into(),
    };
    app.standin.join("standup", "alice", "Alice", &[mic]);
    app.standin.leave("standup", "alice");
    let (s, _) = app
        .call_json("DeleteRoom", Some(&creator()), &json!({"room": "standup"}))
        .await;
    assert_eq!(s, 200);

    let official = WebhookReceiver::new(TokenVerifier::with_api_key(KEY, SECRET));
    let mut seen = Vec::new();
    let mut first: Option<(HeaderMap, Bytes)> = None;
    while seen.len() < 5 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("webhooks keep coming")
            .unwrap();
        assert_eq!(headers["content-type"], "application/webhook+json");
        let auth = headers["authorization"].to_str().unwrap();
        assert!(!auth.starts_with("Bearer "), "LiveKit sends the raw JWT");
        let text = std::str::from_utf8(&body).unwrap();
        let event = official
            .receive(text, auth)
            .expect("LiveKit's receiver accepts it");
        // protojson: camelCase keys, int64 as strings.
        let raw: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(raw["createdAt"].is_string(), "{raw}");
        assert!(event.id.starts_with("EV_"), "{}", event.id);
        match first.take() {
            // The 503 answer is retried with the same bytes and token.
            None if seen.is_empty() => first = Some((headers.clone(), body.clone())),
            Some((h, b)) => {
                assert_eq!(
                    (&h["authorization"], &b),
                    (&headers["authorization"], &body)
                );
                seen.push(event);
            }
            None => seen.push(event),
        }
    }
    let names: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "room_started",
            "participant_joined",
            "track_published",
            "participant_left",
            "room_finished"
        ]
    );
    assert_eq!(seen[1].participant.as_ref().unwrap().identity, "alice");
    let track_room = seen[2].room.as_ref().unwrap();
    assert_eq!(track_room.name, "standup");
    assert_eq!(
        track_room.creation_time, 0,
        "track events carry only the room's sid and name"
    );
    assert_eq!(seen[2].track.as_ref().unwrap().name, "mic");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "nothing more was sent"
    );
    app.standin.stop().await;
}

#[tokio::test]
async fn webhooks_signed_by_a_key_it_does_not_have_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("livekit.yaml");
    std::fs::write(
        &yaml,
        format!("keys:\n  {KEY}: {SECRET}\nwebhook:\n  api_key: APIgone\n  urls: [http://127.0.0.1:9/webhook]\n"),
    )
    .unwrap();
    let err = StandIn::start(&yaml, 0).await.err().unwrap().to_string();
    assert!(err.contains("api_key is required to use webhooks"), "{err}");
}
