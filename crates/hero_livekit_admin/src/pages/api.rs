//! Small JSON endpoints behind the session (401 without one), for scripts and live views.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hero_livekit_api::methods::{NodeListM, ParticipantListM, RoomListM, StatusM};
use hero_livekit_api::types::{NoParams, RoomListParams, RoomParams};
use serde::Serialize;

use crate::AppState;
use crate::error::{Error, Result};

fn json<T: Serialize>(r: Result<T>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            let status = match e {
                Error::Call { code, .. } if code == hero_livekit_api::errors::NOT_FOUND => {
                    StatusCode::NOT_FOUND
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
        }
    }
}

/// The chart series lk-backend computes (`/api/stats/{series}`), passed through for charts.js:
/// the browser never learns where the backend is or its bearer.
pub async fn stats(
    State(state): State<AppState>,
    Path(series): Path<String>,
    Query(q): Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    const SERIES: [&str; 4] = [
        "participants",
        "participant_minutes",
        "session_durations",
        "webhooks",
    ];
    if !SERIES.contains(&series.as_str()) {
        return (
            StatusCode::NOT_FOUND,
            Json(
                serde_json::json!({ "error": format!("no series {series:?}; one of {SERIES:?}") }),
            ),
        )
            .into_response();
    }
    let pairs: Vec<(&str, &str)> = ["from", "to", "step", "room"]
        .into_iter()
        .filter_map(|k| q.get(k).map(|v| (k, v.as_str())))
        .collect();
    json(super::events::backend_api(&state, &format!("/api/stats/{series}"), &pairs).await)
}

/// The charts' files (vendored uPlot with its licence, and charts.js).
pub async fn asset(Path(name): Path<String>) -> Response {
    use crate::html::{CHARTS_JS, UPLOT_CSS, UPLOT_JS, UPLOT_LICENSE};
    let (body, kind) = match name.as_str() {
        "charts.js" => (CHARTS_JS, "text/javascript; charset=utf-8"),
        "uplot/uPlot.iife.min.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "uplot/uPlot.min.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        "uplot/LICENSE" => (UPLOT_LICENSE, "text/plain; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(axum::http::header::CONTENT_TYPE, kind)], body).into_response()
}

pub async fn status(State(state): State<AppState>) -> Response {
    json(state.rpc.call::<StatusM>(&NoParams {}).await)
}

pub async fn nodes(State(state): State<AppState>) -> Response {
    json(state.rpc.call::<NodeListM>(&NoParams {}).await)
}

pub async fn rooms(State(state): State<AppState>) -> Response {
    json(
        state
            .rpc
            .call::<RoomListM>(&RoomListParams::default())
            .await,
    )
}

pub async fn participants(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    json(
        state
            .rpc
            .call::<ParticipantListM>(&RoomParams { room: name })
            .await,
    )
}
