//! `deploy.check`: the production checks of `[public]` (design §12).

use hero_livekit_api::methods::DeployCheckM;
use hero_livekit_api::types::DeployCheckParams;

use super::{Call, Registry};
use crate::public::check::{self, Signer};

pub fn register(r: &mut Registry) {
    r.add::<DeployCheckM, _, _>(|c: Call, p: DeployCheckParams| async move {
        let rows = c.state.store().keys().await?;
        let signer = crate::keys::signer(&rows).ok().map(|k| Signer {
            api_key: k.api_key.clone(),
            secret: k.secret.expose().to_string(),
        });
        Ok(check::run(c.state.config(), signer, &p.resolve).await)
    });
}
