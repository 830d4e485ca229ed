//! The chart rollups (migration 0003): what one committed batch adds to them, gathered in
//! memory while the batch's rows are inserted and written with one upsert per touched
//! bucket, in the same transaction. The series then read a few hundred index entries whatever
//! the size of the events table.

use std::collections::BTreeMap;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// Upper bounds (exclusive, seconds) of the session duration buckets; the last is open.
pub const DURATION_BOUNDS: [i64; 5] = [60, 5 * 60, 15 * 60, 3600, 4 * 3600];
pub const DURATION_LABELS: [&str; 6] = [
    "< 1 min",
    "1–5 min",
    "5–15 min",
    "15–60 min",
    "1–4 h",
    "≥ 4 h",
];

/// Events that change who is in a room.
pub const PRESENCE_EVENTS: [&str; 4] = [
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "room_finished",
];

pub fn floor(t: i64, unit: i64) -> i64 {
    t.div_euclid(unit) * unit
}

pub fn duration_bucket(seconds: i64) -> i64 {
    DURATION_BOUNDS
        .iter()
        .position(|b| seconds < *b)
        .unwrap_or(DURATION_BOUNDS.len()) as i64
}

/// What one batch adds to the rollups.
#[derive(Debug, Default)]
pub struct Tally {
    /// (room, minute) → change in participants present.
    pub presence: BTreeMap<(String, i64), i64>,
    /// Day → seconds of closed sessions in it.
    pub usage: BTreeMap<i64, i64>,
    /// (hour of the end, duration bucket) → closed sessions.
    pub sessions: BTreeMap<(i64, i64), i64>,
    /// Minute of receipt → [stored, duplicates, forgeries].
    pub webhooks: BTreeMap<i64, [i64; 3]>,
}

pub enum Delivery {
    Stored = 0,
    Duplicate = 1,
    Forged = 2,
}

impl Tally {
    pub fn delivery(&mut self, received_at: i64, kind: Delivery, n: i64) {
        self.webhooks.entry(floor(received_at, MINUTE)).or_default()[kind as usize] += n;
    }

    pub fn joined(&mut self, room: &str, at: i64) {
        *self
            .presence
            .entry((room.to_string(), floor(at, MINUTE)))
            .or_default() += 1;
    }

    /// A participant present since `joined` left (or the room ended) at `left`.
    pub fn left(&mut self, room: &str, joined: i64, left: i64) {
        *self
            .presence
            .entry((room.to_string(), floor(left, MINUTE)))
            .or_default() -= 1;
        let left = left.max(joined);
        *self
            .sessions
            .entry((floor(left, HOUR), duration_bucket(left - joined)))
            .or_default() += 1;
        // Split over the UTC days the session spans.
        let mut from = joined;
        while from < left {
            let day = floor(from, DAY);
            let until = left.min(day + DAY);
            *self.usage.entry(day).or_default() += until - from;
            from = until;
        }
    }

    /// Presence changes of every room together ('' in the table), by minute.
    pub fn all_rooms(&self) -> BTreeMap<i64, i64> {
        let mut all = BTreeMap::new();
        for ((_, minute), d) in &self.presence {
            *all.entry(*minute).or_default() += d;
        }
        all
    }

    /// The webhook counts summed per hour.
    pub fn webhook_hours(&self) -> BTreeMap<i64, [i64; 3]> {
        let mut hours: BTreeMap<i64, [i64; 3]> = BTreeMap::new();
        for (minute, c) in &self.webhooks {
            let h = hours.entry(floor(*minute, HOUR)).or_default();
            for i in 0..3 {
                h[i] += c[i];
            }
        }
        hours
    }
}

