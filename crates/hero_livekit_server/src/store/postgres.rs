//! What only PostgreSQL needs: opening a pool (TLS verified against the system trust store),
//! its own migrations (run under sqlx's migration lock, so instances starting together migrate
//! once), and the `pg_dump` command a backup takes.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use super::{StoreError, StoreResult, redact_url};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(super) fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

pub(super) async fn open(url: &str) -> StoreResult<PgPool> {
    let fail = |reason: String| StoreError::Open {
        url: redact_url(url),
        reason,
    };
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| fail(e.to_string()))?
        // Statements are logged at debug by sqlx; bound values (secrets) never are, but keep
        // even the statements out of the info stream.
        .log_statements(tracing::log::LevelFilter::Trace)
        .application_name("hero_livekit_server");
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await
        .map_err(|e| fail(e.to_string()))?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| fail(format!("migration failed: {e}")))?;
    Ok(pool)
}

/// The exact command that makes a consistent copy (pg_dump reads one snapshot), since the
/// server holds no file to copy. Names the database without its password.
pub(super) fn backup_hint(pool: &PgPool, dest: &Path) -> String {
    let o = pool.connect_options();
    let host = o.get_host();
    let port = o.get_port();
    let user = o.get_username();
    let db = o.get_database().unwrap_or(user);
    format!(
        "the control plane's state is in PostgreSQL: make a consistent copy with \
         `PGPASSWORD=… pg_dump --format=custom --file={} --host={host} --port={port} \
         --username={user} {db}` (restore with pg_restore; it holds every secret, keep it 0600)",
        dest.display()
    )
}
