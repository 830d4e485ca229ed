//! Driving LiveKit's ingress, SIP and agent dispatch through livekit-server's Twirp
//! `livekit.Ingress`, `livekit.SIP` and `livekit.AgentDispatchService` (side-services facts
//! §4.1, §4.2, §4.4–§4.6): our params turned into LiveKit's requests, each call signed with the
//! one grant it needs, and LiveKit's errors turned into operator messages that keep LiveKit's own
//! code and text, the way `egress_client` does for egress.

use hero_livekit_api::errors as codes;
use hero_livekit_api::redact;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use crate::error::{Error, Result};
use crate::livekit::{AGENT_DISPATCH_SERVICE, Grant, INGRESS_SERVICE, SIP_SERVICE};
use crate::livekit_limits::{MAX_NAME_BYTES, check_len};
use crate::state::AppState;

/// The side service a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ingress,
    Sip,
    AgentDispatch,
}

impl Service {
    fn twirp(self) -> &'static str {
        match self {
            Service::Ingress => INGRESS_SERVICE,
            Service::Sip => SIP_SERVICE,
            Service::AgentDispatch => AGENT_DISPATCH_SERVICE,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Service::Ingress => "ingress",
            Service::Sip => "SIP",
            Service::AgentDispatch => "agent dispatch",
        }
    }

    /// The process that does the work, for "start it" advice.
    fn worker(self) -> &'static str {
        match self {
            Service::Ingress => "livekit-ingress",
            Service::Sip => "livekit-sip",
            Service::AgentDispatch => "an agent worker",
        }
    }
}

/// Calls that wait for a worker to take them: psrpc answers "no response from servers" only
/// after ~20 s (facts §4.2), and a dial-out rings before it is answered.
fn slow(method: &str) -> bool {
    matches!(
        method,
        "CreateIngress" | "CreateSIPParticipant" | "TransferSIPParticipant"
    )
}

/// One call of a side service, signed by the active key with exactly `grant`.
pub async fn call<Req: prost::Message, Resp: prost::Message + Default>(
    state: &AppState,
    service: Service,
    method: &str,
    grant: Grant,
    req: Req,
) -> Result<Resp> {
    let rows = state.store().keys().await?;
    let key = crate::keys::signer(&rows)?;
    let timeout = slow(method)
        .then(|| crate::egress_client::START_TIMEOUT.max(state.config().livekit_timeout));
    state
        .livekit()
        .call_service(
            service.twirp(),
            (&key.api_key, key.secret.expose()),
            method,
            grant,
            req,
            timeout,
        )
        .await
        .map_err(|e| explain(e, service, state.config().redis.is_some()))
}

