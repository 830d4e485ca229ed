//! The subset of `livekit.yaml` the stand-in honours (facts §1). Like livekit-server, the file is
//! read once at start; a changed file only takes effect on the next start.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Effective settings after defaults, `key_file` and legacy keys are applied.
#[derive(Debug, Clone)]
pub struct Config {
    /// API key → secret. Every entry is live at once; the token's `iss` picks one.
    pub keys: BTreeMap<String, String>,
    pub room: RoomDefaults,
    pub limits: Limits,
    /// Where webhooks go, when `webhook.urls` is set.
    pub webhook: Option<crate::webhooks::WebhookConfig>,
}

#[derive(Debug, Clone)]
pub struct RoomDefaults {
    /// `room.auto_create`, default true: a join may create the room.
    pub auto_create: bool,
    /// Seconds a room stays open while nobody has joined (default 300).
    pub empty_timeout: u32,
    /// Seconds a room stays open after the last participant left (default 20).
    pub departure_timeout: u32,
    /// 0 = no limit.
    pub max_participants: u32,
    /// When false, MutePublishedTrack with `muted:false` is refused.
    pub enable_remote_unmute: bool,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_metadata_size: usize,
    pub max_attributes_size: usize,
    pub max_room_name_length: usize,
    pub max_participant_identity_length: usize,
    pub max_participant_name_length: usize,
    /// `limit.max_api_request_body_size`: larger Content-Length gets a plain 413.
    pub max_api_request_body_size: usize,
}

impl Default for RoomDefaults {
    fn default() -> Self {
        Self {
            auto_create: true,
            empty_timeout: 300,
            departure_timeout: 20,
            max_participants: 0,
            enable_remote_unmute: false,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_metadata_size: 512 * 1024,
            max_attributes_size: 64 * 1024,
            max_room_name_length: 256,
            max_participant_identity_length: 256,
            max_participant_name_length: 256,
            max_api_request_body_size: 10 * 1024 * 1024,
        }
    }
}

/// The YAML shape. Unknown keys are ignored here: the control plane validates its output against
/// LiveKit's schema itself, and the stand-in only needs the keys that change API behaviour.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    #[serde(default)]
    keys: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    room: RawRoom,
    #[serde(default)]
    limit: RawLimit,
    #[serde(default)]
    webhook: RawWebhook,
}

