//! `deploy.check` (design §12, production facts §7.3): every check of a public deployment, each
//! with a status and, when it fails, the cause and the fix in one line. Network checks are
//! bounded and run concurrently; nothing here changes anything.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{CheckItem, CheckStatus, DeployCheck};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ports::{self, Proto};
use super::validate::{self, Validator, Verdict};
use super::{
    CADDYFILE, HAPROXY_CFG, TURN_CERT, TURN_KEY, certs, haproxy, stun, tls_probe, turn_cert,
};
use crate::config::public::{CADDY_ONLY_WARNING, non_public};
use crate::config::{Config, Public, Topology};

/// Expiry thresholds in days (warn below 14, error below 3).
const WARN_DAYS: i64 = 14;
const ERROR_DAYS: i64 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);
/// The room and identity the WebSocket check joins for an instant (hidden).
pub const CHECK_ROOM: &str = "hero-livekit-deploy-check";

fn item(
    check: &str,
    subject: Option<&str>,
    status: CheckStatus,
    message: impl Into<String>,
    fix: Option<String>,
) -> CheckItem {
    CheckItem {
        check: check.into(),
        subject: subject.map(str::to_string),
        status,
        message: message.into(),
        fix,
    }
}

fn ok(check: &str, subject: Option<&str>, message: impl Into<String>) -> CheckItem {
    item(check, subject, CheckStatus::Ok, message, None)
}

fn bad(
    check: &str,
    subject: Option<&str>,
    status: CheckStatus,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> CheckItem {
    item(check, subject, status, message, Some(fix.into()))
}

/// The credentials the TURN check signs with (the active key).
pub struct Signer {
    pub api_key: String,
    pub secret: String,
}

/// Runs every check. `resolve` pins names to addresses (DNS is then not consulted).
pub async fn run(
    config: &Config,
    signer: Option<Signer>,
    resolve: &BTreeMap<String, String>,
) -> DeployCheck {
    let Some(p) = &config.public else {
        return DeployCheck {
            configured: false,
            topology: None,
            ok: true,
            checks: vec![item(
                "config",
                None,
                CheckStatus::Skip,
                "no [public] table: this is the loopback deployment (ws://127.0.0.1:7880)",
                Some(
                    "run `hero_livekit deploy init --domain D --email E` to set up a public domain"
                        .into(),
                ),
            )],
        };
    };
    let pinned: BTreeMap<String, IpAddr> = resolve
        .iter()
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.parse().ok()?)))
        .collect();
    let addr = |domain: &str| -> IpAddr {
        pinned
            .get(domain)
            .copied()
            .unwrap_or_else(|| p.expected_ip(domain))
    };
    let mut checks = consistency(config, p);
    checks.extend(dns(p, &pinned).await);
    checks.extend(node_ip(p));
    checks.extend(binds(p, config));
    checks.extend(proxy_configs(config, p));
    let https = |d: &str| SocketAddr::new(addr(d), p.https_port);
    let cert_checks = p
        .sites()
        .into_iter()
        .filter(|(d, _)| Some(*d) != p.turn_domain.as_deref())
        .map(|(d, _)| certificate(d.to_string(), https(d)));
    let (certs, turn_served, signalling, token, stun_check, turn_tls) = tokio::join!(
        futures_util::future::join_all(cert_checks),
        turn_served(config, p, p.turn_domain.as_deref().map(&https)),
        signalling(p, https(&p.domain), signer.as_ref()),
        token_endpoint(p, https(&p.token_domain)),
        stun_binding(p),
        turn_tls(p, p.turn_domain.as_deref().map(https), signer.as_ref()),
    );
    checks.extend(certs);
    checks.push(turn_cert_file(config, p));
    checks.push(turn_served);
    checks.extend(signalling);
    checks.push(token);
    checks.push(stun_check);
    checks.push(turn_tls);
    checks.push(item(
        "outside",
        None,
        CheckStatus::Info,
        "these checks ran on this machine: reachability from the Internet (firewalls, NAT, the UDP ranges) can only be proven from outside — hairpin NAT makes self-tests look better than they are",
        Some(format!(
            "from another network, open {} in a LiveKit client, or run a STUN/TURN test against {}:{}/udp",
            p.public_url(),
            p.node_ipv4(),
            p.turn_udp_port
        )),
    ));
    DeployCheck {
        configured: true,
        topology: Some(p.topology.name().into()),
        ok: !checks.iter().any(|c| c.status == CheckStatus::Error),
        checks,
    }
}

