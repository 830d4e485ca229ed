//! backend.env rewritten by the control plane is picked up while serving: rotations, broken
//! rewrites, revoked webhook keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hero_livekit_api::env_file::BackendEnv;
use livekit_api::access_token::TokenVerifier;

use crate::helpers::*;

/// How long the reloader may take to see a rewrite (it polls every 100 ms in these tests).
const RELOADED: Duration = Duration::from_millis(400);

/// The control plane rotates: B signs, A and B may both sign webhooks. Returns the new env and
/// the first token signed by B, which must come within a second.
async fn rotate_to_b(app: &TestApp) -> (BackendEnv, String) {
    let mut env = app.env.clone();
    env.livekit_api_key = KEY_B.into();
    env.livekit_api_secret = SECRET_B.into();
    env.livekit_webhook_keys = vec![
        (KEY_B.into(), SECRET_B.into()),
        (KEY_A.into(), SECRET_A.into()),
    ];
    let rotated = Instant::now();
    write_env(&app.env_path, &env);
    let token = loop {
        let v: serde_json::Value = app.token("{}").await.json().await.unwrap();
        let t = v["participant_token"].as_str().unwrap().to_string();
        if claims(&t)["iss"] == KEY_B {
            break t;
        }
        assert!(
            rotated.elapsed() < Duration::from_secs(1),
            "new key not used within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    (env, token)
}

/// The issuer of a freshly minted token.
async fn signer(app: &TestApp) -> serde_json::Value {
    let r = app.token("{}").await;
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    claims(v["participant_token"].as_str().unwrap())["iss"].clone()
}

#[tokio::test]
async fn key_rotation_is_picked_up_without_a_restart_or_a_failed_request() {
    let app = Arc::new(spawn_app().await);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = vec![];
    for _ in 0..4 {
        let (app, stop, ok, failed) = (app.clone(), stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = app.token("{}").await;
                let counter = if r.status() == 201 { &ok } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, token) = rotate_to_b(&app).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 20, "the load loop barely ran");

    // Tokens minted now verify with the new key, and only with it.
    assert_eq!(
        TokenVerifier::with_api_key(KEY_B, SECRET_B)
            .verify(&token)
            .unwrap()
            .iss,
        KEY_B
    );
    assert!(
        TokenVerifier::with_api_key(KEY_A, SECRET_A)
            .verify(&token)
            .is_err()
    );
    // Webhooks signed by the old and the new key are both accepted.
    let old = event_body("room_started", "EV_old", "r", None, 1_795_700_000);
    let new = event_body("room_started", "EV_new", "r", None, 1_795_700_000);
    assert_eq!(
        app.signed_webhook(&old, KEY_A, SECRET_A).await.status(),
        200
    );
    assert_eq!(
        app.signed_webhook(&new, KEY_B, SECRET_B).await.status(),
        200
    );
    Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test]
async fn a_broken_or_incomplete_rewrite_keeps_the_config_in_force() {
    let app = spawn_app().await;
    let (env, _) = rotate_to_b(&app).await;
    write_env_text(&app.env_path, "LIVEKIT_API_KEY=\"unterminated\n");
    tokio::time::sleep(RELOADED).await;
    assert_eq!(signer(&app).await, KEY_B);
    // A file missing a variable, too.
    let text = env
        .render()
        .replace(&format!("LIVEKIT_API_KEY={KEY_B}\n"), "");
    write_env_text(&app.env_path, &text);
    tokio::time::sleep(RELOADED).await;
    assert_eq!(signer(&app).await, KEY_B);
    app.stop().await;
}

#[tokio::test]
async fn a_key_removed_from_the_webhook_keys_is_refused() {
    let app = spawn_app().await;
    let (mut env, _) = rotate_to_b(&app).await;
    env.livekit_webhook_keys = vec![(KEY_B.into(), SECRET_B.into())];
    write_env(&app.env_path, &env);
    tokio::time::sleep(RELOADED).await;
    let late = event_body("room_started", "EV_late", "r", None, 1_795_700_000);
    assert_eq!(
        app.signed_webhook(&late, KEY_A, SECRET_A).await.status(),
        401
    );
    app.stop().await;
}
