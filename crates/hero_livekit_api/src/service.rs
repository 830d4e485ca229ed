//! What every hero_livekit service does the same way at start: logging, stop signals, and
//! start-up phases that end when a stop is requested.
//!
//! A service's `main` is [`run_main`]: it installs the SIGTERM/SIGINT handlers first and hands
//! the body a [`Shutdown`]. Every start-up phase that can take time (waiting for the control
//! plane, opening a database, binding) runs through [`Shutdown::until`], so a stop request
//! during start-up ends the process at once with exit status 0 instead of being swallowed by
//! the installed handlers until the phase times out.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::watch;

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
/// future is first polled. Call it inside a tokio runtime. Services use [`Shutdown`], which
/// wraps this so that every phase can listen to the same request.
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

/// A stop request, shared by every phase of a service (cheap to clone).
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// A start-up phase was cut short by a stop request: not a failure (exit status 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped while {phase}")]
pub struct Stopped {
    /// What the service was doing, e.g. "waiting for hero_livekit_server".
    pub phase: &'static str,
}

impl Shutdown {
    /// Stops on SIGTERM or SIGINT; the handlers are installed now. Call inside a runtime.
    pub fn on_signals() -> Shutdown {
        Shutdown::when(shutdown_signal())
    }

    /// Stops when `trigger` completes (the all-in-one and tests).
    pub fn when(trigger: impl Future<Output = ()> + Send + 'static) -> Shutdown {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            trigger.await;
            let _ = tx.send(true);
        });
        Shutdown { rx }
    }

    /// A request that never comes (tests that stop by dropping the runtime).
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        Shutdown { rx }
    }

    /// Whether a stop has been requested.
    pub fn requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once a stop is requested. Owns its receiver, so it can be handed to a server's
    /// graceful shutdown.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.rx.clone();
        async move {
            // An error means the trigger's task is gone (runtime shutting down): stop too.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// Runs one start-up phase, or ends it as soon as a stop is requested.
    pub async fn until<T>(
        &self,
        phase: &'static str,
        work: impl Future<Output = T>,
    ) -> Result<T, Stopped> {
        if self.requested() {
            return Err(Stopped { phase });
        }
        tokio::select! {
            biased;
            _ = self.wait() => Err(Stopped { phase }),
            out = work => Ok(out),
        }
    }
}

/// An error type that can say "this was a stop request, not a failure".
pub trait ServiceError: std::fmt::Display {
    fn stopped(&self) -> Option<Stopped>;

    /// The one line printed when the service fails.
    fn report(&self, service: &str) -> String {
        format!("{service}: {self}")
    }
}

/// The body of every service's `main`: private file modes (umask 077), a raised open-files
/// limit, logging, a runtime, and the stop handlers installed before anything else runs.
/// Failures print one line `<name>: <error>` and exit 1; a stop during start-up prints
/// `<name>: stopped while <phase>` and exits 0.
pub fn run_main<E, F, Fut>(name: &str, body: F) -> ExitCode
where
    E: ServiceError,
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    // Every file and socket the process creates is born private.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    crate::limits::raise_nofile_limit();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = Shutdown::on_signals();
        body(shutdown).await
    });
    // Tasks still running (a stuck connection) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.stopped() {
            Some(stopped) => {
                eprintln!("{name}: {stopped}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("{}", e.report(name));
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_phase_ends_when_a_stop_is_requested() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = Shutdown::when(async move {
            let _ = rx.await;
        });
        let phase = shutdown.until("waiting", std::future::pending::<()>());
        tx.send(()).unwrap();
        let out = tokio::time::timeout(Duration::from_secs(5), phase).await;
        assert_eq!(out.unwrap(), Err(Stopped { phase: "waiting" }));
        // Later phases end at once, and the error says what was cut short.
        let later = shutdown.until("binding", async { 1 }).await.unwrap_err();
        assert_eq!(later.to_string(), "stopped while binding");
    }

    #[tokio::test]
    async fn a_phase_that_finishes_returns_its_value() {
        let shutdown = Shutdown::never();
        assert_eq!(shutdown.until("x", async { 7 }).await, Ok(7));
        assert!(!shutdown.requested());
    }
}
