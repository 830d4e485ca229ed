//! The host ports each rendered file makes a service bind, for `config.check`'s "no two services
//! claim the same host port" (design §11.3): each file's listeners, with the service's own
//! default for what the file leaves out (side-services facts §1, §2, §3), and the clashes
//! between them.

use hero_livekit_api::paths;
use hero_livekit_api::types::ConfigProblem;
use serde_json::Value;

use super::check::problem;
use crate::public::{CADDYFILE, HAPROXY_CFG};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
}

/// A port range a file makes a service bind on the host.
#[derive(Debug, Clone)]
struct Claim {
    file: &'static str,
    key: String,
    proto: Proto,
    start: u16,
    end: u16,
    /// The one address it binds; `None`: every address (which clashes with any).
    addr: Option<String>,
}

pub(super) fn port_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A port or "start-end" range (rtcconfig `PortRange`).
pub(super) fn range_of(v: &Value) -> Option<(u16, u16)> {
    if let Some(p) = v.as_i64() {
        let p = u16::try_from(p).ok().filter(|p| *p > 0)?;
        return Some((p, p));
    }
    let s = v.as_str()?.trim();
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let p = s.parse().ok()?;
            Some((p, p))
        }
    }
}

pub(super) fn get<'a>(doc: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(doc, |v, k| &v[k])
}

#[derive(Default)]
pub(super) struct Claims(Vec<Claim>);

impl Claims {
    fn add(&mut self, file: &'static str, key: &str, proto: Proto, range: Option<(u16, u16)>) {
        self.add_at(file, key, proto, range, None);
    }

    fn add_at(
        &mut self,
        file: &'static str,
        key: &str,
        proto: Proto,
        range: Option<(u16, u16)>,
        addr: Option<String>,
    ) {
        if let Some((start, end)) = range.filter(|(s, e)| *s > 0 && s <= e) {
            self.0.push(Claim {
                file,
                key: key.into(),
                proto,
                start,
                end,
                addr,
            });
        }
    }

    /// A port key: its value, else the service's default when it has one (0 or -1: off).
    fn port(
        &mut self,
        file: &'static str,
        doc: &Value,
        key: &str,
        proto: Proto,
        default: Option<u16>,
    ) {
        let v = get(doc, key);
        let p = if v.is_null() {
            default.map(i64::from)
        } else {
            port_of(v)
        };
        if let Some(p) = p.and_then(|p| u16::try_from(p).ok()) {
            self.add(file, key, proto, Some((p, p)));
        }
    }
}

pub(super) fn livekit_claims(c: &mut Claims, doc: &Value) {
    let f = paths::LIVEKIT_YAML;
    c.port(f, doc, "port", Proto::Tcp, Some(7880));
    c.port(f, doc, "rtc.tcp_port", Proto::Tcp, None);
    c.add(
        f,
        "rtc.udp_port",
        Proto::Udp,
        range_of(get(doc, "rtc.udp_port")),
    );
    if let (Some(s), Some(e)) = (
        port_of(get(doc, "rtc.port_range_start")),
        port_of(get(doc, "rtc.port_range_end")),
    ) {
        let r = u16::try_from(s).ok().zip(u16::try_from(e).ok());
        c.add(f, "rtc.port_range_start", Proto::Udp, r);
    }
    c.port(f, doc, "prometheus.port", Proto::Tcp, None);
    c.port(f, doc, "prometheus_port", Proto::Tcp, None);
    if get(doc, "turn.enabled").as_bool() == Some(true) {
        // two-ips: TURN listens on its own address only (production design §12).
        let addr = get(doc, "turn.bind_addresses")
            .as_array()
            .filter(|a| a.len() == 1)
            .and_then(|a| a[0].as_str())
            .map(str::to_string);
        for (key, proto) in [("turn.udp_port", Proto::Udp), ("turn.tls_port", Proto::Tcp)] {
            let p = port_of(get(doc, key)).and_then(|p| u16::try_from(p).ok());
            c.add_at(f, key, proto, p.map(|p| (p, p)), addr.clone());
        }
        if let (Some(s), Some(e)) = (
            port_of(get(doc, "turn.relay_range_start")),
            port_of(get(doc, "turn.relay_range_end")),
        ) {
            let r = u16::try_from(s).ok().zip(u16::try_from(e).ok());
            c.add(f, "turn.relay_range_start", Proto::Udp, r);
        }
    }
}

pub(super) fn egress_claims(c: &mut Claims, doc: &Value) {
    let f = paths::EGRESS_YAML;
    c.port(f, doc, "health_port", Proto::Tcp, None);
    c.port(f, doc, "prometheus_port", Proto::Tcp, None);
    c.port(f, doc, "debug_handler_port", Proto::Tcp, None);
    // The room-composite template server (egress's default 7980, side-services facts §10).
    c.port(f, doc, "template_port", Proto::Tcp, Some(7980));
}