/// Config consistency: the rendered livekit.yaml agrees with [public], and the topology's
/// known traps (production facts §7.3, first row).
fn consistency(config: &Config, p: &Public) -> Vec<CheckItem> {
    let mut out = Vec::new();
    let yaml_path = config.path(hero_livekit_api::paths::LIVEKIT_YAML);
    let doc = std::fs::read_to_string(&yaml_path)
        .ok()
        .and_then(|t| serde_saphyr::from_str::<serde_json::Value>(&t).ok());
    let mut problems = Vec::new();
    match &doc {
        None => problems.push(format!("{} is missing or unreadable", yaml_path.display())),
        Some(d) => {
            let rtc = &d["rtc"];
            let turn = &d["turn"];
            if rtc["use_external_ip"] == serde_json::Value::Bool(true) && !rtc["node_ip"].is_null()
            {
                problems.push("rtc.use_external_ip is true while node_ip is set: LiveKit would ignore node_ip".into());
            }
            if rtc["node_ip"].as_str() != Some(p.node_ip.as_str()) {
                problems.push(format!(
                    "livekit.yaml rtc.node_ip is {} but [public] node_ip is {}",
                    rtc["node_ip"], p.node_ip
                ));
            }
            let tls_port = turn["tls_port"].as_u64().unwrap_or(0);
            if tls_port > 0
                && !turn["domain"]
                    .as_str()
                    .is_some_and(super::super::config::public::valid_domain)
            {
                problems.push(format!("turn.tls_port is {tls_port} but turn.domain {} is not a valid domain (LiveKit: \"TURN domain is not correct\")", turn["domain"]));
            }
            if p.topology == Topology::CaddyOnly && tls_port > 0 {
                problems.push("turn.tls_port is set with caddy-only: LiveKit advertises turns:<domain>:443, which reaches Caddy and fails".into());
            }
            if turn["udp_port"].as_u64() == Some(u64::from(p.https_port))
                && p.topology != Topology::Sni
            {
                // We render `protocols h1 h2` then; a hand-edited Caddyfile could still enable h3.
                let caddyfile = std::fs::read_to_string(config.path(CADDYFILE)).unwrap_or_default();
                if !caddyfile.contains("protocols h1 h2") {
                    problems.push(format!(
                        "TURN/UDP uses {}/udp while Caddy has HTTP/3 on it",
                        p.https_port
                    ));
                }
            }
        }
    }
    if config.public_url != p.public_url() {
        out.push(bad(
            "config",
            Some("public_url"),
            CheckStatus::Warn,
            format!(
                "public_url is {} but the signalling domain is served at {}",
                config.public_url,
                p.public_url()
            ),
            "remove public_url from the config: with [public] it follows the domain",
        ));
    }
    if problems.is_empty() {
        out.push(ok("config", None, format!(
            "livekit.yaml agrees with [public] (topology {}, node_ip {}, use_external_ip false)",
            p.topology.name(), p.node_ip
        )));
    } else {
        out.push(bad("config", None, CheckStatus::Error, problems.join("; "),
            "restart hero_livekit_server to re-render livekit.yaml (remove the conflicting [livekit_overrides])"));
    }
    if p.topology == Topology::CaddyOnly {
        out.push(bad(
            "config",
            Some("topology"),
            CheckStatus::Warn,
            format!("topology caddy-only: {CADDY_ONLY_WARNING}"),
            "use topology sni (HAProxy in front of Caddy) to serve TURN/TLS on 443",
        ));
    }
    out
}

async fn lookup(domain: &str) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((domain, 443))).await {
        Err(_) => Err("DNS did not answer in time".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(addrs)) => {
            let mut v: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            v.sort();
            v.dedup();
            Ok(v)
        }
    }
}

