//! `[public]`: LiveKit on a public domain (design §12, production facts §7). One typed value
//! renders livekit.yaml's `rtc`/`turn` parts, the Caddyfile and haproxy.cfg, decides
//! `public_url` and the webhook URL, and is what `deploy.check` checks against, so the files
//! and the checks cannot disagree. Absent, the loopback default is untouched.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::{Dur, invalid};
use crate::error::Result;

/// Let's Encrypt's production directory: the CA pinned when `acme_ca` is unset, so Caddy never
/// falls back to ZeroSSL and its certificates land where the control plane looks for them
/// (production facts §5).
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How port 443 is shared (production facts §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// One IP: HAProxy owns TCP 443 and routes by SNI (`turn_domain` to LiveKit's TURN/TLS,
    /// everything else to Caddy on loopback). The recommended layout with Debian's packages.
    Sni,
    /// Caddy alone on 443; no TURN/TLS.
    CaddyOnly,
    /// Two public IPs: Caddy on `node_ip`, LiveKit's TURN/TLS on 443 of `turn_ip`.
    TwoIps,
}

impl Topology {
    pub fn name(self) -> &'static str {
        match self {
            Topology::Sni => "sni",
            Topology::CaddyOnly => "caddy-only",
            Topology::TwoIps => "two-ips",
        }
    }

    pub fn has_turn_tls(self) -> bool {
        self != Topology::CaddyOnly
    }
}

/// What `caddy-only` costs, said plainly wherever the topology is shown.
pub const CADDY_ONLY_WARNING: &str =
    "no TURN/TLS: clients that can only reach TCP 443 will not connect";

