//! B1 supervision, proven on the real binaries: any start order works, each service waits for
//! what it needs by itself, a crashed service is survived by the others, and `up` runs all
//! three in one process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::sibling_bin;

/// These tests each run three real services and time them: they take turns, so one test's load
/// (a webhook burst, six start orders) never eats another's time budget on a 2-core machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 request; returns status, headers and body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_string(), body.to_string()))
}

struct Stack {
    dir: tempfile::TempDir,
    backend_port: u16,
    admin_port: u16,
}

impl Stack {
    fn new() -> Stack {
        Stack {
            dir: tempfile::tempdir().unwrap(),
            backend_port: free_port(),
            admin_port: free_port(),
        }
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn socket(&self) -> PathBuf {
        self.dir.path().join("s/rpc.sock")
    }
    fn cmd(&self, which: &str) -> Command {
        let mut c = match which {
            "server" => {
                let mut c = Command::new(sibling_bin("hero_livekit_server"));
                c.args([
                    "--backend-port",
                    &self.backend_port.to_string(),
                    "--backend-bind",
                    "127.0.0.1",
                ]);
                c
            }
            "backend" => Command::new(sibling_bin("lk-backend")),
            "admin" => {
                let mut c = Command::new(sibling_bin("hero_livekit_admin"));
                c.args(["--listen", &format!("127.0.0.1:{}", self.admin_port)]);
                c
            }
            other => panic!("{other}"),
        };
        c.arg("--home")
            .arg(self.home())
            .arg("--socket")
            .arg(self.socket());
        c.env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
    /// Starts a service; its stdout lines arrive on the returned channel.
    fn start(&self, which: &str) -> (Child, mpsc::Receiver<String>) {
        let mut child = self.cmd(which).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        (child, rx)
    }
    fn env(&self) -> std::collections::BTreeMap<String, String> {
        hero_livekit_api::env_file::parse(
            &std::fs::read_to_string(self.home().join("backend.env")).unwrap(),
        )
        .unwrap()
    }
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn login_url(rx: &mpsc::Receiver<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the admin prints its login URL");
        if let Some(i) = line.find("http://") {
            return line[i..].trim().to_string();
        }
    }
}

/// Logs in with the token URL and returns the session cookie.
fn admin_session(port: u16, url: &str) -> String {
    let path = &url[url.find("/login").unwrap()..];
    let (status, head, _) = http(port, "GET", path, &[], b"").unwrap();
    assert!(
        status == 200 || (300..400).contains(&status),
        "login answered {status}"
    );
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].split(';').next().unwrap().trim().to_string())
        })
        .expect("a session cookie")
}

fn mint(stack: &Stack) -> (u16, String) {
    if !stack.home().join("backend.env").exists() {
        return (0, String::new());
    }
    let env = stack.env();
    let auth = format!("Bearer {}", env["TOKEN_ENDPOINT_TOKEN"]);
    let (status, _, body) = http(
        stack.backend_port,
        "POST",
        "/api/token",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        b"{}",
    )
    .unwrap_or((0, String::new(), String::new()));
    (status, body)
}

fn kill9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn every_start_order_comes_up_within_ten_seconds() {
    let _turn = turn();
    let services = ["server", "backend", "admin"];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let stack = Stack::new();
        let mut children = Vec::new();
        let mut admin_rx = None;
        let start = Instant::now();
        for i in order {
            let (child, rx) = stack.start(services[i]);
            if services[i] == "admin" {
                admin_rx = Some(rx);
            }
            children.push(child);
            // Give the earlier services time to be waiting on the later ones.
            std::thread::sleep(Duration::from_millis(300));
        }
        let names: Vec<&str> = order.iter().map(|i| services[*i]).collect();
        wait_until(
            &format!("{names:?}: a token from the backend"),
            Duration::from_secs(10),
            || mint(&stack).0 == 201,
        );
        let (_, body) = mint(&stack);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        // Valid: signed by the key the control plane wrote into livekit.yaml for the SFU.
        let env = stack.env();
        let claims = livekit_api::access_token::TokenVerifier::with_api_key(
            &env["LIVEKIT_API_KEY"],
            &env["LIVEKIT_API_SECRET"],
        )
        .verify(v["participant_token"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("{names:?}: the backend's token does not verify: {e}"));
        assert!(claims.video.room_join && !claims.sub.is_empty());
        let yaml = std::fs::read_to_string(stack.home().join("livekit.yaml")).unwrap();
        assert!(yaml.contains(&format!(
            "{}: {}",
            env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]
        )));
        let url = login_url(admin_rx.as_ref().unwrap());
        let cookie = admin_session(stack.admin_port, &url);
        let (status, _, page) =
            http(stack.admin_port, "GET", "/", &[("cookie", &cookie)], b"").unwrap();
        assert_eq!(status, 200, "{names:?}: overview");
        assert!(!page.contains("Control plane unreachable"), "{names:?}");
        assert!(
            start.elapsed() < Duration::from_secs(12),
            "{names:?} took {:?}",
            start.elapsed()
        );
        for mut c in children {
            kill9(&mut c);
        }
    }
}

