//! Small JSON endpoints behind the session (401 without one), for scripts and live views.

use axum::Json;
use axum::extract::{Path, State};
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
