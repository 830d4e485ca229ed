//! Ports and bounded waits.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often every wait of the kit looks again.
pub const POLL: Duration = Duration::from_millis(10);

/// A loopback port nobody listens on right now (the OS picks it; the listener is closed again).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Polls `ready` until it holds; fails the test naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for async checks, sleeping on the runtime so in-process services keep running.
pub async fn wait_until_async<F, Fut>(what: &str, limit: Duration, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !ready().await {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until a Unix socket accepts connections.
pub fn wait_for_socket(socket: &Path, limit: Duration) {
    wait_until(
        &format!("a listener on {}", socket.display()),
        limit,
        || std::os::unix::net::UnixStream::connect(socket).is_ok(),
    );
}

/// [`wait_for_socket`] from async code.
pub async fn wait_for_socket_async(socket: &Path, limit: Duration) {
    wait_until_async(
        &format!("a listener on {}", socket.display()),
        limit,
        || async { tokio::net::UnixStream::connect(socket).await.is_ok() },
    )
    .await;
}

/// Waits until `127.0.0.1:port` accepts connections.
pub fn wait_for_tcp(port: u16, limit: Duration) {
    wait_until(&format!("a listener on port {port}"), limit, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}
