//! The JSON-RPC surface: methods, discovery, and every kind of bad input.

use std::collections::BTreeSet;

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn health_over_curl_style_http_and_over_websocket() {
    let app = spawn_app().await;
    let r = app
        .rpc_http(r#"{"jsonrpc":"2.0","id":1,"method":"health","params":{}}"#)
        .await;
    assert_eq!(r["result"]["status"], "ok");
    assert_eq!(r["result"]["version"], env!("CARGO_PKG_VERSION"));
    let h = app
        .client()
        .await
        .call::<HealthM>(&NoParams {})
        .await
        .unwrap();
    assert_eq!(h.status, "ok");
    // No params at all is the same as {}.
    let r = app
        .rpc_http(r#"{"jsonrpc":"2.0","id":2,"method":"health"}"#)
        .await;
    assert_eq!(r["result"]["status"], "ok");
    let socket = app.socket.clone();
    app.stop().await;
    assert!(!socket.exists(), "the socket is removed at shutdown");
}

#[tokio::test]
async fn discover_lists_exactly_the_registered_methods_with_schemas() {
    let app = spawn_app().await;
    let doc = app
        .client()
        .await
        .call::<Discover>(&NoParams {})
        .await
        .unwrap();
    assert!(doc["openrpc"].as_str().unwrap().starts_with("1."));
    let listed: BTreeSet<String> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    let state_module = hero_livekit_server::rpc_module(hero_livekit_server_state(&app).await);
    let registered: BTreeSet<String> = state_module.method_names().map(String::from).collect();
    assert_eq!(listed, registered);
    for m in doc["methods"].as_array().unwrap() {
        assert!(
            !m["result"]["schema"].is_null(),
            "{} has a result schema",
            m["name"]
        );
        assert!(m["params"].is_array());
    }
    let create = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "token.create")
        .unwrap();
    let params: Vec<(&str, bool)> = create["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        params.contains(&("room", true))
            && params.contains(&("identity", true))
            && params.contains(&("ttl_s", false))
    );
    // Every $ref resolves inside the document.
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
    app.stop().await;
}

/// A second control plane in its own home, for building a second module (the registered
/// names do not depend on the state).
async fn hero_livekit_server_state(app: &TestApp) -> hero_livekit_server::AppState {
    let mut s = settings(app.dir.path());
    s.home = Some(app.dir.path().join("second-home"));
    s.socket = Some(app.dir.path().join("second.sock"));
    let cfg = hero_livekit_server::Config::from_settings(s, None).unwrap();
    let booted = hero_livekit_server::boot(cfg).await.unwrap();
    booted.state().clone()
}

#[tokio::test]
async fn config_and_key_views_never_contain_a_secret() {
    let app = spawn_app().await;
    let c = app.client().await;
    let secrets = secrets_of(&app.home);
    let mut seen = String::new();
    for m in [
        "status",
        "config.get",
        "config.files",
        "keys.list",
        "health",
        "rpc.discover",
    ] {
        seen.push_str(&c.call_raw(m, json!({})).await.unwrap().to_string());
    }
    for s in &secrets {
        assert!(!seen.contains(s.as_str()), "a secret leaked");
    }
    let files = c.call::<ConfigFilesM>(&NoParams {}).await.unwrap();
    assert!(files.backend_env.contains("LIVEKIT_API_SECRET=<redacted>"));
    assert!(files.livekit_yaml.contains(": <redacted>"));
    assert!(files.livekit_yaml.contains("webhook:"));
    let cfg = c.call::<ConfigGet>(&NoParams {}).await.unwrap();
    assert_eq!(cfg["api_secret"], "<redacted>");
    assert_eq!(cfg["backend_port"], 8081);
    let keys = c
        .call::<KeysList>(&KeysListParams::default())
        .await
        .unwrap();
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].state, KeyState::Active);
    // backend.info is the one method that hands out the bearers.
    let info = c.call::<BackendInfoM>(&NoParams {}).await.unwrap();
    assert_eq!(info.url, "http://127.0.0.1:8081");
    assert!(secrets.contains(&info.api_token) && secrets.contains(&info.token_endpoint_token));
    app.stop().await;
}