/// LiveKit's answer as an operator reads it (facts §4.2): ingress and SIP need Redis ("… not
/// connected (redis required)"; UpdateIngress/DeleteIngress panic on the nil store instead), a
/// worker must be registered on that Redis ("no response from servers"), and a missing grant is
/// `unauthenticated`.
pub fn explain(e: Error, service: Service, redis_configured: bool) -> Error {
    let (twirp_code, msg) = match e {
        Error::LiveKit { twirp_code, msg } => (twirp_code, msg),
        Error::TwirpNotFound { msg } => ("not_found".to_string(), msg),
        other => return other,
    };
    let noun = service.noun();
    let no_redis = format!(
        "{noun} needs Redis in livekit.yaml: set [redis] in the control plane's config (the same \
         Redis for livekit-server and {}), restart hero_livekit_server, then livekit-server and \
         {}",
        service.worker(),
        service.worker()
    );
    let needs_redis = service != Service::AgentDispatch && !redis_configured;
    let (code, message) = match twirp_code.as_str() {
        "internal" if msg.contains("not connected (redis required)") => {
            (codes::LIVEKIT_ERROR, no_redis)
        }
        // UpdateIngress / DeleteIngress call the nil store without Redis.
        "internal" if needs_redis && msg.contains("panic") => (codes::LIVEKIT_ERROR, no_redis),
        "unavailable" if msg.contains("sip status") => (
            codes::LIVEKIT_ERROR,
            "the call did not go through: the number did not answer or the provider refused it"
                .to_string(),
        ),
        "unavailable" if needs_redis => (codes::LIVEKIT_ERROR, no_redis),
        "unavailable" => (
            codes::LIVEKIT_ERROR,
            format!(
                "no {noun} worker with capacity is registered: start {} on the same Redis \
                 (`hero_livekit doctor` checks it)",
                service.worker()
            ),
        ),
        "deadline_exceeded" => (
            codes::LIVEKIT_ERROR,
            format!("{noun} did not answer in time (a worker is registered but busy or stuck)"),
        ),
        "unauthenticated" if msg.contains("invalid API key") => (
            codes::LIVEKIT_ERROR,
            "the SFU does not accept the active key: restart livekit-server (`hero_livekit \
             status` says why)"
                .to_string(),
        ),
        "unauthenticated" | "permission_denied" => (
            codes::LIVEKIT_ERROR,
            match service {
                Service::Ingress => {
                    "missing grant: LiveKit wants ingressAdmin for every ingress call"
                }
                Service::Sip => {
                    "missing grant: LiveKit wants sip.admin for trunks and rules, sip.call to \
                     dial, and sip.call with roomAdmin on the room to transfer"
                }
                Service::AgentDispatch => {
                    "missing grant: LiveKit wants roomAdmin on the dispatch's room"
                }
            }
            .to_string(),
        ),
        "invalid_argument" => (
            codes::INVALID_PARAMS,
            format!("{noun} refused the request: {msg}"),
        ),
        "failed_precondition" => (codes::CONFLICT, format!("cannot do that now: {msg}")),
        "resource_exhausted" => (
            codes::CONFLICT,
            format!("LiveKit has no room for it: {msg}"),
        ),
        "not_found" if msg.contains("room") => (
            codes::NOT_FOUND,
            "no such room is open on the SFU (create it, or join it first)".to_string(),
        ),
        "not_found" if msg.contains("participant") => (
            codes::NOT_FOUND,
            "no such participant in that room".to_string(),
        ),
        "not_found" if msg.contains("ingress") => (codes::NOT_FOUND, "no such ingress".to_string()),
        "not_found" if msg.contains("trunk") => (codes::NOT_FOUND, "no such SIP trunk".to_string()),
        "not_found" if msg.contains("dispatch rule") => {
            (codes::NOT_FOUND, "no such SIP dispatch rule".to_string())
        }
        "not_found" if msg.contains("dispatch") => (
            codes::NOT_FOUND,
            "no such agent dispatch in that room".to_string(),
        ),
        "not_found" => (codes::NOT_FOUND, format!("not found: {msg}")),
        _ => return Error::LiveKit { twirp_code, msg },
    };
    Error::Explained {
        code,
        message: format!("{message} (LiveKit: {twirp_code} \"{msg}\")"),
        twirp_code,
        msg,
    }
}

// ---- params → LiveKit's requests ------------------------------------------------------------

fn name(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::params(field, "must not be empty"));
    }
    check_len(field, value, MAX_NAME_BYTES)
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn audio(p: Option<IngressAudioPreset>) -> Option<proto::IngressAudioOptions> {
    p.map(|p| proto::IngressAudioOptions {
        source: proto::TrackSource::Microphone as i32,
        encoding_options: Some(proto::ingress_audio_options::EncodingOptions::Preset(
            p.to_proto() as i32,
        )),
        ..Default::default()
    })
}

fn video(p: Option<IngressVideoPreset>) -> Option<proto::IngressVideoOptions> {
    p.map(|p| proto::IngressVideoOptions {
        source: proto::TrackSource::Camera as i32,
        encoding_options: Some(proto::ingress_video_options::EncodingOptions::Preset(
            p.to_proto() as i32,
        )),
        ..Default::default()
    })
}

