use crate::helpers::*;

#[tokio::test]
async fn empty_body_or_braces_get_a_token_for_a_generated_identity_and_room() {
    let app = spawn_app().await;
    for body in ["", "{}"] {
        let r = app.token(body).await;
        assert_eq!(r.status(), 201, "body {body:?}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["server_url"], "ws://127.0.0.1:7880");
        let c = claims(v["participant_token"].as_str().unwrap());
        assert!(c["sub"].as_str().unwrap().starts_with("user-"), "{c}");
        assert!(
            c["video"]["room"].as_str().unwrap().starts_with("room-"),
            "{c}"
        );
        assert_eq!(c["video"]["roomJoin"], true);
        assert_eq!(c["iss"], KEY_A);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["nbf"].as_i64().unwrap(),
            3600
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn official_python_token_verifier_accepts_our_token_with_every_field() {
    let app = spawn_app().await;
    let r = app
        .token(
            r#"{"room_name":"standup","participant_identity":"alice","participant_name":"Alice",
                "participant_metadata":"{\"team\":\"x\"}","participant_attributes":{"role":"host"},
                "room_config":{"empty_timeout":120,"max_participants":8,"agents":[{"agent_name":"bot"}]}}"#,
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    let token = v["participant_token"].as_str().unwrap();
    let out = run_python(
        r#"
import json, sys
from livekit.api import TokenVerifier
c = TokenVerifier(sys.argv[1], sys.argv[2]).verify(sys.argv[3])
rc = c.room_config
print(json.dumps({"identity": c.identity, "name": c.name, "room": c.video.room,
    "room_join": c.video.room_join, "can_publish": c.video.can_publish,
    "can_subscribe": c.video.can_subscribe, "can_publish_data": c.video.can_publish_data,
    "room_admin": c.video.room_admin, "metadata": c.metadata, "attributes": c.attributes,
    "empty_timeout": rc.empty_timeout if rc else None,
    "agent": rc.agents[0].agent_name if rc and rc.agents else None}))
"#,
        &[KEY_A, SECRET_A, token],
    );
    let c: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(c["identity"], "alice");
    assert_eq!(c["name"], "Alice");
    assert_eq!(c["room"], "standup");
    assert_eq!(c["room_join"], true);
    assert_eq!(c["can_publish"], true);
    assert_eq!(c["can_subscribe"], true);
    assert_eq!(c["can_publish_data"], true);
    assert_ne!(c["room_admin"], true);
    assert_eq!(c["metadata"], "{\"team\":\"x\"}");
    assert_eq!(c["attributes"]["role"], "host");
    assert_eq!(c["empty_timeout"], 120);
    assert_eq!(c["agent"], "bot");
    // The same verifier refuses it under another secret: the check above is not vacuous.
    assert!(!python_succeeds(
        "import sys\nfrom livekit.api import TokenVerifier\nTokenVerifier(sys.argv[1], sys.argv[2]).verify(sys.argv[3])",
        &[KEY_A, SECRET_B, token],
    ));
    app.stop().await;
}

#[tokio::test]
async fn only_the_two_bearers_mint_and_the_401_says_nothing() {
    let app = spawn_app().await;
    let post = |auth: Option<&'static str>| {
        let mut r = app.client.post(app.url("/api/token")).body("{}");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    for auth in [None, Some("Bearer nope"), Some(APP_TOKEN), Some("Bearer ")] {
        let r = post(auth).await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!({"error": "unauthorized"})
        );
    }
    let r = app
        .client
        .post(app.url("/api/token"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_status_and_json_error() {
    let app = spawn_app().await;
    let long = "x".repeat(257);
    let cases = [
        (
            format!(r#"{{"participant_identity":"{long}"}}"#),
            "participant_identity",
        ),
        (format!(r#"{{"room_name":"{long}"}}"#), "room_name"),
        (
            format!(r#"{{"participant_name":"{long}"}}"#),
            "participant_name",
        ),
        (
            format!(
                r#"{{"participant_metadata":"{}"}}"#,
                "m".repeat(512 * 1024 + 1)
            ),
            "participant_metadata",
        ),
        (
            format!(
                r#"{{"participant_attributes":{{"k":"{}"}}}}"#,
                "v".repeat(64 * 1024)
            ),
            "participant_attributes",
        ),
        ("{not json".to_string(), "body"),
        (r#"{"room_name": 5}"#.to_string(), "body"),
    ];
    for (body, field) in cases {
        let r = app.token(&body).await;
        assert_eq!(r.status(), 400, "{field}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["field"], field);
        assert!(v["error"].as_str().unwrap().len() > 5);
    }
    // Exactly at the limits is fine.
    let r = app
        .token(&format!(
            r#"{{"participant_identity":"{}"}}"#,
            "x".repeat(256)
        ))
        .await;
    assert_eq!(r.status(), 201);

    let r = app
        .client
        .post(app.url("/api/token"))
        .bearer_auth(APP_TOKEN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = app.token(&"x".repeat(1024 * 1024 + 1)).await;
    assert_eq!(r.status(), 413);
    assert!(r.json::<serde_json::Value>().await.unwrap()["error"].is_string());

    let r = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "not found"
    );
    let r = app.client.get(app.url("/api/token")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "method not allowed"
    );
    // Still serving.
    assert_eq!(
        app.client
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn cors_preflight_only_for_allowed_origins() {
    let app = spawn_app().await;
    let preflight = |origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let r = preflight(ORIGIN).await.unwrap();
    assert!(r.status().is_success());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let r = preflight("https://evil.example").await.unwrap();
    let cors: Vec<_> = r
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{cors:?}");

    let r = app
        .client
        .post(app.url("/api/token"))
        .header("origin", ORIGIN)
        .bearer_auth(APP_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    app.stop().await;
}

#[tokio::test]
async fn a_slow_client_gets_a_timeout_and_the_service_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| c.request_timeout = std::time::Duration::from_millis(300)).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    for (path, status) in [("/api/token", "408"), ("/webhook", "503")] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {APP_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"room"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("no answer to a stalled body")
            .unwrap();
        let resp = String::from_utf8_lossy(&buf[..n]);
        assert!(
            resp.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {resp}"
        );
        assert!(resp.contains("timed out"), "{resp}");
    }
    assert_eq!(app.token("{}").await.status(), 201);
    app.stop().await;
}
