//! Explaining (`token.decode`) any LiveKit access token: which key signed it, whether it is
//! valid now, and its grants in plain words, resolving unset permissions as LiveKit does.

use base64::Engine;
use hero_livekit_api::timefmt::rfc3339;
use hero_livekit_api::types::{KeyState, TokenDecoded};
use livekit_api::access_token::{AccessTokenError, TokenVerifier};
use serde_json::Value;

use crate::keys::KeyRow;
use crate::livekit_limits::{LEEWAY_S, MAX_NAME_BYTES};

fn b64(part: &str) -> std::result::Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| e.to_string())
}

/// The unverified JSON payload of a JWT.
pub(super) fn payload(jwt: &str) -> std::result::Result<Value, String> {
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
