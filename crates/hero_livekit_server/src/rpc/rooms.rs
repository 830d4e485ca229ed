//! room.* and participant.*: LiveKit's RoomService through our own DTOs.

use std::collections::BTreeMap;

use base64::Engine;
use hero_livekit_api::methods::*;
use hero_livekit_api::timefmt::rfc3339;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use super::{Call, Registry};
use crate::error::{Error, Result};
use crate::livekit::Grant;
use crate::livekit_limits::{
    MAX_ATTRIBUTES_BYTES, MAX_METADATA_BYTES, MAX_NAME_BYTES, SOURCES, check_len,
};

pub fn register(r: &mut Registry) {
    r.add::<RoomListM, _, _>(|c: Call, p: RoomListParams| async move {
        let req = proto::ListRoomsRequest {
            names: p.names.unwrap_or_default(),
        };
        let resp: proto::ListRoomsResponse = c.sfu("ListRooms", Grant::RoomList, req).await?;
        Ok(RoomList {
            rooms: resp.rooms.into_iter().map(room).collect(),
        })
    });
    r.add_audited::<RoomCreate, _, _>(|c: Call, p: RoomCreateParams| async move {
        name("name", &p.name)?;
        if let Some(m) = &p.metadata {
            check_len("metadata", m, MAX_METADATA_BYTES)?;
        }
        let req = proto::CreateRoomRequest {
            name: p.name,
            empty_timeout: p.empty_timeout_s.unwrap_or(0),
            departure_timeout: p.departure_timeout_s.unwrap_or(0),
            max_participants: p.max_participants.unwrap_or(0),
            metadata: p.metadata.unwrap_or_default(),
            ..Default::default()
        };
        Ok(room(c.sfu("CreateRoom", Grant::RoomCreate, req).await?))
    });
    r.add_audited::<RoomDelete, _, _>(|c: Call, p: RoomNameParams| async move {
        name("name", &p.name)?;
        let _: proto::DeleteRoomResponse = c
            .sfu(
                "DeleteRoom",
                Grant::RoomCreate,
                proto::DeleteRoomRequest { room: p.name },
            )
            .await?;
        Ok(Empty {})
    });
    r.add_audited::<RoomUpdateMetadata, _, _>(|c: Call, p: RoomUpdateMetadataParams| async move {
        name("name", &p.name)?;
        check_len("metadata", &p.metadata, MAX_METADATA_BYTES)?;
        let grant = Grant::RoomAdmin(p.name.clone());
        let req = proto::UpdateRoomMetadataRequest {
            room: p.name,
            metadata: p.metadata,
        };
        Ok(room(c.sfu("UpdateRoomMetadata", grant, req).await?))
    });
    r.add_audited::<RoomSendData, _, _>(|c: Call, p: RoomSendDataParams| async move {
        name("room", &p.room)?;
        let data = match p.encoding.unwrap_or_default() {
            DataEncoding::Utf8 => p.data.into_bytes(),
            DataEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(p.data.trim())
                .map_err(|e| Error::params("data", format!("not base64: {e}")))?,
        };
        let kind = match p.kind.unwrap_or_default() {
            DataKind::Reliable => proto::data_packet::Kind::Reliable,
            DataKind::Lossy => proto::data_packet::Kind::Lossy,
        };
        // LiveKit dedupes retried sends by a 16-byte nonce (facts §3.3).
        let mut nonce = vec![0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| Error::Internal(e.to_string()))?;
        let req = proto::SendDataRequest {
            room: p.room.clone(),
            data,
            kind: kind as i32,
            destination_identities: p.destination_identities.unwrap_or_default(),
            topic: p.topic,
            nonce,
            ..Default::default()
        };
        let _: proto::SendDataResponse = c.sfu("SendData", Grant::RoomAdmin(p.room), req).await?;
        Ok(Empty {})
    });
    r.add::<ParticipantListM, _, _>(|c: Call, p: RoomParams| async move {
        name("room", &p.room)?;
        let req = proto::ListParticipantsRequest {
            room: p.room.clone(),
        };
        let resp: proto::ListParticipantsResponse = c
            .sfu("ListParticipants", Grant::RoomAdmin(p.room.clone()), req)
            .await?;
        // LiveKit lists an unknown room as empty; say "no such room" instead of showing a
        // mistyped name as an empty room. Only an empty answer costs the extra call.
        if resp.participants.is_empty() {
            let req = proto::ListRoomsRequest {
                names: vec![p.room],
            };
            let rooms: proto::ListRoomsResponse = c.sfu("ListRooms", Grant::RoomList, req).await?;
            if rooms.rooms.is_empty() {
                return Err(Error::TwirpNotFound {
                    msg: "requested room does not exist".into(),
                });
            }
        }
        Ok(ParticipantList {
            participants: resp.participants.into_iter().map(participant).collect(),
        })
    });
    r.add::<ParticipantGet, _, _>(|c: Call, p: ParticipantParams| async move {
        Ok(participant(
            get_participant(&c, &p.room, &p.identity).await?,
        ))
    });
    r.add_audited::<ParticipantRemove, _, _>(|c: Call, p: ParticipantParams| async move {
        name("room", &p.room)?;
        name("identity", &p.identity)?;
        let req = proto::RoomParticipantIdentity {
            room: p.room.clone(),
            identity: p.identity,
            ..Default::default()
        };
        let _: proto::RemoveParticipantResponse = c
            .sfu("RemoveParticipant", Grant::RoomAdmin(p.room), req)
            .await?;
        Ok(Empty {})
    });
    r.add_audited::<ParticipantMuteTrack, _, _>(|c: Call, p: MuteTrackParams| async move {
        name("room", &p.room)?;
        name("identity", &p.identity)?;
        if p.track_sid.is_empty() {
            return Err(Error::params("track_sid", "must not be empty"));
        }
        let req = proto::MuteRoomTrackRequest {
            room: p.room.clone(),
            identity: p.identity,
            track_sid: p.track_sid,
            muted: p.muted,
        };
        let resp: proto::MuteRoomTrackResponse = c
            .sfu("MutePublishedTrack", Grant::RoomAdmin(p.room), req)
            .await?;
        let t = resp.track.ok_or_else(|| Error::LiveKit {
            twirp_code: "malformed".into(),
            msg: "no track in the response".into(),
        })?;
        Ok(MutedTrack { track: track(t) })
    });
    r.add_audited::<ParticipantUpdate, _, _>(|c: Call, p: ParticipantUpdateParams| async move {
        if let Some(n) = &p.name {
            check_len("name", n, MAX_NAME_BYTES)?;
        }
        if let Some(m) = &p.metadata {
            check_len("metadata", m, MAX_METADATA_BYTES)?;
        }
        if let Some(a) = &p.attributes {
            let bytes: usize = a.iter().map(|(k, v)| k.len() + v.len()).sum();
            if bytes > MAX_ATTRIBUTES_BYTES {
                return Err(Error::params(
                    "attributes",
                    format!("{bytes} bytes; LiveKit allows at most {MAX_ATTRIBUTES_BYTES}"),
                ));
            }
        }
        // LiveKit replaces the permission whole (omitted booleans become false), so merge the
        // patch over the current permission and send all of it.
        let permission = match &p.permission {
            None => None,
            Some(patch) => {
                let current = get_participant(&c, &p.room, &p.identity).await?;
                Some(merge_permission(
                    current.permission.unwrap_or_default(),
                    patch,
                )?)
            }
        };
        let req = proto::UpdateParticipantRequest {
            room: p.room.clone(),
            identity: p.identity,
            metadata: p.metadata.unwrap_or_default(),
            name: p.name.unwrap_or_default(),
            attributes: p.attributes.unwrap_or_default().into_iter().collect(),
            permission,
        };
        Ok(participant(
            c.sfu("UpdateParticipant", Grant::RoomAdmin(p.room), req)
                .await?,
        ))
    });
}

