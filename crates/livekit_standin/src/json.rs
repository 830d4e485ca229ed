//! JSON the way livekit-server's Twirp layer writes and reads it (facts §3.1).
//!
//! Out: protojson with `UseProtoNames` + `EmitUnpopulated` — snake_case, every field present,
//! int64 as strings, enums as names, unset messages `null`, empty lists `[]`, maps `{}`. The
//! `livekit-protocol` serde impls (pbjson) write camelCase and skip defaults, so responses are
//! encoded here by hand from the prost structs.
//!
//! In: pbjson's `Deserialize` already matches protojson's reader for our purposes — both name
//! styles, int64 as number or string, enums by name or number, base64 bytes, unknown fields
//! ignored.

use std::collections::{BTreeMap, HashMap};

use livekit_protocol as proto;
use serde_json::{Value, json};

/// Writes an enum as its proto name; protojson falls back to the number for unknown values.
fn en<E: TryFrom<i32>>(v: i32, name: impl Fn(E) -> &'static str) -> Value {
    match E::try_from(v) {
        Ok(e) => Value::String(name(e).to_string()),
        Err(_) => json!(v),
    }
}

fn en_list<E: TryFrom<i32>>(vs: &[i32], name: impl Fn(E) -> &'static str + Copy) -> Value {
    Value::Array(vs.iter().map(|v| en(*v, name)).collect())
}

/// int64 is a JSON string in protojson.
fn i64s(v: i64) -> Value {
    Value::String(v.to_string())
}

fn map(m: &HashMap<String, String>) -> Value {
    // Sorted for stable output; protojson gives no order guarantee either.
    json!(m.iter().collect::<BTreeMap<_, _>>())
}

fn timed_version(v: Option<&proto::TimedVersion>) -> Value {
    v.map_or(
        Value::Null,
        |v| json!({"unix_micro": i64s(v.unix_micro), "ticks": v.ticks}),
    )
}

pub fn room(r: &proto::Room) -> Value {
    json!({
        "sid": r.sid,
        "name": r.name,
        "empty_timeout": r.empty_timeout,
        "departure_timeout": r.departure_timeout,
        "max_participants": r.max_participants,
        "creation_time": i64s(r.creation_time),
        "creation_time_ms": i64s(r.creation_time_ms),
        "turn_password": r.turn_password,
        "enabled_codecs": r.enabled_codecs.iter()
            .map(|c| json!({"mime": c.mime, "fmtp_line": c.fmtp_line}))
            .collect::<Vec<_>>(),
        "metadata": r.metadata,
        "num_participants": r.num_participants,
        "num_publishers": r.num_publishers,
        "active_recording": r.active_recording,
        "version": timed_version(r.version.as_ref()),
    })
}

pub fn permission(p: Option<&proto::ParticipantPermission>) -> Value {
    #[allow(deprecated)] // `recorder` and `agent` are deprecated but still emitted by the server.
    p.map_or(Value::Null, |p| {
        json!({
            "can_subscribe": p.can_subscribe,
            "can_publish": p.can_publish,
            "can_publish_data": p.can_publish_data,
            "can_publish_sources": en_list(&p.can_publish_sources, |e: proto::TrackSource| e.as_str_name()),
            "hidden": p.hidden,
            "recorder": p.recorder,
            "can_update_metadata": p.can_update_metadata,
            "agent": p.agent,
            "can_subscribe_metrics": p.can_subscribe_metrics,
            "can_manage_agent_session": p.can_manage_agent_session,
        })
    })
}

fn video_layer(l: &proto::VideoLayer) -> Value {
    json!({
        "quality": en(l.quality, |e: proto::VideoQuality| e.as_str_name()),
        "width": l.width,
        "height": l.height,
        "bitrate": l.bitrate,
        "ssrc": l.ssrc,
        "spatial_layer": l.spatial_layer,
        "rid": l.rid,
        "repair_ssrc": l.repair_ssrc,
    })
}

