//! In-memory rooms and participants, kept as the protocol's own messages so both encodings are
//! produced from one source. Per instance: a "restart" (stop + start) begins empty, like a
//! single-node livekit-server without Redis.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use livekit_protocol as proto;
use proto::participant_info::{Kind as ParticipantKind, State as ParticipantState};

use crate::config::Config;

/// What a test client publishes when it "joins" (see `StandIn::join`).
#[derive(Debug, Clone)]
pub struct TrackSpec {
    pub kind: TrackKind,
    pub source: Source,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Unknown,
    Camera,
    Microphone,
    ScreenShare,
    ScreenShareAudio,
}

impl From<Source> for proto::TrackSource {
    fn from(s: Source) -> Self {
        match s {
            Source::Unknown => proto::TrackSource::Unknown,
            Source::Camera => proto::TrackSource::Camera,
            Source::Microphone => proto::TrackSource::Microphone,
            Source::ScreenShare => proto::TrackSource::ScreenShare,
            Source::ScreenShareAudio => proto::TrackSource::ScreenShareAudio,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Reliable,
    Lossy,
}

/// One SendData call as the room received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentData {
    pub payload: Vec<u8>,
    pub kind: DataKind,
    pub topic: Option<String>,
    pub destination_identities: Vec<String>,
    pub nonce: Vec<u8>,
}

#[derive(Debug)]
pub struct RoomEntry {
    pub room: proto::Room,
    /// In join order, like the server's participant list.
    pub participants: Vec<proto::ParticipantInfo>,
    created: Instant,
    /// When the last participant left; None while someone is in or nobody ever joined.
    emptied: Option<Instant>,
    ever_joined: bool,
}

impl RoomEntry {
    /// Room as the API reports it: live counters filled in.
    pub fn snapshot(&self) -> proto::Room {
        let mut r = self.room.clone();
        r.num_participants = self.participants.len() as u32;
        r.num_publishers = self.participants.iter().filter(|p| p.is_publisher).count() as u32;
        r
    }

    pub fn participant_mut(&mut self, identity: &str) -> Option<&mut proto::ParticipantInfo> {
        self.participants
            .iter_mut()
            .find(|p| p.identity == identity)
    }

    pub fn remove_participant(&mut self, identity: &str) -> bool {
        let before = self.participants.len();
        self.participants.retain(|p| p.identity != identity);
        let removed = self.participants.len() != before;
        if removed && self.participants.is_empty() {
            self.emptied = Some(Instant::now());
        }
        removed
    }

    /// The server closes a room nobody joined after `empty_timeout`, and an abandoned one
    /// `departure_timeout` after the last participant left.
    fn expired(&self, now: Instant) -> bool {
        if !self.participants.is_empty() {
            return false;
        }
        let (since, secs) = match (self.ever_joined, self.emptied) {
            (true, Some(t)) => (t, self.room.departure_timeout),
            (true, None) => return false,
            (false, _) => (self.created, self.room.empty_timeout),
        };
        now.duration_since(since) >= Duration::from_secs(u64::from(secs))
    }
}

#[derive(Debug, Default)]
pub struct State {
    rooms: BTreeMap<String, RoomEntry>,
    /// Kept apart from rooms so a test can still read what was sent after a room closed.
    pub data: BTreeMap<String, Vec<SentData>>,
    /// Agent dispatches by room; every room starts with LiveKit's default (empty agent name).
    pub dispatches: BTreeMap<String, Vec<proto::AgentDispatch>>,
    /// Ingresses by id.
    pub ingress: BTreeMap<String, proto::IngressInfo>,
    /// SIP trunks and dispatch rules by id.
    pub sip_inbound: BTreeMap<String, proto::SipInboundTrunkInfo>,
    pub sip_outbound: BTreeMap<String, proto::SipOutboundTrunkInfo>,
    pub sip_rules: BTreeMap<String, proto::SipDispatchRuleInfo>,
    /// Egresses by id, finished ones until the retention forgets them.
    pub egress: BTreeMap<String, crate::egress::EgressEntry>,
    /// The webhook queue, when `livekit.yaml` configures webhooks.
    pub notify: Option<tokio::sync::mpsc::UnboundedSender<(Instant, proto::WebhookEvent)>>,
}

/// A participant as `participant_left` reports it.
fn disconnected(mut p: proto::ParticipantInfo) -> proto::ParticipantInfo {
    p.state = ParticipantState::Disconnected as i32;
    p
}

/// `{sid, name}`: the room as track events carry it (without `enable_full_room_in_webhooks`).
fn minimal_room(r: &proto::Room) -> proto::Room {
    proto::Room {
        sid: r.sid.clone(),
        name: r.name.clone(),
        ..Default::default()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("requested room does not exist")]
    NoRoom,
    #[error("room is full")]
    Full,
}

pub fn unix_now() -> (i64, i64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, d.as_millis() as i64)
}

/// LiveKit ids: a prefix plus 12 base57 characters (shortuuid alphabet).
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut buf = [0u8; 12];
    getrandom::fill(&mut buf).expect("OS random source");
    let tail: String = buf
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

