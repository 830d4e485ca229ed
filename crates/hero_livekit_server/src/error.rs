//! One error type for the control plane.
//!
//! Policy: boot errors carry the path or setting they concern and print as one line (main turns
//! them into the process's only output and a non-zero exit). RPC errors are converted once, in
//! `From<Error> for ErrorObjectOwned`, into the codes of design §5; internal detail (SQL, I/O)
//! is logged, not sent. No variant ever holds a secret.

use std::path::PathBuf;

use hero_livekit_api::errors as codes;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::json;

use crate::store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid setting {setting}: {reason}")]
    Config { setting: String, reason: String },
    #[error("config file {path}: {reason}")]
    ConfigFile { path: PathBuf, reason: String },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("hero_livekit_server is already running (pid {pid}, home {home})")]
    AlreadyRunning { pid: String, home: PathBuf },
    /// The database cannot be opened or migrated (boot); the URL has no password.
    #[error("database {url}: {reason}")]
    Database { url: String, reason: String },
    /// A storage operation failed; says which.
    #[error("storage error: {0}")]
    Storage(String),
    /// Invalid RPC params: which field, and why.
    #[error("invalid params: {field}: {reason}")]
    InvalidParams { field: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Policy(String),
    #[error("LiveKit at {url} is unreachable: {reason}")]
    LiveKitUnreachable { url: String, reason: String },
    #[error("LiveKit error {twirp_code}: {msg}")]
    LiveKit { twirp_code: String, msg: String },
    /// LiveKit's `not_found` (no such room or participant): our not-found code, with LiveKit's
    /// code and message as data.
    #[error("{msg}")]
    TwirpNotFound { msg: String },
    /// A LiveKit error explained for an operator (side-services facts §4.2): our message (which
    /// quotes LiveKit's), the JSON-RPC code it maps to, and LiveKit's code and text as data.
    #[error("{message}")]
    Explained {
        code: i32,
        message: String,
        twirp_code: String,
        msg: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }

    /// A short, fixed name for the kind of error (the `outcome` label of the RPC metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidParams { .. } => "invalid_params",
            Error::NotFound(_) | Error::TwirpNotFound { .. } => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Policy(_) => "policy",
            Error::LiveKitUnreachable { .. } => "livekit_unreachable",
            Error::LiveKit { .. } | Error::Explained { .. } => "livekit_error",
            Error::Storage(_) | Error::Database { .. } => "storage",
            _ => "internal",
        }
    }

    pub fn params(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidParams {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl hero_livekit_api::service::ServiceError for Error {
    fn stopped(&self) -> Option<hero_livekit_api::service::Stopped> {
        None
    }

    /// The "already running" line is a contract (design §2): printed exactly, unprefixed.
    fn report(&self, service: &str) -> String {
        match self {
            Error::AlreadyRunning { .. } => self.to_string(),
            _ => format!("{service}: {self}"),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Error::NotFound(m),
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::Open { url, reason } => Error::Database { url, reason },
            StoreError::Unsupported(m) => Error::Policy(m),
            other => Error::Storage(other.to_string()),
        }
    }
}

impl From<Error> for ErrorObjectOwned {
    fn from(e: Error) -> Self {
        let msg = e.to_string();
        match e {
            Error::InvalidParams { field, reason } => ErrorObjectOwned::owned(
                codes::INVALID_PARAMS,
                format!("invalid params: {field}: {reason}"),
                Some(json!({"field": field, "reason": reason})),
            ),
            Error::NotFound(_) => ErrorObjectOwned::owned(codes::NOT_FOUND, msg, None::<()>),
            Error::TwirpNotFound { msg: m } => ErrorObjectOwned::owned(
                codes::NOT_FOUND,
                msg,
                Some(json!({"twirp_code": "not_found", "msg": m})),
            ),
            Error::Conflict(_) => ErrorObjectOwned::owned(codes::CONFLICT, msg, None::<()>),
            Error::Policy(_) => ErrorObjectOwned::owned(codes::POLICY, msg, None::<()>),
            Error::LiveKitUnreachable { url, .. } => {
                ErrorObjectOwned::owned(codes::LIVEKIT_UNREACHABLE, msg, Some(json!({"url": url})))
            }
            Error::LiveKit { twirp_code, msg: m } => ErrorObjectOwned::owned(
                codes::LIVEKIT_ERROR,
                msg,
                Some(json!({"twirp_code": twirp_code, "msg": m})),
            ),
            Error::Explained {
                code,
                twirp_code,
                msg: m,
                ..
            } => ErrorObjectOwned::owned(
                code,
                msg,
                Some(json!({"twirp_code": twirp_code, "msg": m})),
            ),
            Error::Storage(detail) | Error::Database { reason: detail, .. } => {
                tracing::error!(%detail, "storage error");
                ErrorObjectOwned::owned(codes::STORAGE, "storage error", None::<()>)
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ErrorObjectOwned::owned(codes::INTERNAL_ERROR, "internal error", None::<()>)
            }
        }
    }
}

/// The full dotted path of a serde error: serde_path_to_error's path, plus the field named by an
/// "unknown field" or "missing field" message when the path stops at its parent.
pub fn serde_field(path: &str, message: &str) -> String {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (named, path) {
        (Some(n), ".") => n.to_string(),
        (Some(n), p) if p == n || p.ends_with(&format!(".{n}")) => p.to_string(),
        (Some(n), p) => format!("{p}.{n}"),
        (None, p) => p.to_string(),
    }
}
