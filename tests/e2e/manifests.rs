//! The supervision manifests agree with the code, the systemd units verify, and no shipped code
//! controls another process (B1: nobody spawns, holds or kills a service).

use std::path::{Path, PathBuf};
use std::process::Command;

use hero_livekit_api::paths;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn toml_file(p: &Path) -> toml::Table {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `[[bin]]` names a crate's Cargo.toml declares.
fn bins(krate: &str) -> Vec<String> {
    let t = toml_file(&root().join("crates").join(krate).join("Cargo.toml"));
    t.get("bin")
        .and_then(|b| b.as_array())
        .map(|a| {
            a.iter()
                .map(|b| b["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn check(krate: &str, name: &str, bin: &str) -> toml::Table {
    let m = toml_file(&root().join("crates").join(krate).join("service.toml"));
    assert_eq!(
        m["service"]["name"].as_str(),
        Some(name),
        "{krate}: service name"
    );
    assert_eq!(
        m["service"]["crate"].as_str(),
        Some(krate),
        "{krate}: crate"
    );
    assert_eq!(
        m["service"]["kind"].as_str(),
        Some("server"),
        "{krate}: kind"
    );
    let b = &m["binaries"].as_array().unwrap()[0];
    assert_eq!(b["name"].as_str(), Some(bin), "{krate}: binary name");
    assert!(
        bins(krate).contains(&bin.to_string()),
        "{krate} has no [[bin]] {bin}"
    );
    m
}

fn depends_on_server(m: &toml::Table, krate: &str) {
    let deps = m["dependencies"]
        .as_array()
        .unwrap_or_else(|| panic!("{krate}: no [[dependencies]]"));
    let d = &deps[0];
    assert_eq!(d["crate"].as_str(), Some("hero_livekit_server"), "{krate}");
    assert_eq!(d["bin"].as_str(), Some("hero_livekit_server"), "{krate}");
    assert_eq!(
        d["socket"].as_str(),
        Some(paths::SERVER_SOCKET_REL),
        "{krate}"
    );
}

fn tcp_port(m: &toml::Table) -> i64 {
    m["binaries"].as_array().unwrap()[0]["tcp"]
        .as_array()
        .unwrap()[0]["port"]
        .as_integer()
        .unwrap()
}

#[test]
fn service_manifests_match_the_code() {
    let server = check(
        "hero_livekit_server",
        "hero_livekit_server",
        "hero_livekit_server",
    );
    let socket = &server["binaries"].as_array().unwrap()[0]["socket"]
        .as_array()
        .unwrap()[0];
    assert_eq!(socket["path"].as_str(), Some(paths::SERVER_SOCKET_REL));
    assert!(paths::default_socket().ends_with(paths::SERVER_SOCKET_REL));

    let backend = check("hero_livekit_backend", "lk-backend", "lk-backend");
    assert_eq!(tcp_port(&backend), paths::BACKEND_PORT as i64);
    depends_on_server(&backend, "hero_livekit_backend");

    let admin = check(
        "hero_livekit_admin",
        "hero_livekit_admin",
        "hero_livekit_admin",
    );
    assert_eq!(tcp_port(&admin), paths::ADMIN_PORT as i64);
    depends_on_server(&admin, "hero_livekit_admin");

    // The server renders the backend's port from the same constant.
    let cfg = hero_livekit_server::Config::from_settings(Default::default(), None).unwrap();
    assert_eq!(cfg.backend_port, paths::BACKEND_PORT);
}

#[test]
fn systemd_units_verify() {
    let out = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        out.is_ok_and(|o| o.status.success()),
        "systemd-analyze is required (Debian package `systemd`): run ./scripts/test, which installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    // systemd-analyze checks that ExecStart binaries exist: point them at real files.
    let real = root().join("target/debug/hero_livekit");
    let stand_in = if real.exists() {
        real
    } else {
        PathBuf::from("/bin/true")
    };
    let units = std::fs::read_dir(root().join("config/systemd")).unwrap();
    let mut names = Vec::new();
    for u in units {
        let u = u.unwrap().path();
        let text = std::fs::read_to_string(&u).unwrap();
        assert!(
            text.contains("--home")
                || text.contains("livekit-server --config")
                || text.contains("EGRESS_CONFIG_FILE=")
                || text.contains("INGRESS_CONFIG_FILE=")
                || text.contains("SIP_CONFIG_FILE=")
                || text.contains("/var/lib/hero_livekit/"),
            "{}: explicit --home, or the rendered file",
            u.display()
        );
        let fixed = [
            "hero_livekit_server",
            "lk-backend",
            "hero_livekit_admin",
            "livekit-server",
        ]
        .iter()
        .fold(text, |t, b| {
            t.replace(
                &format!("/usr/local/bin/{b}"),
                &stand_in.display().to_string(),
            )
        });
        let dest = dir.path().join(u.file_name().unwrap());
        std::fs::write(&dest, fixed).unwrap();
        names.push(dest);
    }
    assert_eq!(
        names.len(),
        9,
        "units for the three services, livekit-server, livekit-egress, livekit-ingress, \
         livekit-sip, and Caddy and HAProxy (design §12)"
    );
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&names)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    let server =
        std::fs::read_to_string(root().join("config/systemd/hero-livekit-server.service")).unwrap();
    assert!(
        server.contains("Type=notify")
            && server.contains("RuntimeDirectory=")
            && server.contains("StateDirectory=")
    );
}

/// The side services' supervision: each starts after the control plane (its socket, its unit)
/// and reads exactly the file the control plane renders for it.
#[test]
fn egress_is_supervised_on_the_rendered_file_after_the_control_plane() {
    let m = toml_file(&root().join("config/hero_proc/livekit-egress.toml"));
    depends_on_server(&m, "livekit-egress");
    let b = &m["binaries"].as_array().unwrap()[0];
    let args: Vec<&str> = b["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let home_file = format!("~/hero/var/hero_livekit/{}", paths::EGRESS_YAML);
    let mount = args
        .iter()
        .find(|a| a.starts_with(&home_file))
        .expect("egress.yaml of the default home mounted");
    let inside = mount.split(':').nth(1).unwrap();
    assert!(
        args.contains(&format!("EGRESS_CONFIG_FILE={inside}").as_str()),
        "{args:?}"
    );
    assert_eq!(
        tcp_port(&m),
        i64::from(hero_livekit_server::config::EGRESS_HEALTH_PORT)
    );
    let unit =
        std::fs::read_to_string(root().join("config/systemd/livekit-egress.service")).unwrap();
    let after = unit.lines().find(|l| l.starts_with("After=")).unwrap();
    assert!(after.contains("hero-livekit-server.service"), "{after}");
    let server =
        std::fs::read_to_string(root().join("config/systemd/hero-livekit-server.service")).unwrap();
    assert!(server.contains("--home /var/lib/hero_livekit"));
    assert!(
        unit.contains("/var/lib/hero_livekit/egress.yaml:/etc/egress.yaml")
            && unit.contains("EGRESS_CONFIG_FILE=/etc/egress.yaml"),
        "{unit}"
    );
    // Stopping drains (SIGTERM lets recordings finish), with time for it.
    assert!(unit.contains("docker stop --time 21600") && unit.contains("TimeoutStopSec=6h"));
}

/// The shell wrapper of a side service's unit (systemd's `$$` unescaped, the image variable
/// given) or hero_proc manifest.
fn wrapper_of_unit(unit: &str, image_var: &str) -> String {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/bin/sh -c '"))
        .expect("ExecStart=/bin/sh -c '…'");
    line.strip_suffix('\'')
        .unwrap()
        .replace(&format!("\"${image_var}\""), "fake-image")
        .replace("$$", "$")
}

fn wrapper_of_manifest(m: &toml::Table) -> String {
    let b = &m["binaries"].as_array().unwrap()[0];
    assert_eq!(b["path"].as_str(), Some("/bin/sh"));
    let args = b["args"].as_array().unwrap();
    assert_eq!(args[0].as_str(), Some("-c"));
    args[1].as_str().unwrap().to_string()
}

/// Runs `script` with a fake `docker` first on PATH: `run` exits with `mode` ("0", "3"), or with
/// "serve" waits until `docker stop`. For "serve" the wrapper gets SIGTERM once the container
/// runs. Returns the wrapper's exit status and what it printed on stderr.
fn run_wrapper(script: &str, mode: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("docker");
    let d = dir.path().display();
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n\
             run) echo \"$@\" > {d}/args; [ {mode} = serve ] || exit {mode}; touch {d}/running; \
             while [ ! -e {d}/stopped ]; do sleep 0.05; done; exit 0;;\n\
             stop) touch {d}/stopped; exit 0;;\nesac\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{d}:{}", std::env::var("PATH").unwrap_or_default());
    // For "serve": SIGTERM to the wrapper once the container runs, as systemd and hero_proc do.
    let driver = if mode == "serve" {
        format!(
            "sh -c \"$WRAPPER\" & w=$!; while [ ! -e {d}/running ]; do sleep 0.05; done; \
             kill -TERM $w; wait $w"
        )
    } else {
        "sh -c \"$WRAPPER\"".to_string()
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(driver)
        .env("PATH", path)
        .env("WRAPPER", script)
        .output()
        .unwrap();
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap_or_default();
    assert!(
        args.starts_with("run --rm"),
        "docker run not called: {args}"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Ingress and SIP exit 0 after a fatal start error (side-services facts §0 item 6): their
/// wrappers turn an exit 0 nobody asked for into a failure, pass other statuses through, and a
/// stop (SIGTERM) into `docker stop` and the container's own status.
#[test]
fn ingress_and_sip_are_supervised_and_an_unasked_exit_0_is_a_failure() {
    for (svc, file, inside, env, image_var, port) in [
        (
            "ingress",
            paths::INGRESS_YAML,
            "/etc/ingress.yaml",
            "INGRESS_CONFIG_FILE",
            "INGRESS_IMAGE",
            hero_livekit_server::config::INGRESS_HEALTH_PORT,
        ),
        (
            "sip",
            paths::SIP_YAML,
            "/sip/config.yaml",
            "SIP_CONFIG_FILE",
            "SIP_IMAGE",
            hero_livekit_server::config::SIP_HEALTH_PORT,
        ),
    ] {
        let m = toml_file(&root().join(format!("config/hero_proc/livekit-{svc}.toml")));
        depends_on_server(&m, svc);
        assert_eq!(tcp_port(&m), i64::from(port), "{svc}");
        let from_manifest = wrapper_of_manifest(&m);
        assert!(
            from_manifest.contains(&format!(
                "~/hero/var/hero_livekit/{file}:{inside}:ro --env {env}={inside}"
            )),
            "{from_manifest}"
        );
        let unit =
            std::fs::read_to_string(root().join(format!("config/systemd/livekit-{svc}.service")))
                .unwrap();
        let after = unit.lines().find(|l| l.starts_with("After=")).unwrap();
        assert!(after.contains("hero-livekit-server.service"), "{after}");
        assert!(unit.contains("Restart=always") && unit.contains("KillMode=mixed"));
        let from_unit = wrapper_of_unit(&unit, image_var);
        assert!(
            from_unit.contains(&format!(
                "/var/lib/hero_livekit/{file}:{inside}:ro --env {env}={inside}"
            )),
            "{from_unit}"
        );
        for script in [&from_unit, &from_manifest] {
            let (code, stderr) = run_wrapper(script, "0");
            assert_eq!(code, 1, "{svc}: an unasked exit 0 is a failure");
            assert!(
                stderr.contains("exited 0 without being stopped"),
                "{stderr}"
            );
            assert_eq!(run_wrapper(script, "3").0, 3, "{svc}: other statuses pass");
            let (code, stderr) = run_wrapper(script, "serve");
            assert_eq!(code, 0, "{svc}: a stop is clean: {stderr}");
        }
    }
}

/// Shipped code never starts, holds or kills a service. Running a program to completion to
/// read its verdict is not controlling a service, and is allowed in exactly these places:
/// `src/inspect.rs` runs `livekit-server --version` / `ports` to inspect the binary, and the
/// server's `public/validate.rs` runs `caddy validate` / `haproxy -c` on a rendered config
/// (design §12) — a validator that does not answer in time is abandoned, never signalled.
const MAY_RUN_PROGRAMS: &[&str] = &[
    "src/inspect.rs",
    "crates/hero_livekit_server/src/public/validate.rs",
];

#[test]
fn no_process_control_in_shipped_code() {
    let forbidden = [
        "process::Child",
        ": Child",
        "<Child>",
        "pkill",
        "killall",
        "kill_process",
        "Signal::KILL",
        "Signal::TERM",
        "libc::kill",
    ];
    let mut offenders = Vec::new();
    let mut dirs = vec![root().join("src")];
    for c in [
        "hero_livekit_server",
        "hero_livekit_backend",
        "hero_livekit_admin",
        "hero_livekit_api",
    ] {
        dirs.push(root().join("crates").join(c).join("src"));
    }
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let rel = p.strip_prefix(root()).unwrap();
            let inspect = MAY_RUN_PROGRAMS.iter().any(|a| rel == Path::new(a));
            for (i, line) in text.lines().enumerate() {
                let l = line.trim_start();
                if l.starts_with("//") {
                    continue;
                }
                let spawns = l.contains("Command::new") && !inspect;
                if spawns || forbidden.iter().any(|f| l.contains(f)) {
                    offenders.push(format!("{}:{}: {}", p.display(), i + 1, l));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "process control in shipped code:\n{}",
        offenders.join("\n")
    );
}

/// Every file of the repository a fitness rule reads: sources, tests, scripts, docs, manifests
/// and config (not target/, the venv, git's own files or node_modules), with its path relative
/// to the root. Binary files are skipped.
fn repository_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // `.git` is a file in a worktree.
            if ["target", ".venv", ".git", "node_modules"].contains(&name.as_str()) {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue; // not UTF-8: not text
            };
            let rel = p.strip_prefix(root()).unwrap().display().to_string();
            out.push((rel, text));
        }
    }
    out.sort();
    out
}

/// Files that name a path outside the repository in a crate another change is rewriting: the
/// stand-in's test helpers still cite where its copies of the LiveKit vectors first came from.
/// That change removes the citation; then the entry here no longer matches and this test fails
/// until it is deleted (the list only shrinks).
const OUTSIDE_PATHS_PENDING: &[&str] = &["crates/livekit_standin/tests/standin/helpers.rs"];

/// How many leading `..` components a path at byte `i` of `line` climbs, if a path starts there
/// (`../x`, `"../.."`, `dir/..`), or `None` for `..` that is not a path (ranges, `[..]`, `...`).
fn climbs(line: &[u8], i: usize) -> Option<usize> {
    let prev = i.checked_sub(1).map(|p| line[p]);
    if prev.is_some_and(|c| c == b'.' || c.is_ascii_alphanumeric() || c == b'_') {
        return None;
    }
    let two_dots = Some(&[b'.'; 2][..]);
    let (mut n, mut at) = (0, i);
    while line.get(at..at + 2) == two_dots {
        n += 1;
        at += 2;
        if line.get(at) == Some(&b'/') && line.get(at + 1..at + 3) == two_dots {
            at += 1;
        } else {
            break;
        }
    }
    let next = line.get(at).copied();
    let quote = |c: Option<u8>| matches!(c, Some(b'"' | b'\''));
    let path_like = next == Some(b'/')
        || (matches!(prev, Some(b'/')) || quote(prev))
            && (quote(next) || next.is_none_or(|c| c.is_ascii_whitespace()));
    path_like.then_some(n)
}

/// Where a relative path on this line starts from: the file's own dir for includes, `#[path]`
/// and comments (links), the crate's dir for other Rust (CARGO_MANIFEST_DIR, a test's cwd).
fn base_depth(rel: &str, line: &str) -> usize {
    let file_dir = Path::new(rel)
        .parent()
        .map_or(0, |p| p.components().count());
    let file_relative = ["include_str!", "include_bytes!", "#[path", "//"]
        .iter()
        .any(|k| line.trim_start().starts_with(k) || line.contains(&format!("{k}(")));
    if !rel.ends_with(".rs") || file_relative {
        return file_dir;
    }
    let mut dir = Path::new(rel).parent();
    while let Some(d) = dir {
        if root().join(d).join("Cargo.toml").exists() {
            return d.components().count();
        }
        dir = d.parent();
    }
    0
}

/// Whether a relative path on `line` of file `rel` climbs out of the repository.
fn climbs_out(rel: &str, line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .filter(|&i| bytes[i] == b'.' && bytes[i + 1] == b'.')
        .filter_map(|i| climbs(bytes, i))
        .max()
        .filter(|&n| n > base_depth(rel, line))
        .map(|n| format!("{n} levels up"))
}

#[test]
fn the_path_check_sees_a_climb_out_of_the_repository_and_nothing_else() {
    let up = |n: usize| format!("{0}{0}/", '.').repeat(n);
    let server = "crates/hero_livekit_server/src/x.rs";
    let escaping = [
        (
            server,
            format!(
                r#"concat!(env!("CARGO_MANIFEST_DIR"), "/{}elsewhere")"#,
                up(3)
            ),
        ),
        (server, format!(r#"Path::new("{}x")"#, up(3))),
        (
            "scripts/test",
            format!(r#"cd "$(dirname "$0")/{}..""#, up(1)),
        ),
        ("docs/a.md", format!("[x]({}x.md)", up(2))),
    ];
    for (rel, line) in &escaping {
        assert!(climbs_out(rel, line).is_some(), "{rel}: {line}");
    }
    let inside = [
        (server, format!(r#"include_str!("{}config/x.toml")"#, up(3))),
        (
            server,
            format!(r#"concat!(env!("CARGO_MANIFEST_DIR"), "/{}x")"#, up(2)),
        ),
        (server, format!("/// see [design]({}docs/design.md)", up(3))),
        (
            "scripts/test",
            format!(r#"cd "$(dirname "$0")/{}""#, &up(1)[..2]),
        ),
        ("docs/a.md", format!("[x]({}README.md)", up(1))),
        (
            "src/cli.rs",
            "let all = &v[..]; let r = 1..=3; f(..); Foo { a, .. }; a...b".into(),
        ),
    ];
    for (rel, line) in &inside {
        assert_eq!(climbs_out(rel, line), None, "{rel}: {line}");
    }
}

/// A fresh clone must pass its tests with nothing beside it: no file names a place outside the
/// repository (a developer's checkout, a sibling folder, a relative path climbing out of it).
#[test]
fn no_file_names_a_path_outside_the_repository() {
    // Spelled in pieces so this file does not name them itself.
    let outside = [
        concat!("/wo", "rk/"),
        concat!("/ro", "ot/"),
        concat!(".", "./sha", "red"),
        concat!("sha", "red/test-vectors"),
    ];
    let mut offenders = Vec::new();
    let mut pending_seen = Vec::new();
    for (rel, text) in repository_files() {
        for (n, line) in text.lines().enumerate() {
            let named = outside
                .iter()
                .find(|o| line.contains(*o))
                .map(|o| o.to_string());
            if let Some(what) = named.or_else(|| climbs_out(&rel, line)) {
                if OUTSIDE_PATHS_PENDING.contains(&rel.as_str()) {
                    pending_seen.push(rel.clone());
                } else {
                    offenders.push(format!("{rel}:{}: {what}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "paths outside the repository:\n{}",
        offenders.join("\n")
    );
    for pending in OUTSIDE_PATHS_PENDING {
        assert!(
            pending_seen.iter().any(|p| p == pending),
            "{pending} no longer names a path outside the repository: remove it from \
             OUTSIDE_PATHS_PENDING"
        );
    }
}

/// Files that use sqlx outside a storage module today: tests with SQL of their own (they should
/// reach the database through the test kit or the store's API). Every statement of the services
/// is behind their `src/store/`. The list only shrinks: a new file fails, and so does an entry
/// that no longer uses sqlx.
const KNOWN_OFFENDERS: &[&str] = &[
    "crates/hero_livekit_backend/tests/api/events.rs",
    "crates/hero_livekit_backend/tests/api/helpers.rs",
    "crates/hero_livekit_backend/tests/api/webhook.rs",
    "tests/e2e/supervision.rs",
];

/// Where sqlx may be used: a crate's storage module (`src/store/**`) and the test kit.
fn storage_module(rel: &str) -> bool {
    let in_crate = rel
        .strip_prefix("crates/")
        .and_then(|r| r.split_once('/'))
        .map_or(rel, |(_, r)| r);
    in_crate.starts_with("src/store/") || rel.starts_with("crates/hero_livekit_testkit/src/")
}

#[test]
fn sqlx_is_used_only_in_storage_modules() {
    let needle = concat!("sql", "x::");
    let users: std::collections::BTreeSet<String> = repository_files()
        .into_iter()
        .filter(|(rel, text)| {
            rel.ends_with(".rs")
                && !storage_module(rel)
                && text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(needle))
        })
        .map(|(rel, _)| rel)
        .collect();
    let new: Vec<&String> = users
        .iter()
        .filter(|u| !KNOWN_OFFENDERS.contains(&u.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "sqlx outside a storage module (put the SQL behind the crate's src/store/): {new:?}"
    );
    let gone: Vec<&&str> = KNOWN_OFFENDERS
        .iter()
        .filter(|k| !users.contains(**k))
        .collect();
    assert!(
        gone.is_empty(),
        "no longer use sqlx: remove them from KNOWN_OFFENDERS (the list only shrinks): {gone:?}"
    );
}

/// Which document a citation names: "design §8" is docs/design.md, "facts §3.3" (or
/// "livekit-facts.md §3.3") docs/livekit.md, and the scale, side-services and production facts
/// their own files (see docs/ARCHITECTURE.md, "Documents").
fn cited_doc(before: &str) -> Option<&'static str> {
    let b = before.trim_end().trim_end_matches(".md").trim_end();
    [
        ("scale facts", "docs/livekit-scale.md"),
        ("side-services facts", "docs/livekit-side-services.md"),
        ("production facts", "docs/livekit-production.md"),
        ("livekit-facts", "docs/livekit.md"),
        ("facts", "docs/livekit.md"),
        ("design", "docs/design.md"),
    ]
    .into_iter()
    .find(|(name, _)| b.ends_with(name))
    .map(|(_, doc)| doc)
}

/// Every "§" citation in the code, tests, scripts and docs points at a section heading that
/// exists in the document it names, so the reasons behind the code can be looked up.
#[test]
fn every_section_the_code_cites_exists_in_the_docs() {
    let headings = |doc: &str| -> Vec<String> {
        std::fs::read_to_string(root().join(doc))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('#'))
            .filter_map(|l| l.trim_start_matches('#').split_whitespace().next())
            .map(|n| n.trim_end_matches('.').to_string())
            .collect()
    };
    let mut missing = Vec::new();
    let mut checked = 0;
    for (rel, text) in repository_files() {
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find('§') {
                let (before, after) = rest.split_at(i);
                let after = &after['§'.len_utf8()..];
                let section: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .collect();
                let section = section.trim_end_matches('.').to_string();
                // `§N` in the docs' own explanation of the convention is a placeholder.
                let numbered = section.starts_with(|c: char| c.is_ascii_digit());
                if let (Some(doc), true) = (cited_doc(before), numbered) {
                    checked += 1;
                    if !headings(doc).contains(&section) {
                        missing.push(format!(
                            "{rel}:{}: §{section} is not a heading of {doc}",
                            n + 1
                        ));
                    }
                }
                rest = after;
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} citations found: is the scan right?"
    );
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
