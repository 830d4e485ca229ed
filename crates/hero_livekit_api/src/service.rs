//! What every hero_livekit service does the same way at start: logging and stop signals.

use std::future::Future;
use std::time::Duration;

/// Logs to stderr with `RUST_LOG` (default `info`) plus the caps of [`crate::logging`], without
/// colours when stderr is not a terminal (journald, files).
pub fn init_tracing() {
    let filter = crate::logging::directives(std::env::var("RUST_LOG").ok().as_deref());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives while the service is still starting (or
/// waiting for the control plane) stops it cleanly instead of killing it. Call it inside a
/// tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
    async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
}

/// Parses a duration flag like `30s`, `2m`, `12h`; a bare `0` means zero (e.g. "do not wait").
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 0)"))
}
