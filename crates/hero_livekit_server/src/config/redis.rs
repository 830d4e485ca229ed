//! `[redis]`: the one Redis every LiveKit node shares (rooms, routing, the node registry and the
//! RPC bus live there; egress, ingress and SIP refuse to work without it). One typed value
//! renders livekit.yaml's `redis:` block — and later every side service's — and is what the
//! control plane itself reads the fleet from, so they can never disagree about Redis.

use clap::Args;
use serde::{Deserialize, Serialize};

use super::invalid;
use crate::error::Result;
use crate::secrets::Secret;

/// Read and write timeouts rendered in Sentinel mode: LiveKit's 200 ms default made healthy
/// nodes look dead during Redis stalls in the field (scale facts §3).
pub const SENTINEL_TIMEOUT_MS: u64 = 1000;

/// The `[redis]` table and its flags (common ones) as given; see [`Redis`] for the checked value.
#[derive(Clone, Default, Args, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Redis for multi-node LiveKit and its side services (`redis.address`), host:port
    #[arg(long = "redis-address", env = "HERO_LIVEKIT_REDIS_ADDRESS")]
    pub address: Option<String>,
    /// Redis ACL user name
    #[arg(long = "redis-username", env = "HERO_LIVEKIT_REDIS_USERNAME")]
    pub username: Option<String>,
    /// Redis password (a secret: never shown)
    #[arg(long = "redis-password", env = "HERO_LIVEKIT_REDIS_PASSWORD")]
    pub password: Option<String>,
    /// Redis database number [default: 0]
    #[arg(long = "redis-db", env = "HERO_LIVEKIT_REDIS_DB")]
    pub db: Option<u32>,
    /// Connect to Redis over TLS
    #[arg(long = "redis-use-tls", env = "HERO_LIVEKIT_REDIS_USE_TLS")]
    pub use_tls: Option<bool>,
    /// Sentinel mode: the master's name
    #[arg(skip)]
    pub sentinel_master_name: Option<String>,
    /// Sentinel mode: the sentinels, host:port each
    #[arg(skip)]
    pub sentinel_addresses: Option<Vec<String>>,
    #[arg(skip)]
    pub sentinel_username: Option<String>,
    #[arg(skip)]
    pub sentinel_password: Option<String>,
    /// Refused with the reason: LiveKit's Redis Cluster mode fails on multi-key commands.
    #[arg(skip)]
    pub cluster_addresses: Option<Vec<String>>,
}

/// The Redis every node shares, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redis {
    /// host:port (simple mode); unset in Sentinel mode.
    pub address: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub db: u32,
    pub use_tls: bool,
    pub sentinel_master_name: Option<String>,
    pub sentinel_addresses: Vec<String>,
    pub sentinel_username: Option<String>,
    pub sentinel_password: Option<Secret>,
}

