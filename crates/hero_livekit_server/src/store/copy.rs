//! `hero_livekit db copy`: the whole control-plane state from one database to another (SQLite
//! to PostgreSQL when a deployment outgrows one machine), in one transaction on the target,
//! verified by reading it back: row counts equal, every key's secret byte for byte.

use sqlx::FromRow;

use super::engine::{Serialized, TxExt};
use super::{Pool, Store, StoreError, StoreResult, op};

/// Everything the control plane keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    pub keys: Vec<KeyDump>,
    pub secrets: Vec<SecretDump>,
    pub audit: Vec<AuditDump>,
    pub revision: i64,
}

#[derive(Clone, PartialEq, FromRow)]
pub struct KeyDump {
    pub api_key: String,
    pub secret: String,
    pub state: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retire_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub grace_s: Option<i64>,
}

#[derive(Clone, PartialEq, FromRow)]
pub struct SecretDump {
    pub name: String,
    pub value: String,
    pub created_at: i64,
}

// By hand: a derived Debug would print the secrets a copy carries.
impl std::fmt::Debug for KeyDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyDump")
            .field("api_key", &self.api_key)
            .field("secret", &hero_livekit_api::redact::REDACTED)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SecretDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretDump")
            .field("name", &self.name)
            .field("value", &hero_livekit_api::redact::REDACTED)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AuditDump {
    pub id: i64,
    pub at: i64,
    pub method: String,
    pub peer_uid: Option<i64>,
    pub peer_pid: Option<i64>,
    pub params: String,
    pub outcome: String,
}

/// What a copy moved.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyReport {
    pub keys: usize,
    pub secrets: usize,
    pub audit: usize,
    pub revision: i64,
}

impl Store {
    pub async fn export(&self) -> StoreResult<Dump> {
        on_pool!(self, |p| {
            let keys = sqlx::query_as(
                "SELECT api_key, secret, state, created_at, activated_at, retire_at, revoked_at, grace_s FROM keys ORDER BY api_key",
            )
            .fetch_all(p)
            .await
            .map_err(op("read the keys"))?;
            let secrets =
                sqlx::query_as("SELECT name, value, created_at FROM secrets ORDER BY name")
                    .fetch_all(p)
                    .await
                    .map_err(op("read the secrets"))?;
            let audit = sqlx::query_as(
                "SELECT id, at, method, peer_uid, peer_pid, params, outcome FROM audit ORDER BY id",
            )
            .fetch_all(p)
            .await
            .map_err(op("read the audit log"))?;
            let revision: i64 = sqlx::query_scalar("SELECT rev FROM config_revision WHERE id = 1")
                .fetch_one(p)
                .await
                .map_err(op("read the revision"))?;
            Ok(Dump {
                keys,
                secrets,
                audit,
                revision,
            })
        })
    }

    /// Whether the database holds no state yet (a fresh target).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        let d = self.export().await?;
        Ok(d.keys.is_empty() && d.secrets.is_empty() && d.audit.is_empty())
    }

    /// Writes `d` into this database in one transaction; with `replace`, whatever was there is
    /// deleted first (inside the same transaction).
    pub async fn import(&self, d: &Dump, replace: bool) -> StoreResult<()> {
        on_pool!(self, |p| {
            let mut tx = p.begin_serialized().await.map_err(op("begin the copy"))?;
            if replace {
                for t in [
                    "DELETE FROM keys",
                    "DELETE FROM secrets",
                    "DELETE FROM audit",
                    "DELETE FROM instances",
                ] {
                    sqlx::query(t)
                        .execute(&mut *tx)
                        .await
                        .map_err(op("empty the target"))?;
                }
            }
            for k in &d.keys {
                sqlx::query(
                    "INSERT INTO keys (api_key, secret, state, created_at, activated_at, retire_at, revoked_at, grace_s) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&k.api_key)
                .bind(&k.secret)
                .bind(&k.state)
                .bind(k.created_at)
                .bind(k.activated_at)
                .bind(k.retire_at)
                .bind(k.revoked_at)
                .bind(k.grace_s)
                .execute(&mut *tx)
                .await
                .map_err(op("copy a key"))?;
            }
            for s in &d.secrets {
                sqlx::query("INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)")
                    .bind(&s.name)
                    .bind(&s.value)
                    .bind(s.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(op("copy a secret"))?;
            }
            for a in &d.audit {
                sqlx::query(
                    "INSERT INTO audit (id, at, method, peer_uid, peer_pid, params, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(a.id)
                .bind(a.at)
                .bind(&a.method)
                .bind(a.peer_uid)
                .bind(a.peer_pid)
                .bind(&a.params)
                .bind(&a.outcome)
                .execute(&mut *tx)
                .await
                .map_err(op("copy an audit entry"))?;
            }
            sqlx::query("UPDATE config_revision SET rev = $1 WHERE id = 1")
                .bind(d.revision)
                .execute(&mut *tx)
                .await
                .map_err(op("copy the revision"))?;
            // Every instance re-renders from the copied state: announce it like any change.
            tx.bump_revision().await.map_err(op("raise the revision"))?;
            tx.commit().await.map_err(op("commit the copy"))?;
            Ok::<(), StoreError>(())
        })?;
        // Explicit audit ids must not collide with the ones PostgreSQL hands out next.
        if let Pool::Postgres(p) = &self.pool {
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('audit', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM audit), 1))",
            )
            .execute(p)
            .await
            .map_err(op("advance the audit sequence"))?;
        }
        Ok(())
    }
}

/// Copies everything from `from` to `to` and verifies the copy. A target that already holds
/// state is refused unless `replace`.
pub async fn copy(from: &Store, to: &Store, replace: bool) -> StoreResult<CopyReport> {
    if !replace && !to.is_empty().await? {
        return Err(StoreError::Conflict(
            "the target already holds keys or an audit log; pass --replace to overwrite it".into(),
        ));
    }
    let d = from.export().await?;
    to.import(&d, replace).await?;
    let back = to.export().await?;
    let same_keys = back.keys.len() == d.keys.len()
        && d.keys.iter().all(|k| {
            back.keys
                .iter()
                .any(|b| b.api_key == k.api_key && b.secret == k.secret && b.state == k.state)
        });
    if !same_keys || back.secrets != d.secrets || back.audit.len() != d.audit.len() {
        return Err(StoreError::Corrupt(format!(
            "the copy does not read back the same: {} keys, {} secrets, {} audit entries written; {} / {} / {} read",
            d.keys.len(),
            d.secrets.len(),
            d.audit.len(),
            back.keys.len(),
            back.secrets.len(),
            back.audit.len()
        )));
    }
    Ok(CopyReport {
        keys: d.keys.len(),
        secrets: d.secrets.len(),
        audit: d.audit.len(),
        revision: back.revision,
    })
}

/// The tables a database holds, read without migrating it (to tell a control-plane database
/// from lk-backend's before opening it with either store). A SQLite file must exist.
pub async fn tables(url: &str) -> StoreResult<Vec<String>> {
    use sqlx::Connection;
    let fail = |e: sqlx::Error| StoreError::Open {
        url: super::redact_url(url),
        reason: e.to_string(),
    };
    if let Some(path) = super::sqlite::path_of(url) {
        if !path.exists() {
            return Err(StoreError::Open {
                url: super::redact_url(url),
                reason: "no such file".into(),
            });
        }
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts)
            .await
            .map_err(fail)?;
        return sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        )
        .fetch_all(&mut c)
        .await
        .map_err(fail);
    }
    let mut c = sqlx::PgConnection::connect(url).await.map_err(fail)?;
    sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .map_err(fail)
}
