//! The boot contract of design §2, exercised on the real binary.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

use hero_livekit_api::env_file::{self, BackendEnv};
use hero_livekit_server::livekit_schema;
use hero_livekit_testkit::http::rpc_raw_async;
use hero_livekit_testkit::{Proc, wait_until};

use crate::helpers::*;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_are_complete_and_private_before_the_socket_exists() {
    let site = site();
    let child = start_bin(&site, &[]);
    let socket = site.socket();
    // The first moment the socket exists, both files must already be whole.
    wait_until("the socket", Duration::from_secs(20), || socket.exists());
    let home = site.home();
    let yaml = std::fs::read_to_string(home.join("livekit.yaml")).unwrap();
    let env = std::fs::read_to_string(home.join("backend.env")).unwrap();
    let sock_time = std::fs::symlink_metadata(&socket).unwrap().ctime_nsec() as i128
        + std::fs::symlink_metadata(&socket).unwrap().ctime() as i128 * 1_000_000_000;
    for f in ["livekit.yaml", "backend.env"] {
        let m = std::fs::metadata(home.join(f)).unwrap();
        assert!(
            m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128 <= sock_time,
            "{f} written after the socket"
        );
        assert_eq!(mode(&home.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&home.join("server.db")), 0o600);
    assert_eq!(mode(socket.parent().unwrap()), 0o700);

    // livekit.yaml passes a strict schema of LiveKit's config, with the design's defaults.
    let cfg = livekit_schema::check_yaml(&yaml).unwrap();
    assert_eq!(cfg.port, Some(7880));
    let rtc = cfg.rtc.unwrap();
    assert_eq!(
        (rtc.tcp_port, rtc.use_external_ip),
        (Some(7881), Some(false))
    );
    assert!(matches!(
        rtc.udp_port,
        Some(livekit_schema::PortScalar::Port(7882))
    ));
    let keys = cfg.keys.unwrap();
    assert!(
        keys.values().all(|s| s.len() >= 32),
        "every secret is at least 32 characters"
    );
    let webhook = cfg.webhook.unwrap();
    assert!(
        keys.contains_key(&webhook.api_key.clone().unwrap()),
        "webhook.api_key is one of keys"
    );
    assert_eq!(
        webhook.urls.unwrap(),
        vec!["http://127.0.0.1:8081/webhook".to_string()]
    );

    // backend.env parses into the backend's typed config and signs with a key the SFU has.
    let env = BackendEnv::from_vars(&env_file::parse(&env).unwrap()).unwrap();
    assert_eq!(keys[&env.livekit_api_key], env.livekit_api_secret);
    assert!(env.livekit_api_key.starts_with("API") && env.livekit_api_key.len() == 15);
    assert_eq!(env.port, 8081);
    assert_eq!(env.token_ttl_s, 3600);
    assert_eq!(env.token_max_ttl_s, 86400);
    let exited = child.terminate();
    assert!(exited.status.success(), "{}", exited.output());
    assert!(!socket.exists(), "socket removed on SIGTERM");
}

#[test]
fn restarts_keep_the_key_and_never_touch_unchanged_files() {
    let site = site();
    let (home, socket) = (site.home(), site.socket());
    let mut first: Option<(
        Vec<u8>,
        Vec<u8>,
        std::time::SystemTime,
        std::time::SystemTime,
    )> = None;
    for _ in 0..4 {
        let child = start_bin(&site, &[]);
        wait_socket(&socket);
        let snap = (
            std::fs::read(home.join("livekit.yaml")).unwrap(),
            std::fs::read(home.join("backend.env")).unwrap(),
            std::fs::metadata(home.join("livekit.yaml"))
                .unwrap()
                .modified()
                .unwrap(),
            std::fs::metadata(home.join("backend.env"))
                .unwrap()
                .modified()
                .unwrap(),
        );
        match &first {
            None => first = Some(snap),
            Some(f) => assert_eq!(f, &snap, "files changed across a restart"),
        }
        assert!(child.terminate().status.success());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn edited_truncated_or_loosened_files_are_repaired_and_reported() {
    let site = site();
    let (home, socket) = (site.home(), site.socket());
    let child = start_bin(&site, &[]);
    wait_socket(&socket);
    child.terminate();
    let yaml = std::fs::read(home.join("livekit.yaml")).unwrap();
    let env = std::fs::read(home.join("backend.env")).unwrap();

    type Damage = fn(&std::path::Path, &[u8]);
    let cases: [(&str, Damage); 4] = [
        ("livekit.yaml", |p, orig| {
            std::fs::write(p, [orig, b"port: 9999\n"].concat()).unwrap()
        }),
        ("backend.env", |p, orig| {
            std::fs::write(p, &orig[..orig.len() / 2]).unwrap()
        }),
        ("backend.env", |p, _| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap()
        }),
        ("livekit.yaml", |p, _| std::fs::remove_file(p).unwrap()),
    ];
    for (name, damage) in cases {
        let path = home.join(name);
        damage(&path, &std::fs::read(&path).unwrap_or_default());
        let child = start_bin(&site, &[]);
        wait_socket(&socket);
        let status = hero_livekit_api::RpcClient::connect(&socket)
            .await
            .unwrap()
            .call::<hero_livekit_api::methods::StatusM>(&Default::default())
            .await
            .unwrap();
        let (yaml_status, env_status) = (&status.files.livekit_yaml, &status.files.backend_env);
        assert_eq!(
            (yaml_status.repaired, env_status.repaired),
            (name == "livekit.yaml", name == "backend.env"),
            "{name}"
        );
        assert_eq!(std::fs::read(home.join("livekit.yaml")).unwrap(), yaml);
        assert_eq!(std::fs::read(home.join("backend.env")).unwrap(), env);
        assert_eq!(mode(&path), 0o600);
        let out = child.terminate().output();
        assert!(out.contains("rewrote"), "the repair is logged: {out}");
    }
}

#[tokio::test]
async fn a_second_instance_refuses_and_the_first_keeps_serving() {
    let site = site();
    let socket = site.socket();
    let first = start_bin(&site, &[]);
    wait_socket(&socket);
    let out = start_bin(&site, &[]).wait(Duration::from_secs(20));
    assert!(!out.status.success());
    let expected = format!(
        "hero_livekit_server is already running (pid {}, home {})\n",
        first.pid(),
        site.home().display()
    );
    assert_eq!(out.stderr, expected);
    // Another home, same socket: the live socket is not stolen either.
    let out = Command::new(env!("CARGO_BIN_EXE_hero_livekit_server"))
        .arg("--home")
        .arg(site.dir().join("home2"))
        .arg("--socket")
        .arg(&socket)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().last().unwrap().starts_with(&format!(
            "hero_livekit_server is already running (pid {}",
            first.pid()
        )),
        "{stderr}"
    );
    let health = rpc_raw_async(
        &socket,
        r#"{"jsonrpc":"2.0","id":1,"method":"health","params":{}}"#,
    )
    .await;
    assert_eq!(health["result"]["status"], "ok");
    first.terminate();
}

#[test]
fn a_stale_socket_is_replaced() {
    let site = site();
    let socket = site.socket();
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap()); // leaves the file, nobody listening
    // A child that another test thread is forking can hold a copy of the listener's fd until
    // its exec closes it; until then the socket still accepts. Start once it is truly stale.
    wait_until("a stale socket", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(&socket).is_err()
    });
    let child = start_bin(&site, &[]);
    wait_socket(&socket);
    let exited = child.terminate();
    let (status, out) = (exited.status, exited.output());
    assert!(status.success(), "{status}: {out}");
    assert!(out.contains("removing a stale socket"), "{out}");
}

