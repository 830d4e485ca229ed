//! One error type for the crate.
//!
//! Policy: boot errors (env file, socket wait, database open) carry the path and the variable
//! so `main` can print one clear line. Request errors become a JSON body `{"error", "field"?}`
//! with a status a client can act on; internal detail (SQLite messages, why a webhook failed
//! verification) is logged, never sent, and never includes a secret.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hero_livekit_api::env_file::{ParseError, VarError};
use hero_livekit_api::service::{ServiceError, Stopped};
use hero_livekit_api::wait::WaitError;

use crate::store::StoreError;
use crate::webhook::WebhookError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    ReadEnvFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    ParseEnvFile { path: PathBuf, source: ParseError },
    #[error("{}: {source}", path.display())]
    EnvVar { path: PathBuf, source: VarError },
    #[error("{}: variable {var} is invalid: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        var: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    Stopped(#[from] Stopped),
    /// The database cannot be opened or migrated (boot).
    #[error("{0}")]
    OpenDatabase(StoreError),
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),

    // Request errors.
    #[error("unauthorized")]
    Unauthorized,
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<&'static str>,
    },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported content type: send application/json")]
    UnsupportedMediaType,
    #[error("webhook verification failed")]
    Webhook(#[from] WebhookError),
    /// The event could not be committed: LiveKit must retry, so never a 2xx.
    #[error("storage unavailable")]
    Storage(#[source] StoreError),
    #[error("storage unavailable")]
    WriterGone,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request timed out")]
    Timeout { retryable: bool },
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn bad_request(field: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            message: message.into(),
            field: Some(field),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized | Error::Webhook(_) => StatusCode::UNAUTHORIZED,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Storage(_) | Error::WriterGone => StatusCode::SERVICE_UNAVAILABLE,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            // LiveKit retries 5xx but not 408: a webhook that timed out must be retried.
            Error::Timeout { retryable: true } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Timeout { retryable: false } => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

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
        let status = self.status();
        match &self {
            Error::Storage(e) => tracing::error!(error = %e, "storage error"),
            Error::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let body = match &self {
            Error::BadRequest {
                field: Some(field), ..
            } => {
                serde_json::json!({ "error": self.to_string(), "field": field })
            }
            _ => serde_json::json!({ "error": self.to_string() }),
        };
        (status, axum::Json(body)).into_response()
    }
}
