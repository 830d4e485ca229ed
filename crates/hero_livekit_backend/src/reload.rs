//! Picks up a rewritten backend.env without a restart.
//!
//! The control plane replaces the file by rename, which a watch on the file itself would miss;
//! polling a hash of the path's content every few hundred ms sees renames, edits and
//! re-creations alike, at the cost of one small read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

use crate::config::{Settings, settings_from_text};

pub fn spawn(
    path: PathBuf,
    overrides: BTreeMap<String, String>,
    settings: Arc<ArcSwap<Settings>>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // No initial hash: the first look parses the file, so a rewrite that landed between
        // the boot-time read and this task's start is not missed (an unchanged file is a no-op).
        let mut last = None;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let bytes = match tokio::fs::read(&path).await {
                Ok(b) => b,
                Err(e) => {
                    if last.take().is_some() {
                        tracing::warn!(path = %path.display(), error = %e,
                            "cannot read backend.env; keeping the current config");
                    }
                    continue;
                }
            };
            let hash = Sha256::digest(&bytes);
            if last.as_ref() == Some(&hash) {
                continue;
            }
            last = Some(hash);
            let text = String::from_utf8_lossy(&bytes);
            match settings_from_text(&path, &text, &overrides) {
                Ok(new) if new == **settings.load() => {}
                Ok(new) => {
                    let old = settings.load();
                    if (
                        old.env.database_url.as_str(),
                        old.env.port,
                        old.env.bind.as_str(),
                    ) != (
                        new.env.database_url.as_str(),
                        new.env.port,
                        new.env.bind.as_str(),
                    ) {
                        tracing::warn!(
                            "DATABASE_URL, PORT or BIND changed: they apply at the next start"
                        );
                    }
                    tracing::info!(
                        signing_key = %new.env.livekit_api_key,
                        previous_signing_key = %old.env.livekit_api_key,
                        webhook_keys = new.env.livekit_webhook_keys.len(),
                        "backend.env reloaded"
                    );
                    settings.store(Arc::new(new));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "backend.env changed but cannot be used; keeping the current config")
                }
            }
        }
    })
}
