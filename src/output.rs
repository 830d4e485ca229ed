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
        ("livekit.yaml", &s.files.livekit_yaml),
        ("backend.env", &s.files.backend_env),
    ] {
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
    if !s.sfu.reachable {
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
                p.name.clone(),
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
