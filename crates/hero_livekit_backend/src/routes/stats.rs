//! `GET /api/stats/*` (Bearer BACKEND_API_TOKEN): one chart series per endpoint, read from the
//! rollups (design.md §6.4). `from` and `to` are RFC 3339 times or Unix seconds (default: the
//! last 24 h); `step` is in seconds and is rounded up to the series' unit and clamped so a
//! series never has more than [`MAX_POINTS`] points, whatever the range.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use hero_livekit_api::timefmt::{now_unix, parse_rfc3339, rfc3339};
use serde::Deserialize;
use serde_json::{Value, json};

use super::events::{privileged, query};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{DURATION_LABELS, Series};

/// Most points a series returns.
pub const MAX_POINTS: i64 = 360;
/// Longest range asked for (the retention is 30 days by default).
const MAX_RANGE: i64 = 400 * 86_400;
const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

#[derive(Debug, Default, Deserialize)]
pub struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
    room: Option<String>,
}

fn time(name: &'static str, s: Option<&str>) -> Result<Option<i64>> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().ok().or_else(|| parse_rfc3339(s)).ok_or_else(|| {
                Error::bad_request(
                    name,
                    format!(
                        "{name} must be an RFC 3339 time (e.g. 2026-11-26T13:00:00Z) or Unix seconds"
                    ),
                )
            })
        })
        .transpose()
}

/// The buckets of a series: `unit` is its smallest step (a minute, an hour for steps beyond
/// one, a day for per-day series); buckets are aligned to their step in UTC.
fn series(q: &StatsQuery, unit: i64) -> Result<Series> {
    let to = time("to", q.to.as_deref())?.unwrap_or_else(now_unix);
    let from = time("from", q.from.as_deref())?.unwrap_or(to - DAY);
    if from >= to {
        return Err(Error::bad_request("from", "from must be before to"));
    }
    if to - from > MAX_RANGE {
        return Err(Error::bad_request(
            "from",
            format!("the range may span at most {} days", MAX_RANGE / DAY),
        ));
    }
    let asked = match q.step.as_deref().filter(|s| !s.is_empty()) {
        None => unit,
        Some(s) => s.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(|| {
            Error::bad_request("step", "step must be a positive number of seconds")
        })?,
    };
    // At most MAX_POINTS buckets, in whole units; beyond an hour, whole hours.
    let mut step = asked.max(ceil_div(to - from, MAX_POINTS)).max(unit);
    let unit = if step > HOUR { unit.max(HOUR) } else { unit };
    step = ceil_div(step, unit) * unit;
    // Aligning the start can add a bucket; then one more unit per step.
    let (start, points) = loop {
        let start = from.div_euclid(step) * step;
        let points = ceil_div(to - start, step);
        if points <= MAX_POINTS {
            break (start, points);
        }
        step += unit;
    };
    Ok(Series {
        from: start,
        step,
        points,
    })
}

/// What every series endpoint does first: the bearer, then the query and its buckets.
fn request(
    state: &AppState,
    headers: &HeaderMap,
    q: std::result::Result<Query<StatsQuery>, QueryRejection>,
    unit: i64,
) -> Result<(StatsQuery, Series)> {
    privileged(state, headers)?;
    let q = query(q)?;
    let s = series(&q, unit)?;
    Ok((q, s))
}

/// `a / b` rounded up, for positive numbers.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

fn times(s: &Series, at_end: bool) -> Vec<i64> {
    (0..s.points)
        .map(|k| s.from + (k + i64::from(at_end)) * s.step)
        .collect()
}

fn frame(s: &Series) -> Value {
    json!({
        "from": rfc3339(s.from),
        "to": rfc3339(s.end()),
        "step": s.step,
    })
}

/// `?from&to&step[&room]` → `{from, to, step, room, t: [unix s], participants: [..]}`: the
/// participants present at each time `t` (the end of each bucket), in `room` or all rooms.
pub async fn participants(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let (q, s) = request(&state, &headers, q, MINUTE)?;
    let room = q.room.as_deref().filter(|r| !r.is_empty());
    let values = state.store.participants_series(room, s).await?;
    let mut out = frame(&s);
    out["room"] = json!(room);
    out["t"] = json!(times(&s, true));
    out["participants"] = json!(values);
    Ok(Json(out))
}

/// `?from&to&step` (whole days) → `{…, t: [day starts], minutes: [..]}`: minutes spent in rooms
/// by participants whose session ended, per UTC day.
pub async fn participant_minutes(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let (_, s) = request(&state, &headers, q, DAY)?;
    let seconds = state.store.usage_series(s).await?;
    let mut out = frame(&s);
    out["t"] = json!(times(&s, false));
    out["minutes"] = json!(seconds.iter().map(|s| (s + 30) / 60).collect::<Vec<_>>());
    Ok(Json(out))
}

/// `?from&to` → `{from, to, buckets: [labels], sessions: [..]}`: participant sessions that ended
/// in the range (whole hours), by duration.
pub async fn session_durations(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let (_, s) = request(&state, &headers, q, HOUR)?;
    let counts = state.store.session_durations(s.from, s.end()).await?;
    let mut out = frame(&s);
    out["buckets"] = json!(DURATION_LABELS);
    out["sessions"] = json!(counts);
    Ok(Json(out))
}

/// `?from&to&step` → `{…, t: [bucket starts], stored, duplicates, forgeries}`: webhook
/// deliveries per bucket (per minute by default) by what became of them.
pub async fn webhooks(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let (_, s) = request(&state, &headers, q, MINUTE)?;
    let counts = state.store.webhooks_series(s).await?;
    let mut out = frame(&s);
    out["t"] = json!(times(&s, false));
    for (i, name) in ["stored", "duplicates", "forgeries"]
        .into_iter()
        .enumerate()
    {
        out[name] = json!(counts.iter().map(|c| c[i]).collect::<Vec<_>>());
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str, step: Option<&str>) -> StatsQuery {
        StatsQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            step: step.map(String::from),
            room: None,
        }
    }

    #[test]
    fn steps_are_clamped_to_a_few_hundred_aligned_points() {
        let s = series(&q("0", "3600", None), MINUTE).unwrap();
        assert_eq!((s.from, s.step, s.points), (0, 60, 60));
        let month = series(&q("100", &(30 * DAY).to_string(), Some("60")), MINUTE).unwrap();
        assert!(month.points <= MAX_POINTS, "{month:?}");
        assert_eq!(month.step % HOUR, 0);
        let days = series(&q("0", &(30 * DAY).to_string(), Some("1")), DAY).unwrap();
        assert_eq!((days.step, days.points), (DAY, 30));
        let year = series(&q("0", &(400 * DAY).to_string(), None), DAY).unwrap();
        assert!(year.points <= MAX_POINTS);
    }

    #[test]
    fn bad_parameters_are_named() {
        let field = |e: Error| match e {
            Error::BadRequest { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(series(&q("x", "10", None), MINUTE).unwrap_err()),
            Some("from")
        );
        assert_eq!(
            field(series(&q("0", "yesterday", None), MINUTE).unwrap_err()),
            Some("to")
        );
        assert_eq!(
            field(series(&q("10", "5", None), MINUTE).unwrap_err()),
            Some("from")
        );
        assert_eq!(
            field(series(&q("0", "10", Some("-1")), MINUTE).unwrap_err()),
            Some("step")
        );
    }
}