/// Presets only mean something when the ingress transcodes.
fn check_presets(
    transcoding: Option<bool>,
    a: Option<IngressAudioPreset>,
    v: Option<IngressVideoPreset>,
) -> Result<()> {
    if transcoding == Some(false) && (a.is_some() || v.is_some()) {
        return Err(Error::params(
            if a.is_some() {
                "audio_preset"
            } else {
                "video_preset"
            },
            "presets need transcoding (transcoding is off)",
        ));
    }
    Ok(())
}

pub fn ingress_create(p: &IngressCreateParams) -> Result<proto::CreateIngressRequest> {
    name("room", &p.room)?;
    name("identity", &p.identity)?;
    match (p.input, &p.url) {
        (IngressInput::Url, None) => {
            return Err(Error::params(
                "url",
                "a url ingress pulls from a URL: give an http(s):// or srt:// source",
            ));
        }
        (IngressInput::Url, Some(u)) => {
            let shown = redact::url(u);
            match url::Url::parse(u) {
                Ok(x) if matches!(x.scheme(), "http" | "https" | "srt") && x.has_host() => {}
                _ => {
                    return Err(Error::params(
                        "url",
                        format!("{shown:?} must be an http://, https:// or srt:// URL"),
                    ));
                }
            }
        }
        (_, Some(_)) => {
            return Err(Error::params(
                "url",
                "only a url ingress takes a source URL (RTMP and WHIP get theirs from LiveKit)",
            ));
        }
        (_, None) => {}
    }
    check_presets(p.transcoding, p.audio_preset, p.video_preset)?;
    if p.input == IngressInput::Url && p.enabled == Some(false) {
        return Err(Error::params(
            "enabled",
            "a url ingress starts pulling at once and cannot be created disabled",
        ));
    }
    Ok(proto::CreateIngressRequest {
        input_type: p.input.to_proto() as i32,
        url: s(&p.url),
        name: s(&p.ingress_name),
        room_name: p.room.clone(),
        participant_identity: p.identity.clone(),
        participant_name: s(&p.name),
        participant_metadata: s(&p.metadata),
        enable_transcoding: p.transcoding,
        audio: audio(p.audio_preset),
        video: video(p.video_preset),
        enabled: p.enabled,
        ..Default::default()
    })
}

pub fn ingress_update(p: &IngressUpdateParams) -> Result<proto::UpdateIngressRequest> {
    id("ingress_id", &p.ingress_id)?;
    for (field, v) in [("room", &p.room), ("identity", &p.identity)] {
        if let Some(v) = v {
            name(field, v)?;
        }
    }
    check_presets(p.transcoding, p.audio_preset, p.video_preset)?;
    Ok(proto::UpdateIngressRequest {
        ingress_id: p.ingress_id.clone(),
        name: s(&p.ingress_name),
        room_name: s(&p.room),
        participant_identity: s(&p.identity),
        participant_name: s(&p.name),
        participant_metadata: s(&p.metadata),
        enable_transcoding: p.transcoding,
        audio: audio(p.audio_preset),
        video: video(p.video_preset),
        enabled: p.enabled,
        ..Default::default()
    })
}

pub fn id(field: &str, v: &str) -> Result<()> {
    name(field, v)
}

/// Phone numbers as providers take them: `+` and digits (E.164), or digits alone.
fn number(field: &str, v: &str) -> Result<()> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 20 {
        return Err(Error::params(
            field,
            format!("{v:?} is not a phone number (+15105550100)"),
        ));
    }
    Ok(())
}

fn numbers(field: &str, v: &[String]) -> Result<()> {
    for (i, n) in v.iter().enumerate() {
        number(&format!("{field}[{i}]"), n)?;
    }
    Ok(())
}

fn auth(user: &Option<String>, password: &Option<String>) -> Result<()> {
    if user.is_some() != password.is_some() {
        return Err(Error::params(
            "auth_password",
            "auth_username and auth_password go together",
        ));
    }
    Ok(())
}

