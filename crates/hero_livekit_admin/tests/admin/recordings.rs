//! Recording from a room's page and the Recordings page over plain HTTP (the no-JS fallback:
//! every table is rendered by the server), against the control plane with `[redis]` and
//! `[egress]`, lk-backend's recordings catalogue, and the stand-in SFU serving LiveKit's Egress
//! service on a private Redis.

use std::time::Duration;

use hero_livekit_api::methods::{AuditListM, RoomCreate};
use hero_livekit_api::types::{AuditListParams, RoomCreateParams};
use hero_livekit_testkit::{Redis, wait_until_async};
use livekit_standin::{Options, Source, TrackKind, TrackSpec};

use crate::browser::{Stack, stack_with};
use crate::helpers::{Admin, csrf_of, get, http, login};

const STREAM_KEY: &str = "yt-key-5c0ffee9d1";

fn egress_options() -> Options {
    Options {
        egress_start_delay: Duration::from_millis(100),
        egress_end_delay: Duration::from_millis(100),
        unwritable_prefix: Some("/readonly/".into()),
        ..Options::default()
    }
}

/// POSTs a form with the page's CSRF token; returns the redirect's target.
async fn post(admin: &Admin, cookie: &str, path: &str, fields: &[(&str, &str)]) -> String {
    let (_, page) = get(admin, cookie, "/rooms").await;
    let csrf = csrf_of(&page);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("_csrf", &csrf));
    let resp = http()
        .post(admin.url(path))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{path}: {}", resp.text().await.unwrap());
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// The `<tr>` with this id, as served.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<tr id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row {id}:\n{html}"));
    let end = start + html[start..].find("</tr>").unwrap();
    &html[start..end]
}

/// The egress id in a "Recording EG_… started" flash.
fn started_id(html: &str, what: &str) -> String {
    let marker = format!("{what} EG_");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no “{what} … started”:\n{html}"))
        + what.len()
        + 1;
    html[start..].split(' ').next().unwrap().to_string()
}

async fn wait_row_status(admin: &Admin, cookie: &str, page: &str, id: &str, status: &str) {
    wait_until_async(
        &format!("{id} {status} on {page}"),
        Duration::from_secs(15),
        || async {
            let (_, html) = get(admin, cookie, page).await;
            html.contains(&format!("<tr id=\"{id}\" data-status=\"{status}\""))
        },
    )
    .await;
}

