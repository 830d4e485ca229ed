//! Key lifecycle and restart detection (design §8).
//!
//! One observation is: probe what the SFU accepts → [`decide`] which transitions are due (a pure
//! function of the rows and what was seen) → apply each through the store (conditional updates,
//! so a transition already made by someone else is a no-op) → re-render the files → emit events.
//! `status`, a timer and the key methods all go through here, one at a time.

use std::collections::HashMap;
use std::time::Duration;

use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::{KeyAcceptance, KeyChange, KeyState, SfuStatus};
use serde_json::json;

use crate::error::{Error, Result};
use crate::keys::{self, KeyRow};
use crate::livekit::Acceptance;
use crate::state::AppState;
use crate::store::Revoked;
use crate::sync::CANARY_SECRET;

/// How often the timer observes the SFU (applies `retire_at`, notices restarts).
pub const OBSERVE_EVERY: Duration = Duration::from_secs(5);

pub struct Observation {
    pub sfu: SfuStatus,
    pub keys: Vec<KeyAcceptance>,
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
}

/// A transition the observation found due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The pending key is accepted: it becomes active, the active key starts retiring.
    Activate(String),
    /// A retired key is refused: it is gone for good.
    RevokeRetired(String),
}

fn as_bool(a: Option<Acceptance>) -> Option<bool> {
    match a {
        Some(Acceptance::Accepted) => Some(true),
        Some(Acceptance::NotLoaded) => Some(false),
        _ => None,
    }
}

/// Which transitions are due, given the key rows and what the SFU said about each key. Keys
/// the SFU could not be asked about (unknown) never move.
pub fn decide(rows: &[KeyRow], seen: &HashMap<String, Acceptance>) -> Vec<Transition> {
    let mut out = Vec::new();
    for k in rows {
        match (k.state, seen.get(&k.api_key)) {
            (KeyState::Pending, Some(Acceptance::Accepted)) => {
                out.push(Transition::Activate(k.api_key.clone()))
            }
            (KeyState::Retired, Some(Acceptance::NotLoaded)) => {
                out.push(Transition::RevokeRetired(k.api_key.clone()))
            }
            _ => {}
        }
    }
    out
}

/// Why the SFU must restart to run the files on disk (empty: it need not).
pub fn restart_reasons(
    rows: &[KeyRow],
    seen: &HashMap<String, Acceptance>,
    config_loaded: Option<bool>,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if config_loaded == Some(false) {
        reasons.push("livekit.yaml changed since the SFU started".to_string());
    }
    for k in rows {
        match (k.state, seen.get(&k.api_key)) {
            (KeyState::Pending, Some(Acceptance::NotLoaded)) => reasons.push(format!(
                "new key {} is not loaded by the SFU yet",
                k.api_key
            )),
            (KeyState::Retired, Some(Acceptance::Accepted)) => reasons.push(format!(
                "retired key {} is still accepted by the SFU",
                k.api_key
            )),
            _ => {}
        }
    }
    reasons
}

/// Asks the SFU about health and every non-revoked key.
async fn probe(state: &AppState, rows: &[KeyRow]) -> (SfuStatus, HashMap<String, Acceptance>) {
    let sfu = crate::sfu::probe(state).await;
    let mut seen = HashMap::new();
    if sfu.reachable {
        for k in rows.iter().filter(|k| k.state != KeyState::Revoked) {
            let a = state.livekit().accepts(&k.api_key, k.secret.expose()).await;
            seen.insert(k.api_key.clone(), a);
        }
    }
    (sfu, seen)
}

