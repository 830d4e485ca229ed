//! The control plane's storage boundary: every SQL statement of the crate lives under this
//! module (a test enforces it). Each method is one domain-level transaction — the lifecycle
//! code decides *which* transition to make, the store makes it atomically and conditionally, so
//! even two callers racing cannot corrupt a key's state.
//!
//! The engine is chosen by the database URL (`sqlite://…` by default). Statements are written
//! once in the SQL both engines share (`$N` placeholders, `ON CONFLICT`, `RETURNING`, unix
//! seconds as integers) and run on whichever pool is open; only what differs per engine
//! (opening, pragmas, backups) is written per engine, in its own submodule.

mod cluster;
mod engine;
mod postgres;
mod sqlite;

use std::path::Path;

pub use cluster::Leadership;
use engine::{Serialized, TxExt};

use hero_livekit_api::types::KeyState;
use sqlx::FromRow;

use crate::keys::KeyRow;
use crate::secrets::{self, Secret};

/// Why a storage operation failed. Mapped once into the crate's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The engine failed; `op` says what the store was doing.
    #[error("{op}: {source}")]
    Backend {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The database cannot be opened or migrated; names the URL with any password redacted.
    #[error("database {url}: {reason}")]
    Open { url: String, reason: String },
    /// A row holds something this version cannot read.
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

fn op(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Backend { op, source }
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs the same statements on whichever engine is open (each arm is type-checked for its
/// engine, so a statement one engine cannot run fails to compile, not at runtime).
macro_rules! on_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

// After the macro, which it uses.
pub mod copy;

/// A handle on the control plane's database (cheap to clone).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

/// A key as stored.
#[derive(FromRow)]
struct KeyRecord {
    api_key: String,
    secret: String,
    state: String,
    created_at: i64,
    activated_at: Option<i64>,
    retire_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl KeyRecord {
    fn into_row(self) -> StoreResult<KeyRow> {
        let state = KeyState::parse(&self.state).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "key {} has unknown state {:?}",
                self.api_key, self.state
            ))
        })?;
        Ok(KeyRow {
            api_key: self.api_key,
            secret: Secret::new(self.secret),
            state,
            created_at: self.created_at,
            activated_at: self.activated_at,
            retire_at: self.retire_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// `SELECT <every key column> FROM keys <rest>` as one literal (sqlx wants static SQL).
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT api_key, secret, state, created_at, activated_at, retire_at, revoked_at FROM keys ",
            $rest
        )
    };
}

/// One audit entry to record.
pub struct NewAudit<'a> {
    pub at: i64,
    pub method: &'a str,
    pub peer_uid: Option<u32>,
    pub peer_pid: Option<i32>,
    /// Already redacted, as JSON text.
    pub params: String,
    pub outcome: &'a str,
}

/// One stored audit entry.
#[derive(Debug, FromRow)]
pub struct AuditRecord {
    pub at: i64,
    pub method: String,
    pub peer_uid: Option<i64>,
    pub peer_pid: Option<i64>,
    pub params: String,
    pub outcome: String,
}

/// What one control plane rendered, as recorded in the shared database.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct InstanceRecord {
    pub instance_id: String,
    pub host: String,
    pub home: String,
    pub node_ip: Option<String>,
    pub rendered_rev: i64,
    pub cluster_sha256: String,
    pub rendered_at: i64,
    pub seen_at: i64,
}