/// DNS: every domain's A and AAAA against node_ip (production facts §7.3).
async fn dns(p: &Public, pinned: &BTreeMap<String, IpAddr>) -> Vec<CheckItem> {
    let sites = p.sites();
    let answers = futures_util::future::join_all(sites.iter().map(|(d, _)| async move {
        match pinned.get(*d) {
            Some(ip) => (true, Ok(vec![*ip])),
            None => (false, lookup(d).await),
        }
    }))
    .await;
    let node_ips = crate::config::public::node_ips(&p.node_ip).unwrap_or_default();
    let has_v6 = node_ips.iter().any(IpAddr::is_ipv6);
    sites
        .iter()
        .zip(answers)
        .map(|((d, what), (was_pinned, answer))| {
            let want = p.expected_ip(d);
            let ips = match answer {
                Err(e) => {
                    return bad("dns", Some(d), CheckStatus::Error,
                        format!("{d} ({what}) does not resolve: {e}"),
                        format!("create an A record {d} → {want}"));
                }
                Ok(ips) => ips,
            };
            let shown = ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let v4: Vec<&IpAddr> = ips.iter().filter(|i| i.is_ipv4()).collect();
            let v6: Vec<&IpAddr> = ips.iter().filter(|i| i.is_ipv6()).collect();
            if want.is_ipv4() && !v4.contains(&&want) {
                return bad("dns", Some(d), CheckStatus::Error,
                    format!("{d} resolves to {shown}, node_ip is {want}"),
                    format!("point the A record of {d} at {want}"));
            }
            if !v6.is_empty() && !has_v6 {
                return bad("dns", Some(d), CheckStatus::Error,
                    format!("{d} has an AAAA record ({}) but node_ip has no IPv6 address: IPv6 clients get no media", v6.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
                    format!("remove the AAAA record of {d}, or add the IPv6 address to public.node_ip (\"ipv4,ipv6\")"));
            }
            if was_pinned {
                item("dns", Some(d), CheckStatus::Warn,
                    format!("{d} pinned to {shown} by resolve: DNS was not consulted"),
                    Some(format!("check the A record of {d} → {want} once it exists")))
            } else {
                ok("dns", Some(d), format!("{d} resolves to {shown}"))
            }
        })
        .collect()
}

/// Whether this machine has `ip` on one of its interfaces (binding to it succeeds).
fn is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// node_ip sanity: public, and (sni) what HAProxy dials for TURN/TLS.
fn node_ip(p: &Public) -> Vec<CheckItem> {
    let ips = crate::config::public::node_ips(&p.node_ip).unwrap_or_default();
    let mut out = Vec::new();
    match ips.iter().find_map(|ip| non_public(*ip).map(|k| (ip, k))) {
        Some((ip, kind)) if p.lan => out.push(bad("node_ip", None, CheckStatus::Warn,
            format!("node_ip {ip} is {kind} (lan = true): only clients on that network can reach media"),
            "for clients on the Internet set public.node_ip to the public IP and lan = false")),
        Some((ip, kind)) => out.push(bad("node_ip", None, CheckStatus::Error,
            format!("node_ip {ip} is {kind}; public clients cannot reach media"),
            "set public.node_ip to this machine's public IP (or lan = true for a LAN-only deployment)")),
        None => out.push(ok("node_ip", None, format!("node_ip {} is public", p.node_ip))),
    }
    if p.topology == Topology::Sni {
        let up = haproxy::turn_upstream(p);
        out.push(if up.is_loopback() {
            bad("node_ip", Some("turn_upstream"), CheckStatus::Warn,
                format!("HAProxy dials {up} for TURN/TLS: LiveKit reports that loopback peer in XOR-MAPPED-ADDRESS and Firefox rejects it (no relay candidate)"),
                "set public.turn_upstream_ip to this host's non-loopback address")
        } else if !is_local(up) {
            bad("node_ip", Some("turn_upstream"), CheckStatus::Error,
                format!("HAProxy dials {up} for TURN/TLS, but {up} is not an address of this machine (1:1 NAT?)"),
                "set public.turn_upstream_ip to this host's own (private) address")
        } else {
            ok("node_ip", Some("turn_upstream"), format!("HAProxy dials {up} for TURN/TLS, an address of this machine"))
        });
    }
    out
}

/// A port and what should hold it.
struct Bind {
    proto: Proto,
    ports: std::ops::RangeInclusive<u16>,
    why: String,
    /// Process names that belong there (`None`: the port must stay free).
    owner: Option<&'static [&'static str]>,
    start: &'static str,
}

