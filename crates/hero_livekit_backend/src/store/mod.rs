//! lk-backend's storage boundary: the event inbox and every query on it. All SQL of the crate
//! lives under this module (a test enforces it); the rest sees [`EventStore`] and plain types.
//!
//! Every verified webhook is answered only after its row is committed (`synchronous=FULL` on
//! SQLite). One writer drains whatever is queued into a single transaction, so 32 concurrent
//! deliveries cost about one fsync instead of 32.

mod postgres;
#[macro_use]
mod rollup;
mod sqlite;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sqlx::{QueryBuilder, Row};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Why a storage operation failed (the detail is logged, never sent to a client).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{op}: {source}")]
    Backend {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A batch failed; every waiter gets the message.
    #[error("{0}")]
    Batch(String),
}

fn op(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Backend { op, source }
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs the same statements on whichever engine is open.
macro_rules! on_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

// The recordings catalogue, on the same pool (declared after `on_pool!`, which it uses).
mod egress;
mod stats;
pub use egress::{NewRecording, RecordingFilter, RecordingRow};
pub use rollup::DURATION_LABELS;
pub use stats::{Durations, Series};

/// A handle on the events database (cheap to clone).
#[derive(Clone)]
pub struct EventStore {
    pool: Pool,
}

impl EventStore {
    /// Opens and migrates the database at `url`: `sqlite://<path>` (created 0600 if needed) or
    /// `postgres://…` (shared by every replica).
    pub async fn open(url: &str) -> Result<EventStore> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            return Self::open_sqlite(Path::new(path)).await;
        }
        Ok(EventStore {
            pool: Pool::Postgres(postgres::open(url).await.map_err(Error::OpenDatabase)?),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Opens (creating if needed, 0600) and migrates the SQLite database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<EventStore> {
        Ok(EventStore {
            pool: Pool::Sqlite(sqlite::open(path).await.map_err(Error::OpenDatabase)?),
        })
    }

    pub async fn close(&self) {
        on_pool!(self, |p| p.close().await)
    }

    /// Spawns the single writer. It ends when every handle is dropped, after its last commit.
    pub fn writer(&self) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let forgeries = Arc::new(Mutex::new(BTreeMap::new()));
        (
            Writer {
                tx,
                forgeries: forgeries.clone(),
            },
            tokio::spawn(writer_loop(self.clone(), rx, forgeries)),
        )
    }
}

/// Most events committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Rows deleted per pruning statement, and the pause between two: a batch holds SQLite's
/// write lock for a few milliseconds, the pause hands it to the webhook writer.
pub const PRUNE_BATCH: i64 = 5000;
pub const PRUNE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);
/// After each pruning batch, the database is left to others this many times as long.
const PRUNE_YIELD: u32 = 4;
/// Queued inserts beyond which new webhooks wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 8192;

/// A verified event, ready to store.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub event: String,
    pub room_name: Option<String>,
    pub room_sid: Option<String>,
    pub participant_identity: Option<String>,
    pub participant_sid: Option<String>,
    pub created_at: i64,
    pub received_at: i64,
    pub signing_key: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

type Job = (
    NewEvent,
    oneshot::Sender<std::result::Result<Stored, String>>,
);

/// Refused deliveries not yet counted in the database, by minute of receipt.
type Forgeries = Arc<Mutex<BTreeMap<i64, i64>>>;

/// How often refused deliveries are counted when no event is being stored.
const FORGERY_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);

/// Handle to the single writer task.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    forgeries: Forgeries,
}

impl Writer {
    /// Stores the event; returns once it is committed (or known to be a duplicate).
    pub async fn store(&self, event: NewEvent) -> Result<Stored> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((event, done))
            .await
            .map_err(|_| Error::WriterGone)?;
        wait.await
            .map_err(|_| Error::WriterGone)?
            .map_err(|m| Error::Storage(StoreError::Batch(m)))
    }

    /// Counts a delivery whose signature was refused (for the webhooks chart). Nothing of it
    /// is stored but the count, which the writer adds with its next commit: a flood of
    /// forgeries costs memory for one number per minute, not a write each.
    pub fn forged(&self, received_at: i64) {
        let mut f = self.forgeries.lock().unwrap_or_else(|e| e.into_inner());
        *f.entry(rollup::floor(received_at, rollup::MINUTE))
            .or_default() += 1;
    }
}

