//! `[ingress]`: LiveKit's ingress service (OBS over RTMP, WHIP, pulled URLs), for which the
//! control plane renders ingress.yaml and livekit.yaml's `ingress:` block from this one value
//! (side-services facts §2, design §11.2). The file is rendered by `side::ingress`.

use serde::{Deserialize, Serialize};

use super::{FileAccess, LOG_LEVELS, Redis, check_url, invalid};
use crate::error::Result;

/// Ingress's own defaults (ingress `pkg/config/config.go`).
pub const RTMP_PORT: i32 = 1935;
pub const WHIP_PORT: i32 = 8080;
pub const HTTP_RELAY_PORT: u16 = 9090;
/// WHIP's one muxed UDP port when neither `udp_port` nor a range is set (side-services facts
/// §2.3).
pub const WHIP_UDP_PORT: u16 = 7885;
/// `health_port` default: egress has 9100/9101 (side-services facts §2.5).
pub const HEALTH_PORT: u16 = 9102;
/// The app segment of `rtmp_base_url`: the RTMP server keys on the last path segment only, but
/// one app segment must be there (side-services facts §2.4).
pub const RTMP_APP: &str = "x";
/// The one path segment of `whip_base_url` (side-services facts §2.4).
pub const WHIP_APP: &str = "w";

/// The `[ingress]` table as given (TOML only).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSettings {
    pub enabled: Option<bool>,
    /// livekit-server's URL as the ingress host reaches it (ws:// or wss://).
    pub ws_url: Option<String>,
    /// RTMP listener; -1 turns RTMP off.
    pub rtmp_port: Option<i32>,
    /// WHIP listener (HTTP); -1 turns WHIP off.
    pub whip_port: Option<i32>,
    /// The relay between the service and its handlers, on loopback.
    pub http_relay_port: Option<u16>,
    pub health_port: Option<u16>,
    pub prometheus_port: Option<u16>,
    /// The host clients publish to (OBS's server URL, the WHIP URL).
    pub public_host: Option<String>,
    pub log_level: Option<String>,
    /// "0600" (default) or "0640" (for an ingress container that runs as another user).
    pub file_mode: Option<String>,
    pub file_group: Option<String>,
    pub rtc_config: Option<RtcConfigSettings>,
    pub cpu_cost: Option<IngressCpuCostSettings>,
}

/// WHIP's WebRTC transport (mediatransportutil `rtcconfig`, side-services facts §2.3).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RtcConfigSettings {
    pub udp_port: Option<u16>,
    pub tcp_port: Option<u16>,
    pub port_range_start: Option<u16>,
    pub port_range_end: Option<u16>,
    /// The public IP announced to WHIP clients [default: node_ip].
    pub node_ip: Option<String>,
    /// Discover the public IP over STUN at start (fails where STUN is blocked).
    pub use_external_ip: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngressCpuCostSettings {
    pub rtmp_cpu_cost: Option<f64>,
    pub whip_cpu_cost: Option<f64>,
    pub whip_bypass_transcoding_cpu_cost: Option<f64>,
    pub url_cpu_cost: Option<f64>,
    pub min_idle_ratio: Option<f64>,
}

/// The checked `[ingress]` table (`config.get`'s `ingress`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ingress {
    pub enabled: bool,
    pub ws_url: String,
    /// -1: off.
    pub rtmp_port: i32,
    /// -1: off.
    pub whip_port: i32,
    pub http_relay_port: u16,
    pub health_port: u16,
    pub prometheus_port: Option<u16>,
    pub public_host: String,
    pub log_level: String,
    #[serde(flatten)]
    pub access: FileAccess,
    pub rtc_config: RtcConfig,
    pub cpu_cost: IngressCpuCost,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtcConfig {
    pub udp_port: Option<u16>,
    pub tcp_port: Option<u16>,
    pub port_range_start: Option<u16>,
    pub port_range_end: Option<u16>,
    pub node_ip: Option<String>,
    pub use_external_ip: bool,
}

/// Always explicit: ingress has no cost defaults in its code (all 0, which admits everything
/// and only logs warnings), so LiveKit's recommended values are written (side-services facts
/// §2.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngressCpuCost {
    pub rtmp_cpu_cost: f64,
    pub whip_cpu_cost: f64,
    pub whip_bypass_transcoding_cpu_cost: f64,
    pub url_cpu_cost: f64,
    pub min_idle_ratio: f64,
}

