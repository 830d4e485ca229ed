//! Renders `livekit.yaml` and `backend.env` from typed structs (design §4).
//!
//! Renders are pure functions of the config and the key rows, so an unchanged deployment
//! renders byte-identical files and nothing is rewritten at boot.

use std::collections::BTreeMap;

use hero_livekit_api::env_file::BackendEnv;
use hero_livekit_api::paths;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::keys::KeyRow;
use crate::livekit_schema;
use crate::secrets::Secret;

#[derive(Serialize)]
struct LiveKitYaml {
    port: u16,
    rtc: Rtc,
    keys: BTreeMap<String, String>,
    webhook: Webhook,
    room: Room,
    logging: Logging,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<Redis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prometheus: Option<Prometheus>,
}

#[derive(Serialize)]
struct Rtc {
    tcp_port: u16,
    /// A scalar: LiveKit silently ignores a `{start, end}` map here.
    udp_port: u16,
    /// false: STUN discovery would override `node_ip` and fail startup where STUN is blocked.
    use_external_ip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_ip: Option<String>,
}

#[derive(Serialize)]
struct Webhook {
    api_key: String,
    urls: Vec<String>,
}

#[derive(Serialize)]
struct Room {
    auto_create: bool,
    empty_timeout: u32,
    departure_timeout: u32,
}

#[derive(Serialize)]
struct Logging {
    level: String,
}

#[derive(Serialize)]
struct Redis {
    address: String,
}

#[derive(Serialize)]
struct Prometheus {
    port: u16,
}

pub const SFU_PORT: u16 = 7880;
pub const SFU_RTC_TCP_PORT: u16 = 7881;
pub const SFU_RTC_UDP_PORT: u16 = 7882;
/// Prefix of the config canary key (design §8); never used to sign anything but probes.
pub const CANARY_PREFIX: &str = "APIcanary";

/// Settings the control plane owns: an override may not replace them.
const MANAGED: &[&str] = &["keys", "key_file", "webhook.api_key", "webhook.urls"];

/// The rendered files.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub livekit_yaml: String,
    pub backend_env: BackendEnv,
    /// The canary key in this render's `keys`.
    pub canary_key: String,
}

/// The key that signs webhooks: a pending key as soon as it exists (it is in `keys`, so the SFU
/// can use it once restarted), else the active key.
pub fn webhook_key(keys: &[KeyRow]) -> Option<&KeyRow> {
    use hero_livekit_api::types::KeyState::*;
    keys.iter()
        .rfind(|k| k.state == Pending)
        .or_else(|| keys.iter().rfind(|k| k.state == Active))
}

fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>, prefix: &str) -> Result<()> {
    for (k, v) in over {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if MANAGED.contains(&path.as_str()) {
            return Err(Error::Config {
                setting: format!("livekit_overrides.{path}"),
                reason: "is managed by hero_livekit_server and cannot be overridden".into(),
            });
        }
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o, &path)?,
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

fn to_yaml(doc: &Value) -> Result<String> {
    serde_saphyr::to_string(doc).map_err(|e| Error::Internal(format!("cannot render YAML: {e}")))
}

/// Renders livekit.yaml: typed base, overrides merged, checked against LiveKit's schema, and a
/// canary key named after the hash of everything else in the file.
pub fn livekit_yaml(
    config: &Config,
    keys: &[KeyRow],
    canary_secret: &Secret,
) -> Result<(String, String)> {
    let signer =
        webhook_key(keys).ok_or_else(|| Error::Storage("no key can sign webhooks".into()))?;
    let base = LiveKitYaml {
        port: SFU_PORT,
        rtc: Rtc {
            tcp_port: SFU_RTC_TCP_PORT,
            udp_port: SFU_RTC_UDP_PORT,
            use_external_ip: false,
            node_ip: config.node_ip.clone(),
        },
        keys: keys
            .iter()
            .filter(|k| k.in_livekit_yaml())
            .map(|k| (k.api_key.clone(), k.secret.expose().to_string()))
            .collect(),
        webhook: Webhook {
            api_key: signer.api_key.clone(),
            urls: vec![config.webhook_url.clone()],
        },
        room: Room {
            auto_create: true,
            empty_timeout: 300,
            departure_timeout: 20,
        },
        logging: Logging {
            level: config.sfu_log_level.clone(),
        },
        redis: config
            .redis_address
            .clone()
            .map(|address| Redis { address }),
        prometheus: config.sfu_prometheus_port.map(|port| Prometheus { port }),
    };
    let mut doc = serde_json::to_value(&base).map_err(|e| Error::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut doc {
        merge(map, &config.livekit_overrides, "")?;
    }
    livekit_schema::check(&doc).map_err(|reason| Error::Config {
        setting: "livekit_overrides".into(),
        reason,
    })?;

    let digest = Sha256::digest(to_yaml(&doc)?.as_bytes());
    let canary = format!("{CANARY_PREFIX}{}", &hex::encode(digest)[..12]);
    doc["keys"][&canary] = Value::String(canary_secret.expose().to_string());

    let header = format!(
        "# Generated by hero_livekit_server; edits are overwritten at its next start.\n\
         # Source of truth: {} (keys) and the server's config; see `hero_livekit config files`.\n\
         # The {CANARY_PREFIX}* key lets the control plane see whether livekit-server runs this file.\n",
        config.path(paths::SERVER_DB).display()
    );
    Ok((format!("{header}{}", to_yaml(&doc)?), canary))
}

/// Renders backend.env.
pub fn backend_env(
    config: &Config,
    keys: &[KeyRow],
    api_token: &Secret,
    endpoint_token: &Secret,
) -> Result<BackendEnv> {
    use hero_livekit_api::types::KeyState::Active;
    let signer = keys
        .iter()
        .rfind(|k| k.state == Active)
        .ok_or_else(|| Error::Storage("no active key".into()))?;
    Ok(BackendEnv {
        livekit_url: config.livekit_url.clone(),
        livekit_public_url: config.public_url.clone(),
        livekit_api_key: signer.api_key.clone(),
        livekit_api_secret: signer.secret.expose().to_string(),
        livekit_webhook_keys: keys
            .iter()
            .filter(|k| k.may_sign_webhooks())
            .map(|k| (k.api_key.clone(), k.secret.expose().to_string()))
            .collect(),
        sqlite_path: config.path(paths::BACKEND_DB).display().to_string(),
        port: config.backend_port,
        bind: config.backend_bind.clone(),
        backend_api_token: api_token.expose().to_string(),
        token_endpoint_token: endpoint_token.expose().to_string(),
        token_ttl_s: config.token_ttl.as_secs(),
        token_max_ttl_s: config.token_max_ttl.as_secs(),
        cors_allowed_origins: config.cors_allowed_origins.clone(),
    })
}

/// Replaces every secret in a rendered livekit.yaml (key secrets, Redis/Prometheus/TURN
/// passwords from overrides) with `<redacted>`.
pub fn redact_livekit_yaml(text: &str) -> String {
    let mut in_keys = false;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let indented = line.len() != trimmed.len();
            if !indented {
                in_keys = trimmed.starts_with("keys:");
                return line.to_string();
            }
            let secret_field = ["password:", "secret:", "credential:", "sentinel_password:"]
                .iter()
                .any(|f| trimmed.starts_with(f));
            if (in_keys || secret_field)
                && let Some((k, _)) = line.split_once(": ")
            {
                return format!("{k}: <redacted>");
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
