//! The audit log: every mutating RPC call, with who made it and how it ended. Params are stored
//! with secrets and tokens redacted.

use hero_livekit_api::timefmt::{now_unix, parse_rfc3339, rfc3339};
use hero_livekit_api::types::{AuditEntry, AuditList, AuditListParams, AuditPeer};
use serde_json::Value;
use sqlx::SqlitePool;

use crate::error::{Error, Result};
use crate::socket::Peer;

const REDACTED_FIELDS: &[&str] = &["secret", "token", "api_secret", "password"];
/// Long values (data payloads, metadata) are cut so one call cannot bloat the log.
const MAX_VALUE_CHARS: usize = 1024;

pub fn redact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if REDACTED_FIELDS.contains(&k.as_str()) {
                        (k, Value::String("<redacted>".into()))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(redact).collect()),
        Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => Value::String(format!(
            "{}… ({} bytes)",
            s.chars().take(MAX_VALUE_CHARS).collect::<String>(),
            s.len()
        )),
        other => other,
    }
}

pub async fn record(
    pool: &SqlitePool,
    method: &str,
    peer: Option<Peer>,
    params: Value,
    outcome: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO audit (at, method, peer_uid, peer_pid, params, outcome) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(now_unix())
        .bind(method)
        .bind(peer.map(|p| p.uid as i64))
        .bind(peer.and_then(|p| p.pid).map(|p| p as i64))
        .bind(redact(params).to_string())
        .bind(outcome)
        .execute(pool)
        .await?;
    Ok(())
}

type Row = (i64, String, Option<i64>, Option<i64>, String, String);

pub async fn list(pool: &SqlitePool, p: &AuditListParams) -> Result<AuditList> {
    let since = match &p.since {
        Some(s) => parse_rfc3339(s)
            .ok_or_else(|| Error::params("since", format!("{s:?} is not an RFC 3339 time")))?,
        None => i64::MIN,
    };
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(Error::params("limit", "must be between 1 and 1000"));
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT at, method, peer_uid, peer_pid, params, outcome FROM audit \
         WHERE at >= ? AND (? IS NULL OR method = ?) ORDER BY id DESC LIMIT ?",
    )
    .bind(since)
    .bind(p.method.as_deref())
    .bind(p.method.as_deref())
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    Ok(AuditList {
        entries: rows
            .into_iter()
            .map(|(at, method, uid, pid, params, outcome)| AuditEntry {
                at: rfc3339(at),
                method,
                peer: AuditPeer {
                    uid: uid.map(|u| u as u32),
                    pid: pid.map(|p| p as i32),
                },
                params: serde_json::from_str(&params).unwrap_or(Value::String(params)),
                outcome,
            })
            .collect(),
    })
}
