//! LiveKit's standard token endpoint (livekit-facts.md §6b): every field optional, a missing
//! identity or room generated, participant grants for that one room.

use std::collections::HashMap;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol::RoomConfiguration;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Limits LiveKit enforces (livekit-facts.md §1.9), checked here so a client learns at once.
pub const MAX_NAME_BYTES: usize = 256;
pub const MAX_METADATA_BYTES: usize = 512 * 1024;
pub const MAX_ATTRIBUTES_BYTES: usize = 64 * 1024;

/// The request body. snake_case is the contract; camelCase aliases cost nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    #[serde(alias = "roomName")]
    pub room_name: Option<String>,
    #[serde(alias = "participantIdentity")]
    pub participant_identity: Option<String>,
    #[serde(alias = "participantName")]
    pub participant_name: Option<String>,
    #[serde(alias = "participantMetadata")]
    pub participant_metadata: Option<String>,
    #[serde(alias = "participantAttributes")]
    pub participant_attributes: Option<HashMap<String, String>>,
    /// pbjson serde: accepts snake_case and camelCase, written as the camelCase `roomConfig`.
    #[serde(alias = "roomConfig")]
    pub room_config: Option<RoomConfiguration>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse<'a> {
    pub server_url: &'a str,
    pub participant_token: &'a str,
}

impl TokenResponse<'_> {
    /// The JSON body, written once into a buffer of the right size (a token is ~0.5 KiB; a
    /// growing default buffer would reallocate several times per request).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.server_url.len() + self.participant_token.len() + 64);
        serde_json::to_writer(&mut out, self).expect("serializing strings cannot fail");
        out
    }
}

/// What minting needs from the current config.
pub struct Signer<'a> {
    pub api_key: &'a str,
    pub api_secret: &'a str,
    pub ttl: Duration,
}

impl TokenRequest {
    pub fn validate(&self) -> Result<()> {
        let names = [
            ("room_name", &self.room_name),
            ("participant_identity", &self.participant_identity),
            ("participant_name", &self.participant_name),
        ];
        for (field, value) in names {
            if value.as_ref().is_some_and(|v| v.len() > MAX_NAME_BYTES) {
                return Err(Error::bad_request(
                    field,
                    format!("{field} is longer than {MAX_NAME_BYTES} bytes"),
                ));
            }
        }
        if self
            .participant_metadata
            .as_ref()
            .is_some_and(|m| m.len() > MAX_METADATA_BYTES)
        {
            return Err(Error::bad_request(
                "participant_metadata",
                format!("participant_metadata is larger than {MAX_METADATA_BYTES} bytes"),
            ));
        }
        if let Some(attrs) = &self.participant_attributes {
            let size: usize = attrs.iter().map(|(k, v)| k.len() + v.len()).sum();
            if size > MAX_ATTRIBUTES_BYTES {
                return Err(Error::bad_request(
                    "participant_attributes",
                    format!(
                        "participant_attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes \
                         (keys and values summed)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Validates, fills in generated names, and signs. Returns the JWT.
    pub fn mint(self, signer: &Signer<'_>) -> Result<String> {
        self.validate()?;
        let room = nonempty(self.room_name).unwrap_or_else(|| generated_name("room-"));
        let identity =
            nonempty(self.participant_identity).unwrap_or_else(|| generated_name("user-"));
        let grants = VideoGrants {
            room_join: true,
            room,
            can_publish: Some(true),
            can_subscribe: Some(true),
            can_publish_data: Some(true),
            ..Default::default()
        };
        let mut token = AccessToken::with_api_key(signer.api_key, signer.api_secret)
            .with_identity(&identity)
            .with_grants(grants)
            .with_ttl(signer.ttl);
        if let Some(name) = self.participant_name.as_deref().filter(|n| !n.is_empty()) {
            token = token.with_name(name);
        }
        if let Some(md) = self
            .participant_metadata
            .as_deref()
            .filter(|m| !m.is_empty())
        {
            token = token.with_metadata(md);
        }
        if let Some(attrs) = self.participant_attributes.filter(|a| !a.is_empty()) {
            token = token.with_attributes(attrs);
        }
        if let Some(rc) = self.room_config {
            token = token.with_room_config(rc);
        }
        token
            .to_jwt()
            .map_err(|e| Error::Internal(format!("signing token: {e}")))
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// `prefix` + 12 random lowercase base36 characters (~62 bits), e.g. `user-k3x9q0a7m2zt`.
pub fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let mut out = String::with_capacity(prefix.len() + bytes.len());
    out.push_str(prefix);
    // 256 % 36 leaves a slight bias, irrelevant for names that only need to be unique.
    out.extend(
        bytes
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::Claims;

    fn signer() -> Signer<'static> {
        Signer {
            api_key: "APIk",
            api_secret: "s3cret-s3cret-s3cret-s3cret-s3cret",
            ttl: Duration::from_secs(600),
        }
    }

    #[test]
    fn empty_request_gets_generated_names_and_participant_grants() {
        let jwt = TokenRequest::default().mint(&signer()).unwrap();
        let c = Claims::from_unverified(&jwt).unwrap();
        assert!(c.sub.starts_with("user-") && c.sub.len() == 17, "{}", c.sub);
        assert!(c.video.room.starts_with("room-"));
        assert!(c.video.room_join && !c.video.room_admin && !c.video.room_create);
        assert_eq!(c.video.can_publish_data, Some(true));
        assert_eq!(c.exp - c.nbf, 600);
        assert_eq!(c.iss, "APIk");
    }

    #[test]
    fn room_config_snake_case_in_camel_case_out() {
        let req: TokenRequest = serde_json::from_str(
            r#"{"room_name":"r","room_config":{"empty_timeout":42,"max_participants":3,
                "agents":[{"agent_name":"bot"}]},"unknown":1}"#,
        )
        .unwrap();
        let jwt = req.mint(&signer()).unwrap();
        let payload = jwt.split('.').nth(1).unwrap();
        use base64::Engine;
        let json: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json["roomConfig"]["emptyTimeout"], 42);
        assert_eq!(json["roomConfig"]["maxParticipants"], 3);
        assert_eq!(json["roomConfig"]["agents"][0]["agentName"], "bot");
    }

    #[test]
    fn limits_name_the_field() {
        let mut req = TokenRequest {
            participant_identity: Some("x".repeat(257)),
            ..Default::default()
        };
        match req.validate().unwrap_err() {
            Error::BadRequest { field, .. } => assert_eq!(field, Some("participant_identity")),
            e => panic!("{e}"),
        }
        req.participant_identity = Some("x".repeat(256));
        assert!(req.validate().is_ok());
        req.participant_attributes = Some([("k".to_string(), "v".repeat(64 * 1024))].into());
        match req.validate().unwrap_err() {
            Error::BadRequest { field, .. } => assert_eq!(field, Some("participant_attributes")),
            e => panic!("{e}"),
        }
    }
}
