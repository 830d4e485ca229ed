//! `GET /api/events`, `GET /api/events/stream` and `GET /api/sessions` (Bearer
//! BACKEND_API_TOKEN).

use std::convert::Infallible;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use hero_livekit_api::timefmt::{parse_rfc3339, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::authorize;
use crate::error::{Error, Result};
use crate::sessions;
use crate::state::AppState;
use crate::store::EventFilter;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
/// Events read to build one page of sessions, by default and at most.
const SESSION_EVENTS: i64 = 1000;
const MAX_SESSION_EVENTS: i64 = 10_000;

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    room: Option<String>,
    event: Option<String>,
    since: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

#[derive(Serialize)]
struct EventItem {
    id: String,
    event: String,
    room: Option<String>,
    room_sid: Option<String>,
    participant: Option<String>,
    created_at: String,
    received_at: String,
    signing_key: String,
    /// The body as LiveKit sent it, with stream keys and passwords redacted.
    payload: Box<RawValue>,
}

pub(super) fn privileged(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let settings = state.settings.load();
    authorize(headers, &[&settings.env.backend_api_token])
}

pub(super) fn query<T: Default>(q: std::result::Result<Query<T>, QueryRejection>) -> Result<T> {
    q.map(|Query(q)| q).map_err(|e| Error::BadRequest {
        message: format!("invalid query: {e}"),
        field: None,
    })
}

fn since(s: Option<&str>) -> Result<Option<i64>> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            parse_rfc3339(s).ok_or_else(|| {
                Error::bad_request(
                    "since",
                    "since must be an RFC 3339 time, e.g. 2026-11-26T13:00:00Z",
                )
            })
        })
        .transpose()
}

fn limit(s: Option<&str>, default: i64, max: i64) -> Result<i64> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| {
                Error::bad_request("limit", format!("limit must be between 1 and {max}"))
            }),
    }
}

/// The keyset cursor: the `next` of the previous page (a `seq`).
fn before(s: Option<&str>) -> Result<Option<i64>> {
    s.filter(|s| !s.is_empty())
        .map(|b| {
            b.parse::<i64>().map_err(|_| {
                Error::bad_request(
                    "before",
                    "before must be the `next` value of a previous page",
                )
            })
        })
        .transpose()
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    privileged(&state, &headers)?;
    let q = query(q)?;
    let limit = limit(q.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let before = before(q.before.as_deref())?;
    let events = q
        .event
        .as_deref()
        .map(|e| {
            e.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let filter = EventFilter {
        room: nonempty(q.room),
        events,
        since: since(q.since.as_deref())?,
        before,
        // One more than asked tells whether there is a next page.
        limit: limit + 1,
    };
    let mut rows = state.store.list_events(&filter).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    let items: Vec<EventItem> = rows
        .into_iter()
        .map(|r| {
            // Stored bodies passed JSON parsing before they were stored.
            let payload = crate::webhook::redacted_body(&r.body)
                .or_else(|| String::from_utf8(r.body).ok())
                .and_then(|s| RawValue::from_string(s).ok())
                .unwrap_or_else(|| RawValue::from_string("null".into()).expect("valid JSON"));
            EventItem {
                id: r.event_id,
                event: r.event,
                room: r.room_name,
                room_sid: r.room_sid,
                participant: r.participant_identity,
                created_at: rfc3339(r.created_at),
                received_at: rfc3339(r.received_at),
                signing_key: r.signing_key,
                payload,
            }
        })
        .collect();
    Ok(Json(json!({ "events": items, "next": next })))
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionsQuery {
    room: Option<String>,
    since: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

/// Sessions derived from one page of the newest room and participant events (`limit` of them,
/// default 1000); `next` pages further back (`before=`). Keyset pages keep the cost of a page
/// independent of how many events the room has; a session cut by a page edge shows with what
/// its page holds (the join time from the leave's body, or no end yet).
pub async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<SessionsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    privileged(&state, &headers)?;
    let q = query(q)?;
    let limit = limit(q.limit.as_deref(), SESSION_EVENTS, MAX_SESSION_EVENTS)?;
    let filter = EventFilter {
        room: nonempty(q.room),
        events: [
            "room_started",
            "room_finished",
            "participant_joined",
            "participant_left",
            "participant_connection_aborted",
        ]
        .map(String::from)
        .to_vec(),
        since: since(q.since.as_deref())?,
        before: before(q.before.as_deref())?,
        limit: limit + 1,
    };
    let mut rows = state.store.list_events(&filter).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    // The derivation reads oldest first, by the time LiveKit gives, then arrival.
    rows.reverse();
    rows.sort_by_key(|r| (r.created_at, r.seq));
    Ok(Json(
        json!({ "rooms": sessions::derive(&rows), "next": next }),
    ))
}

/// `GET /api/events/stream`: Server-Sent Events, one `webhook` event per newly stored webhook
/// (JSON: id, event, room, participant, created_at), so a UI can refresh when something
/// happens instead of polling. A reader that falls behind gets a `lagged` event (with how many
/// it missed) and should re-read `/api/events`. Ends when the service stops.
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    privileged(&state, &headers)?;
    let rx = state.live.subscribe();
    let mut stopping = state.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let item = match rx.recv().await {
            Ok(e) => SseEvent::default()
                .event("webhook")
                .data(serde_json::to_string(&e).unwrap_or_default()),
            Err(RecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(json!({ "missed": n }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(item), rx))
    });
    // Opening comment: the headers and a first byte go out at once, so a client knows it is
    // subscribed before any event arrives.
    let hello = futures_util::stream::once(async { Ok(SseEvent::default().comment("subscribed")) });
    Ok(
        Sse::new(hello.chain(events).take_until(Box::pin(stopped)))
            .keep_alive(KeepAlive::default()),
    )
}