/// Local binds (production facts §7.3): each port free or held by its owner; the holder named.
fn binds(p: &Public, config: &Config) -> Vec<CheckItem> {
    const LIVEKIT: &[&str] = &["livekit-server", "livekit"];
    let front: (&'static [&'static str], &'static str) = match p.topology {
        Topology::Sni => (&["haproxy"], "hero-livekit-haproxy"),
        _ => (&["caddy"], "hero-livekit-caddy"),
    };
    let mut list = vec![
        Bind {
            proto: Proto::Tcp,
            ports: p.https_port..=p.https_port,
            why: "HTTPS and TURN/TLS".into(),
            owner: Some(front.0),
            start: front.1,
        },
        Bind {
            proto: Proto::Tcp,
            ports: p.http_port..=p.http_port,
            why: "ACME HTTP-01 and redirects".into(),
            owner: Some(front.0),
            start: front.1,
        },
        Bind {
            proto: Proto::Udp,
            ports: p.turn_udp_port..=p.turn_udp_port,
            why: "TURN/UDP".into(),
            owner: Some(LIVEKIT),
            start: "livekit-server",
        },
        Bind {
            proto: Proto::Tcp,
            ports: crate::render::SFU_RTC_TCP_PORT..=crate::render::SFU_RTC_TCP_PORT,
            why: "ICE/TCP".into(),
            owner: Some(LIVEKIT),
            start: "livekit-server",
        },
        Bind {
            proto: Proto::Udp,
            ports: p.udp_ports.start..=p.udp_ports.end,
            why: "ICE/UDP media".into(),
            owner: Some(LIVEKIT),
            start: "livekit-server",
        },
        Bind {
            proto: Proto::Tcp,
            ports: config.sfu_port..=config.sfu_port,
            why: "LiveKit signalling (behind the proxy)".into(),
            owner: Some(LIVEKIT),
            start: "livekit-server",
        },
    ];
    if p.turn_udp_port != p.https_port {
        list.push(Bind {
            proto: Proto::Udp,
            ports: p.https_port..=p.https_port,
            why: "should stay free (HTTP/3 there collides with TURN/UDP setups)".into(),
            owner: None,
            start: "",
        });
    }
    if let (Topology::Sni, Some(t)) = (p.topology, p.turn_tls_port) {
        list.push(Bind {
            proto: Proto::Tcp,
            ports: t..=t,
            why: "LiveKit's TURN/TLS (behind HAProxy)".into(),
            owner: Some(LIVEKIT),
            start: "livekit-server",
        });
        list.push(Bind {
            proto: Proto::Tcp,
            ports: p.caddy_https_port..=p.caddy_https_port,
            why: "Caddy (behind HAProxy)".into(),
            owner: Some(&["caddy"]),
            start: "hero-livekit-caddy",
        });
    }
    list.into_iter()
        .map(|b| {
            let label = if b.ports.start() == b.ports.end() {
                format!("{}/{}", b.ports.start(), b.proto.name())
            } else {
                format!("{}-{}/{}", b.ports.start(), b.ports.end(), b.proto.name())
            };
            let holders = ports::holders(b.proto, b.ports.clone());
            let Some(owners) = b.owner else {
                return match holders.first() {
                    None => ok(
                        "binds",
                        Some(&label),
                        format!("{label} is free ({})", b.why),
                    ),
                    Some(h) => bad(
                        "binds",
                        Some(&label),
                        CheckStatus::Warn,
                        format!("{label} held by {h}: it {}", b.why),
                        "turn HTTP/3 off in that program",
                    ),
                };
            };
            let foreign = holders.iter().find(|h| {
                h.process
                    .as_deref()
                    .is_some_and(|n| !owners.iter().any(|o| n.contains(o)))
            });
            if let Some(h) = foreign {
                return bad(
                    "binds",
                    Some(&label),
                    CheckStatus::Error,
                    format!("{label} ({}) held by {h}", b.why),
                    format!(
                        "stop or move {} so that {} can bind {label}",
                        h.process.as_deref().unwrap_or("it"),
                        b.start
                    ),
                );
            }
            match holders.first() {
                None => bad(
                    "binds",
                    Some(&label),
                    CheckStatus::Warn,
                    format!("nothing listens on {label} ({})", b.why),
                    format!("start {}", b.start),
                ),
                Some(h) => ok(
                    "binds",
                    Some(&label),
                    format!("{label} ({}) held by {h}", b.why),
                ),
            }
        })
        .collect()
}

/// `caddy validate` on the Caddyfile on disk (and `haproxy -c` on haproxy.cfg), verbatim.
fn proxy_configs(config: &Config, p: &Public) -> Vec<CheckItem> {
    let mut files = vec![("caddy_config", CADDYFILE, Validator::Caddy)];
    if p.topology == Topology::Sni {
        files.push(("haproxy_config", HAPROXY_CFG, Validator::Haproxy));
    }
    files
        .into_iter()
        .map(|(check, name, v)| {
            let path = config.path(name);
            if let Some(refused) = super::files::last_refusal(&path) {
                return bad(
                    check,
                    Some(name),
                    CheckStatus::Error,
                    format!(
                        "the latest render of {} was refused, the file on disk is older: {refused}",
                        path.display()
                    ),
                    "fix the [public] setting the message names and restart hero_livekit_server",
                );
            }
            if !path.exists() {
                return bad(
                    check,
                    Some(name),
                    CheckStatus::Error,
                    format!("{} is missing", path.display()),
                    "restart hero_livekit_server (it writes it at boot)",
                );
            }
            match validate::file(v, &path) {
                Verdict::Valid => ok(
                    check,
                    Some(name),
                    format!("{} -c/validate accepts {}", v.program(), path.display()),
                ),
                Verdict::Invalid(t) => bad(
                    check,
                    Some(name),
                    CheckStatus::Error,
                    t,
                    format!(
                        "fix {} (or delete it: hero_livekit_server rewrites it)",
                        path.display()
                    ),
                ),
                Verdict::Unchecked(why) => bad(
                    check,
                    Some(name),
                    CheckStatus::Warn,
                    format!("{} not validated: {why}", path.display()),
                    format!("apt-get install {}", v.program()),
                ),
            }
        })
        .collect()
}

