//! `hero_livekit deploy init` (design §12): writes the `[public]` table into the control
//! plane's config file — in place, keeping every other line, and keeping `[public]` keys the
//! command line does not set, so it is idempotent and safe to rerun with changes — after
//! checking it exactly as the server will; then says what the operator must do outside:
//! DNS records, ports to open, packages, and the systemctl lines.

use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};

use hero_livekit_server::config::{Config, Public, Settings, Topology};

use crate::cli::DeployInitArgs;

/// The config file `deploy init` writes when none is named.
/// As root (the systemd deployment) the file lives in /etc, readable by the units' dynamic
/// user; otherwise under ~/hero/cfg.
pub fn default_config() -> PathBuf {
    if let Some(p) = std::env::var_os("HERO_LIVEKIT_CONFIG") {
        return PathBuf::from(p);
    }
    if rustix::process::getuid().is_root() {
        PathBuf::from("/etc/hero_livekit/hero_livekit_server.toml")
    } else {
        hero_livekit_api::paths::expand_tilde(Path::new("~/hero/cfg/hero_livekit_server.toml"))
    }
}

/// Writes the file atomically, keeping an existing file's mode (new files: 0644 — `[public]`
/// holds no secret, and the service user must read it).
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}

/// The address this machine would send from to the Internet: no packet is sent (a UDP
/// connect only picks a route).
fn detected_ip() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    Some(s.local_addr().ok()?.ip()).filter(|ip| !ip.is_unspecified())
}

/// Splits `text` into (before, the `[public]` section, after).
fn split_public(text: &str) -> (String, String, String) {
    let mut before = String::new();
    let mut section = String::new();
    let mut after = String::new();
    let mut state = 0;
    for line in text.split_inclusive('\n') {
        let header = line.trim_start().starts_with('[');
        if state == 0 && line.trim() == "[public]" {
            state = 1;
        } else if state == 1 && header {
            state = 2;
        }
        match state {
            0 => before.push_str(line),
            1 => section.push_str(line),
            _ => after.push_str(line),
        }
    }
    (before, section, after)
}

fn quote(v: &toml::Value) -> String {
    v.to_string()
}

/// The new file text and the checked config.
pub fn plan(args: &DeployInitArgs, current: &str, path: &Path) -> Result<(String, Config), String> {
    let (before, section, after) = split_public(current);
    let mut table: toml::Table = if section.is_empty() {
        toml::Table::new()
    } else {
        section
            .parse::<toml::Table>()
            .map_err(|e| format!("{}: [public] is not valid TOML: {e}", path.display()))?
            .get("public")
            .and_then(|t| t.as_table().cloned())
            .unwrap_or_default()
    };
    let mut set = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            table.insert(k.into(), toml::Value::String(v));
        }
    };
    set("domain", Some(args.domain.clone()));
    set("email", Some(args.email.clone()));
    set("topology", args.topology.clone());
    set("turn_domain", args.turn_domain.clone());
    set("token_domain", args.token_domain.clone());
    set("turn_ip", args.turn_ip.clone());
    set("node_ip", args.node_ip.clone());
    if args.lan {
        table.insert("lan".into(), toml::Value::Boolean(true));
    }
    if !table.contains_key("node_ip") {
        let ip = detected_ip().ok_or("cannot detect this machine's IP: pass --node-ip")?;
        table.insert("node_ip".into(), toml::Value::String(ip.to_string()));
    }
    let mut body = String::from("[public]\n");
    for (k, v) in &table {
        body.push_str(&format!("{k} = {}\n", quote(v)));
    }
    let mut text = before;
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(&body);
    if !after.is_empty() {
        text.push('\n');
        text.push_str(&after);
    }
    // Checked exactly as the server will load it.
    let settings: Settings =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let config = Config::from_settings(settings, Some(path.to_path_buf())).map_err(|e| {
        let e = e.to_string();
        if e.contains("public.node_ip") && args.node_ip.is_none() {
            format!("{e} (it was detected: pass --node-ip with the public IP, or --lan)")
        } else {
            e
        }
    })?;
    Ok((text, config))
}