async fn writer_loop(store: EventStore, mut rx: mpsc::Receiver<Job>, forgeries: Forgeries) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut tick = tokio::time::interval(FORGERY_FLUSH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // recv_many is cancel-safe: a tick loses no queued event.
        let closed = tokio::select! {
            n = rx.recv_many(&mut batch, MAX_BATCH) => n == 0,
            _ = tick.tick() => false,
        };
        let forged = std::mem::take(&mut *forgeries.lock().unwrap_or_else(|e| e.into_inner()));
        let events: Vec<&NewEvent> = batch.iter().map(|(e, _)| e).collect();
        if events.is_empty() && forged.is_empty() {
            if closed {
                return;
            }
            continue;
        }
        match store.insert_batch(&events, &forged).await {
            Ok(outcomes) => {
                for ((_, done), outcome) in batch.drain(..).zip(outcomes) {
                    let _ = done.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "cannot commit webhook events");
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Err(e.to_string()));
                }
                // The refusals are counted with a later batch.
                let mut f = forgeries.lock().unwrap_or_else(|e| e.into_inner());
                for (m, n) in forged {
                    *f.entry(m).or_default() += n;
                }
            }
        }
        if closed {
            return;
        }
    }
}

/// Inserts every event of a batch in the open transaction `$tx`, adds them to the rollups and
/// commits (the same statements on every engine).
macro_rules! insert_rows {
    ($tx:ident, $events:expr, $forged:expr) => {{
        let mut outcomes = Vec::with_capacity($events.len());
        let mut tally = rollup::Tally::default();
        for (minute, n) in $forged {
            tally.delivery(*minute, rollup::Delivery::Forged, *n);
        }
        for e in $events {
            let r = sqlx::query(
                "INSERT INTO events (event_id, event, room_name, room_sid, participant_identity,
                    participant_sid, created_at, received_at, signing_key, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(&e.event_id)
            .bind(&e.event)
            .bind(&e.room_name)
            .bind(&e.room_sid)
            .bind(&e.participant_identity)
            .bind(&e.participant_sid)
            .bind(e.created_at)
            .bind(e.received_at)
            .bind(&e.signing_key)
            .bind(&e.body)
            .execute(&mut *$tx)
            .await
            .map_err(op("store an event"))?;
            if r.rows_affected() == 1 {
                tally.delivery(e.received_at, rollup::Delivery::Stored, 1);
                if rollup::PRESENCE_EVENTS.contains(&e.event.as_str()) {
                    track_presence!($tx, &mut tally, *e);
                }
                outcomes.push(Stored::New);
            } else {
                tally.delivery(e.received_at, rollup::Delivery::Duplicate, 1);
                outcomes.push(Stored::Duplicate);
            }
        }
        write_tally!($tx, &tally);
        $tx.commit().await.map_err(op("commit a batch"))?;
        Ok(outcomes)
    }};
}

impl EventStore {
    /// One transaction for the batch; `ON CONFLICT (event_id) DO NOTHING` makes LiveKit's
    /// retries (and a delivery to two replicas) store one row. `forged` (minute → refused
    /// deliveries) is counted in the same commit. Public for bulk loading (benchmarks); the
    /// service stores through its [`Writer`].
    pub async fn insert_batch(
        &self,
        events: &[&NewEvent],
        forged: &BTreeMap<i64, i64>,
    ) -> std::result::Result<Vec<Stored>, StoreError> {
        match &self.pool {
            // IMMEDIATE takes the write lock at once, so a locked database fails fast (503).
            Pool::Sqlite(p) => {
                let mut tx = p
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(op("begin a batch"))?;
                insert_rows!(tx, events, forged)
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await.map_err(op("begin a batch"))?;
                // Delivered at commit: other replicas' live streams read the new rows then.
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(postgres::EVENTS_CHANNEL)
                    .execute(&mut *tx)
                    .await
                    .map_err(op("announce the batch"))?;
                insert_rows!(tx, events, forged)
            }
        }
    }

    /// Events matching the filter, newest first.
    pub async fn list_events(&self, f: &EventFilter) -> Result<Vec<EventRow>> {
        on_pool!(self, |p| {
            let mut q = QueryBuilder::new(
                "SELECT seq, event_id, event, room_name, room_sid, participant_identity, participant_sid,
                        created_at, received_at, signing_key, body FROM events WHERE 1 = 1",
            );
            if let Some(room) = &f.room {
                q.push(" AND room_name = ").push_bind(room.clone());
            }
            if !f.events.is_empty() {
                q.push(" AND event IN (");
                let mut sep = q.separated(", ");
                for e in &f.events {
                    sep.push_bind(e.clone());
                }
                q.push(")");
            }
            if let Some(since) = f.since {
                q.push(" AND created_at >= ").push_bind(since);
            }
            if let Some(before) = f.before {
                q.push(" AND seq < ").push_bind(before);
            }
            // Keyset pagination: newest first by seq, through (room_name, seq), (event, seq)
            // or the primary key, so a page deep down costs what the first one does.
            q.push(" ORDER BY seq DESC");
            q.push(" LIMIT ").push_bind(f.limit);
            q.build_query_as::<EventRow>()
                .fetch_all(p)
                .await
                .map_err(|e| Error::Storage(op("list events")(e)))
        })
    }

    /// Deletes events received before `cutoff` (Unix seconds), and the rollups older than it
    /// (keeping each room's last running total); returns how many events. In batches of
    /// [`PRUNE_BATCH`] rows with a pause between, so the webhook writer gets the database
    /// between two batches and ingest never waits for a whole prune. With several replicas
    /// on PostgreSQL one prunes at a time (a session advisory lock); the others skip the round.
    pub async fn prune(&self, cutoff: i64) -> Result<u64> {
        self.prune_in_batches(cutoff, PRUNE_BATCH, PRUNE_PAUSE)
            .await
    }

    /// [`EventStore::prune`] with its batch size and pause (benchmarks and tests).
    pub async fn prune_in_batches(
        &self,
        cutoff: i64,
        batch: i64,
        pause: std::time::Duration,
    ) -> Result<u64> {
        let storage = |op_name| move |e| Error::Storage(op(op_name)(e));
        // On PostgreSQL the lock lives on one connection for the whole prune.
        let lock = match &self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await.map_err(storage("begin a prune"))?;
                let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(postgres::PRUNE_LOCK)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(storage("take the prune lock"))?;
                if !mine {
                    return Ok(0);
                }
                Some(conn)
            }
        };
        let result = self.prune_batches(cutoff, batch, pause).await;
        if let Some(mut conn) = lock {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(postgres::PRUNE_LOCK)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // A connection still holding the lock must not go back to the pool.
                conn.detach();
            }
        }
        result
    }

    async fn prune_batches(
        &self,
        cutoff: i64,
        batch: i64,
        pause: std::time::Duration,
    ) -> Result<u64> {
        use rollup::{DAY, HOUR, MINUTE, floor};
        // Each statement deletes at most `batch` rows, oldest first, through an index.
        let steps: [(&'static str, i64, &'static str); 6] = [
            (
                "DELETE FROM events WHERE seq IN
                     (SELECT seq FROM events WHERE received_at < $1 ORDER BY received_at LIMIT $2)",
                cutoff,
                "prune events",
            ),
            (
                "DELETE FROM webhook_minute WHERE minute IN
                     (SELECT minute FROM webhook_minute WHERE minute < $1 ORDER BY minute LIMIT $2)",
                floor(cutoff, MINUTE),
                "prune webhook counts",
            ),
            (
                "DELETE FROM webhook_hour WHERE hour IN
                     (SELECT hour FROM webhook_hour WHERE hour < $1 ORDER BY hour LIMIT $2)",
                floor(cutoff, HOUR),
                "prune webhook counts",
            ),
            (
                "DELETE FROM usage_day WHERE day IN
                     (SELECT day FROM usage_day WHERE day < $1 ORDER BY day LIMIT $2)",
                floor(cutoff, DAY),
                "prune participant minutes",
            ),
            (
                "DELETE FROM session_hour WHERE hour IN
                     (SELECT hour FROM session_hour WHERE hour < $1 ORDER BY hour LIMIT $2)",
                floor(cutoff, HOUR),
                "prune session counts",
            ),
            // A room's last running total before the cutoff stays: it is the level after it.
            (
                "DELETE FROM presence WHERE (room_name, minute) IN
                     (SELECT p.room_name, p.minute FROM presence p WHERE p.minute < $1
                      AND EXISTS (SELECT 1 FROM presence q WHERE q.room_name = p.room_name
                                  AND q.minute > p.minute AND q.minute < $1)
                      ORDER BY p.minute LIMIT $2)",
                floor(cutoff, MINUTE),
                "prune participant counts",
            ),
        ];
        let mut events = 0;
        for (i, (sql, before, what)) in steps.into_iter().enumerate() {
            loop {
                let began = std::time::Instant::now();
                let n = on_pool!(self, |p| sqlx::query(sql)
                    .bind(before)
                    .bind(batch)
                    .execute(p)
                    .await
                    .map_err(|e| Error::Storage(op(what)(e)))?
                    .rows_affected());
                if i == 0 {
                    events += n;
                }
                if (n as i64) < batch {
                    break;
                }
                // Let the writer (and readers) in before the next batch: at least `pause`,
                // and long enough that pruning holds the database a fifth of the time at most.
                tokio::time::sleep(pause.max(began.elapsed() * PRUNE_YIELD)).await;
            }
        }
        Ok(events)
    }

    /// Events stored after `seq` (by any replica), oldest first, for the live stream.
    pub async fn events_after(&self, seq: i64, limit: i64) -> Result<Vec<EventRow>> {
        on_pool!(self, |p| {
            sqlx::query_as(
            "SELECT seq, event_id, event, room_name, room_sid, participant_identity, participant_sid,
                    created_at, received_at, signing_key, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(p)
        .await
        .map_err(|e| Error::Storage(op("read new events")(e)))
        })
    }

    /// The sequence numbers stored after `seq`, in order: an index-only read, so the live stream
    /// can tell which rows it has not announced yet without reading their bodies again.
    pub async fn seqs_after(&self, seq: i64, limit: i64) -> Result<Vec<i64>> {
        on_pool!(self, |p| sqlx::query_scalar(
            "SELECT seq FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(p)
        .await
        .map_err(|e| Error::Storage(op("read new event numbers")(e))))
    }

    /// The event stored under `seq`, if any.
    pub async fn event_at(&self, seq: i64) -> Result<Option<EventRow>> {
        on_pool!(self, |p| {
            sqlx::query_as(
            "SELECT seq, event_id, event, room_name, room_sid, participant_identity, participant_sid,
                    created_at, received_at, signing_key, body FROM events WHERE seq = $1",
        )
        .bind(seq)
        .fetch_optional(p)
        .await
        .map_err(|e| Error::Storage(op("read an event")(e)))
        })
    }

    /// The highest `seq` stored (0 when empty).
    pub async fn last_seq(&self) -> Result<i64> {
        on_pool!(self, |p| sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM events"
        )
        .fetch_one(p)
        .await
        .map_err(|e| Error::Storage(op("read the last event")(e))))
    }

    /// Wakes the receiver when any replica commits events (and after the listener reconnects,
    /// since notifications sent meanwhile are lost). `None` on SQLite: one process stores and
    /// announces its own events.
    pub fn watch_events(&self) -> Option<(mpsc::Receiver<()>, tokio::task::JoinHandle<()>)> {
        match &self.pool {
            Pool::Postgres(p) => Some(postgres::watch(p.clone())),
            Pool::Sqlite(_) => None,
        }
    }

    /// How many events are stored.
    pub async fn count(&self) -> Result<i64> {
        on_pool!(self, |p| sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM events"
        )
        .fetch_one(p)
        .await
        .map_err(|e| Error::Storage(op("count events")(e))))
    }

    /// Copies every stored event into `to` (keeping each one's `seq`, so pagination cursors
    /// stay valid), in batches, then checks the counts. A target holding events is refused
    /// unless `replace`, which empties it first.
    pub async fn copy_into(&self, to: &EventStore, replace: bool) -> Result<i64> {
        let existing = to.count().await?;
        if existing > 0 && !replace {
            return Err(Error::bad_request(
                "to",
                format!(
                    "the target already holds {existing} events; pass --replace to overwrite it"
                ),
            ));
        }
        if replace {
            on_pool!(to, |p| sqlx::query("DELETE FROM events")
                .execute(p)
                .await
                .map_err(|e| Error::Storage(op("empty the target")(e)))?
                .rows_affected());
        }
        let mut last = 0;
        loop {
            let rows = self.events_after(last, 2000).await?;
            let Some(tail) = rows.last() else { break };
            last = tail.seq;
            on_pool!(to, |p| {
                let mut tx = p
                    .begin()
                    .await
                    .map_err(|e| Error::Storage(op("begin a copy batch")(e)))?;
                for r in &rows {
                    sqlx::query(
                        "INSERT INTO events (seq, event_id, event, room_name, room_sid, participant_identity,
                            participant_sid, created_at, received_at, signing_key, body)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(r.seq)
                    .bind(&r.event_id)
                    .bind(&r.event)
                    .bind(&r.room_name)
                    .bind(&r.room_sid)
                    .bind(&r.participant_identity)
                    .bind(&r.participant_sid)
                    .bind(r.created_at)
                    .bind(r.received_at)
                    .bind(&r.signing_key)
                    .bind(&r.body)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| Error::Storage(op("copy an event")(e)))?;
                }
                tx.commit()
                    .await
                    .map_err(|e| Error::Storage(op("commit a copy batch")(e)))?;
            });
        }
        if let Pool::Postgres(p) = &to.pool {
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('events', 'seq'), GREATEST((SELECT COALESCE(MAX(seq), 0) FROM events), 1))",
            )
            .execute(p)
            .await
            .map_err(|e| Error::Storage(op("advance the event sequence")(e)))?;
        }
        let (from_n, to_n) = (self.count().await?, to.count().await?);
        if from_n != to_n {
            return Err(Error::Internal(format!(
                "the copy holds {to_n} events, the source {from_n}"
            )));
        }
        Ok(to_n)
    }

    /// The receipt time of the `n`-th oldest event (None when fewer are stored): a retention
    /// cutoff that prunes about `n` events (benchmarks).
    pub async fn nth_oldest_received(&self, n: i64) -> Result<Option<i64>> {
        on_pool!(self, |p| sqlx::query_scalar(
            "SELECT MAX(received_at) FROM
                 (SELECT received_at FROM events ORDER BY received_at LIMIT $1) AS oldest",
        )
        .bind(n)
        .fetch_one(p)
        .await
        .map_err(|e| Error::Storage(op("find the oldest events")(e))))
    }

    /// Folds SQLite's write-ahead log into the database file (so its size is the data's); a
    /// no-op on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<()> {
        if let Pool::Sqlite(p) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await
                .map_err(|e| Error::Storage(op("checkpoint the log")(e)))?;
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        on_pool!(self, |p| sqlx::query("SELECT CAST(1 AS BIGINT)")
            .fetch_one(p)
            .await
            .map(|r| r.get::<i64, _>(0) == 1)
            .unwrap_or(false))
    }
}