fn fails_with(dir: &std::path::Path, args: &[&str], needle: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_hero_livekit_server"))
        .args(args)
        .env("HOME", dir)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in {stderr:?}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line, no panic trace: {stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn bad_environments_fail_with_one_line_naming_the_path() {
    let dir = hero_livekit_testkit::temp_dir();
    let d = dir.path();
    let s = |p: &str| d.join(p).display().to_string();
    // A corrupt database.
    std::fs::create_dir_all(d.join("corrupt")).unwrap();
    std::fs::write(d.join("corrupt/server.db"), vec![0x42u8; 8192]).unwrap();
    fails_with(
        d,
        &["--home", &s("corrupt"), "--socket", &s("s1/rpc.sock")],
        &s("corrupt/server.db"),
    );
    // A home that cannot be created (its parent is a file).
    std::fs::write(d.join("file"), "x").unwrap();
    fails_with(
        d,
        &["--home", &s("file/home"), "--socket", &s("s2/rpc.sock")],
        &s("file/home"),
    );
    // A socket path that is a directory.
    std::fs::create_dir_all(d.join("s3/rpc.sock")).unwrap();
    fails_with(
        d,
        &["--home", &s("h3"), "--socket", &s("s3/rpc.sock")],
        "is a directory",
    );
    // A socket path over 107 bytes.
    let long = format!("{}/{}/rpc.sock", d.display(), "x".repeat(110));
    fails_with(d, &["--home", &s("h4"), "--socket", &long], "107 bytes");
    // An override with a typo is refused at boot, naming the key.
    std::fs::write(
        d.join("c.toml"),
        "[livekit_overrides.rtc]\nudp_prot = 7000\n",
    )
    .unwrap();
    fails_with(
        d,
        &[
            "--config",
            &s("c.toml"),
            "--home",
            &s("h5"),
            "--socket",
            &s("s5/rpc.sock"),
        ],
        "rtc.udp_prot",
    );
    // An override of a managed key is refused too.
    std::fs::write(d.join("k.toml"), "[livekit_overrides.keys]\nAPIx = \"y\"\n").unwrap();
    fails_with(
        d,
        &[
            "--config",
            &s("k.toml"),
            "--home",
            &s("h6"),
            "--socket",
            &s("s6/rpc.sock"),
        ],
        "livekit_overrides.keys",
    );
}

#[test]
fn overrides_and_flags_reach_livekit_yaml() {
    let site = site();
    std::fs::write(
        site.dir().join("c.toml"),
        "sfu_log_level = \"debug\"\n[livekit_overrides.room]\nempty_timeout = 600\n[livekit_overrides.turn]\nenabled = true\nudp_port = 3478\n",
    )
    .unwrap();
    let config = site.dir().join("c.toml");
    let child = start_bin(
        &site,
        &[
            "--config",
            config.to_str().unwrap(),
            "--node-ip",
            "203.0.113.7",
            "--redis-address",
            "127.0.0.1:6379",
            "--sfu-prometheus-port",
            "6789",
        ],
    );
    wait_socket(&site.socket());
    let yaml = site.read("livekit.yaml");
    let cfg = livekit_schema::check_yaml(&yaml).unwrap();
    assert_eq!(cfg.room.unwrap().empty_timeout, Some(600));
    assert_eq!(cfg.turn.unwrap().udp_port, Some(3478));
    assert_eq!(cfg.rtc.unwrap().node_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        cfg.redis.unwrap().address.as_deref(),
        Some("127.0.0.1:6379")
    );
    assert_eq!(cfg.prometheus.unwrap().port, Some(6789));
    assert_eq!(cfg.logging.unwrap().level.as_deref(), Some("debug"));
    child.terminate();
}

#[test]
fn systemd_readiness_reaches_an_abstract_notify_socket() {
    use std::os::linux::net::SocketAddrExt;
    let site = site();
    let name = format!("hero-livekit-test-{}-{}", std::process::id(), rand_suffix());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = std::os::unix::net::UnixDatagram::bind_addr(&addr).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let child = Proc::spawn(server_cmd(&site).env("NOTIFY_SOCKET", format!("@{name}")));
    let mut buf = [0u8; 256];
    let n = listener.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]);
    assert!(msg.contains("READY=1"), "{msg}");
    // READY is sent only once the socket accepts.
    assert!(std::os::unix::net::UnixStream::connect(site.socket()).is_ok());
    child.terminate();
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn no_secret_reaches_the_log_even_at_trace_level() {
    let site = site();
    let socket = site.socket();
    let child = Proc::spawn(server_cmd(&site).env("RUST_LOG", "trace"));
    wait_socket(&socket);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = hero_livekit_api::RpcClient::connect(&socket).await.unwrap();
        let t = c
            .call_raw(
                "token.create",
                serde_json::json!({"room": "r", "identity": "i"}),
            )
            .await
            .unwrap();
        c.call_raw("token.decode", serde_json::json!({"token": t["token"]}))
            .await
            .unwrap();
        c.call_raw("backend.info", serde_json::json!({}))
            .await
            .unwrap();
        c.call_raw("status", serde_json::json!({})).await.unwrap();
        rpc_raw_async(
            &socket,
            &format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"token.decode","params":{{"token":{}}}}}"#,
                t["token"]
            ),
        )
        .await;
    });
    let secrets = secrets_of(&site.home());
    let log = child.terminate().output();
    assert!(
        log.contains("minted a token"),
        "the log was captured: {log}"
    );
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "a secret leaked into the log");
    }
    assert!(!log.contains("eyJ"), "a token leaked into the log");
}

