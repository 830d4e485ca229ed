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