async fn open_room(stack: &Stack) {
    let client = stack.server.client().await;
    client
        .call::<RoomCreate>(&RoomCreateParams {
            name: "standup".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    stack.sfu.join(
        "standup",
        "alice",
        "Alice",
        &[TrackSpec {
            kind: TrackKind::Audio,
            source: Source::Microphone,
            name: "mic".into(),
        }],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_recorded_and_streamed_from_its_page_and_found_on_recordings() {
    let redis = Redis::start();
    let stack = stack_with(Some(&redis), egress_options()).await;
    let admin = &stack.admin;
    let cookie = login(admin).await;
    open_room(&stack).await;

    // The room page offers the form and says nothing is running yet.
    let (status, html) = get(admin, &cookie, "/rooms/standup").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<form id="record" method="post" action="/rooms/standup/egress">"#),
        "{html}"
    );
    assert!(
        html.contains("Nothing is being recorded or streamed"),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/recordings">Recordings</a>"#));

    // Record to a file: one egress.start_room_composite, with the form's layout.
    let to = post(
        admin,
        &cookie,
        "/rooms/standup/egress",
        &[
            ("output", "file"),
            ("filepath", "standups/{room_name}"),
            ("layout", "speaker"),
        ],
    )
    .await;
    assert_eq!(to, "/rooms/standup");
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    let file_id = started_id(&html, "Recording");
    assert!(
        html.contains(&format!("Recording {file_id} started (starting).")),
        "{html}"
    );
    wait_row_status(
        admin,
        &cookie,
        "/rooms/standup",
        &format!("eg:{file_id}"),
        "active",
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    let r = row(&html, &format!("eg:{file_id}"));
    assert!(
        r.contains(r#"<span class="badge ok">recording</span>"#),
        "{r}"
    );
    assert!(r.contains("room composite"), "{r}");
    assert!(
        r.contains(&format!(r#"action="/rooms/standup/egress/{file_id}/stop""#)),
        "{r}"
    );

    // Stream to YouTube, audio only: the key goes to LiveKit and is never shown again.
    let rtmp = format!("rtmp://a.rtmp.youtube.com/live2/{STREAM_KEY}");
    post(
        admin,
        &cookie,
        "/rooms/standup/egress",
        &[
            ("output", "rtmp"),
            ("rtmp_url", &rtmp),
            ("audio_only", "on"),
        ],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    let stream_id = started_id(&html, "Stream");
    wait_row_status(
        admin,
        &cookie,
        "/rooms/standup",
        &format!("eg:{stream_id}"),
        "active",
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    let r = row(&html, &format!("eg:{stream_id}"));
    assert!(
        r.contains(r#"<span class="badge ok">streaming</span>"#),
        "{r}"
    );
    assert!(r.contains("live2/&lt;redacted&gt;"), "{r}");
    assert!(!html.contains(STREAM_KEY), "{html}");

    // Each action was exactly one call, audited with the key redacted.
    let client = stack.server.client().await;
    let audit = client
        .call::<AuditListM>(&AuditListParams {
            method: Some("egress.start_room_composite".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.entries.len(), 2, "{:?}", audit.entries);
    let params = &audit.entries[0].params;
    assert_eq!(params["audio_only"], true, "{params}");
    assert_eq!(params["room"], "standup");
    assert!(!params.to_string().contains(STREAM_KEY), "{params}");
    assert_eq!(audit.entries[1].params["layout"], "speaker");
    assert_eq!(
        audit.entries[1].params["file"]["filepath"],
        "standups/{room_name}"
    );

    // Stop both: each finishes and uploads, then leaves the room's list.
    for id in [&file_id, &stream_id] {
        post(
            admin,
            &cookie,
            &format!("/rooms/standup/egress/{id}/stop"),
            &[],
        )
        .await;
        let (_, html) = get(admin, &cookie, "/rooms/standup").await;
        assert!(
            html.contains(&format!("Stopping {id}: finishing (uploading).")),
            "{html}"
        );
    }
    wait_until_async("nothing running", Duration::from_secs(15), || async {
        let (_, html) = get(admin, &cookie, "/rooms/standup").await;
        html.contains("Nothing is being recorded or streamed")
    })
    .await;

    // A recording whose file cannot be written fails, and says why.
    post(
        admin,
        &cookie,
        "/rooms/standup/egress",
        &[("output", "file"), ("filepath", "/readonly/standup")],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    let failed_id = started_id(&html, "Recording");

    // The Recordings page, from lk-backend's catalogue: every one, with its outcome.
    for (id, status) in [
        (&file_id, "complete"),
        (&stream_id, "complete"),
        (&failed_id, "failed"),
    ] {
        wait_row_status(admin, &cookie, "/recordings", &format!("rec:{id}"), status).await;
    }
    let (status, html) = get(admin, &cookie, "/recordings").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<a href="/recordings" aria-current="page">Recordings</a>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"id="recordings" data-live="10""#),
        "a live region: {html}"
    );
    let r = row(&html, &format!("rec:{file_id}"));
    assert!(
        r.contains(r#"<span class="badge ok">complete</span>"#),
        "{r}"
    );
    assert!(r.contains(r#"<a href="/rooms/standup">standup</a>"#), "{r}");
    assert!(
        r.contains("standups/standup.mp4"),
        "where the file went: {r}"
    );
    assert!(r.contains("<time datetime="), "started: {r}");
    assert!(r.contains(" s</td>"), "a duration: {r}");
    assert!(
        r.contains("B</td>"),
        "a size in bytes (or KiB, MiB, …): {r}"
    );
    let r = row(&html, &format!("rec:{stream_id}"));
    assert!(r.contains("live2/&lt;redacted&gt;"), "{r}");
    let r = row(&html, &format!("rec:{failed_id}"));
    assert!(
        r.contains(r#"<span class="badge bad">failed</span>"#),
        "{r}"
    );
    assert!(
        r.contains("egress could not write the file: the output directory is not writable"),
        "in plain words: {r}"
    );
    assert!(r.contains("permission denied"), "with LiveKit's text: {r}");
    assert!(!html.contains(STREAM_KEY), "{html}");

    // Filters go to the catalogue; a typo is named, not sent.
    let (_, html) = get(admin, &cookie, "/recordings?status=failed").await;
    assert!(html.contains(&format!("rec:{failed_id}")), "{html}");
    assert!(!html.contains(&format!("rec:{file_id}")), "{html}");
    let (_, html) = get(admin, &cookie, "/recordings?room=elsewhere").await;
    assert!(html.contains("No recordings"), "{html}");
    let (_, html) = get(admin, &cookie, "/recordings?since=yesterday").await;
    assert!(
        html.contains("Since: “yesterday” is not an RFC 3339 time"),
        "{html}"
    );
    assert!(!html.contains("Backend unreachable"), "{html}");

    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_shown_in_the_control_planes_words() {
    let redis = Redis::start();
    let stack = stack_with(
        Some(&redis),
        Options {
            egress_worker: false,
            ..egress_options()
        },
    )
    .await;
    let admin = &stack.admin;
    let cookie = login(admin).await;
    open_room(&stack).await;

    // No egress worker on the Redis bus: the server's operator message, LiveKit's text with it.
    post(
        admin,
        &cookie,
        "/rooms/standup/egress",
        &[("output", "file"), ("filepath", "x")],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    let form = &html[html.find(r#"<form id="record""#).unwrap()..];
    assert!(
        form.contains("no egress worker with capacity is registered: start livekit-egress"),
        "beside the form: {form}"
    );
    assert!(form.contains("no response from servers"), "{form}");

    // The form's own check, before any call.
    post(
        admin,
        &cookie,
        "/rooms/standup/egress",
        &[("output", "rtmp"), ("rtmp_url", " ")],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    assert!(html.contains("RTMP URL: required to stream"), "{html}");

    // A room that is not open, and an egress LiveKit does not know.
    post(
        admin,
        &cookie,
        "/rooms/nobody/egress",
        &[("output", "file"), ("filepath", "x")],
    )
    .await;
    let (_, html) = get(admin, &cookie, "/rooms/nobody").await;
    assert!(html.contains("no such room is open on the SFU"), "{html}");
    post(admin, &cookie, "/rooms/standup/egress/EG_nope/stop", &[]).await;
    let (_, html) = get(admin, &cookie, "/rooms/standup").await;
    assert!(html.contains("no such egress"), "{html}");

    let client = stack.server.client().await;
    let audit = client
        .call::<AuditListM>(&AuditListParams {
            method: Some("egress.start_room_composite".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        audit.entries.len(),
        2,
        "the RTMP form without a URL made no call: {:?}",
        audit.entries
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_room_page_says_recording_is_unavailable() {
    let stack = stack_with(None, Options::default()).await;
    let admin = &stack.admin;
    let cookie = login(admin).await;
    open_room(&stack).await;
    let (status, html) = get(admin, &cookie, "/rooms/standup").await;
    assert_eq!(status, 200);
    let card = &html[html.find(r#"id="egress""#).expect(&html)..];
    assert!(card.contains("Recording is not available"), "{card}");
    assert!(
        card.contains("egress needs Redis in livekit.yaml"),
        "{card}"
    );
    // The Recordings page still reads the catalogue (empty here).
    let (_, html) = get(admin, &cookie, "/recordings").await;
    assert!(html.contains("No recordings"), "{html}");
    stack.stop().await;
}