/// `--socket-group`: members of the group may use the socket, others may not. Tests run as
/// root, so the callers are children that drop to uid 65534 with or without the group.
#[test]
fn socket_group_members_may_call_and_others_may_not() {
    use std::os::unix::process::CommandExt;
    let site = site();
    // Let the unprivileged children reach the socket dir; the server makes it 0710, group-owned.
    std::fs::set_permissions(site.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let group = "65534";
    let child = start_bin(&site, &["--socket-group", group]);
    let socket = site.socket();
    wait_socket(&socket);
    let sock_dir = socket.parent().unwrap();
    assert_eq!(mode(sock_dir), 0o710);
    assert_eq!(std::fs::metadata(sock_dir).unwrap().gid(), 65534);
    let probe = format!(
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect({:?})\nexcept OSError as e:\n print('refused', e.errno); sys.exit(0)\nb=b'{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\"}}'\ns.sendall(b'POST / HTTP/1.1\\r\\nhost: x\\r\\ncontent-type: application/json\\r\\ncontent-length: %d\\r\\nconnection: close\\r\\n\\r\\n' % len(b) + b)\nout=b''\nwhile True:\n d=s.recv(4096)\n if not d: break\n out+=d\nprint('answered' if b'\"ok\"' in out else 'hung up')\n",
        socket.display().to_string()
    );
    let run = |gid: u32| {
        let out = Command::new("/usr/bin/python3")
            .args(["-c", &probe])
            .uid(65534)
            .gid(gid)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        run(65534),
        "answered",
        "a member of the socket group may call"
    );
    assert!(
        run(65533).starts_with("refused"),
        "a non-member cannot even reach the socket"
    );
    child.terminate();
}
