//! Webhook verification and the summary fields we index, as livekit-facts.md §4 describes.
//!
//! The verifier is written against the facts rather than an SDK so it can be strict where the
//! SDKs are lax: HS256 only, `exp` required, the secret chosen by `iss` among every key that may
//! sign, and the body digest compared in constant time. `now` is a parameter so the recorded
//! test vectors replay at their own clock.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Clock skew tolerated on `exp` and `nbf`, as LiveKit's own verifier allows.
pub const LEEWAY_S: i64 = 60;

/// Why a webhook was refused. Never carries a secret; the label names a metric too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no Authorization header")]
    MissingAuthorization,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm is not HS256")]
    Algorithm,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("token has no exp")]
    NoExpiry,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("body checksum does not match")]
    Checksum,
}

impl WebhookError {
    pub fn label(self) -> &'static str {
        match self {
            WebhookError::MissingAuthorization => "missing_authorization",
            WebhookError::Malformed => "malformed",
            WebhookError::Algorithm => "algorithm",
            WebhookError::UnknownKey => "unknown_key",
            WebhookError::Signature => "signature",
            WebhookError::NoExpiry => "no_exp",
            WebhookError::Expired => "expired",
            WebhookError::NotYetValid => "not_yet_valid",
            WebhookError::Checksum => "checksum",
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct WebhookClaims {
    #[serde(default)]
    iss: String,
    exp: Option<f64>,
    nbf: Option<f64>,
    #[serde(default)]
    sha256: String,
}

/// Verifies `authorization` (the raw JWT, optionally prefixed `Bearer `) against `body`.
/// Returns the API key that signed it.
pub fn verify<'k>(
    body: &[u8],
    authorization: Option<&str>,
    keys: &'k [(String, String)],
    now_unix: i64,
) -> Result<&'k str, WebhookError> {
    let token = authorization.map(str::trim).filter(|t| !t.is_empty());
    let token = token.ok_or(WebhookError::MissingAuthorization)?;
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WebhookError::Malformed);
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    let header: Header = decode(h64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(WebhookError::Malformed)?;
    if header.alg != "HS256" {
        return Err(WebhookError::Algorithm);
    }
    let claims: WebhookClaims = decode(c64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(WebhookError::Malformed)?;
    let signature = decode(s64).map_err(|_| WebhookError::Malformed)?;
    let (key, secret) = keys
        .iter()
        .find(|(k, _)| !claims.iss.is_empty() && *k == claims.iss)
        .ok_or(WebhookError::UnknownKey)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(c64.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| WebhookError::Signature)?;
    let exp = claims.exp.ok_or(WebhookError::NoExpiry)?;
    if (now_unix as f64) > exp + LEEWAY_S as f64 {
        return Err(WebhookError::Expired);
    }
    if let Some(nbf) = claims.nbf
        && (now_unix as f64) + (LEEWAY_S as f64) < nbf
    {
        return Err(WebhookError::NotYetValid);
    }
    let digest = body_sha256(body);
    if !bool::from(digest.as_bytes().ct_eq(claims.sha256.as_bytes())) {
        return Err(WebhookError::Checksum);
    }
    Ok(key.as_str())
}

/// Standard base64 with padding of SHA-256(body): the `sha256` claim LiveKit writes.
pub fn body_sha256(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// Signs a webhook body exactly as livekit-server does (§4.2): HS256, `iss` = key,
/// `nbf` = `iat` = now, `exp` = now + 5 min, `sha256` claim, no `sub`, no grants.
/// Used by tests and the ingest benchmark.
pub fn sign(body: &[u8], api_key: &str, secret: &str, now_unix: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": api_key,
        "nbf": now_unix,
        "iat": now_unix,
        "exp": now_unix + 300,
        "sha256": body_sha256(body),
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(claims.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{claims}.{sig}")
}

/// The fields of a webhook event we index. Everything is optional (protojson omits zero
/// values); unknown fields are ignored; int64 may arrive as a string or a number.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventSummary {
    pub event: String,
    pub id: String,
    #[serde(deserialize_with = "int64")]
    pub created_at: Option<i64>,
    pub room: Option<RoomInfo>,
    pub participant: Option<ParticipantInfo>,
    pub egress_info: Option<RoomNamed>,
    pub ingress_info: Option<RoomNamed>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoomInfo {
    pub sid: String,
    pub name: String,
    #[serde(deserialize_with = "int64")]
    pub creation_time: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ParticipantInfo {
    pub sid: String,
    pub identity: String,
    /// protojson writes the enum by name (`SIP`, `INGRESS`, `AGENT`, …); a number is accepted.
    pub kind: serde_json::Value,
    #[serde(deserialize_with = "int64")]
    pub joined_at: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoomNamed {
    pub room_name: String,
}

impl ParticipantInfo {
    /// What a session of this participant was, in an operator's words (design §11.2).
    pub fn session_kind(&self) -> &'static str {
        use livekit_protocol::participant_info::Kind;
        let kind = match &self.kind {
            serde_json::Value::String(s) => Kind::from_str_name(s),
            serde_json::Value::Number(n) => n.as_i64().and_then(|n| Kind::try_from(n as i32).ok()),
            _ => None,
        };
        match kind {
            Some(Kind::Sip) => "phone call",
            Some(Kind::Ingress) => "ingress",
            Some(Kind::Agent) => "agent",
            Some(Kind::Egress) => "egress",
            _ => "participant",
        }
    }
}

/// A stored body as `/api/events` serves it: with stream keys, passwords and the key part of
/// stream URLs hidden by the project's one redaction rule (an `ingress_*` event's IngressInfo
/// carries the stream key, an egress's stream URLs theirs). An empty secret hides nothing.
/// `None` when nothing was hidden: the body is then served exactly as LiveKit sent it.
pub fn redacted_body(body: &[u8]) -> Option<String> {
    fn walk(v: serde_json::Value, changed: &mut bool) -> serde_json::Value {
        use hero_livekit_api::redact;
        use serde_json::Value;
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let hide = redact::is_secret_name(&k)
                            && !matches!(&v, Value::Null)
                            && v.as_str() != Some("");
                        if hide {
                            *changed = true;
                            (k, Value::String(redact::REDACTED.into()))
                        } else {
                            (k, walk(v, changed))
                        }
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| walk(v, changed)).collect()),
            Value::String(s) => {
                let shown = redact::url(&s);
                if shown != s {
                    *changed = true;
                }
                Value::String(shown)
            }
            other => other,
        }
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut changed = false;
    let v = walk(v, &mut changed);
    changed.then(|| v.to_string())
}

/// protojson writes int64 as a JSON string; accept a number too.
fn int64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        N(i64),
        F(f64),
        S(String),
    }
    Ok(match Option::<Int>::deserialize(d)? {
        None => None,
        Some(Int::N(n)) => Some(n),
        Some(Int::F(f)) => Some(f as i64),
        Some(Int::S(s)) => s.trim().parse().ok(),
    })
}

