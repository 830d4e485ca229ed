//! `token.create`, `token.decode`, and `backend.info` (the bearers apps mint tokens with).

use hero_livekit_api::methods::{BackendInfoM, TokenCreate, TokenDecode};
use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::{BackendInfo, NoParams, TokenCreateParams, TokenDecodeParams};

use super::{Call, Registry};
use crate::keys;
use crate::sync::{BACKEND_API_TOKEN, TOKEN_ENDPOINT_TOKEN};
use crate::tokens;

pub fn register(r: &mut Registry) {
    r.add_audited::<TokenCreate, _, _>(|c: Call, p: TokenCreateParams| async move {
        let rows = c.state.store().keys().await?;
        let key = keys::signer(&rows)?;
        let cfg = c.state.config();
        let t = tokens::create(&p, key, &cfg.public_url, cfg.token_ttl, cfg.token_max_ttl)?;
        tracing::info!(room = %p.room, identity = %p.identity, api_key = %t.api_key, "minted a token");
        Ok(t)
    });
    r.add::<TokenDecode, _, _>(|c: Call, p: TokenDecodeParams| async move {
        let rows = c.state.store().keys().await?;
        Ok(tokens::decode(&p.token, &rows, now_unix()))
    });
    r.add::<BackendInfoM, _, _>(|c: Call, _: NoParams| async move {
        Ok(BackendInfo {
            url: c.state.config().backend_url(),
            api_token: c
                .state
                .secret(BACKEND_API_TOKEN)
                .await?
                .expose()
                .to_string(),
            token_endpoint_token: c
                .state
                .secret(TOKEN_ENDPOINT_TOKEN)
                .await?
                .expose()
                .to_string(),
        })
    });
}
