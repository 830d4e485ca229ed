//! `hero_livekit backup`: a consistent copy of server.db while the server runs, made by the
//! control plane's store (SQLite's `VACUUM INTO` reads one snapshot through the WAL, so the
//! copy is never half-written; it holds every secret, so it is created 0600).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub async fn backup(home: &Path, socket: &Path, dest: Option<PathBuf>) -> Result<PathBuf> {
    let db = home.join(hero_livekit_api::paths::SERVER_DB);
    if !db.exists() {
        // The state may be in PostgreSQL: then the copy is pg_dump's job, and we say exactly how.
        if let Some(cmd) = pg_dump_command(socket, dest.as_deref()).await {
            bail!(
                "the control plane's state is in PostgreSQL, not in {}: make a consistent copy with `{cmd}` \
                 (restore with pg_restore; it holds every secret, keep it 0600)",
                db.display()
            );
        }
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

/// The pg_dump command for the running control plane's database, when it is PostgreSQL (asked
/// over the socket; the password is never shown, so it reads PGPASSWORD).
async fn pg_dump_command(socket: &Path, dest: Option<&Path>) -> Option<String> {
    use hero_livekit_api::methods::ConfigGet;
    let client = hero_livekit_api::RpcClient::connect(socket).await.ok()?;
    let cfg = client
        .call::<ConfigGet>(&hero_livekit_api::types::NoParams {})
        .await
        .ok()?;
    let url = url::Url::parse(cfg["database_url"].as_str()?).ok()?;
    if !url.scheme().starts_with("postgres") {
        return None;
    }
    let query_host = url
        .query_pairs()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.into_owned());
    let host = query_host.or_else(|| url.host_str().map(str::to_string))?;
    let db = url.path().trim_start_matches('/');
    let file = dest.map_or_else(
        || "hero_livekit.dump".to_string(),
        |d| d.display().to_string(),
    );
    Some(format!(
        "PGPASSWORD=… pg_dump --format=custom --file={file} --host={host} --port={} --username={} {db}",
        url.port().unwrap_or(5432),
        url.username(),
    ))
}