/// Applies one transition; returns whether it changed anything (false when another caller
/// already made it).
async fn apply(state: &AppState, t: &Transition) -> Result<bool> {
    let store = state.store();
    let now = now_unix();
    match t {
        Transition::Activate(key) => {
            let default_grace = state.config().token_max_ttl.as_secs() as i64;
            let Some((retiring, grace)) = store.promote_pending(key, now, default_grace).await?
            else {
                return Ok(false);
            };
            tracing::info!(api_key = %key, "the SFU accepts the new key: it is now active");
            state.events().emit("key.active", json!({ "api_key": key }));
            for k in retiring {
                state
                    .events()
                    .emit("key.retiring", json!({ "api_key": k, "grace_s": grace }));
            }
            Ok(true)
        }
        Transition::RevokeRetired(key) => {
            if !store.revoke_retired(key, now).await? {
                return Ok(false);
            }
            tracing::info!(api_key = %key, "the SFU no longer accepts the retired key: revoked");
            state
                .events()
                .emit("key.revoked", json!({ "api_key": key }));
            Ok(true)
        }
    }
}

/// Probes the SFU, applies due and observed transitions, and works out whether the SFU must be
/// restarted to load the files on disk.
pub async fn observe(state: &AppState) -> Result<Observation> {
    let mut last = state.transitions().await;
    let mut changed = false;
    for k in state.store().retire_due(now_unix()).await? {
        tracing::info!(api_key = %k, "key retired: its grace period ended");
        state.events().emit("key.retired", json!({ "api_key": k }));
        changed = true;
    }

    let rows = state.store().keys().await?;
    let (mut sfu, seen) = probe(state, &rows).await;
    for t in decide(&rows, &seen) {
        changed |= apply(state, &t).await?;
    }
    if changed {
        state.resync().await?;
    }

    // The canary: accepted only by an SFU that runs exactly the livekit.yaml on disk.
    if sfu.reachable {
        let canary = state.canary_key();
        let secret = state.secret(CANARY_SECRET).await?;
        sfu.config_loaded = as_bool(Some(
            state.livekit().accepts(&canary, secret.expose()).await,
        ));
    }

    let rows = state.store().keys().await?;
    let reasons = restart_reasons(&rows, &seen, sfu.config_loaded);
    let restart_required = !reasons.is_empty();

    if last.reachable != Some(sfu.reachable) {
        let kind = if sfu.reachable {
            "sfu.reachable"
        } else {
            "sfu.unreachable"
        };
        state
            .events()
            .emit(kind, json!({ "url": sfu.url, "error": sfu.error }));
        last.reachable = Some(sfu.reachable);
    }
    if last.restart_required != Some(restart_required) {
        if last.restart_required.is_some() || restart_required {
            state.events().emit(
                "restart_required",
                json!({ "required": restart_required, "reasons": reasons }),
            );
        }
        last.restart_required = Some(restart_required);
    }
    let keys = rows
        .iter()
        .filter(|k| k.state != KeyState::Revoked)
        .map(|k| KeyAcceptance {
            api_key: k.api_key.clone(),
            state: k.state,
            sfu_accepts: as_bool(seen.get(&k.api_key).copied()),
        })
        .collect();
    state.set_acceptance(seen);
    Ok(Observation {
        sfu,
        keys,
        restart_required,
        restart_reasons: reasons,
    })
}

/// `keys.rotate`: a new pending key, in livekit.yaml (and signing webhooks) at once, signing
/// tokens only once the SFU is seen accepting it.
pub async fn rotate(state: &AppState, grace_s: Option<u64>) -> Result<KeyChange> {
    let _turn = state.transitions().await;
    let grace = grace_s.unwrap_or(state.config().token_max_ttl.as_secs());
    if grace > 10 * 365 * 86400 {
        return Err(Error::params("grace_s", "must be at most ten years"));
    }
    let key = state
        .store()
        .insert_pending(grace as i64, now_unix())
        .await?;
    tracing::info!(api_key = %key, grace_s = grace, "rotation started: new key pending");
    state
        .events()
        .emit("key.pending", json!({ "api_key": key, "grace_s": grace }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: key,
        state: KeyState::Pending,
    })
}

