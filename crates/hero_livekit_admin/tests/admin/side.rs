//! The Ingress and Telephony pages and a room's agent dispatches over plain HTTP (the no-JS
//! fallback), against the control plane with `[redis]` and the stand-in serving LiveKit's
//! Ingress, SIP and AgentDispatchService on a private Redis: an RTMP ingress is created (its
//! stream key shown once, in the create answer only) and deleted, a trunk and a rule are created,
//! a number is dialled into a room, an agent is dispatched; no password, PIN or stream key on
//! any other page or in the audit log.

use hero_livekit_api::methods::{AuditListM, RoomCreate};
use hero_livekit_api::types::{AuditListParams, RoomCreateParams};
use hero_livekit_testkit::Redis;
use livekit_standin::Options;

use crate::browser::stack_with;
use crate::helpers::{Admin, csrf_of, get, http, login};

const PASSWORD: &str = "trunk-pw-3e8a1c5f";
const PIN: &str = "5550123987";

/// POSTs a form with a CSRF token from `page`; returns (status, location or body).
async fn post(
    admin: &Admin,
    cookie: &str,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let (_, html) = get(admin, cookie, page).await;
    let csrf = csrf_of(&html);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("_csrf", &csrf));
    let resp = http()
        .post(admin.url(path))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    if status == 303 {
        (
            status,
            resp.headers()["location"].to_str().unwrap().to_string(),
        )
    } else {
        (status, resp.text().await.unwrap())
    }
}

/// The value of the readonly input with this id.
fn input_value(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}:\n{html}"));
    let rest = &html[start..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..][..rest[v..].find('"').unwrap()].to_string()
}