pub(super) fn ingress_claims(c: &mut Claims, doc: &Value) {
    use crate::config::ingress::{HTTP_RELAY_PORT, RTMP_PORT, WHIP_PORT, WHIP_UDP_PORT};
    let f = paths::INGRESS_YAML;
    c.port(f, doc, "rtmp_port", Proto::Tcp, Some(RTMP_PORT as u16));
    c.port(f, doc, "whip_port", Proto::Tcp, Some(WHIP_PORT as u16));
    c.port(f, doc, "http_relay_port", Proto::Tcp, Some(HTTP_RELAY_PORT));
    c.port(f, doc, "health_port", Proto::Tcp, None);
    c.port(f, doc, "prometheus_port", Proto::Tcp, None);
    c.port(f, doc, "debug_handler_port", Proto::Tcp, None);
    let whip_on = port_of(get(doc, "whip_port")).is_none_or(|p| p > 0);
    if whip_on {
        let udp = range_of(get(doc, "rtc_config.udp_port"));
        let range = port_of(get(doc, "rtc_config.port_range_start"))
            .zip(port_of(get(doc, "rtc_config.port_range_end")))
            .and_then(|(s, e)| u16::try_from(s).ok().zip(u16::try_from(e).ok()));
        match (udp, range) {
            (Some(u), _) => c.add(f, "rtc_config.udp_port", Proto::Udp, Some(u)),
            (None, Some(r)) => c.add(f, "rtc_config.port_range_start", Proto::Udp, Some(r)),
            (None, None) => c.add(
                f,
                "rtc_config.udp_port",
                Proto::Udp,
                Some((WHIP_UDP_PORT, WHIP_UDP_PORT)),
            ),
        }
        c.port(f, doc, "rtc_config.tcp_port", Proto::Tcp, None);
    }
}

pub(super) fn sip_claims(c: &mut Claims, doc: &Value) {
    use crate::config::sip::{RTP_PORTS, SIP_PORT, TLS_PORT};
    let f = paths::SIP_YAML;
    let listen = if get(doc, "sip_port_listen").is_null() {
        "sip_port"
    } else {
        "sip_port_listen"
    };
    // SIP listens on UDP and TCP.
    c.port(f, doc, listen, Proto::Udp, Some(SIP_PORT));
    c.port(f, doc, listen, Proto::Tcp, Some(SIP_PORT));
    if doc["tls"].is_object() {
        let key = if get(doc, "tls.port_listen").is_null() {
            "tls.port"
        } else {
            "tls.port_listen"
        };
        c.port(f, doc, key, Proto::Tcp, Some(TLS_PORT));
    }
    let rtp = range_of(get(doc, "rtp_port")).or(Some(RTP_PORTS));
    c.add(f, "rtp_port", Proto::Udp, rtp);
    c.port(f, doc, "health_port", Proto::Tcp, None);
    c.port(f, doc, "prometheus_port", Proto::Tcp, None);
    c.port(f, doc, "pprof_port", Proto::Tcp, None);
}

pub(super) fn backend_claims(c: &mut Claims, text: &str) {
    let port = hero_livekit_api::env_file::parse(text)
        .ok()
        .and_then(|v| v.get("PORT").and_then(|p| p.parse::<u16>().ok()));
    c.add(paths::BACKEND_ENV, "PORT", Proto::Tcp, port.map(|p| (p, p)));
}

/// The proxies' listeners: the Caddyfile's `http_port`/`https_port` global options (on its
/// `default_bind` address) and haproxy.cfg's `bind :PORT` lines.
pub(super) fn proxy_claims(c: &mut Claims, name: &'static str, text: &str) {
    let default_bind = text.lines().map(str::trim).find_map(|l| {
        l.strip_prefix("default_bind ")
            .filter(|a| !a.contains(' '))
            .map(|a| a.trim().to_string())
    });
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some(k @ ("http_port" | "https_port")), Some(p)) if name == CADDYFILE => {
                let p = p.parse().ok();
                c.add_at(name, k, Proto::Tcp, p.map(|p| (p, p)), default_bind.clone());
            }
            (Some("bind"), Some(addr)) if name == HAPROXY_CFG => {
                let p = addr.rsplit(':').next().and_then(|p| p.parse().ok());
                c.add(name, "bind", Proto::Tcp, p.map(|p| (p, p)));
            }
            _ => {}
        }
    }
}

fn describe(c: &Claim) -> String {
    let proto = match c.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    };
    let at = c.addr.as_ref().map_or(String::new(), |a| format!("{a}:"));
    if c.start == c.end {
        format!("{at}{}/{proto}", c.start)
    } else {
        format!("{at}{}-{}/{proto}", c.start, c.end)
    }
}

pub(super) fn port_problems(claims: &Claims, out: &mut Vec<ConfigProblem>) {
    let claims = &claims.0;
    for (i, a) in claims.iter().enumerate() {
        for b in &claims[i + 1..] {
            let same_addr = match (&a.addr, &b.addr) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            // Between services: livekit.yaml's own listeners are kept apart by [public]'s
            // checks (udp_ports and relay_ports may not overlap) and by LiveKit itself.
            let within_livekit = a.file == paths::LIVEKIT_YAML && b.file == paths::LIVEKIT_YAML;
            if a.proto == b.proto
                && same_addr
                && !within_livekit
                && a.start <= b.end
                && b.start <= a.end
            {
                out.push(problem(
                    "ports",
                    a.file,
                    b.file,
                    &a.key,
                    format!(
                        "{} {} ({}) and {} {} ({}) claim the same host port",
                        a.file,
                        a.key,
                        describe(a),
                        b.file,
                        b.key,
                        describe(b)
                    ),
                ));
            }
        }
    }
}
