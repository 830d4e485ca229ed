//! Human-readable rendering of RPC results, and [`show`], which picks it or `--json`.

use hero_livekit_api::types::*;
use serde::Serialize;

use crate::doctor::{Check, Level};

/// Prints a result: pretty JSON with `--json`, else in its human form.
pub fn show<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T)) {
    if json {
        print_json(value)
    } else {
        human(value)
    }
}

pub fn print_json<T: Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("results serialize")
    );
}

/// Prints rows as aligned columns under a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r.clone());
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn accepts(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "unknown".into(),
    }
}

pub fn status(s: &Status) {
    println!("server   {} (pid {})", s.server.version, s.server.pid);
    println!("home     {}", s.server.home);
    println!("socket   {}", s.server.socket);
    for (name, f) in [
        ("livekit.yaml", Some(&s.files.livekit_yaml)),
        ("backend.env", Some(&s.files.backend_env)),
        ("egress.yaml", s.files.egress_yaml.as_ref()),
        ("ingress.yaml", s.files.ingress_yaml.as_ref()),
        ("sip.yaml", s.files.sip_yaml.as_ref()),
    ]
    .into_iter()
    .filter_map(|(n, f)| Some((n, f?)))
    {
        let repaired = if f.repaired {
            "  (repaired at boot)"
        } else {
            ""
        };
        println!(
            "file     {name:<13} sha256 {}  written {}{repaired}",
            &f.sha256[..12],
            f.written_at
        );
    }
    for k in &s.keys {
        println!(
            "key      {}  {:<8}  sfu accepts: {}",
            k.api_key,
            k.state.as_str(),
            accepts(k.sfu_accepts)
        );
    }
    let sfu = &s.sfu;
    match (sfu.reachable, &sfu.error) {
        (true, None) => println!(
            "sfu      {}  reachable ({} ms)  config loaded: {}",
            sfu.url,
            sfu.latency_ms.unwrap_or_default(),
            accepts(sfu.config_loaded)
        ),
        (_, Some(e)) => println!(
            "sfu      {}  {}: {e}",
            sfu.url,
            if sfu.reachable {
                "not ready"
            } else {
                "unreachable"
            }
        ),
        (false, None) => println!("sfu      {}  unreachable", sfu.url),
    }
    fleet(&s.fleet, &s.sfu.url);
    if s.fleet.source == "redis" {
        fleet_restart(s);
    } else if !s.sfu.reachable {
        println!(
            "restart  unknown while the SFU is unreachable (it loads the current files when it starts)"
        );
    } else if s.restart_required {
        println!("restart  REQUIRED: restart livekit-server to load the new config");
        for r in &s.restart_reasons {
            println!("         - {r}");
        }
    } else {
        println!("restart  not required");
    }
    if let Some(e) = &s.egress {
        let active = match (e.active, &e.error) {
            (Some(n), _) => format!("{n} running"),
            (None, Some(err)) => format!("running unknown: {err}"),
            (None, None) => "running unknown".into(),
        };
        println!("egress   key {}  {active}", e.api_key);
        if e.restart_required {
            println!("egress   RESTART livekit-egress:");
        }
        for r in &e.restart_reasons {
            println!("         - {r}");
        }
    }
    for (name, side) in [("ingress", &s.ingress), ("sip", &s.sip)] {
        let Some(side) = side else { continue };
        println!("{name:<8} key {}", side.api_key);
        if side.restart_required {
            println!("{name:<8} RESTART livekit-{name}:");
        }
        for r in &side.restart_reasons {
            println!("         - {r}");
        }
    }
}

/// `config check`: one line per problem, or that the files agree.
pub fn config_check(c: &ConfigCheck) {
    if c.ok {
        println!("ok    {} agree", c.files.join(", "));
        return;
    }
    for p in &c.problems {
        println!(
            "FAIL  {} {} vs {}: {}",
            p.file, p.key, p.other_file, p.message
        );
    }
}

