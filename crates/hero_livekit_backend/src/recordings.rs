//! The recordings catalogue from egress webhooks (side-services facts §5; design §11.1).
//!
//! `egress_started`, `egress_updated` and `egress_ended` carry LiveKit's full `EgressInfo`;
//! each becomes the catalogue row of its egress, shaped by the one conversion the control plane
//! uses too ([`EgressInfo::from_proto`]: `file_results`, `segment_results`, `image_results`,
//! `stream_results` and the deprecated `result`). Stream URLs in it are redacted.

use hero_livekit_api::types::{EgressInfo, EgressStatus};
use livekit_protocol as proto;

use crate::store::NewRecording;

/// Events that carry an `EgressInfo`.
pub const EVENTS: &[&str] = &["egress_started", "egress_updated", "egress_ended"];

/// The catalogue row a verified webhook body describes, or `None` for any other event (or an
/// egress event without an egress id, which there is nothing to key on).
pub fn from_webhook(body: &[u8], received_at: i64) -> Option<NewRecording> {
    let event: proto::WebhookEvent = serde_json::from_slice(body).ok()?;
    if !EVENTS.contains(&event.event.as_str()) {
        return None;
    }
    let raw = event.egress_info?;
    if raw.egress_id.is_empty() {
        return None;
    }
    let info = EgressInfo::from_proto(&raw);
    let secs = |ns: i64| (ns > 0).then(|| ns.div_euclid(1_000_000_000));
    let created_at = secs(raw.started_at)
        .into_iter()
        .chain(secs(raw.updated_at))
        .min()
        .or_else(|| (event.created_at > 0).then_some(event.created_at))
        .unwrap_or(received_at);
    Some(NewRecording {
        egress_id: raw.egress_id.clone(),
        room_name: raw.room_name.clone(),
        kind: info.kind.as_str().to_string(),
        status: info.status.as_str().to_string(),
        status_rank: rank(info.status),
        created_at,
        started_at: secs(raw.started_at),
        ended_at: if info.status.is_running() {
            None
        } else {
            secs(raw.ended_at).or(Some(received_at))
        },
        updated_ns: raw.updated_at,
        info: serde_json::to_string(&info).ok()?,
    })
}

fn rank(s: EgressStatus) -> i64 {
    hero_livekit_api::types::ALL_STATUSES
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0) as i64
}

/// What the live stream says about a catalogue change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EgressChange {
    pub egress_id: String,
    pub status: String,
}

impl From<&NewRecording> for EgressChange {
    fn from(r: &NewRecording) -> Self {
        EgressChange {
            egress_id: r.egress_id.clone(),
            status: r.status.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_livekit_api::types::EgressKind;
    use serde_json::json;

    #[test]
    fn an_ended_webhook_becomes_a_finished_row_with_its_outputs() {
        // protojson as livekit-server sends it: camelCase, int64 as strings, enums by name.
        let body = json!({
            "event": "egress_ended",
            "id": "EV_1",
            "createdAt": "1800000100",
            "room": {"sid": "RM_1", "name": "standup"},
            "egressInfo": {
                "egressId": "EG_abc",
                "roomId": "RM_1",
                "roomName": "standup",
                "status": "EGRESS_COMPLETE",
                "startedAt": "1800000000000000000",
                "endedAt": "1800000090000000000",
                "updatedAt": "1800000090000000000",
                "roomComposite": {"roomName": "standup", "layout": "grid"},
                "file": {"filename": "standup.mp4", "size": "123456", "location": "/out/standup.mp4", "duration": "90000000000"},
                "backupStorageUsed": true
            }
        });
        let r = from_webhook(body.to_string().as_bytes(), 5).unwrap();
        assert_eq!(r.egress_id, "EG_abc");
        assert_eq!((r.status.as_str(), r.status_rank), ("complete", 3));
        assert_eq!(r.kind, "room_composite");
        assert_eq!(r.created_at, 1_800_000_000);
        assert_eq!(r.ended_at, Some(1_800_000_090));
        let info: EgressInfo = serde_json::from_str(&r.info).unwrap();
        assert_eq!(info.kind, EgressKind::RoomComposite);
        // Only the deprecated `result.file` was filled: the catalogue still has the file.
        assert_eq!(info.files[0].size, 123_456);
        assert_eq!(info.files[0].duration_s, Some(90));
        assert!(info.backup_storage_used);
    }

    #[test]
    fn other_events_are_not_recordings() {
        let body = json!({"event": "room_started", "room": {"name": "r"}});
        assert_eq!(from_webhook(body.to_string().as_bytes(), 1), None);
        let no_id = json!({"event": "egress_started", "egressInfo": {"roomName": "r"}});
        assert_eq!(from_webhook(no_id.to_string().as_bytes(), 1), None);
    }
}
