//! `/events`: webhook events and sessions from lk-backend. Where the backend is and its bearer
//! come from `backend.info` on every request, so a rotated bearer is picked up at once and the
//! admin stores no secret.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use hero_livekit_api::methods::BackendInfoM;
use hero_livekit_api::types::NoParams;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::html::{self, Nav, badge, error_box, opt_time};

/// lk-backend's `/ready` answer.
pub struct BackendReady {
    pub url: String,
    pub ready: bool,
    pub body: Value,
}

async fn get(state: &AppState, url: &str, bearer: Option<&str>) -> Result<(u16, Value)> {
    let mut req = state.http.get(url);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| Error::Backend(format!("{url}: {}", without_url(&e))))?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// reqwest's error text without the URL (which we print ourselves).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // The innermost cause says what happened (e.g. "Connection refused (os error 111)").
    let mut cause = None;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        cause = Some(s.to_string());
        src = s.source();
    }
    match cause {
        Some(c) => format!("{kind}: {c}"),
        None => kind.to_string(),
    }
}

pub async fn backend_ready(state: &AppState) -> Result<BackendReady> {
    let info = state.rpc.call::<BackendInfoM>(&NoParams {}).await?;
    let url = info.url.trim_end_matches('/').to_string();
    let (status, body) = get(state, &format!("{url}/ready"), None).await?;
    Ok(BackendReady {
        url,
        ready: status == 200,
        body,
    })
}

/// GET `path` (with its query) on the backend's privileged API.
pub async fn backend_api(state: &AppState, path: &str, query: &[(&str, &str)]) -> Result<Value> {
    let info = state.rpc.call::<BackendInfoM>(&NoParams {}).await?;
    let mut url = url::Url::parse(info.url.trim_end_matches('/'))
        .and_then(|u| u.join(path))
        .map_err(|e| Error::Backend(format!("bad backend URL {}: {e}", info.url)))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in query.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let (status, body) = get(state, url.as_str(), Some(&info.api_token)).await?;
    if status != 200 {
        let msg = body["error"]
            .as_str()
            .or(body["message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| body.to_string());
        return Err(Error::Backend(format!("{path} answered {status}: {msg}")));
    }
    Ok(body)
}

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    room: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    before: String,
}

const EVENT_TYPES: &[&str] = &[
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "track_published",
    "track_unpublished",
    "egress_started",
    "egress_updated",
    "egress_ended",
    "ingress_started",
    "ingress_ended",
    // Sent by LiveKit's agent service; the open-source livekit-server does not (side-services
    // facts §5), but any that arrive are kept like every other event.
    "agent_job_started",
    "agent_job_ended",
];

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<EventsQuery>,
) -> Response {
    let events_q = [
        ("room", q.room.as_str()),
        ("event", &q.event),
        ("since", &q.since),
        ("before", &q.before),
        ("limit", "50"),
    ];
    let sessions_q = [("room", q.room.as_str()), ("since", &q.since)];
    let (events, sessions) = tokio::join!(
        backend_api(&state, "/api/events", &events_q),
        backend_api(&state, "/api/sessions", &sessions_q),
    );
    let body = html! {
        h1 { "Events & sessions" }
        p.sub { "Webhooks LiveKit delivered to lk-backend, verified and stored." }
        form.card method="get" action="/events" aria-label="Filter" {
            div.row {
                div { label for="f-room" { "Room" } input #f-room name="room" value=(q.room) placeholder="any"; }
                div {
                    label for="f-event" { "Event" }
                    select #f-event name="event" {
                        option value="" { "any" }
                        @for t in EVENT_TYPES { option value=(t) selected[q.event == *t] { (t) } }
                    }
                }
                div { label for="f-since" { "Since " span.hint { "RFC 3339" } } input #f-since name="since" value=(q.since) placeholder="2026-11-26T13:00:00Z"; }
                div.shrink { button type="submit" { "Filter" } " " a.button.secondary href="/events" { "Reset" } }
            }
        }
        (html::charts(None))
        div #events data-live="10" {
            section.card aria-labelledby="h-events" {
                h2 #h-events { "Events" }
                (events_view(&events, &q))
            }
            section.card aria-labelledby="h-sessions" {
                h2 #h-sessions { "Sessions" }
                (sessions_view(&sessions))
            }
        }
    };
    html::ok(html::page(&session, Nav::Events, "Events", body))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn events_view(events: &Result<Value>, q: &EventsQuery) -> Markup {
    let v = match events {
        Ok(v) => v,
        Err(e) => return error_box("events", e),
    };
    let list = v["events"].as_array().cloned().unwrap_or_default();
    html! {
        @if list.is_empty() {
            (html::empty("No events", html! {
                "LiveKit posts webhooks to lk-backend when rooms start, people join or tracks are published. "
                "Join a room (mint a token on " a href="/tokens" { "Tokens" } ") and events appear here."
            }))
        } @else {
            table {
                thead { tr { th { "Time" } th { "Event" } th { "Room" } th { "Participant" } th { "Signed by" } th { "Payload" } } }
                tbody {
                    @for e in &list {
                        tr {
                            td { (opt_time(e["created_at"].as_str())) }
                            td { (badge("info", s(&e["event"]))) }
                            td { @if let Some(r) = e["room"].as_str() { a href={ "/rooms/" (super::seg(r)) } { (r) } } }
                            td { (s(&e["participant"])) }
                            td { code { (s(&e["signing_key"])) } }
                            td { details { summary { "JSON" } pre { (serde_json::to_string_pretty(&e["payload"]).unwrap_or_default()) } } }
                        }
                    }
                }
            }
            @if let Some(next) = v["next"].as_str() {
                p { a href={ "/events?room=" (super::seg(&q.room)) "&event=" (super::seg(&q.event)) "&since=" (super::seg(&q.since)) "&before=" (super::seg(next)) } { "Older events →" } }
            }
        }
    }
}

fn sessions_view(sessions: &Result<Value>) -> Markup {
    let v = match sessions {
        Ok(v) => v,
        Err(e) => return error_box("sessions", e),
    };
    let rooms = v["rooms"].as_array().cloned().unwrap_or_default();
    html! {
        @if rooms.is_empty() {
            (html::empty("No sessions", html! { "Sessions are built from room and participant webhooks; none were received yet." }))
        } @else {
            @for r in rooms.iter().rev() {
                h3 {
                    (s(&r["name"])) " "
                    @if r["ended_at"].is_null() { (badge("ok", "live")) } @else { (badge("", "ended")) }
                }
                p.muted { "Started " (opt_time(r["started_at"].as_str())) " · ended " (opt_time(r["ended_at"].as_str())) }
                table {
                    thead { tr { th { "Identity" } th { "Joined" } th { "Left" } th.num { "Duration" } th { "End" } } }
                    tbody {
                        @for p in r["participants"].as_array().cloned().unwrap_or_default() {
                            tr {
                                td {
                                    (s(&p["identity"]))
                                    // A phone call, an ingress or an agent says so (design §11.2).
                                    @if let Some(kind) = p["kind"].as_str().filter(|k| *k != "participant") {
                                        " " (badge("", kind))
                                    }
                                }
                                td { (opt_time(p["joined_at"].as_str())) }
                                td { (opt_time(p["left_at"].as_str())) }
                                td.num { @if let Some(d) = p["duration_s"].as_i64() { (d) " s" } }
                                td { @if let Some(reason) = p["end_reason"].as_str() { (reason) } @else { (badge("ok", "in room")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