async fn get_participant(c: &Call, room: &str, identity: &str) -> Result<proto::ParticipantInfo> {
    name("room", room)?;
    name("identity", identity)?;
    let req = proto::RoomParticipantIdentity {
        room: room.into(),
        identity: identity.into(),
        ..Default::default()
    };
    c.sfu("GetParticipant", Grant::RoomAdmin(room.into()), req)
        .await
}

fn name(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::params(field, "must not be empty"));
    }
    check_len(field, value, MAX_NAME_BYTES)
}

fn source_name(s: i32) -> String {
    proto::TrackSource::try_from(s)
        .map_or("unknown", |s| s.as_str_name())
        .to_lowercase()
}

fn source_value(field: &str, s: &str) -> Result<i32> {
    if !SOURCES.contains(&s) {
        return Err(Error::params(
            field,
            format!("{s:?} is not one of {}", SOURCES.join(", ")),
        ));
    }
    Ok(proto::TrackSource::from_str_name(&s.to_uppercase()).map_or(0, |v| v as i32))
}

fn merge_permission(
    mut cur: proto::ParticipantPermission,
    p: &PermissionPatch,
) -> Result<proto::ParticipantPermission> {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = p.$f { cur.$f = v; } )* };
    }
    set!(
        can_subscribe,
        can_publish,
        can_publish_data,
        hidden,
        can_update_metadata,
        can_subscribe_metrics
    );
    if let Some(sources) = &p.can_publish_sources {
        cur.can_publish_sources = sources
            .iter()
            .enumerate()
            .map(|(i, s)| source_value(&format!("permission.can_publish_sources[{i}]"), s))
            .collect::<Result<_>>()?;
    }
    Ok(cur)
}