#[derive(Debug, Default, Deserialize)]
struct RawWebhook {
    api_key: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRoom {
    auto_create: Option<bool>,
    empty_timeout: Option<u32>,
    departure_timeout: Option<u32>,
    max_participants: Option<u32>,
    enable_remote_unmute: Option<bool>,
    // Legacy spellings, copied into `limit.*` when non-zero (facts §1.1).
    max_metadata_size: Option<u64>,
    max_room_name_length: Option<u64>,
    max_participant_identity_length: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct RawLimit {
    max_metadata_size: Option<u64>,
    max_attributes_size: Option<u64>,
    max_room_name_length: Option<u64>,
    max_participant_identity_length: Option<u64>,
    max_participant_name_length: Option<u64>,
    max_api_request_body_size: Option<u64>,
}

impl Config {
    /// Reads and validates `livekit.yaml` the way livekit-server does at startup.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("could not read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig = serde_saphyr::from_str(text)
            .map_err(|e| Error::Config(format!("could not parse config: {e}")))?;

        // key_file replaces the inline keys entirely; the two are never merged (facts §1.8).
        let keys = match &raw.key_file {
            Some(file) if !file.is_empty() => read_key_file(Path::new(file))?,
            _ => string_keys(raw.keys.unwrap_or_default()),
        };
        if keys.is_empty() {
            return Err(Error::Config(
                "one of key-file or keys must be provided in order to support a secure installation"
                    .into(),
            ));
        }

        // livekit-server refuses to start when webhooks are configured with a key it does not
        // have (facts §1.7; the message is LiveKit's, misleading as it is).
        let webhook = if raw.webhook.urls.is_empty() {
            None
        } else {
            let api_key = raw.webhook.api_key.unwrap_or_default();
            let secret = keys
                .get(&api_key)
                .filter(|s| !s.is_empty())
                .cloned()
                .ok_or_else(|| Error::Config("api_key is required to use webhooks".into()))?;
            Some(crate::webhooks::WebhookConfig {
                api_key,
                secret,
                urls: raw.webhook.urls,
            })
        };

        let d = RoomDefaults::default();
        let room = RoomDefaults {
            auto_create: raw.room.auto_create.unwrap_or(d.auto_create),
            empty_timeout: raw.room.empty_timeout.unwrap_or(d.empty_timeout),
            departure_timeout: raw.room.departure_timeout.unwrap_or(d.departure_timeout),
            max_participants: raw.room.max_participants.unwrap_or(d.max_participants),
            enable_remote_unmute: raw
                .room
                .enable_remote_unmute
                .unwrap_or(d.enable_remote_unmute),
        };

        let l = Limits::default();
        let pick = |new: Option<u64>, legacy: Option<u64>, default: usize| -> usize {
            match (legacy.filter(|v| *v > 0), new) {
                (Some(v), _) => v as usize,
                (None, Some(v)) => v as usize,
                (None, None) => default,
            }
        };
        let limits = Limits {
            max_metadata_size: pick(
                raw.limit.max_metadata_size,
                raw.room.max_metadata_size,
                l.max_metadata_size,
            ),
            max_attributes_size: pick(raw.limit.max_attributes_size, None, l.max_attributes_size),
            max_room_name_length: pick(
                raw.limit.max_room_name_length,
                raw.room.max_room_name_length,
                l.max_room_name_length,
            ),
            max_participant_identity_length: pick(
                raw.limit.max_participant_identity_length,
                raw.room.max_participant_identity_length,
                l.max_participant_identity_length,
            ),
            max_participant_name_length: pick(
                raw.limit.max_participant_name_length,
                None,
                l.max_participant_name_length,
            ),
            max_api_request_body_size: pick(
                raw.limit.max_api_request_body_size,
                None,
                l.max_api_request_body_size,
            ),
        };
        Ok(Config {
            keys,
            room,
            limits,
            webhook,
        })
    }
}

/// livekit-server decodes `keys` and `key_file` into a Go `map[string]string`, which turns any YAML
/// scalar into its text (only the `LIVEKIT_KEYS` env path drops non-strings). Nulls and nested
/// values cannot be secrets.
fn string_keys(raw: BTreeMap<String, serde_json::Value>) -> BTreeMap<String, String> {
    raw.into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect()
}

fn read_key_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    if meta.permissions().mode() & 0o007 != 0 {
        return Err(Error::Config(
            "key file others permissions must be set to 0".into(),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let raw: BTreeMap<String, serde_json::Value> = serde_saphyr::from_str(&text).map_err(|e| {
        Error::Config(format!(
            "Could not parse keys, it needs to be exactly, \"key: secret\", including the space: {e}"
        ))
    })?;
    Ok(string_keys(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_keys() {
        let c = Config::parse("port: 7880\nkeys:\n  APIa: secret-a\n  APIb: '123'\n").unwrap();
        assert_eq!(c.keys["APIb"], "123");
        assert_eq!(c.room.empty_timeout, 300);
        assert_eq!(c.room.departure_timeout, 20);
        assert!(!c.room.enable_remote_unmute);
        assert_eq!(c.limits.max_metadata_size, 512 * 1024);
    }

    #[test]
    fn webhooks_need_a_configured_key() {
        let base = "keys:\n  APIa: secret-a\nwebhook:\n  urls: [http://127.0.0.1:8081/webhook]\n";
        assert!(Config::parse(&format!("{base}  api_key: APIa\n")).is_ok());
        for bad in ["", "  api_key: APIgone\n"] {
            let err = Config::parse(&format!("{base}{bad}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("api_key is required to use webhooks"), "{err}");
        }
        // Without URLs nothing is sent, so no key is needed.
        assert!(Config::parse("keys:\n  APIa: s\nwebhook:\n  api_key: APIx\n").is_ok());
    }

    #[test]
    fn no_keys_fails() {
        let err = Config::parse("port: 7880\n").unwrap_err().to_string();
        assert!(
            err.contains("one of key-file or keys must be provided"),
            "{err}"
        );
    }

    #[test]
    fn key_file_replaces_keys_and_needs_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let kf = dir.path().join("keys.yaml");
        std::fs::write(&kf, "APIfile: file-secret\n").unwrap();
        std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let yaml = format!("keys:\n  APIinline: s\nkey_file: {}\n", kf.display());
        let err = Config::parse(&yaml).unwrap_err().to_string();
        assert!(err.contains("others permissions must be set to 0"), "{err}");
        std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o640)).unwrap();
        let c = Config::parse(&yaml).unwrap();
        assert_eq!(c.keys.keys().collect::<Vec<_>>(), vec!["APIfile"]);
    }
}