/// The `[public]` table and its flags, as given; see [`Public`] for the checked value.
#[derive(Debug, Clone, Default, Args, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    /// `[public]`: the signalling domain (wss://DOMAIN), e.g. lk.example.com; setting it turns
    /// on the public deployment
    #[arg(
        id = "public_domain",
        long = "public-domain",
        env = "HERO_LIVEKIT_PUBLIC_DOMAIN"
    )]
    pub domain: Option<String>,
    /// The token endpoint's and webhooks' domain [default: the signalling domain, by path]
    #[arg(
        id = "public_token_domain",
        long = "public-token-domain",
        env = "HERO_LIVEKIT_PUBLIC_TOKEN_DOMAIN"
    )]
    pub token_domain: Option<String>,
    /// The TURN/TLS domain [default: turn.<domain>]
    #[arg(
        id = "public_turn_domain",
        long = "public-turn-domain",
        env = "HERO_LIVEKIT_PUBLIC_TURN_DOMAIN"
    )]
    pub turn_domain: Option<String>,
    /// The public IP clients reach media on (rtc.node_ip); "a.b.c.d" or "ipv4,ipv6"
    #[arg(
        id = "public_node_ip",
        long = "public-node-ip",
        env = "HERO_LIVEKIT_PUBLIC_NODE_IP"
    )]
    pub node_ip: Option<String>,
    /// Accept a private, loopback or CGNAT node_ip (a LAN-only deployment)
    #[arg(
        id = "public_lan",
        long = "public-lan",
        env = "HERO_LIVEKIT_PUBLIC_LAN"
    )]
    pub lan: Option<bool>,
    /// Contact email of the ACME account
    #[arg(
        id = "public_email",
        long = "public-email",
        env = "HERO_LIVEKIT_PUBLIC_EMAIL"
    )]
    pub email: Option<String>,
    /// ACME directory URL [default: Let's Encrypt production]
    #[arg(
        id = "public_acme_ca",
        long = "public-acme-ca",
        env = "HERO_LIVEKIT_PUBLIC_ACME_CA"
    )]
    pub acme_ca: Option<String>,
    /// PEM file trusted when talking to a private ACME server
    #[arg(
        id = "public_acme_ca_root",
        long = "public-acme-ca-root",
        env = "HERO_LIVEKIT_PUBLIC_ACME_CA_ROOT"
    )]
    pub acme_ca_root: Option<PathBuf>,
    /// sni, caddy-only or two-ips [default: sni]
    #[arg(
        id = "public_topology",
        long = "public-topology",
        env = "HERO_LIVEKIT_PUBLIC_TOPOLOGY"
    )]
    pub topology: Option<Topology>,
    /// two-ips: the second public IP, where LiveKit's TURN listens (TLS on 443, UDP)
    #[arg(
        id = "public_turn_ip",
        long = "public-turn-ip",
        env = "HERO_LIVEKIT_PUBLIC_TURN_IP"
    )]
    pub turn_ip: Option<String>,
    /// sni: the address HAProxy dials for TURN/TLS [default: node_ip]; set it to this host's
    /// own address behind 1:1 NAT (a loopback upstream breaks Firefox)
    #[arg(
        id = "public_turn_upstream_ip",
        long = "public-turn-upstream-ip",
        env = "HERO_LIVEKIT_PUBLIC_TURN_UPSTREAM_IP"
    )]
    pub turn_upstream_ip: Option<String>,
    /// Serve the admin UI on this domain (run the admin with --secure-cookies)
    #[arg(
        id = "public_admin_domain",
        long = "public-admin-domain",
        env = "HERO_LIVEKIT_PUBLIC_ADMIN_DOMAIN"
    )]
    pub admin_domain: Option<String>,
    /// The public HTTPS port [default: 443]
    #[arg(
        id = "public_https_port",
        long = "public-https-port",
        env = "HERO_LIVEKIT_PUBLIC_HTTPS_PORT"
    )]
    pub https_port: Option<u16>,
    /// The public HTTP port (ACME HTTP-01, redirects) [default: 80]
    #[arg(
        id = "public_http_port",
        long = "public-http-port",
        env = "HERO_LIVEKIT_PUBLIC_HTTP_PORT"
    )]
    pub http_port: Option<u16>,
    /// sni: Caddy's HTTPS port on loopback, behind HAProxy [default: 8443]
    #[arg(
        id = "public_caddy_https_port",
        long = "public-caddy-https-port",
        env = "HERO_LIVEKIT_PUBLIC_CADDY_HTTPS_PORT"
    )]
    pub caddy_https_port: Option<u16>,
    /// sni: Caddy's HTTP port on loopback, behind HAProxy [default: 8080]
    #[arg(
        id = "public_caddy_http_port",
        long = "public-caddy-http-port",
        env = "HERO_LIVEKIT_PUBLIC_CADDY_HTTP_PORT"
    )]
    pub caddy_http_port: Option<u16>,
    /// LiveKit's TURN/TLS port (turn.tls_port) [default: 5349 with sni, 443 with two-ips]
    #[arg(
        id = "public_turn_tls_port",
        long = "public-turn-tls-port",
        env = "HERO_LIVEKIT_PUBLIC_TURN_TLS_PORT"
    )]
    pub turn_tls_port: Option<u16>,
    /// LiveKit's TURN/UDP port (turn.udp_port) [default: 3478]
    #[arg(
        id = "public_turn_udp_port",
        long = "public-turn-udp-port",
        env = "HERO_LIVEKIT_PUBLIC_TURN_UDP_PORT"
    )]
    pub turn_udp_port: Option<u16>,
    /// The ICE/UDP media range (rtc.port_range_start-end) [default: 50000-60000]
    #[arg(
        id = "public_udp_ports",
        long = "public-udp-ports",
        env = "HERO_LIVEKIT_PUBLIC_UDP_PORTS"
    )]
    pub udp_ports: Option<String>,
    /// The TURN relay range (turn.relay_range_start-end) [default: 30000-40000]
    #[arg(
        id = "public_relay_ports",
        long = "public-relay-ports",
        env = "HERO_LIVEKIT_PUBLIC_RELAY_PORTS"
    )]
    pub relay_ports: Option<String>,
    /// How often Caddy checks its certificates for renewal [default: Caddy's, 10m]
    #[arg(
        id = "public_renew_interval",
        long = "public-renew-interval",
        env = "HERO_LIVEKIT_PUBLIC_RENEW_INTERVAL"
    )]
    pub renew_interval: Option<Dur>,
}

/// A port range `start-end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl Serialize for Topology {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The checked `[public]` table. Serialized, it is `config.get`'s `public` (nothing secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Public {
    pub domain: String,
    pub token_domain: String,
    /// `None` with `caddy-only` unless set (nothing serves TURN/TLS there).
    pub turn_domain: Option<String>,
    /// As given; the first address of each family is LiveKit's.
    pub node_ip: String,
    pub lan: bool,
    pub email: String,
    pub acme_ca: String,
    #[serde(serialize_with = "opt_path")]
    pub acme_ca_root: Option<PathBuf>,
    pub topology: Topology,
    pub turn_ip: Option<IpAddr>,
    pub turn_upstream_ip: Option<IpAddr>,
    pub admin_domain: Option<String>,
    pub https_port: u16,
    pub http_port: u16,
    pub caddy_https_port: u16,
    pub caddy_http_port: u16,
    /// `None` with `caddy-only`.
    pub turn_tls_port: Option<u16>,
    pub turn_udp_port: u16,
    pub udp_ports: PortRange,
    pub relay_ports: PortRange,
    #[serde(rename = "renew_interval_s", serialize_with = "opt_secs")]
    pub renew_interval: Option<std::time::Duration>,
}

