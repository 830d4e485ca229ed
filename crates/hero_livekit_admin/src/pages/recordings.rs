//! `/recordings`: lk-backend's recordings catalogue (`GET /api/egress`), which keeps every egress
//! LiveKit reported by webhook long after LiveKit forgets it (24 h after it ends). Status, room,
//! start, duration, size, where the output went and why it failed, newest first; refreshed as
//! egress webhooks arrive through `/live`.
//!
//! Locations are shown through the one redaction rule: a stream URL never shows its key, and a
//! presigned or credentialed URL never its secret.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use hero_livekit_api::redact;
use hero_livekit_api::timefmt::parse_rfc3339;
use hero_livekit_api::types::{ALL_STATUSES, EgressInfo, EgressStatus, RecordingList};
use maud::{Markup, html};
use serde::Deserialize;

use super::events::backend_api;
use super::seg;
use crate::AppState;
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::html::{self, Nav, badge, bytes_text, duration_text, error_box, opt_time};

/// The badge class of a status: running blue, done green, failed red, cut short amber.
fn status_class(s: EgressStatus) -> &'static str {
    match s {
        EgressStatus::Starting | EgressStatus::Ending => "info",
        EgressStatus::Active | EgressStatus::Complete => "ok",
        EgressStatus::Failed | EgressStatus::Aborted => "bad",
        EgressStatus::LimitReached => "warn",
    }
}

/// Whether the egress only streams (nothing is written to storage).
fn streams_only(e: &EgressInfo) -> bool {
    !e.streams.is_empty() && e.files.is_empty() && e.segments.is_empty() && e.images.is_empty()
}

/// The status badge, in the words of [`EgressStatus::describe`] ("streaming" for a live
/// stream, which records nothing).
pub fn status_badge(e: &EgressInfo) -> Markup {
    let text = if e.status == EgressStatus::Active && streams_only(e) {
        "streaming"
    } else {
        e.status.describe()
    };
    badge(status_class(e.status), text)
}

/// Where the output went: each file, playlist, stream URL (key redacted) and image prefix.
pub fn locations(e: &EgressInfo) -> Markup {
    let places = e.locations();
    html! {
        @if places.is_empty() {
            span.muted { @if e.status.is_running() { "not written yet" } @else { "—" } }
        } @else {
            ul.plain {
                @for l in &places { li { code.loc { (redact::url(l)) } } }
            }
        }
        @if e.backup_storage_used {
            p.hint { "Uploaded to the backup storage: the configured upload failed." }
        }
    }
}

/// Why it failed, in plain words with LiveKit's own text; failed streams name their URL.
fn problems(e: &EgressInfo) -> Markup {
    let streams: Vec<String> = e
        .streams
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|err| format!("stream {}: {err}", redact::url(&s.url)))
        })
        .collect();
    html! {
        @if let Some(p) = e.problem() { p.error-text { (p) } }
        @for s in &streams { p.error-text { (s) } }
        @if let Some(d) = &e.details { p.hint { (d) } }
    }
}

pub fn duration(e: &EgressInfo) -> Markup {
    match e.duration_s {
        Some(d) => html! { (duration_text(d)) },
        None => html! { span.muted { "—" } },
    }
}