impl Ingress {
    /// livekit.yaml's `ingress.rtmp_base_url`: OBS's "server"; the stream key goes after it.
    pub fn rtmp_base_url(&self) -> Option<String> {
        (self.rtmp_port > 0).then(|| {
            format!(
                "rtmp://{}:{}/{RTMP_APP}",
                url_host(&self.public_host),
                self.rtmp_port
            )
        })
    }

    /// livekit.yaml's `ingress.whip_base_url`, with exactly one path segment.
    pub fn whip_base_url(&self) -> Option<String> {
        (self.whip_port > 0).then(|| {
            format!(
                "http://{}:{}/{WHIP_APP}",
                url_host(&self.public_host),
                self.whip_port
            )
        })
    }
}

/// A host as it goes into a URL (an IPv6 address in brackets).
fn url_host(h: &str) -> String {
    if h.contains(':') && !h.starts_with('[') {
        format!("[{h}]")
    } else {
        h.to_string()
    }
}

fn listen_port(setting: &str, v: Option<i32>, default: i32) -> Result<i32> {
    let p = v.unwrap_or(default);
    if p == -1 || (1..=65535).contains(&p) {
        Ok(p)
    } else {
        Err(invalid(
            setting,
            format!("{p} must be 1-65535, or -1 (off)"),
        ))
    }
}

impl IngressCpuCostSettings {
    fn resolve(self) -> Result<IngressCpuCost> {
        let c = IngressCpuCost {
            rtmp_cpu_cost: self.rtmp_cpu_cost.unwrap_or(2.0),
            whip_cpu_cost: self.whip_cpu_cost.unwrap_or(2.0),
            whip_bypass_transcoding_cpu_cost: self.whip_bypass_transcoding_cpu_cost.unwrap_or(0.1),
            url_cpu_cost: self.url_cpu_cost.unwrap_or(2.0),
            min_idle_ratio: self.min_idle_ratio.unwrap_or(0.3),
        };
        for (name, v) in [
            ("rtmp_cpu_cost", c.rtmp_cpu_cost),
            ("whip_cpu_cost", c.whip_cpu_cost),
            (
                "whip_bypass_transcoding_cpu_cost",
                c.whip_bypass_transcoding_cpu_cost,
            ),
            ("url_cpu_cost", c.url_cpu_cost),
        ] {
            if !(v.is_finite() && v > 0.0) {
                // 0 means "no admission control" to ingress: every session is taken.
                return Err(invalid(
                    &format!("ingress.cpu_cost.{name}"),
                    format!("{v} must be more than 0 (0 would admit every session)"),
                ));
            }
        }
        if !(c.min_idle_ratio > 0.0 && c.min_idle_ratio < 1.0) {
            return Err(invalid(
                "ingress.cpu_cost.min_idle_ratio",
                format!("{} must be in (0, 1)", c.min_idle_ratio),
            ));
        }
        Ok(c)
    }
}

