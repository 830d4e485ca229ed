//! `audit.list`.

use hero_livekit_api::methods::AuditListM;
use hero_livekit_api::types::AuditListParams;

use super::{Call, Registry};

pub fn register(r: &mut Registry) {
    r.add::<AuditListM, _, _>(|c: Call, p: AuditListParams| async move {
        crate::audit::list(c.state.store(), &p).await
    });
}
