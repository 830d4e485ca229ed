//! "Wait for the socket": how every dependent gates on the control plane. The server binds
//! rpc.sock only after its files are durable, so a socket that accepts means config is ready.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::net::UnixStream;

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
