//! Tokens from token.create, checked by LiveKit's own Python SDK.

use std::process::Command;

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;

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

#[tokio::test]
async fn tokens_are_accepted_by_the_official_python_verifier() {
    let py = python();
    let app = spawn_app().await;
    let c = app.client().await;
    let env = hero_livekit_api::env_file::parse(&app.read("backend.env")).unwrap();
    let (key, secret) = (&env["LIVEKIT_API_KEY"], &env["LIVEKIT_API_SECRET"]);

    let t = c
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
    assert_eq!(&t.api_key, key);
    assert_eq!(t.server_url, "ws://127.0.0.1:7880");
    let out = Command::new(&py)
        .args(["-c", VERIFY, key, secret, &t.token])
        .output()
        .unwrap();
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

    // The admin preset: roomAdmin for the room, and the verifier agrees.
    let t = c
        .call::<TokenCreate>(&TokenCreateParams {
            room: "ops".into(),
            identity: "root".into(),
            preset: Some(Preset::Admin),
            ..Default::default()
        })
        .await
        .unwrap();
    let out = Command::new(&py)
        .args(["-c", VERIFY, key, secret, &t.token])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["room_admin"], true);

    // A tampered token is refused by both the SDK and token.decode.
    // The signature's first character, not its last: the last one carries two padding bits
    // that decoders may ignore, so changing it can leave the signature bytes as they were.
    let sig_at = t.token.rfind('.').unwrap() + 1;
    let first = &t.token[sig_at..sig_at + 1];
    let forged = format!(
        "{}{}{}",
        &t.token[..sig_at],
        if first == "A" { "B" } else { "A" },
        &t.token[sig_at + 1..]
    );
    let out = Command::new(&py)
        .args(["-c", VERIFY, key, secret, &forged])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let d = c
        .call::<TokenDecode>(&TokenDecodeParams { token: forged })
        .await
        .unwrap();
    assert!(
        !d.valid && d.problems.iter().any(|p| p.contains("signature")),
        "{:?}",
        d.problems
    );
    app.stop().await;
}

#[tokio::test]
async fn decode_explains_tokens_from_the_official_sdks() {
    let app = spawn_app().await;
    let c = app.client().await;
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/test-vectors/tokens.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // Our control plane does not know the vectors' keys: decode says so, and still explains.
    let d = c
        .call::<TokenDecode>(&TokenDecodeParams {
            token: vectors["node"]["participant_with_sources_metadata_attributes"]
                .as_str()
                .unwrap()
                .into(),
        })
        .await
        .unwrap();
    assert!(!d.valid);
    assert_eq!(d.api_key.as_deref(), Some("APIvectors0001"));
    assert_eq!(d.key_state, None);
    assert!(d.problems[0].contains("unknown to this control plane"));
    assert!(
        d.grants_explained
            .contains(&"may publish only from: camera, microphone".to_string())
    );
    assert_eq!(d.claims["attributes"]["role"], "guest");

    // Our own fresh token: valid, signed by the active key.
    let t = c
        .call::<TokenCreate>(&TokenCreateParams {
            room: "r".into(),
            identity: "i".into(),
            preset: Some(Preset::Viewer),
            ..Default::default()
        })
        .await
        .unwrap();
    let d = c
        .call::<TokenDecode>(&TokenDecodeParams { token: t.token })
        .await
        .unwrap();
    assert!(d.valid, "{:?}", d.problems);
    assert_eq!(d.key_state, Some(KeyState::Active));
    assert!(d.skew_s.unwrap() > 3500 && d.skew_s.unwrap() <= 3600);
    assert!(
        d.grants_explained
            .contains(&"may not publish audio or video".to_string())
    );
    app.stop().await;
}
