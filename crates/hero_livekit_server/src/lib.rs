//! hero_livekit_server: the control plane of a self-hosted LiveKit deployment.
//!
//! Boot follows design §2 exactly: config → dirs → single-instance lock → database → keys →
//! files → only then the socket. Because rpc.sock appears only after livekit.yaml and
//! backend.env are durable, "the socket accepts" means "config is ready" for every dependent.

pub mod audit;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod files;
pub mod keys;
pub mod lifecycle;
pub mod livekit;
pub mod livekit_schema;
pub mod lock;
pub mod notify;
pub mod render;
pub mod rpc;
pub mod secrets;
pub mod sfu;
pub mod socket;
pub mod state;
pub mod tokens;

use std::future::Future;
use std::path::Path;

use hero_livekit_api::paths;
use tokio::net::UnixListener;

pub use config::Config;
pub use error::{Error, Result};
pub use hero_livekit_api::service::{init_tracing, shutdown_signal};
use state::AppState;

/// A booted control plane: files written, lock held, socket bound, not yet serving.
pub struct Booted {
    pub state: AppState,
    listener: UnixListener,
    access: socket::Access,
    _lock: lock::InstanceLock,
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    files::set_mode(dir, 0o700)
}

/// Steps 3–8 of the boot sequence. The process umask (step 1) is set by `main`, since it is
/// process-wide and tests run many servers in one process.
pub async fn boot(config: Config) -> Result<Booted> {
    let fresh = !config.path(paths::SERVER_DB).exists();
    create_private_dir(&config.home)?;
    let group = config
        .socket_group
        .as_deref()
        .map(socket::resolve_group)
        .transpose()?;
    let lock = lock::acquire(&config.home)?;

    let removed = files::remove_stale_temp_files(&config.home)?;
    if removed > 0 {
        tracing::info!(removed, "removed temp files left by an interrupted write");
    }
    let pool = db::connect(&config.path(paths::SERVER_DB)).await?;
    let active = keys::ensure_active(&pool).await?;
    let synced = state::sync_files(&config, &pool, !fresh).await?;

    socket::prepare(&config.socket, group).await?;
    let listener = socket::bind(&config.socket, group)?;
    let access = socket::Access {
        own_uid: rustix::process::getuid().as_raw(),
        group,
    };
    tracing::info!(api_key = %active.api_key, "keys ready");
    let state = AppState::new(config, pool, &synced);
    Ok(Booted {
        state,
        listener,
        access,
        _lock: lock,
    })
}

impl Booted {
    /// Steps 9–10: announce readiness, serve until `shutdown`, then stop accepting, let
    /// in-flight calls finish, remove the socket and release the lock.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let Booted {
            state,
            listener,
            access,
            _lock,
        } = self;
        let cfg = &state.config;
        let active = keys::active(&state.pool).await?;
        println!(
            "hero_livekit_server ready: socket {} | key {} | {} | {}",
            cfg.socket.display(),
            active.api_key,
            cfg.path(paths::LIVEKIT_YAML).display(),
            cfg.path(paths::BACKEND_ENV).display(),
        );
        tracing::info!(socket = %cfg.socket.display(), "serving JSON-RPC");
        if let Err(e) = notify::ready() {
            tracing::warn!(error = %e, "could not notify systemd");
        }
        let module = rpc::module(state.clone());
        let (stop, handle) = jsonrpsee::server::stop_channel();
        let server = tokio::spawn(socket::serve(listener, module.into(), access, stop));
        let timer = tokio::spawn(lifecycle::run_timer(
            state.clone(),
            lifecycle::OBSERVE_EVERY,
        ));
        shutdown.await;
        timer.abort();
        // Subscribers get a terminal item instead of a connection that just drops.
        state.events.emit(
            "error",
            serde_json::json!({ "reason": "the server is stopping" }),
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        tracing::info!("shutting down");
        notify::stopping();
        let _ = handle.stop();
        let _ = server.await;
        // Wait (bounded) for connections to drain, then remove the socket before the lock is
        // released, so a successor never sees our socket as live.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), handle.stopped()).await;
        let _ = std::fs::remove_file(&state.config.socket);
        state.pool.close().await;
        Ok(())
    }
}

/// Boots and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    boot(config).await?.serve(shutdown).await
}
