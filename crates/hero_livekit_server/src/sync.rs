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

fn log_outcome(path: &std::path::Path, outcome: &Outcome) {
    match outcome {
        Outcome::Unchanged => {}
        Outcome::Created => tracing::info!(file = %path.display(), "wrote"),
        Outcome::Rewritten(why) => {
            tracing::warn!(file = %path.display(), reason = %why, "rewrote")
        }
    }
}

/// Renders the files from the store (egress.yaml, ingress.yaml and sip.yaml while their tables
/// are enabled), checks that they agree (`config.check`) and writes the ones that differ. `missing_is_repair` is
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

    // The side services' files, each with who may read it.
    let mut side_files = Vec::new();
    if config.egress.enabled {
        let text = side::egress::render(config, &rows, side::egress::host_cores())?;
        side_files.push((
            paths::EGRESS_YAML,
            "egress",
            text,
            config.egress.access.clone(),
        ));
    }
    if config.ingress.enabled {
        let text = side::ingress::render(config, &rows)?;
        side_files.push((
            paths::INGRESS_YAML,
            "ingress",
            text,
            config.ingress.access.clone(),
        ));
    }
    if config.sip.enabled {
        let text = side::sip::render(config, &rows)?;
        side_files.push((paths::SIP_YAML, "sip", text, config.sip.access.clone()));
    }
    // Every render is checked as a whole before anything is written (design §11.3).
    let mut rendered: std::collections::BTreeMap<String, String> = [
        (paths::LIVEKIT_YAML.to_string(), yaml.clone()),
        (paths::BACKEND_ENV.to_string(), env.clone()),
    ]
    .into_iter()
    .chain(
        side_files
            .iter()
            .map(|(name, _, text, _)| (name.to_string(), text.clone())),
    )
    .collect();
    rendered.extend(crate::public::files::renders(config));
    let checked = side::check::check(&rendered);
    if !checked.ok {
        let p = &checked.problems[0];
        return Err(crate::error::Error::Config {
            setting: format!("{} {}", p.file, p.key),
            reason: format!(
                "the rendered files disagree (config.check): {}",
                side::check::summary(&checked)
            ),
        });
    }

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
        log_outcome(&path, &outcome);
        statuses.push(file_status(&path, content, &outcome));
        changes.push((name.to_string(), outcome));
    }
    changes.extend(crate::public::files::sync(config)?);
    let backend_env = statuses.pop().expect("two files");
    let livekit_yaml = statuses.pop().expect("two files");
    let (mut egress_yaml, mut ingress_yaml, mut sip_yaml) = (None, None, None);
    for (name, table, text, access) in side_files {
        let path = config.path(name);
        let gid = access
            .file_group
            .as_deref()
            .map(|g| crate::socket::resolve_group_for(&format!("{table}.file_group"), g))
            .transpose()?;
        let mut outcome = files::ensure_file_as(&path, text.as_bytes(), access.file_mode, gid)?;
        if outcome == Outcome::Created && missing_is_repair {
            outcome = Outcome::Rewritten("missing".into());
        }
        log_outcome(&path, &outcome);
        let status = Some(file_status(&path, text.as_bytes(), &outcome));
        match table {
            "egress" => egress_yaml = status,
            "ingress" => ingress_yaml = status,
            _ => sip_yaml = status,
        }
        changes.push((name.to_string(), outcome));
    }
    Ok(Synced {
        files: FilesStatus {
            livekit_yaml,
            backend_env,
            egress_yaml,
            ingress_yaml,
            sip_yaml,
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
