//! `hero_livekit doctor`: checks a deployment and prints what to fix, one line each.

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hero_livekit_api::methods::{ConfigGet, Method, NodeListM, StatusM};
use hero_livekit_api::timefmt::{now_unix, parse_rfc3339};
use hero_livekit_api::types::{ClusterStatus, FleetSummary, NoParams, NodeClass, NodeList};
use hero_livekit_api::{RpcClient, env_file, paths};

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

/// ingress.yaml and sip.yaml, when the control plane renders them: private enough, and the
/// service answering on its health port. Both exit 0 after a fatal start error (side-services
/// side-services facts §0 item 6), so "not running" may be a start that failed without a word: their logs say.
fn side_service(home: &Path, file: &str, service: &str, out: &mut Vec<Check>) {
    let path = home.join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    if let Ok(mode) = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777) {
        if mode & 0o037 != 0 {
            out.push(fail(format!(
                "{} is mode {mode:04o}: it holds the API secret; run `chmod 600 {}` (or set \
                 {service}.file_mode = \"0640\")",
                path.display(),
                path.display()
            )));
        } else {
            out.push(ok(format!("{} is private ({mode:04o})", path.display())));
        }
    }
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or_default();
    let Some(port) = doc["health_port"].as_u64().filter(|p| *p > 0) else {
        out.push(warn(format!(
            "{service} has no health_port: its liveness cannot be checked"
        )));
        return;
    };
    // Ingress answers "Healthy" on /, SIP 200 (fine) or 429 (loaded) on / (side-services facts §2.1, §3.1).
    let answered = ureq::get(&format!("http://127.0.0.1:{port}/"))
        .config()
        .timeout_global(Some(std::time::Duration::from_secs(3)))
        .http_status_as_error(false)
        .build()
        .call()
        .is_ok_and(|r| r.status().as_u16() < 500);
    if answered {
        out.push(ok(format!("{service} answers on its health port {port}")));
    } else {
        out.push(fail(format!(
            "{service} does not answer on its health port {port}: start livekit-{service} with \
             {}_CONFIG_FILE={} (config/systemd/livekit-{service}.service); it exits 0 after a \
             fatal start error, so read its log (`journalctl -u livekit-{service}`)",
            service.to_uppercase(),
            path.display()
        )));
    }
}

