//! What several control planes sharing one database need from it: a wake-up when another
//! instance commits a change, and one owner for singleton work. Both are PostgreSQL features
//! (LISTEN/NOTIFY, a session advisory lock); on SQLite there is one process, which owns
//! everything and needs no wake-up.

use std::time::Duration;

use sqlx::postgres::{PgAdvisoryLock, PgListener};
use sqlx::{Either, PgPool};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::engine::CONFIG_CHANNEL;
use super::{Pool, Store};

/// How often a lock owner checks that its connection (and so its lock) is still alive, and a
/// non-owner tries to take the lock.
const LEADER_CHECK: Duration = Duration::from_secs(2);

/// Who owns singleton work, as seen from this instance.
pub struct Leadership {
    owner: watch::Receiver<bool>,
    task: Option<JoinHandle<()>>,
}

impl Leadership {
    pub fn is_owner(&self) -> bool {
        *self.owner.borrow()
    }

    /// Stops contending for the lock and gives its connection back (released with it), so the
    /// pool can close when the server stops.
    pub fn stop(&self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Store {
    /// Wakes the receiver whenever any instance commits a new revision, and after the listener
    /// reconnects (notifications sent while it was away are lost, so the receiver must reread
    /// the revision). `None` on SQLite.
    pub fn watch_revisions(&self) -> Option<(mpsc::Receiver<()>, JoinHandle<()>)> {
        let Pool::Postgres(pool) = &self.pool else {
            return None;
        };
        let (tx, rx) = mpsc::channel(1);
        let task = tokio::spawn(listen(pool.clone(), tx));
        Some((rx, task))
    }

    /// Singleton work has one owner: a PostgreSQL session advisory lock named `name`, held on a
    /// dedicated connection that is checked every few seconds (a lost connection is a lost
    /// lock, so the owner steps down; another instance takes over). On SQLite this process is
    /// the only one and always owns it.
    pub fn leadership(&self, name: &'static str) -> Leadership {
        let Pool::Postgres(pool) = &self.pool else {
            let (_tx, owner) = watch::channel(true);
            return Leadership { owner, task: None };
        };
        let (tx, owner) = watch::channel(false);
        let task = tokio::spawn(lead(pool.clone(), name, tx));
        Leadership {
            owner,
            task: Some(task),
        }
    }
}

async fn listen(pool: PgPool, wake: mpsc::Sender<()>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for config changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CONFIG_CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for config changes; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever happened while we were not listening, reread.
        let _ = wake.try_send(());
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => {
                    let _ = wake.try_send(());
                }
                Ok(None) => {
                    tracing::info!("config listener reconnected; resyncing");
                    let _ = wake.try_send(());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "config listener lost its connection");
                    let _ = wake.try_send(());
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
            if wake.is_closed() {
                return;
            }
        }
    }
}

async fn lead(pool: PgPool, name: &'static str, owner: watch::Sender<bool>) {
    let lock = PgAdvisoryLock::new(name);
    loop {
        let conn = match pool.acquire().await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(LEADER_CHECK).await;
                continue;
            }
        };
        // Not wrapped in a timeout: try_acquire is not cancel-safe (a cancelled call could
        // leave the lock held by nobody who knows it).
        match lock.try_acquire(conn).await {
            Ok(Either::Left(mut guard)) => {
                tracing::info!(lock = name, "this instance now owns the singleton work");
                owner.send_replace(true);
                loop {
                    tokio::time::sleep(LEADER_CHECK).await;
                    let alive = tokio::time::timeout(
                        LEADER_CHECK,
                        sqlx::query("SELECT 1").execute(&mut *guard),
                    )
                    .await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!(
                            lock = name,
                            "lost the connection holding the lock: stepping down"
                        );
                        owner.send_replace(false);
                        // Never return that connection to the pool: close it, which releases
                        // the lock on the server if it still holds it.
                        let conn = guard.leak().detach();
                        drop(conn);
                        break;
                    }
                }
            }
            Ok(Either::Right(_)) => {
                owner.send_replace(false);
                tokio::time::sleep(LEADER_CHECK).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, lock = name, "cannot try the lock");
                owner.send_replace(false);
                tokio::time::sleep(LEADER_CHECK).await;
            }
        }
    }
}
