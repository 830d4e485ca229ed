//! What only PostgreSQL needs: the pool (TLS verified against the system trust store) and its
//! migrations, run under sqlx's migration lock so replicas starting together migrate once.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreError;

/// Notified in every committed batch, so each replica's live stream reads what any replica
/// stored.
pub const EVENTS_CHANNEL: &str = "hero_livekit_events";

/// Advisory lock key of the retention pruning (one replica at a time).
pub const PRUNE_LOCK: i64 = 0x6865_726f_7072_756e; // "heroprun"

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(super) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let fail = |reason: String| StoreError::Open {
        path: hero_livekit_api::redact::url(url),
        reason,
    };
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| fail(e.to_string()))?
        .application_name("lk-backend");
    let pool = PgPoolOptions::new()
        .max_connections(8)
        // A database that is down answers 503 within this, so LiveKit retries.
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(opts)
        .await
        .map_err(|e| fail(e.to_string()))?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| fail(format!("migration failed: {e}")))?;
    Ok(pool)
}

/// LISTENs on [`EVENTS_CHANNEL`] and wakes the receiver on every notification and after every
/// reconnect.
pub(super) fn watch(
    pool: PgPool,
) -> (tokio::sync::mpsc::Receiver<()>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(async move {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for stored events; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(EVENTS_CHANNEL).await {
                tracing::warn!(error = %e, "cannot listen for stored events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let _ = tx.try_send(());
            loop {
                match listener.try_recv().await {
                    Ok(_) => {
                        let _ = tx.try_send(());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the event listener lost its connection");
                        let _ = tx.try_send(());
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        }
    });
    (rx, task)
}