#[tokio::test]
async fn status_reports_files_keys_and_an_unreachable_sfu() {
    // Nothing listens on this port: the SFU is down.
    let port = hero_livekit_testkit::free_port();
    let app = spawn_with(|s| s.livekit_url = Some(format!("http://127.0.0.1:{port}"))).await;
    let s = app
        .client()
        .await
        .call::<StatusM>(&NoParams {})
        .await
        .unwrap();
    assert_eq!(s.server.pid, std::process::id());
    assert_eq!(
        s.files.livekit_yaml.path,
        app.home.join("livekit.yaml").display().to_string()
    );
    assert!(!s.files.livekit_yaml.repaired);
    assert_eq!(s.files.backend_env.sha256.len(), 64);
    assert!(!s.sfu.reachable);
    assert!(
        s.sfu.error.as_deref().unwrap().contains("cannot connect"),
        "{:?}",
        s.sfu.error
    );
    assert_eq!(s.keys.len(), 1);
    app.stop().await;
}

/// `repaired` is what boot found: a rotation rewrites the files on purpose and repairs nothing.
#[tokio::test]
async fn a_rotation_is_not_reported_as_a_repair() {
    let app = spawn_app().await;
    let c = app.client().await;
    let before = c.call::<StatusM>(&NoParams {}).await.unwrap().files;
    c.call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap();
    let after = c.call::<StatusM>(&NoParams {}).await.unwrap().files;
    assert_ne!(after.livekit_yaml.sha256, before.livekit_yaml.sha256);
    assert_eq!(
        (after.livekit_yaml.repaired, after.backend_env.repaired),
        (false, false)
    );
    app.stop().await;
}

#[tokio::test]
async fn status_measures_a_reachable_sfu() {
    // A minimal HTTP server answering GET / with 200 OK, like livekit-server when ready.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nOK",
                    )
                    .await;
            });
        }
    });
    let app = spawn_with(|s| s.livekit_url = Some(format!("http://127.0.0.1:{port}"))).await;
    let s = app
        .client()
        .await
        .call::<StatusM>(&NoParams {})
        .await
        .unwrap();
    assert!(s.sfu.reachable && s.sfu.error.is_none(), "{:?}", s.sfu);
    assert!(s.sfu.latency_ms.unwrap() >= 0.0);
    app.stop().await;
}

async fn expect_error(app: &TestApp, body: &str, code: i64) -> Value {
    let r = app.rpc_http(body).await;
    assert_eq!(r["error"]["code"], code, "{body} -> {r}");
    r["error"].clone()
}

