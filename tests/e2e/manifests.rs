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
            text.contains("--home") || text.contains("livekit-server --config"),
            "{}: explicit --home",
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
        4,
        "units for the three services and livekit-server"
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

/// Shipped code never starts, holds or kills a service. The one exception is
/// `src/inspect.rs`, which runs `livekit-server --version` / `ports` to inspect the binary.
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
            let inspect = p.ends_with("src/inspect.rs");
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