pub fn inbound_trunk(
    p: &SipInboundTrunkCreateParams,
) -> Result<proto::CreateSipInboundTrunkRequest> {
    name("name", &p.name)?;
    numbers("numbers", &p.numbers)?;
    numbers("allowed_numbers", &p.allowed_numbers)?;
    for (i, a) in p.allowed_addresses.iter().enumerate() {
        let ip = a.split_once('/').map_or(a.as_str(), |(ip, _)| ip);
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::params(
                format!("allowed_addresses[{i}]"),
                format!("{a:?} is not an IP address or CIDR block"),
            ));
        }
    }
    auth(&p.auth_username, &p.auth_password)?;
    if p.numbers.is_empty() && p.allowed_addresses.is_empty() && p.auth_password.is_none() {
        return Err(Error::params(
            "numbers",
            "give the trunk's numbers, the provider's addresses or credentials: a trunk with \
             none of them would take calls from anyone",
        ));
    }
    Ok(proto::CreateSipInboundTrunkRequest {
        trunk: Some(proto::SipInboundTrunkInfo {
            name: p.name.clone(),
            metadata: s(&p.metadata),
            numbers: p.numbers.clone(),
            allowed_addresses: p.allowed_addresses.clone(),
            allowed_numbers: p.allowed_numbers.clone(),
            auth_username: s(&p.auth_username),
            auth_password: s(&p.auth_password),
            ..Default::default()
        }),
    })
}

pub fn outbound_trunk(
    p: &SipOutboundTrunkCreateParams,
) -> Result<proto::CreateSipOutboundTrunkRequest> {
    name("name", &p.name)?;
    let addr = p.address.trim();
    if addr.is_empty() || addr.contains("://") || addr.starts_with("sip:") || addr.contains(' ') {
        return Err(Error::params(
            "address",
            format!(
                "{:?} must be the provider's SIP host (sip.example.com), without sip:",
                p.address
            ),
        ));
    }
    numbers("numbers", &p.numbers)?;
    auth(&p.auth_username, &p.auth_password)?;
    Ok(proto::CreateSipOutboundTrunkRequest {
        trunk: Some(proto::SipOutboundTrunkInfo {
            name: p.name.clone(),
            metadata: s(&p.metadata),
            address: addr.to_string(),
            destination_country: s(&p.destination_country),
            transport: p.transport.unwrap_or(SipTransport::Auto).to_proto() as i32,
            numbers: p.numbers.clone(),
            auth_username: s(&p.auth_username),
            auth_password: s(&p.auth_password),
            ..Default::default()
        }),
    })
}

pub fn dispatch_rule(
    p: &SipDispatchRuleCreateParams,
) -> Result<proto::CreateSipDispatchRuleRequest> {
    use proto::sip_dispatch_rule::Rule;
    let pin = s(&p.pin);
    if !pin.is_empty() && !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::params("pin", "a PIN is digits a caller can type"));
    }
    let prefix = |kind: &str| -> Result<String> {
        if p.room.is_some() {
            return Err(Error::params(
                "room",
                format!("a {kind} rule makes its rooms from room_prefix; room is for direct rules"),
            ));
        }
        let x = s(&p.room_prefix);
        if x.is_empty() {
            return Err(Error::params(
                "room_prefix",
                format!("a {kind} rule needs the start of its room names"),
            ));
        }
        check_len("room_prefix", &x, MAX_NAME_BYTES)?;
        Ok(x)
    };
    let rule = match p.kind {
        SipRuleKind::Direct => {
            if p.room_prefix.is_some() || p.randomize.is_some() {
                return Err(Error::params(
                    "room_prefix",
                    "a direct rule sends every call into one room: give room only",
                ));
            }
            let room = s(&p.room);
            name("room", &room)?;
            Rule::DispatchRuleDirect(proto::SipDispatchRuleDirect {
                room_name: room,
                pin,
            })
        }
        SipRuleKind::Individual => Rule::DispatchRuleIndividual(proto::SipDispatchRuleIndividual {
            room_prefix: prefix("individual")?,
            pin,
            no_randomness: p.randomize == Some(false),
        }),
        SipRuleKind::Callee => Rule::DispatchRuleCallee(proto::SipDispatchRuleCallee {
            room_prefix: prefix("callee")?,
            pin,
            randomize: p.randomize.unwrap_or(false),
        }),
    };
    numbers("numbers", &p.numbers)?;
    numbers("inbound_numbers", &p.inbound_numbers)?;
    Ok(proto::CreateSipDispatchRuleRequest {
        dispatch_rule: Some(proto::SipDispatchRuleInfo {
            rule: Some(proto::SipDispatchRule { rule: Some(rule) }),
            trunk_ids: p.trunk_ids.clone(),
            hide_phone_number: p.hide_phone_number.unwrap_or(false),
            inbound_numbers: p.inbound_numbers.clone(),
            numbers: p.numbers.clone(),
            name: s(&p.name),
            metadata: s(&p.metadata),
            ..Default::default()
        }),
        ..Default::default()
    })
}