fn opt_path<S: serde::Serializer>(
    p: &Option<PathBuf>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&p.display().to_string()),
        None => s.serialize_none(),
    }
}

fn opt_secs<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

/// Whether an address cannot be reached from the Internet: loopback, RFC 1918 / ULA private,
/// CGNAT (100.64.0.0/10), link-local or unspecified. The reason names the range.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private (RFC 1918)")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("CGNAT (100.64.0.0/10)")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() {
                Some("unspecified")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private (ULA fc00::/7)")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else {
                None
            }
        }
    }
}

/// LiveKit's TURN domain rule (production facts §2.5: `^(?i)[a-z0-9-]+(\.[a-z0-9-]+)+\.?$`);
/// the same shape is required of every domain here, since each one gets a certificate.
pub fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn domain(setting: &str, d: String) -> Result<String> {
    let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    if !valid_domain(&d) {
        return Err(invalid(
            setting,
            format!(
                "{d:?} is not a domain name like lk.example.com (LiveKit's TURN rule: letters, digits and hyphens, at least two labels)"
            ),
        ));
    }
    Ok(d)
}

fn range(setting: &str, given: Option<&str>, default: PortRange) -> Result<PortRange> {
    let Some(text) = given else {
        return Ok(default);
    };
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)));
    match parsed {
        Some((start, end)) if start > 0 && start <= end => Ok(PortRange { start, end }),
        _ => Err(invalid(
            setting,
            format!("{text:?} is not a port range like 50000-60000"),
        )),
    }
}

fn ip(setting: &str, v: Option<String>) -> Result<Option<IpAddr>> {
    v.map(|s| {
        s.trim()
            .parse::<IpAddr>()
            .map_err(|_| invalid(setting, format!("{s:?} is not an IP address")))
    })
    .transpose()
}