/// The id after `marker` in a page ("Trunk ST_… created").
fn id_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no “{marker}”:\n{html}"))
        + marker.len();
    html[start..]
        .split([' ', '<', '.'])
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_telephony_and_agents_from_their_pages() {
    let redis = Redis::start();
    let stack = stack_with(Some(&redis), Options::default()).await;
    let admin = &stack.admin;
    let cookie = login(admin).await;
    stack
        .server
        .client()
        .await
        .call::<RoomCreate>(&RoomCreateParams {
            name: "stage".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Ingress: the navigation has it; nothing yet.
    let (status, html) = get(admin, &cookie, "/ingress").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<a href="/ingress""#), "{html}");
    assert!(html.contains("No ingress"), "{html}");
    assert!(html.contains(r#"<form id="create" method="post" action="/ingress">"#));

    // Create: the answer itself shows the stream key, with Copy.
    let (status, created) = post(
        admin,
        &cookie,
        "/ingress",
        "/ingress",
        &[
            ("input", "rtmp"),
            ("room", "stage"),
            ("identity", "obs"),
            ("name", "OBS"),
            ("transcoding", "default"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let key = input_value(&created, "ingress-key");
    assert!(key.len() >= 8, "{created}");
    assert!(created.contains(r#"data-copy="ingress-key""#), "{created}");
    let id = id_after(&created, "Ingress <code>");
    // The list has it, live; the key is not shown again.
    let (_, html) = get(admin, &cookie, "/ingress").await;
    assert!(
        html.contains(&format!("<tr id=\"in:{id}\" data-status=\"inactive\"")),
        "{html}"
    );
    stack.sfu.ingress_publish(&id).unwrap();
    let (_, html) = get(admin, &cookie, "/ingress").await;
    assert!(
        html.contains(&format!("<tr id=\"in:{id}\" data-status=\"publishing\"")),
        "{html}"
    );
    assert!(!html.contains(&key), "the key is shown once");
    // A refused create says why, beside the form, and keeps what was typed.
    let (status, html) = post(
        admin,
        &cookie,
        "/ingress",
        "/ingress",
        &[
            ("input", "url"),
            ("url", "ftp://cams.example/x"),
            ("room", "stage"),
            ("identity", "cam"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("url:"), "{html}");
    assert!(html.contains(r#"value="ftp://cams.example/x""#), "{html}");
    let (status, to) = post(
        admin,
        &cookie,
        "/ingress",
        &format!("/ingress/{id}/delete"),
        &[],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/ingress"));
    let (_, html) = get(admin, &cookie, "/ingress").await;
    assert!(html.contains(&format!("Ingress {id} deleted.")), "{html}");

    // Telephony: an outbound trunk, an inbound one, a rule, a call out.
    let (status, html) = get(admin, &cookie, "/telephony").await;
    assert_eq!(status, 200);
    assert!(html.contains("No trunk"), "{html}");
    let (status, to) = post(
        admin,
        &cookie,
        "/telephony",
        "/telephony/trunks",
        &[
            ("direction", "outbound"),
            ("name", "provider"),
            ("numbers", "+15105550100"),
            ("address", "sip.provider.example"),
            ("username", "acct"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/telephony"));
    let (_, html) = get(admin, &cookie, "/telephony").await;
    let outbound = id_after(&html, "Trunk ");
    assert!(html.contains("acct (password set)"), "{html}");
    let (_, _) = post(
        admin,
        &cookie,
        "/telephony",
        "/telephony/trunks",
        &[
            ("direction", "inbound"),
            ("name", "office"),
            ("numbers", "+15105550100"),
            ("address", "203.0.113.0/24"),
        ],
    )
    .await;
    let (_, to) = post(
        admin,
        &cookie,
        "/telephony",
        "/telephony/rules",
        &[("kind", "direct"), ("room", "stage"), ("pin", PIN)],
    )
    .await;
    assert_eq!(to, "/telephony");
    let (_, html) = get(admin, &cookie, "/telephony").await;
    let rule = id_after(&html, "Dispatch rule ");
    assert!(html.contains(&format!("<tr id=\"rule:{rule}\"")), "{html}");
    assert!(
        html.contains(&format!("<option value=\"{outbound}\">")),
        "{html}"
    );
    // A callee rule without a prefix is refused beside its form.
    post(
        admin,
        &cookie,
        "/telephony",
        "/telephony/rules",
        &[("kind", "callee")],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/telephony").await;
    assert!(html.contains("room_prefix"), "{html}");
    post(
        admin,
        &cookie,
        "/telephony",
        "/telephony/call",
        &[
            ("room", "stage"),
            ("number", "+15105550111"),
            ("trunk_id", &outbound),
        ],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/telephony").await;
    assert!(
        html.contains("Calling +15105550111: joins room stage"),
        "{html}"
    );
    let telephony = html;
    let (_, to) = post(
        admin,
        &cookie,
        "/telephony",
        &format!("/telephony/trunks/outbound/{outbound}/delete"),
        &[],
    )
    .await;
    assert_eq!(to, "/telephony");
    let (_, html) = get(admin, &cookie, "/telephony").await;
    assert!(
        html.contains(&format!("Trunk {outbound} deleted.")),
        "{html}"
    );
    post(
        admin,
        &cookie,
        "/telephony",
        &format!("/telephony/rules/{rule}/delete"),
        &[],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/telephony").await;
    assert!(
        html.contains(&format!("Dispatch rule {rule} deleted.")),
        "{html}"
    );

    // A room's page: the phone participant, and an agent dispatched and deleted.
    let (_, html) = get(admin, &cookie, "/rooms/stage").await;
    assert!(
        html.contains(
            r#"<strong>sip_+15105550111</strong> <span class="badge ">phone call</span>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"<form id="agent" method="post" action="/rooms/stage/agents">"#));
    let (_, to) = post(
        admin,
        &cookie,
        "/rooms/stage",
        "/rooms/stage/agents",
        &[("agent_name", "receptionist"), ("metadata", "{}")],
    )
    .await;
    assert_eq!(to, "/rooms/stage");
    let (_, html) = get(admin, &cookie, "/rooms/stage").await;
    let dispatch = id_after(&html, "Agent receptionist dispatched (");
    let dispatch = dispatch.trim_end_matches(')').to_string();
    assert!(
        html.contains(&format!("<tr id=\"ad:{dispatch}\"")),
        "{html}"
    );
    post(
        admin,
        &cookie,
        "/rooms/stage",
        &format!("/rooms/stage/agents/{dispatch}/delete"),
        &[],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/stage").await;
    assert!(
        html.contains(&format!("Agent dispatch {dispatch} deleted.")),
        "{html}"
    );

    // No password, PIN or stream key on the pages or in the audit log.
    let audit = stack
        .server
        .client()
        .await
        .call::<AuditListM>(&AuditListParams::default())
        .await
        .unwrap();
    let audit = serde_json::to_string(&audit).unwrap();
    assert!(audit.contains("sip.outbound_trunk.create") && audit.contains("agent.dispatch.create"));
    let (_, audit_page) = get(admin, &cookie, "/audit").await;
    for seen in [&telephony, &audit, &audit_page] {
        for secret in [PASSWORD, PIN, key.as_str()] {
            assert!(!seen.contains(secret), "{secret} in:\n{seen}");
        }
    }
    stack.stop().await;
}
