//! `[sip]`: LiveKit's SIP service (phone calls through SIP trunks), for which the control plane
//! renders sip.yaml (side-services facts §3, design §11.2). The file is rendered by `side::sip`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{FileAccess, LOG_LEVELS, Redis, check_url, invalid};
use crate::error::Result;

/// SIP's own defaults (sip `pkg/config/config.go`).
pub const SIP_PORT: u16 = 5060;
pub const TLS_PORT: u16 = 5061;
pub const RTP_PORTS: (u16, u16) = (10000, 20000);
/// `health_port` default (side-services facts §3.3): egress 9100, ingress 9102.
pub const HEALTH_PORT: u16 = 9103;

/// The `[sip]` table as given (TOML only).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipSettings {
    pub enabled: Option<bool>,
    /// livekit-server's URL as the SIP host reaches it (ws:// or wss://).
    pub ws_url: Option<String>,
    /// The SIP port it listens on and announces (UDP and TCP).
    pub sip_port: Option<u16>,
    /// The RTP (media) ports, "start-end", UDP.
    pub rtp_port: Option<String>,
    /// Look the public IP up at start (cannot be combined with `nat_1_to_1_ip`).
    pub use_external_ip: Option<bool>,
    /// The static public IP behind a 1:1 NAT [default: node_ip].
    pub nat_1_to_1_ip: Option<String>,
    /// The local network (CIDR) whose address SIP picks as its own.
    pub local_net: Option<String>,
    pub health_port: Option<u16>,
    pub prometheus_port: Option<u16>,
    /// Calls this instance takes at most (for call affinity).
    pub max_active_calls: Option<u32>,
    pub log_level: Option<String>,
    pub file_mode: Option<String>,
    pub file_group: Option<String>,
    /// SIP over TLS (port 5061 by default): only when this table is present.
    pub tls: Option<SipTlsSettings>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipTlsSettings {
    pub port: Option<u16>,
    /// Paths as the SIP process sees them (inside its container).
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

/// The checked `[sip]` table (`config.get`'s `sip`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sip {
    pub enabled: bool,
    pub ws_url: String,
    pub sip_port: u16,
    /// Inclusive (start, end); shown and rendered as "start-end".
    #[serde(serialize_with = "range")]
    pub rtp_port: (u16, u16),
    pub use_external_ip: bool,
    pub nat_1_to_1_ip: Option<String>,
    pub local_net: Option<String>,
    pub health_port: u16,
    pub prometheus_port: Option<u16>,
    pub max_active_calls: Option<u32>,
    pub log_level: String,
    #[serde(flatten)]
    pub access: FileAccess,
    pub tls: Option<SipTls>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SipTls {
    pub port: u16,
    pub cert_file: String,
    pub key_file: String,
}

impl Sip {
    /// `rtp_port` as SIP reads it.
    pub fn rtp_range(&self) -> String {
        format!("{}-{}", self.rtp_port.0, self.rtp_port.1)
    }
}

fn range<S: serde::Serializer>(r: &(u16, u16), s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}-{}", r.0, r.1))
}

fn parse_range(setting: &str, v: &str) -> Result<(u16, u16)> {
    let bad = || {
        invalid(
            setting,
            format!("{v:?} must be \"start-end\" (e.g. \"10000-20000\"), 1-65535, start ≤ end"),
        )
    };
    let (s, e) = v.trim().split_once('-').ok_or_else(bad)?;
    let s: u16 = s.trim().parse().map_err(|_| bad())?;
    let e: u16 = e.trim().parse().map_err(|_| bad())?;
    if s == 0 || s > e {
        return Err(bad());
    }
    Ok((s, e))
}

fn check_cidr(setting: &str, v: &str) -> Result<()> {
    let ok = v.split_once('/').is_some_and(|(ip, bits)| {
        let max = match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => 32,
            Ok(IpAddr::V6(_)) => 128,
            Err(_) => return false,
        };
        bits.parse::<u8>().is_ok_and(|b| b <= max)
    });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            setting,
            format!("{v:?} is not a network in CIDR form (e.g. \"10.0.0.0/8\")"),
        ))
    }
}

