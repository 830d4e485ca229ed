//! The Deployment page: `deploy.check` of a `[public]` deployment, one row per check with its
//! status and fix, over plain HTTP against a control plane whose proxies are not running.

use hero_livekit_server::config::PublicSettings;
use hero_livekit_testkit::free_port;

use crate::helpers::{get, login, spawn_app, start_admin, start_server};

/// The `<tr>` of the first check named `check`, as served.
fn row<'a>(html: &'a str, check: &str) -> &'a str {
    let start = html
        .find(&format!("<tr id=\"check:{check}"))
        .unwrap_or_else(|| panic!("no row for {check}:\n{html}"));
    let end = start + html[start..].find("</tr>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn the_deployment_page_shows_every_check_with_its_cause_and_fix() {
    let dir = hero_livekit_testkit::temp_dir();
    // On loopback with private ports, and nothing (no Caddy, no HAProxy) listening on them.
    let public: PublicSettings = serde_json::from_value(serde_json::json!({
        "domain": "lk.test",
        "email": "ops@lk.test",
        "node_ip": "127.0.0.1",
        "lan": true,
        "https_port": free_port(),
        "http_port": free_port(),
        "turn_udp_port": free_port(),
    }))
    .unwrap();
    let server = start_server(dir.path(), |s| s.public = public).await;
    let admin = start_admin(&server.home, &server.socket).await;
    let cookie = login(&admin).await;
    let pins = "lk.test=127.0.0.1\nturn.lk.test=127.0.0.1";
    let path = format!("/deployment?resolve={}", url_encode(pins));
    let (status, html) = get(&admin, &cookie, &path).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<a href="/deployment" aria-current="page">Deployment</a>"#));
    assert!(html.contains("checks failed"), "{html}");
    assert!(html.contains("<code>sni</code>"), "the topology: {html}");
    // Nothing answers on the HTTPS port: signalling fails, with its cause and a fix.
    let r = row(&html, "signalling");
    assert!(r.contains(r#"data-status="error""#), "{r}");
    assert!(
        r.contains(r#"<span class="badge bad">failed</span>"#),
        "{r}"
    );
    let fix = r.rsplit("<td>").next().unwrap();
    assert!(!fix.contains("—"), "a failed check names its fix: {r}");
    // The pins were used: DNS was not consulted for the pinned names.
    assert!(
        row(&html, "dns:lk.test").contains("pinned to 127.0.0.1 by resolve"),
        "{html}"
    );
    assert!(
        html.contains("lk.test=127.0.0.1\nturn.lk.test=127.0.0.1</textarea>"),
        "the form keeps the pins"
    );
    assert!(!html.contains("PRIVATE KEY"));

    // A malformed pin is named, the page still serves.
    let (status, html) = get(&admin, &cookie, "/deployment?resolve=lk.test").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Pinned names: “lk.test” is not NAME=IP"),
        "{html}"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_public_the_page_says_the_deployment_is_loopback() {
    let app = spawn_app().await;
    let cookie = login(&app.admin).await;
    let (status, html) = get(&app.admin, &cookie, "/deployment").await;
    assert_eq!(status, 200);
    assert!(html.contains("No public deployment configured"), "{html}");
    assert!(html.contains("hero_livekit deploy init"), "{html}");
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