impl PublicSettings {
    /// Checks the table. `None` when `[public]` is not configured (no `domain`): the loopback
    /// default. A field set without `domain` is refused, so a half-written table is noticed.
    pub fn resolve(self) -> Result<Option<Public>> {
        let Some(dom) = self.domain.clone().filter(|d| !d.trim().is_empty()) else {
            let any = serde_json::to_value(&self)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .and_then(|m| m.into_iter().find(|(_, v)| !v.is_null()).map(|(k, _)| k));
            return match any {
                Some(k) => Err(invalid(
                    &format!("public.{k}"),
                    "is set but public.domain is not: set domain to turn on the public deployment",
                )),
                None => Ok(None),
            };
        };
        let domain = domain("public.domain", dom)?;
        let topology = self.topology.unwrap_or(Topology::Sni);
        let token_domain = match self.token_domain {
            Some(t) => self::domain("public.token_domain", t)?,
            None => domain.clone(),
        };
        let turn_domain = match (self.turn_domain, topology.has_turn_tls()) {
            (Some(t), _) => Some(self::domain("public.turn_domain", t)?),
            (None, true) => Some(format!("turn.{domain}")),
            (None, false) => None,
        };
        if topology.has_turn_tls() {
            let turn = turn_domain.as_deref().unwrap_or_default();
            for (other, setting) in [
                (&domain, "public.domain"),
                (&token_domain, "public.token_domain"),
            ] {
                if turn == other {
                    return Err(invalid(
                        "public.turn_domain",
                        format!(
                            "{turn:?} equals {setting}: TURN/TLS is told apart from HTTPS by its name (SNI), so it needs its own"
                        ),
                    ));
                }
            }
        }
        let admin_domain = self
            .admin_domain
            .map(|d| self::domain("public.admin_domain", d))
            .transpose()?;
        let node_ip = self
            .node_ip
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                invalid(
                    "public.node_ip",
                    "is required: the public IP clients send media to (LiveKit's STUN discovery stays off)",
                )
            })?;
        let lan = self.lan.unwrap_or(false);
        let addrs = node_ips(&node_ip)?;
        if !lan {
            for a in &addrs {
                if let Some(kind) = non_public(*a) {
                    return Err(invalid(
                        "public.node_ip",
                        format!(
                            "{a} is {kind}: public clients cannot reach media there; use the public IP, or set lan = true for a LAN-only deployment"
                        ),
                    ));
                }
            }
        }
        let email = self
            .email
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| invalid("public.email", "is required: the ACME account's contact"))?;
        if !email.contains('@') || email.contains(char::is_whitespace) {
            return Err(invalid(
                "public.email",
                format!("{email:?} is not an email address"),
            ));
        }
        let acme_ca = super::check_url(
            "public.acme_ca",
            self.acme_ca.as_deref().unwrap_or(LETS_ENCRYPT),
            &["https"],
        )?;
        let acme_ca_root = self
            .acme_ca_root
            .map(|p| hero_livekit_api::paths::expand_tilde(&p));
        let turn_ip = ip("public.turn_ip", self.turn_ip)?;
        match (topology, turn_ip) {
            (Topology::TwoIps, None) => {
                return Err(invalid(
                    "public.turn_ip",
                    "is required with topology two-ips: the second IP, where LiveKit owns 443 for TURN/TLS",
                ));
            }
            (Topology::TwoIps, Some(t)) if addrs.contains(&t) => {
                return Err(invalid(
                    "public.turn_ip",
                    format!(
                        "{t} is node_ip: two-ips needs a second address (Caddy keeps 443 on node_ip)"
                    ),
                ));
            }
            (Topology::Sni | Topology::CaddyOnly, Some(_)) => {
                return Err(invalid("public.turn_ip", "is only for topology two-ips"));
            }
            _ => {}
        }
        let turn_upstream_ip = ip("public.turn_upstream_ip", self.turn_upstream_ip)?;
        if turn_upstream_ip.is_some() && topology != Topology::Sni {
            return Err(invalid(
                "public.turn_upstream_ip",
                "is only for topology sni",
            ));
        }
        let port = |setting: &str, v: Option<u16>, default: u16| -> Result<u16> {
            match v.unwrap_or(default) {
                0 => Err(invalid(setting, "must be 1-65535")),
                p => Ok(p),
            }
        };
        let https_port = port("public.https_port", self.https_port, 443)?;
        let http_port = port("public.http_port", self.http_port, 80)?;
        let caddy_https_port = port("public.caddy_https_port", self.caddy_https_port, 8443)?;
        let caddy_http_port = port("public.caddy_http_port", self.caddy_http_port, 8080)?;
        let turn_udp_port = port("public.turn_udp_port", self.turn_udp_port, 3478)?;
        let turn_tls_port = match topology {
            Topology::Sni => Some(port("public.turn_tls_port", self.turn_tls_port, 5349)?),
            Topology::TwoIps => Some(port(
                "public.turn_tls_port",
                self.turn_tls_port,
                https_port,
            )?),
            Topology::CaddyOnly if self.turn_tls_port.is_some() => {
                return Err(invalid(
                    "public.turn_tls_port",
                    format!("topology caddy-only has no TURN/TLS ({CADDY_ONLY_WARNING})"),
                ));
            }
            Topology::CaddyOnly => None,
        };
        if topology == Topology::Sni {
            let taken = [
                (https_port, "https_port"),
                (http_port, "http_port"),
                (caddy_https_port, "caddy_https_port"),
                (caddy_http_port, "caddy_http_port"),
                (turn_tls_port.unwrap_or_default(), "turn_tls_port"),
            ];
            for (i, (p, a)) in taken.iter().enumerate() {
                if let Some((_, b)) = taken[i + 1..].iter().find(|(q, _)| q == p) {
                    return Err(invalid(
                        &format!("public.{b}"),
                        format!("{p} is also public.{a}: each listener needs its own TCP port"),
                    ));
                }
            }
        }
        let udp_ports = range(
            "public.udp_ports",
            self.udp_ports.as_deref(),
            PortRange {
                start: 50000,
                end: 60000,
            },
        )?;
        let relay_ports = range(
            "public.relay_ports",
            self.relay_ports.as_deref(),
            PortRange {
                start: 30000,
                end: 40000,
            },
        )?;
        if udp_ports.start <= relay_ports.end && relay_ports.start <= udp_ports.end {
            return Err(invalid(
                "public.relay_ports",
                format!("{relay_ports} overlaps udp_ports {udp_ports}"),
            ));
        }
        Ok(Some(Public {
            domain,
            token_domain,
            turn_domain,
            node_ip,
            lan,
            email,
            acme_ca,
            acme_ca_root,
            topology,
            turn_ip,
            turn_upstream_ip,
            admin_domain,
            https_port,
            http_port,
            caddy_https_port,
            caddy_http_port,
            turn_tls_port,
            turn_udp_port,
            udp_ports,
            relay_ports,
            renew_interval: self.renew_interval.map(|d| d.0),
        }))
    }
}

