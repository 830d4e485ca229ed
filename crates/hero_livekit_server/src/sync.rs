//! "Sync the files": render every file from the store and write the ones that differ. Boot and
//! every committed key transition go through here.

use hero_livekit_api::paths;
use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{FileStatus, FilesStatus};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Result;
use crate::files::{self, Outcome};
use crate::render;
use crate::side;
use crate::store::Store;

/// Names of generated secrets in the store.
pub const BACKEND_API_TOKEN: &str = "backend_api_token";
pub const TOKEN_ENDPOINT_TOKEN: &str = "token_endpoint_token";
pub const CANARY_SECRET: &str = "canary_secret";

/// The canary keys of the livekit.yaml on disk (design §8).
#[derive(Debug, Clone, Default)]
pub struct Canaries {
    /// Accepted by an SFU that runs exactly this file (this machine's node).
    pub node: String,
    /// Accepted by every node that runs the same cluster part.
    pub cluster: String,
    pub cluster_sha256: String,
}

/// What a sync did to each file.
pub struct Synced {
    pub files: FilesStatus,
    /// The canaries in the livekit.yaml on disk.
    pub canaries: Canaries,
    /// The config revision the files were rendered at (read before anything it covers).
    pub revision: i64,
    pub changes: Vec<(String, Outcome)>,
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

/// Renders the files from the store (egress.yaml while `[egress]` is enabled) and writes the
/// ones that differ. `missing_is_repair` is
/// set when the home existed before, so a vanished file counts as repaired, not created.
pub async fn sync_files(config: &Config, store: &Store, missing_is_repair: bool) -> Result<Synced> {
    let now = now_unix();
    let revision = store.revision().await?;
    let rows = store.keys().await?;
    let canary = store.ensure_secret(CANARY_SECRET, now).await?;
    let api_token = store.ensure_secret(BACKEND_API_TOKEN, now).await?;
    let endpoint_token = store.ensure_secret(TOKEN_ENDPOINT_TOKEN, now).await?;
    let lk = render::livekit_yaml(config, &rows, &canary)?;
    let yaml = lk.text;
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
    changes.extend(crate::public::files::sync(config)?);
    let backend_env = statuses.pop().expect("two files");
    let livekit_yaml = statuses.pop().expect("two files");
    let egress_yaml = if config.egress.enabled {
        let text = side::egress::render(config, &rows, side::egress::host_cores())?;
        let path = config.path(paths::EGRESS_YAML);
        let gid = config
            .egress
            .file_group
            .as_deref()
            .map(|g| crate::socket::resolve_group_for("egress.file_group", g))
            .transpose()?;
        let mut outcome =
            files::ensure_file_as(&path, text.as_bytes(), config.egress.file_mode, gid)?;
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
        let status = file_status(&path, text.as_bytes(), &outcome);
        changes.push((paths::EGRESS_YAML.to_string(), outcome));
        Some(status)
    } else {
        None
    };
    Ok(Synced {
        files: FilesStatus {
            livekit_yaml,
            backend_env,
            egress_yaml,
        },
        revision,
        canaries: Canaries {
            node: lk.canary,
            cluster: lk.cluster_canary,
            cluster_sha256: lk.cluster_sha256,
        },
        changes,
    })
}
