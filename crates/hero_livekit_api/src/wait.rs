//! "Wait for the socket": how every dependent gates on the control plane. The server binds
//! rpc.sock only after its files are durable, so a socket that accepts means config is ready.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::net::UnixStream;

use crate::service::{Shutdown, Stopped};

/// Waits until something accepts connections on `socket`, polling every 50 ms, for at most
/// `timeout`. Returns the time waited, or the last connection error.
pub async fn wait_for_socket(socket: &Path, timeout: Duration) -> std::io::Result<Duration> {
    let start = Instant::now();
    loop {
        match UnixStream::connect(socket).await {
            Ok(_) => return Ok(start.elapsed()),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The phase name a stop during the wait reports.
pub const WAITING_FOR_SERVER: &str = "waiting for hero_livekit_server";

/// Why a dependent did not get to read the control plane's files.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Stopped(#[from] Stopped),
    #[error(
        "server socket {} did not accept within {} ({source}); is hero_livekit_server running? \
         (--wait-for-server 0 skips the wait)",
        socket.display(), humantime::format_duration(*waited)
    )]
    NotReady {
        socket: PathBuf,
        waited: Duration,
        source: std::io::Error,
    },
}

/// A dependent's start-up gate: waits (bounded by `timeout`; zero skips) for the control
/// plane's socket, and ends at once when `shutdown` is requested.
pub async fn wait_for_server(
    socket: &Path,
    timeout: Duration,
    shutdown: &Shutdown,
) -> Result<(), WaitError> {
    if timeout.is_zero() {
        return Ok(());
    }
    tracing::info!(socket = %socket.display(), "waiting for hero_livekit_server");
    shutdown
        .until(WAITING_FOR_SERVER, wait_for_socket(socket, timeout))
        .await?
        .map(|_| ())
        .map_err(|source| WaitError::NotReady {
            socket: socket.to_path_buf(),
            waited: timeout,
            source,
        })
}