impl SipSettings {
    /// Checks the table. `node_ip` (the SFU's first address) is the default `nat_1_to_1_ip`.
    pub fn resolve(
        self,
        redis: Option<&Redis>,
        sfu_port: u16,
        node_ip: Option<&str>,
    ) -> Result<Sip> {
        let enabled = self.enabled.unwrap_or(false);
        if enabled && redis.is_none() {
            return Err(invalid(
                "sip.enabled",
                "SIP needs Redis: LiveKit's SIP service refuses to start without a redis block \
                 (\"redis configuration is required\") and meets livekit-server only over Redis; \
                 without it livekit-server answers every SIP call with \"sip not connected (redis \
                 required)\"; set [redis] (one Redis, rendered into livekit.yaml and sip.yaml \
                 alike)",
            ));
        }
        let ws_url = match self.ws_url {
            Some(u) => check_url("sip.ws_url", &u, &["ws", "wss"])?,
            None => format!("ws://127.0.0.1:{sfu_port}"),
        };
        let sip_port = self.sip_port.unwrap_or(SIP_PORT);
        let health_port = self.health_port.unwrap_or(HEALTH_PORT);
        for (name, p) in [
            ("sip.sip_port", Some(sip_port)),
            ("sip.health_port", Some(health_port)),
            ("sip.prometheus_port", self.prometheus_port),
        ] {
            if p == Some(0) {
                return Err(invalid(name, "must be 1-65535"));
            }
        }
        let (rtp_port_start, rtp_port_end) = match &self.rtp_port {
            Some(r) => parse_range("sip.rtp_port", r)?,
            None => RTP_PORTS,
        };
        if (rtp_port_start..=rtp_port_end).contains(&sip_port) {
            return Err(invalid(
                "sip.rtp_port",
                format!("{rtp_port_start}-{rtp_port_end} contains sip_port {sip_port}"),
            ));
        }
        let use_external_ip = self.use_external_ip.unwrap_or(false);
        let given_nat = self
            .nat_1_to_1_ip
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        // SIP itself refuses the pair at start, and exits 0 (side-services facts §3.2, §0
        // item 6).
        if use_external_ip && given_nat.is_some() {
            return Err(invalid(
                "sip.use_external_ip",
                "cannot be combined with sip.nat_1_to_1_ip: LiveKit's SIP service refuses the \
                 pair at start (and exits 0, which looks like a clean stop); set exactly one: \
                 nat_1_to_1_ip for a known public IP, use_external_ip to look it up",
            ));
        }
        let nat_1_to_1_ip = if use_external_ip {
            None
        } else {
            let ip = given_nat.or_else(|| node_ip.map(str::to_string));
            if enabled && ip.is_none() {
                return Err(invalid(
                    "sip.nat_1_to_1_ip",
                    "SIP must announce an address callers' providers reach: set exactly one of \
                     sip.nat_1_to_1_ip (or node_ip) and sip.use_external_ip = true",
                ));
            }
            ip
        };
        if let Some(ip) = &nat_1_to_1_ip
            && ip.parse::<IpAddr>().is_err()
        {
            return Err(invalid(
                "sip.nat_1_to_1_ip",
                format!("{ip:?} is not an IP address"),
            ));
        }
        let local_net = self
            .local_net
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(n) = &local_net {
            check_cidr("sip.local_net", n)?;
        }
        if self.max_active_calls == Some(0) {
            return Err(invalid(
                "sip.max_active_calls",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        let log_level = self
            .log_level
            .unwrap_or_else(|| "info".into())
            .to_lowercase();
        if !LOG_LEVELS.contains(&log_level.as_str()) {
            return Err(invalid(
                "sip.log_level",
                format!("{log_level:?} is not one of {}", LOG_LEVELS.join(", ")),
            ));
        }
        let access = FileAccess::resolve("sip", self.file_mode, self.file_group)?;
        let tls = match self.tls {
            None => None,
            Some(t) => {
                let file = |name: &str, v: Option<String>| {
                    v.map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| {
                            invalid(
                                &format!("sip.tls.{name}"),
                                "is required with [sip.tls] (a certificate and its key)",
                            )
                        })
                };
                let port = t.port.unwrap_or(TLS_PORT);
                if port == 0 || port == sip_port {
                    return Err(invalid(
                        "sip.tls.port",
                        format!("{port} must be 1-65535 and differ from sip_port"),
                    ));
                }
                Some(SipTls {
                    port,
                    cert_file: file("cert_file", t.cert_file)?,
                    key_file: file("key_file", t.key_file)?,
                })
            }
        };
        Ok(Sip {
            enabled,
            ws_url,
            sip_port,
            rtp_port: (rtp_port_start, rtp_port_end),
            use_external_ip,
            nat_1_to_1_ip,
            local_net,
            health_port,
            prometheus_port: self.prometheus_port,
            max_active_calls: self.max_active_calls,
            log_level,
            access,
            tls,
        })
    }
}

#[cfg(test)]
pub(crate) fn sample() -> SipSettings {
    toml::from_str(
        r#"
        enabled = true
        ws_url = "ws://10.0.0.5:7880"
        sip_port = 5060
        rtp_port = "10000-20000"
        use_external_ip = false
        nat_1_to_1_ip = "203.0.113.5"
        local_net = "10.0.0.0/8"
        health_port = 9103
        prometheus_port = 9105
        max_active_calls = 100
        log_level = "info"
        file_mode = "0600"
        [tls]
        port = 5061
        cert_file = "/etc/sip/tls.crt"
        key_file = "/etc/sip/tls.key"
        "#,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis() -> Redis {
        crate::config::RedisSettings {
            address: Some("127.0.0.1:6379".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .unwrap()
    }

    fn resolve(toml: &str) -> Result<Sip> {
        toml::from_str::<SipSettings>(toml).unwrap().resolve(
            Some(&redis()),
            7880,
            Some("203.0.113.9"),
        )
    }

    #[test]
    fn enabling_sip_without_redis_is_refused_with_the_reason() {
        let err = toml::from_str::<SipSettings>("enabled = true\nnat_1_to_1_ip = \"1.2.3.4\"")
            .unwrap()
            .resolve(None, 7880, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sip.enabled") && err.contains("SIP needs Redis"),
            "{err}"
        );
    }

    #[test]
    fn exactly_one_of_use_external_ip_and_nat_1_to_1_ip() {
        let err = resolve("enabled = true\nuse_external_ip = true\nnat_1_to_1_ip = \"1.2.3.4\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sip.use_external_ip") && err.contains("refuses the pair"),
            "{err}"
        );
        // Neither: the SFU's node IP; none at all is refused with the reason.
        let s = resolve("enabled = true").unwrap();
        assert_eq!(s.nat_1_to_1_ip.as_deref(), Some("203.0.113.9"));
        let err = toml::from_str::<SipSettings>("enabled = true")
            .unwrap()
            .resolve(Some(&redis()), 7880, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sip.nat_1_to_1_ip"), "{err}");
        // use_external_ip alone wins over node_ip (it is not combined with it).
        let s = resolve("enabled = true\nuse_external_ip = true").unwrap();
        assert_eq!(s.nat_1_to_1_ip, None);
        assert!(s.use_external_ip);
    }

    #[test]
    fn defaults_are_sips() {
        let s = resolve("").unwrap();
        assert_eq!(s.sip_port, 5060);
        assert_eq!(s.rtp_range(), "10000-20000");
        assert_eq!(s.health_port, HEALTH_PORT);
        assert_eq!(s.ws_url, "ws://127.0.0.1:7880");
        assert!(s.tls.is_none());
        assert_eq!(s.access.file_mode, 0o600);
        // Group-readable for a container running as another user, like egress.yaml.
        let s = resolve("file_mode = \"0640\"\nfile_group = \"livekit-sip\"").unwrap();
        assert_eq!(
            (s.access.file_mode, s.access.file_group.as_deref()),
            (0o640, Some("livekit-sip"))
        );
    }

    #[test]
    fn bad_tables_name_the_setting() {
        let cases = [
            ("rtp_port = \"20000-10000\"", "sip.rtp_port"),
            ("rtp_port = \"10000\"", "sip.rtp_port"),
            ("rtp_port = \"5000-6000\"\nsip_port = 5060", "sip.rtp_port"),
            ("sip_port = 0", "sip.sip_port"),
            ("health_port = 0", "sip.health_port"),
            ("nat_1_to_1_ip = \"pbx\"", "sip.nat_1_to_1_ip"),
            ("local_net = \"10.0.0.0\"", "sip.local_net"),
            ("local_net = \"10.0.0.0/33\"", "sip.local_net"),
            ("max_active_calls = 0", "sip.max_active_calls"),
            ("log_level = \"loud\"", "sip.log_level"),
            ("ws_url = \"http://x\"", "sip.ws_url"),
            ("file_group = \"0\"", "sip.file_group"),
            ("[tls]\ncert_file = \"/c\"", "sip.tls.key_file"),
            (
                "[tls]\nport = 5060\ncert_file = \"/c\"\nkey_file = \"/k\"",
                "sip.tls.port",
            ),
        ];
        for (toml, setting) in cases {
            let err = resolve(toml).unwrap_err().to_string();
            assert!(err.contains(setting), "{toml}: {err}");
        }
        assert!(toml::from_str::<SipSettings>("sip_prot = 1").is_err());
    }
}
