//! Benchmark: state on PostgreSQL (issue 12), every figure beside its SQLite baseline from the
//! same run, on the release binaries and a private PostgreSQL that keeps its durable defaults
//! (`fsync`, `synchronous_commit`, `full_page_writes` on), as a real deployment runs it.
//!
//! 1. Webhook ingest, durable: 32 senders to two lk-backend replicas on one PostgreSQL (each
//!    answer 200 only after the row is committed) beside 32 senders to one lk-backend on SQLite
//!    (`synchronous=FULL`). Rounds alternate the two setups; medians are reported.
//! 2. Token endpoint: `POST /api/token` requests/s of lk-backend with a PostgreSQL config beside
//!    the SQLite config, alternating rounds (nothing on the hot path should touch the database).
//! 3. Reach of a rotation: `keys.rotate` on control plane A until B's livekit.yaml on disk lists
//!    the new key, and `keys.revoke` on A until it is gone from B's file.
//!
//! Run with `benches/postgres/run` (release build). Env: EVENTS (20000 per ingest round),
//! ROUNDS (3), TOKEN_SECS (5), ROTATIONS (30).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hero_livekit_testkit::http::rpc;
use hero_livekit_testkit::{Postgres, Proc, Site, sibling_bin, workspace_root};
use serde_json::{Value, json};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// A control plane (and, when asked, its lk-backend) on one site.
struct Plane {
    site: Site,
    _server: Proc,
    backend: Option<Proc>,
}

impl Plane {
    fn start(database: Option<(&str, &str)>) -> Plane {
        let site = Site::new();
        let mut cmd = site.command_at(sibling_bin("hero_livekit_server"));
        cmd.args(["--livekit-url", "http://127.0.0.1:1"])
            .args(["--backend-port", &site.backend_port.to_string()])
            .args(["--backend-bind", "127.0.0.1"]);
        if let Some((state, backend)) = database {
            cmd.args(["--database-url", state])
                .args(["--backend-database-url", backend]);
        }
        let mut server = Proc::spawn(&mut cmd);
        site.wait_ready(&mut server, Duration::from_secs(60));
        Plane {
            site,
            _server: server,
            backend: None,
        }
    }

    fn with_backend(mut self) -> Plane {
        let backend = Proc::spawn(&mut self.site.command_at(sibling_bin("lk-backend")));
        self.site.wait_backend(Duration::from_secs(60));
        self.backend = Some(backend);
        self
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.site.backend_port)
    }

    /// A value of the backend.env this control plane wrote.
    fn env(&self, name: &str) -> String {
        let text = self.site.read("backend.env");
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is missing from backend.env"));
        line.trim_matches('"').to_string()
    }
}

/// Runs the `webhook_ingest` example against `bases`; events/s committed.
fn ingest(plane: &Plane, bases: &[String], events: usize) -> f64 {
    let out = Command::new(sibling_bin("examples/webhook_ingest"))
        .arg(bases.join(","))
        .arg(plane.env("LIVEKIT_API_KEY"))
        .arg(plane.env("LIVEKIT_API_SECRET"))
        .arg(events.to_string())
        .arg("32")
        .output()
        .expect("run the webhook_ingest example");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "webhook_ingest failed: {text}");
    let committed: usize = text
        .split_whitespace()
        .find_map(|w| w.split_once('/').and_then(|(ok, _)| ok.parse().ok()))
        .expect("webhook_ingest's count");
    assert_eq!(committed, events, "events not committed: {text}");
    text.split(" = ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("webhook_ingest's rate: {text}"))
}

/// `POST /api/token` under wrk (32 connections, `secs`), with the token endpoint's script of
/// `benches/token_endpoint`; requests/s, all of them answered 201.
fn token_load(port: u16, bearer: &str, secs: u64) -> f64 {
    let script = workspace_root().join("benches/token_endpoint/post.lua");
    let out = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{secs}s"), "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}/api/token"))
        .env("BENCH_TOKEN", bearer)
        .output()
        .expect("run wrk (apt-get install -y wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("Non-2xx"),
        "wrk: {text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk's rate: {text}"))
}

