//! livekit.SIP as livekit-server serves it (side-services facts §4.5; LK `pkg/service/sip.go`):
//! `sip.admin` for trunks and dispatch rules, `sip.call` for dialing, `sip.call` plus roomAdmin
//! of the room for transfers; a Redis-backed store; a simulated SIP worker that dials by adding a
//! participant of kind SIP to the room (`participant_joined`), or fails for numbers listed in
//! [`crate::Options::unreachable_numbers`] like an unreachable callee (SIP 480).

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::Response;
use livekit_protocol as proto;

use crate::Shared;
use crate::auth::Claims;
use crate::twirp::{Encoding, Reply, TwirpError, decode};

pub const METHODS: &[&str] = &[
    "ListSIPTrunk",
    "CreateSIPInboundTrunk",
    "CreateSIPOutboundTrunk",
    "UpdateSIPInboundTrunk",
    "UpdateSIPOutboundTrunk",
    "GetSIPInboundTrunk",
    "GetSIPOutboundTrunk",
    "ListSIPInboundTrunk",
    "ListSIPOutboundTrunk",
    "DeleteSIPTrunk",
    "CreateSIPDispatchRule",
    "UpdateSIPDispatchRule",
    "ListSIPDispatchRule",
    "DeleteSIPDispatchRule",
    "CreateSIPParticipant",
    "TransferSIPParticipant",
];

type R<T> = Result<T, TwirpError>;

fn invalid(msg: &str) -> TwirpError {
    TwirpError::new("invalid_argument", msg)
}

fn trunk_not_found() -> TwirpError {
    TwirpError::new("not_found", "requested sip trunk does not exist")
}

fn rule_not_found() -> TwirpError {
    TwirpError::new("not_found", "requested sip dispatch rule does not exist")
}

/// `EnsureSIPAdminPermission` then the store check.
fn sip_admin(shared: &Shared, claims: &Claims) -> R<()> {
    if !claims.is_sip_admin() {
        return Err(TwirpError::permission_denied());
    }
    if shared.config.redis.is_none() {
        return Err(TwirpError::new(
            "internal",
            "sip not connected (redis required)",
        ));
    }
    Ok(())
}

