//! The recordings catalogue (design §11.1): one row per egress, upserted from each egress
//! webhook after the event itself is committed. Idempotent and order-proof: a redelivered or
//! late webhook never moves a row back (`updated_ns`), and a finished row never becomes
//! running again.

use sqlx::QueryBuilder;

use super::{EventStore, Pool, op};
use crate::error::{Error, Result};

/// An egress state to keep, built from one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecording {
    pub egress_id: String,
    pub room_name: String,
    pub kind: String,
    pub status: String,
    /// LiveKit's status number (0-2 running, 3+ finished).
    pub status_rank: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub updated_ns: i64,
    /// The API's `EgressInfo` as JSON.
    pub info: String,
}

/// A catalogue row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordingRow {
    pub seq: i64,
    pub egress_id: String,
    pub created_at: i64,
    pub info: String,
}

#[derive(Debug, Default, Clone)]
pub struct RecordingFilter {
    pub room: Option<String>,
    pub status: Option<String>,
    /// Only egresses asked for at or after this (Unix seconds).
    pub since: Option<i64>,
    /// Only rows with a smaller `seq` (the pagination cursor).
    pub before: Option<i64>,
    pub limit: i64,
}

fn storage(op_name: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::Storage(op(op_name)(e))
}

impl EventStore {
    /// Keeps `r` unless the row already holds a newer state; returns whether it changed.
    pub async fn upsert_recording(&self, r: &NewRecording) -> Result<bool> {
        let changed = on_pool!(self, |p| sqlx::query(
            "INSERT INTO egress (egress_id, room_name, kind, status, status_rank, created_at,
                started_at, ended_at, updated_ns, info)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (egress_id) DO UPDATE SET
                room_name = excluded.room_name,
                kind = excluded.kind,
                status = excluded.status,
                status_rank = excluded.status_rank,
                created_at = CASE WHEN excluded.created_at < egress.created_at
                    THEN excluded.created_at ELSE egress.created_at END,
                started_at = COALESCE(excluded.started_at, egress.started_at),
                ended_at = COALESCE(excluded.ended_at, egress.ended_at),
                updated_ns = excluded.updated_ns,
                info = excluded.info
             WHERE excluded.updated_ns >= egress.updated_ns
                AND (egress.status_rank < 3 OR excluded.status_rank >= 3)",
        )
        .bind(&r.egress_id)
        .bind(&r.room_name)
        .bind(&r.kind)
        .bind(&r.status)
        .bind(r.status_rank)
        .bind(r.created_at)
        .bind(r.started_at)
        .bind(r.ended_at)
        .bind(r.updated_ns)
        .bind(&r.info)
        .execute(p)
        .await
        .map_err(storage("keep a recording"))?
        .rows_affected());
        Ok(changed > 0)
    }

    /// Catalogue rows matching the filter, newest first.
    pub async fn recordings(&self, f: &RecordingFilter) -> Result<Vec<RecordingRow>> {
        on_pool!(self, |p| {
            let mut q = QueryBuilder::new(
                "SELECT seq, egress_id, created_at, info FROM egress WHERE 1 = 1",
            );
            if let Some(room) = &f.room {
                q.push(" AND room_name = ").push_bind(room.clone());
            }
            if let Some(status) = &f.status {
                q.push(" AND status = ").push_bind(status.clone());
            }
            if let Some(since) = f.since {
                q.push(" AND created_at >= ").push_bind(since);
            }
            if let Some(before) = f.before {
                q.push(" AND seq < ").push_bind(before);
            }
            q.push(" ORDER BY seq DESC LIMIT ").push_bind(f.limit);
            q.build_query_as::<RecordingRow>()
                .fetch_all(p)
                .await
                .map_err(storage("list recordings"))
        })
    }

    pub async fn recording(&self, egress_id: &str) -> Result<Option<RecordingRow>> {
        on_pool!(self, |p| sqlx::query_as(
            "SELECT seq, egress_id, created_at, info FROM egress WHERE egress_id = $1"
        )
        .bind(egress_id)
        .fetch_optional(p)
        .await
        .map_err(storage("read a recording")))
    }

    /// Deletes finished recordings that ended before `cutoff` (Unix seconds); returns how many.
    /// Only run when the operator set a retention: by default the catalogue keeps everything.
    pub async fn prune_recordings(&self, cutoff: i64) -> Result<u64> {
        on_pool!(self, |p| Ok(sqlx::query(
            "DELETE FROM egress WHERE ended_at IS NOT NULL AND ended_at < $1"
        )
        .bind(cutoff)
        .execute(p)
        .await
        .map_err(storage("prune recordings"))?
        .rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, status: &str, rank: i64, updated_ns: i64) -> NewRecording {
        NewRecording {
            egress_id: id.into(),
            room_name: "standup".into(),
            kind: "room_composite".into(),
            status: status.into(),
            status_rank: rank,
            created_at: 100,
            started_at: (rank >= 1).then_some(101),
            ended_at: (rank >= 3).then_some(160),
            updated_ns,
            info: format!("{{\"status\":\"{status}\"}}"),
        }
    }

    #[tokio::test]
    async fn a_late_or_replayed_webhook_never_moves_a_recording_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open_sqlite(&dir.path().join("b.db"))
            .await
            .unwrap();
        assert!(
            store
                .upsert_recording(&rec("EG_1", "starting", 0, 1))
                .await
                .unwrap()
        );
        assert!(
            store
                .upsert_recording(&rec("EG_1", "complete", 3, 3))
                .await
                .unwrap()
        );
        // egress_updated (active) delivered late, and egress_ended delivered twice.
        assert!(
            !store
                .upsert_recording(&rec("EG_1", "active", 1, 2))
                .await
                .unwrap()
        );
        store
            .upsert_recording(&rec("EG_1", "complete", 3, 3))
            .await
            .unwrap();
        let rows = store
            .recordings(&RecordingFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].info, "{\"status\":\"complete\"}");
        // Even a running state with a later clock cannot reopen a finished recording.
        assert!(
            !store
                .upsert_recording(&rec("EG_1", "active", 1, 9))
                .await
                .unwrap()
        );
        assert_eq!(store.prune_recordings(150).await.unwrap(), 0);
        assert_eq!(store.prune_recordings(161).await.unwrap(), 1);
    }
}
