//! `hero_livekit backup`: a consistent copy of server.db while the server runs. SQLite's
//! `VACUUM INTO` reads one snapshot through the WAL, so the copy is never half-written; it
//! holds every secret, so it is created 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

pub async fn backup(home: &Path, dest: Option<PathBuf>) -> Result<PathBuf> {
    let db = home.join(hero_livekit_api::paths::SERVER_DB);
    if !db.exists() {
        bail!("{} does not exist (is --home right?)", db.display());
    }
    let dest = match dest {
        Some(d) => d,
        None => {
            let stamp = hero_livekit_api::timefmt::rfc3339(hero_livekit_api::timefmt::now_unix())
                .replace(':', "");
            home.join("backups").join(format!("server-{stamp}.db"))
        }
    };
    if dest.exists() {
        bail!("{} already exists; choose another path", dest.display());
    }
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    // Create the file first so it is 0600 from its first byte, whatever the umask.
    std::fs::File::create(&dest).with_context(|| format!("creating {}", dest.display()))?;
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600))?;
    std::fs::remove_file(&dest)?;
    let prev = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let result = sqlx::query("VACUUM INTO ?")
        .bind(dest.display().to_string())
        .execute(&mut conn)
        .await;
    rustix::process::umask(prev);
    result.with_context(|| format!("copying {} to {}", db.display(), dest.display()))?;
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600))?;
    Ok(dest)
}
