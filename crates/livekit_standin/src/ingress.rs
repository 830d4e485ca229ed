//! livekit.Ingress as livekit-server serves it (side-services facts §2.4, §4.4, §5; LK
//! `pkg/service/ingress.go`): `ingressAdmin` grant, Redis-backed store, RTMP/WHIP URLs from
//! livekit.yaml's `ingress:` block with a random stream key, URL input pulled at once by a worker.
//! A simulated publisher is started and stopped through [`crate::StandIn::ingress_publish`] and
//! [`crate::StandIn::ingress_unpublish`], which send `ingress_started` / `ingress_ended`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::Response;
use livekit_protocol as proto;
use proto::ingress_state::Status;

use crate::Shared;
use crate::auth::Claims;
use crate::twirp::{Encoding, Reply, TwirpError, decode};

pub const METHODS: &[&str] = &[
    "CreateIngress",
    "UpdateIngress",
    "ListIngress",
    "DeleteIngress",
];

type R<T> = Result<T, TwirpError>;

fn not_connected() -> TwirpError {
    TwirpError::new("internal", "ingress not connected (redis required)")
}

fn invalid(msg: &str) -> TwirpError {
    TwirpError::new("invalid_argument", format!("invalid ingress: {msg}"))
}

fn not_found() -> TwirpError {
    TwirpError::new("not_found", "ingress does not exist")
}

/// Calling the nil store without Redis panics in LiveKit; Twirp answers its panic response.
fn nil_store_panic() -> TwirpError {
    TwirpError::new("internal", "Internal service panic")
}

fn admin(claims: &Claims) -> R<()> {
    if claims.is_ingress_admin() {
        Ok(())
    } else {
        Err(TwirpError::permission_denied())
    }
}

pub fn call(
    shared: &Arc<Shared>,
    method: &str,
    claims: Option<&Claims>,
    enc: Encoding,
    body: &Bytes,
) -> Result<Response, TwirpError> {
    let claims = claims.cloned().unwrap_or_default();
    let redis = shared.config.redis.is_some();
    match method {
        "CreateIngress" => {
            let req: proto::CreateIngressRequest = decode(enc, body)?;
            Ok(create(shared, &claims, req)?.encode_as(enc))
        }
        "UpdateIngress" => {
            let req: proto::UpdateIngressRequest = decode(enc, body)?;
            admin(&claims)?;
            if !redis {
                return Err(nil_store_panic());
            }
            Ok(update(shared, req)?.encode_as(enc))
        }
        "ListIngress" => {
            let req: proto::ListIngressRequest = decode(enc, body)?;
            admin(&claims)?;
            if !redis {
                return Err(not_connected());
            }
            let state = shared.state();
            let items = if !req.ingress_id.is_empty() {
                vec![
                    state
                        .ingress
                        .get(&req.ingress_id)
                        .cloned()
                        .ok_or_else(not_found)?,
                ]
            } else {
                state
                    .ingress
                    .values()
                    .filter(|i| req.room_name.is_empty() || i.room_name == req.room_name)
                    .cloned()
                    .collect()
            };
            Ok(proto::ListIngressResponse {
                items,
                ..Default::default()
            }
            .encode_as(enc))
        }
        "DeleteIngress" => {
            let req: proto::DeleteIngressRequest = decode(enc, body)?;
            admin(&claims)?;
            if !redis {
                return Err(nil_store_panic());
            }
            let publishing = {
                let state = shared.state();
                let info = state.ingress.get(&req.ingress_id).ok_or_else(not_found)?;
                is_live(info)
            };
            if publishing {
                // The running ingress is told to stop; its participant leaves.
                crate::ingress::unpublish(shared, &req.ingress_id, false);
            }
            let mut info = shared
                .state()
                .ingress
                .remove(&req.ingress_id)
                .ok_or_else(not_found)?;
            if let Some(st) = info.state.as_mut() {
                st.status = Status::EndpointInactive as i32;
            }
            Ok(info.encode_as(enc))
        }
        _ => unreachable!("router only passes METHODS"),
    }
}

