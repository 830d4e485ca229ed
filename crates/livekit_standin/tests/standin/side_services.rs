//! livekit.Ingress, livekit.SIP and livekit.AgentDispatchService: grants, Redis errors, every
//! method in protobuf and JSON, and the webhooks they lead to.

use livekit_protocol as proto;
use livekit_standin::Options;
use proto::ingress_state::Status;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::side::*;

const INGRESS: &[&str] = &[
    "CreateIngress",
    "UpdateIngress",
    "ListIngress",
    "DeleteIngress",
];
const SIP_ADMIN: &[&str] = &[
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
];

fn ingress_admin() -> String {
    token(json!({"ingressAdmin": true}))
}

fn sip(admin: bool, call: bool, video: Value) -> String {
    sign(
        &json!({"iss": KEY, "nbf": now(), "exp": now() + 600, "video": video, "sip": {"admin": admin, "call": call}}),
        SECRET,
    )
}

fn denied() -> (u16, Value) {
    (401, twirp("unauthenticated", "permissions denied"))
}

#[tokio::test]
async fn grants_are_checked_per_service() {
    let s = side(true, fast(), "").await;
    let wrong =
        token(json!({"roomAdmin": true, "room": "r", "roomRecord": true, "roomCreate": true}));
    for m in INGRESS {
        assert_eq!(
            s.json("Ingress", m, Some(&wrong), &json!({})).await,
            denied(),
            "{m}"
        );
    }
    let caller = sip(false, true, json!({}));
    for m in SIP_ADMIN {
        assert_eq!(
            s.json("SIP", m, Some(&caller), &json!({})).await,
            denied(),
            "{m}"
        );
    }
    let admin = sip(true, false, json!({"roomAdmin": true, "room": "r"}));
    assert_eq!(
        s.json("SIP", "CreateSIPParticipant", Some(&admin), &json!({}))
            .await,
        denied()
    );
    // Transfer: sip.call and roomAdmin of that room, after the room and identity are named.
    let body = json!({"room_name": "r", "participant_identity": "p", "transfer_to": "tel:+1"});
    assert_eq!(
        s.json("SIP", "TransferSIPParticipant", Some(&admin), &body)
            .await,
        denied()
    );
    let other_room = sip(false, true, json!({"roomAdmin": true, "room": "other"}));
    assert_eq!(
        s.json("SIP", "TransferSIPParticipant", Some(&other_room), &body)
            .await,
        denied()
    );
    assert_eq!(
        s.json(
            "SIP",
            "TransferSIPParticipant",
            Some(&admin),
            &json!({"participant_identity": "p"})
        )
        .await,
        (400, twirp("invalid_argument", "Missing room name"))
    );
    for m in ["CreateDispatch", "ListDispatch", "DeleteDispatch"] {
        let t = token(json!({"roomAdmin": true, "room": "other"}));
        assert_eq!(
            s.json("AgentDispatchService", m, Some(&t), &json!({"room": "r"}))
                .await,
            denied(),
            "{m}"
        );
    }
}