impl State {
    /// What the node reports in its `NodeStats`. Every participant is taken to subscribe to every
    /// other participant's tracks (LiveKit's default auto-subscribe).
    pub fn counts(&mut self) -> crate::fleet::Counts {
        self.purge();
        let mut c = crate::fleet::Counts::default();
        for r in self.rooms.values() {
            c.rooms += 1;
            let n = r.participants.len() as u32;
            c.clients += n;
            for p in &r.participants {
                let t = p.tracks.len() as u32;
                c.tracks_in += t;
                c.tracks_out += t * n.saturating_sub(1);
            }
        }
        c
    }

    /// Whether anyone is still connected (a draining server waits for this to be false).
    pub fn has_participants(&mut self) -> bool {
        self.purge();
        self.rooms.values().any(|r| !r.participants.is_empty())
    }

    /// Queues a webhook event the way livekit-server's telemetry creates it.
    fn emit(
        &self,
        event: &str,
        room: proto::Room,
        participant: Option<proto::ParticipantInfo>,
        track: Option<proto::TrackInfo>,
    ) {
        if let Some(tx) = &self.notify {
            let e = proto::WebhookEvent {
                event: event.to_string(),
                room: Some(room),
                participant,
                track,
                id: new_id("EV_"),
                created_at: unix_now().0,
                ..Default::default()
            };
            let _ = tx.send((Instant::now(), e));
        }
    }

    /// Queues an egress event: `egressInfo` plus the room as `{sid, name}`.
    pub fn emit_egress(&self, event: &str, info: &proto::EgressInfo) {
        self.emit_event(proto::WebhookEvent {
            event: event.to_string(),
            room: Some(proto::Room {
                sid: info.room_id.clone(),
                name: info.room_name.clone(),
                ..Default::default()
            }),
            egress_info: Some(info.clone()),
            ..Default::default()
        });
    }

    /// Queues an ingress event: `ingressInfo` plus the room as `{name}`.
    pub fn emit_ingress(&self, event: &str, info: &proto::IngressInfo) {
        self.emit_event(proto::WebhookEvent {
            event: event.to_string(),
            room: Some(proto::Room {
                name: info.room_name.clone(),
                ..Default::default()
            }),
            ingress_info: Some(info.clone()),
            ..Default::default()
        });
    }

    /// Queues any event, stamping its id and time.
    pub fn emit_event(&self, mut e: proto::WebhookEvent) {
        if let Some(tx) = &self.notify {
            e.id = new_id("EV_");
            e.created_at = unix_now().0;
            let _ = tx.send((Instant::now(), e));
        }
    }

    /// Forgets egresses that ended more than `retention` ago, like LiveKit's egress worker
    /// cleaning `ended_egress`.
    pub fn forget_egress(&mut self, retention: Duration) {
        self.egress
            .retain(|_, e| e.ended.is_none_or(|t| t.elapsed() < retention));
    }

    pub fn egress_entry(
        &mut self,
        id: &str,
        retention: Duration,
    ) -> Option<&crate::egress::EgressEntry> {
        self.forget_egress(retention);
        self.egress.get(id)
    }

