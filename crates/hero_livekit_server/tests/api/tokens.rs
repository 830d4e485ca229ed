//! Tokens from token.create, checked by LiveKit's own Python SDK.

use std::process::{Command, Output};

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_testkit::python::python;
use hero_livekit_testkit::vectors;

use crate::helpers::*;

const VERIFY: &str = r#"
import json, sys
from livekit.api import TokenVerifier
key, secret, token = sys.argv[1], sys.argv[2], sys.argv[3]
claims = TokenVerifier(key, secret).verify(token)
v = claims.video
print(json.dumps({
  "identity": claims.identity, "name": claims.name, "metadata": claims.metadata,
  "attributes": dict(claims.attributes or {}),
  "room": v.room, "room_join": v.room_join, "can_publish": v.can_publish,
  "can_subscribe": v.can_subscribe, "room_admin": v.room_admin,
  "sources": list(v.can_publish_sources or []),
}))
"#;

/// LiveKit's Python TokenVerifier run on `token` with the app's signing key.
fn verify_with_sdk(app: &TestApp, token: &str) -> Output {
    let env = app.env();
    Command::new(python())
        .args([
            "-c",
            VERIFY,
            &env.livekit_api_key,
            &env.livekit_api_secret,
            token,
        ])
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_token_with_every_field_is_accepted_by_the_official_python_verifier() {
    let app = spawn_app().await;
    let t = app
        .call::<TokenCreate>(&TokenCreateParams {
            room: "standup".into(),
            identity: "alice".into(),
            name: Some("Alice".into()),
            metadata: Some("{\"team\":\"blue\"}".into()),
            attributes: Some([("role".to_string(), "host".to_string())].into()),
            grants: Some(Grants {
                can_publish_sources: Some(vec!["camera".into(), "microphone".into()]),
                ..Default::default()
            }),
            ttl_s: Some(600),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(t.api_key, app.env().livekit_api_key);
    assert_eq!(t.server_url, "ws://127.0.0.1:7880");
    let out = verify_with_sdk(&app, &t.token);
    assert!(
        out.status.success(),
        "Python TokenVerifier refused our token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["identity"], "alice");
    assert_eq!(v["name"], "Alice");
    assert_eq!(v["metadata"], "{\"team\":\"blue\"}");
    assert_eq!(v["attributes"]["role"], "host");
    assert_eq!(v["room"], "standup");
    assert_eq!(v["room_join"], true);
    assert_eq!(v["sources"], serde_json::json!(["camera", "microphone"]));
    app.stop().await;
}

async fn admin_token(app: &TestApp) -> String {
    app.call::<TokenCreate>(&TokenCreateParams {
        room: "ops".into(),
        identity: "root".into(),
        preset: Some(Preset::Admin),
        ..Default::default()
    })
    .await
    .unwrap()
    .token
}

#[tokio::test]
async fn the_admin_preset_grants_room_admin_as_the_verifier_reads_it() {
    let app = spawn_app().await;
    let out = verify_with_sdk(&app, &admin_token(&app).await);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["room_admin"], true);
    app.stop().await;
}

#[tokio::test]
async fn a_tampered_token_is_refused_by_the_sdk_and_by_token_decode() {
    let app = spawn_app().await;
    let t = admin_token(&app).await;
    // The signature's first character, not its last: the last one carries two padding bits
    // that decoders may ignore, so changing it can leave the signature bytes as they were.
    let sig_at = t.rfind('.').unwrap() + 1;
    let first = &t[sig_at..sig_at + 1];
    let forged = format!(
        "{}{}{}",
        &t[..sig_at],
        if first == "A" { "B" } else { "A" },
        &t[sig_at + 1..]
    );
    assert!(!verify_with_sdk(&app, &forged).status.success());
    let d = app.decode(&forged).await;
    assert!(
        !d.valid && d.problems.iter().any(|p| p.contains("signature")),
        "{:?}",
        d.problems
    );
    app.stop().await;
}

#[tokio::test]
async fn decode_explains_a_node_sdk_token_of_a_key_it_does_not_know() {
    let app = spawn_app().await;
    let tokens = vectors::json("tokens.json");
    // Our control plane does not know the vectors' keys: decode says so, and still explains.
    let d = app
        .decode(
            tokens["node"]["participant_with_sources_metadata_attributes"]
                .as_str()
                .unwrap(),
        )
        .await;
    assert!(!d.valid);
    assert_eq!(d.api_key.as_deref(), Some("APIvectors0001"));
    assert_eq!(d.key_state, None);
    assert!(d.problems[0].contains("unknown to this control plane"));
    assert!(
        d.grants_explained
            .contains(&"may publish only from: camera, microphone".to_string())
    );
    assert_eq!(d.claims["attributes"]["role"], "guest");
    app.stop().await;
}

#[tokio::test]
async fn decode_finds_a_fresh_token_valid_and_signed_by_the_active_key() {
    let app = spawn_app().await;
    let t = app
        .call::<TokenCreate>(&TokenCreateParams {
            room: "r".into(),
            identity: "i".into(),
            preset: Some(Preset::Viewer),
            ..Default::default()
        })
        .await
        .unwrap();
    let d = app.decode(&t.token).await;
    assert!(d.valid, "{:?}", d.problems);
    assert_eq!(d.key_state, Some(KeyState::Active));
    assert!(d.skew_s.unwrap() > 3500 && d.skew_s.unwrap() <= 3600);
    assert!(
        d.grants_explained
            .contains(&"may not publish audio or video".to_string())
    );
    app.stop().await;
}
