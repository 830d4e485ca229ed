//! SQLite storage: the event inbox, written by one task with group commit.
//!
//! Every verified webhook is answered only after its row is committed with
//! `synchronous=FULL`. One writer drains whatever is queued into a single transaction, so 32
//! concurrent deliveries cost about one fsync instead of 32.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Queued inserts beyond which new webhooks wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 8192;

/// Opens (creating if needed, 0600) and migrates the database.
pub async fn connect(path: &Path) -> Result<SqlitePool> {
    let open_err = |source| Error::OpenDatabase {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
    }
    // SQLite creates -wal and -shm with the mode of the database file, so the file is created
    // 0600 first, whatever the umask of the process embedding us.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| open_err(sqlx::Error::Io(e)))?;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(open_err)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        // A locked database fails after this instead of hanging LiveKit's queue; the 503 makes
        // LiveKit retry.
        .busy_timeout(Duration::from_secs(3));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(open_err)?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|source| Error::Migrate {
            path: path.to_path_buf(),
            source,
        })?;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(pool)
}

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
    oneshot::Sender<std::result::Result<Stored, sqlx::Error>>,
);

/// Handle to the single writer task.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Spawns the writer. It ends when every handle is dropped, after its last commit.
    pub fn spawn(pool: SqlitePool) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Writer { tx }, tokio::spawn(writer_loop(pool, rx)))
    }

    /// Stores the event; returns once it is committed (or known to be a duplicate).
    pub async fn store(&self, event: NewEvent) -> Result<Stored> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((event, done))
            .await
            .map_err(|_| Error::WriterGone)?;
        wait.await
            .map_err(|_| Error::WriterGone)?
            .map_err(Error::Storage)
    }
}

async fn writer_loop(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<&NewEvent> = batch.iter().map(|(e, _)| e).collect();
        match insert_batch(&pool, &events).await {
            Ok(outcomes) => {
                for ((_, done), outcome) in batch.drain(..).zip(outcomes) {
                    let _ = done.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "cannot commit webhook events");
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Err(clone_err(&e)));
                }
            }
        }
    }
}

/// sqlx errors are not Clone; every waiter needs one, and only the message matters to them.
fn clone_err(e: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}

async fn insert_batch(
    pool: &SqlitePool,
    events: &[&NewEvent],
) -> std::result::Result<Vec<Stored>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut outcomes = Vec::with_capacity(events.len());
    for e in events {
        let r = sqlx::query(
            "INSERT INTO events (event_id, event, room_name, room_sid, participant_identity,
                participant_sid, created_at, received_at, signing_key, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        .execute(&mut *tx)
        .await?;
        outcomes.push(if r.rows_affected() == 1 {
            Stored::New
        } else {
            Stored::Duplicate
        });
    }
    tx.commit().await?;
    Ok(outcomes)
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
    /// Oldest first (sessions) instead of newest first (listing).
    pub ascending: bool,
}

pub async fn list_events(pool: &SqlitePool, f: &EventFilter) -> Result<Vec<EventRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
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
    if f.ascending {
        q.push(" ORDER BY created_at ASC, seq ASC");
    } else {
        q.push(" ORDER BY seq DESC");
    }
    q.push(" LIMIT ").push_bind(f.limit);
    q.build_query_as::<EventRow>()
        .fetch_all(pool)
        .await
        .map_err(Error::Storage)
}

/// Deletes events received before `cutoff` (Unix seconds); returns how many.
pub async fn prune(pool: &SqlitePool, cutoff: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM events WHERE received_at < ?")
        .bind(cutoff)
        .execute(pool)
        .await
        .map_err(Error::Storage)?;
    Ok(r.rows_affected())
}

/// Whether the database answers a trivial query.
pub async fn ping(pool: &SqlitePool) -> bool {
    sqlx::query("SELECT 1")
        .fetch_one(pool)
        .await
        .map(|r| r.get::<i64, _>(0) == 1)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
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
        let pool = connect(&path).await.unwrap();
        let (w, task) = Writer::spawn(pool.clone());
        let outcomes = futures_join(&w, &["a", "b", "a", "c", "b"]).await;
        let new = outcomes.iter().filter(|o| **o == Stored::New).count();
        assert_eq!(new, 3);
        assert_eq!(w.store(ev("a")).await.unwrap(), Stored::Duplicate);
        let rows = list_events(
            &pool,
            &EventFilter {
                limit: 10,
                ..Default::default()
            },
        )
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
        assert_eq!(prune(&pool, 11).await.unwrap(), 3);
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
