//! livekit.RoomService semantics (facts §3.3; LK `pkg/service/roomservice.go`): grants, check
//! order, error messages and update rules. Transport concerns live in `twirp.rs`.

use axum::body::Bytes;
use axum::response::Response;
use livekit_protocol as proto;

use crate::Shared;
use crate::auth::Claims;
use crate::state::{DataKind, SentData};
use crate::twirp::{Encoding, Reply, TwirpError, decode};

/// Every method the real RoomService routes; anything else is `bad_route`.
pub const METHODS: &[&str] = &[
    "CreateRoom",
    "ListRooms",
    "DeleteRoom",
    "ListParticipants",
    "GetParticipant",
    "RemoveParticipant",
    "MutePublishedTrack",
    "UpdateParticipant",
    "UpdateSubscriptions",
    "SendData",
    "UpdateRoomMetadata",
    "ForwardParticipant",
    "MoveParticipant",
    "PerformRpc",
];

type Out = Result<Response, TwirpError>;

pub fn call(
    shared: &Shared,
    method: &str,
    claims: Option<&Claims>,
    enc: Encoding,
    body: &Bytes,
) -> Out {
    let svc = Svc {
        shared,
        claims: claims.cloned().unwrap_or_default(),
    };
    match method {
        "CreateRoom" => Ok(svc.create_room(decode(enc, body)?)?.encode_as(enc)),
        "ListRooms" => Ok(svc.list_rooms(decode(enc, body)?)?.encode_as(enc)),
        "DeleteRoom" => Ok(svc.delete_room(decode(enc, body)?)?.encode_as(enc)),
        "ListParticipants" => Ok(svc.list_participants(decode(enc, body)?)?.encode_as(enc)),
        "GetParticipant" => Ok(svc.get_participant(decode(enc, body)?)?.encode_as(enc)),
        "RemoveParticipant" => Ok(svc.remove_participant(decode(enc, body)?)?.encode_as(enc)),
        "MutePublishedTrack" => Ok(svc.mute_published_track(decode(enc, body)?)?.encode_as(enc)),
        "UpdateParticipant" => Ok(svc.update_participant(decode(enc, body)?)?.encode_as(enc)),
        "UpdateSubscriptions" => Ok(svc.update_subscriptions(decode(enc, body)?)?.encode_as(enc)),
        "SendData" => Ok(svc.send_data(decode(enc, body)?)?.encode_as(enc)),
        "UpdateRoomMetadata" => Ok(svc.update_room_metadata(decode(enc, body)?)?.encode_as(enc)),
        "ForwardParticipant" => {
            let req: proto::ForwardParticipantRequest = decode(enc, body)?;
            svc.destination(&req.destination_room)?;
            svc.unsupported(&req.room)
        }
        "MoveParticipant" => {
            let req: proto::MoveParticipantRequest = decode(enc, body)?;
            svc.destination(&req.destination_room)?;
            svc.unsupported(&req.room)
        }
        "PerformRpc" => {
            let req: proto::PerformRpcRequest = decode(enc, body)?;
            svc.unsupported(&req.room)
        }
        _ => unreachable!("router only passes METHODS"),
    }
}

struct Svc<'a> {
    shared: &'a Shared,
    claims: Claims,
}

type R<T> = Result<T, TwirpError>;

