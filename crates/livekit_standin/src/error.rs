//! Errors of the stand-in itself (config, listener). What the stand-in answers to *clients* is not
//! an error of the stand-in: those are `twirp::TwirpError` and `auth::AuthError`, which carry the
//! exact bodies livekit-server sends.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// livekit.yaml is unreadable or would make livekit-server refuse to start.
    #[error("{0}")]
    Config(String),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
