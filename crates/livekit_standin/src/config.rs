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
    /// `redis:`, when it names a server (scale facts §1.1): the node then joins the fleet.
    pub redis: Option<RedisConfig>,
    /// `rtc.node_ip`: the IP the node registers (required in Redis mode).
    pub node_ip: Option<String>,
    /// Top-level `region:`.
    pub region: String,
    /// `node_stats.stats_update_interval` (default 2 s): how often the `nodes` entry is rewritten.
    pub stats_update_interval: std::time::Duration,
    /// livekit.yaml's `ingress:` block (side-services facts §2.4).
    pub ingress: IngressUrls,
}

/// `ingress.rtmp_base_url` / `ingress.whip_base_url`; empty when missing, as in LiveKit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressUrls {
    #[serde(default)]
    pub rtmp_base_url: String,
    #[serde(default)]
    pub whip_base_url: String,
}

/// The `redis:` block with LiveKit's keys (protocol `redis/redis.go`). Unknown keys are refused
/// like livekit-server's strict config parser does; a wrong type fails the parse.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub db: i64,
    #[serde(default)]
    pub use_tls: bool,
    #[serde(default)]
    pub tls: Option<RedisTls>,
    #[serde(default)]
    pub sentinel_master_name: String,
    #[serde(default)]
    pub sentinel_username: String,
    #[serde(default)]
    pub sentinel_password: String,
    #[serde(default)]
    pub sentinel_addresses: Vec<String>,
    #[serde(default)]
    pub cluster_addresses: Vec<String>,
    /// Milliseconds, as LiveKit reads them.
    #[serde(default)]
    pub dial_timeout: u64,
    #[serde(default)]
    pub read_timeout: u64,
    #[serde(default)]
    pub write_timeout: u64,
    #[serde(default)]
    pub max_redirects: Option<i64>,
    /// A Go duration (`5s`, or nanoseconds).
    #[serde(default)]
    pub pool_timeout: Option<serde_json::Value>,
    #[serde(default)]
    pub pool_size: i64,
}

/// Never prints the passwords.
impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("address", &self.address)
            .field("db", &self.db)
            .field("sentinel_addresses", &self.sentinel_addresses)
            .field("cluster_addresses", &self.cluster_addresses)
            .finish_non_exhaustive()
    }
}

/// xtls.Config, as the `tls:` key of the redis block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTls {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub server_name: String,
    #[serde(default)]
    pub ca_cert_file: String,
    #[serde(default)]
    pub client_cert_file: String,
    #[serde(default)]
    pub client_key_file: String,
}

impl RedisConfig {
    /// `IsConfigured`: an address, sentinel addresses or cluster addresses.
    fn is_configured(&self) -> bool {
        !self.address.is_empty()
            || !self.sentinel_addresses.is_empty()
            || !self.cluster_addresses.is_empty()
    }
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
    #[serde(default)]
    redis: Option<RedisConfig>,
    #[serde(default)]
    rtc: RawRtc,
    #[serde(default)]
    region: String,
    #[serde(default)]
    node_stats: RawNodeStats,
    #[serde(default)]
    ingress: IngressUrls,
}

#[derive(Debug, Default, Deserialize)]
struct RawRtc {
    #[serde(default)]
    node_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawNodeStats {
    #[serde(default)]
    stats_update_interval: Option<serde_json::Value>,
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
        let redis = raw.redis.filter(RedisConfig::is_configured);
        if let Some(r) = &redis {
            check_redis_mode(r)?;
        }
        let node_ip = raw.rtc.node_ip.filter(|ip| !ip.is_empty());
        if let Some(ip) = &node_ip
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return Err(Error::Config(format!(
                "rtc.node_ip: invalid IP address {ip:?}"
            )));
        }
        // NewLocalNode refuses an empty node IP; only a node that registers itself needs it.
        if redis.is_some() && node_ip.is_none() {
            return Err(Error::Config("ip address is required and not set".into()));
        }
        let stats_update_interval = match raw.node_stats.stats_update_interval {
            None => std::time::Duration::from_secs(2),
            Some(v) => go_duration(&v).ok_or_else(|| {
                Error::Config(format!(
                    "node_stats.stats_update_interval: invalid duration {v}"
                ))
            })?,
        };
        if stats_update_interval.is_zero() {
            return Err(Error::Config(
                "node_stats.stats_update_interval must be positive".into(),
            ));
        }
        Ok(Config {
            keys,
            room,
            limits,
            webhook,
            redis,
            node_ip,
            region: raw.region,
            stats_update_interval,
            ingress: raw.ingress,
        })
    }
}

