//! Token verification exactly as livekit-server's auth middleware (facts §2.3): `Bearer ` header
//! or `access_token` query, HS256 only, secret chosen by `iss`, exp required, 60 s leeway. Failures
//! are plain-text 401 bodies, not Twirp JSON.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// `tokenLeeway` in livekit/protocol: one minute either side for exp and nbf.
const LEEWAY_SECS: f64 = 60.0;
const BEARER: &str = "Bearer ";

/// The grants the RoomService handlers look at. Everything else in a token is ignored, as the
/// server's RoomService ignores it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    #[serde(default)]
    pub room_create: Option<bool>,
    #[serde(default)]
    pub room_list: Option<bool>,
    #[serde(default)]
    pub room_admin: Option<bool>,
    #[serde(default)]
    pub room: Option<String>,
    /// `/rtc` (the signalling WebSocket).
    #[serde(default)]
    pub room_join: Option<bool>,
    /// Forward/MoveParticipant also need this to name the destination room.
    #[serde(default)]
    pub destination_room: Option<String>,
    /// Every Egress method.
    #[serde(default)]
    pub room_record: Option<bool>,
    /// Every Ingress method.
    #[serde(default)]
    pub ingress_admin: Option<bool>,
}

/// The token's `sip` grant (side-services facts §4.1).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SipGrant {
    #[serde(default)]
    pub admin: Option<bool>,
    #[serde(default)]
    pub call: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub iss: Option<String>,
    // NumericDate: Go accepts integers and floats.
    #[serde(default)]
    pub exp: Option<f64>,
    #[serde(default)]
    pub nbf: Option<f64>,
    #[serde(default)]
    pub video: Option<VideoGrant>,
    #[serde(default)]
    pub sip: Option<SipGrant>,
}

impl Claims {
    pub fn can_create(&self) -> bool {
        self.video
            .as_ref()
            .and_then(|v| v.room_create)
            .unwrap_or(false)
    }
    pub fn can_record(&self) -> bool {
        self.video
            .as_ref()
            .and_then(|v| v.room_record)
            .unwrap_or(false)
    }
    pub fn is_ingress_admin(&self) -> bool {
        self.video
            .as_ref()
            .and_then(|v| v.ingress_admin)
            .unwrap_or(false)
    }
    pub fn is_sip_admin(&self) -> bool {
        self.sip.as_ref().and_then(|s| s.admin).unwrap_or(false)
    }
    pub fn can_sip_call(&self) -> bool {
        self.sip.as_ref().and_then(|s| s.call).unwrap_or(false)
    }
    pub fn can_list(&self) -> bool {
        self.video
            .as_ref()
            .and_then(|v| v.room_list)
            .unwrap_or(false)
    }
    /// roomAdmin applies to exactly the room named in the token: no wildcard, and an empty
    /// `room` grants nothing.
    pub fn is_admin_of(&self, room: &str) -> bool {
        self.video.as_ref().is_some_and(|v| {
            v.room_admin.unwrap_or(false) && v.room.as_deref().is_some_and(|r| r == room)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("invalid authorization header. Must start with Bearer ")]
    MissingBearer,
    #[error("invalid authorization token")]
    Unparseable,
    #[error("invalid API key")]
    UnknownKey,
    #[error("invalid authorization token: {0}")]
    Invalid(&'static str),
}

/// Picks the token the way the middleware does: a non-empty `Authorization` header wins and must
/// carry the exact `Bearer ` prefix; otherwise the `access_token` query parameter. `Ok(None)` means
/// no token at all, which is not an error: handlers then refuse for lack of grants.
pub fn extract_token(
    header: Option<&str>,
    query: Option<&str>,
) -> Result<Option<String>, AuthError> {
    let token = match header.filter(|h| !h.is_empty()) {
        Some(h) => match h.strip_prefix(BEARER) {
            Some(t) => t.to_string(),
            None => return Err(AuthError::MissingBearer),
        },
        None => query
            .and_then(|q| {
                q.split('&').find_map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (k == "access_token").then(|| percent_decode(v))
                })
            })
            .unwrap_or_default(),
    };
    Ok((!token.is_empty()).then_some(token))
}

/// Verifies `token` against `keys` at unix time `now`.
pub fn verify(token: &str, keys: &BTreeMap<String, String>, now: f64) -> Result<Claims, AuthError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Unparseable);
    };

    #[derive(Deserialize)]
    struct Header {
        alg: String,
    }
    let header: Header = decode_json(h64)?;
    // The server parses with HS256 as the only allowed algorithm: anything else (none, RS256…)
    // fails at parse time.
    if header.alg != "HS256" {
        return Err(AuthError::Unparseable);
    }
    let claims: Claims = decode_json(p64)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| AuthError::Unparseable)?;

    let secret = claims
        .iss
        .as_deref()
        .filter(|iss| !iss.is_empty())
        .and_then(|iss| keys.get(iss))
        .ok_or(AuthError::UnknownKey)?;

    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(p64.as_bytes());
    let expected = mac.finalize().into_bytes();
    if !bool::from(expected.as_slice().ct_eq(&sig)) {
        return Err(AuthError::Invalid(
            "go-jose/go-jose: error in cryptographic primitive",
        ));
    }

    // Since livekit/protocol#1706 a token without exp is refused.
    let exp = claims
        .exp
        .ok_or(AuthError::Invalid("exp claim is required"))?;
    if now > exp + LEEWAY_SECS {
        return Err(AuthError::Invalid(
            "go-jose/go-jose/jwt: validation failed, token is expired (exp)",
        ));
    }
    if let Some(nbf) = claims.nbf
        && now + LEEWAY_SECS < nbf
    {
        return Err(AuthError::Invalid(
            "go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)",
        ));
    }
    Ok(claims)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Unparseable)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Unparseable)
}