impl IngressSettings {
    /// Checks the table. `node_ip` is the SFU's (first address), the default for WHIP's
    /// `rtc_config.node_ip`; `default_host` is where clients reach this deployment.
    pub fn resolve(
        self,
        redis: Option<&Redis>,
        sfu_port: u16,
        node_ip: Option<&str>,
        default_host: &str,
    ) -> Result<Ingress> {
        let enabled = self.enabled.unwrap_or(false);
        if enabled && redis.is_none() {
            return Err(invalid(
                "ingress.enabled",
                "ingress needs Redis: LiveKit's ingress service refuses to start without a \
                 redis block (\"redis configuration is required\") and meets livekit-server only \
                 over Redis; without it livekit-server answers every ingress call with \"ingress \
                 not connected (redis required)\"; set [redis] (one Redis, rendered into \
                 livekit.yaml and ingress.yaml alike)",
            ));
        }
        let ws_url = match self.ws_url {
            Some(u) => check_url("ingress.ws_url", &u, &["ws", "wss"])?,
            None => format!("ws://127.0.0.1:{sfu_port}"),
        };
        let rtmp_port = listen_port("ingress.rtmp_port", self.rtmp_port, RTMP_PORT)?;
        let whip_port = listen_port("ingress.whip_port", self.whip_port, WHIP_PORT)?;
        let http_relay_port = self.http_relay_port.unwrap_or(HTTP_RELAY_PORT);
        let health_port = self.health_port.unwrap_or(HEALTH_PORT);
        for (name, p) in [
            ("ingress.http_relay_port", Some(http_relay_port)),
            ("ingress.health_port", Some(health_port)),
            ("ingress.prometheus_port", self.prometheus_port),
        ] {
            if p == Some(0) {
                return Err(invalid(name, "must be 1-65535"));
            }
        }
        let public_host = self
            .public_host
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| default_host.to_string());
        let probe = format!("rtmp://{}:1/{RTMP_APP}", url_host(&public_host));
        if public_host.contains('/')
            || url::Url::parse(&probe)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .is_none()
        {
            return Err(invalid(
                "ingress.public_host",
                format!("{public_host:?} must be a host name or IP address (no scheme, no port)"),
            ));
        }
        let log_level = self
            .log_level
            .unwrap_or_else(|| "info".into())
            .to_lowercase();
        if !LOG_LEVELS.contains(&log_level.as_str()) {
            return Err(invalid(
                "ingress.log_level",
                format!("{log_level:?} is not one of {}", LOG_LEVELS.join(", ")),
            ));
        }
        let access = FileAccess::resolve("ingress", self.file_mode, self.file_group)?;
        let rtc = self.rtc_config.unwrap_or_default();
        let use_external_ip = rtc.use_external_ip.unwrap_or(false);
        if use_external_ip && rtc.node_ip.is_some() {
            return Err(invalid(
                "ingress.rtc_config.use_external_ip",
                "cannot be combined with rtc_config.node_ip: STUN discovery would replace it (and \
                 fail the start where STUN is blocked); set one",
            ));
        }
        if let Some(ip) = &rtc.node_ip
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid(
                "ingress.rtc_config.node_ip",
                format!("{ip:?} is not an IP address"),
            ));
        }
        match (rtc.port_range_start, rtc.port_range_end) {
            (None, None) => {}
            (Some(s), Some(e)) if s > 0 && s <= e => {
                if rtc.udp_port.is_some() {
                    return Err(invalid(
                        "ingress.rtc_config.udp_port",
                        "set either udp_port (one muxed port) or port_range_start/end, not both",
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    "ingress.rtc_config.port_range_start",
                    "port_range_start and port_range_end go together, start ≤ end",
                ));
            }
        }
        if rtc.udp_port == Some(0) || rtc.tcp_port == Some(0) {
            return Err(invalid("ingress.rtc_config", "ports must be 1-65535"));
        }
        let whip = whip_port > 0;
        let rtc_config = RtcConfig {
            // Ingress's own default, written out so the port check sees it.
            udp_port: rtc
                .udp_port
                .or_else(|| (whip && rtc.port_range_start.is_none()).then_some(WHIP_UDP_PORT)),
            tcp_port: rtc.tcp_port,
            port_range_start: rtc.port_range_start,
            port_range_end: rtc.port_range_end,
            node_ip: rtc.node_ip.or_else(|| {
                (!use_external_ip)
                    .then(|| node_ip.map(str::to_string))
                    .flatten()
            }),
            use_external_ip,
        };
        Ok(Ingress {
            enabled,
            ws_url,
            rtmp_port,
            whip_port,
            http_relay_port,
            health_port,
            prometheus_port: self.prometheus_port,
            public_host,
            log_level,
            access,
            rtc_config,
            cpu_cost: self.cpu_cost.unwrap_or_default().resolve()?,
        })
    }
}