/// The rendered files against each other (`config.check`, design §11.3), as they are on disk.
fn files_agree(home: &Path, out: &mut Vec<Check>) {
    let files = hero_livekit_server::side::check::read_home(home);
    if !files.contains_key(paths::LIVEKIT_YAML) {
        return;
    }
    let c = hero_livekit_server::side::check::check(&files);
    if c.ok {
        out.push(ok(format!(
            "the rendered files agree ({})",
            c.files.join(", ")
        )));
    }
    for p in &c.problems {
        out.push(fail(format!(
            "{} {} disagrees with {}: {}",
            p.file, p.key, p.other_file, p.message
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
    side_service(home, paths::INGRESS_YAML, "ingress", &mut out);
    side_service(home, paths::SIP_YAML, "sip", &mut out);
    files_agree(home, &mut out);
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

/// How long doctor waits for one answer of the control plane (`status` probes every node).
const ASK_BOUND: std::time::Duration = std::time::Duration::from_secs(30);

async fn ask<M: Method<Params = NoParams>>(client: &RpcClient) -> Result<M::Result, String> {
    match tokio::time::timeout(ASK_BOUND, client.call::<M>(&NoParams {})).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", ASK_BOUND.as_secs())),
    }
}

/// The SFU fleet as the control plane sees it: with `[redis]`, whether Redis answers, stale
/// entries and nodes that must restart (from `status` and `node.list`). An unreachable control
/// plane adds nothing here: [`run`] already reports it.
pub async fn fleet(socket: &Path) -> Vec<Check> {
    let Ok(client) = RpcClient::connect(socket).await else {
        return Vec::new();
    };
    let status = match ask::<StatusM>(&client).await {
        Ok(s) => s,
        Err(e) => {
            // `status` reads the shared revision: a database that went away fails it.
            return vec![fail(format!(
                "the control plane's status failed: {e} (is its database reachable?)"
            ))];
        }
    };
    let mut out = state_checks(&status.fleet.source, &status.cluster);
    if status.fleet.source != "redis" {
        out.push(ok(format!(
            "one SFU at {} (no [redis]: a fleet of several nodes needs one)",
            status.sfu.url
        )));
        return out;
    }
    // After `status`, so the nodes' restart reasons are from the observation it just made.
    let list = match ask::<NodeListM>(&client).await {
        Ok(l) => l,
        Err(e) => {
            out.push(fail(format!("node.list failed: {e}")));
            return out;
        }
    };
    let address = ask::<ConfigGet>(&client)
        .await
        .ok()
        .and_then(|c| redis_address(&c));
    out.extend(fleet_checks(
        &status.fleet,
        &list,
        address.as_deref(),
        now_unix(),
    ));
    out
}

/// Where the control plane keeps its state, from `status` (which read the database, so it
/// answers and is migrated: the server migrates it at boot). A fleet on Redis with the state in
/// a local SQLite file is a warning: a control plane on a second machine would mint its own keys.
pub fn state_checks(fleet_source: &str, c: &ClusterStatus) -> Vec<Check> {
    let mut out = Vec::new();
    let alive = c.instances.iter().filter(|i| i.alive).count();
    match c.engine.as_str() {
        "postgres" => out.push(ok(format!(
            "state in PostgreSQL: reachable and migrated, revision {}, {alive} control plane(s) alive; {}",
            c.revision,
            if c.owns_lifecycle {
                "this one makes the key transitions"
            } else {
                "another one makes the key transitions"
            }
        ))),
        engine => {
            out.push(ok(format!(
                "state in {engine} (this machine only): revision {}",
                c.revision
            )));
            if fleet_source == "redis" {
                out.push(warn(
                    "a fleet on Redis is configured but the control plane's state is in a local \
                     SQLite file: a control plane on another machine would have its own keys. Put \
                     every control plane and lk-backend on PostgreSQL (database_url, \
                     backend_database_url; move the data with `hero_livekit db copy`)",
                ));
            }
        }
    }
    for i in c
        .instances
        .iter()
        .filter(|i| i.alive && i.instance_id != c.instance_id)
    {
        if !i.cluster_matches {
            out.push(warn(format!(
                "control plane {} renders a different cluster config (keys, webhook, redis, room \
                 or overrides): give every instance the same settings",
                i.instance_id
            )));
        } else if !i.current {
            out.push(warn(format!(
                "control plane {} rendered revision {}, the state is at {}: it has not caught up",
                i.instance_id, i.rendered_revision, c.revision
            )));
        }
    }
    out
}

/// Where `[redis]` points, as `config.get` shows it (never with a password).
fn redis_address(config: &serde_json::Value) -> Option<String> {
    let r = &config["redis"];
    if let Some(a) = r["address"].as_str() {
        return Some(a.to_string());
    }
    let master = r["sentinel_master_name"].as_str()?;
    let sentinels: Vec<&str> = r["sentinel_addresses"]
        .as_array()?
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    Some(format!(
        "master {master} via sentinels {}",
        sentinels.join(", ")
    ))
}

/// The fleet's checks, from what the control plane said.
pub fn fleet_checks(
    f: &FleetSummary,
    list: &NodeList,
    address: Option<&str>,
    now: i64,
) -> Vec<Check> {
    let mut out = Vec::new();
    let at = address.map(|a| format!(" at {a}")).unwrap_or_default();
    if list.redis_reachable == Some(false) {
        let error = match &list.redis_error {
            Some(e) => e.clone(),
            None => format!("Redis{at} does not answer"),
        };
        out.push(fail(format!(
            "cannot read the fleet from Redis: {error}. Every LiveKit node routes rooms through \
             it: start it or fix [redis] (the last node list read is from {})",
            list.as_of.as_deref().unwrap_or("never")
        )));
    } else {
        out.push(ok(format!(
            "Redis{at} answers: {} node(s) registered ({} live, {} starting, {} draining, {} suspended, {} stale)",
            list.nodes.len(),
            f.live,
            f.starting,
            f.draining,
            f.suspended,
            f.stale
        )));
        if list.nodes.is_empty() {
            out.push(warn(
                "no livekit-server node is registered in Redis: start livekit-server with the \
                 livekit.yaml the control plane writes (its redis: block)",
            ));
        } else if f.live == 0 {
            out.push(warn(
                "no node is live (SERVING and fresh): LiveKit has no node to place a new room on",
            ));
        }
    }
    for n in &list.nodes {
        let ip = if n.ip.is_empty() { "no IP" } else { &n.ip };
        if n.class == NodeClass::Stale {
            let since = n
                .updated_at
                .as_deref()
                .and_then(parse_rfc3339)
                .map(|t| format!("no update for {} s", now - t))
                .unwrap_or_else(|| "no readable stats".into());
            out.push(warn(format!(
                "stale node entry {} ({ip}): {since}. LiveKit routes nothing to it, and leaves a \
                 crashed node's entry in Redis until another node starts; start or restart a node \
                 to clear it, or find out why this one stopped",
                n.id
            )));
        } else {
            for p in &n.problems {
                out.push(warn(format!("node {} ({ip}): {p}", n.id)));
            }
        }
        // A stale node restarts with what is on disk; its last probe's reasons are moot.
        if n.restart_required && n.fresh {
            out.push(warn(format!(
                "node {} ({ip}) must restart to run the current files: {}. Restart nodes one at a \
                 time and wait until each is live (SERVING) again before the next",
                n.id,
                n.restart_reasons.join("; ")
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use hero_livekit_api::types::{InstanceInfo, NodeInfo};

    use super::*;

    fn node(id: &str, class: NodeClass, updated_at: i64) -> NodeInfo {
        NodeInfo {
            id: id.into(),
            ip: "10.0.0.7".into(),
            region: String::new(),
            state: "serving".into(),
            class,
            fresh: class != NodeClass::Stale,
            updated_at: Some(hero_livekit_api::timefmt::rfc3339(updated_at)),
            started_at: None,
            num_rooms: 0,
            num_clients: 0,
            num_tracks_in: 0,
            num_tracks_out: 0,
            cpu_load: 0.0,
            num_cpus: 2,
            url: "http://10.0.0.7:7880".into(),
            runs_current_config: None,
            accepts_active_key: None,
            restart_required: false,
            restart_reasons: vec![],
            problems: vec![],
            instance_id: None,
            rendered_revision: None,
        }
    }

    fn fleet(nodes: Vec<NodeInfo>, reachable: bool) -> (FleetSummary, NodeList) {
        let count = |c| nodes.iter().filter(|n| n.class == c).count();
        let f = FleetSummary {
            source: "redis".into(),
            redis_reachable: Some(reachable),
            live: count(NodeClass::Live),
            stale: count(NodeClass::Stale),
            ..Default::default()
        };
        let l = NodeList {
            source: "redis".into(),
            redis_reachable: Some(reachable),
            redis_error: (!reachable)
                .then(|| "Redis at 10.0.0.9:6379: connection refused".to_string()),
            as_of: Some("2026-11-26T13:00:00Z".into()),
            nodes,
            instances: vec![],
        };
        (f, l)
    }

    fn lines(checks: &[Check]) -> Vec<(Level, &str)> {
        checks.iter().map(|c| (c.level, c.text.as_str())).collect()
    }

    #[test]
    fn stale_entries_and_nodes_to_restart_are_warnings_naming_them() {
        let now = 2_000_000_000;
        let mut lagging = node("ND_lag", NodeClass::Live, now - 1);
        lagging.restart_required = true;
        lagging.restart_reasons = vec!["new key K2 is not loaded by the SFU yet".into()];
        // A crashed node's last probe said it had to restart: moot, it is stale now.
        let mut dead = node("ND_dead", NodeClass::Stale, now - 42);
        dead.restart_required = true;
        let (f, l) = fleet(
            vec![node("ND_ok", NodeClass::Live, now), lagging, dead],
            true,
        );
        let checks = fleet_checks(&f, &l, Some("10.0.0.9:6379"), now);
        assert_eq!(
            lines(&checks),
            vec![
                (
                    Level::Ok,
                    "Redis at 10.0.0.9:6379 answers: 3 node(s) registered (2 live, 0 starting, 0 draining, 0 suspended, 1 stale)"
                ),
                (
                    Level::Warn,
                    "node ND_lag (10.0.0.7) must restart to run the current files: new key K2 is not loaded by the SFU yet. Restart nodes one at a time and wait until each is live (SERVING) again before the next"
                ),
                (
                    Level::Warn,
                    "stale node entry ND_dead (10.0.0.7): no update for 42 s. LiveKit routes nothing to it, and leaves a crashed node's entry in Redis until another node starts; start or restart a node to clear it, or find out why this one stopped"
                ),
            ]
        );
    }

    #[test]
    fn redis_down_is_a_failure_with_the_error_and_an_empty_fleet_a_warning() {
        let (f, l) = fleet(vec![node("ND_a", NodeClass::Live, 1)], false);
        let checks = fleet_checks(&f, &l, Some("10.0.0.9:6379"), 2);
        assert_eq!(checks[0].level, Level::Fail);
        assert_eq!(
            checks[0].text,
            "cannot read the fleet from Redis: Redis at 10.0.0.9:6379: connection refused. Every \
             LiveKit node routes rooms through it: start it or fix [redis] (the last node list \
             read is from 2026-11-26T13:00:00Z)"
        );
        let (f, l) = fleet(vec![], true);
        let checks = fleet_checks(&f, &l, None, 2);
        assert_eq!(
            lines(&checks)[1..],
            [(
                Level::Warn,
                "no livekit-server node is registered in Redis: start livekit-server with the livekit.yaml the control plane writes (its redis: block)"
            )]
        );
        assert!(checks[0].text.starts_with("Redis answers: 0 node(s)"));
    }

    fn instance(id: &str, rendered: i64, matches: bool) -> InstanceInfo {
        InstanceInfo {
            instance_id: id.into(),
            host: "h".into(),
            home: "/var/lib/hero_livekit".into(),
            node_ip: None,
            rendered_revision: rendered,
            current: rendered == 7,
            cluster_sha256: String::new(),
            cluster_matches: matches,
            rendered_at: String::new(),
            seen_at: String::new(),
            alive: true,
        }
    }

    #[test]
    fn a_fleet_with_the_state_in_sqlite_is_a_warning_and_lagging_instances_are_named() {
        let sqlite = ClusterStatus {
            engine: "sqlite".into(),
            revision: 7,
            instance_id: "a".into(),
            owns_lifecycle: true,
            instances: vec![instance("a", 7, true)],
        };
        let checks = state_checks("redis", &sqlite);
        assert_eq!(checks[1].level, Level::Warn);
        assert!(checks[1].text.contains("state is in a local SQLite file"));
        assert!(checks[1].text.contains("hero_livekit db copy"));
        assert_eq!(state_checks("config", &sqlite).len(), 1);

        let pg = ClusterStatus {
            engine: "postgres".into(),
            owns_lifecycle: false,
            instances: vec![
                instance("a", 7, true),
                instance("b", 5, true),
                instance("c", 7, false),
            ],
            ..sqlite
        };
        assert_eq!(
            lines(&state_checks("redis", &pg)),
            vec![
                (
                    Level::Ok,
                    "state in PostgreSQL: reachable and migrated, revision 7, 3 control plane(s) alive; another one makes the key transitions"
                ),
                (
                    Level::Warn,
                    "control plane b rendered revision 5, the state is at 7: it has not caught up"
                ),
                (
                    Level::Warn,
                    "control plane c renders a different cluster config (keys, webhook, redis, room or overrides): give every instance the same settings"
                ),
            ]
        );
    }

    #[test]
    fn the_redis_address_comes_from_config_get_in_either_mode() {
        let plain =
            serde_json::json!({"redis": {"address": "10.0.0.9:6379", "password": "<redacted>"}});
        assert_eq!(redis_address(&plain).as_deref(), Some("10.0.0.9:6379"));
        let sentinel = serde_json::json!({"redis": {"address": null, "sentinel_master_name": "lk",
            "sentinel_addresses": ["10.0.0.1:26379", "10.0.0.2:26379"]}});
        assert_eq!(
            redis_address(&sentinel).as_deref(),
            Some("master lk via sentinels 10.0.0.1:26379, 10.0.0.2:26379")
        );
        assert_eq!(redis_address(&serde_json::json!({"redis": null})), None);
    }
}