fn list_update(list: &mut Vec<String>, u: Option<proto::ListUpdate>) {
    let Some(u) = u else { return };
    if u.clear {
        list.clear();
    }
    if !u.set.is_empty() {
        *list = u.set;
    }
    list.retain(|v| !u.remove.contains(v));
    for v in u.add {
        if !list.contains(&v) {
            list.push(v);
        }
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
    let new_trunk_id = || crate::state::new_id("ST_");
    match method {
        "CreateSIPInboundTrunk" => {
            let req: proto::CreateSipInboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            let mut t = req.trunk.ok_or_else(|| invalid("trunk is required"))?;
            if !t.sip_trunk_id.is_empty() {
                return Err(invalid("trunk ID must be empty"));
            }
            t.sip_trunk_id = new_trunk_id();
            shared
                .state()
                .sip_inbound
                .insert(t.sip_trunk_id.clone(), t.clone());
            Ok(t.encode_as(enc))
        }
        "CreateSIPOutboundTrunk" => {
            let req: proto::CreateSipOutboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            let mut t = req.trunk.ok_or_else(|| invalid("trunk is required"))?;
            if !t.sip_trunk_id.is_empty() {
                return Err(invalid("trunk ID must be empty"));
            }
            if t.address.is_empty() {
                return Err(invalid("no trunk address specified"));
            }
            if t.numbers.is_empty() {
                return Err(invalid("no trunk numbers specified"));
            }
            t.sip_trunk_id = new_trunk_id();
            shared
                .state()
                .sip_outbound
                .insert(t.sip_trunk_id.clone(), t.clone());
            Ok(t.encode_as(enc))
        }
        "UpdateSIPInboundTrunk" => {
            let req: proto::UpdateSipInboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            use proto::update_sip_inbound_trunk_request::Action;
            let mut state = shared.state();
            let t = state
                .sip_inbound
                .get_mut(&req.sip_trunk_id)
                .ok_or_else(trunk_not_found)?;
            match req.action {
                Some(Action::Replace(mut new)) => {
                    new.sip_trunk_id = t.sip_trunk_id.clone();
                    *t = new;
                }
                Some(Action::Update(u)) => {
                    list_update(&mut t.numbers, u.numbers);
                    list_update(&mut t.allowed_addresses, u.allowed_addresses);
                    list_update(&mut t.allowed_numbers, u.allowed_numbers);
                    for (dst, v) in [
                        (&mut t.auth_username, u.auth_username),
                        (&mut t.auth_password, u.auth_password),
                        (&mut t.auth_realm, u.auth_realm),
                        (&mut t.name, u.name),
                        (&mut t.metadata, u.metadata),
                    ] {
                        if let Some(v) = v {
                            *dst = v;
                        }
                    }
                }
                None => {
                    return Err(TwirpError::new("unknown", "missing or unsupported action"));
                }
            }
            Ok(t.clone().encode_as(enc))
        }
        "UpdateSIPOutboundTrunk" => {
            let req: proto::UpdateSipOutboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            use proto::update_sip_outbound_trunk_request::Action;
            let mut state = shared.state();
            let t = state
                .sip_outbound
                .get_mut(&req.sip_trunk_id)
                .ok_or_else(trunk_not_found)?;
            match req.action {
                Some(Action::Replace(mut new)) => {
                    new.sip_trunk_id = t.sip_trunk_id.clone();
                    *t = new;
                }
                Some(Action::Update(u)) => {
                    list_update(&mut t.numbers, u.numbers);
                    for (dst, v) in [
                        (&mut t.address, u.address),
                        (&mut t.destination_country, u.destination_country),
                        (&mut t.auth_username, u.auth_username),
                        (&mut t.auth_password, u.auth_password),
                        (&mut t.name, u.name),
                        (&mut t.metadata, u.metadata),
                        (&mut t.from_host, u.from_host),
                    ] {
                        if let Some(v) = v {
                            *dst = v;
                        }
                    }
                    if let Some(tr) = u.transport {
                        t.transport = tr;
                    }
                }
                None => {
                    return Err(TwirpError::new("unknown", "missing or unsupported action"));
                }
            }
            Ok(t.clone().encode_as(enc))
        }
        "GetSIPInboundTrunk" => {
            let req: proto::GetSipInboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            if req.sip_trunk_id.is_empty() {
                return Err(invalid("trunk ID is required"));
            }
            let trunk = shared.state().sip_inbound.get(&req.sip_trunk_id).cloned();
            Ok(proto::GetSipInboundTrunkResponse {
                trunk: Some(trunk.ok_or_else(trunk_not_found)?),
            }
            .encode_as(enc))
        }
        "GetSIPOutboundTrunk" => {
            let req: proto::GetSipOutboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            if req.sip_trunk_id.is_empty() {
                return Err(invalid("trunk ID is required"));
            }
            let trunk = shared.state().sip_outbound.get(&req.sip_trunk_id).cloned();
            Ok(proto::GetSipOutboundTrunkResponse {
                trunk: Some(trunk.ok_or_else(trunk_not_found)?),
            }
            .encode_as(enc))
        }
        "ListSIPInboundTrunk" => {
            let req: proto::ListSipInboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            let items = shared
                .state()
                .sip_inbound
                .values()
                .filter(|t| req.trunk_ids.is_empty() || req.trunk_ids.contains(&t.sip_trunk_id))
                .filter(|t| {
                    req.numbers.is_empty()
                        || t.numbers.is_empty()
                        || t.numbers.iter().any(|n| req.numbers.contains(n))
                })
                .cloned()
                .collect();
            Ok(proto::ListSipInboundTrunkResponse { items }.encode_as(enc))
        }
        "ListSIPOutboundTrunk" => {
            let req: proto::ListSipOutboundTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            let items = shared
                .state()
                .sip_outbound
                .values()
                .filter(|t| req.trunk_ids.is_empty() || req.trunk_ids.contains(&t.sip_trunk_id))
                .filter(|t| {
                    req.numbers.is_empty() || t.numbers.iter().any(|n| req.numbers.contains(n))
                })
                .cloned()
                .collect();
            Ok(proto::ListSipOutboundTrunkResponse { items }.encode_as(enc))
        }
        "ListSIPTrunk" => {
            let _req: proto::ListSipTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            // Only trunks made with the removed CreateSIPTrunk live in the legacy list.
            Ok(proto::ListSipTrunkResponse { items: vec![] }.encode_as(enc))
        }
        "DeleteSIPTrunk" => {
            let req: proto::DeleteSipTrunkRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            if req.sip_trunk_id.is_empty() {
                return Err(invalid("trunk ID is required"));
            }
            // HDEL from every trunk hash; a missing id is not an error.
            let mut state = shared.state();
            state.sip_inbound.remove(&req.sip_trunk_id);
            state.sip_outbound.remove(&req.sip_trunk_id);
            Ok(proto::SipTrunkInfo {
                sip_trunk_id: req.sip_trunk_id,
                ..Default::default()
            }
            .encode_as(enc))
        }
        "CreateSIPDispatchRule" => {
            let req: proto::CreateSipDispatchRuleRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            #[allow(deprecated)]
            let mut info = match req.dispatch_rule {
                Some(r) => r,
                None => proto::SipDispatchRuleInfo {
                    rule: req.rule,
                    trunk_ids: req.trunk_ids,
                    hide_phone_number: req.hide_phone_number,
                    inbound_numbers: req.inbound_numbers,
                    name: req.name,
                    metadata: req.metadata,
                    attributes: req.attributes,
                    room_preset: req.room_preset,
                    room_config: req.room_config,
                    ..Default::default()
                },
            };
            check_rule(&info)?;
            info.sip_dispatch_rule_id = crate::state::new_id("SDR_");
            shared
                .state()
                .sip_rules
                .insert(info.sip_dispatch_rule_id.clone(), info.clone());
            Ok(info.encode_as(enc))
        }
        "UpdateSIPDispatchRule" => {
            let req: proto::UpdateSipDispatchRuleRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            use proto::update_sip_dispatch_rule_request::Action;
            let mut state = shared.state();
            let r = state
                .sip_rules
                .get_mut(&req.sip_dispatch_rule_id)
                .ok_or_else(rule_not_found)?;
            let mut next = r.clone();
            match req.action {
                Some(Action::Replace(mut new)) => {
                    new.sip_dispatch_rule_id = r.sip_dispatch_rule_id.clone();
                    next = new;
                }
                Some(Action::Update(u)) => {
                    list_update(&mut next.trunk_ids, u.trunk_ids);
                    if u.rule.is_some() {
                        next.rule = u.rule;
                    }
                    for (dst, v) in [(&mut next.name, u.name), (&mut next.metadata, u.metadata)] {
                        if let Some(v) = v {
                            *dst = v;
                        }
                    }
                    if !u.attributes.is_empty() {
                        next.attributes = u.attributes;
                    }
                }
                None => {
                    return Err(TwirpError::new("unknown", "missing or unsupported action"));
                }
            }
            check_rule(&next)?;
            *r = next.clone();
            Ok(next.encode_as(enc))
        }
        "ListSIPDispatchRule" => {
            let req: proto::ListSipDispatchRuleRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            let items = shared
                .state()
                .sip_rules
                .values()
                .filter(|r| {
                    req.dispatch_rule_ids.is_empty()
                        || req.dispatch_rule_ids.contains(&r.sip_dispatch_rule_id)
                })
                .filter(|r| {
                    req.trunk_ids.is_empty()
                        || r.trunk_ids.is_empty()
                        || r.trunk_ids.iter().any(|t| req.trunk_ids.contains(t))
                })
                .cloned()
                .collect();
            Ok(proto::ListSipDispatchRuleResponse { items }.encode_as(enc))
        }
        "DeleteSIPDispatchRule" => {
            let req: proto::DeleteSipDispatchRuleRequest = decode(enc, body)?;
            sip_admin(shared, &claims)?;
            if req.sip_dispatch_rule_id.is_empty() {
                return Err(invalid("dispatch rule ID is required"));
            }
            let r = shared
                .state()
                .sip_rules
                .remove(&req.sip_dispatch_rule_id)
                .ok_or_else(rule_not_found)?;
            Ok(r.encode_as(enc))
        }
        "CreateSIPParticipant" => {
            let req: proto::CreateSipParticipantRequest = decode(enc, body)?;
            Ok(dial(shared, &claims, req)?.encode_as(enc))
        }
        "TransferSIPParticipant" => {
            let req: proto::TransferSipParticipantRequest = decode(enc, body)?;
            Ok(transfer(shared, &claims, req)?.encode_as(enc))
        }
        _ => unreachable!("router only passes METHODS"),
    }
}

/// A dispatch rule needs a rule; a direct rule needs a room.
fn check_rule(info: &proto::SipDispatchRuleInfo) -> R<()> {
    use proto::sip_dispatch_rule::Rule;
    match info.rule.as_ref().and_then(|r| r.rule.as_ref()) {
        None => Err(invalid("missing rule")),
        Some(Rule::DispatchRuleDirect(d)) if d.room_name.is_empty() => {
            Err(invalid("missing room name"))
        }
        Some(_) => Ok(()),
    }
}

fn dial(
    shared: &Arc<Shared>,
    claims: &Claims,
    req: proto::CreateSipParticipantRequest,
) -> R<proto::SipParticipantInfo> {
    if !claims.can_sip_call() {
        return Err(TwirpError::permission_denied());
    }
    if shared.config.redis.is_none() {
        return Err(TwirpError::new(
            "internal",
            "sip not connected (redis required)",
        ));
    }
    if req.sip_trunk_id.is_empty() && req.trunk.is_none() {
        return Err(invalid("missing sip trunk id"));
    }
    if req.sip_call_to.is_empty() {
        return Err(invalid("missing sip callee number"));
    }
    if req.room_name.is_empty() {
        return Err(invalid("missing room name"));
    }
    let from = if req.sip_trunk_id.is_empty() {
        req.sip_number.clone()
    } else {
        let trunk = shared
            .state()
            .sip_outbound
            .get(&req.sip_trunk_id)
            .cloned()
            .ok_or_else(trunk_not_found)?;
        if req.sip_number.is_empty() {
            trunk.numbers.first().cloned().unwrap_or_default()
        } else {
            req.sip_number.clone()
        }
    };
    if !shared.options.sip_worker {
        return Err(crate::egress::no_response());
    }
    if shared
        .options
        .unreachable_numbers
        .contains(&req.sip_call_to)
    {
        let mut e = TwirpError::new("unavailable", "sip status: 480: Temporarily Unavailable");
        e.meta = vec![
            ("sip_status_code", "480".into()),
            ("sip_status", "Temporarily Unavailable".into()),
        ];
        return Err(e);
    }
    let call_id = crate::state::new_id("SCL_");
    let identity = if req.participant_identity.is_empty() {
        format!("sip_{}", req.sip_call_to)
    } else {
        req.participant_identity.clone()
    };
    let name = if req.participant_name.is_empty() {
        format!("Phone {}", req.sip_call_to)
    } else {
        req.participant_name.clone()
    };
    let mut attrs = req.participant_attributes.clone();
    attrs.insert("sip.callID".into(), call_id.clone());
    attrs.insert("sip.callStatus".into(), "active".into());
    attrs.insert("sip.phoneNumber".into(), req.sip_call_to.clone());
    attrs.insert("sip.trunkID".into(), req.sip_trunk_id.clone());
    attrs.insert("sip.trunkPhoneNumber".into(), from);
    let mic = crate::TrackSpec {
        kind: crate::TrackKind::Audio,
        source: crate::Source::Microphone,
        name: "phone".into(),
    };
    let joined = shared
        .state()
        .join_as(
            &shared.config,
            &req.room_name,
            &identity,
            &name,
            &[mic],
            proto::participant_info::Kind::Sip,
            attrs,
        )
        .map_err(|e| match e {
            crate::JoinError::NoRoom => TwirpError::room_not_found(),
            crate::JoinError::Full => TwirpError::new("resource_exhausted", "room is full"),
        })?;
    Ok(proto::SipParticipantInfo {
        participant_id: joined.sid,
        participant_identity: identity,
        room_name: req.room_name,
        sip_call_id: call_id,
    })
}

fn transfer(
    shared: &Shared,
    claims: &Claims,
    req: proto::TransferSipParticipantRequest,
) -> R<proto::TransferSipParticipantResponse> {
    if req.room_name.is_empty() {
        return Err(invalid("Missing room name"));
    }
    if req.participant_identity.is_empty() {
        return Err(invalid("Missing participant identity"));
    }
    if !claims.can_sip_call() || !claims.is_admin_of(&req.room_name) {
        return Err(TwirpError::permission_denied());
    }
    if req.transfer_to.is_empty() {
        return Err(invalid("missing transfer to"));
    }
    let mut state = shared.state();
    let p = state
        .room(&req.room_name)
        .and_then(|r| {
            r.participant_mut(&req.participant_identity)
                .map(|p| p.clone())
        })
        .ok_or_else(TwirpError::participant_not_found)?;
    if !p.attributes.contains_key("sip.callID") {
        return Err(invalid("no SIP session associated with participant"));
    }
    if !shared.options.sip_worker {
        return Err(crate::egress::no_response());
    }
    // The call is handed over (SIP REFER accepted): the caller leaves the room.
    state.remove_participant(&req.room_name, &req.participant_identity);
    Ok(proto::TransferSipParticipantResponse {
        transfer_id: crate::state::new_id("STR_"),
        ..Default::default()
    })
}

macro_rules! replies {
    ($($t:ty),*) => {$(
        impl Reply for $t {
            fn to_json(&self) -> serde_json::Value {
                crate::json::proto_names(self)
            }
        }
    )*};
}
replies!(
    proto::SipInboundTrunkInfo,
    proto::SipOutboundTrunkInfo,
    proto::SipTrunkInfo,
    proto::GetSipInboundTrunkResponse,
    proto::GetSipOutboundTrunkResponse,
    proto::ListSipInboundTrunkResponse,
    proto::ListSipOutboundTrunkResponse,
    proto::ListSipTrunkResponse,
    proto::SipDispatchRuleInfo,
    proto::ListSipDispatchRuleResponse,
    proto::SipParticipantInfo,
    proto::TransferSipParticipantResponse,
    proto::AgentDispatch,
    proto::ListAgentDispatchResponse
);
