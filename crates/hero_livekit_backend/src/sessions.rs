//! Room and participant sessions derived from stored webhook events.
//!
//! LiveKit's delivery drops events (livekit-facts.md §4.4), so the derivation never assumes a
//! complete stream: a `participant_left` without its `participant_joined` still yields a
//! session (with an unknown or body-provided join time), and `room_finished` closes every
//! participant still open in that room.

use hero_livekit_api::timefmt::rfc3339;
use serde::Serialize;

use crate::store::EventRow;
use crate::webhook::EventSummary;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomSession {
    pub name: String,
    pub sid: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub participants: Vec<ParticipantSession>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantSession {
    pub identity: String,
    /// `participant`, or what it was when it was not a person with an app: `phone call` (a
    /// SIP participant), `ingress` (a stream taken in), `agent`, `egress` (design §11.2).
    pub kind: &'static str,
    pub joined_at: Option<String>,
    pub left_at: Option<String>,
    pub duration_s: Option<i64>,
    /// `left`, `aborted`, `room_finished`, or null while still in the room.
    pub end_reason: Option<&'static str>,
}

struct Room {
    name: String,
    sid: Option<String>,
    started: Option<i64>,
    ended: Option<i64>,
    participants: Vec<Participant>,
}

struct Participant {
    identity: String,
    kind: &'static str,
    sid: Option<String>,
    joined: Option<i64>,
    left: Option<i64>,
    reason: Option<&'static str>,
}

/// Builds sessions from events sorted oldest first (by `created_at`, then arrival).
pub fn derive(events: &[EventRow]) -> Vec<RoomSession> {
    let mut rooms: Vec<Room> = Vec::new();
    for row in events {
        let Some(name) = row.room_name.clone() else {
            continue;
        };
        let summary = EventSummary::parse(&row.body).unwrap_or_default();
        let at = row.created_at;
        let sid = row.room_sid.clone();
        let idx = room_for(
            &mut rooms,
            &name,
            sid.as_deref(),
            row.event == "room_started",
        );
        let room = &mut rooms[idx];
        if room.sid.is_none() {
            room.sid = sid;
        }
        if room.started.is_none() {
            room.started = summary
                .room
                .as_ref()
                .and_then(|r| r.creation_time)
                .filter(|t| *t > 0);
        }
        match row.event.as_str() {
            "room_started" => room.started = Some(at),
            "room_finished" => {
                room.ended = Some(at);
                for p in room.participants.iter_mut().filter(|p| p.left.is_none()) {
                    p.left = Some(at);
                    p.reason = Some("room_finished");
                }
            }
            "participant_joined" | "participant_left" | "participant_connection_aborted" => {
                let Some(identity) = row.participant_identity.clone() else {
                    continue;
                };
                let psid = row.participant_sid.clone();
                let kind = summary
                    .participant
                    .as_ref()
                    .map_or("participant", |p| p.session_kind());
                let joined_hint = summary
                    .participant
                    .as_ref()
                    .and_then(|p| p.joined_at)
                    .filter(|t| *t > 0);
                let open = room.participants.iter_mut().rev().find(|p| {
                    p.left.is_none()
                        && p.identity == identity
                        && (p.sid.is_none() || psid.is_none() || p.sid == psid)
                });
                if row.event == "participant_joined" {
                    if open.is_none() {
                        room.participants.push(Participant {
                            identity,
                            kind,
                            sid: psid,
                            joined: Some(at),
                            left: None,
                            reason: None,
                        });
                    }
                } else {
                    let reason = if row.event == "participant_left" {
                        "left"
                    } else {
                        "aborted"
                    };
                    match open {
                        Some(p) => {
                            p.left = Some(at);
                            p.reason = Some(reason);
                        }
                        // The join was lost: keep the session, with the join time the body
                        // carries when it has one.
                        None => room.participants.push(Participant {
                            identity,
                            kind,
                            sid: psid,
                            joined: joined_hint,
                            left: Some(at),
                            reason: Some(reason),
                        }),
                    }
                }
            }
            _ => {}
        }
    }
    rooms
        .into_iter()
        .map(|r| RoomSession {
            name: r.name,
            sid: r.sid,
            started_at: r.started.map(rfc3339),
            ended_at: r.ended.map(rfc3339),
            participants: r
                .participants
                .into_iter()
                .map(|p| ParticipantSession {
                    identity: p.identity,
                    kind: p.kind,
                    joined_at: p.joined.map(rfc3339),
                    left_at: p.left.map(rfc3339),
                    duration_s: match (p.joined, p.left) {
                        (Some(j), Some(l)) => Some((l - j).max(0)),
                        _ => None,
                    },
                    end_reason: p.reason,
                })
                .collect(),
        })
        .collect()
}

/// The session a room event belongs to: by sid when known, else the latest one of that name.
/// A `room_started` after a finished session of the same name opens a new one.
fn room_for(rooms: &mut Vec<Room>, name: &str, sid: Option<&str>, starting: bool) -> usize {
    let found = rooms.iter().rposition(|r| {
        r.name == name
            && match (r.sid.as_deref(), sid) {
                (Some(a), Some(b)) => a == b,
                _ => !(starting && r.ended.is_some()),
            }
    });
    if let Some(i) = found {
        return i;
    }
    rooms.push(Room {
        name: name.to_string(),
        sid: sid.map(String::from),
        started: None,
        ended: None,
        participants: vec![],
    });
    rooms.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, event: &str, at: i64, room: &str, sid: &str, who: Option<&str>) -> EventRow {
        EventRow {
            seq,
            event_id: format!("EV_{seq}"),
            event: event.into(),
            room_name: Some(room.into()),
            room_sid: Some(sid.into()),
            participant_identity: who.map(String::from),
            participant_sid: who.map(|w| format!("PA_{w}")),
            created_at: at,
            received_at: at,
            signing_key: "APIk".into(),
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn a_full_room_lifecycle() {
        let s = derive(&[
            row(1, "room_started", 100, "r", "RM_1", None),
            row(2, "participant_joined", 110, "r", "RM_1", Some("alice")),
            row(3, "participant_joined", 115, "r", "RM_1", Some("bob")),
            row(4, "participant_left", 170, "r", "RM_1", Some("alice")),
            row(
                5,
                "participant_connection_aborted",
                120,
                "r",
                "RM_1",
                Some("carol"),
            ),
            row(6, "room_finished", 200, "r", "RM_1", None),
        ]);
        assert_eq!(s.len(), 1);
        let r = &s[0];
        assert_eq!(r.started_at.as_deref(), Some("1970-01-01T00:01:40Z"));
        assert_eq!(r.ended_at.as_deref(), Some("1970-01-01T00:03:20Z"));
        let alice = &r.participants[0];
        assert_eq!(
            (alice.duration_s, alice.end_reason),
            (Some(60), Some("left"))
        );
        let bob = &r.participants[1];
        assert_eq!(
            (bob.duration_s, bob.end_reason),
            (Some(85), Some("room_finished"))
        );
        assert_eq!(alice.kind, "participant");
        let carol = &r.participants[2];
        assert_eq!(
            (carol.joined_at.as_deref(), carol.end_reason),
            (None, Some("aborted"))
        );
    }

    #[test]
    fn phone_calls_ingress_and_agents_say_what_they_were() {
        let with = |seq, who: &str, kind: &str| {
            let mut r = row(seq, "participant_joined", 100 + seq, "r", "RM_1", Some(who));
            r.body =
                format!(r#"{{"participant":{{"identity":"{who}","kind":"{kind}"}}}}"#).into_bytes();
            r
        };
        let s = derive(&[
            with(1, "sip_+15105550111", "SIP"),
            with(2, "obs", "INGRESS"),
            with(3, "agent-1", "AGENT"),
            with(4, "alice", "STANDARD"),
        ]);
        let kinds: Vec<&str> = s[0].participants.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["phone call", "ingress", "agent", "participant"]);
    }

    #[test]
    fn lost_events_still_give_sessions() {
        let mut left = row(1, "participant_left", 300, "r", "RM_2", Some("dave"));
        left.body = br#"{"participant":{"identity":"dave","joinedAt":"250"}}"#.to_vec();
        let s = derive(&[
            left,
            row(2, "participant_joined", 310, "r", "RM_2", Some("erin")),
        ]);
        assert_eq!(s[0].started_at, None);
        assert_eq!(s[0].participants[0].duration_s, Some(50));
        assert_eq!(s[0].participants[1].left_at, None);
        assert_eq!(s[0].participants[1].end_reason, None);
        // A second room of the same name is a second session.
        let s = derive(&[
            row(1, "room_started", 1, "r", "RM_a", None),
            row(2, "room_finished", 2, "r", "RM_a", None),
            row(3, "room_started", 3, "r", "RM_b", None),
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].ended_at, None);
    }
}
