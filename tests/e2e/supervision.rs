//! B1 supervision, proven on the real binaries: any start order works, each service waits for
//! what it needs by itself, a crashed service is survived by the others, and `up` runs all
//! three in one process.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hero_livekit_testkit::http::{Request, Response};
use hero_livekit_testkit::{Proc, Service, Site, wait_until};

/// These tests each run three real services and time them: they take turns, so one test's load
/// (a webhook burst, six start orders) never eats another's time budget on a 2-core machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// One HTTP/1.1 request to `127.0.0.1:port`.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let req = headers
        .iter()
        .fold(Request::new(method, path), |r, (k, v)| r.header(k, v));
    req.body(body).send_tcp(port)
}

/// backend.env as written by the control plane.
fn backend_env(site: &Site) -> BTreeMap<String, String> {
    hero_livekit_api::env_file::parse(&site.read("backend.env")).unwrap()
}

/// The login URL the admin prints on stdout.
fn login_url(admin: &Proc) -> String {
    let line = admin.wait_stdout("the admin's login URL", Duration::from_secs(15), |l| {
        l.contains("http://")
    });
    line[line.find("http://").unwrap()..].trim().to_string()
}

/// Logs in with the token URL and returns the session cookie.
fn admin_session(port: u16, url: &str) -> String {
    let path = &url[url.find("/login").unwrap()..];
    let r = http(port, "GET", path, &[], b"").unwrap();
    assert!(
        r.status == 200 || (300..400).contains(&r.status),
        "login answered {}",
        r.status
    );
    let cookie = r.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().trim().to_string()
}

/// A token from lk-backend: (status, body); (0, "") while it is not serving.
fn mint(site: &Site) -> (u16, String) {
    if !site.home().join("backend.env").exists() {
        return (0, String::new());
    }
    let auth = format!("Bearer {}", backend_env(site)["TOKEN_ENDPOINT_TOKEN"]);
    http(
        site.backend_port,
        "POST",
        "/api/token",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        b"{}",
    )
    .map_or((0, String::new()), |r| (r.status, r.text()))
}

/// GET / of the admin with a session: (status, page).
fn overview(site: &Site, cookie: &str) -> (u16, String) {
    let r = http(site.admin_port, "GET", "/", &[("cookie", cookie)], b"").unwrap();
    (r.status, r.text())
}

#[test]
fn every_start_order_comes_up_within_ten_seconds() {
    let _turn = turn();
    let services = [Service::Server, Service::Backend, Service::Admin];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let stack = Site::new();
        let mut children = Vec::new();
        let start = Instant::now();
        for i in order {
            children.push(stack.start(services[i]));
            // Give the earlier services time to be waiting on the later ones.
            std::thread::sleep(Duration::from_millis(300));
        }
        let names: Vec<&str> = order.iter().map(|i| services[*i].binary()).collect();
        let admin = children
            .iter()
            .find(|c| c.name() == Service::Admin.binary())
            .unwrap();
        wait_until(
            &format!("{names:?}: a token from the backend"),
            Duration::from_secs(10),
            || mint(&stack).0 == 201,
        );
        let (_, body) = mint(&stack);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        // Valid: signed by the key the control plane wrote into livekit.yaml for the SFU.
        let env = backend_env(&stack);
        let claims = livekit_api::access_token::TokenVerifier::with_api_key(
            &env["LIVEKIT_API_KEY"],
            &env["LIVEKIT_API_SECRET"],
        )
        .verify(v["participant_token"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("{names:?}: the backend's token does not verify: {e}"));
        assert!(claims.video.room_join && !claims.sub.is_empty());
        let yaml = stack.read("livekit.yaml");
        assert!(yaml.contains(&format!(
            "{}: {}",
            env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]
        )));
        let url = login_url(admin);
        let cookie = admin_session(stack.admin_port, &url);
        let (status, page) = overview(&stack, &cookie);
        assert_eq!(status, 200, "{names:?}: overview");
        assert!(!page.contains("Control plane unreachable"), "{names:?}");
        assert!(
            start.elapsed() < Duration::from_secs(12),
            "{names:?} took {:?}",
            start.elapsed()
        );
        for mut c in children {
            c.kill();
        }
    }
}

