//! sip.*: trunks and dispatch rules (signed with `sip.admin`), dialling out (`sip.call`) and
//! transfers (`sip.call` and roomAdmin on the room) through livekit-server's `livekit.SIP`
//! (design §5.7). Trunk passwords and rule PINs are never given back; the audit log stores
//! params through the one redaction rule.

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use super::{Call, Registry};
use crate::error::{Error, Result};
use crate::livekit::Grant;
use crate::side_client::{self as side, Service, call};

async fn inbound(c: &Call, req: proto::ListSipInboundTrunkRequest) -> Result<Vec<SipTrunk>> {
    let resp: proto::ListSipInboundTrunkResponse = call(
        &c.state,
        Service::Sip,
        "ListSIPInboundTrunk",
        Grant::SipAdmin,
        req,
    )
    .await?;
    Ok(resp.items.iter().map(SipTrunk::inbound).collect())
}

async fn outbound(c: &Call, req: proto::ListSipOutboundTrunkRequest) -> Result<Vec<SipTrunk>> {
    let resp: proto::ListSipOutboundTrunkResponse = call(
        &c.state,
        Service::Sip,
        "ListSIPOutboundTrunk",
        Grant::SipAdmin,
        req,
    )
    .await?;
    Ok(resp.items.iter().map(SipTrunk::outbound).collect())
}

/// DeleteSIPTrunk deletes either kind; the method names one, so the trunk is looked up in that
/// kind first and a trunk of the other kind is refused rather than deleted by surprise.
async fn delete(c: &Call, id: String, direction: SipDirection) -> Result<SipTrunk> {
    side::id("trunk_id", &id)?;
    let found = match direction {
        SipDirection::Inbound => {
            inbound(
                c,
                proto::ListSipInboundTrunkRequest {
                    trunk_ids: vec![id.clone()],
                    ..Default::default()
                },
            )
            .await?
        }
        SipDirection::Outbound => {
            outbound(
                c,
                proto::ListSipOutboundTrunkRequest {
                    trunk_ids: vec![id.clone()],
                    ..Default::default()
                },
            )
            .await?
        }
    };
    let Some(trunk) = found.into_iter().find(|t| t.trunk_id == id) else {
        let kind = match direction {
            SipDirection::Inbound => "inbound",
            SipDirection::Outbound => "outbound",
        };
        return Err(Error::NotFound(format!("no {kind} SIP trunk {id}")));
    };
    let _: proto::SipTrunkInfo = call(
        &c.state,
        Service::Sip,
        "DeleteSIPTrunk",
        Grant::SipAdmin,
        proto::DeleteSipTrunkRequest { sip_trunk_id: id },
    )
    .await?;
    Ok(trunk)
}

pub fn register(r: &mut Registry) {
    r.add_audited::<SipInboundTrunkCreate, _, _>(
        |c: Call, p: SipInboundTrunkCreateParams| async move {
            let req = side::inbound_trunk(&p)?;
            let t: proto::SipInboundTrunkInfo = call(
                &c.state,
                Service::Sip,
                "CreateSIPInboundTrunk",
                Grant::SipAdmin,
                req,
            )
            .await?;
            Ok(SipTrunk::inbound(&t))
        },
    );
    r.add::<SipInboundTrunkList, _, _>(|c: Call, p: SipTrunkListParams| async move {
        let req = proto::ListSipInboundTrunkRequest {
            numbers: p.numbers,
            ..Default::default()
        };
        Ok(SipTrunkList {
            trunks: inbound(&c, req).await?,
        })
    });
    r.add_audited::<SipInboundTrunkDelete, _, _>(|c: Call, p: SipTrunkIdParams| async move {
        delete(&c, p.trunk_id, SipDirection::Inbound).await
    });
    r.add_audited::<SipOutboundTrunkCreate, _, _>(
        |c: Call, p: SipOutboundTrunkCreateParams| async move {
            let req = side::outbound_trunk(&p)?;
            let t: proto::SipOutboundTrunkInfo = call(
                &c.state,
                Service::Sip,
                "CreateSIPOutboundTrunk",
                Grant::SipAdmin,
                req,
            )
            .await?;
            Ok(SipTrunk::outbound(&t))
        },
    );
    r.add::<SipOutboundTrunkList, _, _>(|c: Call, p: SipTrunkListParams| async move {
        let req = proto::ListSipOutboundTrunkRequest {
            numbers: p.numbers,
            ..Default::default()
        };
        Ok(SipTrunkList {
            trunks: outbound(&c, req).await?,
        })
    });
    r.add_audited::<SipOutboundTrunkDelete, _, _>(|c: Call, p: SipTrunkIdParams| async move {
        delete(&c, p.trunk_id, SipDirection::Outbound).await
    });
    r.add_audited::<SipDispatchRuleCreate, _, _>(
        |c: Call, p: SipDispatchRuleCreateParams| async move {
            let req = side::dispatch_rule(&p)?;
            let rule: proto::SipDispatchRuleInfo = call(
                &c.state,
                Service::Sip,
                "CreateSIPDispatchRule",
                Grant::SipAdmin,
                req,
            )
            .await?;
            Ok(SipDispatchRule::from_proto(&rule))
        },
    );
    r.add::<SipDispatchRuleListM, _, _>(|c: Call, p: SipDispatchRuleListParams| async move {
        let req = proto::ListSipDispatchRuleRequest {
            trunk_ids: p.trunk_ids,
            ..Default::default()
        };
        let resp: proto::ListSipDispatchRuleResponse = call(
            &c.state,
            Service::Sip,
            "ListSIPDispatchRule",
            Grant::SipAdmin,
            req,
        )
        .await?;
        Ok(SipDispatchRuleList {
            rules: resp.items.iter().map(SipDispatchRule::from_proto).collect(),
        })
    });
    r.add_audited::<SipDispatchRuleDelete, _, _>(
        |c: Call, p: SipDispatchRuleIdParams| async move {
            side::id("rule_id", &p.rule_id)?;
            let req = proto::DeleteSipDispatchRuleRequest {
                sip_dispatch_rule_id: p.rule_id,
            };
            let rule: proto::SipDispatchRuleInfo = call(
                &c.state,
                Service::Sip,
                "DeleteSIPDispatchRule",
                Grant::SipAdmin,
                req,
            )
            .await?;
            Ok(SipDispatchRule::from_proto(&rule))
        },
    );
    r.add_audited::<SipCallM, _, _>(|c: Call, p: SipCallParams| async move {
        let req = side::sip_call(&p)?;
        let info: proto::SipParticipantInfo = call(
            &c.state,
            Service::Sip,
            "CreateSIPParticipant",
            Grant::SipCall,
            req,
        )
        .await?;
        Ok(SipCall {
            participant_id: info.participant_id,
            identity: info.participant_identity,
            room: info.room_name,
            sip_call_id: info.sip_call_id,
        })
    });
    r.add_audited::<SipTransfer, _, _>(|c: Call, p: SipTransferParams| async move {
        let req = side::sip_transfer(&p)?;
        let grant = Grant::SipCallRoomAdmin(req.room_name.clone());
        let _: proto::TransferSipParticipantResponse =
            call(&c.state, Service::Sip, "TransferSIPParticipant", grant, req).await?;
        Ok(Empty {})
    });
}
