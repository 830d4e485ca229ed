//! The two things the engines do differently inside a transaction, behind one name each so the
//! statements of `store` are written once: serializing key transitions, and raising the config
//! revision (which, on PostgreSQL, also wakes every other instance).

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// The channel other instances LISTEN on; the payload is the new revision.
pub const CONFIG_CHANNEL: &str = "hero_livekit_config";

/// Advisory lock key that serializes key transitions across every instance sharing one
/// PostgreSQL database (transaction-scoped: released at commit or rollback).
const KEYS_XACT_LOCK: i64 = 0x6865_726f_6b65_7973; // "herokeys"

/// A transaction that no other key transition runs alongside.
pub trait Serialized {
    type Db: sqlx::Database;
    async fn begin_serialized(&self) -> sqlx::Result<Transaction<'static, Self::Db>>;
}

impl Serialized for SqlitePool {
    type Db = Sqlite;
    /// IMMEDIATE takes SQLite's write lock at once (one writer at a time anyway).
    async fn begin_serialized(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl Serialized for PgPool {
    type Db = Postgres;
    /// READ COMMITTED plus one transaction-scoped advisory lock: two instances racing to
    /// promote the same key run one after the other, and the second sees the first's commit.
    async fn begin_serialized(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(KEYS_XACT_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// Raises the config revision in the transaction; returns the new revision.
pub trait TxExt {
    async fn bump_revision(&mut self) -> sqlx::Result<i64>;
}

impl TxExt for Transaction<'_, Sqlite> {
    async fn bump_revision(&mut self) -> sqlx::Result<i64> {
        sqlx::query_scalar("UPDATE config_revision SET rev = rev + 1 WHERE id = 1 RETURNING rev")
            .fetch_one(&mut **self)
            .await
    }
}

impl TxExt for Transaction<'_, Postgres> {
    /// NOTIFY is delivered at commit, so a listener never sees a revision it cannot read.
    async fn bump_revision(&mut self) -> sqlx::Result<i64> {
        let rev: i64 = sqlx::query_scalar(
            "UPDATE config_revision SET rev = rev + 1 WHERE id = 1 RETURNING rev",
        )
        .fetch_one(&mut **self)
        .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CONFIG_CHANNEL)
            .bind(rev.to_string())
            .execute(&mut **self)
            .await?;
        Ok(rev)
    }
}
