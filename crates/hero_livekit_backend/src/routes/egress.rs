//! `GET /api/egress` and `GET /api/egress/{id}` (Bearer BACKEND_API_TOKEN): the recordings
//! catalogue (design §6.4), newest first with keyset pagination.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use hero_livekit_api::timefmt::parse_rfc3339;
use hero_livekit_api::types::{EgressInfo, EgressStatus, RecordingList};
use serde::Deserialize;

use super::authorize;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{RecordingFilter, RecordingRow};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

#[derive(Debug, Default, Deserialize)]
pub struct RecordingsQuery {
    room: Option<String>,
    status: Option<String>,
    since: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

fn privileged(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let settings = state.settings.load();
    authorize(headers, &[&settings.env.backend_api_token])
}

fn info(row: RecordingRow) -> Result<EgressInfo> {
    serde_json::from_str(&row.info)
        .map_err(|e| Error::Internal(format!("recording {}: {e}", row.egress_id)))
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<RecordingsQuery>, QueryRejection>,
) -> Result<Json<RecordingList>> {
    privileged(&state, &headers)?;
    let q = q.map(|Query(q)| q).map_err(|e| Error::BadRequest {
        message: format!("invalid query: {e}"),
        field: None,
    })?;
    let status = match nonempty(q.status) {
        None => None,
        Some(s) => Some(
            EgressStatus::parse(&s)
                .ok_or_else(|| {
                    Error::bad_request(
                        "status",
                        "status must be starting, active, ending, complete, failed, aborted or \
                         limit_reached",
                    )
                })?
                .as_str()
                .to_string(),
        ),
    };
    let since = match nonempty(q.since) {
        None => None,
        Some(s) => Some(parse_rfc3339(&s).ok_or_else(|| {
            Error::bad_request(
                "since",
                "since must be an RFC 3339 time, e.g. 2026-11-26T13:00:00Z",
            )
        })?),
    };
    let limit = match nonempty(q.limit) {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Error::bad_request("limit", format!("limit must be between 1 and {MAX_LIMIT}"))
            })?,
    };
    let before = match nonempty(q.before) {
        None => None,
        Some(b) => Some(b.parse::<i64>().map_err(|_| {
            Error::bad_request(
                "before",
                "before must be the `next` value of a previous page",
            )
        })?),
    };
    let mut rows = state
        .store
        .recordings(&RecordingFilter {
            room: nonempty(q.room),
            status,
            since,
            before,
            // One more than asked tells whether there is a next page.
            limit: limit + 1,
        })
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    let egress = rows.into_iter().map(info).collect::<Result<Vec<_>>>()?;
    Ok(Json(RecordingList { egress, next }))
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<EgressInfo>> {
    privileged(&state, &headers)?;
    match state.store.recording(&id).await? {
        Some(row) => Ok(Json(info(row)?)),
        None => Err(Error::NotFound),
    }
}
