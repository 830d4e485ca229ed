//! ingress.*: LiveKit's ingress through livekit-server's `livekit.Ingress`, signed with
//! `ingressAdmin` (design §5.7). Only `ingress.create`'s result carries the stream key and the
//! full publish URL, to the caller that created the ingress; lists, updates and deletes leave
//! them out, and the audit log stores params through the one redaction rule.

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use super::{Call, Registry};
use crate::livekit::Grant;
use crate::side_client::{self as side, Service, call};

pub fn register(r: &mut Registry) {
    r.add_audited::<IngressCreate, _, _>(|c: Call, p: IngressCreateParams| async move {
        let req = side::ingress_create(&p)?;
        let info: proto::IngressInfo = call(
            &c.state,
            Service::Ingress,
            "CreateIngress",
            Grant::IngressAdmin,
            req,
        )
        .await?;
        Ok(IngressInfo::created(&info))
    });
    r.add::<IngressListM, _, _>(|c: Call, p: IngressListParams| async move {
        if let Some(id) = &p.ingress_id {
            side::id("ingress_id", id)?;
        }
        let req = proto::ListIngressRequest {
            room_name: p.room.unwrap_or_default(),
            ingress_id: p.ingress_id.unwrap_or_default(),
            page_token: None,
        };
        let items = side::ingresses(&c.state, req).await?;
        let mut ingresses: Vec<IngressInfo> = items.iter().map(IngressInfo::from_proto).collect();
        ingresses.sort_by(|a, b| a.room.cmp(&b.room).then(a.ingress_id.cmp(&b.ingress_id)));
        Ok(IngressList { ingresses })
    });
    r.add_audited::<IngressUpdate, _, _>(|c: Call, p: IngressUpdateParams| async move {
        let req = side::ingress_update(&p)?;
        let info: proto::IngressInfo = call(
            &c.state,
            Service::Ingress,
            "UpdateIngress",
            Grant::IngressAdmin,
            req,
        )
        .await?;
        Ok(IngressInfo::from_proto(&info))
    });
    r.add_audited::<IngressDelete, _, _>(|c: Call, p: IngressIdParams| async move {
        side::id("ingress_id", &p.ingress_id)?;
        let req = proto::DeleteIngressRequest {
            ingress_id: p.ingress_id,
        };
        let info: proto::IngressInfo = call(
            &c.state,
            Service::Ingress,
            "DeleteIngress",
            Grant::IngressAdmin,
            req,
        )
        .await?;
        Ok(IngressInfo::from_proto(&info))
    });
}
