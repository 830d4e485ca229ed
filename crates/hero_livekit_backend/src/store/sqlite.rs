//! What only SQLite needs: opening the file private (0600, -wal and -shm too), WAL with
//! `synchronous=FULL`, and a short busy timeout so a locked database answers 503 quickly.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;

/// Opens (creating if needed, 0600) and migrates the database.
pub(super) async fn open(path: &Path) -> Result<SqlitePool, StoreError> {
    let open_err = |e: sqlx::Error| StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
    }
    // SQLite creates -wal and -shm with the mode of the database file, so the file is created
    // 0600 first, whatever the umask of the process embedding us.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| open_err(sqlx::Error::Io(e)))?;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(open_err)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        // A locked database fails after this instead of hanging LiveKit's queue; the 503 makes
        // LiveKit retry.
        .busy_timeout(Duration::from_secs(3));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(open_err)?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: format!("migration failed: {e}"),
        })?;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(pool)
}
