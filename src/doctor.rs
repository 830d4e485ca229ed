//! `hero_livekit doctor`: checks a deployment and prints what to fix, one line each.

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hero_livekit_api::env_file;
use hero_livekit_api::paths;

use crate::inspect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

pub struct Check {
    pub level: Level,
    pub text: String,
}

fn ok(t: impl Into<String>) -> Check {
    Check {
        level: Level::Ok,
        text: t.into(),
    }
}
fn warn(t: impl Into<String>) -> Check {
    Check {
        level: Level::Warn,
        text: t.into(),
    }
}
fn fail(t: impl Into<String>) -> Check {
    Check {
        level: Level::Fail,
        text: t.into(),
    }
}

fn mode_check(path: &Path, want: u32, out: &mut Vec<Check>) {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(fail(format!(
                    "{} is mode {mode:04o}: run `chmod {want:o} {}` (it holds secrets)",
                    path.display(),
                    path.display()
                )));
            } else {
                out.push(ok(format!("{} is private ({mode:04o})", path.display())));
            }
        }
        Err(_) => out.push(fail(format!(
            "{} is missing: start hero_livekit_server (it writes it at boot)",
            path.display()
        ))),
    }
}

fn port_free_tcp(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_ok()
}

fn port_free_udp(port: u16) -> bool {
    UdpSocket::bind(("0.0.0.0", port)).is_ok()
}

fn is_loopback_url(u: &str) -> bool {
    let host = u
        .split("://")
        .nth(1)
        .unwrap_or(u)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "localhost"
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || u.contains("[::1]")
}

/// LiveKit's default room-composite cost (egress `service.go`): the cores a host needs to take
/// one room composite at LiveKit's own sizing.
const ROOM_COMPOSITE_COST: f64 = 4.0;

