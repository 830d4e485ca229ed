//! livekit.AgentDispatchService as livekit-server serves it (side-services facts §4.6; LK
//! `pkg/service/agent_dispatch_service.go`, `rtc/room.go`): roomAdmin of the request's room,
//! works without Redis; Create auto-creates the room (when `room.auto_create`), List and Delete
//! go to the room's node, so a room that is not open gets "no response from servers".

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::Response;
use livekit_protocol as proto;

use crate::Shared;
use crate::auth::Claims;
use crate::twirp::{Encoding, Reply, TwirpError, decode};

pub const METHODS: &[&str] = &["CreateDispatch", "DeleteDispatch", "ListDispatch"];

fn admin(claims: &Claims, room: &str) -> Result<(), TwirpError> {
    if claims.is_admin_of(room) {
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
    match method {
        "CreateDispatch" => {
            let req: proto::CreateAgentDispatchRequest = decode(enc, body)?;
            admin(&claims, &req.room)?;
            let l = &shared.config.limits;
            if l.max_metadata_size > 0 && req.metadata.len() > l.max_metadata_size {
                return Err(TwirpError::new(
                    "invalid_argument",
                    "metadata size exceeds limits",
                ));
            }
            let size: usize = req.attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
            if l.max_attributes_size > 0 && size > l.max_attributes_size {
                return Err(TwirpError::new(
                    "invalid_argument",
                    "attribute size exceeds limits",
                ));
            }
            let mut state = shared.state();
            if shared.config.room.auto_create {
                state.get_or_create(
                    &proto::CreateRoomRequest {
                        name: req.room.clone(),
                        ..Default::default()
                    },
                    &shared.config,
                );
            }
            if state.room(&req.room).is_none() {
                return Err(crate::egress::no_response());
            }
            let ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as i64;
            let d = proto::AgentDispatch {
                id: crate::state::new_id("AD_"),
                agent_name: req.agent_name,
                room: req.room.clone(),
                metadata: req.metadata,
                state: Some(proto::AgentDispatchState {
                    created_at: ns,
                    ..Default::default()
                }),
                ..Default::default()
            };
            state
                .dispatches
                .entry(req.room)
                .or_default()
                .push(d.clone());
            Ok(d.encode_as(enc))
        }
        "ListDispatch" => {
            let req: proto::ListAgentDispatchRequest = decode(enc, body)?;
            admin(&claims, &req.room)?;
            let mut state = shared.state();
            if state.room(&req.room).is_none() {
                return Err(crate::egress::no_response());
            }
            let agent_dispatches = state
                .dispatches
                .get(&req.room)
                .into_iter()
                .flatten()
                .filter(|d| req.dispatch_id.is_empty() || d.id == req.dispatch_id)
                .cloned()
                .collect();
            Ok(proto::ListAgentDispatchResponse { agent_dispatches }.encode_as(enc))
        }
        "DeleteDispatch" => {
            let req: proto::DeleteAgentDispatchRequest = decode(enc, body)?;
            admin(&claims, &req.room)?;
            let mut state = shared.state();
            if state.room(&req.room).is_none() {
                return Err(crate::egress::no_response());
            }
            let list = state.dispatches.entry(req.room).or_default();
            let i = list
                .iter()
                .position(|d| d.id == req.dispatch_id)
                .ok_or_else(|| TwirpError::new("not_found", "dispatch ID not found"))?;
            Ok(list.remove(i).encode_as(enc))
        }
        _ => unreachable!("router only passes METHODS"),
    }
}