    /// Drops rooms whose timeout ran out. Called before every read, so expiry is lazy but
    /// never visible to a client.
    pub fn purge(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.expired(now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in expired {
            self.dispatches.remove(&name);
            if let Some(r) = self.rooms.remove(&name) {
                self.emit("room_finished", r.snapshot(), None, None);
            }
        }
    }

    /// A participant leaving (on its own, or removed through the API).
    pub fn remove_participant(&mut self, room: &str, identity: &str) -> bool {
        self.purge();
        let Some(entry) = self.rooms.get_mut(room) else {
            return false;
        };
        let Some(p) = entry
            .participants
            .iter()
            .find(|p| p.identity == identity)
            .cloned()
        else {
            return false;
        };
        entry.remove_participant(identity);
        let snapshot = entry.snapshot();
        self.emit("participant_left", snapshot, Some(disconnected(p)), None);
        true
    }

    pub fn room(&mut self, name: &str) -> Option<&mut RoomEntry> {
        self.purge();
        self.rooms.get_mut(name)
    }

    pub fn rooms(&mut self) -> impl Iterator<Item = &RoomEntry> {
        self.purge();
        self.rooms.values()
    }

    /// Closes the room, disconnecting everyone in it first.
    pub fn delete_room(&mut self, name: &str) -> bool {
        self.purge();
        let Some(mut r) = self.rooms.remove(name) else {
            return false;
        };
        self.dispatches.remove(name);
        for p in std::mem::take(&mut r.participants) {
            self.emit(
                "participant_left",
                r.snapshot(),
                Some(disconnected(p)),
                None,
            );
        }
        self.emit("room_finished", r.snapshot(), None, None);
        true
    }

    /// Get-or-create: an existing room is returned unchanged, whatever the request says.
    pub fn get_or_create(&mut self, req: &proto::CreateRoomRequest, cfg: &Config) -> proto::Room {
        self.purge();
        let created = !self.rooms.contains_key(&req.name);
        let entry = self.rooms.entry(req.name.clone()).or_insert_with(|| {
            let (secs, ms) = unix_now();
            let or = |v: u32, d: u32| if v == 0 { d } else { v };
            RoomEntry {
                room: proto::Room {
                    sid: new_id("RM_"),
                    name: req.name.clone(),
                    empty_timeout: or(req.empty_timeout, cfg.room.empty_timeout),
                    departure_timeout: or(req.departure_timeout, cfg.room.departure_timeout),
                    max_participants: or(req.max_participants, cfg.room.max_participants),
                    creation_time: secs,
                    creation_time_ms: ms,
                    metadata: req.metadata.clone(),
                    ..Default::default()
                },
                participants: Vec::new(),
                created: Instant::now(),
                emptied: None,
                ever_joined: false,
            }
        });
        let snapshot = entry.snapshot();
        if created {
            // `createAgentDispatchesFromRoomAgent`: without configured agents, one dispatch
            // for the default (unnamed) agent.
            let ns = std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as i64;
            self.dispatches.insert(
                req.name.clone(),
                vec![proto::AgentDispatch {
                    id: new_id("AD_"),
                    room: req.name.clone(),
                    state: Some(proto::AgentDispatchState {
                        created_at: ns,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            );
            self.emit("room_started", snapshot.clone(), None, None);
        }
        snapshot
    }

    /// A client joining: the room is auto-created when the config allows it; a second join with
    /// the same identity replaces the first (the server disconnects the old session).
    pub fn join(
        &mut self,
        cfg: &Config,
        room: &str,
        identity: &str,
        name: &str,
        tracks: &[TrackSpec],
    ) -> Result<String, JoinError> {
        self.join_as(
            cfg,
            room,
            identity,
            name,
            tracks,
            ParticipantKind::Standard,
            Default::default(),
        )
        .map(|p| p.sid)
    }

    /// A join by a participant of any kind (SIP callers, ingress publishers…) with attributes.
    #[allow(clippy::too_many_arguments)]
    pub fn join_as(
        &mut self,
        cfg: &Config,
        room: &str,
        identity: &str,
        name: &str,
        tracks: &[TrackSpec],
        kind: ParticipantKind,
        attributes: std::collections::HashMap<String, String>,
    ) -> Result<proto::ParticipantInfo, JoinError> {
        self.purge();
        if !self.rooms.contains_key(room) {
            if !cfg.room.auto_create {
                return Err(JoinError::NoRoom);
            }
            self.get_or_create(
                &proto::CreateRoomRequest {
                    name: room.to_string(),
                    ..Default::default()
                },
                cfg,
            );
        }
        let entry = self.rooms.get_mut(room).expect("room exists");
        let replaced = entry
            .participants
            .iter()
            .position(|p| p.identity == identity)
            .map(|i| entry.participants.remove(i));
        let max = entry.room.max_participants;
        if max > 0 && entry.participants.len() as u32 >= max {
            return Err(JoinError::Full);
        }
        let (secs, ms) = unix_now();
        let sid = new_id("PA_");
        let tracks: Vec<proto::TrackInfo> = tracks
            .iter()
            .map(|t| {
                let (ty, mime, w, h) = match t.kind {
                    TrackKind::Audio => (proto::TrackType::Audio, "audio/opus", 0, 0),
                    TrackKind::Video => (proto::TrackType::Video, "video/VP8", 1280, 720),
                };
                proto::TrackInfo {
                    sid: new_id("TR_"),
                    r#type: ty as i32,
                    name: t.name.clone(),
                    width: w,
                    height: h,
                    source: proto::TrackSource::from(t.source) as i32,
                    mime_type: mime.to_string(),
                    ..Default::default()
                }
            })
            .collect();
        entry.participants.push(proto::ParticipantInfo {
            sid: sid.clone(),
            identity: identity.to_string(),
            state: ParticipantState::Active as i32,
            is_publisher: !tracks.is_empty(),
            tracks,
            joined_at: secs,
            joined_at_ms: ms,
            name: name.to_string(),
            permission: Some(proto::ParticipantPermission {
                can_subscribe: true,
                can_publish: true,
                can_publish_data: true,
                ..Default::default()
            }),
            kind: kind as i32,
            attributes,
            ..Default::default()
        });
        entry.ever_joined = true;
        entry.emptied = None;
        let room_now = entry.snapshot();
        let joined = entry.participants.last().cloned().expect("just pushed");
        if let Some(old) = replaced {
            self.emit(
                "participant_left",
                room_now.clone(),
                Some(disconnected(old)),
                None,
            );
        }
        // Joined once active, before publishing; then each track, with the room and the
        // participant cut down to ids.
        let mut announced = joined.clone();
        announced.tracks.clear();
        announced.is_publisher = false;
        self.emit(
            "participant_joined",
            room_now.clone(),
            Some(announced),
            None,
        );
        for t in &joined.tracks {
            let who = proto::ParticipantInfo {
                sid: joined.sid.clone(),
                identity: joined.identity.clone(),
                ..Default::default()
            };
            self.emit(
                "track_published",
                minimal_room(&room_now),
                Some(who),
                Some(t.clone()),
            );
        }
        Ok(joined)
    }
}
