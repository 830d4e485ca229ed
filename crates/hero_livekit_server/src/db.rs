//! `server.db`: keys, generated secrets and the audit log. SQLite in WAL mode with
//! `synchronous=FULL`, because a key that was handed out must survive a power cut.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if missing) and migrates the database. Any failure names the path.
pub async fn connect(path: &Path) -> Result<SqlitePool> {
    let fail = |reason: String| Error::Database {
        path: path.to_path_buf(),
        reason,
    };
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| fail(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .map_err(|e| fail(e.to_string()))?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| fail(format!("migration failed: {e}")))?;
    // The umask makes new files 0600; this also fixes files created by an older build or by hand.
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", path.display());
        if Path::new(&p).exists() {
            crate::files::set_mode(Path::new(&p), 0o600)?;
        }
    }
    Ok(pool)
}

/// Returns the named generated secret, minting and persisting it on first use.
pub async fn ensure_secret(pool: &SqlitePool, name: &str) -> Result<crate::secrets::Secret> {
    let candidate = crate::secrets::new_secret();
    sqlx::query("INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate.expose())
        .bind(hero_livekit_api::timefmt::now_unix())
        .execute(pool)
        .await?;
    let value: String = sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(crate::secrets::Secret::new(value))
}