fn host_port(setting: &str, addr: &str) -> Result<()> {
    let ok = addr
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
    if !ok {
        return Err(invalid(setting, format!("{addr:?} is not host:port")));
    }
    Ok(())
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

impl RedisSettings {
    /// Checks the table. `None` when Redis is not configured (single node, the default).
    pub fn resolve(self) -> Result<Option<Redis>> {
        if self
            .cluster_addresses
            .as_ref()
            .is_some_and(|c| !c.is_empty())
        {
            return Err(invalid(
                "redis.cluster_addresses",
                "Redis Cluster is not supported: LiveKit's cluster mode fails on multi-key \
                 commands (CROSSSLOT errors when deleting rooms, SIP and ingress); use a \
                 standalone Redis (`address`) or Sentinel (`sentinel_master_name` + \
                 `sentinel_addresses`)",
            ));
        }
        let address = nonempty(self.address);
        let sentinels = self.sentinel_addresses.unwrap_or_default();
        let master = nonempty(self.sentinel_master_name);
        if address.is_none() && sentinels.is_empty() {
            let stray = [
                ("redis.password", self.password.is_some()),
                ("redis.username", self.username.is_some()),
                ("redis.db", self.db.is_some()),
                ("redis.sentinel_master_name", master.is_some()),
            ];
            if let Some((setting, _)) = stray.iter().find(|(_, set)| *set) {
                return Err(invalid(
                    setting,
                    "is set but Redis is not: set redis.address (or sentinel_addresses)",
                ));
            }
            return Ok(None);
        }
        if let Some(a) = &address {
            host_port("redis.address", a)?;
        }
        for s in &sentinels {
            host_port("redis.sentinel_addresses", s)?;
        }
        if !sentinels.is_empty() && master.is_none() {
            return Err(invalid(
                "redis.sentinel_master_name",
                "is required with sentinel_addresses",
            ));
        }
        if sentinels.is_empty() && master.is_some() {
            return Err(invalid(
                "redis.sentinel_addresses",
                "is required with sentinel_master_name",
            ));
        }
        if address.is_some() && !sentinels.is_empty() {
            return Err(invalid(
                "redis.address",
                "set either address (one Redis) or sentinel_addresses (Sentinel), not both: \
                 LiveKit would silently use the sentinels",
            ));
        }
        Ok(Some(Redis {
            address,
            username: nonempty(self.username),
            password: nonempty(self.password).map(Secret::new),
            db: self.db.unwrap_or(0),
            use_tls: self.use_tls.unwrap_or(false),
            sentinel_master_name: master,
            sentinel_addresses: sentinels,
            sentinel_username: nonempty(self.sentinel_username),
            sentinel_password: nonempty(self.sentinel_password).map(Secret::new),
        }))
    }
}

/// The `redis:` block as LiveKit's `RedisConfig` reads it (protocol `redis/redis.go`): the
/// same block goes into livekit.yaml and every side service's file.
#[derive(Clone, PartialEq, Serialize)]
pub struct RedisBlock {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub db: u32,
    /// `use_tls` is marked deprecated in favour of `tls:` but read by every version, old
    /// side services included, with the same effect (TLS 1.2+, system roots).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub use_tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentinel_master_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentinel_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentinel_password: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sentinel_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<u64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Redis {
    pub fn is_sentinel(&self) -> bool {
        !self.sentinel_addresses.is_empty()
    }

    /// The block every rendered file carries (secrets included: files are 0600).
    pub fn block(&self) -> RedisBlock {
        let sentinel = self.is_sentinel();
        RedisBlock {
            address: self.address.clone(),
            username: self.username.clone(),
            password: self.password.as_ref().map(|s| s.expose().to_string()),
            db: self.db,
            use_tls: self.use_tls,
            sentinel_master_name: self.sentinel_master_name.clone(),
            sentinel_username: self.sentinel_username.clone(),
            sentinel_password: self
                .sentinel_password
                .as_ref()
                .map(|s| s.expose().to_string()),
            sentinel_addresses: self.sentinel_addresses.clone(),
            read_timeout: sentinel.then_some(SENTINEL_TIMEOUT_MS),
            write_timeout: sentinel.then_some(SENTINEL_TIMEOUT_MS),
        }
    }

    /// Where the control plane's own client connects, for messages (never a password).
    pub fn describe(&self) -> String {
        match &self.address {
            Some(a) => a.clone(),
            None => format!(
                "sentinel {} via {}",
                self.sentinel_master_name.as_deref().unwrap_or("?"),
                self.sentinel_addresses.join(",")
            ),
        }
    }
}

hero_livekit_api::redacted_debug!(RedisSettings, RedisBlock);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> RedisSettings {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn unset_means_single_node() {
        assert_eq!(RedisSettings::default().resolve().unwrap(), None);
    }

    #[test]
    fn simple_mode_renders_what_livekit_reads() {
        let r = settings("address = \"10.0.0.5:6379\"\npassword = \"pw\"\ndb = 2\nuse_tls = true")
            .resolve()
            .unwrap()
            .unwrap();
        let block = serde_json::to_value(r.block()).unwrap();
        assert_eq!(
            block,
            serde_json::json!({"address": "10.0.0.5:6379", "password": "pw", "db": 2, "use_tls": true})
        );
        // Shown anywhere else, the password is redacted.
        assert_eq!(serde_json::to_value(&r).unwrap()["password"], "<redacted>");
    }

    #[test]
    fn sentinel_mode_gets_timeouts_livekit_survives() {
        let r = settings(
            "sentinel_master_name = \"lk\"\nsentinel_addresses = [\"s1:26379\", \"s2:26379\"]\nsentinel_password = \"sp\"",
        )
        .resolve()
        .unwrap()
        .unwrap();
        let block = r.block();
        assert_eq!(block.read_timeout, Some(1000));
        assert_eq!(block.write_timeout, Some(1000));
        assert_eq!(block.sentinel_password.as_deref(), Some("sp"));
        assert_eq!(block.address, None);
    }

    #[test]
    fn bad_tables_are_refused_with_the_reason() {
        let cases = [
            (
                "cluster_addresses = [\"c1:6379\"]",
                "redis.cluster_addresses",
                "CROSSSLOT",
            ),
            ("address = \"nohost\"", "redis.address", "host:port"),
            (
                "sentinel_addresses = [\"s:1\"]",
                "redis.sentinel_master_name",
                "required",
            ),
            (
                "sentinel_master_name = \"m\"",
                "redis.sentinel_master_name",
                "Redis is not",
            ),
            ("password = \"x\"", "redis.password", "Redis is not"),
            (
                "address = \"a:1\"\nsentinel_master_name = \"m\"\nsentinel_addresses = [\"s:1\"]",
                "redis.address",
                "not both",
            ),
        ];
        for (toml, setting, reason) in cases {
            let err = settings(toml).resolve().unwrap_err().to_string();
            assert!(
                err.contains(setting) && err.contains(reason),
                "{toml}: {err}"
            );
        }
    }
}
