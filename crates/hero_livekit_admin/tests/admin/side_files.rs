//! The Config page shows ingress.yaml and sip.yaml next to livekit.yaml (issue 14), with their
//! secrets redacted like egress.yaml's.

use crate::helpers::{get, login, start_admin, start_server};

#[tokio::test]
async fn the_config_page_shows_the_side_services_files_redacted() {
    crate::helpers::init_logs();
    let dir = hero_livekit_testkit::temp_dir();
    let server = start_server(dir.path(), |s| {
        // Never dialled by these pages: the files only name it.
        s.redis.address = Some("127.0.0.1:1".into());
        s.redis.password = Some("redis-pw-5c1e".into());
        s.node_ip = Some("127.0.0.1".into());
        s.ingress = serde_json::from_value(serde_json::json!({"enabled": true})).unwrap();
        s.sip = serde_json::from_value(serde_json::json!({"enabled": true})).unwrap();
    })
    .await;
    let admin = start_admin(&server.home, &server.socket).await;
    let cookie = login(&admin).await;
    let (status, body) = get(&admin, &cookie, "/config").await;
    assert_eq!(status, 200);
    for id in ["ingress-yaml", "sip-yaml"] {
        assert!(body.contains(&format!("<pre id=\"{id}\">")), "{id}: {body}");
    }
    assert!(!body.contains("id=\"egress-yaml\""), "egress is disabled");
    let ingress: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(server.home.join("ingress.yaml")).unwrap())
            .unwrap();
    let secret = ingress["api_secret"].as_str().unwrap();
    assert!(!body.contains(secret), "the API secret on the page");
    assert!(
        !body.contains("redis-pw-5c1e"),
        "the Redis password on the page"
    );
    assert!(body.contains("api_secret: &lt;redacted&gt;"), "{body}");
    server.stop().await;
}