/// livekit.yaml keys `[public]` renders: an override may not change them (the Caddyfile, the
/// HAProxy config and the checks are made from the same value).
const RENDERED: &[&str] = &[
    "rtc.node_ip",
    "rtc.use_external_ip",
    "rtc.udp_port",
    "rtc.port_range_start",
    "rtc.port_range_end",
    "turn.enabled",
    "turn.domain",
    "turn.tls_port",
    "turn.udp_port",
    "turn.external_tls",
    "turn.cert_file",
    "turn.key_file",
    "turn.relay_range_start",
    "turn.relay_range_end",
    "turn.bind_addresses",
];

/// The effective `node_ip`: `[public]`'s when it is set (a different top-level `node_ip` is
/// refused, since one of them would be silently ignored), else the top-level one.
pub fn node_ip(
    public: &Option<Public>,
    top: Option<String>,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>> {
    let Some(p) = public else {
        return Ok(top);
    };
    check_overrides(overrides)?;
    if let Some(t) = top.filter(|t| t.replace(' ', "") != p.node_ip.replace(' ', "")) {
        return Err(invalid(
            "node_ip",
            format!(
                "{t:?} differs from public.node_ip {:?}: with [public] set only public.node_ip",
                p.node_ip
            ),
        ));
    }
    Ok(Some(p.node_ip.clone()))
}

/// Refuses `[livekit_overrides]` that would change what `[public]` renders.
pub fn check_overrides(overrides: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    for key in RENDERED {
        let (table, sub) = key.split_once('.').expect("table.key");
        if overrides
            .get(table)
            .and_then(|t| t.as_object())
            .is_some_and(|t| t.contains_key(sub))
        {
            return Err(invalid(
                &format!("livekit_overrides.{key}"),
                "is rendered from [public]: set it there (the Caddyfile, haproxy.cfg and deploy.check follow the same value)",
            ));
        }
    }
    Ok(())
}

/// The addresses of a `node_ip` value ("a.b.c.d" or "ipv4,ipv6").
pub fn node_ips(v: &str) -> Result<Vec<IpAddr>> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let parsed: Option<Vec<IpAddr>> = parts.iter().map(|p| p.parse().ok()).collect();
    match parsed {
        Some(ips) if !ips.is_empty() && ips.len() <= 2 => Ok(ips),
        _ => Err(invalid(
            "public.node_ip",
            format!("{v:?} is not an IP address (or \"ipv4,ipv6\")"),
        )),
    }
}

impl Public {
    /// The URL clients connect to.
    pub fn public_url(&self) -> String {
        format!("wss://{}{}", self.domain, port_suffix(self.https_port))
    }

    /// Where LiveKit posts webhooks: lk-backend behind the token domain.
    pub fn webhook_url(&self) -> String {
        format!(
            "https://{}{}/webhook",
            self.token_domain,
            port_suffix(self.https_port)
        )
    }

    /// Where clients get tokens.
    pub fn token_url(&self) -> String {
        format!(
            "https://{}{}/api/token",
            self.token_domain,
            port_suffix(self.https_port)
        )
    }