/// The certificate served for `domain`: present, trusted, names the domain, not expiring.
async fn certificate(domain: String, addr: SocketAddr) -> CheckItem {
    let d = domain.as_str();
    let chain = match tls_probe::served_chain(addr, d).await {
        Ok(c) => c,
        Err(e) => {
            return bad(
                "certificate",
                Some(d),
                CheckStatus::Error,
                format!("no certificate for {d} on {addr}: {e}"),
                "start the proxy and Caddy, and check Caddy's log for the ACME order of this name",
            );
        }
    };
    let Some(leaf) = chain.first().and_then(|c| certs::info(c).ok()) else {
        return bad(
            "certificate",
            Some(d),
            CheckStatus::Error,
            format!("{addr} served no readable certificate for {d}"),
            "check Caddy's log",
        );
    };
    if !leaf.covers(d) {
        return bad(
            "certificate",
            Some(d),
            CheckStatus::Error,
            format!(
                "SAN mismatch: {addr} serves a certificate for {} to {d}",
                leaf.dns_names.join(", ")
            ),
            format!(
                "add a site for {d} (restart hero_livekit_server to re-render the Caddyfile) and let Caddy obtain it"
            ),
        );
    }
    if let Err(why) = tls_probe::trusted(&chain, d) {
        return bad(
            "certificate",
            Some(d),
            CheckStatus::Error,
            format!("chain untrusted for {d} (issuer {}): {why}", leaf.issuer),
            "use a public CA (public.acme_ca unset = Let's Encrypt); staging and self-signed certificates are refused by clients",
        );
    }
    days(
        &leaf,
        "certificate",
        d,
        "Caddy renews a third of the lifetime before expiry: check its log and that port 80 reaches it",
    )
}

fn days(leaf: &certs::CertInfo, check: &str, d: &str, fix: &str) -> CheckItem {
    let left = leaf.days_left(now_unix());
    let msg = format!(
        "{d}: trusted, expires {} ({left} days)",
        rfc3339(leaf.not_after)
    );
    if left < ERROR_DAYS {
        bad(
            check,
            Some(d),
            CheckStatus::Error,
            if leaf.not_after <= now_unix() {
                format!("{d}: expired at {}", rfc3339(leaf.not_after))
            } else {
                msg
            },
            fix,
        )
    } else if left < WARN_DAYS {
        bad(check, Some(d), CheckStatus::Warn, msg, fix)
    } else {
        ok(check, Some(d), msg)
    }
}

