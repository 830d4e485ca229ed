//! `hero_livekit backup`: a consistent copy of server.db while the server runs, made by the
//! control plane's store (SQLite's `VACUUM INTO` reads one snapshot through the WAL, so the
//! copy is never half-written; it holds every secret, so it is created 0600).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

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
    hero_livekit_server::backup(&format!("sqlite://{}", db.display()), &dest)
        .await
        .with_context(|| format!("copying {} to {}", db.display(), dest.display()))?;
    Ok(dest)
}