#[test]
fn a_killed_control_plane_is_survived_and_recovered_from() {
    let _turn = turn();
    let stack = Stack::new();
    let (mut server, _) = stack.start("server");
    let (mut backend, _) = stack.start("backend");
    let (mut admin, admin_rx) = stack.start("admin");
    wait_until("backend tokens", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    let cookie = admin_session(stack.admin_port, &login_url(&admin_rx));
    let files = |h: &Path| {
        ["livekit.yaml", "backend.env"].map(|f| {
            (
                std::fs::read(h.join(f)).unwrap(),
                std::fs::metadata(h.join(f)).unwrap().modified().unwrap(),
            )
        })
    };
    let before = files(&stack.home());
    let key_before = stack.env()["LIVEKIT_API_KEY"].clone();

    kill9(&mut server);
    // The backend keeps minting; the admin says the control plane is unreachable.
    assert_eq!(mint(&stack).0, 201);
    let (status, _, page) =
        http(stack.admin_port, "GET", "/", &[("cookie", &cookie)], b"").unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("Control plane unreachable"),
        "the admin says so"
    );

    // Restart: same key, files untouched, the admin recovers without a restart.
    let (mut server, _) = stack.start("server");
    wait_until("socket", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(stack.socket()).is_ok()
    });
    assert_eq!(stack.env()["LIVEKIT_API_KEY"], key_before);
    assert_eq!(
        files(&stack.home()),
        before,
        "files byte-identical and not rewritten"
    );
    wait_until("admin recovery", Duration::from_secs(10), || {
        http(stack.admin_port, "GET", "/", &[("cookie", &cookie)], b"")
            .is_ok_and(|(s, _, p)| s == 200 && !p.contains("Control plane unreachable"))
    });
    for c in [&mut server, &mut backend, &mut admin] {
        kill9(c);
    }
}

fn signed_webhook(key: &str, secret: &str, id: &str) -> (Vec<u8>, String) {
    use base64::Engine;
    use sha2::Digest;
    let body = format!(r#"{{"event":"room_started","room":{{"sid":"RM_{id}","name":"burst"}},"id":"{id}","createdAt":"1795700000"}}"#).into_bytes();
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&body));
    let token = livekit_api::access_token::AccessToken::with_api_key(key, secret)
        .with_ttl(Duration::from_secs(300))
        .with_sha256(&digest)
        .to_jwt()
        .unwrap();
    (body, token)
}

#[test]
fn every_acknowledged_webhook_survives_a_killed_backend_once() {
    let _turn = turn();
    let stack = Stack::new();
    let (mut server, _) = stack.start("server");
    let (mut backend, _) = stack.start("backend");
    wait_until("backend up", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    let env = stack.env();
    let (key, secret) = (
        env["LIVEKIT_API_KEY"].clone(),
        env["LIVEKIT_API_SECRET"].clone(),
    );
    let port = stack.backend_port;

    // 8 senders post distinct events (each twice, like LiveKit's retries) while we kill -9.
    let (tx, rx) = mpsc::channel::<String>();
    let mut senders = Vec::new();
    for s in 0..8 {
        let (tx, key, secret) = (tx.clone(), key.clone(), secret.clone());
        senders.push(std::thread::spawn(move || {
            for i in 0..400 {
                let id = format!("EV_burst_{s}_{i}");
                let (body, token) = signed_webhook(&key, &secret, &id);
                for _ in 0..2 {
                    match http(
                        port,
                        "POST",
                        "/webhook",
                        &[
                            ("authorization", &token),
                            ("content-type", "application/webhook+json"),
                        ],
                        &body,
                    ) {
                        Ok((status, _, _)) if (200..300).contains(&status) => {
                            let _ = tx.send(id.clone());
                        }
                        Ok(_) => {}
                        Err(_) => return, // the backend is gone
                    }
                }
            }
        }));
    }
    drop(tx);
    std::thread::sleep(Duration::from_millis(400));
    kill9(&mut backend);
    for s in senders {
        s.join().unwrap();
    }
    let acked: std::collections::BTreeSet<String> = rx.iter().collect();
    assert!(
        !acked.is_empty(),
        "some events were acknowledged before the kill"
    );

    // Restart the backend: every acknowledged event is there, exactly once.
    let (mut backend, _) = stack.start("backend");
    wait_until("backend back", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored: Vec<(String, i64)> = rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}?mode=ro",
            stack.home().join("backend.db").display()
        ))
        .await
        .unwrap();
        sqlx::query_as("SELECT event_id, COUNT(*) FROM events GROUP BY event_id")
            .fetch_all(&pool)
            .await
            .unwrap()
    });
    assert!(
        stored.iter().all(|(_, n)| *n == 1),
        "an event was stored twice"
    );
    let ids: std::collections::BTreeSet<String> = stored.into_iter().map(|(id, _)| id).collect();
    let lost: Vec<&String> = acked.difference(&ids).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    kill9(&mut backend);
    kill9(&mut server);
}