#[allow(deprecated)] // simulcast, disable_dtx, layers, stereo: deprecated, still on the wire.
pub fn track(t: &proto::TrackInfo) -> Value {
    json!({
        "sid": t.sid,
        "type": en(t.r#type, |e: proto::TrackType| e.as_str_name()),
        "name": t.name,
        "muted": t.muted,
        "width": t.width,
        "height": t.height,
        "simulcast": t.simulcast,
        "disable_dtx": t.disable_dtx,
        "source": en(t.source, |e: proto::TrackSource| e.as_str_name()),
        "layers": t.layers.iter().map(video_layer).collect::<Vec<_>>(),
        "mime_type": t.mime_type,
        "mid": t.mid,
        "codecs": t.codecs.iter().map(|c| json!({
            "mime_type": c.mime_type,
            "mid": c.mid,
            "cid": c.cid,
            "layers": c.layers.iter().map(video_layer).collect::<Vec<_>>(),
            "video_layer_mode": en(c.video_layer_mode, |e: proto::video_layer::Mode| e.as_str_name()),
            "sdp_cid": c.sdp_cid,
        })).collect::<Vec<_>>(),
        "stereo": t.stereo,
        "disable_red": t.disable_red,
        "encryption": en(t.encryption, |e: proto::encryption::Type| e.as_str_name()),
        "stream": t.stream,
        "version": timed_version(t.version.as_ref()),
        "audio_features": en_list(&t.audio_features, |e: proto::AudioTrackFeature| e.as_str_name()),
        "backup_codec_policy": en(t.backup_codec_policy, |e: proto::BackupCodecPolicy| e.as_str_name()),
        "packet_trailer_features": en_list(&t.packet_trailer_features, |e: proto::PacketTrailerFeature| e.as_str_name()),
    })
}

pub fn participant(p: &proto::ParticipantInfo) -> Value {
    use proto::participant_info::{Kind, KindDetail, State};
    json!({
        "sid": p.sid,
        "identity": p.identity,
        "state": en(p.state, |e: State| e.as_str_name()),
        "tracks": p.tracks.iter().map(track).collect::<Vec<_>>(),
        "metadata": p.metadata,
        "joined_at": i64s(p.joined_at),
        "joined_at_ms": i64s(p.joined_at_ms),
        "name": p.name,
        "version": p.version,
        "permission": permission(p.permission.as_ref()),
        "region": p.region,
        "is_publisher": p.is_publisher,
        "kind": en(p.kind, |e: Kind| e.as_str_name()),
        "attributes": map(&p.attributes),
        "disconnect_reason": en(p.disconnect_reason, |e: proto::DisconnectReason| e.as_str_name()),
        "kind_details": en_list(&p.kind_details, |e: KindDetail| e.as_str_name()),
        // The stand-in never creates data tracks, so this list is always empty.
        "data_tracks": [],
        "client_protocol": p.client_protocol,
        "capabilities": en_list(&p.capabilities, |e: proto::client_info::Capability| e.as_str_name()),
    })
}

pub fn list_rooms(r: &proto::ListRoomsResponse) -> Value {
    json!({"rooms": r.rooms.iter().map(room).collect::<Vec<_>>()})
}

pub fn list_participants(r: &proto::ListParticipantsResponse) -> Value {
    json!({"participants": r.participants.iter().map(participant).collect::<Vec<_>>()})
}

pub fn mute_response(r: &proto::MuteRoomTrackResponse) -> Value {
    json!({"track": r.track.as_ref().map_or(Value::Null, track)})
}

/// protojson with proto field names for any message: pbjson's output (camelCase, int64 as
/// strings, enums by name, defaults omitted) with the keys turned back into the proto names.
/// Unlike the RoomService encoders above, fields at their default stay omitted (protojson
/// without EmitUnpopulated); every protojson reader treats both alike.
pub fn proto_names<T: serde::Serialize>(msg: &T) -> Value {
    snake_keys(serde_json::to_value(msg).unwrap_or(Value::Null))
}

/// Map-typed fields: their keys are data, not field names.
const MAP_FIELDS: &[&str] = &[
    "attributes",
    "headers",
    "headersToAttributes",
    "attributesToHeaders",
    "participantAttributes",
    "metadata",
];

fn snake_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if MAP_FIELDS.contains(&k.as_str()) && v.is_object() {
                        v
                    } else {
                        snake_keys(v)
                    };
                    (to_snake(&k), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

fn to_snake(k: &str) -> String {
    // The one proto field whose own name is camelCase.
    if k == "aliOSS" {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len() + 4);
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
