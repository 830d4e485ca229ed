//! The control plane's Prometheus listener (`metrics_listen`, design §3.2): scraped from a live
//! server after real calls, the values a dashboard would show.

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_server::config::{Config, Settings};
use hero_livekit_testkit::{Postgres, free_port};
use livekit_standin::StandIn;

use crate::helpers::*;

/// A control plane with its metrics on a free loopback port, driving a stand-in SFU.
async fn with_metrics() -> (TestApp, StandIn, u16) {
    let (sfu_port, metrics) = (free_port(), free_port());
    let app = spawn_with(|s| {
        s.livekit_url = Some(format!("http://127.0.0.1:{sfu_port}"));
        s.livekit_timeout = Some("2s".parse().unwrap());
        s.metrics_listen = Some(format!("127.0.0.1:{metrics}"));
    })
    .await;
    let sfu = StandIn::start(&app.home.join("livekit.yaml"), sfu_port)
        .await
        .unwrap();
    (app, sfu, metrics)
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in:\n{text}"))
}

#[tokio::test]
async fn a_scrape_shows_calls_keys_the_sfu_restarts_and_file_writes() {
    let (app, _sfu, port) = with_metrics().await;
    let fresh = scrape(port).await;
    // A fresh home: both files created at boot, nothing else yet.
    assert_eq!(
        value(
            &fresh,
            "hero_livekit_file_writes_total",
            &[("file", "livekit.yaml"), ("reason", "created")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &fresh,
            "hero_livekit_rpc_calls_total",
            &[("method", "token.create"), ("outcome", "ok")]
        ),
        None
    );

    app.mint("standup", "alice").await;
    app.mint("standup", "bob").await;
    let bad = app
        .rpc_http(r#"{"jsonrpc":"2.0","id":1,"method":"token.create","params":{"room":7}}"#)
        .await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    // Calls inside a batch count one by one.
    let batch = app
        .rpc_http(r#"[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","id":2,"method":"health"}]"#)
        .await;
    assert_eq!(batch.as_array().map(Vec::len), Some(2), "{batch}");
    let subscriber = app.client().await;
    let _events = subscriber.subscribe_events().await.unwrap();
    let rotated = app
        .call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap();
    // The stand-in still runs the old file: the new key waits, the SFU must restart.
    let status = app.status().await;
    assert!(status.restart_required, "{:?}", status.restart_reasons);

    let m = scrape(port).await;
    let calls = |method: &str, outcome: &str| {
        value(
            &m,
            "hero_livekit_rpc_calls_total",
            &[("method", method), ("outcome", outcome)],
        )
    };
    assert_eq!(calls("token.create", "ok"), 2.0);
    assert_eq!(calls("token.create", "invalid_params"), 1.0);
    assert_eq!(calls("keys.rotate", "ok"), 1.0);
    assert_eq!(calls("health", "ok"), 2.0);
    assert_eq!(
        value(
            &m,
            "hero_livekit_rpc_duration_seconds_count",
            &[("method", "token.create")]
        ),
        3.0
    );
    assert!(
        value(
            &m,
            "hero_livekit_rpc_duration_seconds_sum",
            &[("method", "token.create")]
        ) > 0.0
    );
    assert_eq!(value(&m, "hero_livekit_keys", &[("state", "active")]), 1.0);
    assert_eq!(value(&m, "hero_livekit_keys", &[("state", "pending")]), 1.0);
    assert_eq!(value(&m, "hero_livekit_keys", &[("state", "revoked")]), 0.0);
    assert_eq!(value(&m, "hero_livekit_sfu_reachable", &[]), 1.0);
    assert_eq!(value(&m, "hero_livekit_restart_required", &[]), 1.0);
    assert_eq!(
        value(
            &m,
            "hero_livekit_node_restart_required",
            &[("node", "config")]
        ),
        1.0
    );
    assert_eq!(value(&m, "hero_livekit_nodes", &[("class", "live")]), 1.0);
    assert_eq!(value(&m, "hero_livekit_nodes", &[("class", "stale")]), 0.0);
    // The rotation re-rendered livekit.yaml (a new key in it) and backend.env did not change.
    assert_eq!(
        value(
            &m,
            "hero_livekit_file_writes_total",
            &[("file", "livekit.yaml"), ("reason", "content")]
        ),
        1.0
    );
    assert_eq!(value(&m, "hero_livekit_events_subscribers", &[]), 1.0);
    assert_eq!(
        value(&m, "hero_livekit_audit_write_failures_total", &[]),
        0.0
    );
    // Without [redis] there is no Redis to be reachable, and no per-node stats to show.
    assert!(!m.contains("hero_livekit_redis_reachable"), "{m}");
    assert!(sample(&m, "hero_livekit_node_clients", &[("node", "config")]).is_none());
    assert!(m.ends_with("# EOF\n"));

    // The SFU goes away: the next observation says so.
    _sfu.stop().await;
    app.status().await;
    assert_eq!(
        value(&scrape(port).await, "hero_livekit_sfu_reachable", &[]),
        0.0
    );
    drop(rotated);
    app.stop().await;
}

#[tokio::test]
async fn no_secret_or_token_is_ever_in_the_metrics() {
    let (app, _sfu, port) = with_metrics().await;
    let mut secrets = secrets_of(&app.home);
    secrets.push(app.mint("standup", "alice").await);
    let imported = "s".repeat(20) + "ImportedSecretValue0123456789";
    app.call::<KeysImport>(&KeysImportParams {
        api_key: "APIimportedKey1".into(),
        secret: imported.clone(),
    })
    .await
    .unwrap();
    secrets.push(imported);
    app.call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap();
    // A failing call whose params carry a secret.
    app.rpc_http(r#"{"jsonrpc":"2.0","id":1,"method":"keys.import","params":{"api_key":"x","secret":"hunter2-not-a-key"}}"#)
        .await;
    secrets.push("hunter2-not-a-key".into());
    app.status().await;
    secrets.extend(secrets_of(&app.home));
    let m = scrape(port).await;
    for s in &secrets {
        assert!(!m.contains(s.as_str()), "a secret is in the metrics:\n{m}");
    }
    // Labels only ever carry bounded names: methods, outcomes, states, classes, files, reasons.
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        let labels = line.split_once('{').map_or("", |(_, r)| r);
        for pair in labels.split(['{', '}', ',']).filter(|p| p.contains('=')) {
            let (k, _) = pair.split_once('=').unwrap();
            assert!(
                [
                    "method", "outcome", "state", "class", "node", "file", "reason", "le"
                ]
                .contains(&k),
                "unexpected label {k} in {line}"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_taken_metrics_port_fails_the_boot_before_the_socket_appears() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = hero_livekit_testkit::temp_dir();
    let mut s: Settings = settings(dir.path());
    s.metrics_listen = Some(port.to_string());
    let config = Config::from_settings(s, None).unwrap();
    let socket = config.socket.clone();
    let err = match hero_livekit_server::boot(config).await {
        Ok(_) => panic!("booted on a taken metrics port"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("metrics_listen") && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!socket.exists());
}

/// A mutating call whose audit row cannot be written still answers (the failure is logged), and
/// the metrics count it: here PostgreSQL refuses every new audit row (a trigger), under the
/// running server.
#[tokio::test]
async fn an_audit_row_that_cannot_be_written_is_counted() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let database = url.rsplit('/').next().unwrap().to_string();
    let port = free_port();
    let app = spawn_with(|s| {
        s.database_url = Some(url);
        s.metrics_listen = Some(format!("127.0.0.1:{port}"));
    })
    .await;
    app.mint("standup", "alice").await;
    let m = scrape(port).await;
    assert_eq!(
        value(&m, "hero_livekit_audit_write_failures_total", &[]),
        0.0
    );
    pg.psql(
        &database,
        "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_audit BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
    );
    app.mint("standup", "bob").await;
    let m = scrape(port).await;
    assert_eq!(
        value(&m, "hero_livekit_audit_write_failures_total", &[]),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "hero_livekit_rpc_calls_total",
            &[("method", "token.create"), ("outcome", "ok")]
        ),
        2.0
    );
    app.stop().await;
}