/// Whether the server still answers `health` after what a test sent it.
async fn still_serves(app: &TestApp) {
    let r = app
        .rpc_http(r#"{"jsonrpc":"2.0","id":9,"method":"health","params":{}}"#)
        .await;
    assert_eq!(r["result"]["status"], "ok");
}

#[tokio::test]
async fn malformed_and_unknown_requests_get_their_json_rpc_codes() {
    let app = spawn_app().await;
    expect_error(
        &app,
        r#"{"jsonrpc":"2.0","id":1,"method":"no.such","params":{}}"#,
        -32601,
    )
    .await;
    expect_error(&app, r#"{"jsonrpc":"2.0","id":1,"method":"health""#, -32700).await;
    expect_error(&app, "this is not json", -32700).await;
    expect_error(&app, r#"{"jsonrpc":"2.0","id":1}"#, -32600).await;
    still_serves(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn invalid_params_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let e = expect_error(
        &app,
        r#"{"jsonrpc":"2.0","id":1,"method":"token.create","params":{"room":"r"}}"#,
        -32602,
    )
    .await;
    assert_eq!(e["data"]["field"], "identity");
    let e = expect_error(&app, r#"{"jsonrpc":"2.0","id":1,"method":"token.create","params":{"room":"r","identity":"i","ttl_s":"long"}}"#, -32602).await;
    assert_eq!(e["data"]["field"], "ttl_s");
    assert!(
        e["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );
    let e = expect_error(&app, r#"{"jsonrpc":"2.0","id":1,"method":"token.create","params":{"room":"r","identity":"i","grants":{"canPubish":true}}}"#, -32602).await;
    assert_eq!(e["data"]["field"], "grants.canPubish");
    let e = expect_error(
        &app,
        r#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":{"bogus":1}}"#,
        -32602,
    )
    .await;
    assert_eq!(e["data"]["field"], "bogus");
    let e = expect_error(
        &app,
        r#"{"jsonrpc":"2.0","id":1,"method":"token.create","params":["r","i"]}"#,
        -32602,
    )
    .await;
    assert_eq!(e["data"]["field"], "params");
    still_serves(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_token_lifetime_over_the_maximum_is_refused_saying_the_maximum() {
    let app = spawn_app().await;
    let e = expect_error(&app, r#"{"jsonrpc":"2.0","id":1,"method":"token.create","params":{"room":"r","identity":"i","ttl_s":999999}}"#, -32005).await;
    assert!(e["message"].as_str().unwrap().contains("86400"));
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_content_type_is_415_and_nothing_else_happens() {
    let app = spawn_app().await;
    let r = app
        .post(
            Some("text/plain"),
            r#"{"jsonrpc":"2.0","id":1,"method":"health"}"#,
        )
        .await;
    assert_eq!(r.status, 415);
    still_serves(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_1_mib_is_refused_before_parsing() {
    let app = spawn_app().await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"token.decode","params":{{"token":"{}"}}}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let r = app.post(Some("application/json"), big).await;
    let (status, body) = (r.status, r.text());
    assert!(status == 413 || body.contains("-32007"), "{status} {body}");
    still_serves(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn every_call_of_a_batch_is_answered_in_one_response() {
    let app = spawn_app().await;
    // A batch of 10,000 calls.
    let batch: Vec<Value> = (0..10_000)
        .map(|i| json!({"jsonrpc":"2.0","id":i,"method":"health"}))
        .collect();
    let r = app
        .post(
            Some("application/json"),
            serde_json::to_string(&batch).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let answers: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(answers.len(), 10_000);
    assert!(answers.iter().all(|a| a["result"]["status"] == "ok"));
    // Mixed batch: each item gets its own answer.
    let r = app
        .rpc_http(
            r#"[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#,
        )
        .await;
    assert_eq!(r[0]["result"]["status"], "ok");
    assert_eq!(r[1]["error"]["code"], -32601);
    app.stop().await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_not_a_stack_overflow() {
    let app = spawn_app().await;
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"token.decode","params":{{"token":{}"x"{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let status = app.post(Some("application/json"), deep).await.status;
    assert!(status == 200 || status == 400 || status == 413);
    still_serves(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn an_events_subscription_ends_with_an_error_item_not_silently() {
    let app = spawn_app().await;
    let c = app.client().await;
    let mut sub = c.subscribe_events().await.unwrap();
    // Plain HTTP cannot subscribe: a clear error, not a hang.
    let r = app
        .rpc_http(r#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{}}"#)
        .await;
    assert!(r["error"]["code"].is_i64(), "{r}");
    app.stop().await;
    let last = loop {
        let item = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if item.kind == "error" {
            break item;
        }
    };
    assert_eq!(last.data["reason"], "the server is stopping");
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut slow = tokio::net::UnixStream::connect(&app.socket).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 256];
    // Never finish the headers: the server hangs up after its header timeout.
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            if slow.write_all(b"x").await.is_err() {
                return 0;
            }
            match tokio::time::timeout(std::time::Duration::from_millis(500), slow.read(&mut buf))
                .await
            {
                Ok(Ok(n)) => return n,
                Ok(Err(_)) => return 0,
                Err(_) => continue,
            }
        }
    })
    .await
    .expect("the server closes a trickling connection");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= std::time::Duration::from_secs(9),
        "closed after {elapsed:?}"
    );
    let _ = n;
    // Others were served all along.
    still_serves(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn an_oversize_chunked_body_is_refused_with_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut s = tokio::net::UnixStream::connect(&app.socket).await.unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..40 {
        let head = format!("{:x}\r\n", chunk.len());
        if s.write_all(head.as_bytes()).await.is_err()
            || s.write_all(&chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break; // the server stopped reading: fine, its answer is already on the way
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut resp = vec![0u8; 512];
    let n = s.read(&mut resp).await.unwrap();
    let head = String::from_utf8_lossy(&resp[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    still_serves(&app).await;
    app.stop().await;
}