/// `keys.revoke`: the emergency path. The key leaves every file at once.
pub async fn revoke(state: &AppState, api_key: &str) -> Result<KeyChange> {
    let _turn = state.transitions().await;
    let outcome = state.store().revoke(api_key, now_unix()).await?;
    if let Revoked::Promoted(k) = &outcome {
        // The SFU will accept it after its restart, which revoking a compromised key requires.
        tracing::warn!(api_key = %k, "the pending key signs tokens now that the active key is revoked");
        state.events().emit("key.active", json!({ "api_key": k }));
    }
    tracing::warn!(api_key = %api_key, "key revoked");
    state
        .events()
        .emit("key.revoked", json!({ "api_key": api_key }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: api_key.to_string(),
        state: KeyState::Revoked,
    })
}

/// `keys.import`: adopt an existing deployment's key as the active key; the previous active
/// key keeps working for the maximum token lifetime.
pub async fn import(state: &AppState, api_key: &str, secret: &str) -> Result<KeyChange> {
    let _turn = state.transitions().await;
    keys::check_import(api_key, secret)?;
    let grace = state.config().token_max_ttl.as_secs() as i64;
    state
        .store()
        .import_active(api_key, secret, now_unix(), grace)
        .await?;
    tracing::info!(api_key = %api_key, "imported key is now active");
    state
        .events()
        .emit("key.imported", json!({ "api_key": api_key }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: api_key.to_string(),
        state: KeyState::Active,
    })
}

/// Key rows with what the SFU last said about each.
pub fn with_acceptance(
    state: &AppState,
    rows: Vec<KeyRow>,
) -> Vec<hero_livekit_api::types::KeyInfo> {
    let seen = state.acceptance();
    rows.into_iter()
        .map(|k| {
            let a = as_bool(seen.get(&k.api_key).copied());
            k.info(a)
        })
        .collect()
}

/// The timer: observes the SFU every few seconds until the server stops.
pub async fn run_timer(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = observe(&state).await {
            tracing::warn!(error = %e, "observing the SFU failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn row(name: &str, state: KeyState) -> KeyRow {
        KeyRow {
            api_key: name.into(),
            secret: Secret::new("s".repeat(40)),
            state,
            created_at: 1,
            activated_at: None,
            retire_at: None,
            revoked_at: None,
        }
    }

    fn seen(pairs: &[(&str, Acceptance)]) -> HashMap<String, Acceptance> {
        pairs.iter().map(|(k, a)| (k.to_string(), *a)).collect()
    }

    #[test]
    fn a_pending_key_activates_only_once_accepted() {
        let rows = [row("A", KeyState::Active), row("P", KeyState::Pending)];
        assert!(decide(&rows, &seen(&[("P", Acceptance::NotLoaded)])).is_empty());
        assert!(decide(&rows, &seen(&[("P", Acceptance::Unknown)])).is_empty());
        assert!(decide(&rows, &seen(&[])).is_empty());
        assert_eq!(
            decide(&rows, &seen(&[("P", Acceptance::Accepted)])),
            vec![Transition::Activate("P".into())]
        );
        assert_eq!(
            restart_reasons(&rows, &seen(&[("P", Acceptance::NotLoaded)]), Some(true)),
            vec!["new key P is not loaded by the SFU yet".to_string()]
        );
    }

    #[test]
    fn a_retired_key_is_revoked_only_once_refused() {
        let rows = [row("A", KeyState::Active), row("R", KeyState::Retired)];
        assert!(decide(&rows, &seen(&[("R", Acceptance::Accepted)])).is_empty());
        assert_eq!(
            decide(&rows, &seen(&[("R", Acceptance::NotLoaded)])),
            vec![Transition::RevokeRetired("R".into())]
        );
        assert_eq!(
            restart_reasons(&rows, &seen(&[("R", Acceptance::Accepted)]), Some(false)),
            vec![
                "livekit.yaml changed since the SFU started".to_string(),
                "retired key R is still accepted by the SFU".to_string()
            ]
        );
    }
}