impl EventSummary {
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    pub fn room_name(&self) -> Option<&str> {
        let candidates = [
            self.room.as_ref().map(|r| r.name.as_str()),
            self.egress_info.as_ref().map(|e| e.room_name.as_str()),
            self.ingress_info.as_ref().map(|e| e.room_name.as_str()),
        ];
        candidates.into_iter().flatten().find(|s| !s.is_empty())
    }

    pub fn room_sid(&self) -> Option<&str> {
        self.room
            .as_ref()
            .map(|r| r.sid.as_str())
            .filter(|s| !s.is_empty())
    }

    pub fn participant_identity(&self) -> Option<&str> {
        self.participant
            .as_ref()
            .map(|p| p.identity.as_str())
            .filter(|s| !s.is_empty())
    }

    pub fn participant_sid(&self) -> Option<&str> {
        self.participant
            .as_ref()
            .map(|p| p.sid.as_str())
            .filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_livekit_testkit::vectors;

    #[test]
    fn stored_bodies_are_served_without_stream_keys() {
        let ingress = br#"{"event":"ingress_started","ingressInfo":{"ingressId":"IN_1","streamKey":"k3yk3y","url":"rtmp://h:1935/x","roomName":"r"}}"#;
        let shown = redacted_body(ingress).unwrap();
        assert!(
            !shown.contains("k3yk3y") && shown.contains("IN_1"),
            "{shown}"
        );
        let egress = br#"{"event":"egress_started","egressInfo":{"streamResults":[{"url":"rtmp://a.example/live2/yt-key"}]}}"#;
        assert!(!redacted_body(egress).unwrap().contains("yt-key"));
        // Nothing to hide: served exactly as sent.
        assert_eq!(
            redacted_body(br#"{"event":"room_started","room":{"name":"r"}}"#),
            None
        );
    }

    #[test]
    fn every_recorded_vector_is_judged_like_the_official_receiver() {
        let index = vectors::json("webhooks/index.json");
        let keys: Vec<(String, String)> = index["keys"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let cases = index["cases"].as_array().unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for case in cases {
            let body = vectors::read(case["body_file"].as_str().unwrap());
            let auth = case["authorization"].as_str().unwrap();
            let now = case["verify_at_unix"].as_i64().unwrap();
            let got = verify(&body, Some(auth), &keys, now);
            if case["expect"] == "valid" {
                valid += 1;
                assert_eq!(got, Ok(case["api_key"].as_str().unwrap()), "{case}");
                let s = EventSummary::parse(&body).unwrap();
                assert_eq!(s.event, case["event"].as_str().unwrap());
                assert_eq!(s.id, case["id"].as_str().unwrap());
                assert!(s.created_at.is_some());
                // The Bearer prefix is tolerated.
                assert!(verify(&body, Some(&format!("Bearer {auth}")), &keys, now).is_ok());
            } else {
                invalid += 1;
                assert!(got.is_err(), "accepted an invalid vector: {case}");
            }
        }
        assert!(
            valid >= 5 && invalid >= 5,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn own_signer_round_trips_and_checks_each_rule() {
        let keys = vec![
            ("APIa".to_string(), "sa".repeat(20)),
            ("APIb".to_string(), "sb".repeat(20)),
        ];
        let body = br#"{"event":"room_started","id":"EV_1","createdAt":"100"}"#;
        let t = sign(body, "APIb", &keys[1].1, 1000);
        assert_eq!(verify(body, Some(&t), &keys, 1000), Ok("APIb"));
        assert_eq!(verify(body, Some(&t), &keys, 1000 + 300 + 60), Ok("APIb"));
        assert_eq!(
            verify(body, Some(&t), &keys, 1000 + 300 + 61),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            verify(body, Some(&t), &keys, 1000 - 61),
            Err(WebhookError::NotYetValid)
        );
        assert_eq!(
            verify(b"{}", Some(&t), &keys, 1000),
            Err(WebhookError::Checksum)
        );
        assert_eq!(
            verify(body, None, &keys, 1000),
            Err(WebhookError::MissingAuthorization)
        );
        let wrong = sign(body, "APIb", "not-the-secret", 1000);
        assert_eq!(
            verify(body, Some(&wrong), &keys, 1000),
            Err(WebhookError::Signature)
        );
        let unknown = sign(body, "APIc", "whatever", 1000);
        assert_eq!(
            verify(body, Some(&unknown), &keys, 1000),
            Err(WebhookError::UnknownKey)
        );
        assert_eq!(
            verify(body, Some("a.b"), &keys, 1000),
            Err(WebhookError::Malformed)
        );
    }

    #[test]
    fn summary_tolerates_numbers_strings_and_absent_fields() {
        let s = EventSummary::parse(
            br#"{"event":"participant_left","createdAt":12,"x":{"y":1},
            "participant":{"identity":"bob","joinedAt":"7"}}"#,
        )
        .unwrap();
        assert_eq!(s.created_at, Some(12));
        assert_eq!(s.participant.as_ref().unwrap().joined_at, Some(7));
        assert_eq!(s.participant_identity(), Some("bob"));
        assert_eq!(s.room_name(), None);
        let s = EventSummary::parse(br#"{"event":"egress_ended","egressInfo":{"roomName":"r"}}"#)
            .unwrap();
        assert_eq!(s.room_name(), Some("r"));
    }
}