/// A stored event, as listed by `/api/events` and read by the session builder.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub event_id: String,
    pub event: String,
    pub room_name: Option<String>,
    pub room_sid: Option<String>,
    pub participant_identity: Option<String>,
    pub participant_sid: Option<String>,
    pub created_at: i64,
    pub received_at: i64,
    pub signing_key: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub room: Option<String>,
    pub events: Vec<String>,
    pub since: Option<i64>,
    /// Only rows with a smaller `seq` (the pagination cursor).
    pub before: Option<i64>,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    fn ev(id: &str) -> NewEvent {
        NewEvent {
            event_id: id.into(),
            event: "room_started".into(),
            room_name: Some("r".into()),
            room_sid: None,
            participant_identity: None,
            participant_sid: None,
            created_at: 10,
            received_at: 10,
            signing_key: "APIk".into(),
            body: b"{}".to_vec(),
        }
    }

    #[tokio::test]
    async fn group_commit_dedupes_within_and_across_batches_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/backend.db");
        let store = EventStore::open_sqlite(&path).await.unwrap();
        let (w, task) = store.writer();
        let outcomes = futures_join(&w, &["a", "b", "a", "c", "b"]).await;
        let new = outcomes.iter().filter(|o| **o == Stored::New).count();
        assert_eq!(new, 3);
        assert_eq!(w.store(ev("a")).await.unwrap(), Stored::Duplicate);
        let rows = store
            .list_events(&EventFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        drop(w);
        task.await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            if p.exists() {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", p.display());
            }
        }
        assert_eq!(store.prune(11).await.unwrap(), 3);
    }

    async fn futures_join(w: &Writer, ids: &[&str]) -> Vec<Stored> {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let w = w.clone();
                let e = ev(id);
                tokio::spawn(async move { w.store(e).await.unwrap() })
            })
            .collect();
        let mut out = vec![];
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