/// The copy livekit.yaml names: names turn_domain, its key matches, LiveKit's user reads it.
fn turn_cert_file(config: &Config, p: &Public) -> CheckItem {
    let Some(turn) = p
        .turn_domain
        .as_deref()
        .filter(|_| p.topology.has_turn_tls())
    else {
        return item(
            "turn_cert_file",
            None,
            CheckStatus::Skip,
            format!("no TURN/TLS with topology {}", p.topology.name()),
            None,
        );
    };
    let crt = config.path(TURN_CERT);
    let key = config.path(TURN_KEY);
    let (Ok(pem), Ok(key_pem)) = (std::fs::read(&crt), std::fs::read(&key)) else {
        let caddy = turn_cert::caddy_files(&config.home, p);
        return bad(
            "turn_cert_file",
            Some(turn),
            CheckStatus::Error,
            format!(
                "{} is missing: {}",
                crt.display(),
                if caddy.is_some() {
                    "Caddy has it but it was not copied yet"
                } else {
                    "Caddy has not obtained a certificate for it yet"
                }
            ),
            format!(
                "start hero-livekit-caddy and let it obtain {turn} (port 80 must reach it); the control plane copies it within seconds"
            ),
        );
    };
    let chain = match certs::chain_from_pem(&pem) {
        Ok(c) => c,
        Err(e) => {
            return bad(
                "turn_cert_file",
                Some(turn),
                CheckStatus::Error,
                format!("{}: {e}", crt.display()),
                "delete it; the control plane copies Caddy's again",
            );
        }
    };
    let Ok(leaf) = certs::info(&chain[0]) else {
        return bad(
            "turn_cert_file",
            Some(turn),
            CheckStatus::Error,
            format!("{}: unreadable certificate", crt.display()),
            "delete it; the control plane copies Caddy's again",
        );
    };
    if !leaf.covers(turn) {
        return bad(
            "turn_cert_file",
            Some(turn),
            CheckStatus::Error,
            format!(
                "SAN lacks {turn}: {} names {}",
                crt.display(),
                leaf.dns_names.join(", ")
            ),
            "delete it; the control plane copies Caddy's certificate for turn_domain again",
        );
    }
    if let Err(e) = certs::key_matches(&chain, &key_pem) {
        return bad(
            "turn_cert_file",
            Some(turn),
            CheckStatus::Error,
            format!(
                "{}: {e} (LiveKit: \"TURN tls cert required: tls: private key does not match public key\")",
                key.display()
            ),
            "delete both files; the control plane copies a matching pair from Caddy",
        );
    }
    let me = rustix::process::getuid().as_raw();
    for f in [&crt, &key] {
        if let Ok(m) = std::fs::metadata(f) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                return bad(
                    "turn_cert_file",
                    Some(turn),
                    CheckStatus::Error,
                    format!(
                        "{} is mode {mode:04o}: the private key must never be world-readable",
                        f.display()
                    ),
                    format!("chmod 600 {}", f.display()),
                );
            }
            if m.uid() != me && mode & 0o040 == 0 {
                return bad(
                    "turn_cert_file",
                    Some(turn),
                    CheckStatus::Error,
                    format!(
                        "{} is owned by uid {} (mode {mode:04o}): unreadable by LiveKit, which runs as this user (uid {me})",
                        f.display(),
                        m.uid()
                    ),
                    format!(
                        "chown it to uid {me}, or delete it so the control plane copies it again"
                    ),
                );
            }
        }
    }
    days(
        &leaf,
        "turn_cert_file",
        turn,
        "Caddy renews it; the control plane copies the renewal (check that Caddy runs)",
    )
}

/// Served-versus-disk: LiveKit loads its TURN certificate once (production facts §2.1); and
/// the public TURN name must reach that listener, not Caddy.
async fn turn_served(config: &Config, p: &Public, public_addr: Option<SocketAddr>) -> CheckItem {
    let Some(turn) = p
        .turn_domain
        .as_deref()
        .filter(|_| p.topology.has_turn_tls())
    else {
        return item(
            "turn_cert_served",
            None,
            CheckStatus::Skip,
            format!("no TURN/TLS with topology {}", p.topology.name()),
            None,
        );
    };
    let Some((disk, written)) = turn_cert::on_disk(config) else {
        return item(
            "turn_cert_served",
            Some(turn),
            CheckStatus::Skip,
            "no TURN certificate on disk yet (see turn_cert_file)",
            None,
        );
    };
    let listener = turn_cert::listener(p).expect("TURN/TLS topology");
    let live = match turn_cert::served(p).await {
        Ok(l) => l,
        Err(e) => {
            return bad(
                "turn_cert_served",
                Some(turn),
                CheckStatus::Error,
                format!("LiveKit's TURN/TLS listener {listener} does not answer: {e}"),
                "start livekit-server (it needs the TURN certificate files to start)",
            );
        }
    };
    if live.sha256 != disk.sha256 {
        return bad(
            "turn_cert_served",
            Some(turn),
            CheckStatus::Error,
            format!(
                "TURN certificate renewed at {}; LiveKit still serves the one from its start (serial {}, expires {}; on disk: serial {}) — it loads the file once (LK pkg/service/turn.go)",
                rfc3339(written),
                live.serial,
                rfc3339(live.not_after),
                disk.serial
            ),
            "restart livekit-server when convenient (before the old one expires); live rooms are dropped, so prefer a moment with none",
        );
    }
    if let Some(addr) = public_addr {
        match tls_probe::served_chain(addr, turn)
            .await
            .map(|c| c.first().map(|l| certs::fingerprint(l)))
        {
            Ok(Some(fp)) if fp == disk.sha256 => {}
            Ok(_) => {
                return bad(
                    "turn_cert_served",
                    Some(turn),
                    CheckStatus::Error,
                    format!(
                        "{addr} with SNI {turn} does not reach LiveKit's TURN listener (another certificate answers): LiveKit advertises turns:{turn}:443"
                    ),
                    "route the TURN name to LiveKit's tls_port (topology sni: restart hero-livekit-haproxy with the rendered haproxy.cfg)",
                );
            }
            Err(e) => {
                return bad(
                    "turn_cert_served",
                    Some(turn),
                    CheckStatus::Error,
                    format!("TURN/TLS through {addr} fails: {e}"),
                    "start the proxy that owns the HTTPS port",
                );
            }
        }
    }
    ok(
        "turn_cert_served",
        Some(turn),
        format!(
            "LiveKit serves the certificate on disk (serial {}, expires {})",
            live.serial,
            rfc3339(live.not_after)
        ),
    )
}

