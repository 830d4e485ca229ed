//! Minting (`token.create`) with LiveKit's own Rust SDK (`livekit_api::access_token`), whose
//! claims are `omitempty` like the Go SDK's. Validation refuses what livekit-server would refuse
//! at join (facts §2.3, limits §1.9), so a token that mints here also joins there.

use std::time::Duration;

use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{Grants, Preset, TokenCreateParams, TokenCreated};
use livekit_api::access_token::{AccessToken, AccessTokenError, VideoGrants};

use crate::error::{Error, Result};
use crate::keys::KeyRow;
use crate::livekit_limits::{
    MAX_METADATA_BYTES, MAX_NAME_BYTES, SOURCES, check_attributes, check_len,
};

fn preset_grants(preset: Preset, room: &str) -> VideoGrants {
    let mut g = VideoGrants {
        room_join: true,
        room: room.to_string(),
        ..Default::default()
    };
    match preset {
        Preset::Participant => {
            g.can_publish = Some(true);
            g.can_subscribe = Some(true);
            g.can_publish_data = Some(true);
        }
        Preset::Viewer => {
            g.can_publish = Some(false);
            g.can_subscribe = Some(true);
            g.can_publish_data = Some(false);
        }
        Preset::Admin => {
            g.can_publish = Some(true);
            g.can_subscribe = Some(true);
            g.can_publish_data = Some(true);
            g.room_admin = true;
            g.room_list = true;
            g.room_create = true;
        }
    }
    g
}

fn apply(g: &mut VideoGrants, over: &Grants) -> Result<()> {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = over.$f { g.$f = v; } )* };
    }
    set!(
        room_create,
        room_list,
        room_record,
        room_admin,
        room_join,
        ingress_admin,
        hidden,
        recorder,
        agent
    );
    if over.can_publish.is_some() {
        g.can_publish = over.can_publish;
    }
    if over.can_subscribe.is_some() {
        g.can_subscribe = over.can_subscribe;
    }
    if over.can_publish_data.is_some() {
        g.can_publish_data = over.can_publish_data;
    }
    if over.can_update_own_metadata.is_some() {
        g.can_update_own_metadata = over.can_update_own_metadata;
    }
    if let Some(room) = &over.destination_room {
        g.destination_room = room.clone();
    }
    if let Some(sources) = &over.can_publish_sources {
        for (i, s) in sources.iter().enumerate() {
            if !SOURCES.contains(&s.as_str()) {
                return Err(Error::params(
                    format!("grants.canPublishSources[{i}]"),
                    format!("{s:?} is not one of {}", SOURCES.join(", ")),
                ));
            }
        }
        g.can_publish_sources = sources.clone();
    }
    Ok(())
}

/// Validates the request, mints the token with `key` and returns it with its expiry.
pub fn create(
    p: &TokenCreateParams,
    key: &KeyRow,
    server_url: &str,
    default_ttl: Duration,
    max_ttl: Duration,
) -> Result<TokenCreated> {
    if p.room.is_empty() {
        return Err(Error::params(
            "room",
            "must not be empty: LiveKit answers \"no room name\"",
        ));
    }
    if p.identity.is_empty() {
        return Err(Error::params(
            "identity",
            "must not be empty: LiveKit answers \"identity cannot be empty\"",
        ));
    }
    check_len("room", &p.room, MAX_NAME_BYTES)?;
    check_len("identity", &p.identity, MAX_NAME_BYTES)?;
    if let Some(name) = &p.name {
        check_len("name", name, MAX_NAME_BYTES)?;
    }
    if let Some(m) = &p.metadata {
        check_len("metadata", m, MAX_METADATA_BYTES)?;
    }
    let attributes = p.attributes.clone().unwrap_or_default();
    check_attributes("attributes", &attributes)?;
    let ttl = match p.ttl_s {
        Some(0) => return Err(Error::params("ttl_s", "must be at least 1")),
        Some(s) => Duration::from_secs(s),
        None => default_ttl,
    };
    if ttl > max_ttl {
        return Err(Error::Policy(format!(
            "ttl_s {} exceeds the maximum token lifetime of {} s (token_max_ttl)",
            ttl.as_secs(),
            max_ttl.as_secs()
        )));
    }
    let mut grants = preset_grants(p.preset.unwrap_or_default(), &p.room);
    if let Some(g) = &p.grants {
        apply(&mut grants, g)?;
    }
    let mut token = AccessToken::with_api_key(&key.api_key, key.secret.expose())
        .with_ttl(ttl)
        .with_identity(&p.identity)
        .with_grants(grants);
    if let Some(name) = &p.name {
        token = token.with_name(name);
    }
    if let Some(m) = &p.metadata {
        token = token.with_metadata(m);
    }
    if !attributes.is_empty() {
        token = token.with_attributes(attributes);
    }
    if let Some(rc) = &p.room_config {
        let rc: livekit_protocol::RoomConfiguration =
            serde_json::from_value(rc.clone()).map_err(|e| {
                Error::params(
                    "room_config",
                    format!("not a LiveKit RoomConfiguration: {e}"),
                )
            })?;
        token = token.with_room_config(rc);
    }
    let jwt = token.to_jwt().map_err(|e| match e {
        AccessTokenError::InvalidClaims(why) => Error::params("grants", why),
        other => Error::Internal(format!("cannot sign token: {other}")),
    })?;
    let exp = super::explain::payload(&jwt)
        .ok()
        .and_then(|c| c["exp"].as_i64())
        .unwrap_or_else(|| now_unix() + ttl.as_secs() as i64);
    Ok(TokenCreated {
        token: jwt,
        server_url: server_url.to_string(),
        api_key: key.api_key.clone(),
        expires_at: rfc3339(exp),
    })
}
