//! API keys and their lifecycle (design §8). The database is the source of truth; the files
//! are rendered from the rows, so every transition is committed before any file changes.

use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{KeyInfo, KeyState};
use sqlx::SqlitePool;

use crate::error::{Error, Result};
use crate::secrets::{self, Secret};

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub api_key: String,
    pub secret: Secret,
    pub state: KeyState,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retire_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl KeyRow {
    /// Whether livekit-server must accept this key (it is in livekit.yaml `keys`).
    pub fn in_livekit_yaml(&self) -> bool {
        matches!(
            self.state,
            KeyState::Pending | KeyState::Active | KeyState::Retiring
        )
    }

    /// Whether the SFU may still sign webhooks with it (it is in LIVEKIT_WEBHOOK_KEYS).
    pub fn may_sign_webhooks(&self) -> bool {
        self.state != KeyState::Revoked
    }

    pub fn info(&self, sfu_accepts: Option<bool>) -> KeyInfo {
        KeyInfo {
            api_key: self.api_key.clone(),
            state: self.state,
            created_at: rfc3339(self.created_at),
            activated_at: self.activated_at.map(rfc3339),
            retire_at: self.retire_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
            sfu_accepts,
        }
    }
}

type Row = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn from_row(r: Row) -> Result<KeyRow> {
    let state = KeyState::parse(&r.2)
        .ok_or_else(|| Error::Storage(format!("key {} has unknown state {:?}", r.0, r.2)))?;
    Ok(KeyRow {
        api_key: r.0,
        secret: Secret::new(r.1),
        state,
        created_at: r.3,
        activated_at: r.4,
        retire_at: r.5,
        revoked_at: r.6,
    })
}

/// `SELECT <every key column> FROM keys <rest>` as one literal (sqlx wants literal SQL).
macro_rules! select_keys {
    ($rest:literal) => {
        concat!("SELECT api_key, secret, state, created_at, activated_at, retire_at, revoked_at FROM keys ", $rest)
    };
}

/// Every key, oldest first.
pub async fn all(pool: &SqlitePool) -> Result<Vec<KeyRow>> {
    let rows: Vec<Row> = sqlx::query_as(select_keys!("ORDER BY created_at, api_key"))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn get(pool: &SqlitePool, api_key: &str) -> Result<Option<KeyRow>> {
    let row: Option<Row> = sqlx::query_as(select_keys!("WHERE api_key = ?"))
        .bind(api_key)
        .fetch_optional(pool)
        .await?;
    row.map(from_row).transpose()
}

/// The key that signs new tokens.
pub async fn active(pool: &SqlitePool) -> Result<KeyRow> {
    let row: Option<Row> = sqlx::query_as(select_keys!(
        "WHERE state = 'active' ORDER BY activated_at DESC LIMIT 1"
    ))
    .fetch_optional(pool)
    .await?;
    row.map(from_row)
        .transpose()?
        .ok_or_else(|| Error::Storage("no active key".into()))
}

/// Boot step 6: make sure one key is active, minting the first one on a fresh home, and apply
/// transitions that fell due while the server was down. Returns the active key.
pub async fn ensure_active(pool: &SqlitePool) -> Result<KeyRow> {
    apply_due(pool, now_unix()).await?;
    let mut tx = pool.begin().await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keys WHERE state = 'active'")
        .fetch_one(&mut *tx)
        .await?;
    if n == 0 {
        let key = secrets::new_api_key();
        let secret = secrets::new_secret();
        let now = now_unix();
        sqlx::query("INSERT INTO keys (api_key, secret, state, created_at, activated_at) VALUES (?, ?, 'active', ?, ?)")
            .bind(&key)
            .bind(secret.expose())
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tracing::info!(api_key = %key, "minted the first API key");
    }
    tx.commit().await?;
    active(pool).await
}

/// `retiring` keys whose grace ended become `retired`. Returns the keys that changed.
pub async fn apply_due(pool: &SqlitePool, now: i64) -> Result<Vec<String>> {
    let changed: Vec<String> = sqlx::query_scalar(
        "UPDATE keys SET state = 'retired' WHERE state = 'retiring' AND retire_at <= ? RETURNING api_key",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    for k in &changed {
        tracing::info!(api_key = %k, "key retired: its grace period ended");
    }
    Ok(changed)
}