/// What the operator must do outside the control plane, as printed text.
pub fn instructions(p: &Public, config_path: &Path) -> String {
    let mut out = String::new();
    out.push_str("DNS records to create:\n");
    for (d, what) in p.sites() {
        out.push_str(&format!(
            "  {d:<32} A     {:<16} ({what})\n",
            p.expected_ip(d)
        ));
    }
    if crate::deploy::has_v6(p) {
        out.push_str("  (and AAAA records for the IPv6 address of node_ip)\n");
    }
    out.push_str("\nPorts to open (firewall, cloud security group, NAT forwarding):\n");
    let mut ports: Vec<(String, &str, String)> = vec![
        (
            p.https_port.to_string(),
            "tcp",
            match p.topology {
                Topology::CaddyOnly => "HTTPS: signalling (wss) and the token endpoint".into(),
                _ => "HTTPS and TURN/TLS (clients behind strict firewalls)".into(),
            },
        ),
        (
            p.http_port.to_string(),
            "tcp",
            "ACME HTTP-01 certificate issuance, redirects".into(),
        ),
        (
            p.turn_udp_port.to_string(),
            "udp",
            "TURN/UDP (and STUN)".into(),
        ),
        ("7881".into(), "tcp", "ICE/TCP media fallback".into()),
        (p.udp_ports.to_string(), "udp", "ICE/UDP media".into()),
        (
            p.relay_ports.to_string(),
            "udp",
            "TURN relay addresses".into(),
        ),
    ];
    if let (Topology::TwoIps, Some(ip)) = (p.topology, p.turn_ip) {
        ports.push((
            format!("{ip}:{}", p.turn_tls_port.unwrap_or(443)),
            "tcp",
            "TURN/TLS on the second IP".into(),
        ));
    }
    out.push_str(&format!("  {:<14} {:<5} why\n", "port", "proto"));
    for (port, proto, why) in ports {
        out.push_str(&format!("  {port:<14} {proto:<5} {why}\n"));
    }
    if p.topology == Topology::CaddyOnly {
        out.push_str(&format!(
            "  note: {}\n",
            hero_livekit_server::config::public::CADDY_ONLY_WARNING
        ));
    }
    out.push_str("\nPackages (Debian):\n  apt-get install caddy");
    if p.topology == Topology::Sni {
        out.push_str(" haproxy");
    }
    out.push_str("\n  systemctl disable --now caddy");
    if p.topology == Topology::Sni {
        out.push_str(" haproxy");
    }
    out.push_str("   # the packages' own units; ours run the rendered files\n");
    out.push_str("\nStart everything (units in config/systemd/ of hero_livekit):\n");
    out.push_str(&format!(
        "  mkdir -p /etc/systemd/system/hero-livekit-server.service.d\n  printf '[Service]\\nExecStart=\\nExecStart=/usr/local/bin/hero_livekit_server --home /var/lib/hero_livekit --socket /run/hero_livekit_server/rpc.sock --config {}\\n' > /etc/systemd/system/hero-livekit-server.service.d/public.conf\n",
        config_path.display()
    ));
    out.push_str("  systemctl daemon-reload\n  systemctl restart hero-livekit-server lk-backend\n");
    out.push_str("  systemctl enable --now hero-livekit-caddy\n");
    if p.topology == Topology::Sni {
        out.push_str("  systemctl enable --now hero-livekit-haproxy\n");
    }
    if p.topology.has_turn_tls() {
        out.push_str("  # once Caddy has the TURN certificate (hero_livekit deploy check: turn_cert_file ok):\n");
    }
    out.push_str("  systemctl restart livekit-server\n");
    if p.admin_domain.is_some() {
        out.push_str(
            "  # the admin behind Caddy: add --secure-cookies to hero-livekit-admin's ExecStart\n",
        );
    }
    out
}

pub fn has_v6(p: &Public) -> bool {
    hero_livekit_server::config::public::node_ips(&p.node_ip)
        .unwrap_or_default()
        .iter()
        .any(IpAddr::is_ipv6)
}
