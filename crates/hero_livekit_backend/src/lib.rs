//! lk-backend: LiveKit's standard token endpoint and a durable webhook inbox, configured by
//! the `backend.env` that hero_livekit_server writes (design.md §6).

//!
//! # Layout
//! - `config` — the CLI and the typed settings read from backend.env (`LK_BACKEND_*` overrides)
//! - `store` — the event inbox behind one boundary (SQLite or PostgreSQL), group commit
//! - `webhook` — LiveKit's webhook verification (also used by tools and tests to sign)
//! - `routes/`, `serve` — the HTTP surface; `token` — the token endpoint's minting
//! - `feed` — the live stream across replicas; `sessions` — who was in which room when;
//!   `recordings` — the permanent egress catalogue
//! - `reload`, `metrics`, `state`, `error`

pub mod config;
mod error;
mod feed;
mod metrics;
mod recordings;
mod reload;
mod routes;
mod serve;
mod sessions;
mod state;
pub mod store;
mod token;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hero_livekit_api::timefmt::now_unix;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::{Error, Result};
pub use hero_livekit_api::service::{Shutdown, init_tracing, shutdown_signal};

use hero_livekit_api::service::Stopped;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::EventStore;

/// Events a slow live-stream reader may fall behind by before it is told it lagged.
const LIVE_BUFFER: usize = 1024;

/// Serves on `listener` until `shutdown` completes, then drains requests and the writer.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let db_url = config.settings.env.database_url.clone();
    // Opening the database waits on a lock held by another process at most a few seconds,
    // but a stop request must not wait with it.
    tokio::pin!(shutdown);
    let store = tokio::select! {
        store = EventStore::open(&db_url) => store?,
        _ = &mut shutdown => return Err(Error::Stopped(Stopped { phase: "opening the database" })),
    };
    let (writer, writer_task) = store.writer();
    let settings = Arc::new(ArcSwap::from_pointee(config.settings.clone()));
    let metrics = Arc::new(Metrics::default());
    let (stop_streams, stopping) = tokio::sync::watch::channel(false);
    let state = AppState::new(state::Inner {
        settings: settings.clone(),
        store: store.clone(),
        writer,
        metrics: metrics.clone(),
        body_timeout: config.request_timeout,
        live: tokio::sync::broadcast::channel(LIVE_BUFFER).0,
        announce_locally: store.engine() == "sqlite",
        stopping,
    });
    let feed = match store.watch_events() {
        Some((wake, listener)) => Some((
            feed::start(store.clone(), state.live.clone(), wake).await,
            listener,
        )),
        None => None,
    };
    let reload = reload::spawn(
        config.env_file.clone(),
        config.overrides.clone(),
        settings.clone(),
        config.reload_interval,
    );
    let pruner = spawn_pruner(store.clone(), settings.clone(), config.prune_interval);
    let addr = listener.local_addr().map_err(Error::Serve)?;
    // The ready line goes to stdout, outside the log stream, with the address actually bound.
    println!(
        "lk-backend ready on http://{addr} (env file {}, signing key {}, database {})",
        config.env_file.display(),
        config.settings.env.livekit_api_key,
        hero_livekit_api::redact::url(&db_url),
    );
    tracing::info!(%addr, "lk-backend ready");
    let app = routes::app(state);
    let shutdown = async move {
        shutdown.await;
        let _ = stop_streams.send(true);
    };
    serve::serve(listener, app, metrics, shutdown).await;
    reload.abort();
    pruner.abort();
    if let Some((feed, listener)) = feed {
        feed.abort();
        listener.abort();
    }
    // Every writer handle went with the connections; the writer commits what is queued, then
    // ends. Bounded in case a connection outlived the drain.
    let _ = tokio::time::timeout(Duration::from_secs(10), writer_task).await;
    store.close().await;
    tracing::info!("lk-backend stopped");
    Ok(())
}

fn spawn_pruner(
    store: EventStore,
    settings: Arc<ArcSwap<Settings>>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let days = i64::from(settings.load().event_retention_days);
            match store.prune(now_unix() - days * 86_400).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "pruned old webhook events"),
                Err(e) => tracing::warn!(error = %e, "cannot prune old webhook events"),
            }
            // The recordings catalogue is kept forever unless the operator set a retention.
            if let Some(days) = settings.load().egress_retention_days {
                let days = i64::from(days);
                match store.prune_recordings(now_unix() - days * 86_400).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, days, "pruned old recordings"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune old recordings"),
                }
            }
        }
    })
}
