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
use crate::config::{Redis, RedisBlock, SENTINEL_TIMEOUT_MS};
use crate::error::{Error, Result};
use crate::keys::{self, KeyRow};
use crate::livekit_schema;
use crate::secrets::Secret;

#[derive(Serialize)]
struct LiveKitYamlDoc {
    port: u16,
    rtc: Rtc,
    keys: BTreeMap<String, String>,
    webhook: Webhook,
    room: Room,
    logging: Logging,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<RedisBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prometheus: Option<Prometheus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    turn: Option<crate::public::livekit::Turn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress: Option<IngressUrls>,
}

/// livekit.yaml's `ingress:`: where clients publish, copied verbatim into every IngressInfo
/// (side-services facts §2.4); from the same `[ingress]` value as ingress.yaml's ports.
#[derive(Serialize)]
struct IngressUrls {
    #[serde(skip_serializing_if = "Option::is_none")]
    rtmp_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    whip_base_url: Option<String>,
}

#[derive(Serialize)]
struct Rtc {
    tcp_port: u16,
    /// A scalar: LiveKit silently ignores a `{start, end}` map here.
    #[serde(skip_serializing_if = "Option::is_none")]
    udp_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_range_start: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_range_end: Option<u16>,
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
struct Prometheus {
    port: u16,
}

pub const SFU_RTC_TCP_PORT: u16 = 7881;
pub const SFU_RTC_UDP_PORT: u16 = 7882;
/// Prefix of the config canary key (design §8); never used to sign anything but probes.
pub const CANARY_PREFIX: &str = "APIcanary";

/// Settings the control plane owns: an override may not replace them. Redis's connection is
/// `[redis]`'s (the control plane reads the fleet from it and renders it into every file), so
/// an override may tune the client (`pool_size`, `tls`…) but not point it elsewhere.
const MANAGED: &[(&str, &str)] = &[
    (
        "keys",
        "keys are managed with keys.rotate, keys.import and keys.revoke",
    ),
    (
        "key_file",
        "keys are managed with keys.rotate, keys.import and keys.revoke",
    ),
    (
        "webhook.api_key",
        "the webhook key follows the key lifecycle",
    ),
    ("webhook.urls", "set webhook_url"),
    ("port", "set sfu_port"),
    ("redis.address", "set [redis]"),
    ("redis.username", "set [redis]"),
    ("redis.password", "set [redis]"),
    ("redis.db", "set [redis]"),
    ("redis.use_tls", "set [redis]"),
    ("redis.sentinel_master_name", "set [redis]"),
    ("redis.sentinel_addresses", "set [redis]"),
    ("redis.sentinel_username", "set [redis]"),
    ("redis.sentinel_password", "set [redis]"),
    (
        "redis.cluster_addresses",
        "Redis Cluster is not supported (LiveKit's cluster mode fails on multi-key commands)",
    ),
];

fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>, prefix: &str) -> Result<()> {
    for (k, v) in over {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some((_, hint)) = MANAGED.iter().find(|(m, _)| *m == path) {
            return Err(Error::Config {
                setting: format!("livekit_overrides.{path}"),
                reason: format!(
                    "is managed by hero_livekit_server and cannot be overridden ({hint})"
                ),
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

/// Keys that may differ between the nodes of one fleet (scale facts §1.6): each node's own IP,
/// region, binds, metrics port and TURN certificate. Everything else is the cluster part,
/// which must be identical on every node.
const NODE_SPECIFIC: &[&str] = &[
    "rtc.node_ip",
    "rtc.use_external_ip",
    "rtc.interfaces",
    "rtc.ips",
    "region",
    "bind_addresses",
    "prometheus",
    "turn.domain",
    "turn.cert_file",
    "turn.key_file",
];

/// A rendered livekit.yaml and its two canaries (design §8): `canary` is named after the hash
/// of the whole file (accepted only by an SFU that runs exactly this file), `cluster_canary`
/// after the hash of the cluster part (accepted by every node whose cluster part matches, each
/// with its own node settings). Both share the canary secret.
#[derive(Debug, Clone)]
pub struct LiveKitYaml {
    pub text: String,
    pub canary: String,
    pub cluster_canary: String,
    /// SHA-256 of the cluster part as rendered, for comparing instances.
    pub cluster_sha256: String,
}

/// The document without its node-specific keys.
fn cluster_part(doc: &Value) -> Value {
    let mut c = doc.clone();
    for path in NODE_SPECIFIC {
        match path.split_once('.') {
            Some((table, key)) => {
                if let Some(Value::Object(t)) = c.get_mut(table) {
                    t.remove(key);
                }
            }
            None => {
                if let Value::Object(m) = &mut c {
                    m.remove(*path);
                }
            }
        }
    }
    c
}

/// Renders livekit.yaml: typed base, overrides merged, checked against LiveKit's schema, and the
/// canary keys named after hashes of the rest of the file.
pub fn livekit_yaml(
    config: &Config,
    keys: &[KeyRow],
    canary_secret: &Secret,
) -> Result<LiveKitYaml> {
    let signer = keys::webhook_signer(keys)?;
    let public_range = config
        .public
        .as_ref()
        .map(crate::public::livekit::port_range);
    let base = LiveKitYamlDoc {
        port: config.sfu_port,
        rtc: Rtc {
            tcp_port: SFU_RTC_TCP_PORT,
            udp_port: public_range.is_none().then_some(SFU_RTC_UDP_PORT),
            port_range_start: public_range.map(|r| r.0),
            port_range_end: public_range.map(|r| r.1),
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
        redis: config.redis.as_ref().map(Redis::block),
        prometheus: config.sfu_prometheus_port.map(|port| Prometheus { port }),
        turn: config
            .public
            .as_ref()
            .map(|p| crate::public::livekit::turn(p, &config.home)),
        ingress: config.ingress.enabled.then(|| IngressUrls {
            rtmp_base_url: config.ingress.rtmp_base_url(),
            whip_base_url: config.ingress.whip_base_url(),
        }),
    };
    let mut doc = serde_json::to_value(&base).map_err(|e| Error::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut doc {
        merge(map, &config.livekit_overrides, "")?;
    }
    if config.redis.as_ref().is_some_and(Redis::is_sentinel) {
        for t in ["read_timeout", "write_timeout"] {
            if let Some(ms) = doc["redis"][t]
                .as_u64()
                .filter(|ms| *ms < SENTINEL_TIMEOUT_MS)
            {
                return Err(Error::Config {
                    setting: format!("livekit_overrides.redis.{t}"),
                    reason: format!(
                        "{ms} ms is below {SENTINEL_TIMEOUT_MS} ms: with Sentinel, short timeouts make \
                         healthy nodes look dead whenever Redis stalls"
                    ),
                });
            }
        }
    }
    // STUN discovery overrides node_ip and fails where STUN is blocked (production facts §2.4).
    if doc["rtc"]["use_external_ip"] == Value::Bool(true) && !doc["rtc"]["node_ip"].is_null() {
        return Err(Error::Config {
            setting: "livekit_overrides.rtc.use_external_ip".into(),
            reason: "true would make LiveKit ignore node_ip (it discovers its IP over STUN and \
                     fails to start where STUN is blocked): leave it false with node_ip set"
                .into(),
        });
    }
    livekit_schema::check(&doc).map_err(|reason| Error::Config {
        setting: "livekit_overrides".into(),
        reason,
    })?;

    let digest = Sha256::digest(to_yaml(&doc)?.as_bytes());
    let canary = format!("{CANARY_PREFIX}{}", &hex::encode(digest)[..12]);
    let cluster_digest = hex::encode(Sha256::digest(to_yaml(&cluster_part(&doc))?.as_bytes()));
    let cluster_canary = format!("{CANARY_PREFIX}C{}", &cluster_digest[..12]);
    doc["keys"][&canary] = Value::String(canary_secret.expose().to_string());
    doc["keys"][&cluster_canary] = Value::String(canary_secret.expose().to_string());

    let header = format!(
        "# Generated by hero_livekit_server; edits are overwritten at its next start.\n\
         # Source of truth: {} (keys) and the server's config; see `hero_livekit config files`.\n\
         # The {CANARY_PREFIX}* key lets the control plane see whether livekit-server runs this file.\n",
        config.path(paths::SERVER_DB).display()
    );
    Ok(LiveKitYaml {
        text: format!("{header}{}", to_yaml(&doc)?),
        canary,
        cluster_canary,
        cluster_sha256: cluster_digest,
    })
}

/// Renders backend.env.
pub fn backend_env(
    config: &Config,
    keys: &[KeyRow],
    api_token: &Secret,
    endpoint_token: &Secret,
) -> Result<BackendEnv> {
    let signer = keys::signer(keys)?;
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
        database_url: config.backend_database_url.expose().to_string(),
        port: config.backend_port,
        bind: config.backend_bind.clone(),
        backend_api_token: api_token.expose().to_string(),
        token_endpoint_token: endpoint_token.expose().to_string(),
        token_ttl_s: config.token_ttl.as_secs(),
        token_max_ttl_s: config.token_max_ttl.as_secs(),
        cors_allowed_origins: config.cors_allowed_origins.clone(),
    })
}