/// What `revoke` did besides revoking.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The key was not the signer.
    Plain,
    /// The revoked key was the active one; this pending key took over signing.
    Promoted(String),
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `url`: `sqlite://<path>` or
    /// `postgres://user:pass@host:port/db` (also `?host=/socket/dir`).
    pub async fn open(url: &str) -> StoreResult<Store> {
        if let Some(path) = sqlite::path_of(url) {
            return Ok(Store {
                pool: Pool::Sqlite(sqlite::open(&path).await?),
            });
        }
        if postgres::is_postgres(url) {
            return Ok(Store {
                pool: Pool::Postgres(postgres::open(url).await?),
            });
        }
        Err(StoreError::Open {
            url: redact_url(url),
            reason: "must start with sqlite:// or postgres://".into(),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// The PostgreSQL pool, for LISTEN and the advisory lock (`None` on SQLite).
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// Opens the SQLite file at `path` (the default `<home>/server.db`).
    pub async fn open_sqlite(path: &Path) -> StoreResult<Store> {
        Ok(Store {
            pool: Pool::Sqlite(sqlite::open(path).await?),
        })
    }

    pub async fn close(&self) {
        on_pool!(self, |p| p.close().await)
    }

    /// Every key, oldest first.
    pub async fn keys(&self) -> StoreResult<Vec<KeyRow>> {
        let rows: Vec<KeyRecord> = on_pool!(self, |p| sqlx::query_as(select_keys!(
            "ORDER BY created_at, api_key"
        ))
        .fetch_all(p)
        .await
        .map_err(op("read the keys"))?);
        rows.into_iter().map(KeyRecord::into_row).collect()
    }

    pub async fn key(&self, api_key: &str) -> StoreResult<Option<KeyRow>> {
        let row: Option<KeyRecord> =
            on_pool!(self, |p| sqlx::query_as(select_keys!("WHERE api_key = $1"))
                .bind(api_key)
                .fetch_optional(p)
                .await
                .map_err(op("read a key"))?);
        row.map(KeyRecord::into_row).transpose()
    }

    /// Boot: inserts a freshly minted active key unless one is active already. Returns the
    /// new key's name when it inserted one.
    pub async fn ensure_active_key(&self, now: i64) -> StoreResult<Option<String>> {
        let key = secrets::new_api_key();
        let secret = secrets::new_secret();
        on_pool!(self, |p| {
            // Serialized, so two instances booting at once cannot both mint a key.
            let mut tx = p.begin_serialized().await.map_err(op("begin"))?;
            let active: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM keys WHERE state = 'active'")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(op("count active keys"))?;
            if active > 0 {
                return Ok(None);
            }
            sqlx::query(
                "INSERT INTO keys (api_key, secret, state, created_at, activated_at) VALUES ($1, $2, 'active', $3, $3)",
            )
            .bind(&key)
            .bind(secret.expose())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(op("mint the first key"))?;
            tx.bump_revision().await.map_err(op("raise the revision"))?;
            tx.commit().await.map_err(op("commit the first key"))?;
            Ok(Some(key))
        })
    }

    /// `keys.rotate`: a new pending key, unless one is pending already.
    pub async fn insert_pending(&self, grace_s: i64, now: i64) -> StoreResult<String> {
        let key = secrets::new_api_key();
        let secret = secrets::new_secret();
        on_pool!(self, |p| {
            let mut tx = p.begin_serialized().await.map_err(op("begin"))?;
            let pending: Option<String> =
                sqlx::query_scalar("SELECT api_key FROM keys WHERE state = 'pending'")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(op("look for a pending key"))?;
            if let Some(pending) = pending {
                return Err(StoreError::Conflict(format!(
                    "a rotation is already in progress: key {pending} is pending until the SFU is restarted and accepts it"
                )));
            }
            sqlx::query(
                "INSERT INTO keys (api_key, secret, state, created_at, grace_s) VALUES ($1, $2, 'pending', $3, $4)",
            )
            .bind(&key)
            .bind(secret.expose())
            .bind(now)
            .bind(grace_s)
            .execute(&mut *tx)
            .await
            .map_err(op("insert a pending key"))?;
            tx.bump_revision().await.map_err(op("raise the revision"))?;
            tx.commit().await.map_err(op("commit a pending key"))?;
            Ok(key)
        })
    }

    /// A pending key the SFU accepts becomes active; the active key starts retiring, its grace
    /// being the pending key's (or `default_grace_s`). Returns the keys now retiring, or `None`
    /// when `api_key` was no longer pending (someone else already promoted or revoked it).
    pub async fn promote_pending(
        &self,
        api_key: &str,
        now: i64,
        default_grace_s: i64,
    ) -> StoreResult<Option<(Vec<String>, i64)>> {
        on_pool!(self, |p| {
            let mut tx = p
                .begin_serialized()
                .await
                .map_err(op("begin a promotion"))?;
            let grace: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT grace_s FROM keys WHERE api_key = $1 AND state = 'pending'",
            )
            .bind(api_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(op("read the pending key"))?;
            let Some(grace) = grace else {
                return Ok(None);
            };
            let grace = grace.unwrap_or(default_grace_s);
            let retiring: Vec<String> = sqlx::query_scalar(
                "UPDATE keys SET state = 'retiring', retire_at = $1 WHERE state = 'active' RETURNING api_key",
            )
            .bind(now + grace)
            .fetch_all(&mut *tx)
            .await
            .map_err(op("start retiring the active key"))?;
            sqlx::query(
                "UPDATE keys SET state = 'active', activated_at = $1 WHERE api_key = $2 AND state = 'pending'",
            )
            .bind(now)
            .bind(api_key)
            .execute(&mut *tx)
            .await
            .map_err(op("activate the pending key"))?;
            tx.bump_revision().await.map_err(op("raise the revision"))?;
            tx.commit().await.map_err(op("commit a promotion"))?;
            Ok(Some((retiring, grace)))
        })
    }

    /// `retiring` keys whose grace ended become `retired`. Returns the keys that changed.
    pub async fn retire_due(&self, now: i64) -> StoreResult<Vec<String>> {
        on_pool!(self, |p| {
            let mut tx = p.begin_serialized().await.map_err(op("begin"))?;
            let changed: Vec<String> = sqlx::query_scalar(
                "UPDATE keys SET state = 'retired' WHERE state = 'retiring' AND retire_at <= $1 RETURNING api_key",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(op("retire keys"))?;
            if !changed.is_empty() {
                tx.bump_revision().await.map_err(op("raise the revision"))?;
            }
            tx.commit().await.map_err(op("commit retirements"))?;
            Ok(changed)
        })
    }

    /// A retired key the SFU refuses is revoked; false when it was no longer retired.
    pub async fn revoke_retired(&self, api_key: &str, now: i64) -> StoreResult<bool> {
        on_pool!(self, |p| {
            let mut tx = p.begin_serialized().await.map_err(op("begin"))?;
            let n = sqlx::query(
                "UPDATE keys SET state = 'revoked', revoked_at = $1 WHERE api_key = $2 AND state = 'retired'",
            )
            .bind(now)
            .bind(api_key)
            .execute(&mut *tx)
            .await
            .map_err(op("revoke a retired key"))?
            .rows_affected();
            if n > 0 {
                tx.bump_revision().await.map_err(op("raise the revision"))?;
            }
            tx.commit().await.map_err(op("commit a revocation"))?;
            Ok(n > 0)
        })
    }

    /// `keys.revoke`: the key leaves every file. Revoking the active key hands signing to the
    /// pending key; with none, it is refused (nothing could sign tokens any more).
    pub async fn revoke(&self, api_key: &str, now: i64) -> StoreResult<Revoked> {
        on_pool!(self, |p| {
            let mut tx = p
                .begin_serialized()
                .await
                .map_err(op("begin a revocation"))?;
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM keys WHERE api_key = $1")
                    .bind(api_key)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(op("read the key"))?;
            let state = match state.as_deref().and_then(KeyState::parse) {
                None => return Err(StoreError::NotFound(format!("no key {api_key}"))),
                Some(KeyState::Revoked) => {
                    return Err(StoreError::Conflict(format!(
                        "key {api_key} is already revoked"
                    )));
                }
                Some(s) => s,
            };
            let mut outcome = Revoked::Plain;
            if state == KeyState::Active {
                let promoted: Option<String> = sqlx::query_scalar(
                    "UPDATE keys SET state = 'active', activated_at = $1 WHERE state = 'pending' RETURNING api_key",
                )
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(op("promote the pending key"))?;
                match promoted {
                    Some(k) => outcome = Revoked::Promoted(k),
                    None => {
                        return Err(StoreError::Conflict(format!(
                            "cannot revoke {api_key}: it is the only key that can sign tokens; run keys.rotate first"
                        )));
                    }
                }
            }
            sqlx::query("UPDATE keys SET state = 'revoked', revoked_at = $1 WHERE api_key = $2")
                .bind(now)
                .bind(api_key)
                .execute(&mut *tx)
                .await
                .map_err(op("revoke the key"))?;
            tx.bump_revision().await.map_err(op("raise the revision"))?;
            tx.commit().await.map_err(op("commit a revocation"))?;
            Ok(outcome)
        })
    }

    /// `keys.import`: the given key becomes active; the active key retires after `grace_s`.
    pub async fn import_active(
        &self,
        api_key: &str,
        secret: &str,
        now: i64,
        grace_s: i64,
    ) -> StoreResult<()> {
        on_pool!(self, |p| {
            let mut tx = p.begin_serialized().await.map_err(op("begin an import"))?;
            let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keys WHERE api_key = $1")
                .bind(api_key)
                .fetch_one(&mut *tx)
                .await
                .map_err(op("look for the key"))?;
            if exists > 0 {
                return Err(StoreError::Conflict(format!(
                    "key {api_key} already exists"
                )));
            }
            sqlx::query(
                "UPDATE keys SET state = 'retiring', retire_at = $1 WHERE state = 'active'",
            )
            .bind(now + grace_s)
            .execute(&mut *tx)
            .await
            .map_err(op("start retiring the active key"))?;
            sqlx::query(
                "INSERT INTO keys (api_key, secret, state, created_at, activated_at) VALUES ($1, $2, 'active', $3, $3)",
            )
            .bind(api_key)
            .bind(secret)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(op("insert the imported key"))?;
            tx.bump_revision().await.map_err(op("raise the revision"))?;
            tx.commit().await.map_err(op("commit an import"))?;
            Ok(())
        })
    }

    /// The named generated secret, minted and persisted on first use (the first writer wins
    /// when two instances race).
    pub async fn ensure_secret(&self, name: &str, now: i64) -> StoreResult<Secret> {
        let candidate = secrets::new_secret();
        let value: String = on_pool!(self, |p| {
            let existing: Option<String> =
                sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                    .bind(name)
                    .fetch_optional(p)
                    .await
                    .map_err(op("read a generated secret"))?;
            match existing {
                Some(v) => v,
                None => {
                    let mut tx = p.begin_serialized().await.map_err(op("begin"))?;
                    let n = sqlx::query(
                        "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(candidate.expose())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(op("store a generated secret"))?
                    .rows_affected();
                    if n > 0 {
                        tx.bump_revision().await.map_err(op("raise the revision"))?;
                    }
                    let v: String = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                        .bind(name)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(op("read a generated secret"))?;
                    tx.commit().await.map_err(op("commit a generated secret"))?;
                    v
                }
            }
        });
        Ok(Secret::new(value))
    }

    /// The current revision of everything the files are rendered from.
    pub async fn revision(&self) -> StoreResult<i64> {
        Ok(on_pool!(self, |p| sqlx::query_scalar(
            "SELECT rev FROM config_revision WHERE id = 1"
        )
        .fetch_one(p)
        .await
        .map_err(op("read the revision"))?))
    }

    /// Records what this instance rendered (one row per control plane).
    pub async fn record_instance(&self, i: &InstanceRecord) -> StoreResult<()> {
        on_pool!(self, |p| {
            sqlx::query(
            "INSERT INTO instances (instance_id, host, home, node_ip, rendered_rev, cluster_sha256, rendered_at, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (instance_id) DO UPDATE SET host = $2, home = $3, node_ip = $4, rendered_rev = $5, \
             cluster_sha256 = $6, rendered_at = $7, seen_at = $8",
        )
        .bind(&i.instance_id)
        .bind(&i.host)
        .bind(&i.home)
        .bind(&i.node_ip)
        .bind(i.rendered_rev)
        .bind(&i.cluster_sha256)
        .bind(i.rendered_at)
        .bind(i.seen_at)
        .execute(p)
        .await
        .map_err(op("record this instance"))?
        .rows_affected()
        });
        Ok(())
    }

    /// Every instance sharing this database, by id.
    pub async fn instances(&self) -> StoreResult<Vec<InstanceRecord>> {
        Ok(on_pool!(self, |p| {
            sqlx::query_as(
            "SELECT instance_id, host, home, node_ip, rendered_rev, cluster_sha256, rendered_at, seen_at \
             FROM instances ORDER BY instance_id",
        )
        .fetch_all(p)
        .await
        .map_err(op("read the instances"))?
        }))
    }

    pub async fn record_audit(&self, e: NewAudit<'_>) -> StoreResult<()> {
        on_pool!(self, |p| {
            sqlx::query(
            "INSERT INTO audit (at, method, peer_uid, peer_pid, params, outcome) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.at)
        .bind(e.method)
        .bind(e.peer_uid.map(i64::from))
        .bind(e.peer_pid.map(i64::from))
        .bind(&e.params)
        .bind(e.outcome)
        .execute(p)
        .await
        .map_err(op("write the audit log"))?
        .rows_affected()
        });
        Ok(())
    }

    /// Audit entries at or after `since`, optionally of one method, newest first.
    pub async fn audit(
        &self,
        since: i64,
        method: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<AuditRecord>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT at, method, peer_uid, peer_pid, params, outcome FROM audit \
             WHERE at >= $1 AND ($2 IS NULL OR method = $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(since)
        .bind(method)
        .bind(i64::from(limit))
        .fetch_all(p)
        .await
        .map_err(op("read the audit log"))?))
    }

    /// A consistent copy of the whole database at `dest` (0600), taken while serving. On
    /// PostgreSQL the copy is `pg_dump`'s job: the error says exactly which command makes it.
    pub async fn backup_to(&self, dest: &Path) -> StoreResult<()> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite::backup(p, dest).await,
            Pool::Postgres(p) => Err(StoreError::Unsupported(postgres::backup_hint(p, dest))),
        }
    }
}

/// `scheme://user:password@host/…` with the password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("<redacted>"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