fn is_live(info: &proto::IngressInfo) -> bool {
    info.state.as_ref().is_some_and(|s| {
        s.status == Status::EndpointBuffering as i32
            || s.status == Status::EndpointPublishing as i32
    })
}

/// `updateEnableTranscoding`: on by default, off for WHIP; `bypass_transcoding` mirrors it.
#[allow(deprecated)]
fn default_transcoding(info: &mut proto::IngressInfo) {
    match info.enable_transcoding {
        Some(on) => info.bypass_transcoding = !on,
        None if info.input_type == proto::IngressInput::WhipInput as i32 => {
            info.enable_transcoding = Some(false);
            info.bypass_transcoding = true;
        }
        None => info.enable_transcoding = Some(true),
    }
}

fn validate(info: &proto::IngressInfo) -> R<()> {
    let url_input = info.input_type == proto::IngressInput::UrlInput as i32;
    if url_input {
        if info.url.is_empty() {
            return Err(invalid("no source URL"));
        }
        if info.enabled == Some(false) {
            return Err(invalid("disabled non reusable ingress"));
        }
    } else if info.stream_key.is_empty() {
        return Err(invalid("no stream key"));
    }
    if info.participant_identity.is_empty() {
        return Err(invalid("no participant identity"));
    }
    Ok(())
}

fn create(
    shared: &Arc<Shared>,
    claims: &Claims,
    req: proto::CreateIngressRequest,
) -> R<proto::IngressInfo> {
    use proto::IngressInput as In;
    // The input type is checked before the grant.
    let base = match In::try_from(req.input_type) {
        Ok(In::RtmpInput) => shared.config.ingress.rtmp_base_url.clone(),
        Ok(In::WhipInput) => shared.config.ingress.whip_base_url.clone(),
        Ok(In::UrlInput) => String::new(),
        Err(_) => return Err(TwirpError::new("invalid_argument", "invalid ingress type")),
    };
    admin(claims)?;
    if shared.config.redis.is_none() {
        return Err(not_connected());
    }
    let url_input = req.input_type == In::UrlInput as i32;
    let url = if url_input {
        if req.url.is_empty() {
            return Err(invalid("missing URL parameter"));
        }
        let scheme = req.url.split_once("://").map(|(s, _)| s);
        match scheme {
            Some("http" | "https" | "srt") => req.url.clone(),
            Some(s) => return Err(invalid(&format!("invalid url scheme {s}"))),
            None => return Err(invalid("invalid url scheme ")),
        }
    } else {
        base
    };
    let mut info = proto::IngressInfo {
        ingress_id: crate::state::new_id("IN_"),
        name: req.name,
        stream_key: if url_input {
            String::new()
        } else {
            crate::state::new_id("")
        },
        url,
        input_type: req.input_type,
        audio: req.audio,
        video: req.video,
        enable_transcoding: req.enable_transcoding,
        room_name: req.room_name,
        participant_identity: req.participant_identity,
        participant_name: req.participant_name,
        participant_metadata: req.participant_metadata,
        state: Some(proto::IngressState::default()),
        enabled: req.enabled,
        reusable: !url_input,
        ..Default::default()
    };
    validate(&info)?;
    if url_input && info.room_name.is_empty() {
        return Err(invalid("no room name"));
    }
    default_transcoding(&mut info);
    if url_input && !shared.options.ingress_worker {
        return Err(crate::egress::no_response());
    }
    let id = info.ingress_id.clone();
    shared.state().ingress.insert(id.clone(), info.clone());
    if url_input {
        // The worker pulls at once and starts publishing.
        publish(shared, &id).map_err(|e| TwirpError::new("internal", e))?;
        return Ok(shared.state().ingress[&id].clone());
    }
    Ok(info)
}