fn size(bytes: i64) -> String {
    match bytes {
        0 => "-".into(),
        b if b < 1024 * 1024 => format!("{:.0} KiB", b as f64 / 1024.0),
        b if b < 1024 * 1024 * 1024 => format!("{:.1} MiB", b as f64 / 1048576.0),
        b => format!("{:.2} GiB", b as f64 / 1073741824.0),
    }
}

fn duration(secs: Option<u64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s >= 3600 => format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60),
        Some(s) if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        Some(s) => format!("{s}s"),
    }
}

/// Egresses as LiveKit lists them (`egress list`, and what a start or update returns).
pub fn egresses(list: &[EgressInfo]) {
    if list.is_empty() {
        println!(
            "no egress (start one with `hero_livekit egress start room-composite ROOM --file PATH`)"
        );
        return;
    }
    let rows = list
        .iter()
        .map(|e| {
            vec![
                e.egress_id.clone(),
                e.kind.as_str().into(),
                if e.room_name.is_empty() {
                    "-".into()
                } else {
                    e.room_name.clone()
                },
                e.status.describe().into(),
                opt(&e.started_at),
                duration(e.duration_s),
                e.locations().join(" "),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "egress_id",
            "kind",
            "room",
            "status",
            "started",
            "duration",
            "output",
        ],
        &rows,
    );
    for e in list {
        if let Some(p) = e.problem() {
            println!("{}: {p}", e.egress_id);
        }
    }
}

/// The recordings catalogue: where each recording went, how big and long it is, and why one
/// failed, in plain words.
pub fn recordings(list: &[EgressInfo]) {
    if list.is_empty() {
        println!("no recordings yet");
        return;
    }
    let rows = list
        .iter()
        .map(|e| {
            vec![
                e.egress_id.clone(),
                if e.room_name.is_empty() {
                    "-".into()
                } else {
                    e.room_name.clone()
                },
                e.status.describe().into(),
                opt(&e.started_at),
                duration(e.duration_s),
                size(e.total_size()),
                e.locations().join(" "),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "egress_id",
            "room",
            "status",
            "started",
            "duration",
            "size",
            "location",
        ],
        &rows,
    );
    for e in list {
        if let Some(p) = e.problem() {
            println!("{}: {p}", e.egress_id);
        }
        if e.backup_storage_used {
            println!(
                "{}: the upload failed; the files went to the backup storage",
                e.egress_id
            );
        }
    }
}

/// `status.fleet`: where the nodes come from, counts by class, stale entries, nodes to restart.
fn fleet(f: &FleetSummary, sfu_url: &str) {
    if f.source != "redis" {
        println!("fleet    one SFU at {sfu_url} (no [redis])");
        return;
    }
    if f.redis_reachable == Some(false) {
        println!(
            "fleet    Redis UNREACHABLE: {}",
            f.redis_error.as_deref().unwrap_or("no answer")
        );
        println!("         the counts below are from the last list read");
    }
    let mut counts = vec![format!("{} live", f.live)];
    for (n, class) in [
        (f.starting, "starting"),
        (f.draining, "draining"),
        (f.suspended, "suspended"),
        (f.stale, "stale"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {class}"));
        }
    }
    println!("fleet    {} (nodes registered in Redis)", counts.join(", "));
    if !f.stale_nodes.is_empty() {
        println!(
            "         stale: {} (LiveKit routes nothing to them; it leaves a crashed node's entry until another node starts)",
            f.stale_nodes.join(", ")
        );
    }
    if !f.restart_required.is_empty() {
        println!("         to restart: {}", f.restart_required.join(", "));
    }
}

/// The restart verdict of a fleet: per node, one at a time.
fn fleet_restart(s: &Status) {
    if s.restart_required {
        println!(
            "restart  REQUIRED on {} node(s): restart them one at a time, each live (SERVING) again before the next",
            s.fleet.restart_required.len()
        );
    } else if s.restart_reasons.is_empty() {
        println!("restart  not required");
    } else {
        println!("restart  unknown for part of the fleet");
    }
    for r in &s.restart_reasons {
        println!("         - {r}");
    }
}

/// `node list`: one row per node, then why each node that must restart must.
pub fn nodes(l: &NodeList) {
    let as_of = l.as_of.as_deref().unwrap_or("never");
    match (l.source.as_str(), l.redis_reachable) {
        ("config", _) => println!("no [redis]: the fleet is the one SFU at livekit_url"),
        (_, Some(false)) => {
            println!(
                "Redis UNREACHABLE: {}",
                l.redis_error.as_deref().unwrap_or("no answer")
            );
            println!("the nodes below are the last list read, as of {as_of}");
        }
        _ => {}
    }
    if l.nodes.is_empty() {
        println!(
            "no node is registered in Redis (start livekit-server with the redis: block of livekit.yaml)"
        );
        return;
    }
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let rows = l
        .nodes
        .iter()
        .map(|n| {
            // The configured SFU without Redis reports no stats: its load is unknown, not zero.
            let stats = n.updated_at.is_some();
            let num = |v: i64| if stats { v.to_string() } else { "-".into() };
            vec![
                n.id.clone(),
                dash(&n.ip),
                dash(&n.region),
                class(n),
                num(n.num_rooms),
                num(n.num_clients),
                if stats {
                    format!("{:.0}% of {}", n.cpu_load * 100.0, n.num_cpus)
                } else {
                    "-".into()
                },
                probed(n, n.runs_current_config),
                probed(n, n.accepts_active_key),
                if n.problems.is_empty() {
                    "-".into()
                } else {
                    n.problems.join("; ")
                },
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "id",
            "ip",
            "region",
            "class",
            "rooms",
            "clients",
            "cpu",
            "current_config",
            "active_key",
            "problems",
        ],
        &rows,
    );
    for n in l.nodes.iter().filter(|n| n.restart_required && n.fresh) {
        println!(
            "restart {} ({}): {}",
            n.id,
            dash(&n.ip),
            n.restart_reasons.join("; ")
        );
    }
}

/// A probe's answer; a node that is not fresh is not probed (`-`), whatever its last probe said.
fn probed(n: &NodeInfo, v: Option<bool>) -> String {
    if n.fresh { accepts(v) } else { "-".into() }
}

/// A node's class, with the state it last reported when that is not what the class says.
fn class(n: &NodeInfo) -> String {
    if n.class == NodeClass::Stale && n.state != "unknown" {
        format!("stale (was {})", n.state)
    } else {
        n.class.to_string()
    }
}

pub fn keys(list: &KeyList) {
    if list.keys.is_empty() {
        println!("no keys");
        return;
    }
    let rows = list
        .keys
        .iter()
        .map(|k| {
            vec![
                k.api_key.clone(),
                k.state.as_str().into(),
                k.created_at.clone(),
                opt(&k.activated_at),
                opt(&k.retire_at),
                accepts(k.sfu_accepts),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "api_key",
            "state",
            "created",
            "activated",
            "retire_at",
            "sfu_accepts",
        ],
        &rows,
    );
}

pub fn token_created(t: &TokenCreated) {
    println!("{}", t.token);
    eprintln!("server_url  {}", t.server_url);
    eprintln!("api_key     {}", t.api_key);
    eprintln!("expires_at  {}", t.expires_at);
}

pub fn token_decoded(d: &TokenDecoded) {
    println!("valid       {}", if d.valid { "yes" } else { "NO" });
    println!("api_key     {}", opt(&d.api_key));
    println!(
        "key state   {}",
        d.key_state
            .map_or("unknown to this control plane".to_string(), |s| s
                .to_string())
    );
    println!("not before  {}", opt(&d.not_before));
    match d.skew_s {
        Some(s) if s >= 0 => println!("expires     {} (in {s} s)", opt(&d.expires_at)),
        Some(s) => println!("expires     {} ({} s ago)", opt(&d.expires_at), -s),
        None => println!("expires     never (no exp)"),
    }
    println!("grants:");
    for g in &d.grants_explained {
        println!("  - {g}");
    }
    if !d.problems.is_empty() {
        println!("problems:");
        for p in &d.problems {
            println!("  - {p}");
        }
    }
}

pub fn rooms(rooms: &[Room]) {
    if rooms.is_empty() {
        println!("no rooms (create one with `hero_livekit room create NAME`)");
        return;
    }
    let rows = rooms
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.sid.clone(),
                r.num_participants.to_string(),
                r.num_publishers.to_string(),
                r.created_at.clone(),
                if r.max_participants == 0 {
                    "-".into()
                } else {
                    r.max_participants.to_string()
                },
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "name",
            "sid",
            "participants",
            "publishers",
            "created",
            "max",
        ],
        &rows,
    );
}

pub fn participants(ps: &[Participant]) {
    if ps.is_empty() {
        println!("no participants");
        return;
    }
    let rows = ps
        .iter()
        .map(|p| {
            let tracks = p
                .tracks
                .iter()
                .map(|t| {
                    format!(
                        "{}:{}{}",
                        t.sid,
                        t.source,
                        if t.muted { " (muted)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                p.identity.clone(),
                p.sid.clone(),
                if p.kind == "participant" {
                    p.name.clone()
                } else {
                    format!("{} ({})", p.name, p.kind)
                },
                p.state.clone(),
                p.joined_at.clone(),
                tracks,
            ]
        })
        .collect::<Vec<_>>();
    table(
        &["identity", "sid", "name", "state", "joined", "tracks"],
        &rows,
    );
}

pub fn audit(entries: &[AuditEntry]) {
    if entries.is_empty() {
        println!("no audit entries");
        return;
    }
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                e.at.clone(),
                e.method.clone(),
                e.peer.uid.map_or("-".into(), |u| u.to_string()),
                e.peer.pid.map_or("-".into(), |p| p.to_string()),
                e.outcome.clone(),
                e.params.to_string(),
            ]
        })
        .collect::<Vec<_>>();
    table(&["at", "method", "uid", "pid", "outcome", "params"], &rows);
}

pub fn key_rotated(k: &KeyChange) {
    println!(
        "{} is pending: restart livekit-server to load it; it becomes active once the SFU accepts it",
        k.api_key
    );
}

pub fn track_muted(t: &MutedTrack) {
    println!(
        "{} {} ({})",
        t.track.sid,
        if t.track.muted { "muted" } else { "unmuted" },
        t.track.name
    );
}

pub fn config_files(f: &ConfigFiles) {
    println!(
        "# livekit.yaml\n{}\n# backend.env\n{}",
        f.livekit_yaml, f.backend_env
    );
    for (name, text) in [
        ("egress.yaml", &f.egress_yaml),
        ("ingress.yaml", &f.ingress_yaml),
        ("sip.yaml", &f.sip_yaml),
    ] {
        if let Some(t) = text {
            println!("# {name}\n{t}");
        }
    }
}

/// `doctor`'s checks, one line each behind a fixed-width tag.
pub fn checks(checks: &[Check]) {
    for c in checks {
        let tag = match c.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        println!("{tag}  {}", c.text);
    }
}

/// `deploy check`: one line per check — status, what, and for a failure the fix.
pub fn deploy_check(c: &DeployCheck) {
    for item in &c.checks {
        let status = match item.status {
            CheckStatus::Ok => "ok",
            CheckStatus::Warn => "WARN",
            CheckStatus::Error => "FAIL",
            CheckStatus::Skip => "skip",
            CheckStatus::Info => "note",
        };
        let what = match &item.subject {
            Some(s) => format!("{} {s}", item.check),
            None => item.check.clone(),
        };
        match &item.fix {
            Some(fix) if item.status != CheckStatus::Ok => {
                println!("{status:<4}  {what}: {} — fix: {fix}", item.message)
            }
            _ => println!("{status:<4}  {what}: {}", item.message),
        }
    }
    let failed = c
        .checks
        .iter()
        .filter(|i| i.status == CheckStatus::Error)
        .count();
    if c.configured {
        println!(
            "{}",
            if failed == 0 {
                "deployment checks passed (see the notes)".to_string()
            } else {
                format!("{failed} check(s) failed")
            }
        );
    }
}
