//! Minting (`token.create`) and explaining (`token.decode`) LiveKit access tokens.
//!
//! Minting uses LiveKit's own Rust SDK (`livekit_api::access_token`), whose claims are
//! `omitempty` like the Go SDK's. Validation refuses what livekit-server would refuse at join
//! (facts §2.3, limits §1.9), so a token that mints here also joins there.

use std::time::Duration;

use base64::Engine;
use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{
    Grants, KeyState, Preset, TokenCreateParams, TokenCreated, TokenDecoded,
};
use livekit_api::access_token::{AccessToken, AccessTokenError, TokenVerifier, VideoGrants};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::keys::KeyRow;

/// LiveKit's default limits (facts §1.9).
pub const MAX_NAME_BYTES: usize = 256;
pub const MAX_METADATA_BYTES: usize = 512 * 1024;
pub const MAX_ATTRIBUTES_BYTES: usize = 64 * 1024;
/// LiveKit verifies exp/nbf with one minute of leeway.
pub const LEEWAY_S: i64 = 60;
pub const SOURCES: &[&str] = &["camera", "microphone", "screen_share", "screen_share_audio"];

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

/// Refuses a value longer (in bytes, as LiveKit counts) than LiveKit allows.
pub(crate) fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::params(
            field,
            format!("is {} bytes; LiveKit allows at most {max}", value.len()),
        ));
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
    let attr_bytes: usize = attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
    if attr_bytes > MAX_ATTRIBUTES_BYTES {
        return Err(Error::params(
            "attributes",
            format!(
                "total {attr_bytes} bytes of keys and values; LiveKit allows at most {MAX_ATTRIBUTES_BYTES}"
            ),
        ));
    }
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
    let exp = payload(&jwt)
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

fn b64(part: &str) -> std::result::Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| e.to_string())
}

/// The unverified JSON payload of a JWT.
fn payload(jwt: &str) -> std::result::Result<Value, String> {
    let mut parts = jwt.split('.');
    let (Some(_), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("a JWT has three dot-separated parts".into());
    };
    serde_json::from_slice(&b64(p)?).map_err(|e| format!("payload is not JSON: {e}"))
}

fn header(jwt: &str) -> std::result::Result<Value, String> {
    let h = jwt.split('.').next().unwrap_or_default();
    serde_json::from_slice(&b64(h)?).map_err(|e| format!("header is not JSON: {e}"))
}

