//! Shared state of the running control plane, and the "sync the files" step that boot and
//! every key transition go through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use hero_livekit_api::methods::MethodSpec;
use hero_livekit_api::paths;
use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{FileStatus, FilesStatus};
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::config::Config;
use crate::db;
use crate::error::Result;
use crate::events::Events;
use crate::files::{self, Outcome};
use crate::keys;
use crate::livekit::{Acceptance, LiveKit};
use crate::render;
use crate::secrets::Secret;

/// Names of generated secrets in `server.db`.
pub const BACKEND_API_TOKEN: &str = "backend_api_token";
pub const TOKEN_ENDPOINT_TOKEN: &str = "token_endpoint_token";
pub const CANARY_SECRET: &str = "canary_secret";

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub pool: SqlitePool,
    pub started: Instant,
    pub livekit: LiveKit,
    pub events: Events,
    pub files: Mutex<FilesStatus>,
    pub canary_key: Mutex<String>,
    /// The registered methods, for `rpc.discover`.
    pub specs: OnceLock<Vec<MethodSpec>>,
    /// Serializes observations and key transitions, and remembers what was last seen.
    pub observed: tokio::sync::Mutex<Seen>,
    /// What the SFU last said about each key (for `keys.list`).
    pub acceptance: Mutex<HashMap<String, Acceptance>>,
}

/// What the last observation saw, to emit events only on changes.
#[derive(Debug, Default)]
pub struct Seen {
    pub reachable: Option<bool>,
    pub restart_required: Option<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

fn file_status(path: &std::path::Path, content: &[u8], outcome: &Outcome) -> FileStatus {
    let written_at = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(now_unix, |d| d.as_secs() as i64);
    FileStatus {
        path: path.display().to_string(),
        sha256: hex::encode(Sha256::digest(content)),
        written_at: rfc3339(written_at),
        repaired: matches!(outcome, Outcome::Rewritten(_)),
    }
}

/// What a sync did to each file.
pub struct Synced {
    pub files: FilesStatus,
    pub canary_key: String,
    pub changes: Vec<(String, Outcome)>,
}

/// Renders both files from the database and writes the ones that differ. `missing_is_repair`
/// is set when the home existed before, so a vanished file counts as repaired, not created.
pub async fn sync_files(
    config: &Config,
    pool: &SqlitePool,
    missing_is_repair: bool,
) -> Result<Synced> {
    let rows = keys::all(pool).await?;
    let canary = db::ensure_secret(pool, CANARY_SECRET).await?;
    let api_token = db::ensure_secret(pool, BACKEND_API_TOKEN).await?;
    let endpoint_token = db::ensure_secret(pool, TOKEN_ENDPOINT_TOKEN).await?;
    let (yaml, canary_key) = render::livekit_yaml(config, &rows, &canary)?;
    let env = render::backend_env(config, &rows, &api_token, &endpoint_token)?.render();

    let mut changes = Vec::new();
    let mut statuses = Vec::new();
    for (name, content) in [
        (paths::LIVEKIT_YAML, yaml.as_bytes()),
        (paths::BACKEND_ENV, env.as_bytes()),
    ] {
        let path = config.path(name);
        let mut outcome = files::ensure_file(&path, content)?;
        if outcome == Outcome::Created && missing_is_repair {
            outcome = Outcome::Rewritten("missing".into());
        }
        match &outcome {
            Outcome::Unchanged => {}
            Outcome::Created => tracing::info!(file = %path.display(), "wrote"),
            Outcome::Rewritten(why) => {
                tracing::warn!(file = %path.display(), reason = %why, "rewrote")
            }
        }
        statuses.push(file_status(&path, content, &outcome));
        changes.push((name.to_string(), outcome));
    }
    let backend_env = statuses.pop().expect("two files");
    let livekit_yaml = statuses.pop().expect("two files");
    Ok(Synced {
        files: FilesStatus {
            livekit_yaml,
            backend_env,
        },
        canary_key,
        changes,
    })
}

impl AppState {
    pub fn new(config: Config, pool: SqlitePool, synced: &Synced) -> Self {
        let livekit = LiveKit::new(&config.livekit_url, config.livekit_timeout);
        AppState(Arc::new(Inner {
            config,
            pool,
            started: Instant::now(),
            livekit,
            events: Events::default(),
            files: Mutex::new(synced.files.clone()),
            canary_key: Mutex::new(synced.canary_key.clone()),
            specs: OnceLock::new(),
            observed: tokio::sync::Mutex::new(Seen::default()),
            acceptance: Mutex::new(HashMap::new()),
        }))
    }

    /// Re-renders the files after a committed key transition, records their status and emits
    /// `file.rewritten` for each file that changed.
    pub async fn resync(&self) -> Result<()> {
        let synced = sync_files(&self.config, &self.pool, false).await?;
        for (name, outcome) in &synced.changes {
            if *outcome != Outcome::Unchanged {
                self.events.emit("file.rewritten", serde_json::json!({ "file": name, "path": self.config.path(name).display().to_string() }));
            }
        }
        *self.files.lock().expect("files lock") = synced.files;
        *self.canary_key.lock().expect("canary lock") = synced.canary_key;
        Ok(())
    }

    pub async fn secret(&self, name: &str) -> Result<Secret> {
        db::ensure_secret(&self.pool, name).await
    }
}