#[cfg(test)]
pub(crate) fn sample() -> IngressSettings {
    toml::from_str(
        r#"
        enabled = true
        ws_url = "ws://10.0.0.5:7880"
        rtmp_port = 1935
        whip_port = 8080
        http_relay_port = 9090
        health_port = 9102
        prometheus_port = 9104
        public_host = "stream.example.com"
        log_level = "info"
        file_mode = "0600"
        [rtc_config]
        udp_port = 7885
        tcp_port = 7886
        node_ip = "203.0.113.5"
        use_external_ip = false
        [cpu_cost]
        rtmp_cpu_cost = 2
        whip_cpu_cost = 2
        whip_bypass_transcoding_cpu_cost = 0.1
        url_cpu_cost = 2
        min_idle_ratio = 0.3
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

    fn settings(toml: &str) -> IngressSettings {
        toml::from_str(toml).unwrap()
    }

    fn resolve(toml: &str) -> Result<Ingress> {
        settings(toml).resolve(Some(&redis()), 7880, Some("203.0.113.9"), "127.0.0.1")
    }

    #[test]
    fn enabling_ingress_without_redis_is_refused_with_the_reason() {
        let err = settings("enabled = true")
            .resolve(None, 7880, None, "127.0.0.1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ingress.enabled") && err.contains("ingress needs Redis"),
            "{err}"
        );
        assert!(
            !settings("")
                .resolve(None, 7880, None, "127.0.0.1")
                .unwrap()
                .enabled
        );
    }

    #[test]
    fn base_urls_come_from_the_ports_and_the_public_host() {
        let i = resolve("enabled = true\npublic_host = \"obs.example.com\"").unwrap();
        assert_eq!(
            i.rtmp_base_url().as_deref(),
            Some("rtmp://obs.example.com:1935/x")
        );
        assert_eq!(
            i.whip_base_url().as_deref(),
            Some("http://obs.example.com:8080/w")
        );
        // Exactly one path segment (side-services facts §2.4).
        let whip = url::Url::parse(&i.whip_base_url().unwrap()).unwrap();
        assert_eq!(whip.path_segments().unwrap().count(), 1);
        // -1 turns a listener off, and its URL with it; WHIP's UDP port only with WHIP.
        let i = resolve("rtmp_port = -1\nwhip_port = -1").unwrap();
        assert_eq!(i.rtmp_base_url(), None);
        assert_eq!(i.whip_base_url(), None);
        assert_eq!(i.rtc_config.udp_port, None);
        let i = resolve("rtmp_port = 1936\npublic_host = \"2001:db8::5\"").unwrap();
        assert_eq!(
            i.rtmp_base_url().as_deref(),
            Some("rtmp://[2001:db8::5]:1936/x")
        );
        // Defaults: the deployment's host, the SFU's node IP for WHIP, ingress's UDP port.
        let i = resolve("").unwrap();
        assert_eq!(i.public_host, "127.0.0.1");
        assert_eq!(i.rtc_config.node_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(i.rtc_config.udp_port, Some(WHIP_UDP_PORT));
        assert_eq!(i.ws_url, "ws://127.0.0.1:7880");
    }

    #[test]
    fn cpu_costs_are_always_explicit() {
        let i = resolve("").unwrap();
        assert_eq!(
            (
                i.cpu_cost.rtmp_cpu_cost,
                i.cpu_cost.whip_cpu_cost,
                i.cpu_cost.whip_bypass_transcoding_cpu_cost,
                i.cpu_cost.url_cpu_cost
            ),
            (2.0, 2.0, 0.1, 2.0)
        );
    }

    #[test]
    fn bad_tables_name_the_setting() {
        let cases = [
            ("rtmp_port = 0", "ingress.rtmp_port"),
            ("whip_port = -2", "ingress.whip_port"),
            ("whip_port = 70000", "ingress.whip_port"),
            ("health_port = 0", "ingress.health_port"),
            ("public_host = \"rtmp://x\"", "ingress.public_host"),
            ("public_host = \"a b\"", "ingress.public_host"),
            ("log_level = \"loud\"", "ingress.log_level"),
            ("ws_url = \"http://x\"", "ingress.ws_url"),
            ("file_mode = \"0644\"", "ingress.file_mode"),
            (
                "[rtc_config]\nuse_external_ip = true\nnode_ip = \"203.0.113.1\"",
                "ingress.rtc_config.use_external_ip",
            ),
            (
                "[rtc_config]\nnode_ip = \"host\"",
                "ingress.rtc_config.node_ip",
            ),
            (
                "[rtc_config]\nport_range_start = 9",
                "ingress.rtc_config.port_range_start",
            ),
            (
                "[rtc_config]\nudp_port = 7885\nport_range_start = 1\nport_range_end = 2",
                "ingress.rtc_config.udp_port",
            ),
            (
                "[cpu_cost]\nrtmp_cpu_cost = 0",
                "ingress.cpu_cost.rtmp_cpu_cost",
            ),
            (
                "[cpu_cost]\nmin_idle_ratio = 1.5",
                "ingress.cpu_cost.min_idle_ratio",
            ),
        ];
        for (toml, setting) in cases {
            let err = resolve(toml).unwrap_err().to_string();
            assert!(err.contains(setting), "{toml}: {err}");
        }
        assert!(toml::from_str::<IngressSettings>("log_levle = \"info\"").is_err());
    }
}
