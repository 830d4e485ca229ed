//! What only SQLite needs: opening the file with WAL and `synchronous=FULL` (a key that was
//! handed out must survive a power cut), private file modes, and `VACUUM INTO` backups.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{StoreError, StoreResult, op};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The file a `sqlite://` URL names (`sqlite:///abs/path`, `sqlite://rel/path`, `sqlite:path`).
pub(super) fn path_of(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    (!rest.is_empty()).then(|| PathBuf::from(rest))
}

/// Opens (creating if missing) and migrates the database. Any failure names the path.
pub(super) async fn open(path: &Path) -> StoreResult<SqlitePool> {
    let fail = |reason: String| StoreError::Open {
        url: format!("sqlite://{}", path.display()),
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
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            set_private(&p)
                .map_err(|e| fail(format!("cannot make {} private: {e}", p.display())))?;
        }
    }
    Ok(pool)
}

fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// `VACUUM INTO` reads one snapshot through the WAL, so the copy is never half-written. It
/// holds every secret: the file is 0600 from its first byte, whatever the umask.
pub(super) async fn backup(pool: &SqlitePool, dest: &Path) -> StoreResult<()> {
    let io = |e: std::io::Error| StoreError::Unsupported(format!("{}: {e}", dest.display()));
    std::fs::File::create(dest).map_err(io)?;
    set_private(dest).map_err(io)?;
    std::fs::remove_file(dest).map_err(io)?;
    let prev = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let result = sqlx::query("VACUUM INTO $1")
        .bind(dest.display().to_string())
        .execute(pool)
        .await;
    rustix::process::umask(prev);
    result.map_err(op("copy the database"))?;
    set_private(dest).map_err(io)?;
    Ok(())
}