fn update(shared: &Shared, req: proto::UpdateIngressRequest) -> R<proto::IngressInfo> {
    let mut state = shared.state();
    let info = state
        .ingress
        .get_mut(&req.ingress_id)
        .ok_or_else(not_found)?;
    if !info.reusable {
        return Err(TwirpError::new(
            "invalid_argument",
            "ingress is not reusable and cannot be modified",
        ));
    }
    let st = info.state.get_or_insert_with(Default::default);
    if st.status == Status::EndpointError as i32 {
        st.status = Status::EndpointInactive as i32;
    }
    let mut next = info.clone();
    let set = |dst: &mut String, v: String| {
        if !v.is_empty() {
            *dst = v;
        }
    };
    set(&mut next.name, req.name);
    set(&mut next.room_name, req.room_name);
    set(&mut next.participant_identity, req.participant_identity);
    set(&mut next.participant_name, req.participant_name);
    set(&mut next.participant_metadata, req.participant_metadata);
    if req.enable_transcoding.is_some() {
        next.enable_transcoding = req.enable_transcoding;
    }
    if req.audio.is_some() {
        next.audio = req.audio;
    }
    if req.video.is_some() {
        next.video = req.video;
    }
    if req.enabled.is_some() {
        next.enabled = req.enabled;
    }
    validate(&next)?;
    default_transcoding(&mut next);
    *info = next.clone();
    Ok(next)
}

fn ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as i64
}

/// A publisher connects: PUBLISHING, the ingress participant (kind INGRESS) joins the room, and
/// `ingress_started` is sent.
pub fn publish(shared: &Shared, id: &str) -> Result<(), String> {
    let mut state = shared.state();
    let info = state
        .ingress
        .get(id)
        .cloned()
        .ok_or_else(|| "ingress does not exist".to_string())?;
    if is_live(&info) {
        return Err("ingress is already publishing".into());
    }
    if info.enabled == Some(false) {
        return Err("session is disabled".into());
    }
    let tracks = [
        crate::TrackSpec {
            kind: crate::TrackKind::Audio,
            source: crate::Source::Microphone,
            name: "audio".into(),
        },
        crate::TrackSpec {
            kind: crate::TrackKind::Video,
            source: crate::Source::Camera,
            name: "video".into(),
        },
    ];
    let attrs = [("lk.ingress_id".to_string(), id.to_string())].into();
    let joined = state
        .join_as(
            &shared.config,
            &info.room_name,
            &info.participant_identity,
            &info.participant_name,
            &tracks,
            proto::participant_info::Kind::Ingress,
            attrs,
        )
        .map_err(|e| e.to_string())?;
    let room_id = state
        .room(&info.room_name)
        .map(|r| r.room.sid.clone())
        .unwrap_or_default();
    let now = ns();
    let entry = state.ingress.get_mut(id).expect("present");
    entry.state = Some(proto::IngressState {
        status: Status::EndpointPublishing as i32,
        room_id,
        started_at: now,
        updated_at: now,
        resource_id: crate::state::new_id("IN_RES_"),
        tracks: joined.tracks,
        ..Default::default()
    });
    let info = entry.clone();
    state.emit_ingress("ingress_started", &info);
    Ok(())
}

/// The publisher goes away: INACTIVE again (reusable) or COMPLETE (URL pull), the participant
/// leaves, `ingress_ended` is sent (unless the ingress is being deleted).
pub fn unpublish(shared: &Shared, id: &str, notify: bool) -> bool {
    let mut state = shared.state();
    let Some(info) = state.ingress.get(id).cloned() else {
        return false;
    };
    if !is_live(&info) {
        return false;
    }
    state.remove_participant(&info.room_name, &info.participant_identity);
    let entry = state.ingress.get_mut(id).expect("present");
    let st = entry.state.get_or_insert_with(Default::default);
    st.status = if entry.reusable {
        Status::EndpointInactive
    } else {
        Status::EndpointComplete
    } as i32;
    st.ended_at = ns();
    st.updated_at = st.ended_at;
    st.tracks.clear();
    let info = entry.clone();
    if notify {
        state.emit_ingress("ingress_ended", &info);
    }
    true
}

impl Reply for proto::IngressInfo {
    fn to_json(&self) -> serde_json::Value {
        crate::json::proto_names(self)
    }
}
impl Reply for proto::ListIngressResponse {
    fn to_json(&self) -> serde_json::Value {
        crate::json::proto_names(self)
    }
}