#[test]
fn up_brings_everything_up_and_a_second_up_refuses() {
    let _turn = turn();
    let stack = Stack::new();
    let cfg = stack.dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "backend_port = {}\nbackend_bind = \"127.0.0.1\"\n",
            stack.backend_port
        ),
    )
    .unwrap();
    let up = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hero_livekit"));
        c.arg("--home")
            .arg(stack.home())
            .arg("--socket")
            .arg(stack.socket())
            .arg("up")
            .arg("--config")
            .arg(&cfg)
            .args(extra);
        c.env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let mut first = up(&["--admin-listen", &format!("127.0.0.1:{}", stack.admin_port)])
        .spawn()
        .unwrap();
    let out = first.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut block = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !block.iter().any(|l: &String| l.contains("Ctrl-C")) {
        block.push(
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the ready block"),
        );
    }
    let text = block.join("\n");
    assert!(
        text.contains(&stack.socket().display().to_string()),
        "{text}"
    );
    assert!(
        text.contains(&format!("http://127.0.0.1:{}", stack.backend_port)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "livekit-server --config {}",
            stack.home().join("livekit.yaml").display()
        )),
        "{text}"
    );
    let login = block
        .iter()
        .find_map(|l| {
            l.find("/login?token=")
                .map(|_| l[l.find("http://").unwrap()..].to_string())
        })
        .unwrap();
    assert_eq!(mint(&stack).0, 201, "the backend serves tokens");
    let cookie = admin_session(stack.admin_port, &login);
    assert_eq!(
        http(stack.admin_port, "GET", "/", &[("cookie", &cookie)], b"")
            .unwrap()
            .0,
        200
    );

    let second = up(&["--admin-listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.lines().last().unwrap_or("").starts_with(&format!(
            "hero_livekit_server is already running (pid {}, home {}",
            first.id(),
            stack.home().display()
        )),
        "{stderr}"
    );

    // Ctrl-C (SIGINT) stops all three cleanly.
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&first),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let status = first.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!stack.socket().exists());
    assert!(http(stack.backend_port, "GET", "/health", &[], b"").is_err());
}

/// Starts a service with `RUST_LOG=trace`, collecting stdout and stderr in the background.
fn start_traced(
    stack: &Stack,
    which: &str,
) -> (
    Child,
    std::sync::Arc<std::sync::Mutex<String>>,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    let mut cmd = stack.cmd(which);
    cmd.env("RUST_LOG", "trace");
    let mut child = cmd.spawn().unwrap();
    let collect = |r: Box<dyn Read + Send>| {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let b = buf.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                let mut g = b.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        buf
    };
    let out = collect(Box::new(child.stdout.take().unwrap()));
    let err = collect(Box::new(child.stderr.take().unwrap()));
    (child, out, err)
}

