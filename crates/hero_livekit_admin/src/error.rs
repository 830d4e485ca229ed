//! Errors of the admin UI.
//!
//! Policy: pages never fail as a whole because one call failed — each call's error is rendered
//! next to what it concerns (see `pages`). This enum covers what is left: boot failures (token
//! file, listener) and request-level refusals (no session, bad CSRF token). Request errors become
//! plain responses without internal detail; boot errors are printed by `main`.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hero_livekit_api::service::{ServiceError, Stopped};
use hero_livekit_api::wait::WaitError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    Stopped(#[from] Stopped),
    #[error("login token file {}: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("login token file {} is invalid: {reason}", path.display())]
    TokenInvalid { path: PathBuf, reason: String },
    /// The control plane's socket does not answer.
    #[error("control plane unreachable ({}): {reason}", socket.display())]
    Unreachable { socket: PathBuf, reason: String },
    /// The server answered "method not found": it is older than this UI.
    #[error("the control plane does not offer `{method}` yet (method not found)")]
    MethodMissing { method: &'static str },
    /// The control plane could not reach the SFU.
    /// The server's message names the URL already (`url` is kept for callers that need it).
    #[error("{message}")]
    LiveKitUnreachable {
        url: Option<String>,
        message: String,
    },
    /// Any other JSON-RPC error, with the server's message (which never carries a secret).
    #[error("{message}")]
    Call {
        method: &'static str,
        code: i32,
        message: String,
        data: Option<serde_json::Value>,
    },
    #[error("`{method}` did not answer within {waited:?}")]
    Timeout {
        method: &'static str,
        waited: Duration,
    },
    /// lk-backend (events, sessions) did not answer or refused.
    #[error("backend unreachable: {0}")]
    Backend(String),
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),
    /// No valid session on a JSON endpoint.
    #[error("not logged in")]
    Unauthorized,
    /// Missing or wrong CSRF token, or a cross-origin request.
    #[error("{0}")]
    Forbidden(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl ServiceError for Error {
    fn stopped(&self) -> Option<Stopped> {
        match self {
            Error::Stopped(s) | Error::Wait(WaitError::Stopped(s)) => Some(*s),
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                r#"{"error":"not logged in"}"#,
            )
                .into_response(),
            Error::Forbidden(why) => (StatusCode::FORBIDDEN, why).into_response(),
            other => {
                tracing::error!(error = %other, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}
