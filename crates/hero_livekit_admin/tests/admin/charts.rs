//! The charts over plain HTTP (issue 15): pages carry a hidden charts section and keep their
//! tables (the no-JavaScript fallback), the vendored uPlot is served with its licence under
//! the CSP's 'self', and /api/stats/* passes lk-backend's series through behind the session.

use crate::browser::stack;
use crate::helpers::{get, http, login};

#[tokio::test]
async fn pages_carry_hidden_charts_beside_their_tables_and_the_series_come_through() {
    let stack = stack().await;
    let admin = &stack.admin;
    let cookie = login(admin).await;
    stack.sfu.join("design", "alice", "Alice", &[]);

    let (status, events) = get(admin, &cookie, "/events").await;
    assert_eq!(status, 200);
    assert!(events.contains("data-charts hidden"), "{events}");
    for series in [
        "participants",
        "participant_minutes",
        "session_durations",
        "webhooks",
    ] {
        assert!(
            events.contains(&format!("data-chart=\"{series}\"")),
            "{series}"
        );
    }
    assert!(events.contains("<script src=\"/assets/uplot/uPlot.iife.min.js\" defer>"));
    assert!(events.contains("id=\"h-sessions\""), "the tables stay");
    let (_, room) = get(admin, &cookie, "/rooms/design").await;
    assert!(
        room.contains("data-chart=\"participants\" data-room=\"design\""),
        "{room}"
    );
    assert!(!room.contains("data-chart=\"webhooks\""));

    // The files, with the policy that lets them run and nothing else.
    let resp = http()
        .get(admin.url("/assets/uplot/uPlot.iife.min.js"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(resp.text().await.unwrap().contains("uPlot"));
    let (status, licence) = get(admin, &cookie, "/assets/uplot/LICENSE").await;
    assert_eq!(status, 200);
    assert!(licence.contains("MIT License") && licence.contains("Leon Sorokin"));
    let (status, _) = get(admin, &cookie, "/assets/nope.js").await;
    assert_eq!(status, 404);
    let anonymous = http()
        .get(admin.url("/assets/charts.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // The series, through the admin: alice's join (the SFU's webhook) is counted.
    let now = hero_livekit_api::timefmt::now_unix();
    let path = format!(
        "/api/stats/participants?from={}&to={}&room=design",
        now - 3600,
        now + 60
    );
    let mut last = 0;
    for _ in 0..100 {
        let (status, body) = get(admin, &cookie, &path).await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        last = v["participants"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_i64()
            .unwrap();
        if last == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last, 1);
    let (status, body) = get(admin, &cookie, "/api/stats/webhooks?step=0").await;
    assert_eq!(status, 502, "lk-backend's refusal is passed on: {body}");
    assert!(body.contains("step"), "{body}");
    let (status, _) = get(admin, &cookie, "/api/stats/secrets").await;
    assert_eq!(status, 404);
    stack.stop().await;
}