/// Writes a tally in the open transaction `$tx` (the same statements on every engine).
macro_rules! write_tally {
    ($tx:ident, $tally:expr) => {{
        let tally: &$crate::store::rollup::Tally = $tally;
        let all = tally.all_rooms();
        let rooms = tally
            .presence
            .iter()
            .map(|((r, m), d)| (r.as_str(), *m, *d))
            .chain(all.iter().map(|(m, d)| ("", *m, *d)));
        for (room, minute, delta) in rooms.filter(|(_, _, d)| *d != 0) {
            sqlx::query(
                "INSERT INTO presence (room_name, minute, delta, level)
                 VALUES ($1, $2, $3, $3 + COALESCE((SELECT p.level FROM presence p
                     WHERE p.room_name = $1 AND p.minute < $2 ORDER BY p.minute DESC LIMIT 1), 0))
                 ON CONFLICT (room_name, minute) DO UPDATE SET
                     delta = presence.delta + excluded.delta,
                     level = presence.level + excluded.delta",
            )
            .bind(room)
            .bind(minute)
            .bind(delta)
            .execute(&mut *$tx)
            .await
            .map_err(op("count participants"))?;
            // A late event also moves every later running total (usually none).
            sqlx::query(
                "UPDATE presence SET level = level + $3 WHERE room_name = $1 AND minute > $2",
            )
            .bind(room)
            .bind(minute)
            .bind(delta)
            .execute(&mut *$tx)
            .await
            .map_err(op("count participants"))?;
        }
        for (day, seconds) in &tally.usage {
            sqlx::query(
                "INSERT INTO usage_day (day, seconds) VALUES ($1, $2)
                 ON CONFLICT (day) DO UPDATE SET seconds = usage_day.seconds + excluded.seconds",
            )
            .bind(*day)
            .bind(*seconds)
            .execute(&mut *$tx)
            .await
            .map_err(op("count participant minutes"))?;
        }
        for ((hour, bucket), n) in &tally.sessions {
            sqlx::query(
                "INSERT INTO session_hour (hour, bucket, sessions) VALUES ($1, $2, $3)
                 ON CONFLICT (hour, bucket) DO UPDATE
                     SET sessions = session_hour.sessions + excluded.sessions",
            )
            .bind(*hour)
            .bind(*bucket)
            .bind(*n)
            .execute(&mut *$tx)
            .await
            .map_err(op("count sessions"))?;
        }
        for (minute, c) in &tally.webhooks {
            sqlx::query(
                "INSERT INTO webhook_minute (minute, stored, duplicates, forgeries)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (minute) DO UPDATE SET
                     stored = webhook_minute.stored + excluded.stored,
                     duplicates = webhook_minute.duplicates + excluded.duplicates,
                     forgeries = webhook_minute.forgeries + excluded.forgeries",
            )
            .bind(*minute)
            .bind(c[0])
            .bind(c[1])
            .bind(c[2])
            .execute(&mut *$tx)
            .await
            .map_err(op("count webhooks"))?;
        }
        for (hour, c) in &tally.webhook_hours() {
            sqlx::query(
                "INSERT INTO webhook_hour (hour, stored, duplicates, forgeries)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (hour) DO UPDATE SET
                     stored = webhook_hour.stored + excluded.stored,
                     duplicates = webhook_hour.duplicates + excluded.duplicates,
                     forgeries = webhook_hour.forgeries + excluded.forgeries",
            )
            .bind(*hour)
            .bind(c[0])
            .bind(c[1])
            .bind(c[2])
            .execute(&mut *$tx)
            .await
            .map_err(op("count webhooks"))?;
        }
    }};
}

/// Applies one newly stored event to the open participants in `$tx`, noting what changes in
/// `$tally`. A join of someone already present (a reconnect) and a leave of someone not
/// present (its join was lost, or the room already ended) change nothing.
macro_rules! track_presence {
    ($tx:ident, $tally:expr, $e:expr) => {{
        let e: &$crate::store::NewEvent = $e;
        let tally: &mut $crate::store::rollup::Tally = $tally;
        if let Some(room) = e.room_name.as_deref() {
            match (e.event.as_str(), e.participant_identity.as_deref()) {
                ("participant_joined", Some(who)) => {
                    let r = sqlx::query(
                        "INSERT INTO open_participants (room_name, identity, joined_at)
                         VALUES ($1, $2, $3) ON CONFLICT (room_name, identity) DO NOTHING",
                    )
                    .bind(room)
                    .bind(who)
                    .bind(e.created_at)
                    .execute(&mut *$tx)
                    .await
                    .map_err(op("track a join"))?;
                    if r.rows_affected() == 1 {
                        tally.joined(room, e.created_at);
                    }
                }
                ("participant_left" | "participant_connection_aborted", Some(who)) => {
                    let joined: Vec<i64> = sqlx::query_scalar(
                        "DELETE FROM open_participants WHERE room_name = $1 AND identity = $2
                         RETURNING joined_at",
                    )
                    .bind(room)
                    .bind(who)
                    .fetch_all(&mut *$tx)
                    .await
                    .map_err(op("track a leave"))?;
                    for j in joined {
                        tally.left(room, j, e.created_at);
                    }
                }
                ("room_finished", _) => {
                    let joined: Vec<i64> = sqlx::query_scalar(
                        "DELETE FROM open_participants WHERE room_name = $1 RETURNING joined_at",
                    )
                    .bind(room)
                    .fetch_all(&mut *$tx)
                    .await
                    .map_err(op("track a room's end"))?;
                    for j in joined {
                        tally.left(room, j, e.created_at);
                    }
                }
                _ => {}
            }
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_over_midnight_is_split_and_bucketed_by_its_length() {
        let mut t = Tally::default();
        t.joined("r", DAY - 90);
        t.left("r", DAY - 90, DAY + 30);
        assert_eq!(t.usage.get(&0), Some(&90));
        assert_eq!(t.usage.get(&DAY), Some(&30));
        assert_eq!(t.sessions.get(&(DAY, 1)), Some(&1));
        assert_eq!(t.all_rooms().values().sum::<i64>(), 0);
        assert_eq!(duration_bucket(59), 0);
        assert_eq!(duration_bucket(5 * 3600), 5);
        t.delivery(125, Delivery::Forged, 2);
        assert_eq!(t.webhook_hours().get(&0), Some(&[0, 0, 2]));
    }
}