pub fn sip_call(p: &SipCallParams) -> Result<proto::CreateSipParticipantRequest> {
    name("room", &p.room)?;
    number("number", &p.number)?;
    id("trunk_id", &p.trunk_id)?;
    if let Some(n) = &p.from_number {
        number("from_number", n)?;
    }
    if let Some(d) = &p.dtmf
        && !d
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w' | 'W'))
    {
        return Err(Error::params(
            "dtmf",
            "digits, * and #, with w for a half-second pause",
        ));
    }
    Ok(proto::CreateSipParticipantRequest {
        sip_trunk_id: p.trunk_id.clone(),
        sip_call_to: p.number.clone(),
        sip_number: s(&p.from_number),
        room_name: p.room.clone(),
        participant_identity: s(&p.identity),
        participant_name: s(&p.name),
        participant_metadata: s(&p.metadata),
        dtmf: s(&p.dtmf),
        play_dialtone: p.play_dialtone.unwrap_or(false),
        wait_until_answered: p.wait_until_answered.unwrap_or(false),
        ..Default::default()
    })
}

pub fn sip_transfer(p: &SipTransferParams) -> Result<proto::TransferSipParticipantRequest> {
    name("room", &p.room)?;
    name("identity", &p.identity)?;
    let to = p.transfer_to.trim();
    let ok = match to.split_once(':') {
        Some(("tel", n)) => number("transfer_to", n).is_ok(),
        Some(("sip" | "sips", rest)) => !rest.is_empty() && !rest.contains(' '),
        _ => false,
    };
    if !ok {
        return Err(Error::params(
            "transfer_to",
            format!("{to:?} must be tel:+15105550100 or sip:+15105550100@provider"),
        ));
    }
    Ok(proto::TransferSipParticipantRequest {
        participant_identity: p.identity.clone(),
        room_name: p.room.clone(),
        transfer_to: to.to_string(),
        play_dialtone: p.play_dialtone.unwrap_or(false),
        ..Default::default()
    })
}

pub fn agent_dispatch(p: &AgentDispatchCreateParams) -> Result<proto::CreateAgentDispatchRequest> {
    name("room", &p.room)?;
    name("agent_name", &p.agent_name)?;
    Ok(proto::CreateAgentDispatchRequest {
        agent_name: p.agent_name.clone(),
        room: p.room.clone(),
        metadata: s(&p.metadata),
        ..Default::default()
    })
}

