//! `[public]` (design §12): what each topology renders — livekit.yaml under LiveKit's strict
//! schema, a Caddyfile the real `caddy validate` accepts, haproxy.cfg that `haproxy -c`
//! accepts — the URLs that follow the domains, a render the validator refuses never replacing
//! a file, and the loopback default untouched without the table.

use std::process::Command;

use hero_livekit_api::methods::{ConfigGet, DeployCheckM};
use hero_livekit_api::types::{CheckStatus, DeployCheckParams};
use hero_livekit_server::config::{PublicSettings, Settings};
use serde_json::Value;

use crate::helpers::*;

fn public(toml: &str) -> PublicSettings {
    toml::from_str(toml).unwrap()
}

const BASE: &str =
    "domain = \"lk.example.com\"\nnode_ip = \"203.0.113.10\"\nemail = \"ops@example.com\"\n";

fn require(program: &str) {
    let found = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(program).exists());
    assert!(
        found,
        "{program} is required (Debian package `{program}`): run ./scripts/test, which installs it"
    );
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn yaml(app: &TestApp) -> Value {
    let text = app.read("livekit.yaml");
    hero_livekit_server::livekit_schema::check_yaml(&text)
        .unwrap_or_else(|e| panic!("livekit.yaml refused by the strict schema: {e}\n{text}"));
    serde_saphyr::from_str(&text).unwrap()
}

