//! Key lifecycle and restart detection (design §8).
//!
//! Transitions are driven by what the running SFU is seen to accept, are committed to
//! server.db first, and only then re-rendered into the files. `observe` is the one place that
//! looks at the SFU and applies due transitions; `status`, a timer and the key methods call it.

use std::collections::HashMap;
use std::time::Duration;

use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::{KeyAcceptance, KeyChange, KeyState, SfuStatus};
use serde_json::json;

use crate::db;
use crate::error::{Error, Result};
use crate::keys::{self, KeyRow};
use crate::livekit::Acceptance;
use crate::render::CANARY_PREFIX;
use crate::secrets;
use crate::state::{AppState, CANARY_SECRET};

/// How often the timer observes the SFU (applies `retire_at`, notices restarts).
pub const OBSERVE_EVERY: Duration = Duration::from_secs(5);

pub struct Observation {
    pub sfu: SfuStatus,
    pub keys: Vec<KeyAcceptance>,
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
}

fn as_bool(a: Option<Acceptance>) -> Option<bool> {
    match a {
        Some(Acceptance::Accepted) => Some(true),
        Some(Acceptance::NotLoaded) => Some(false),
        _ => None,
    }
}

/// Probes the SFU, applies due and observed transitions, and works out whether the SFU must be
/// restarted to load the files on disk.
pub async fn observe(state: &AppState) -> Result<Observation> {
    let mut seen = state.observed.lock().await;
    let mut changed = false;
    for k in keys::apply_due(&state.pool, now_unix()).await? {
        state.events.emit("key.retired", json!({ "api_key": k }));
        changed = true;
    }

    let mut sfu = crate::sfu::probe(state).await;
    let rows = keys::all(&state.pool).await?;
    let mut acceptance: HashMap<String, Acceptance> = HashMap::new();
    if sfu.reachable {
        for k in rows.iter().filter(|k| k.state != KeyState::Revoked) {
            acceptance.insert(
                k.api_key.clone(),
                state.livekit.accepts(&k.api_key, k.secret.expose()).await,
            );
        }
    }

    // A pending key the SFU accepts becomes active; the old active key starts its grace.
    if let Some(p) = rows.iter().find(|k| k.state == KeyState::Pending)
        && acceptance.get(&p.api_key) == Some(&Acceptance::Accepted)
    {
        let grace = grace_of(state, &p.api_key).await?;
        let now = now_unix();
        let mut tx = state.pool.begin().await?;
        let retiring: Vec<String> = sqlx::query_scalar(
            "UPDATE keys SET state = 'retiring', retire_at = ? WHERE state = 'active' RETURNING api_key",
        )
        .bind(now + grace)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE keys SET state = 'active', activated_at = ? WHERE api_key = ?")
            .bind(now)
            .bind(&p.api_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(api_key = %p.api_key, "the SFU accepts the new key: it is now active");
        state
            .events
            .emit("key.active", json!({ "api_key": p.api_key }));
        for k in retiring {
            state
                .events
                .emit("key.retiring", json!({ "api_key": k, "grace_s": grace }));
        }
        changed = true;
    }
    // A retired key the SFU refuses is gone for good.
    for k in rows.iter().filter(|k| k.state == KeyState::Retired) {
        if acceptance.get(&k.api_key) == Some(&Acceptance::NotLoaded) {
            sqlx::query("UPDATE keys SET state = 'revoked', revoked_at = ? WHERE api_key = ? AND state = 'retired'")
                .bind(now_unix())
                .bind(&k.api_key)
                .execute(&state.pool)
                .await?;
            tracing::info!(api_key = %k.api_key, "the SFU no longer accepts the retired key: revoked");
            state
                .events
                .emit("key.revoked", json!({ "api_key": k.api_key }));
            changed = true;
        }
    }
    if changed {
        state.resync().await?;
    }

    // The canary: accepted only by an SFU that runs exactly the livekit.yaml on disk.
    if sfu.reachable {
        let canary = state.canary_key.lock().expect("canary lock").clone();
        let secret = db::ensure_secret(&state.pool, CANARY_SECRET).await?;
        sfu.config_loaded = as_bool(Some(state.livekit.accepts(&canary, secret.expose()).await));
    }

    let rows = keys::all(&state.pool).await?;
    let mut reasons = Vec::new();
    if sfu.config_loaded == Some(false) {
        reasons.push("livekit.yaml changed since the SFU started".to_string());
    }
    for k in &rows {
        match (k.state, acceptance.get(&k.api_key)) {
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
    let restart_required = !reasons.is_empty();

    if seen.reachable != Some(sfu.reachable) {
        let kind = if sfu.reachable {
            "sfu.reachable"
        } else {
            "sfu.unreachable"
        };
        state
            .events
            .emit(kind, json!({ "url": sfu.url, "error": sfu.error }));
        seen.reachable = Some(sfu.reachable);
    }
    if seen.restart_required != Some(restart_required) {
        if seen.restart_required.is_some() || restart_required {
            state.events.emit(
                "restart_required",
                json!({ "required": restart_required, "reasons": reasons }),
            );
        }
        seen.restart_required = Some(restart_required);
    }
    let keys = rows
        .iter()
        .filter(|k| k.state != KeyState::Revoked)
        .map(|k| KeyAcceptance {
            api_key: k.api_key.clone(),
            state: k.state,
            sfu_accepts: as_bool(acceptance.get(&k.api_key).copied()),
        })
        .collect();
    *state.acceptance.lock().expect("acceptance lock") = acceptance;
    Ok(Observation {
        sfu,
        keys,
        restart_required,
        restart_reasons: reasons,
    })
}

async fn grace_of(state: &AppState, api_key: &str) -> Result<i64> {
    let g: Option<i64> = sqlx::query_scalar("SELECT grace_s FROM keys WHERE api_key = ?")
        .bind(api_key)
        .fetch_one(&state.pool)
        .await?;
    Ok(g.unwrap_or(state.config.token_max_ttl.as_secs() as i64))
}

/// `keys.rotate`: a new pending key, in livekit.yaml (and signing webhooks) at once, signing
/// tokens only once the SFU is seen accepting it.
pub async fn rotate(state: &AppState, grace_s: Option<u64>) -> Result<KeyChange> {
    let _guard = state.observed.lock().await;
    let grace = grace_s.unwrap_or(state.config.token_max_ttl.as_secs());
    if grace > 10 * 365 * 86400 {
        return Err(Error::params("grace_s", "must be at most ten years"));
    }
    let mut tx = state.pool.begin().await?;
    let pending: Option<String> =
        sqlx::query_scalar("SELECT api_key FROM keys WHERE state = 'pending'")
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(p) = pending {
        return Err(Error::Conflict(format!(
            "a rotation is already in progress: key {p} is pending until the SFU is restarted and accepts it"
        )));
    }
    let key = secrets::new_api_key();
    let secret = secrets::new_secret();
    sqlx::query("INSERT INTO keys (api_key, secret, state, created_at, grace_s) VALUES (?, ?, 'pending', ?, ?)")
        .bind(&key)
        .bind(secret.expose())
        .bind(now_unix())
        .bind(grace as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(api_key = %key, grace_s = grace, "rotation started: new key pending");
    state
        .events
        .emit("key.pending", json!({ "api_key": key, "grace_s": grace }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: key,
        state: KeyState::Pending,
    })
}

/// `keys.revoke`: the emergency path. The key leaves every file at once.
pub async fn revoke(state: &AppState, api_key: &str) -> Result<KeyChange> {
    let _guard = state.observed.lock().await;
    let row = keys::get(&state.pool, api_key)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no key {api_key}")))?;
    if row.state == KeyState::Revoked {
        return Err(Error::Conflict(format!("key {api_key} is already revoked")));
    }
    let now = now_unix();
    let mut tx = state.pool.begin().await?;
    if row.state == KeyState::Active {
        // Another key must be able to sign: a pending one takes over at once (the SFU will
        // accept it after its restart, which revoking a compromised key requires anyway).
        let promoted = sqlx::query(
            "UPDATE keys SET state = 'active', activated_at = ? WHERE state = 'pending'",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if promoted == 0 {
            return Err(Error::Conflict(format!(
                "cannot revoke {api_key}: it is the only key that can sign tokens; run keys.rotate first"
            )));
        }
    }
    sqlx::query("UPDATE keys SET state = 'revoked', revoked_at = ? WHERE api_key = ?")
        .bind(now)
        .bind(api_key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::warn!(api_key = %api_key, "key revoked");
    state
        .events
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
    let _guard = state.observed.lock().await;
    if api_key.is_empty()
        || api_key.len() > 64
        || !api_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::params(
            "api_key",
            "must be 1-64 characters of A-Z, a-z, 0-9, _ or -",
        ));
    }
    if api_key.starts_with(CANARY_PREFIX) {
        return Err(Error::params(
            "api_key",
            format!("the {CANARY_PREFIX} prefix is reserved"),
        ));
    }
    if secret.len() < 32 {
        return Err(Error::params(
            "secret",
            "must be at least 32 characters (LiveKit's minimum)",
        ));
    }
    if !secret
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',' && b != b'"' && b != b'\\')
    {
        return Err(Error::params(
            "secret",
            "must be printable ASCII without spaces, commas, quotes or backslashes",
        ));
    }
    if keys::get(&state.pool, api_key).await?.is_some() {
        return Err(Error::Conflict(format!("key {api_key} already exists")));
    }
    let now = now_unix();
    let grace = state.config.token_max_ttl.as_secs() as i64;
    let mut tx = state.pool.begin().await?;
    sqlx::query("UPDATE keys SET state = 'retiring', retire_at = ? WHERE state = 'active'")
        .bind(now + grace)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO keys (api_key, secret, state, created_at, activated_at) VALUES (?, ?, 'active', ?, ?)")
        .bind(api_key)
        .bind(secret)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(api_key = %api_key, "imported key is now active");
    state
        .events
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
    let seen = state.acceptance.lock().expect("acceptance lock");
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