/// Every page of a ListIngress.
pub async fn ingresses(
    state: &AppState,
    mut req: proto::ListIngressRequest,
) -> Result<Vec<proto::IngressInfo>> {
    let mut items = Vec::new();
    // Bounded: a server that kept handing out tokens must not hold the caller forever.
    for _ in 0..100 {
        let resp: proto::ListIngressResponse = call(
            state,
            Service::Ingress,
            "ListIngress",
            Grant::IngressAdmin,
            req.clone(),
        )
        .await?;
        items.extend(resp.items);
        match resp.next_page_token.filter(|t| !t.token.is_empty()) {
            Some(t) => req.page_token = Some(t),
            None => break,
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lk(code: &str, msg: &str) -> Error {
        Error::LiveKit {
            twirp_code: code.into(),
            msg: msg.into(),
        }
    }

    fn shown(e: Error) -> (i32, String) {
        match e {
            Error::Explained { code, message, .. } => (code, message),
            other => panic!("not explained: {other:?}"),
        }
    }

    #[test]
    fn livekits_errors_become_operator_messages_with_livekits_text() {
        use Service::*;
        let cases = [
            (
                lk("internal", "ingress not connected (redis required)"),
                Ingress,
                true,
                codes::LIVEKIT_ERROR,
                "ingress needs Redis in livekit.yaml",
            ),
            (
                lk("internal", "Internal service panic"),
                Ingress,
                false,
                codes::LIVEKIT_ERROR,
                "ingress needs Redis",
            ),
            (
                lk("internal", "sip not connected (redis required)"),
                Sip,
                true,
                codes::LIVEKIT_ERROR,
                "SIP needs Redis",
            ),
            (
                lk("unavailable", "no response from servers"),
                Ingress,
                true,
                codes::LIVEKIT_ERROR,
                "no ingress worker with capacity is registered: start livekit-ingress",
            ),
            (
                lk("unavailable", "no response from servers"),
                Sip,
                false,
                codes::LIVEKIT_ERROR,
                "SIP needs Redis",
            ),
            (
                lk("unavailable", "sip status: 480: Temporarily Unavailable"),
                Sip,
                true,
                codes::LIVEKIT_ERROR,
                "the call did not go through",
            ),
            (
                lk("unauthenticated", "permissions denied"),
                Ingress,
                true,
                codes::LIVEKIT_ERROR,
                "missing grant: LiveKit wants ingressAdmin",
            ),
            (
                lk("unauthenticated", "permissions denied"),
                AgentDispatch,
                true,
                codes::LIVEKIT_ERROR,
                "roomAdmin on the dispatch's room",
            ),
            (
                lk(
                    "invalid_argument",
                    "invalid ingress: no participant identity",
                ),
                Ingress,
                true,
                codes::INVALID_PARAMS,
                "ingress refused the request",
            ),
            (
                Error::TwirpNotFound {
                    msg: "ingress does not exist".into(),
                },
                Ingress,
                true,
                codes::NOT_FOUND,
                "no such ingress",
            ),
            (
                lk("not_found", "requested sip trunk does not exist"),
                Sip,
                true,
                codes::NOT_FOUND,
                "no such SIP trunk",
            ),
            (
                lk("not_found", "requested sip dispatch rule does not exist"),
                Sip,
                true,
                codes::NOT_FOUND,
                "no such SIP dispatch rule",
            ),
            (
                lk("not_found", "dispatch ID not found"),
                AgentDispatch,
                true,
                codes::NOT_FOUND,
                "no such agent dispatch",
            ),
            (
                lk("not_found", "requested room does not exist"),
                Sip,
                true,
                codes::NOT_FOUND,
                "no such room",
            ),
        ];
        for (e, service, redis, code, words) in cases {
            let original = e.to_string();
            let (c, m) = shown(explain(e, service, redis));
            assert_eq!(c, code, "{m}");
            assert!(m.contains(words), "{m}");
            let livekit_text = original.rsplit(": ").next().unwrap();
            assert!(m.contains(livekit_text), "{m} lacks {livekit_text}");
        }
        // Agent dispatch needs no Redis: its "no response" is about workers.
        let (_, m) = shown(explain(
            lk("unavailable", "no response from servers"),
            AgentDispatch,
            false,
        ));
        assert!(m.contains("no agent dispatch worker"), "{m}");
    }

    #[test]
    fn ingress_params_become_livekits_request() {
        let r = ingress_create(&IngressCreateParams {
            input: IngressInput::Rtmp,
            room: "stage".into(),
            identity: "obs".into(),
            name: Some("OBS".into()),
            video_preset: Some(IngressVideoPreset::H2641080p30fps3Layers),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.input_type, proto::IngressInput::RtmpInput as i32);
        assert_eq!(
            (r.room_name.as_str(), r.participant_identity.as_str()),
            ("stage", "obs")
        );
        assert_eq!(
            r.video.unwrap().encoding_options,
            Some(proto::ingress_video_options::EncodingOptions::Preset(
                proto::IngressVideoEncodingPreset::H2641080p30fps3Layers as i32
            ))
        );
        let bad = [
            (
                IngressCreateParams {
                    input: IngressInput::Url,
                    room: "r".into(),
                    identity: "i".into(),
                    ..Default::default()
                },
                "url",
            ),
            (
                IngressCreateParams {
                    input: IngressInput::Url,
                    url: Some("rtmp://u:pw@h/app/KEY".into()),
                    room: "r".into(),
                    identity: "i".into(),
                    ..Default::default()
                },
                "url",
            ),
            (
                IngressCreateParams {
                    input: IngressInput::Rtmp,
                    url: Some("https://h/x".into()),
                    room: "r".into(),
                    identity: "i".into(),
                    ..Default::default()
                },
                "url",
            ),
            (
                IngressCreateParams {
                    input: IngressInput::Rtmp,
                    room: "r".into(),
                    ..Default::default()
                },
                "identity",
            ),
            (
                IngressCreateParams {
                    input: IngressInput::Whip,
                    room: "r".into(),
                    identity: "i".into(),
                    transcoding: Some(false),
                    audio_preset: Some(IngressAudioPreset::OpusMono64kbps),
                    ..Default::default()
                },
                "audio_preset",
            ),
        ];
        for (p, field) in bad {
            let e = ingress_create(&p).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
            assert!(!e.contains("KEY") && !e.contains(":pw@"), "{e}");
        }
    }

    #[test]
    fn sip_params_are_checked_before_livekit_sees_them() {
        let rule = dispatch_rule(&SipDispatchRuleCreateParams {
            kind: SipRuleKind::Individual,
            room_prefix: Some("call-".into()),
            pin: Some("1234".into()),
            ..Default::default()
        })
        .unwrap();
        match rule.dispatch_rule.unwrap().rule.unwrap().rule.unwrap() {
            proto::sip_dispatch_rule::Rule::DispatchRuleIndividual(r) => {
                assert_eq!((r.room_prefix.as_str(), r.pin.as_str()), ("call-", "1234"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            dispatch_rule(&SipDispatchRuleCreateParams {
                kind: SipRuleKind::Direct,
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
            .contains("room")
        );
        assert!(
            dispatch_rule(&SipDispatchRuleCreateParams {
                kind: SipRuleKind::Callee,
                room: Some("r".into()),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
            .contains("room_prefix")
        );
        assert!(
            outbound_trunk(&SipOutboundTrunkCreateParams {
                name: "t".into(),
                address: "sip:sip.example.com".into(),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
            .contains("address")
        );
        let e = outbound_trunk(&SipOutboundTrunkCreateParams {
            name: "t".into(),
            address: "sip.example.com".into(),
            auth_password: Some("hunter2".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("auth_username") && !e.contains("hunter2"), "{e}");
        assert!(
            inbound_trunk(&SipInboundTrunkCreateParams {
                name: "t".into(),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
            .contains("anyone")
        );
        assert!(
            sip_call(&SipCallParams {
                room: "r".into(),
                number: "call me".into(),
                trunk_id: "ST_1".into(),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
            .contains("not a phone number")
        );
        assert!(
            sip_transfer(&SipTransferParams {
                room: "r".into(),
                identity: "i".into(),
                transfer_to: "+1555".into(),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
            .contains("tel:")
        );
        assert!(
            sip_transfer(&SipTransferParams {
                room: "r".into(),
                identity: "i".into(),
                transfer_to: "tel:+15105550100".into(),
                ..Default::default()
            })
            .is_ok()
        );
    }
}
