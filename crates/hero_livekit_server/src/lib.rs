//! hero_livekit_server: the control plane of a self-hosted LiveKit deployment.
//!
//! Boot follows design §2 exactly: config → dirs → single-instance lock → database → keys →
//! files → only then the socket. Because rpc.sock appears only after livekit.yaml and
//! backend.env are durable, "the socket accepts" means "config is ready" for every dependent.

//! # Layout
//! - `config` — layered settings and the effective [`Config`] (`config.get` is its serialization)
//! - `store` — every SQL statement, behind domain-level transactions (SQLite; PostgreSQL)
//! - `keys` — the key rows and the rules about them (which key signs what)
//! - `lifecycle` — observe the SFU → decide transitions → apply through the store → events
//! - `render`, `sync`, `files` — typed renders of the files, written atomically when they differ
//! - `side` — the side services' files (egress.yaml), typed after their Go yaml tags
//! - `livekit`, `sfu` — the Twirp client and the SFU health probe
//! - `rpc/` — one module per method group; `socket` — serving rpc.sock with peer checks
//! - `metrics` — the optional Prometheus listener (`metrics_listen`)
//! - `tokens`, `livekit_limits`, `audit`, `events`, `secrets`, `lock`, `notify`

mod audit;
mod cluster;
pub mod config;
mod egress_client;
mod error;
mod events;
mod files;
mod fleet;
mod keys;
mod lifecycle;
mod livekit;
mod livekit_limits;
pub mod livekit_schema;
mod lock;
mod metrics;
mod notify;
pub mod public;
mod render;
mod rpc;
mod secrets;
mod sfu;
pub mod side;
mod side_client;
mod socket;
mod state;
mod store;
mod sync;
pub mod tokens;

use std::future::Future;
use std::path::Path;

use hero_livekit_api::paths;
use tokio::net::UnixListener;

pub use config::Config;
pub use error::{Error, Result};
pub use hero_livekit_api::service::{init_tracing, shutdown_signal};
pub use keys::KeyRow;
pub use rpc::parse as parse_params;
pub use secrets::Secret;
pub use state::AppState;
pub use store::Store;

/// The storage boundary's record types, for tools and the conformance tests.
pub mod store_api {
    pub use crate::store::copy::{CopyReport, copy, tables};
    pub use crate::store::{AuditRecord, InstanceRecord, NewAudit, Revoked, StoreError};
}

/// A booted control plane: files written, lock held, socket bound, not yet serving.
pub struct Booted {
    state: AppState,
    listener: UnixListener,
    metrics: Option<tokio::net::TcpListener>,
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
    // A home that existed before: a vanished file counts as repaired, not created.
    let fresh = match config.database_url.engine() {
        "sqlite" => !config.path(paths::SERVER_DB).exists(),
        _ => {
            !config.path(paths::LIVEKIT_YAML).exists() && !config.path(paths::BACKEND_ENV).exists()
        }
    };
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
    let store = Store::open(config.database_url.expose()).await?;
    // Boot step 6: one active key (minted on a fresh home), and transitions that fell due
    // while the server was down, committed before any file is rendered.
    let now = hero_livekit_api::timefmt::now_unix();
    // With egress, retiring a key waits for the recordings that sign with it, which only the
    // first observation can list (side-services facts §6).
    if !config.egress.enabled {
        for k in store.retire_due(now).await? {
            tracing::info!(api_key = %k, "key retired: its grace period ended");
        }
    }
    if let Some(k) = store.ensure_active_key(now).await? {
        tracing::info!(api_key = %k, "minted the first API key");
    }
    let rows = store.keys().await?;
    let active = keys::signer(&rows)?.api_key.clone();
    let synced = sync::sync_files(&config, &store, !fresh).await?;
    // Bound before the socket: a taken port fails the start, and dependents never see a ready
    // socket of a server that is about to exit.
    let metrics = match config.metrics_listen {
        Some(addr) => Some(metrics::bind(addr).await?),
        None => None,
    };

    socket::prepare(&config.socket, group).await?;
    let listener = socket::bind(&config.socket, group)?;
    let access = socket::Access {
        own_uid: rustix::process::getuid().as_raw(),
        group,
    };
    tracing::info!(api_key = %active, "keys ready");
    let state = AppState::new(config, store, &synced);
    state.record_instance().await?;
    Ok(Booted {
        state,
        listener,
        metrics,
        access,
        _lock: lock,
    })
}

impl Booted {
    /// The state the server will serve with (tests drive the RPC module with it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Steps 9–10: announce readiness, serve until `shutdown`, then stop accepting, let
    /// in-flight calls finish, remove the socket and release the lock.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let Booted {
            state,
            listener,
            metrics,
            access,
            _lock,
        } = self;
        let cfg = state.config();
        let rows = state.store().keys().await?;
        let active = keys::signer(&rows)?;
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
        let follower = tokio::spawn(follow_revisions(state.clone()));
        let turn_certs = tokio::spawn(public::files::watch(state.clone()));
        let metrics = metrics.map(|l| {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "serving Prometheus metrics on /metrics");
            }
            tokio::spawn(metrics::serve(l, state.clone()))
        });
        shutdown.await;
        if let Some(m) = metrics {
            m.abort();
        }
        timer.abort();
        follower.abort();
        turn_certs.abort();
        // Subscribers get a terminal item instead of a connection that just drops.
        state.events().emit(
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
        let _ = std::fs::remove_file(&state.config().socket);
        state.leave_leadership();
        state.store().close().await;
        Ok(())
    }
}

/// How often an instance rereads the revision even without a notification (one sent while
/// its listener reconnected is lost), and says it is alive.
const RESYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Keeps this instance's files at the shared revision: re-renders on every change another
/// instance commits (NOTIFY on PostgreSQL), and periodically as a backstop.
async fn follow_revisions(state: AppState) {
    let (mut changes, _listener) = match state.store().watch_revisions() {
        Some((rx, task)) => (Some(rx), Some(AbortOnDrop(task))),
        None => (None, None),
    };
    let mut tick = tokio::time::interval(RESYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let woken = async {
            match changes.as_mut() {
                Some(rx) => {
                    rx.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = woken => {}
            _ = tick.tick() => {
                if let Err(e) = state.record_instance().await {
                    tracing::warn!(error = %e, "cannot record this instance");
                }
            }
        }
        match state.resync_if_behind().await {
            Ok(true) => tracing::info!(
                revision = state.rendered_revision(),
                "re-rendered after a change committed elsewhere"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot follow the shared config"),
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Boots and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    boot(config).await?.serve(shutdown).await
}

/// The JSON-RPC module over a booted state, for in-process tests and tools.
pub fn rpc_module(state: AppState) -> jsonrpsee::RpcModule<AppState> {
    rpc::module(state)
}

/// `hero_livekit backup`: a consistent copy of the database at `url` into `dest` (0600),
/// taken while the server runs.
pub async fn backup(url: &str, dest: &std::path::Path) -> Result<()> {
    let store = Store::open(url).await?;
    let result = store.backup_to(dest).await;
    store.close().await;
    Ok(result?)
}