fn size(e: &EgressInfo) -> Markup {
    let written = e.total_size();
    if written == 0 && (e.status.is_running() || streams_only(e)) {
        html! { span.muted { "—" } }
    } else {
        html! { (bytes_text(written)) }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RecordingsQuery {
    #[serde(default)]
    room: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    before: String,
}

/// What the filter asks lk-backend, or why it cannot ask (checked here so a typo reads as a
/// typo, not as "backend unreachable").
fn filter_error(q: &RecordingsQuery) -> Option<String> {
    let since = q.since.trim();
    if !since.is_empty() && parse_rfc3339(since).is_none() {
        return Some(format!(
            "Since: “{since}” is not an RFC 3339 time (e.g. 2026-11-26T13:00:00Z)"
        ));
    }
    if !q.status.is_empty() && EgressStatus::parse(&q.status).is_none() {
        return Some(format!("Status: “{}” is not a status", q.status));
    }
    None
}

async fn load(state: &AppState, q: &RecordingsQuery) -> Result<RecordingList> {
    let query = [
        ("room", q.room.trim()),
        ("status", q.status.as_str()),
        ("since", q.since.trim()),
        ("before", q.before.as_str()),
        ("limit", "50"),
    ];
    let v = backend_api(state, "/api/egress", &query).await?;
    serde_json::from_value(v)
        .map_err(|e| Error::Backend(format!("/api/egress answered something unexpected: {e}")))
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<RecordingsQuery>,
) -> Response {
    let bad_filter = filter_error(&q);
    let list = match &bad_filter {
        Some(_) => None,
        None => Some(load(&state, &q).await),
    };
    let body = html! {
        h1 { "Recordings" }
        p.sub {
            "Every recording and stream LiveKit reported to lk-backend, kept after LiveKit forgets it (24 h after it ends). "
            "Start one from a room's page on " a href="/rooms" { "Rooms" } "."
        }
        form.card method="get" action="/recordings" aria-label="Filter" {
            div.row {
                div { label for="f-room" { "Room" } input #f-room name="room" value=(q.room) placeholder="any"; }
                div {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        option value="" { "any" }
                        @for s in ALL_STATUSES { option value=(s.as_str()) selected[q.status == s.as_str()] { (s.describe()) } }
                    }
                }
                div { label for="f-since" { "Since " span.hint { "RFC 3339" } } input #f-since name="since" value=(q.since) placeholder="2026-11-26T13:00:00Z"; }
                div.shrink { button type="submit" { "Filter" } " " a.button.secondary href="/recordings" { "Reset" } }
            }
            @if let Some(e) = &bad_filter { (html::form_error(e)) }
        }
        section.card #recordings data-live="10" aria-labelledby="h-recordings" {
            h2 #h-recordings { "Recordings and streams" }
            @match &list {
                None => {},
                Some(Err(e)) => (error_box("the recordings", e)),
                Some(Ok(l)) => (table(l, &q)),
            }
            p.live { "Refreshes every 10 s" }
        }
    };
    html::ok(html::page(&session, Nav::Recordings, "Recordings", body))
}

fn table(l: &RecordingList, q: &RecordingsQuery) -> Markup {
    html! {
        @if l.egress.is_empty() {
            (html::empty("No recordings", html! {
                "Open a room on " a href="/rooms" { "Rooms" } " and use " strong { "Record / Stream" }
                "; the recording appears here as soon as LiveKit reports it."
            }))
        } @else {
            table {
                thead { tr {
                    th { "Status" } th { "Room" } th { "Started" } th.num { "Duration" }
                    th.num { "Size" } th { "Where it went" } th { "Error / end reason" }
                } }
                tbody {
                    @for e in &l.egress {
                        tr id={ "rec:" (e.egress_id) } data-status=(e.status.as_str()) {
                            td {
                                (status_badge(e))
                                br; code.hint { (e.egress_id) }
                                br; span.hint { (e.kind.as_str().replace('_', " ")) }
                            }
                            td.nowrap {
                                @if e.room_name.is_empty() { span.muted { "web page" } }
                                @else { a href={ "/rooms/" (seg(&e.room_name)) } { (e.room_name) } }
                            }
                            td { (opt_time(e.started_at.as_deref())) }
                            td.num.nowrap { (duration(e)) }
                            td.num.nowrap { (size(e)) }
                            td { (locations(e)) }
                            td { (problems(e)) }
                        }
                    }
                }
            }
            @if let Some(next) = &l.next {
                p { a href={ "/recordings?room=" (seg(&q.room)) "&status=" (seg(&q.status)) "&since=" (seg(&q.since)) "&before=" (seg(next)) } { "Older recordings →" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_livekit_api::types::{EgressKind, FileResult, StreamResult};

    fn info(status: EgressStatus) -> EgressInfo {
        EgressInfo {
            egress_id: "EG_1".into(),
            room_name: "standup".into(),
            room_id: "RM_1".into(),
            kind: EgressKind::RoomComposite,
            status,
            started_at: None,
            ended_at: None,
            updated_at: None,
            duration_s: None,
            error: None,
            error_code: None,
            details: None,
            backup_storage_used: false,
            manifest_location: None,
            files: vec![],
            streams: vec![],
            segments: vec![],
            images: vec![],
        }
    }

    #[test]
    fn a_stream_reads_as_streaming_and_never_shows_its_key() {
        let mut e = info(EgressStatus::Active);
        e.streams.push(StreamResult {
            // As a catalogue written before redaction would hold it.
            url: "rtmp://a.rtmp.youtube.com/live2/yt-key-secret".into(),
            status: "failed".into(),
            error: Some("connection refused".into()),
            started_at: None,
            ended_at: None,
            duration_s: None,
        });
        assert!(status_badge(&e).into_string().contains(">streaming<"));
        let shown = locations(&e).into_string() + &problems(&e).into_string();
        assert!(!shown.contains("yt-key-secret"), "{shown}");
        assert!(shown.contains("live2/&lt;redacted&gt;"), "{shown}");
        assert!(size(&e).into_string().contains("—"));
    }

    #[test]
    fn a_failed_file_recording_says_why_and_what_was_written() {
        let mut e = info(EgressStatus::Failed);
        e.error = Some("open /out/x.mp4: permission denied".into());
        e.error_code = Some(500);
        e.files.push(FileResult {
            filename: "x.mp4".into(),
            location: "/out/x.mp4".into(),
            size: 0,
            duration_s: None,
            started_at: None,
            ended_at: None,
        });
        assert!(
            status_badge(&e)
                .into_string()
                .contains(r#"<span class="badge bad">failed</span>"#)
        );
        let p = problems(&e).into_string();
        assert!(p.contains("not writable by the user egress runs as"), "{p}");
        assert_eq!(size(&e).into_string(), "0 B");
    }

    #[test]
    fn a_typo_in_the_filter_is_named() {
        let q = RecordingsQuery {
            since: "yesterday".into(),
            ..Default::default()
        };
        assert!(filter_error(&q).unwrap().starts_with("Since: “yesterday”"));
        let q = RecordingsQuery {
            status: "done".into(),
            ..Default::default()
        };
        assert_eq!(filter_error(&q).unwrap(), "Status: “done” is not a status");
        assert_eq!(filter_error(&RecordingsQuery::default()), None);
    }
}