#[test]
fn a_killed_control_plane_is_survived_and_recovered_from() {
    let _turn = turn();
    let stack = Site::new();
    let mut server = stack.server();
    let backend = stack.backend();
    let admin = stack.admin();
    wait_until("backend tokens", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    let cookie = admin_session(stack.admin_port, &login_url(&admin));
    let files = |h: &Path| {
        ["livekit.yaml", "backend.env"].map(|f| {
            (
                std::fs::read(h.join(f)).unwrap(),
                std::fs::metadata(h.join(f)).unwrap().modified().unwrap(),
            )
        })
    };
    let before = files(&stack.home());
    let key_before = backend_env(&stack)["LIVEKIT_API_KEY"].clone();

    server.kill();
    // The backend keeps minting; the admin says the control plane is unreachable.
    assert_eq!(mint(&stack).0, 201);
    let (status, page) = overview(&stack, &cookie);
    assert_eq!(status, 200);
    assert!(
        page.contains("Control plane unreachable"),
        "the admin says so"
    );

    // Restart: same key, files untouched, the admin recovers without a restart.
    let server = stack.server();
    hero_livekit_testkit::wait_for_socket(&stack.socket(), Duration::from_secs(10));
    assert_eq!(backend_env(&stack)["LIVEKIT_API_KEY"], key_before);
    assert_eq!(
        files(&stack.home()),
        before,
        "files byte-identical and not rewritten"
    );
    wait_until("admin recovery", Duration::from_secs(10), || {
        let (status, page) = overview(&stack, &cookie);
        status == 200 && !page.contains("Control plane unreachable")
    });
    for mut c in [server, backend, admin] {
        c.kill();
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
    let stack = Site::new();
    let mut server = stack.server();
    let mut backend = stack.backend();
    wait_until("backend up", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    let env = backend_env(&stack);
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
                        Ok(r) if (200..300).contains(&r.status) => {
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
    backend.kill();
    for s in senders {
        s.join().unwrap();
    }
    let acked: std::collections::BTreeSet<String> = rx.iter().collect();
    assert!(
        !acked.is_empty(),
        "some events were acknowledged before the kill"
    );

    // Restart the backend: every acknowledged event is there, exactly once.
    let mut backend = stack.backend();
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
    backend.kill();
    server.kill();
}

#[test]
fn up_brings_everything_up_and_a_second_up_refuses() {
    let _turn = turn();
    let stack = Site::new();
    let cfg = stack.dir().join("c.toml");
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
        c.env("RUST_LOG", "warn");
        c
    };
    let first = Proc::spawn(&mut up(&[
        "--admin-listen",
        &format!("127.0.0.1:{}", stack.admin_port),
    ]));
    let mut block = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !block.iter().any(|l: &String| l.contains("Ctrl-C")) {
        block.push(
            first
                .next_stdout_line(deadline.saturating_duration_since(Instant::now()))
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
    assert_eq!(overview(&stack, &cookie).0, 200);

    let second = up(&["--admin-listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.lines().last().unwrap_or("").starts_with(&format!(
            "hero_livekit_server is already running (pid {}, home {}",
            first.pid(),
            stack.home().display()
        )),
        "{stderr}"
    );

    // Ctrl-C (SIGINT) stops all three cleanly.
    let status = first.interrupt().status;
    assert!(status.success(), "{status:?}");
    assert!(!stack.socket().exists());
    assert!(http(stack.backend_port, "GET", "/health", &[], b"").is_err());
}

/// Starts a service with `RUST_LOG=trace` (its stdout and stderr are captured by the guard).
fn start_traced(site: &Site, service: Service) -> Proc {
    Proc::spawn(site.command(service).env("RUST_LOG", "trace"))
}

/// The operator CLI with `--json` on the stack's socket; its stdout (the call must succeed).
fn cli_json(stack: &Site, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
        .arg("--socket")
        .arg(stack.socket())
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
}

/// Exercises everything: tokens, a webhook, the privileged API, metrics, RPC views, a key
/// rotation, every admin page. Returns the responses that must never carry a secret.
fn exercise_everything(stack: &Site, admin: &Proc) -> String {
    let env = backend_env(stack);
    let api_auth = format!("Bearer {}", env["BACKEND_API_TOKEN"]);
    let mut public = String::new();
    let created = cli_json(
        stack,
        &["token", "create", "--room", "r", "--identity", "i"],
    );
    let token = serde_json::from_str::<serde_json::Value>(&created).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    cli_json(stack, &["token", "decode", &token]);
    let (body, sig) = signed_webhook(
        &env["LIVEKIT_API_KEY"],
        &env["LIVEKIT_API_SECRET"],
        "EV_secret_check",
    );
    let webhook = [("authorization", sig.as_str())];
    let stored = http(stack.backend_port, "POST", "/webhook", &webhook, &body);
    assert_eq!(stored.unwrap().status, 200);
    let backend_requests: [(&str, &str, Option<&str>, &[u8]); 6] = [
        ("POST", "/webhook", Some("Bearer nope"), &body),
        ("GET", "/metrics", None, b""),
        ("GET", "/ready", None, b""),
        ("GET", "/api/events", Some(&api_auth), b""),
        ("GET", "/api/sessions", Some(&api_auth), b""),
        ("POST", "/api/token", Some("Bearer wrong"), b"{}"),
    ];
    for (method, path, auth, body) in backend_requests {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let r = http(stack.backend_port, method, path, &headers, body).unwrap();
        public.push_str(&r.text());
    }
    for args in [
        &["status"][..],
        &["config", "show"],
        &["config", "files"],
        &["keys", "list", "--all"],
        &["audit"],
    ] {
        public.push_str(&cli_json(stack, args));
    }
    cli_json(stack, &["keys", "rotate"]);
    public.push_str(&cli_json(stack, &["keys", "list"]));
    public.push_str(&cli_json(stack, &["audit"]));
    let cookie = admin_session(stack.admin_port, &login_url(admin));
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
        let r = http(stack.admin_port, "GET", page, &[("cookie", &cookie)], b"");
        public.push_str(&r.unwrap().text());
    }
    public
}

/// Every secret there is now: key secrets (incl. a new pending key and the canary), the backend
/// bearers, the admin login token (last).
fn every_secret(stack: &Site) -> Vec<String> {
    let mut secrets: Vec<String> =
        hero_livekit_server::livekit_schema::check_yaml(&stack.read("livekit.yaml"))
            .unwrap()
            .keys
            .unwrap()
            .into_values()
            .collect();
    let env = backend_env(stack);
    secrets.extend(
        [
            "LIVEKIT_API_SECRET",
            "BACKEND_API_TOKEN",
            "TOKEN_ENDPOINT_TOKEN",
        ]
        .map(|k| env[k].clone()),
    );
    secrets.push(stack.read("admin.token").trim().to_string());
    secrets
}

#[test]
fn no_secret_leaks_anywhere_with_trace_logging() {
    let _turn = turn();
    let stack = Site::new();
    let server = start_traced(&stack, Service::Server);
    let backend = start_traced(&stack, Service::Backend);
    let admin = start_traced(&stack, Service::Admin);
    wait_until("backend tokens", Duration::from_secs(10), || {
        mint(&stack).0 == 201
    });
    let public = exercise_everything(&stack, &admin);
    std::thread::sleep(Duration::from_millis(300));
    let secrets = every_secret(&stack);
    let admin_token = secrets.last().unwrap().clone();
    assert!(secrets.len() >= 7);

    let [server, backend, admin] = [server, backend, admin].map(Proc::terminate);
    let logs = [
        ("server", &server.stderr),
        ("backend", &backend.stderr),
        ("admin", &admin.stderr),
    ];
    for (name, log) in logs {
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
        assert!(!contains_jwt(log), "a token leaked into the {name} log");
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
    let out = &admin.stdout;
    assert_eq!(out.matches(&admin_token).count(), 1, "{out}");
    for out in [&server.stdout, &backend.stdout] {
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