/// Minimal `application/x-www-form-urlencoded` value decoding; JWTs only need `%XX` and `+`.
fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(claims: &serde_json::Value, alg: &str, secret: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{p}.{s}")
    }

    fn keys() -> BTreeMap<String, String> {
        [("APIk".to_string(), "s3cret".to_string())].into()
    }

    #[test]
    fn header_rules() {
        assert_eq!(
            extract_token(Some("Token abc"), None),
            Err(AuthError::MissingBearer)
        );
        assert_eq!(
            extract_token(Some("bearer abc"), None),
            Err(AuthError::MissingBearer)
        );
        assert_eq!(
            extract_token(Some("Bearer abc"), Some("access_token=x"))
                .unwrap()
                .unwrap(),
            "abc"
        );
        assert_eq!(
            extract_token(None, Some("a=1&access_token=q%2Eb"))
                .unwrap()
                .unwrap(),
            "q.b"
        );
        assert_eq!(extract_token(None, None).unwrap(), None);
        assert_eq!(extract_token(Some("Bearer "), None).unwrap(), None);
    }

    #[test]
    fn verification() {
        let now = 1_000_000.0;
        let ok = serde_json::json!({"iss":"APIk","exp":now + 10.0,"nbf":now,"video":{"roomAdmin":true,"room":"a"}});
        let c = verify(&sign(&ok, "HS256", "s3cret"), &keys(), now).unwrap();
        assert!(c.is_admin_of("a") && !c.is_admin_of("b") && !c.is_admin_of(""));

        assert_eq!(
            verify(&sign(&ok, "HS256", "other"), &keys(), now)
                .unwrap_err()
                .to_string(),
            "invalid authorization token: go-jose/go-jose: error in cryptographic primitive"
        );
        assert_eq!(
            verify(&sign(&ok, "HS384", "s3cret"), &keys(), now).unwrap_err(),
            AuthError::Unparseable
        );
        assert_eq!(
            verify("garbage", &keys(), now).unwrap_err(),
            AuthError::Unparseable
        );
        // Within the 60 s leeway, then past it.
        assert!(verify(&sign(&ok, "HS256", "s3cret"), &keys(), now + 69.0).is_ok());
        assert!(
            matches!(verify(&sign(&ok, "HS256", "s3cret"), &keys(), now + 71.0), Err(AuthError::Invalid(m)) if m.contains("expired"))
        );
        assert!(verify(&sign(&ok, "HS256", "s3cret"), &keys(), now - 59.0).is_ok());
        assert!(
            matches!(verify(&sign(&ok, "HS256", "s3cret"), &keys(), now - 61.0), Err(AuthError::Invalid(m)) if m.contains("nbf"))
        );

        let no_exp = serde_json::json!({"iss":"APIk"});
        assert_eq!(
            verify(&sign(&no_exp, "HS256", "s3cret"), &keys(), now).unwrap_err(),
            AuthError::Invalid("exp claim is required")
        );
        let unknown = serde_json::json!({"iss":"APIx","exp":now + 10.0});
        assert_eq!(
            verify(&sign(&unknown, "HS256", "s3cret"), &keys(), now).unwrap_err(),
            AuthError::UnknownKey
        );
        let empty = serde_json::json!({"exp":now + 10.0});
        assert_eq!(
            verify(&sign(&empty, "HS256", "s3cret"), &keys(), now).unwrap_err(),
            AuthError::UnknownKey
        );
    }
}
