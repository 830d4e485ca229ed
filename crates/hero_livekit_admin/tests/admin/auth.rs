//! Login, sessions and CSRF over plain HTTP (no browser).

use std::os::unix::fs::PermissionsExt;

use hero_livekit_api::methods::KeysList;
use hero_livekit_api::types::KeysListParams;

use crate::helpers::{csrf_of, get, http, login, spawn_app, start_admin, start_server};

const PAGES: &[&str] = &[
    "/",
    "/nodes",
    "/rooms",
    "/rooms/standup",
    "/tokens",
    "/keys",
    "/keys?all=1",
    "/events",
    "/audit",
    "/config",
    "/deployment",
    "/logout",
    "/no-such-page",
];
const JSON: &[&str] = &[
    "/api/status",
    "/api/nodes",
    "/api/rooms",
    "/api/rooms/standup/participants",
    "/assets/app.css",
];
const POSTS: &[&str] = &[
    "/rooms",
    "/rooms/standup/delete",
    "/rooms/standup/metadata",
    "/rooms/standup/data",
    "/rooms/standup/participants/alice/remove",
    "/rooms/standup/participants/alice/mute",
    "/rooms/standup/participants/alice/update",
    "/tokens",
    "/tokens/decode",
    "/keys/rotate",
    "/keys/revoke",
    "/keys/import",
    "/logout",
];

async fn key_count(app: &crate::helpers::TestApp) -> usize {
    let c = app.server.client().await;
    c.call::<KeysList>(&KeysListParams {
        include_revoked: Some(true),
    })
    .await
    .unwrap()
    .keys
    .len()
}

#[tokio::test]
async fn nothing_is_readable_without_a_session() {
    let app = spawn_app().await;
    let keys_before = key_count(&app).await;
    let client = http();
    for cookie in [None, Some("hl_admin_session=forged"), Some("other=1")] {
        for path in PAGES {
            let mut req = client.get(app.admin.url(path));
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 303, "GET {path} with {cookie:?}");
            assert_eq!(resp.headers()["location"], "/login", "GET {path}");
            let body = resp.text().await.unwrap();
            assert!(body.is_empty(), "GET {path} leaked a body: {body}");
        }
        for path in JSON {
            let mut req = client.get(app.admin.url(path));
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 401, "GET {path} with {cookie:?}");
        }
        for path in POSTS {
            let mut req = client.post(app.admin.url(path)).form(&[
                ("confirm", "yes"),
                ("name", "x"),
                ("_csrf", "guess"),
            ]);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let resp = req.send().await.unwrap();
            assert!(
                resp.status() == 303 || resp.status() == 401,
                "POST {path}: {}",
                resp.status()
            );
            if resp.status() == 303 {
                assert_eq!(resp.headers()["location"], "/login");
            }
        }
    }
    assert_eq!(
        key_count(&app).await,
        keys_before,
        "a refused POST changed keys"
    );
    app.server.stop().await;
}