/// Time from `method` on A until `seen` holds for B's livekit.yaml, and the method's result.
fn reach(
    a: &Path,
    b_yaml: &Path,
    method: &str,
    params: Value,
    seen: impl Fn(&str, &Value) -> bool,
) -> (Duration, Value) {
    let start = Instant::now();
    let result = rpc(a, method, params).unwrap_or_else(|e| panic!("{method}: {e}"));
    loop {
        if std::fs::read_to_string(b_yaml).is_ok_and(|t| seen(&t, &result)) {
            return (start.elapsed(), result);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{method} never reached B"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn main() {
    let events = env_num("EVENTS", 20_000);
    let rounds = env_num("ROUNDS", 3);
    let token_secs = env_num("TOKEN_SECS", 5) as u64;
    let rotations = env_num("ROTATIONS", 30);

    let pg = Postgres::start_durable();
    let state_url = pg.create_database();
    let backend_url = pg.create_database();
    let sqlite = Plane::start(None).with_backend();
    let a = Plane::start(Some((&state_url, &backend_url))).with_backend();
    let b = Plane::start(Some((&state_url, &backend_url))).with_backend();
    assert!(a.env("DATABASE_URL").starts_with("postgres://"));
    println!(
        "{} cores ({}), load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH,
        loadavg()
    );

    println!(
        "\n1. webhook ingest, durable, 32 senders, {events} events per round, {rounds} rounds (medians)"
    );
    let (mut lite, mut pgs) = (vec![], vec![]);
    for _ in 0..rounds {
        lite.push(ingest(&sqlite, &[sqlite.base()], events));
        pgs.push(ingest(&a, &[a.base(), b.base()], events));
    }
    let (lite_m, pg_m) = (median(lite.clone()), median(pgs.clone()));
    println!("  SQLite, 1 replica          {lite_m:8.0} events/s   rounds {lite:.0?}");
    println!("  PostgreSQL, 2 replicas     {pg_m:8.0} events/s   rounds {pgs:.0?}");
    println!(
        "  PostgreSQL / SQLite        {:8.2}x   (aim: >= 10,000 events/s on PostgreSQL)",
        pg_m / lite_m
    );

    println!(
        "\n2. POST /api/token, wrk -t1 -c32, {rounds} rounds x {token_secs} s per config (medians)"
    );
    let (mut lite_t, mut pg_t) = (vec![], vec![]);
    let (lite_bearer, pg_bearer) = (
        sqlite.env("TOKEN_ENDPOINT_TOKEN"),
        a.env("TOKEN_ENDPOINT_TOKEN"),
    );
    token_load(sqlite.site.backend_port, &lite_bearer, 1); // warm-up
    token_load(a.site.backend_port, &pg_bearer, 1);
    for _ in 0..rounds {
        lite_t.push(token_load(
            sqlite.site.backend_port,
            &lite_bearer,
            token_secs,
        ));
        pg_t.push(token_load(a.site.backend_port, &pg_bearer, token_secs));
    }
    let (lite_tm, pg_tm) = (median(lite_t.clone()), median(pg_t.clone()));
    println!("  SQLite config              {lite_tm:8.0} req/s   rounds {lite_t:.0?}");
    println!("  PostgreSQL config          {pg_tm:8.0} req/s   rounds {pg_t:.0?}");
    println!(
        "  PostgreSQL / SQLite        {:8.0}%   (aim: >= 95%)",
        pg_tm / lite_tm * 100.0
    );

    println!(
        "\n3. keys.rotate on A -> the new key in B's livekit.yaml, then keys.revoke on A -> gone from it ({rotations} times)"
    );
    let b_yaml: PathBuf = b.site.home().join("livekit.yaml");
    let (mut added, mut removed) = (vec![], vec![]);
    for _ in 0..rotations {
        let socket = a.site.socket();
        let (took, change) = reach(&socket, &b_yaml, "keys.rotate", json!({}), |t, r| {
            r["api_key"].as_str().is_some_and(|k| t.contains(k))
        });
        added.push(took);
        let key = change["api_key"].as_str().expect("the new key").to_string();
        let (took, _) = reach(
            &socket,
            &b_yaml,
            "keys.revoke",
            json!({ "api_key": key }),
            |t, _| !t.contains(&key),
        );
        removed.push(took);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  rotate -> on B's disk       median {:7.1} ms   p99 {:7.1} ms   (aim: < 1 s median)",
        ms(pct(added.clone(), 0.5)),
        ms(pct(added, 0.99))
    );
    println!(
        "  revoke -> gone from B's     median {:7.1} ms   p99 {:7.1} ms",
        ms(pct(removed.clone(), 0.5)),
        ms(pct(removed, 0.99))
    );
    println!("\nload average after: {}", loadavg());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
