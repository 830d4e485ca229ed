//! egress.*: LiveKit's egress through livekit-server's `livekit.Egress` (design §5.7). Every
//! method that starts, stops or changes an egress is audited, with stream keys and storage
//! credentials redacted by the one rule (`hero_livekit_api::redact`).

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use super::{Call, Registry};
use crate::egress_client::{self as egress, call};
use crate::error::Result;

fn info(i: proto::EgressInfo) -> EgressInfo {
    EgressInfo::from_proto(&i)
}

pub fn register(r: &mut Registry) {
    r.add_audited::<EgressStartRoomComposite, _, _>(
        |c: Call, p: EgressRoomCompositeParams| async move {
            let req = egress::room_composite(&p)?;
            Ok(info(call(&c.state, "StartRoomCompositeEgress", req).await?))
        },
    );
    r.add_audited::<EgressStartParticipant, _, _>(
        |c: Call, p: EgressParticipantParams| async move {
            let req = egress::participant(&p)?;
            Ok(info(call(&c.state, "StartParticipantEgress", req).await?))
        },
    );
    r.add_audited::<EgressStartTrackComposite, _, _>(
        |c: Call, p: EgressTrackCompositeParams| async move {
            let req = egress::track_composite(&p)?;
            Ok(info(
                call(&c.state, "StartTrackCompositeEgress", req).await?,
            ))
        },
    );
    r.add_audited::<EgressStartTrack, _, _>(|c: Call, p: EgressTrackParams| async move {
        let req = egress::track(&p)?;
        Ok(info(call(&c.state, "StartTrackEgress", req).await?))
    });
    r.add_audited::<EgressStartWeb, _, _>(|c: Call, p: EgressWebParams| async move {
        let req = egress::web(&p)?;
        Ok(info(call(&c.state, "StartWebEgress", req).await?))
    });
    r.add::<EgressListM, _, _>(|c: Call, p: EgressListParams| async move { list(&c, p).await });
    r.add_audited::<EgressStop, _, _>(|c: Call, p: EgressIdParams| async move {
        egress::egress_id("egress_id", &p.egress_id)?;
        let req = proto::StopEgressRequest {
            egress_id: p.egress_id,
        };
        Ok(info(call(&c.state, "StopEgress", req).await?))
    });
    r.add_audited::<EgressUpdateLayout, _, _>(|c: Call, p: EgressUpdateLayoutParams| async move {
        egress::egress_id("egress_id", &p.egress_id)?;
        if p.layout.is_empty() {
            return Err(crate::Error::params("layout", "must not be empty"));
        }
        let req = proto::UpdateLayoutRequest {
            egress_id: p.egress_id,
            layout: p.layout,
        };
        Ok(info(call(&c.state, "UpdateLayout", req).await?))
    });
    r.add_audited::<EgressUpdateStream, _, _>(|c: Call, p: EgressUpdateStreamParams| async move {
        let req = egress::update_stream(&p)?;
        Ok(info(call(&c.state, "UpdateStream", req).await?))
    });
}

async fn list(c: &Call, p: EgressListParams) -> Result<EgressList> {
    if let Some(id) = &p.egress_id {
        egress::egress_id("egress_id", id)?;
    }
    let req = proto::ListEgressRequest {
        room_name: p.room.unwrap_or_default(),
        egress_id: p.egress_id.unwrap_or_default(),
        active: p.active.unwrap_or(false),
        page_token: None,
    };
    let items = egress::list(&c.state, req).await?;
    let mut egresses: Vec<EgressInfo> = items.iter().map(EgressInfo::from_proto).collect();
    // Newest first, like the recordings catalogue.
    egresses.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
    Ok(EgressList { egresses })
}