#[tokio::test]
async fn token_file_and_login_cookie() {
    let app = spawn_app().await;
    let path = app.admin.home.join("admin.token");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim(), app.admin.token);
    assert_eq!(app.admin.token.len(), 43);
    assert!(app.admin.token.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(app.admin.login_url().starts_with("http://127.0.0.1:"));

    // A second start on the same home reuses the token.
    let again = start_admin(&app.server.home, &app.server.socket).await;
    assert_eq!(again.token, app.admin.token);

    let client = http();
    let wrong = client
        .get(
            app.admin
                .url("/login?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("not valid"));

    let form = client
        .post(app.admin.url("/login"))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 401);

    let ok = client.get(app.admin.login_url()).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("hl_admin_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains("Secure"),
        "plain http must not get a Secure cookie"
    );
    assert!(
        ok.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(ok.headers()["referrer-policy"], "same-origin");

    let tls = client
        .get(app.admin.login_url())
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        tls.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );

    // Pasting the token into the form works too, from the same origin only.
    let form = client
        .post(app.admin.url("/login"))
        .header("origin", app.admin.url(""))
        .form(&[("token", app.admin.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 303);
    assert!(form.headers().get("set-cookie").is_some());
    let cross = client
        .post(app.admin.url("/login"))
        .header("origin", "http://evil.example")
        .form(&[("token", app.admin.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(cross.headers().get("set-cookie").is_none());

    let session = cookie.split(';').next().unwrap();
    let (status, body) = get(&app.admin, session, "/").await;
    assert_eq!(status, 200);
    assert!(body.contains("Overview") && body.contains("Control plane"));
    let (status, body) = get(&app.admin, session, "/api/status").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("restart_required"));
    app.server.stop().await;
}

#[tokio::test]
async fn form_posts_need_the_csrf_token_and_the_same_origin() {
    let app = spawn_app().await;
    let cookie = login(&app.admin).await;
    let (_, page) = get(&app.admin, &cookie, "/keys").await;
    let csrf = csrf_of(&page);
    let before = key_count(&app).await;
    let client = http();
    let post = |path: &str, fields: Vec<(&'static str, String)>, origin: Option<String>| {
        let mut req = client
            .post(app.admin.url(path))
            .header("cookie", &cookie)
            .form(&fields);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let confirm = ("confirm", "yes".to_string());

    let none = post("/keys/rotate", vec![confirm.clone()], None)
        .await
        .unwrap();
    assert_eq!(none.status(), 403);
    let wrong = post(
        "/keys/rotate",
        vec![confirm.clone(), ("_csrf", "x".repeat(43))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 403);
    let cross = post(
        "/keys/rotate",
        vec![confirm.clone(), ("_csrf", csrf.clone())],
        Some("http://evil.example".into()),
    )
    .await
    .unwrap();
    assert_eq!(cross.status(), 403);
    let room = post("/rooms", vec![("name", "sneaky".into())], None)
        .await
        .unwrap();
    assert_eq!(room.status(), 403);
    let logout = post("/logout", vec![], None).await.unwrap();
    assert_eq!(logout.status(), 403);
    assert_eq!(
        key_count(&app).await,
        before,
        "a refused POST rotated a key"
    );
    // The session survived the refused logout.
    assert_eq!(get(&app.admin, &cookie, "/keys").await.0, 200);

    // The header form (for scripts) is accepted like the field.
    let with_header = client
        .post(app.admin.url("/tokens/decode"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .form(&[("token", "not-a-jwt")])
        .send()
        .await
        .unwrap();
    assert_eq!(with_header.status(), 200);

    // A correct token from the same origin gets through.
    let ok = post(
        "/keys/rotate",
        vec![confirm, ("_csrf", csrf.clone())],
        Some(app.admin.url("")),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/keys");
    app.server.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let cookie = login(&app.admin).await;
    let (_, page) = get(&app.admin, &cookie, "/").await;
    let resp = http()
        .post(app.admin.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = get(&app.admin, &cookie, "/").await;
    assert_eq!(status, 303);
    let (status, _) = get(&app.admin, &cookie, "/api/status").await;
    assert_eq!(status, 401);
    app.server.stop().await;
}

#[tokio::test]
async fn pages_say_when_the_control_plane_is_down_and_recover() {
    crate::helpers::init_logs();
    let dir = hero_livekit_testkit::temp_dir();
    let home = dir.path().join("home");
    let socket = dir.path().join("sock/rpc.sock");
    let admin = start_admin(&home, &socket).await;
    let cookie = login(&admin).await;
    for path in [
        "/",
        "/nodes",
        "/rooms",
        "/keys",
        "/tokens",
        "/config",
        "/audit",
        "/events",
        "/rooms/x",
        "/deployment",
    ] {
        let (status, body) = get(&admin, &cookie, path).await;
        assert_eq!(status, 200, "{path}");
        if path != "/tokens" {
            assert!(
                body.contains("Control plane unreachable"),
                "{path} does not say so: {body}"
            );
        }
    }
    let (status, body) = get(&admin, &cookie, "/api/status").await;
    assert_eq!(status, 502);
    assert!(body.contains("control plane unreachable"), "{body}");

    // The server comes up later (on the same home): the same admin recovers by itself.
    let server = start_server(dir.path(), |_| {}).await;
    let (_, body) = get(&admin, &cookie, "/").await;
    assert!(!body.contains("Control plane unreachable"), "{body}");
    assert!(body.contains(env!("CARGO_PKG_VERSION")));
    server.stop().await;
    let (_, body) = get(&admin, &cookie, "/keys").await;
    assert!(body.contains("Control plane unreachable"));
}

/// Browsers ask for `/favicon.ico` on every first page load, the login page included: it is
/// served without a session (never a 404 or a redirect to the login), as an SVG said so.
#[tokio::test]
async fn the_favicon_is_served_without_a_session() {
    let app = spawn_app().await;
    let client = http();
    for cookie in [None, Some(login(&app.admin).await)] {
        let mut req = client.get(app.admin.url("/favicon.ico"));
        if let Some(c) = &cookie {
            req = req.header("cookie", c.as_str());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "with a session: {}", cookie.is_some());
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
        let body = resp.text().await.unwrap();
        assert!(
            body.starts_with("<svg") && body.trim_end().ends_with("</svg>"),
            "{body}"
        );
    }
    // Nothing else became public with it.
    let resp = client
        .get(app.admin.url("/favicon.ico/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}