    /// The first IPv4 (else the first) address of `node_ip`.
    pub fn node_ipv4(&self) -> IpAddr {
        let ips = node_ips(&self.node_ip).unwrap_or_default();
        ips.iter()
            .find(|i| i.is_ipv4())
            .or(ips.first())
            .copied()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    /// Every domain that gets a certificate, with what it serves.
    pub fn sites(&self) -> Vec<(&str, &'static str)> {
        let mut v = vec![(self.domain.as_str(), "signalling (LiveKit)")];
        if self.token_domain != self.domain {
            v.push((
                self.token_domain.as_str(),
                "token endpoint and webhooks (lk-backend)",
            ));
        }
        if let Some(t) = &self.turn_domain {
            v.push((t.as_str(), "TURN/TLS (LiveKit)"));
        }
        if let Some(a) = &self.admin_domain {
            v.push((a.as_str(), "admin UI"));
        }
        v
    }

    /// The address each domain must resolve to (the TURN name to `turn_ip` with two-ips).
    pub fn expected_ip(&self, domain: &str) -> IpAddr {
        match (self.topology, self.turn_ip, &self.turn_domain) {
            (Topology::TwoIps, Some(t), Some(d)) if d == domain => t,
            _ => self.node_ipv4(),
        }
    }
}

fn port_suffix(port: u16) -> String {
    if port == 443 {
        String::new()
    } else {
        format!(":{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> PublicSettings {
        toml::from_str(toml).unwrap()
    }

    const BASE: &str =
        "domain = \"lk.example.com\"\nnode_ip = \"203.0.113.10\"\nemail = \"ops@example.com\"\n";

    #[test]
    fn absent_means_loopback_and_a_stray_field_is_refused() {
        assert_eq!(PublicSettings::default().resolve().unwrap(), None);
        let err = settings("email = \"a@b.c\"")
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("public.email") && err.contains("public.domain is not"),
            "{err}"
        );
    }

    #[test]
    fn defaults_follow_the_domain() {
        let p = settings(BASE).resolve().unwrap().unwrap();
        assert_eq!(p.topology, Topology::Sni);
        assert_eq!(p.token_domain, "lk.example.com");
        assert_eq!(p.turn_domain.as_deref(), Some("turn.lk.example.com"));
        assert_eq!(p.acme_ca, LETS_ENCRYPT);
        assert_eq!(p.turn_tls_port, Some(5349));
        assert_eq!(p.public_url(), "wss://lk.example.com");
        assert_eq!(p.webhook_url(), "https://lk.example.com/webhook");
        assert_eq!(p.udp_ports.to_string(), "50000-60000");
        let two = settings(&format!(
            "{BASE}topology = \"two-ips\"\nturn_ip = \"203.0.113.11\""
        ))
        .resolve()
        .unwrap()
        .unwrap();
        assert_eq!(two.turn_tls_port, Some(443));
        assert_eq!(
            two.expected_ip("turn.lk.example.com").to_string(),
            "203.0.113.11"
        );
        let only = settings(&format!("{BASE}topology = \"caddy-only\""))
            .resolve()
            .unwrap()
            .unwrap();
        assert_eq!((only.turn_domain, only.turn_tls_port), (None, None));
    }

    #[test]
    fn node_ip_must_be_public_unless_lan() {
        for (ip, kind) in [
            ("10.1.2.3", "private"),
            ("192.168.1.5", "private"),
            ("127.0.0.1", "loopback"),
            ("100.72.0.9", "CGNAT"),
            ("203.0.113.9,fd00::1", "ULA"),
        ] {
            let t = format!("domain = \"lk.example.com\"\nemail = \"a@b.c\"\nnode_ip = \"{ip}\"");
            let err = settings(&t).resolve().unwrap_err().to_string();
            assert!(
                err.contains("public.node_ip") && err.contains(kind) && err.contains("lan = true"),
                "{err}"
            );
            assert!(settings(&format!("{t}\nlan = true")).resolve().is_ok());
        }
    }

    #[test]
    fn bad_tables_name_the_setting() {
        let cases = [
            (
                "turn_domain = \"lk.example.com\"",
                "public.turn_domain",
                "SNI",
            ),
            ("domain = \"localhost\"", "public.domain", "two labels"),
            ("topology = \"two-ips\"", "public.turn_ip", "required"),
            ("turn_ip = \"203.0.113.2\"", "public.turn_ip", "only for"),
            ("email = \"nobody\"", "public.email", "not an email"),
            (
                "acme_ca = \"http://ca.example/dir\"",
                "public.acme_ca",
                "https",
            ),
            (
                "udp_ports = \"60000-50000\"",
                "public.udp_ports",
                "port range",
            ),
            (
                "relay_ports = \"55000-56000\"",
                "public.relay_ports",
                "overlaps",
            ),
            (
                "caddy_https_port = 443",
                "public.caddy_https_port",
                "also public.https_port",
            ),
            (
                "topology = \"caddy-only\"\nturn_tls_port = 5349",
                "public.turn_tls_port",
                "443 will not connect",
            ),
        ];
        for (extra, setting, reason) in cases {
            let mut t: toml::Table = BASE.parse().unwrap();
            t.extend(extra.parse::<toml::Table>().unwrap());
            let s: PublicSettings = t.try_into().unwrap();
            let err = s.resolve().unwrap_err().to_string();
            assert!(
                err.contains(setting) && err.contains(reason),
                "{extra}: {err}"
            );
        }
    }
}