pub fn room(r: proto::Room) -> Room {
    Room {
        name: r.name,
        sid: r.sid,
        num_participants: r.num_participants,
        num_publishers: r.num_publishers,
        created_at: rfc3339(r.creation_time),
        empty_timeout_s: r.empty_timeout,
        departure_timeout_s: r.departure_timeout,
        max_participants: r.max_participants,
        metadata: r.metadata,
    }
}

fn track(t: proto::TrackInfo) -> Track {
    Track {
        kind: proto::TrackType::try_from(t.r#type)
            .map_or("unknown", |k| k.as_str_name())
            .to_lowercase(),
        source: source_name(t.source),
        sid: t.sid,
        name: t.name,
        muted: t.muted,
    }
}

pub fn participant(p: proto::ParticipantInfo) -> Participant {
    let state = proto::participant_info::State::try_from(p.state)
        .map_or("unknown", |s| s.as_str_name())
        .to_lowercase();
    use proto::participant_info::Kind;
    let kind = match Kind::try_from(p.kind) {
        Ok(Kind::Sip) => "phone call",
        Ok(Kind::Ingress) => "ingress",
        Ok(Kind::Agent) => "agent",
        Ok(Kind::Egress) => "egress",
        _ => "participant",
    }
    .to_string();
    Participant {
        identity: p.identity,
        sid: p.sid,
        name: p.name,
        kind,
        state,
        joined_at: rfc3339(p.joined_at),
        metadata: p.metadata,
        attributes: p.attributes.into_iter().collect::<BTreeMap<_, _>>(),
        permission: p.permission.map(|q| Permission {
            can_subscribe: q.can_subscribe,
            can_publish: q.can_publish,
            can_publish_data: q.can_publish_data,
            can_publish_sources: q
                .can_publish_sources
                .iter()
                .map(|s| source_name(*s))
                .collect(),
            hidden: q.hidden,
            can_update_metadata: q.can_update_metadata,
            can_subscribe_metrics: q.can_subscribe_metrics,
        }),
        tracks: p.tracks.into_iter().map(track).collect(),
    }
}