/// Reads an HTTP response head (and a little body) from a stream.
async fn http_exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
    request: String,
) -> Result<(u16, String), String> {
    s.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(TIMEOUT, s.read(&mut chunk))
            .await
            .map_err(|_| "no answer in time".to_string())?
            .map_err(|e| e.to_string())?;
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if n == 0 || buf.len() > 64 * 1024 {
            return parse_response(&text);
        }
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let status = parse_response(head)?.0;
            // 101 has no body; otherwise the whole Content-Length (or EOF, above).
            if status == 101 || content_length(head).is_some_and(|l| body.len() >= l) {
                return Ok((status, body.to_string()));
            }
        }
    }
}

fn content_length(head: &str) -> Option<usize> {
    head.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn parse_response(text: &str) -> Result<(u16, String), String> {
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP response: {:?}",
                text.chars().take(60).collect::<String>()
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn authority(domain: &str, port: u16) -> String {
    if port == 443 {
        domain.to_string()
    } else {
        format!("{domain}:{port}")
    }
}

/// Signalling through the proxy: `GET /` answers `OK` (LiveKit's health) and `/rtc` upgrades.
async fn signalling(p: &Public, addr: SocketAddr, signer: Option<&Signer>) -> Vec<CheckItem> {
    let d = p.domain.as_str();
    let host = authority(d, p.https_port);
    let mut out = Vec::new();
    let get = async {
        let mut s = tls_probe::connect(addr, d, &["http/1.1"]).await?.stream;
        http_exchange(
            &mut s,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await
    };
    out.push(match get.await {
        Ok((200, body)) if body.trim() == "OK" => ok(
            "signalling",
            Some("GET /"),
            format!("https://{host}/ answers OK (LiveKit through the proxy)"),
        ),
        Ok((502, _)) | Ok((503, _)) => bad(
            "signalling",
            Some("GET /"),
            CheckStatus::Error,
            format!("https://{host}/ answers 502/503: the proxy cannot reach livekit-server"),
            "start livekit-server (it listens on 127.0.0.1's sfu_port behind Caddy)",
        ),
        Ok((status, body)) => bad(
            "signalling",
            Some("GET /"),
            CheckStatus::Error,
            format!(
                "https://{host}/ answers {status} {:?}, not LiveKit's OK",
                body.trim().chars().take(80).collect::<String>()
            ),
            "check that the Caddyfile on disk is the rendered one and Caddy runs it",
        ),
        Err(e) => bad(
            "signalling",
            Some("GET /"),
            CheckStatus::Error,
            format!("https://{host}/: {e}"),
            "start the proxy and Caddy",
        ),
    });
    let Some(signer) = signer else {
        out.push(item(
            "signalling",
            Some("WebSocket"),
            CheckStatus::Skip,
            "no active key to sign the WebSocket check with",
            None,
        ));
        return out;
    };
    let token =
        livekit_api::access_token::AccessToken::with_api_key(&signer.api_key, &signer.secret)
            .with_identity("hero-livekit-deploy-check")
            .with_ttl(Duration::from_secs(60))
            .with_grants(livekit_api::access_token::VideoGrants {
                room_join: true,
                room: CHECK_ROOM.into(),
                hidden: true,
                can_publish: Some(false),
                can_subscribe: Some(false),
                ..Default::default()
            })
            .to_jwt();
    let Ok(token) = token else {
        out.push(item(
            "signalling",
            Some("WebSocket"),
            CheckStatus::Skip,
            "could not sign a check token",
            None,
        ));
        return out;
    };
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).expect("OS random");
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let ws = async {
        let mut s = tls_probe::connect(addr, d, &["http/1.1"]).await?.stream;
        let r = http_exchange(&mut s, format!(
            "GET /rtc?access_token={token}&auto_subscribe=0 HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )).await;
        // Leave at once: a close frame (masked, status 1000).
        let _ = s.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]).await;
        let _ = s.shutdown().await;
        r
    };
    out.push(match ws.await {
        Ok((101, _)) => ok("signalling", Some("WebSocket"), format!("wss://{host}/rtc upgrades (101) through the proxy")),
        Ok((status, body)) => bad("signalling", Some("WebSocket"), CheckStatus::Error,
            format!("wss://{host}/rtc answered {status} {:?} instead of 101: the proxy does not upgrade WebSockets (or LiveKit refused the check token)", body.trim().chars().take(80).collect::<String>()),
            "serve the domain with the rendered Caddyfile (reverse_proxy passes upgrades); if LiveKit refused the token, restart it to load the current keys"),
        Err(e) => bad("signalling", Some("WebSocket"), CheckStatus::Error, format!("wss://{host}/rtc: {e}"), "start the proxy and Caddy"),
    });
    out
}

/// The token endpoint through the proxy: lk-backend's `/health`.
async fn token_endpoint(p: &Public, addr: SocketAddr) -> CheckItem {
    let d = p.token_domain.as_str();
    let host = authority(d, p.https_port);
    let r = async {
        let mut s = tls_probe::connect(addr, d, &["http/1.1"]).await?.stream;
        http_exchange(
            &mut s,
            format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await
    };
    match r.await {
        Ok((200, _)) => ok(
            "token_endpoint",
            Some(d),
            format!(
                "https://{host}/health answers 200 (lk-backend through the proxy); tokens at {}",
                p.token_url()
            ),
        ),
        Ok((status, _)) => bad(
            "token_endpoint",
            Some(d),
            CheckStatus::Error,
            format!(
                "https://{host}/health answers {status}: lk-backend is not reached through the proxy"
            ),
            "start lk-backend (it listens on backend_port behind Caddy)",
        ),
        Err(e) => bad(
            "token_endpoint",
            Some(d),
            CheckStatus::Error,
            format!("https://{host}/health: {e}"),
            "start the proxy and Caddy",
        ),
    }
}

/// A STUN Binding on node_ip's TURN/UDP port.
async fn stun_binding(p: &Public) -> CheckItem {
    let server = SocketAddr::new(p.node_ipv4(), p.turn_udp_port);
    match stun::binding_udp(server).await {
        Ok(mapped) => ok(
            "stun",
            Some(&server.to_string()),
            format!("STUN Binding on {server}/udp answered (it sees this machine as {mapped})"),
        ),
        Err(e) => bad(
            "stun",
            Some(&server.to_string()),
            CheckStatus::Error,
            format!("{e} ({server})"),
            format!(
                "start livekit-server with TURN enabled, and open {}/udp in the firewall",
                p.turn_udp_port
            ),
        ),
    }
}

/// A TURN Allocate over TLS on the TURN name, with credentials LiveKit accepts.
async fn turn_tls(p: &Public, addr: Option<SocketAddr>, signer: Option<&Signer>) -> CheckItem {
    let (Some(addr), Some(turn)) = (
        addr,
        p.turn_domain
            .as_deref()
            .filter(|_| p.topology.has_turn_tls()),
    ) else {
        return item(
            "turn_tls",
            None,
            CheckStatus::Skip,
            format!("no TURN/TLS with topology {}", p.topology.name()),
            None,
        );
    };
    let Some(signer) = signer else {
        return item(
            "turn_tls",
            Some(turn),
            CheckStatus::Skip,
            "no active key to mint TURN credentials with",
            None,
        );
    };
    let expiry = now_unix() + 60;
    let (user, pass) =
        stun::livekit_credentials(&signer.api_key, &signer.secret, "PA_deploycheck", expiry);
    let r = async {
        let mut s = tls_probe::connect(addr, turn, &[]).await?.stream;
        tokio::time::timeout(TIMEOUT, stun::allocate(&mut s, &user, &pass))
            .await
            .map_err(|_| "no TURN answer in time".to_string())?
    };
    match r.await {
        Err(e) => bad(
            "turn_tls",
            Some(turn),
            CheckStatus::Error,
            format!("TURN Allocate over TLS to {turn} via {addr}: {e}"),
            "check that turns:<turn_domain>:443 reaches LiveKit's TURN/TLS (see turn_cert_served) and that LiveKit runs the current keys",
        ),
        Ok(a) => {
            let want = p.node_ipv4();
            if a.relayed.ip() != want {
                return bad(
                    "turn_tls",
                    Some(turn),
                    CheckStatus::Error,
                    format!("relayed address {} ≠ node_ip {want}", a.relayed),
                    "set public.node_ip to the address LiveKit relays from",
                );
            }
            match a.mapped {
                Some(m) if m.ip().is_loopback() => bad(
                    "turn_tls",
                    Some(turn),
                    CheckStatus::Warn,
                    format!(
                        "TURN/TLS allocates (relay {}), but XOR-MAPPED-ADDRESS is {} (Firefox will reject: dial a non-loopback upstream)",
                        a.relayed,
                        m.ip()
                    ),
                    "set public.turn_upstream_ip to this host's non-loopback address",
                ),
                _ => ok(
                    "turn_tls",
                    Some(turn),
                    format!("TURN Allocate over TLS via {addr} relays at {}", a.relayed),
                ),
            }
        }
    }
}
