//! Writes what `[public]` renders besides livekit.yaml: the Caddyfile and haproxy.cfg, each
//! checked by the real program first (a render it refuses is logged with its own text and the
//! file on disk is left as it was), and the TURN certificate copy. Called from
//! `sync::sync_files`, so boot writes them before the socket accepts, like every other file.

use std::sync::Mutex;

use super::validate::{self, Validator, Verdict};
use super::{CADDYFILE, HAPROXY_CFG, caddy, haproxy, turn_cert};
use crate::config::Config;
use crate::error::Result;
use crate::files::{self, Outcome};

/// The last validation of each proxy file, for `deploy.check` (per home: tests run several
/// control planes in one process).
static LAST: Mutex<Vec<(std::path::PathBuf, Verdict)>> = Mutex::new(Vec::new());

/// What the last render of `path` got from its validator, if it was rendered and refused.
pub fn last_refusal(path: &std::path::Path) -> Option<String> {
    LAST.lock()
        .expect("validation lock")
        .iter()
        .find(|(p, _)| p == path)
        .and_then(|(_, v)| match v {
            Verdict::Invalid(t) => Some(t.clone()),
            _ => None,
        })
}

fn remember(path: &std::path::Path, v: &Verdict) {
    let mut last = LAST.lock().expect("validation lock");
    last.retain(|(p, _)| p != path);
    last.push((path.to_path_buf(), v.clone()));
}

/// The proxy configs as rendered, by file name (for `config.check`).
pub fn renders(config: &Config) -> Vec<(String, String)> {
    let Some(p) = &config.public else {
        return Vec::new();
    };
    [
        (CADDYFILE, Some(caddy::render(config, p))),
        (HAPROXY_CFG, haproxy::render(p)),
    ]
    .into_iter()
    .filter_map(|(n, t)| t.map(|t| (n.to_string(), t)))
    .collect()
}

/// Renders, validates and writes the proxy configs; copies a renewed TURN certificate.
/// Returns what changed, by file name.
pub fn sync(config: &Config) -> Result<Vec<(String, Outcome)>> {
    let Some(p) = &config.public else {
        return Ok(Vec::new());
    };
    let mut changes = Vec::new();
    let renders = [
        (CADDYFILE, Validator::Caddy, Some(caddy::render(config, p))),
        (HAPROXY_CFG, Validator::Haproxy, haproxy::render(p)),
    ];
    for (name, validator, text) in renders {
        let Some(text) = text else { continue };
        let path = config.path(name);
        if std::fs::read(&path).is_ok_and(|cur| cur == text.as_bytes()) {
            // Already on disk: ensure_file only fixes its mode.
            changes.push((
                name.to_string(),
                files::ensure_file(&path, text.as_bytes())?,
            ));
            continue;
        }
        let verdict = validate::content(validator, &path, &text);
        remember(&path, &verdict);
        match &verdict {
            Verdict::Invalid(why) => {
                tracing::error!(
                    file = %path.display(),
                    validator = validator.program(),
                    error = %why,
                    "the render was refused by its validator; the file on disk is left as it was"
                );
                continue;
            }
            Verdict::Unchecked(why) => {
                tracing::warn!(file = %path.display(), reason = %why, "written without validation")
            }
            Verdict::Valid => {}
        }
        let outcome = files::ensure_file(&path, text.as_bytes())?;
        if outcome != Outcome::Unchanged {
            tracing::info!(file = %path.display(), "wrote (validated by {})", validator.program());
        }
        changes.push((name.to_string(), outcome));
    }
    if let Some(copied) = turn_cert::sync(config, p)? {
        changes.push((super::TURN_CERT.to_string(), copied));
    }
    Ok(changes)
}

/// How often Caddy's storage is looked at for a renewed TURN certificate.
pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Copies Caddy's TURN certificate whenever it changes, until the server stops (a `file.rewritten`
/// event each time; the restart it needs is reported by `status`).
pub async fn watch(state: crate::state::AppState) {
    let Some(p) = state.config().public.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cfg = state.config().clone();
        let p = p.clone();
        match tokio::task::spawn_blocking(move || turn_cert::sync(&cfg, &p)).await {
            Ok(Ok(Some(outcome))) => {
                state.metrics().file_written(super::TURN_CERT, &outcome);
                state.events().emit(
                    "file.rewritten",
                    serde_json::json!({
                        "file": super::TURN_CERT,
                        "path": state.config().path(super::TURN_CERT).display().to_string(),
                        "reason": match outcome { Outcome::Rewritten(r) => r, _ => "created".into() },
                    }),
                )
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot copy the TURN certificate"),
            Err(e) => tracing::warn!(error = %e, "TURN certificate task failed"),
        }
    }
}