/// Plain-language grants, resolving unset permissions as LiveKit does (facts §2.1).
fn explain(claims: &Value) -> Vec<String> {
    let v = &claims["video"];
    let flag = |k: &str| v[k].as_bool();
    let room = v["room"].as_str().unwrap_or("");
    let sub = claims["sub"].as_str().unwrap_or("");
    let mut out = Vec::new();
    if flag("roomJoin") == Some(true) {
        out.push(format!("may join room {room:?} as identity {sub:?}"));
        let publish = flag("canPublish").unwrap_or(true);
        let sources: Vec<&str> = v["canPublishSources"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match (publish, sources.is_empty()) {
            (false, _) => out.push("may not publish audio or video".into()),
            (true, true) => out.push("may publish audio and video from any source".into()),
            (true, false) => out.push(format!("may publish only from: {}", sources.join(", "))),
        }
        out.push(
            if flag("canSubscribe").unwrap_or(true) {
                "may subscribe to others' tracks"
            } else {
                "may not subscribe"
            }
            .into(),
        );
        out.push(
            if flag("canPublishData").unwrap_or(publish) {
                "may send data messages"
            } else {
                "may not send data messages"
            }
            .into(),
        );
        if flag("canUpdateOwnMetadata") == Some(true) {
            out.push("may update its own name, metadata and attributes".into());
        }
    } else {
        out.push("may not join any room".into());
    }
    if flag("roomAdmin") == Some(true) {
        if room.is_empty() {
            out.push("roomAdmin without a room: administers no room".into());
        } else {
            out.push(format!(
                "may administer room {room:?} (participants, mute, metadata, data)"
            ));
        }
    }
    for (k, text) in [
        ("roomCreate", "may create and delete rooms"),
        ("roomList", "may list rooms"),
        ("roomRecord", "may start and stop recordings (egress)"),
        ("ingressAdmin", "may manage ingress"),
        ("hidden", "is hidden from other participants"),
        ("recorder", "is marked as a recorder"),
        ("agent", "is marked as an agent"),
    ] {
        if flag(k) == Some(true) {
            out.push(text.into());
        }
    }
    if claims.get("roomConfig").is_some_and(|c| !c.is_null()) {
        out.push("carries a room configuration applied if its join creates the room".into());
    }
    out
}

/// Verifies `jwt` against the known keys and explains what LiveKit would do with it.
pub fn decode(jwt: &str, keys: &[KeyRow], now: i64) -> TokenDecoded {
    let jwt = jwt.trim().strip_prefix("Bearer ").unwrap_or(jwt.trim());
    let mut problems = Vec::new();
    let claims = match payload(jwt) {
        Ok(c) => c,
        Err(e) => {
            return TokenDecoded {
                valid: false,
                api_key: None,
                key_state: None,
                claims: Value::Null,
                expires_at: None,
                not_before: None,
                skew_s: None,
                grants_explained: vec![],
                problems: vec![format!(
                    "not a JWT: {e}; LiveKit answers 401 invalid authorization token"
                )],
            };
        }
    };
    match header(jwt) {
        Ok(h) if h["alg"] == "HS256" => {}
        Ok(h) => problems.push(format!(
            "algorithm {} is not HS256, the only one LiveKit accepts",
            h["alg"]
        )),
        Err(e) => problems.push(e),
    }
    let iss = claims["iss"].as_str().map(String::from);
    let key = iss
        .as_deref()
        .and_then(|i| keys.iter().find(|k| k.api_key == i));
    match (&iss, key) {
        (None, _) => problems.push("no iss (API key): LiveKit answers 401 invalid API key".into()),
        (Some(i), None) => problems.push(format!(
            "signed by key {i}, unknown to this control plane: LiveKit answers 401 invalid API key"
        )),
        (Some(i), Some(k)) => {
            match TokenVerifier::with_api_key(i, k.secret.expose()).verify(jwt) {
                Ok(_) => {}
                Err(AccessTokenError::Encoding(e)) => {
                    use jsonwebtoken::errors::ErrorKind;
                    match e.kind() {
                        // The signature is checked before the claims, so these mean it matched.
                        ErrorKind::ExpiredSignature
                        | ErrorKind::ImmatureSignature
                        | ErrorKind::MissingRequiredClaim(_) => {}
                        ErrorKind::InvalidSignature => problems.push(format!(
                            "the signature does not match key {i}'s secret (forged or altered)"
                        )),
                        other => problems.push(format!("cannot verify: {other:?}")),
                    }
                }
                Err(other) => problems.push(format!("cannot verify: {other}")),
            }
            match k.state {
                KeyState::Revoked => problems.push(format!("signed by revoked key {i}: the SFU no longer accepts it")),
                KeyState::Retired => problems.push(format!("signed by retired key {i}: no longer in livekit.yaml, refused once the SFU restarts")),
                _ => {}
            }
        }
    }
    let exp = claims["exp"].as_i64();
    let nbf = claims["nbf"].as_i64();
    match exp {
        None => problems.push("no exp: current LiveKit refuses tokens without an expiry".into()),
        Some(e) if e.saturating_add(LEEWAY_S) < now => problems.push(format!(
            "expired at {} ({} s ago)",
            rfc3339(e),
            now.saturating_sub(e)
        )),
        _ => {}
    }
    if let Some(n) = nbf
        && n.saturating_sub(LEEWAY_S) > now
    {
        problems.push(format!(
            "not valid before {} ({} s from now; check the clocks)",
            rfc3339(n),
            n.saturating_sub(now)
        ));
    }
    let video = &claims["video"];
    if video["roomJoin"] == Value::Bool(true) {
        let sub = claims["sub"].as_str().unwrap_or("");
        let room = video["room"].as_str().unwrap_or("");
        if sub.is_empty() {
            problems.push("grants roomJoin but has no identity (sub): LiveKit answers 400 identity cannot be empty".into());
        }
        if room.is_empty() {
            problems
                .push("grants roomJoin but names no room: LiveKit answers 400 no room name".into());
        }
        if sub.len() > MAX_NAME_BYTES || room.len() > MAX_NAME_BYTES {
            problems.push(format!(
                "identity or room is longer than {MAX_NAME_BYTES} bytes: LiveKit answers 400"
            ));
        }
    }
    TokenDecoded {
        valid: problems.is_empty(),
        api_key: iss,
        key_state: key.map(|k| k.state),
        expires_at: exp.map(rfc3339),
        not_before: nbf.map(rfc3339),
        skew_s: exp.map(|e| e.saturating_sub(now)),
        grants_explained: explain(&claims),
        claims,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn key(k: &str, s: &str, state: KeyState) -> KeyRow {
        KeyRow {
            api_key: k.into(),
            secret: Secret::new(s.into()),
            state,
            created_at: 0,
            activated_at: None,
            retire_at: None,
            revoked_at: None,
        }
    }

    fn vectors() -> (Value, Vec<KeyRow>) {
        let v: Value = hero_livekit_testkit::vectors::json("tokens.json");
        let keys = v["keys"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| key(k, s.as_str().unwrap(), KeyState::Active))
            .collect();
        (v, keys)
    }

    #[test]
    fn official_sdk_tokens_decode_and_explain() {
        let (v, keys) = vectors();
        let now = 1_795_702_000;
        let d = decode(v["python"]["participant"].as_str().unwrap(), &keys, now);
        assert!(d.valid, "{:?}", d.problems);
        assert_eq!(d.api_key.as_deref(), Some("APIvectors0001"));
        assert!(
            d.grants_explained
                .iter()
                .any(|g| g.contains("join room \"standup\" as identity \"alice\""))
        );
        let d = decode(v["python"]["viewer"].as_str().unwrap(), &keys, now);
        assert!(
            d.grants_explained
                .contains(&"may not publish audio or video".to_string())
        );
        let d = decode(
            v["node"]["participant_with_sources_metadata_attributes"]
                .as_str()
                .unwrap(),
            &keys,
            now,
        );
        assert!(d.valid, "{:?}", d.problems);
        assert!(
            d.grants_explained
                .contains(&"may publish only from: camera, microphone".to_string())
        );
        let d = decode(v["python"]["expired"].as_str().unwrap(), &keys, now);
        assert!(
            !d.valid && d.problems.iter().any(|p| p.starts_with("expired at")),
            "{:?}",
            d.problems
        );
        // Signed by APIvectors0002 but we only know 0001: unknown key.
        let d = decode(
            v["python"]["signed_by_other_key"].as_str().unwrap(),
            &keys[..1],
            now,
        );
        assert!(!d.valid && d.problems[0].contains("unknown to this control plane"));
        // Known key, wrong secret: forged.
        let forged = [key(
            "APIvectors0002",
            "not-the-secret-0123456789abcdefghijklmn",
            KeyState::Active,
        )];
        let d = decode(
            v["python"]["signed_by_other_key"].as_str().unwrap(),
            &forged,
            now,
        );
        assert!(
            d.problems
                .iter()
                .any(|p| p.contains("signature does not match")),
            "{:?}",
            d.problems
        );
        let d = decode("garbage", &keys, now);
        assert!(!d.valid && d.claims.is_null());
        // Extreme times from a hostile token never overflow.
        for (exp, nbf) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN)] {
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                r#"{{"iss":"APIvectors0001","exp":{exp},"nbf":{nbf}}}"#
            ));
            let d = decode(&format!("eyJhbGciOiJIUzI1NiJ9.{body}.sig"), &keys, now);
            assert!(!d.valid);
        }
    }

    #[test]
    fn minted_tokens_carry_presets_and_round_trip() {
        let k = key("APItest", &"s".repeat(44), KeyState::Active);
        let p = TokenCreateParams {
            room: "r1".into(),
            identity: "bob".into(),
            preset: Some(Preset::Viewer),
            grants: Some(Grants {
                can_publish_sources: Some(vec!["camera".into()]),
                ..Default::default()
            }),
            attributes: Some([("a".to_string(), "b".to_string())].into()),
            room_config: Some(serde_json::json!({"empty_timeout": 30, "maxParticipants": 5})),
            ..Default::default()
        };
        let t = create(
            &p,
            &k,
            "ws://x",
            Duration::from_secs(3600),
            Duration::from_secs(86400),
        )
        .unwrap();
        let c = payload(&t.token).unwrap();
        assert_eq!(c["sub"], "bob");
        assert_eq!(c["video"]["canPublish"], false);
        assert_eq!(c["video"]["canPublishSources"][0], "camera");
        assert_eq!(c["roomConfig"]["emptyTimeout"], 30);
        assert_eq!(c["roomConfig"]["maxParticipants"], 5);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["nbf"].as_i64().unwrap(),
            3600
        );
        let d = decode(&t.token, std::slice::from_ref(&k), now_unix());
        assert!(d.valid, "{:?}", d.problems);

        let too_long = TokenCreateParams {
            room: "r".repeat(257),
            identity: "i".into(),
            ..Default::default()
        };
        assert!(
            matches!(create(&too_long, &k, "", Duration::from_secs(1), Duration::from_secs(2)), Err(Error::InvalidParams { field, .. }) if field == "room")
        );
        let ttl = TokenCreateParams {
            room: "r".into(),
            identity: "i".into(),
            ttl_s: Some(3),
            ..Default::default()
        };
        assert!(matches!(
            create(&ttl, &k, "", Duration::from_secs(1), Duration::from_secs(2)),
            Err(Error::Policy(_))
        ));
        let bad_source = TokenCreateParams {
            room: "r".into(),
            identity: "i".into(),
            grants: Some(Grants {
                can_publish_sources: Some(vec!["webcam".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(
            matches!(create(&bad_source, &k, "", Duration::from_secs(1), Duration::from_secs(2)), Err(Error::InvalidParams { field, .. }) if field == "grants.canPublishSources[0]")
        );
    }
}