/// egress.yaml, when the control plane renders one: private enough, egress answering on its
/// health port, and a host with the cores a room composite costs (side-services facts §1.7).
fn egress(home: &Path, out: &mut Vec<Check>) {
    let path = home.join(paths::EGRESS_YAML);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    match std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777) {
        // 0640 is the option for an egress container running as another user.
        Ok(mode) if mode & 0o037 != 0 => out.push(fail(format!(
            "{} is mode {mode:04o}: it holds the API secret and storage credentials; \
             run `chmod 600 {}` (or set egress.file_mode = \"0640\")",
            path.display(),
            path.display()
        ))),
        Ok(mode) => out.push(ok(format!("{} is private ({mode:04o})", path.display()))),
        Err(_) => {}
    }
    let doc: serde_json::Value = match serde_saphyr::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            out.push(fail(format!("{} is not YAML: {e}", path.display())));
            return;
        }
    };
    match doc["health_port"].as_u64().filter(|p| *p > 0) {
        None => out.push(warn(
            "egress has no health_port: its liveness cannot be checked (set egress.health_port)",
        )),
        Some(port) => {
            let url = format!("http://127.0.0.1:{port}/");
            let answer = ureq::get(&url)
                .config()
                .timeout_global(Some(std::time::Duration::from_secs(3)))
                .build()
                .call()
                .ok()
                .and_then(|r| r.into_body().read_to_string().ok())
                .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok());
            match answer {
                Some(status) => out.push(ok(format!(
                    "egress answers on its health port {port} (CPU available: {})",
                    status["CpuLoad"]
                        .as_f64()
                        .map_or("unknown".to_string(), |c| format!("{c:.1}"))
                ))),
                None => out.push(fail(format!(
                    "egress does not answer on its health port {port}: start livekit-egress \
                     with EGRESS_CONFIG_FILE={} (config/systemd/livekit-egress.service); \
                     until then every recording fails with \"no response from servers\"",
                    path.display()
                ))),
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let cost = doc["cpu_cost"]["room_composite_cpu_cost"]
        .as_f64()
        .unwrap_or(ROOM_COMPOSITE_COST);
    if cores < cost {
        out.push(warn(format!(
            "this host has {cores} cores, fewer than a room composite costs ({cost}): egress \
             turns every room composite away (\"no response from servers\"); lower \
             egress.cpu_cost.room_composite_cpu_cost or run egress on a bigger host"
        )));
    } else if cores < ROOM_COMPOSITE_COST {
        out.push(warn(format!(
            "this host has {cores} cores, fewer than LiveKit sizes a room composite for \
             ({ROOM_COMPOSITE_COST}): egress.yaml admits one at cost {cost}, and a 720p \
             recording may drop frames; give egress 4+ cores for reliable room composites"
        )));
    } else {
        out.push(ok(format!(
            "{cores} cores: room composites fit (cost {cost})"
        )));
    }
}

pub fn run(home: &Path, socket: &Path, bin_dirs: &[PathBuf]) -> Vec<Check> {
    let mut out = Vec::new();
    // The control plane.
    match std::os::unix::net::UnixStream::connect(socket) {
        Ok(_) => out.push(ok(format!("control plane answers on {}", socket.display()))),
        Err(e) => out.push(fail(format!(
            "control plane not reachable on {} ({e}): start hero_livekit_server",
            socket.display()
        ))),
    }
    // Clock: tokens carry nbf/exp and LiveKit allows only 60 s of skew.
    let now = hero_livekit_api::timefmt::now_unix();
    if now < 1_767_225_600 {
        out.push(fail(format!(
            "the clock says {}: set the time (NTP) or tokens will be refused",
            hero_livekit_api::timefmt::rfc3339(now)
        )));
    } else {
        out.push(ok(format!(
            "clock {} (keep NTP on: LiveKit allows 60 s of skew)",
            hero_livekit_api::timefmt::rfc3339(now)
        )));
    }
    // Files and modes.
    match std::fs::metadata(home) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => out.push(fail(format!(
            "{} is mode {:04o}: run `chmod 700 {}`",
            home.display(),
            m.permissions().mode() & 0o777,
            home.display()
        ))),
        Ok(_) => out.push(ok(format!("home {} is private", home.display()))),
        Err(_) => out.push(fail(format!(
            "home {} does not exist: start hero_livekit_server or pass --home",
            home.display()
        ))),
    }
    let yaml = home.join(paths::LIVEKIT_YAML);
    let env = home.join(paths::BACKEND_ENV);
    for p in [&yaml, &env, &home.join(paths::SERVER_DB)] {
        mode_check(p, 0o600, &mut out);
    }
    if home.join(paths::ADMIN_TOKEN).exists() {
        mode_check(&home.join(paths::ADMIN_TOKEN), 0o600, &mut out);
    }
    let parsed = std::fs::read_to_string(&yaml)
        .ok()
        .map(|t| hero_livekit_server::livekit_schema::check_yaml(&t));
    match &parsed {
        Some(Ok(_)) => out.push(ok("livekit.yaml uses only keys livekit-server knows")),
        Some(Err(e)) => out.push(fail(format!(
            "livekit.yaml would be refused by livekit-server: {e}"
        ))),
        None => {}
    }
    // The SFU binary.
    match inspect::find(bin_dirs) {
        None => out.push(fail(
            "livekit-server is not installed: run `hero_livekit sfu install`",
        )),
        Some(bin) => {
            match inspect::version(&bin) {
                Ok(v) => out.push(ok(format!("{} ({v})", bin.display()))),
                Err(e) => out.push(fail(format!("{} does not run: {e}", bin.display()))),
            }
            if yaml.exists() {
                match inspect::ports(&bin, &yaml) {
                    Ok(o) if o.to_lowercase().contains("error") || o.contains("could not") => out
                        .push(fail(format!(
                            "livekit-server rejects {}: {o}",
                            yaml.display()
                        ))),
                    Ok(_) => out.push(ok(format!("livekit-server accepts {}", yaml.display()))),
                    Err(e) => out.push(fail(format!(
                        "livekit-server --config {} ports failed: {e}",
                        yaml.display()
                    ))),
                }
            }
        }
    }
    // Ports (free, or held by the running SFU).
    for (port, udp) in [(7880, false), (7881, false), (7882, true)] {
        let free = if udp {
            port_free_udp(port)
        } else {
            port_free_tcp(port)
        };
        let proto = if udp { "udp" } else { "tcp" };
        if free {
            out.push(ok(format!(
                "port {port}/{proto} is free for livekit-server"
            )));
        } else {
            out.push(warn(format!(
                "port {port}/{proto} is in use: fine if livekit-server is running, else free it"
            )));
        }
    }
    // Reachability for clients outside this machine.
    let vars = std::fs::read_to_string(&env)
        .ok()
        .and_then(|t| env_file::parse(&t).ok());
    let node_ip = parsed
        .and_then(|p| p.ok())
        .and_then(|c| c.rtc)
        .and_then(|r| r.node_ip);
    egress(home, &mut out);
    if let Some(public) = vars.as_ref().and_then(|v| v.get("LIVEKIT_PUBLIC_URL")) {
        if is_loopback_url(public) {
            out.push(warn(format!("public URL {public} is loopback: only clients on this machine can connect (set --public-url and --node-ip for a real deployment)")));
        } else if node_ip.is_none() {
            out.push(fail(format!("public URL {public} is not local but rtc.node_ip is unset: set --node-ip to this machine's public IP")));
        } else {
            out.push(ok(format!(
                "public URL {public}, node IP {}",
                node_ip.unwrap_or_default()
            )));
        }
    }
    out
}