impl Svc<'_> {
    fn admin(&self, room: &str) -> R<()> {
        if self.claims.is_admin_of(room) {
            Ok(())
        } else {
            Err(TwirpError::permission_denied())
        }
    }

    /// `EnsureDestRoomPermission`: the token's `destinationRoom` must name the destination.
    fn destination(&self, room: &str) -> R<()> {
        let named = self
            .claims
            .video
            .as_ref()
            .and_then(|v| v.destination_room.as_deref());
        if named == Some(room) {
            Ok(())
        } else {
            Err(TwirpError::permission_denied())
        }
    }

    fn limits(&self) -> &crate::config::Limits {
        &self.shared.config.limits
    }

    fn check_metadata(&self, metadata: &str) -> R<()> {
        let max = self.limits().max_metadata_size;
        if max > 0 && metadata.len() > max {
            return Err(TwirpError::invalid_argument(
                "metadata size exceeds limits",
                max,
            ));
        }
        Ok(())
    }

    fn create_room(&self, req: proto::CreateRoomRequest) -> R<proto::Room> {
        if !self.claims.can_create() {
            return Err(TwirpError::permission_denied());
        }
        if req.egress.is_some() {
            // No Redis, hence no egress service behind this "server".
            return Err(TwirpError::new(
                "internal",
                "egress not connected (redis required)",
            ));
        }
        let max = self.limits().max_room_name_length;
        if max > 0 && req.name.len() > max {
            return Err(TwirpError::invalid_argument(
                "room name length exceeds limits",
                max,
            ));
        }
        if req.name.is_empty() {
            // Unverified against LK source: a nameless room cannot be addressed afterwards.
            return Err(TwirpError::invalid_argument("room name", "cannot be empty"));
        }
        self.check_metadata(&req.metadata)?;
        Ok(self.shared.state().get_or_create(&req, &self.shared.config))
    }

    fn list_rooms(&self, req: proto::ListRoomsRequest) -> R<proto::ListRoomsResponse> {
        if !self.claims.can_list() {
            return Err(TwirpError::permission_denied());
        }
        let mut state = self.shared.state();
        let rooms = state
            .rooms()
            .filter(|r| req.names.is_empty() || req.names.contains(&r.room.name))
            .map(|r| r.snapshot())
            .collect();
        Ok(proto::ListRoomsResponse { rooms })
    }

    fn delete_room(&self, req: proto::DeleteRoomRequest) -> R<proto::DeleteRoomResponse> {
        if !self.claims.can_create() {
            return Err(TwirpError::permission_denied());
        }
        if !self.shared.state().delete_room(&req.room) {
            return Err(TwirpError::room_not_found());
        }
        Ok(proto::DeleteRoomResponse {})
    }

    fn list_participants(
        &self,
        req: proto::ListParticipantsRequest,
    ) -> R<proto::ListParticipantsResponse> {
        self.admin(&req.room)?;
        // LiveKit's room store answers an unknown room with an empty list, not not_found.
        let mut state = self.shared.state();
        let participants = state
            .room(&req.room)
            .map(|r| r.participants.clone())
            .unwrap_or_default();
        Ok(proto::ListParticipantsResponse { participants })
    }

    fn get_participant(&self, req: proto::RoomParticipantIdentity) -> R<proto::ParticipantInfo> {
        self.admin(&req.room)?;
        let mut state = self.shared.state();
        // LoadParticipant reports a missing room as a missing participant.
        let room = state
            .room(&req.room)
            .ok_or_else(TwirpError::participant_not_found)?;
        room.participant_mut(&req.identity)
            .map(|p| p.clone())
            .ok_or_else(TwirpError::participant_not_found)
    }

    fn remove_participant(
        &self,
        req: proto::RoomParticipantIdentity,
    ) -> R<proto::RemoveParticipantResponse> {
        self.admin(&req.room)?;
        let mut state = self.shared.state();
        // RoomService answers twirp.NotFoundError("participant not found") whether the room or
        // the participant is missing.
        if !state.remove_participant(&req.room, &req.identity) {
            return Err(TwirpError::new("not_found", "participant not found"));
        }
        Ok(proto::RemoveParticipantResponse {})
    }

    fn mute_published_track(
        &self,
        req: proto::MuteRoomTrackRequest,
    ) -> R<proto::MuteRoomTrackResponse> {
        self.admin(&req.room)?;
        if !req.muted && !self.shared.config.room.enable_remote_unmute {
            return Err(TwirpError::new(
                "failed_precondition",
                "remote unmute not enabled",
            ));
        }
        let mut state = self.shared.state();
        let room = state
            .room(&req.room)
            .ok_or_else(TwirpError::room_not_found)?;
        let p = room
            .participant_mut(&req.identity)
            .ok_or_else(TwirpError::participant_not_found)?;
        let track = p
            .tracks
            .iter_mut()
            .find(|t| t.sid == req.track_sid)
            .ok_or_else(|| TwirpError::new("not_found", "track is not found"))?;
        track.muted = req.muted;
        let track = track.clone();
        p.version += 1;
        Ok(proto::MuteRoomTrackResponse { track: Some(track) })
    }

    fn update_participant(
        &self,
        req: proto::UpdateParticipantRequest,
    ) -> R<proto::ParticipantInfo> {
        // Sizes are checked before grants (facts §6b).
        self.check_metadata(&req.metadata)?;
        let max = self.limits().max_participant_name_length;
        if max > 0 && req.name.len() > max {
            return Err(TwirpError::invalid_argument(
                "name length exceeds limits",
                max,
            ));
        }
        let max = self.limits().max_attributes_size;
        let size: usize = req.attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
        if max > 0 && size > max {
            return Err(TwirpError::invalid_argument(
                "attribute size exceeds limits",
                max,
            ));
        }
        self.admin(&req.room)?;
        let mut state = self.shared.state();
        let room = state
            .room(&req.room)
            .ok_or_else(TwirpError::participant_not_found)?;
        let p = room
            .participant_mut(&req.identity)
            .ok_or_else(TwirpError::participant_not_found)?;
        // Empty name/metadata mean "no change": they cannot be cleared through this call.
        if !req.metadata.is_empty() {
            p.metadata = req.metadata;
        }
        if !req.name.is_empty() {
            p.name = req.name;
        }
        // Attributes merge; an empty value deletes the key.
        for (k, v) in req.attributes {
            if v.is_empty() {
                p.attributes.remove(&k);
            } else {
                p.attributes.insert(k, v);
            }
        }
        // A present permission replaces the whole set (omitted booleans become false).
        if let Some(perm) = req.permission {
            p.permission = Some(perm);
        }
        p.version += 1;
        Ok(p.clone())
    }

    fn update_subscriptions(
        &self,
        req: proto::UpdateSubscriptionsRequest,
    ) -> R<proto::UpdateSubscriptionsResponse> {
        self.admin(&req.room)?;
        let mut state = self.shared.state();
        let room = state
            .room(&req.room)
            .ok_or_else(TwirpError::room_not_found)?;
        room.participant_mut(&req.identity)
            .ok_or_else(TwirpError::participant_not_found)?;
        Ok(proto::UpdateSubscriptionsResponse {})
    }

    fn send_data(&self, req: proto::SendDataRequest) -> R<proto::SendDataResponse> {
        self.admin(&req.room)?;
        if !req.nonce.is_empty() && req.nonce.len() != 16 {
            return Err(TwirpError::invalid_argument("nonce", "must be 16 bytes"));
        }
        let mut state = self.shared.state();
        if state.room(&req.room).is_none() {
            return Err(TwirpError::room_not_found());
        }
        let kind = if req.kind == proto::data_packet::Kind::Lossy as i32 {
            DataKind::Lossy
        } else {
            DataKind::Reliable
        };
        state.data.entry(req.room).or_default().push(SentData {
            payload: req.data,
            kind,
            topic: req.topic,
            destination_identities: req.destination_identities,
            nonce: req.nonce,
        });
        Ok(proto::SendDataResponse {})
    }

    fn update_room_metadata(&self, req: proto::UpdateRoomMetadataRequest) -> R<proto::Room> {
        self.check_metadata(&req.metadata)?;
        self.admin(&req.room)?;
        let mut state = self.shared.state();
        let room = state
            .room(&req.room)
            .ok_or_else(TwirpError::room_not_found)?;
        room.room.metadata = req.metadata;
        Ok(room.snapshot())
    }

    /// Forward/Move need a multi-node deployment and PerformRpc a live client; neither exists
    /// here. Grants are still enforced first, as in the server.
    fn unsupported(&self, room: &str) -> Out {
        self.admin(room)?;
        Err(TwirpError::new("unimplemented", "not implemented"))
    }
}
