//! The audit log: every mutating RPC call, with who made it and how it ended. Params are stored
//! with secrets redacted by the project's one rule (`hero_livekit_api::redact`).

use hero_livekit_api::redact;
use hero_livekit_api::timefmt::{now_unix, parse_rfc3339, rfc3339};
use hero_livekit_api::types::{AuditEntry, AuditList, AuditListParams, AuditPeer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::socket::Peer;
use crate::store::{NewAudit, Store};

/// Long values (data payloads, metadata) are cut so one call cannot bloat the log.
const MAX_VALUE_CHARS: usize = 1024;

/// Secrets hidden, long values cut.
pub fn redact(v: Value) -> Value {
    fn cut(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, cut(v))).collect()),
            Value::Array(a) => Value::Array(a.into_iter().map(cut).collect()),
            Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => Value::String(format!(
                "{}… ({} bytes)",
                s.chars().take(MAX_VALUE_CHARS).collect::<String>(),
                s.len()
            )),
            other => other,
        }
    }
    cut(redact::json(v))
}

pub async fn record(
    store: &Store,
    method: &str,
    peer: Option<Peer>,
    params: Value,
    outcome: &str,
) -> Result<()> {
    store
        .record_audit(NewAudit {
            at: now_unix(),
            method,
            peer_uid: peer.map(|p| p.uid),
            peer_pid: peer.and_then(|p| p.pid),
            params: redact(params).to_string(),
            outcome,
        })
        .await?;
    Ok(())
}

pub async fn list(store: &Store, p: &AuditListParams) -> Result<AuditList> {
    let since = match &p.since {
        Some(s) => parse_rfc3339(s)
            .ok_or_else(|| Error::params("since", format!("{s:?} is not an RFC 3339 time")))?,
        None => i64::MIN,
    };
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(Error::params("limit", "must be between 1 and 1000"));
    }
    let rows = store.audit(since, p.method.as_deref(), limit).await?;
    Ok(AuditList {
        entries: rows
            .into_iter()
            .map(|r| AuditEntry {
                at: rfc3339(r.at),
                method: r.method,
                peer: AuditPeer {
                    uid: r.peer_uid.map(|u| u as u32),
                    pid: r.peer_pid.map(|p| p as i32),
                },
                params: serde_json::from_str(&r.params).unwrap_or(Value::String(r.params)),
                outcome: r.outcome,
            })
            .collect(),
    })
}
