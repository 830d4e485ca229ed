//! The chart series, read from the rollups (never from `events`): each point is an index seek
//! or a short range of one rollup table, so a series costs about the same at a thousand or ten
//! million stored events. The caller aligns and clamps the buckets (routes/stats.rs).

use super::rollup::{DURATION_BOUNDS, HOUR};
use super::{EventStore, Pool, op};
use crate::error::{Error, Result};

fn storage(op_name: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::Storage(op(op_name)(e))
}

/// Equal buckets: the k-th covers `[from + k*step, from + (k+1)*step)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    pub from: i64,
    pub step: i64,
    pub points: i64,
}

impl Series {
    pub fn end(&self) -> i64 {
        self.from + self.step * self.points
    }

    /// Sums `(bucket index, values)` rows into one vector per bucket.
    fn fill<const N: usize>(&self, rows: Vec<(i64, [i64; N])>) -> Vec<[i64; N]> {
        let mut out = vec![[0; N]; self.points as usize];
        for (k, v) in rows {
            if let Some(slot) = usize::try_from(k).ok().and_then(|k| out.get_mut(k)) {
                for i in 0..N {
                    slot[i] += v[i];
                }
            }
        }
        out
    }
}

/// Closed sessions per duration bucket (labels: [`super::DURATION_LABELS`]).
pub type Durations = [i64; DURATION_BOUNDS.len() + 1];

impl EventStore {
    /// Participants present at the end of each bucket, in `room` or (None) in all rooms: one
    /// seek per point for the running total of the last minute before it.
    pub async fn participants_series(&self, room: Option<&str>, s: Series) -> Result<Vec<i64>> {
        let room = room.unwrap_or("");
        let levels: Vec<i64> = on_pool!(self, |p| sqlx::query_scalar(
            "WITH RECURSIVE pts(k) AS (
                 SELECT CAST(1 AS BIGINT) UNION ALL SELECT k + 1 FROM pts WHERE k < $4
             )
             SELECT CAST(COALESCE((SELECT p.level FROM presence p
                 WHERE p.room_name = $1 AND p.minute < $2 + pts.k * $3
                 ORDER BY p.minute DESC LIMIT 1), 0) AS BIGINT)
             FROM pts ORDER BY pts.k",
        )
        .bind(room)
        .bind(s.from)
        .bind(s.step)
        .bind(s.points)
        .fetch_all(p)
        .await
        .map_err(storage("read the participants series")))?;
        // A leave whose join came late can dip a total below zero for a moment.
        Ok(levels.into_iter().map(|l| l.max(0)).collect())
    }

    /// Webhook deliveries per bucket: [stored, duplicates, forgeries]. Steps of whole hours
    /// read the hourly rollup (720 rows for 30 days), others the per-minute one.
    pub async fn webhooks_series(&self, s: Series) -> Result<Vec<[i64; 3]>> {
        let hourly = s.step % HOUR == 0 && s.from % HOUR == 0;
        let rows: Vec<(i64, i64, i64, i64)> = on_pool!(self, |p| {
            let sql = if hourly {
                "SELECT CAST((hour - $1) / $3 AS BIGINT), CAST(SUM(stored) AS BIGINT),
                        CAST(SUM(duplicates) AS BIGINT), CAST(SUM(forgeries) AS BIGINT)
                 FROM webhook_hour WHERE hour >= $1 AND hour < $2 GROUP BY 1"
            } else {
                "SELECT CAST((minute - $1) / $3 AS BIGINT), CAST(SUM(stored) AS BIGINT),
                        CAST(SUM(duplicates) AS BIGINT), CAST(SUM(forgeries) AS BIGINT)
                 FROM webhook_minute WHERE minute >= $1 AND minute < $2 GROUP BY 1"
            };
            sqlx::query_as(sql)
                .bind(s.from)
                .bind(s.end())
                .bind(s.step)
                .fetch_all(p)
                .await
                .map_err(storage("read the webhooks series"))?
        });
        Ok(s.fill(
            rows.into_iter()
                .map(|(k, a, b, c)| (k, [a, b, c]))
                .collect(),
        ))
    }

    /// Seconds of closed participant sessions per bucket (whole days).
    pub async fn usage_series(&self, s: Series) -> Result<Vec<i64>> {
        let rows: Vec<(i64, i64)> = on_pool!(self, |p| sqlx::query_as(
            "SELECT CAST((day - $1) / $3 AS BIGINT), CAST(SUM(seconds) AS BIGINT)
             FROM usage_day WHERE day >= $1 AND day < $2 GROUP BY 1",
        )
        .bind(s.from)
        .bind(s.end())
        .bind(s.step)
        .fetch_all(p)
        .await
        .map_err(storage("read the participant minutes"))?);
        Ok(s.fill(rows.into_iter().map(|(k, v)| (k, [v])).collect())
            .into_iter()
            .map(|[v]| v)
            .collect())
    }

    /// Participant sessions that ended in `[from, to)` (whole hours), by duration bucket.
    pub async fn session_durations(&self, from: i64, to: i64) -> Result<Durations> {
        let rows: Vec<(i64, i64)> = on_pool!(self, |p| sqlx::query_as(
            "SELECT bucket, CAST(SUM(sessions) AS BIGINT) FROM session_hour
             WHERE hour >= $1 AND hour < $2 GROUP BY bucket",
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await
        .map_err(storage("read the session durations"))?);
        let mut out: Durations = Default::default();
        for (b, n) in rows {
            if let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) {
                *slot += n;
            }
        }
        Ok(out)
    }
}