#[tokio::test]
async fn ingress_and_sip_need_redis_agent_dispatch_does_not() {
    let s = side(false, fast(), "").await;
    let t = ingress_admin();
    let nc = |w: &str| {
        (
            500,
            twirp("internal", &format!("{w} not connected (redis required)")),
        )
    };
    assert_eq!(
        s.json(
            "Ingress",
            "CreateIngress",
            Some(&t),
            &json!({"input_type": "RTMP_INPUT"})
        )
        .await,
        nc("ingress")
    );
    assert_eq!(
        s.json("Ingress", "ListIngress", Some(&t), &json!({})).await,
        nc("ingress")
    );
    // Update and Delete reach LiveKit's nil store: Twirp's panic answer.
    for m in ["UpdateIngress", "DeleteIngress"] {
        assert_eq!(
            s.json("Ingress", m, Some(&t), &json!({"ingress_id": "IN_x"}))
                .await,
            (500, twirp("internal", "Internal service panic")),
            "{m}"
        );
    }
    // The input type is checked before anything else.
    let err = s
        .pb::<_, proto::IngressInfo>(
            "Ingress",
            "CreateIngress",
            None,
            &proto::CreateIngressRequest {
                input_type: 7,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        (400, twirp("invalid_argument", "invalid ingress type"))
    );
    let all = sip(true, true, json!({}));
    for m in SIP_ADMIN.iter().chain(&["CreateSIPParticipant"]) {
        assert_eq!(
            s.json("SIP", m, Some(&all), &json!({})).await,
            nc("sip"),
            "{m}"
        );
    }
    let t = token(json!({"roomAdmin": true, "room": "standup"}));
    let (st, d) = s
        .json(
            "AgentDispatchService",
            "CreateDispatch",
            Some(&t),
            &json!({"room": "standup", "agent_name": "helper"}),
        )
        .await;
    assert_eq!(st, 200, "{d}");
    assert!(d["id"].as_str().unwrap().starts_with("AD_"));
}

#[tokio::test]
async fn ingress_lifecycle_and_webhooks() {
    let extra = "ingress:\n  rtmp_base_url: rtmp://media.example.com:1935/x\n  whip_base_url: https://media.example.com/w\n";
    let mut s = side(true, fast(), extra).await;
    let t = ingress_admin();
    let client =
        livekit_api::services::ingress::IngressClient::with_api_key(&s.standin.url(), KEY, SECRET);
    let rtmp = client
        .create_ingress(
            proto::IngressInput::RtmpInput,
            livekit_api::services::ingress::CreateIngressOptions {
                name: "obs".into(),
                room_name: "show".into(),
                participant_identity: "obs-host".into(),
                participant_name: "OBS".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(rtmp.ingress_id.starts_with("IN_"));
    assert_eq!(rtmp.url, "rtmp://media.example.com:1935/x");
    assert_eq!(rtmp.stream_key.len(), 12);
    assert!(rtmp.reusable);
    assert_eq!(
        (
            rtmp.enable_transcoding,
            rtmp.state.as_ref().unwrap().status()
        ),
        (Some(true), Status::EndpointInactive)
    );
    let (st, whip) = s.json("Ingress", "CreateIngress", Some(&t), &json!({"input_type": "WHIP_INPUT", "room_name": "show", "participant_identity": "cam"})).await;
    assert_eq!(st, 200, "{whip}");
    assert_eq!(whip["url"], "https://media.example.com/w");
    assert_eq!(
        whip["enable_transcoding"], false,
        "WHIP defaults to no transcoding"
    );
    assert_eq!(whip["bypass_transcoding"], true);
    // Request checks.
    let bad = |m: &str| {
        (
            400,
            twirp("invalid_argument", &format!("invalid ingress: {m}")),
        )
    };
    assert_eq!(
        s.json(
            "Ingress",
            "CreateIngress",
            Some(&t),
            &json!({"input_type": "RTMP_INPUT", "room_name": "show"})
        )
        .await,
        bad("no participant identity")
    );
    assert_eq!(
        s.json(
            "Ingress",
            "CreateIngress",
            Some(&t),
            &json!({"input_type": "URL_INPUT", "participant_identity": "p", "room_name": "show"})
        )
        .await,
        bad("missing URL parameter")
    );
    assert_eq!(s.json("Ingress", "CreateIngress", Some(&t), &json!({"input_type": "URL_INPUT", "url": "rtmp://x/y", "participant_identity": "p", "room_name": "show"})).await, bad("invalid url scheme rtmp"));

    // A publisher connects: PUBLISHING, the ingress participant joins, ingress_started.
    s.standin.ingress_publish(&rtmp.ingress_id).unwrap();
    let events = s.hooks_until("ingress_started").await;
    let started = events.last().unwrap();
    assert_eq!(started.room.as_ref().unwrap().name, "show");
    let info = started.ingress_info.as_ref().unwrap();
    assert_eq!(
        info.state.as_ref().unwrap().status(),
        Status::EndpointPublishing
    );
    let joined = events
        .iter()
        .find(|e| e.event == "participant_joined")
        .unwrap();
    assert_eq!(
        joined.participant.as_ref().unwrap().kind(),
        proto::participant_info::Kind::Ingress
    );
    // Updates are allowed on a reusable ingress; a URL pull is not reusable.
    let (st, upd) = s
        .json(
            "Ingress",
            "UpdateIngress",
            Some(&t),
            &json!({"ingress_id": rtmp.ingress_id, "name": "renamed"}),
        )
        .await;
    assert_eq!((st, upd["name"].as_str()), (200, Some("renamed")));
    let (st, url) = s.json("Ingress", "CreateIngress", Some(&t), &json!({"input_type": "URL_INPUT", "url": "https://cdn.example.com/a.m3u8", "participant_identity": "pull", "room_name": "show"})).await;
    assert_eq!(st, 200, "{url}");
    assert_eq!(url["state"]["status"], "ENDPOINT_PUBLISHING");
    assert_eq!(
        s.json(
            "Ingress",
            "UpdateIngress",
            Some(&t),
            &json!({"ingress_id": url["ingress_id"], "name": "x"})
        )
        .await,
        (
            400,
            twirp(
                "invalid_argument",
                "ingress is not reusable and cannot be modified"
            )
        )
    );
    // List by room and id.
    let listed: proto::ListIngressResponse = s
        .pb(
            "Ingress",
            "ListIngress",
            Some(&t),
            &proto::ListIngressRequest {
                room_name: "show".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3);
    assert_eq!(
        s.json(
            "Ingress",
            "ListIngress",
            Some(&t),
            &json!({"ingress_id": "IN_nope"})
        )
        .await,
        (404, twirp("not_found", "ingress does not exist"))
    );
    // The publisher leaves: ingress_ended, INACTIVE again.
    assert!(s.standin.ingress_unpublish(&rtmp.ingress_id));
    let ended = s.hooks_until("ingress_ended").await.pop().unwrap();
    assert_eq!(
        ended.ingress_info.unwrap().state.unwrap().status(),
        Status::EndpointInactive
    );
    let deleted = client.delete_ingress(&rtmp.ingress_id).await.unwrap();
    assert_eq!(deleted.ingress_id, rtmp.ingress_id);
    assert_eq!(
        s.json(
            "Ingress",
            "DeleteIngress",
            Some(&t),
            &json!({"ingress_id": rtmp.ingress_id})
        )
        .await,
        (404, twirp("not_found", "ingress does not exist"))
    );
}

#[tokio::test]
async fn without_an_ingress_base_url_the_url_is_empty() {
    let s = side(true, fast(), "").await;
    let (st, info) = s
        .json(
            "Ingress",
            "CreateIngress",
            Some(&ingress_admin()),
            &json!({"input_type": "RTMP_INPUT", "room_name": "r", "participant_identity": "p"}),
        )
        .await;
    assert_eq!(st, 200);
    assert!(info.get("url").is_none(), "empty, without an error: {info}");
    assert!(info["stream_key"].is_string());
}

#[tokio::test]
async fn sip_trunks_rules_calls_and_transfer() {
    let mut s = side(
        true,
        Options {
            unreachable_numbers: vec!["+15550000000".into()],
            ..fast()
        },
        "",
    )
    .await;
    let admin = sip(true, false, json!({}));
    // Inbound trunk: create, get, update, list (protobuf), delete (JSON).
    let inbound: proto::SipInboundTrunkInfo = s
        .pb(
            "SIP",
            "CreateSIPInboundTrunk",
            Some(&admin),
            &proto::CreateSipInboundTrunkRequest {
                trunk: Some(proto::SipInboundTrunkInfo {
                    name: "in".into(),
                    numbers: vec!["+15551230000".into()],
                    auth_username: "u".into(),
                    auth_password: "p".into(),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap();
    assert!(inbound.sip_trunk_id.starts_with("ST_"));
    let got: proto::GetSipInboundTrunkResponse = s
        .pb(
            "SIP",
            "GetSIPInboundTrunk",
            Some(&admin),
            &proto::GetSipInboundTrunkRequest {
                sip_trunk_id: inbound.sip_trunk_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.trunk.as_ref(), Some(&inbound));
    let (st, upd) = s.json("SIP", "UpdateSIPInboundTrunk", Some(&admin), &json!({"sip_trunk_id": inbound.sip_trunk_id, "update": {"name": "renamed", "numbers": {"add": ["+15559990000"]}}})).await;
    assert_eq!(st, 200, "{upd}");
    assert_eq!(
        (upd["name"].clone(), upd["numbers"].clone()),
        (json!("renamed"), json!(["+15551230000", "+15559990000"]))
    );
    let (st, list) = s
        .json("SIP", "ListSIPInboundTrunk", Some(&admin), &json!({}))
        .await;
    assert_eq!((st, list["items"].as_array().unwrap().len()), (200, 1));
    assert_eq!(
        s.json(
            "SIP",
            "CreateSIPInboundTrunk",
            Some(&admin),
            &json!({"trunk": {"sip_trunk_id": "ST_x"}})
        )
        .await,
        (400, twirp("invalid_argument", "trunk ID must be empty"))
    );
    assert_eq!(
        s.json("SIP", "GetSIPInboundTrunk", Some(&admin), &json!({}))
            .await,
        (400, twirp("invalid_argument", "trunk ID is required"))
    );
    assert_eq!(
        s.json(
            "SIP",
            "GetSIPOutboundTrunk",
            Some(&admin),
            &json!({"sip_trunk_id": "ST_none"})
        )
        .await,
        (
            404,
            twirp("not_found", "requested sip trunk does not exist")
        )
    );
    // Outbound trunk.
    let (st, out) = s.json("SIP", "CreateSIPOutboundTrunk", Some(&admin), &json!({"trunk": {"name": "out", "address": "sip.example.com", "numbers": ["+15551112222"]}})).await;
    assert_eq!(st, 200, "{out}");
    let out_id = out["sip_trunk_id"].as_str().unwrap().to_string();
    let out2: proto::SipOutboundTrunkInfo = s
        .pb(
            "SIP",
            "UpdateSIPOutboundTrunk",
            Some(&admin),
            &proto::UpdateSipOutboundTrunkRequest {
                sip_trunk_id: out_id.clone(),
                action: Some(proto::update_sip_outbound_trunk_request::Action::Update(
                    proto::SipOutboundTrunkUpdate {
                        address: Some("sip2.example.com".into()),
                        ..Default::default()
                    },
                )),
            },
        )
        .await
        .unwrap();
    assert_eq!(out2.address, "sip2.example.com");
    let listed: proto::ListSipOutboundTrunkResponse = s
        .pb(
            "SIP",
            "ListSIPOutboundTrunk",
            Some(&admin),
            &proto::ListSipOutboundTrunkRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.items, vec![out2]);
    let legacy: proto::ListSipTrunkResponse = s
        .pb(
            "SIP",
            "ListSIPTrunk",
            Some(&admin),
            &proto::ListSipTrunkRequest::default(),
        )
        .await
        .unwrap();
    assert!(legacy.items.is_empty());
    // Dispatch rules: direct, individual, callee.
    let mut rule_ids = Vec::new();
    for rule in [
        json!({"dispatch_rule_direct": {"room_name": "support", "pin": "1234"}}),
        json!({"dispatch_rule_individual": {"room_prefix": "call-"}}),
        json!({"dispatch_rule_callee": {"room_prefix": "line-", "randomize": true}}),
    ] {
        let (st, r) = s.json("SIP", "CreateSIPDispatchRule", Some(&admin), &json!({"dispatch_rule": {"rule": rule, "trunk_ids": [inbound.sip_trunk_id], "name": "r"}})).await;
        assert_eq!(st, 200, "{r}");
        rule_ids.push(r["sip_dispatch_rule_id"].as_str().unwrap().to_string());
    }
    assert!(rule_ids.iter().all(|id| id.starts_with("SDR_")));
    assert_eq!(
        s.json(
            "SIP",
            "CreateSIPDispatchRule",
            Some(&admin),
            &json!({"dispatch_rule": {"name": "no rule"}})
        )
        .await,
        (400, twirp("invalid_argument", "missing rule"))
    );
    let upd: proto::SipDispatchRuleInfo = s
        .pb(
            "SIP",
            "UpdateSIPDispatchRule",
            Some(&admin),
            &proto::UpdateSipDispatchRuleRequest {
                sip_dispatch_rule_id: rule_ids[0].clone(),
                action: Some(proto::update_sip_dispatch_rule_request::Action::Update(
                    proto::SipDispatchRuleUpdate {
                        name: Some("direct".into()),
                        ..Default::default()
                    },
                )),
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.name, "direct");
    let rules: proto::ListSipDispatchRuleResponse = s
        .pb(
            "SIP",
            "ListSIPDispatchRule",
            Some(&admin),
            &proto::ListSipDispatchRuleRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(rules.items.len(), 3);
    let (st, _) = s
        .json(
            "SIP",
            "DeleteSIPDispatchRule",
            Some(&admin),
            &json!({"sip_dispatch_rule_id": rule_ids[2]}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        s.json(
            "SIP",
            "DeleteSIPDispatchRule",
            Some(&admin),
            &json!({"sip_dispatch_rule_id": rule_ids[2]})
        )
        .await,
        (
            404,
            twirp("not_found", "requested sip dispatch rule does not exist")
        )
    );

    // Dial out: a SIP participant joins the room.
    let caller = sip(false, true, json!({"roomAdmin": true, "room": "support"}));
    let call: proto::SipParticipantInfo = s
        .pb(
            "SIP",
            "CreateSIPParticipant",
            Some(&caller),
            &proto::CreateSipParticipantRequest {
                sip_trunk_id: out_id.clone(),
                sip_call_to: "+15553334444".into(),
                room_name: "support".into(),
                participant_identity: "phone-1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (call.participant_identity.as_str(), call.room_name.as_str()),
        ("phone-1", "support")
    );
    assert!(call.participant_id.starts_with("PA_") && call.sip_call_id.starts_with("SCL_"));
    let joined = s.hooks_until("participant_joined").await.pop().unwrap();
    let p = joined.participant.unwrap();
    assert_eq!(p.kind(), proto::participant_info::Kind::Sip);
    assert_eq!(p.attributes["sip.callID"], call.sip_call_id);
    assert_eq!(p.attributes["sip.phoneNumber"], "+15553334444");
    // An unreachable callee fails like a SIP 480, readable by the SDK's SipCallError.
    let client = livekit_api::services::sip::SIPClient::with_api_key(&s.standin.url(), KEY, SECRET);
    let err = client
        .create_sip_participant(
            out_id.clone(),
            "+15550000000".into(),
            "support".into(),
            Default::default(),
            None,
        )
        .await
        .unwrap_err();
    let sip_err =
        livekit_api::services::SipCallError::from_error(&err).expect("SIP status in the meta");
    assert_eq!(
        (sip_err.code(), sip_err.sip_status_code()),
        ("unavailable", Some(480))
    );
    assert_eq!(
        s.json(
            "SIP",
            "CreateSIPParticipant",
            Some(&caller),
            &json!({"sip_trunk_id": "ST_none", "sip_call_to": "+1", "room_name": "support"})
        )
        .await,
        (
            404,
            twirp("not_found", "requested sip trunk does not exist")
        )
    );
    // Transfer needs a SIP session; the transferred caller leaves.
    s.standin.join("support", "agent", "Agent", &[]);
    let body = |who: &str| json!({"room_name": "support", "participant_identity": who, "transfer_to": "tel:+15557778888"});
    assert_eq!(
        s.json(
            "SIP",
            "TransferSIPParticipant",
            Some(&caller),
            &body("agent")
        )
        .await,
        (
            400,
            twirp(
                "invalid_argument",
                "no SIP session associated with participant"
            )
        )
    );
    let (st, _) = s
        .json(
            "SIP",
            "TransferSIPParticipant",
            Some(&caller),
            &body("phone-1"),
        )
        .await;
    assert_eq!(st, 200);
    let left = s.hooks_until("participant_left").await.pop().unwrap();
    assert_eq!(left.participant.unwrap().identity, "phone-1");
    // Trunk deletion never reports a missing id.
    for _ in 0..2 {
        let d: proto::SipTrunkInfo = s
            .pb(
                "SIP",
                "DeleteSIPTrunk",
                Some(&admin),
                &proto::DeleteSipTrunkRequest {
                    sip_trunk_id: out_id.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(d.sip_trunk_id, out_id);
    }
}

#[tokio::test]
async fn agent_dispatch_create_list_delete() {
    let s = side(false, fast(), "room:\n  auto_create: true\n").await;
    let t = token(json!({"roomAdmin": true, "room": "standup"}));
    let client = livekit_api::services::agent_dispatch::AgentDispatchClient::with_api_key(
        &s.standin.url(),
        KEY,
        SECRET,
    );
    let d = client
        .create_dispatch(proto::CreateAgentDispatchRequest {
            agent_name: "helper".into(),
            room: "standup".into(),
            metadata: "{}".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(d.id.starts_with("AD_"));
    assert!(
        d.state.as_ref().unwrap().created_at > 1_000_000_000_000_000_000,
        "ns"
    );
    // The room was created with LiveKit's default dispatch (no agent name) besides ours.
    let listed: proto::ListAgentDispatchResponse = s
        .pb(
            "AgentDispatchService",
            "ListDispatch",
            Some(&t),
            &proto::ListAgentDispatchRequest {
                room: "standup".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = listed
        .agent_dispatches
        .iter()
        .map(|d| d.agent_name.as_str())
        .collect();
    assert_eq!(names, ["", "helper"]);
    let (st, one) = s
        .json(
            "AgentDispatchService",
            "ListDispatch",
            Some(&t),
            &json!({"room": "standup", "dispatch_id": d.id}),
        )
        .await;
    assert_eq!(
        (st, one["agent_dispatches"].as_array().unwrap().len()),
        (200, 1)
    );
    let (st, del) = s
        .json(
            "AgentDispatchService",
            "DeleteDispatch",
            Some(&t),
            &json!({"room": "standup", "dispatch_id": d.id}),
        )
        .await;
    assert_eq!((st, del["agent_name"].as_str()), (200, Some("helper")));
    assert_eq!(
        s.json(
            "AgentDispatchService",
            "DeleteDispatch",
            Some(&t),
            &json!({"room": "standup", "dispatch_id": d.id})
        )
        .await,
        (404, twirp("not_found", "dispatch ID not found"))
    );
    // A room that is not open has no node to answer.
    let t2 = token(json!({"roomAdmin": true, "room": "closed"}));
    assert_eq!(
        s.json(
            "AgentDispatchService",
            "ListDispatch",
            Some(&t2),
            &json!({"room": "closed"})
        )
        .await,
        (503, twirp("unavailable", "no response from servers"))
    );
}
