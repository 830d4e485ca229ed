//! `keys.*`: list, rotate, revoke, import.

use hero_livekit_api::methods::{KeysImport, KeysList, KeysRevoke, KeysRotate};
use hero_livekit_api::types::{
    KeyList, KeyParams, KeyState, KeysImportParams, KeysListParams, KeysRotateParams,
};

use super::{Call, Registry};
use crate::lifecycle;

pub fn register(r: &mut Registry) {
    r.add::<KeysList, _, _>(|c: Call, p: KeysListParams| async move {
        let include_revoked = p.include_revoked.unwrap_or(false);
        let rows = c
            .state
            .store()
            .keys()
            .await?
            .into_iter()
            .filter(|k| include_revoked || k.state != KeyState::Revoked)
            .collect();
        Ok(KeyList {
            keys: lifecycle::with_acceptance(&c.state, rows),
        })
    });
    r.add_audited::<KeysRotate, _, _>(|c: Call, p: KeysRotateParams| async move {
        lifecycle::rotate(&c.state, p.grace_s).await
    });
    r.add_audited::<KeysRevoke, _, _>(|c: Call, p: KeyParams| async move {
        lifecycle::revoke(&c.state, &p.api_key).await
    });
    r.add_audited::<KeysImport, _, _>(|c: Call, p: KeysImportParams| async move {
        lifecycle::import(&c.state, &p.api_key, &p.secret).await
    });
}
