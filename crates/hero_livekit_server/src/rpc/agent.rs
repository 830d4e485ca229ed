//! agent.dispatch.*: LiveKit's AgentDispatchService (design §5.7). Each call is signed with a
//! token of its own carrying roomAdmin for exactly the request's room, as LiveKit checks
//! (side-services facts §4.1, §4.6).

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use super::{Call, Registry};
use crate::livekit::Grant;
use crate::side_client::{self as side, Service, call};

pub fn register(r: &mut Registry) {
    r.add_audited::<AgentDispatchCreate, _, _>(
        |c: Call, p: AgentDispatchCreateParams| async move {
            let req = side::agent_dispatch(&p)?;
            let grant = Grant::RoomAdmin(req.room.clone());
            let d: proto::AgentDispatch = call(
                &c.state,
                Service::AgentDispatch,
                "CreateDispatch",
                grant,
                req,
            )
            .await?;
            Ok(AgentDispatch::from_proto(&d))
        },
    );
    r.add::<AgentDispatchListM, _, _>(|c: Call, p: AgentDispatchListParams| async move {
        side::id("room", &p.room)?;
        let req = proto::ListAgentDispatchRequest {
            dispatch_id: p.dispatch_id.unwrap_or_default(),
            room: p.room,
        };
        let grant = Grant::RoomAdmin(req.room.clone());
        let resp: proto::ListAgentDispatchResponse =
            call(&c.state, Service::AgentDispatch, "ListDispatch", grant, req).await?;
        Ok(AgentDispatchList {
            dispatches: resp
                .agent_dispatches
                .iter()
                .map(AgentDispatch::from_proto)
                .collect(),
        })
    });
    r.add_audited::<AgentDispatchDelete, _, _>(
        |c: Call, p: AgentDispatchDeleteParams| async move {
            side::id("room", &p.room)?;
            side::id("dispatch_id", &p.dispatch_id)?;
            let req = proto::DeleteAgentDispatchRequest {
                dispatch_id: p.dispatch_id,
                room: p.room,
            };
            let grant = Grant::RoomAdmin(req.room.clone());
            let d: proto::AgentDispatch = call(
                &c.state,
                Service::AgentDispatch,
                "DeleteDispatch",
                grant,
                req,
            )
            .await?;
            Ok(AgentDispatch::from_proto(&d))
        },
    );
}