#[tokio::test]
async fn every_topology_renders_files_the_real_validators_and_livekits_schema_accept() {
    require("caddy");
    require("haproxy");
    let cases = [
        ("", "sni"),
        ("topology = \"caddy-only\"", "caddy-only"),
        (
            "topology = \"two-ips\"\nturn_ip = \"203.0.113.11\"",
            "two-ips",
        ),
        (
            "token_domain = \"token.lk.example.com\"\nadmin_domain = \"admin.lk.example.com\"\nturn_upstream_ip = \"10.0.0.5\"\nhttps_port = 9443\nrenew_interval = \"20s\"",
            "sni",
        ),
    ];
    for (extra, topology) in cases {
        let app = spawn_with(|s| s.public = public(&format!("{BASE}{extra}"))).await;
        let doc = yaml(&app);
        let rtc = &doc["rtc"];
        assert_eq!(rtc["use_external_ip"], false, "{topology}");
        assert_eq!(rtc["node_ip"], "203.0.113.10");
        assert_eq!(
            (
                rtc["port_range_start"].as_u64(),
                rtc["port_range_end"].as_u64()
            ),
            (Some(50000), Some(60000))
        );
        assert!(
            rtc.get("udp_port").is_none(),
            "the UDP mux port would override the range"
        );
        let turn = &doc["turn"];
        assert_eq!(turn["enabled"], true);
        assert_eq!(turn["udp_port"], 3478);
        assert_eq!(
            (
                turn["relay_range_start"].as_u64(),
                turn["relay_range_end"].as_u64()
            ),
            (Some(30000), Some(40000))
        );
        let home = app.home.display().to_string();
        match topology {
            "caddy-only" => {
                for k in ["tls_port", "domain", "cert_file", "external_tls"] {
                    assert!(turn.get(k).is_none(), "caddy-only renders no {k}: {turn}");
                }
            }
            _ => {
                assert_eq!(turn["domain"], "turn.lk.example.com");
                assert_eq!(turn["external_tls"], false);
                assert_eq!(turn["cert_file"], format!("{home}/turn/turn.crt"));
                assert_eq!(turn["key_file"], format!("{home}/turn/turn.key"));
                let want = if topology == "two-ips" { 443 } else { 5349 };
                assert_eq!(turn["tls_port"], want);
            }
        }
        if topology == "two-ips" {
            assert_eq!(turn["bind_addresses"], serde_json::json!(["203.0.113.11"]));
        }
        // The Caddyfile, checked by the real Caddy.
        let caddyfile = app.home.join("Caddyfile");
        let text = std::fs::read_to_string(&caddyfile).unwrap();
        let (valid, out) = run(
            "caddy",
            &[
                "validate",
                "--config",
                caddyfile.to_str().unwrap(),
                "--adapter",
                "caddyfile",
            ],
        );
        assert!(
            valid,
            "caddy validate refused the {topology} Caddyfile:\n{out}\n{text}"
        );
        assert!(text.contains(&format!("root {home}/caddy")), "{text}");
        assert!(text.contains("acme_ca https://acme-v02.api.letsencrypt.org/directory"));
        assert!(text.contains("email ops@example.com"));
        // `caddy adapt` shows what the directives become.
        let (_, adapted) = run(
            "caddy",
            &[
                "adapt",
                "--config",
                caddyfile.to_str().unwrap(),
                "--adapter",
                "caddyfile",
            ],
        );
        let json: Value = serde_json::from_str(adapted.lines().last().unwrap()).unwrap();
        let servers = json["apps"]["http"]["servers"].as_object().unwrap();
        let policies = json["apps"]["tls"]["automation"]["policies"]
            .as_array()
            .unwrap();
        for pol in policies {
            // Every name under the pinned CA: Caddy never falls back to ZeroSSL.
            assert_eq!(
                pol["issuers"][0]["ca"], "https://acme-v02.api.letsencrypt.org/directory",
                "{pol}"
            );
            assert_eq!(pol["issuers"][0]["email"], "ops@example.com");
        }
        if topology != "caddy-only" {
            assert!(
                adapted.contains("\"tls-alpn\":{\"disabled\":true}"),
                "TLS-ALPN must be off for the TURN name: {adapted}"
            );
        }
        if topology == "sni" {
            assert!(
                servers
                    .values()
                    .all(|s| s["protocols"] == serde_json::json!(["h1", "h2"])),
                "no HTTP/3 behind HAProxy: {adapted}"
            );
            assert!(text.contains("default_bind 127.0.0.1"));
        }
        if extra.contains("admin_domain") {
            assert!(text.contains("admin.lk.example.com {\n\treverse_proxy 127.0.0.1:8082"));
            assert!(text.contains("token.lk.example.com {\n\trespond /metrics 404"));
            assert!(text.contains("renew_interval 20s"));
        }
        // haproxy.cfg only for sni, checked by the real HAProxy.
        let cfg = app.home.join("haproxy.cfg");
        if topology == "sni" {
            let (valid, out) = run("haproxy", &["-c", "-f", cfg.to_str().unwrap()]);
            let text = std::fs::read_to_string(&cfg).unwrap();
            assert!(valid, "haproxy -c refused haproxy.cfg:\n{out}\n{text}");
            assert!(text.contains("use_backend turn if { req.ssl_sni -i turn.lk.example.com }"));
            let upstream = if extra.contains("turn_upstream_ip") {
                "10.0.0.5"
            } else {
                "203.0.113.10"
            };
            assert!(
                text.contains(&format!("server livekit_turn {upstream}:5349")),
                "{text}"
            );
        } else {
            assert!(!cfg.exists(), "{topology} has no HAProxy");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn the_public_url_and_the_webhook_url_follow_the_domains() {
    let app = spawn_with(|s| {
        s.public = public(&format!(
            "{BASE}token_domain = \"token.lk.example.com\"\nhttps_port = 8443\ncaddy_https_port = 9443"
        ))
    })
    .await;
    let cfg = app.call::<ConfigGet>(&Default::default()).await.unwrap();
    assert_eq!(cfg["public_url"], "wss://lk.example.com:8443");
    assert_eq!(
        cfg["webhook_url"],
        "https://token.lk.example.com:8443/webhook"
    );
    assert_eq!(cfg["public"]["topology"], "sni");
    assert_eq!(app.env().livekit_public_url, "wss://lk.example.com:8443");
    let doc = yaml(&app);
    assert_eq!(
        doc["webhook"]["urls"],
        serde_json::json!(["https://token.lk.example.com:8443/webhook"])
    );
    app.stop().await;
}

#[tokio::test]
async fn without_public_nothing_of_it_is_rendered() {
    let app = spawn_app().await;
    let doc = yaml(&app);
    assert_eq!(doc["rtc"]["udp_port"], 7882);
    assert!(doc["rtc"].get("port_range_start").is_none());
    assert!(doc.get("turn").is_none());
    assert!(!app.home.join("Caddyfile").exists() && !app.home.join("haproxy.cfg").exists());
    let check = app
        .call::<DeployCheckM>(&DeployCheckParams::default())
        .await
        .unwrap();
    assert!(!check.configured && check.ok);
    assert_eq!(check.checks[0].status, CheckStatus::Skip);
    assert!(
        check.checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("deploy init")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_render_caddy_refuses_leaves_the_file_on_disk_and_deploy_check_shows_caddys_words() {
    require("caddy");
    let dir = hero_livekit_testkit::temp_dir();
    // deploy.check dials node_ip: tests keep it on loopback (and the ports private).
    let good = {
        let mut s: Settings = settings(dir.path());
        s.public = public(&format!(
            "domain = \"lk.test\"\nemail = \"ops@lk.test\"\nnode_ip = \"127.0.0.1\"\nlan = true\nhttps_port = {}\nhttp_port = {}\nturn_udp_port = {}",
            hero_livekit_testkit::free_port(),
            hero_livekit_testkit::free_port(),
            hero_livekit_testkit::free_port()
        ));
        s
    };
    let app = spawn_with(|s| *s = good.clone()).await;
    let caddyfile = app.home.join("Caddyfile");
    let before = std::fs::read(&caddyfile).unwrap();
    app.stop().await;
    // A private CA root that does not exist: Caddy refuses to provision its ACME issuer.
    let missing = dir.path().join("no-such-ca.pem");
    let app = spawn_with(|s| {
        *s = good.clone();
        s.public.acme_ca_root = Some(missing.clone());
    })
    .await;
    assert_eq!(
        std::fs::read(&caddyfile).unwrap(),
        before,
        "refused render written"
    );
    let check = app
        .call::<DeployCheckM>(&DeployCheckParams::default())
        .await
        .unwrap();
    let c = check
        .checks
        .iter()
        .find(|c| c.check == "caddy_config")
        .unwrap();
    assert_eq!(c.status, CheckStatus::Error, "{c:?}");
    assert!(
        c.message.contains("loading trusted root CA's PEM file")
            && c.message.contains(missing.to_str().unwrap()),
        "Caddy's own text: {}",
        c.message
    );
    assert!(c.fix.is_some());
    assert!(!check.ok);
    app.stop().await;
}

#[tokio::test]
async fn public_settings_that_would_be_silently_ignored_are_refused_at_boot() {
    let cases = [
        (
            "[rtc]\nnode_ip = \"198.51.100.1\"",
            "livekit_overrides.rtc.node_ip",
        ),
        ("[turn]\ntls_port = 443", "livekit_overrides.turn.tls_port"),
    ];
    for (overrides, setting) in cases {
        let s = Settings {
            public: public(BASE),
            livekit_overrides: Some(toml::from_str(overrides).unwrap()),
            ..Default::default()
        };
        let err = hero_livekit_server::Config::from_settings(s, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(setting) && err.contains("[public]"), "{err}");
    }
    let s = Settings {
        public: public(BASE),
        node_ip: Some("198.51.100.1".into()),
        ..Default::default()
    };
    let err = hero_livekit_server::Config::from_settings(s, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("differs from public.node_ip"), "{err}");
    // Without [public], use_external_ip with node_ip is refused too.
    let mut s = Settings {
        node_ip: Some("198.51.100.1".into()),
        livekit_overrides: Some(toml::from_str("[rtc]\nuse_external_ip = true").unwrap()),
        ..Default::default()
    };
    let dir = hero_livekit_testkit::temp_dir();
    s.home = Some(dir.path().join("home"));
    s.socket = Some(dir.path().join("s/rpc.sock"));
    let config = hero_livekit_server::Config::from_settings(s, None).unwrap();
    let err = match hero_livekit_server::boot(config).await {
        Ok(_) => panic!("booted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("use_external_ip") && err.contains("ignore node_ip"),
        "{err}"
    );
}