#[test]
fn no_secret_leaks_anywhere_with_trace_logging() {
    let _turn = turn();
    let stack = Stack::new();
    let (mut server, server_out, server_err) = start_traced(&stack, "server");
    let (mut backend, backend_out, backend_err) = start_traced(&stack, "backend");
    let (mut admin, admin_out, admin_err) = start_traced(&stack, "admin");
    wait_until("backend tokens", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    wait_until("admin login URL", Duration::from_secs(10), || {
        admin_out.lock().unwrap().contains("/login?token=")
    });
    let socket = stack.socket();
    let cli = |args: &[&str]| -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
            .arg("--socket")
            .arg(&socket)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let env = stack.env();
    let api_auth = format!("Bearer {}", env["BACKEND_API_TOKEN"]);

    // Exercise everything: tokens, a webhook, the privileged API, metrics, RPC views, rotation.
    let mut public = String::new(); // responses that must never carry a secret
    let token = serde_json::from_str::<serde_json::Value>(&cli(&[
        "token",
        "create",
        "--room",
        "r",
        "--identity",
        "i",
    ]))
    .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    cli(&["token", "decode", &token]);
    let (body, sig) = signed_webhook(
        &env["LIVEKIT_API_KEY"],
        &env["LIVEKIT_API_SECRET"],
        "EV_secret_check",
    );
    assert_eq!(
        http(
            stack.backend_port,
            "POST",
            "/webhook",
            &[("authorization", &sig)],
            &body
        )
        .unwrap()
        .0,
        200
    );
    let (_, _, forged) = http(
        stack.backend_port,
        "POST",
        "/webhook",
        &[("authorization", "Bearer nope")],
        &body,
    )
    .unwrap();
    public.push_str(&forged);
    public.push_str(
        &http(stack.backend_port, "GET", "/metrics", &[], b"")
            .unwrap()
            .2,
    );
    public.push_str(
        &http(stack.backend_port, "GET", "/ready", &[], b"")
            .unwrap()
            .2,
    );
    public.push_str(
        &http(
            stack.backend_port,
            "GET",
            "/api/events",
            &[("authorization", &api_auth)],
            b"",
        )
        .unwrap()
        .2,
    );
    public.push_str(
        &http(
            stack.backend_port,
            "GET",
            "/api/sessions",
            &[("authorization", &api_auth)],
            b"",
        )
        .unwrap()
        .2,
    );
    public.push_str(
        &http(
            stack.backend_port,
            "POST",
            "/api/token",
            &[("authorization", "Bearer wrong")],
            b"{}",
        )
        .unwrap()
        .2,
    );
    for args in [
        &["status"][..],
        &["config", "show"],
        &["config", "files"],
        &["keys", "list", "--all"],
        &["audit"],
    ] {
        public.push_str(&cli(args));
    }
    cli(&["keys", "rotate"]);
    public.push_str(&cli(&["keys", "list"]));
    public.push_str(&cli(&["audit"]));
    let login = admin_out
        .lock()
        .unwrap()
        .lines()
        .find_map(|l| l.find("http://").map(|i| l[i..].to_string()))
        .unwrap();
    let cookie = admin_session(stack.admin_port, &login);
    for page in [
        "/",
        "/rooms",
        "/tokens",
        "/keys",
        "/events",
        "/audit",
        "/config",
        "/api/status",
    ] {
        public.push_str(
            &http(stack.admin_port, "GET", page, &[("cookie", &cookie)], b"")
                .unwrap()
                .2,
        );
    }
    std::thread::sleep(Duration::from_millis(300));

    // Every secret there is now: key secrets (incl. the new pending key and the canary), the
    // backend bearers, the admin login token.
    let mut secrets: Vec<String> = hero_livekit_server::livekit_schema::check_yaml(
        &std::fs::read_to_string(stack.home().join("livekit.yaml")).unwrap(),
    )
    .unwrap()
    .keys
    .unwrap()
    .into_values()
    .collect();
    let env = stack.env();
    secrets.extend(
        [
            "LIVEKIT_API_SECRET",
            "BACKEND_API_TOKEN",
            "TOKEN_ENDPOINT_TOKEN",
        ]
        .map(|k| env[k].clone()),
    );
    let admin_token = std::fs::read_to_string(stack.home().join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    secrets.push(admin_token.clone());
    assert!(secrets.len() >= 7);

    for (child, _) in [(&mut server, ""), (&mut backend, ""), (&mut admin, "")] {
        rustix::process::kill_process(
            rustix::process::Pid::from_child(child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        child.wait().unwrap();
    }
    let logs = [
        ("server", &server_err),
        ("backend", &backend_err),
        ("admin", &admin_err),
    ];
    for (name, log) in logs {
        let log = log.lock().unwrap();
        assert!(
            log.contains("TRACE") || log.contains("DEBUG") || log.contains("INFO"),
            "{name} logged"
        );
        for s in &secrets {
            let line = log
                .lines()
                .find(|l| l.contains(s.as_str()))
                .map(|l| l.replace(s.as_str(), "<SECRET>"));
            assert!(
                line.is_none(),
                "a secret leaked into the {name} log: {}",
                line.unwrap_or_default()
                    .chars()
                    .take(400)
                    .collect::<String>()
            );
        }
        assert!(!contains_jwt(&log), "a token leaked into the {name} log");
    }
    for s in &secrets {
        assert!(
            !public.contains(s.as_str()),
            "a secret leaked into a response"
        );
    }
    assert!(
        !contains_jwt(&public),
        "a token leaked into a response that should not carry one"
    );
    // The one exception: the admin's login URL, once, on stdout.
    let out = admin_out.lock().unwrap();
    assert_eq!(out.matches(&admin_token).count(), 1, "{out}");
    for out in [&server_out, &backend_out] {
        let out = out.lock().unwrap();
        assert!(secrets.iter().all(|s| !out.contains(s.as_str())), "{out}");
    }
}

/// Whether `text` holds a whole JWT (three base64url segments, the first a JSON header).
fn contains_jwt(text: &str) -> bool {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").any(|(i, _)| {
        let rest: String = text[i..]
            .chars()
            .take_while(|c| b64(*c) || *c == '.')
            .collect();
        let parts: Vec<&str> = rest.split('.').collect();
        parts.len() >= 3 && parts[..3].iter().all(|p| p.len() >= 10)
    })
}