/// The stand-in's Redis client speaks plain TCP to one server. Sentinel, cluster and TLS are valid
/// LiveKit settings it cannot emulate; it says so instead of connecting somewhere else.
fn check_redis_mode(r: &RedisConfig) -> Result<()> {
    let unsupported = if !r.sentinel_addresses.is_empty() {
        Some("redis.sentinel_addresses")
    } else if !r.cluster_addresses.is_empty() {
        Some("redis.cluster_addresses")
    } else if r.use_tls || r.tls.as_ref().is_some_and(|t| t.enabled) {
        Some("redis TLS")
    } else {
        None
    };
    if let Some(what) = unsupported {
        return Err(Error::Config(format!(
            "{what} is valid for livekit-server but not emulated by livekit-standin (plain redis.address only)"
        )));
    }
    if let Some(v) = &r.pool_timeout
        && go_duration(v).is_none()
    {
        return Err(Error::Config(format!(
            "redis.pool_timeout: invalid duration {v}"
        )));
    }
    Ok(())
}

/// A Go `time.Duration` as yaml.v3 reads it: an integer (nanoseconds) or a string like `2s`,
/// `500ms`, `1m30s`.
pub(crate) fn go_duration(v: &serde_json::Value) -> Option<std::time::Duration> {
    use std::time::Duration;
    match v {
        serde_json::Value::Number(n) => n.as_u64().map(Duration::from_nanos),
        serde_json::Value::String(s) => {
            let mut rest = s.trim();
            if rest == "0" {
                return Some(Duration::ZERO);
            }
            let mut total = 0f64;
            if rest.is_empty() {
                return None;
            }
            while !rest.is_empty() {
                let num_end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                let value: f64 = rest[..num_end].parse().ok()?;
                rest = &rest[num_end..];
                let unit_end = rest
                    .find(|c: char| c.is_ascii_digit() || c == '.')
                    .unwrap_or(rest.len());
                let nanos = match &rest[..unit_end] {
                    "ns" => 1.0,
                    "us" | "µs" => 1e3,
                    "ms" => 1e6,
                    "s" => 1e9,
                    "m" => 60e9,
                    "h" => 3600e9,
                    _ => return None,
                };
                total += value * nanos;
                rest = &rest[unit_end..];
            }
            Some(Duration::from_nanos(total as u64))
        }
        _ => None,
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
    fn redis_block_as_livekit_reads_it() {
        let base = "keys:\n  APIa: s\n";
        // No address: Redis is not configured, whatever else the block says.
        let c = Config::parse(&format!("{base}redis:\n  db: 3\n")).unwrap();
        assert!(c.redis.is_none());
        let err = Config::parse(&format!("{base}redis:\n  address: 127.0.0.1:6379\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "ip address is required and not set");
        let c = Config::parse(&format!(
            "{base}region: eu\nrtc:\n  node_ip: 127.0.0.2\nnode_stats:\n  stats_update_interval: 500ms\n\
             redis:\n  address: 127.0.0.1:6379\n  username: u\n  password: hunter2\n  db: 2\n  \
             dial_timeout: 2000\n  read_timeout: 1000\n  write_timeout: 1000\n  pool_size: 4\n  \
             pool_timeout: 3s\n  max_redirects: 2\n"
        ))
        .unwrap();
        let r = c.redis.as_ref().unwrap();
        assert_eq!((r.address.as_str(), r.db), ("127.0.0.1:6379", 2));
        assert_eq!(
            c.stats_update_interval,
            std::time::Duration::from_millis(500)
        );
        assert_eq!(
            (c.node_ip.as_deref(), c.region.as_str()),
            (Some("127.0.0.2"), "eu")
        );
        assert!(!format!("{r:?}").contains("hunter2"));
        for bad in ["  adress: x\n", "  db: two\n"] {
            assert!(
                Config::parse(&format!(
                    "{base}rtc:\n  node_ip: 127.0.0.2\nredis:\n  address: a:1\n{bad}"
                ))
                .is_err(),
                "{bad}"
            );
        }
        let err = Config::parse(&format!(
            "{base}rtc:\n  node_ip: 127.0.0.2\nredis:\n  cluster_addresses: [a:1]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("not emulated"), "{err}");
    }

    #[test]
    fn go_durations() {
        let d = |s: &str| go_duration(&serde_json::json!(s));
        assert_eq!(d("2s"), Some(std::time::Duration::from_secs(2)));
        assert_eq!(d("1m30s"), Some(std::time::Duration::from_secs(90)));
        assert_eq!(d("1.5s"), Some(std::time::Duration::from_millis(1500)));
        assert_eq!(d("2"), None);
        assert_eq!(
            go_duration(&serde_json::json!(1_000_000)),
            Some(std::time::Duration::from_millis(1))
        );
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
