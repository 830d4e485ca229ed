//! Benchmark: the SFU fleet (issue 11), every figure beside its baseline from the same run.
//!
//! 1. `node.list` with 1,000 nodes registered in a private Redis, written as LiveKit writes them
//!    (protobuf `livekit.Node`, SERVING, rewritten every 2 s), beside `node.list` with one node:
//!    decode + classify, no probes. Measured in process (the handler alone, through the RPC
//!    module, no socket and no observation timer) and over rpc.sock against the release binary,
//!    whose 5 s observation probes all 1,000 nodes meanwhile (each at a closed loopback port, so
//!    every probe is refused at once).
//! 2. `status` over rpc.sock with 10 live stand-in nodes, each probed (every key and the canary,
//!    all nodes concurrently), beside the same control plane with one node, and beside one SFU
//!    without Redis.
//!
//! Run with `benches/fleet/run` (release build). Prints medians, p99s and ratios.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hero_livekit_api::RpcClient;
use hero_livekit_api::methods::{HealthM, NodeListM, StatusM};
use hero_livekit_api::types::{NoParams, NodeClass};
use hero_livekit_testkit::{Redis, free_port};
use livekit_protocol::{Node, NodeState, NodeStats};
use livekit_standin::{Options, StandIn};
use prost::Message;

const LIST_CALLS: usize = 300;
const STATUS_CALLS: usize = 200;
const FLEET: usize = 1000;

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn stats(v: Vec<Duration>) -> Stats {
    Stats {
        median: pct(v.clone(), 0.5),
        p99: pct(v, 0.99),
    }
}

fn line(label: &str, s: &Stats) {
    println!(
        "  {label:<34} median {:8.2} ms   p99 {:8.2} ms",
        ms(s.median),
        ms(s.p99)
    );
}

fn ratio(label: &str, a: &Stats, b: &Stats) {
    println!(
        "  {label:<34} median {:7.2}x      p99 {:7.2}x",
        a.median.as_secs_f64() / b.median.as_secs_f64(),
        a.p99.as_secs_f64() / b.p99.as_secs_f64()
    );
}

/// The release control plane as a child process; stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    socket: PathBuf,
    home: PathBuf,
}

impl Server {
    fn start(bin: &Path, dir: &Path, name: &str, args: &[String]) -> Server {
        let home = dir.join(name);
        let socket = dir.join(format!("{name}.sock"));
        let child = Command::new(bin)
            .arg("--home")
            .arg(&home)
            .arg("--socket")
            .arg(&socket)
            .arg("--livekit-timeout")
            .arg("2s")
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{name} never came up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            socket,
            home,
        }
    }

    async fn client(&self) -> RpcClient {
        RpcClient::connect(&self.socket).await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

/// A node as LiveKit registers it: SERVING, stats updated now.
fn node(i: usize, now: i64) -> Vec<u8> {
    Node {
        id: format!("ND_bench{i:05}"),
        // Distinct loopback addresses with nothing listening: the timer's probes fail at once.
        ip: format!("127.1.{}.{}", i / 250, i % 250 + 1),
        num_cpus: 16,
        stats: Some(NodeStats {
            started_at: now - 3600,
            updated_at: now,
            num_rooms: (i % 7) as i32,
            num_clients: (i % 50) as i32,
            num_tracks_in: (i % 20) as i32,
            num_tracks_out: (i % 90) as i32,
            cpu_load: 0.35,
            num_cpus: 16,
            ..Default::default()
        }),
        r#type: 0,
        state: NodeState::Serving as i32,
        region: ["eu-west", "us-east", "ap-south"][i % 3].into(),
    }
    .encode_to_vec()
}

/// Writes nodes `0..n` (HSET, one pipeline), as their refreshes would.
async fn register(conn: &mut redis::aio::MultiplexedConnection, n: usize) {
    let now = hero_livekit_api::timefmt::now_unix();
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.hset("nodes", format!("ND_bench{i:05}"), node(i, now))
            .ignore();
    }
    let () = pipe.query_async(conn).await.unwrap();
}

/// Keeps nodes `0..n` fresh every 2 s, like LiveKit's keepalive, until aborted.
fn keep_fresh(
    mut conn: redis::aio::MultiplexedConnection,
    n: usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            register(&mut conn, n).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

async fn time_calls<F, Fut>(n: usize, mut call: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..n / 10 {
        call().await; // warm-up
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call().await;
        out.push(t.elapsed());
    }
    out
}

/// `node.list` through the RPC module of a booted (never served) control plane: the handler
/// alone, with no socket and no observation timer.
async fn in_process_lists(dir: &Path, redis: &Redis, expect: usize) -> Vec<Duration> {
    use hero_livekit_server::config::{Config, Settings};
    let s = Settings {
        home: Some(dir.join("inproc")),
        socket: Some(dir.join("inproc.sock")),
        livekit_url: Some(format!("http://127.0.0.1:{}", free_port())),
        ..Default::default()
    };
    let mut s = s;
    s.redis.address = Some(format!("127.0.0.1:{}", redis.port()));
    let config = Config::from_settings(s, None).unwrap();
    let booted = hero_livekit_server::boot(config).await.unwrap();
    let module = hero_livekit_server::rpc_module(booted.state().clone());
    let list = || async {
        let v: serde_json::Value = module
            .call("node.list", serde_json::Map::new())
            .await
            .unwrap();
        assert_eq!(v["nodes"].as_array().unwrap().len(), expect);
    };
    time_calls(LIST_CALLS, list).await
}

/// Node `i` of the stand-in fleet: `127.0.0.{i+2}`, sharing `port`, running `server`'s file
/// with its own `rtc.node_ip`.
async fn stand_in(server: &Server, dir: &Path, i: usize, port: u16) -> StandIn {
    let yaml = std::fs::read_to_string(server.home.join("livekit.yaml")).unwrap();
    let mut doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    doc["rtc"]["node_ip"] = format!("127.0.0.{}", i + 2).into();
    let file = dir.join(format!("node{i}.yaml"));
    std::fs::write(&file, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    StandIn::start_with(&file, Options::port(port))
        .await
        .unwrap()
}

/// Waits until `status` sees `live` live nodes, every one running the current config.
async fn until_live(client: &RpcClient, live: usize) {
    let start = Instant::now();
    loop {
        let s = client.call::<StatusM>(&NoParams {}).await.unwrap();
        if s.fleet.live == live && !s.restart_required {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never {live} live nodes: {:?}",
            s.fleet
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn statuses(client: &RpcClient, live: usize) -> Stats {
    stats(
        time_calls(STATUS_CALLS, || async {
            let s = client.call::<StatusM>(&NoParams {}).await.unwrap();
            assert_eq!(s.fleet.live, live);
        })
        .await,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: bench_fleet <path to release hero_livekit_server>");
    let bin = Path::new(&bin);
    let dir = tempfile::tempdir().unwrap();

    // 1. node.list with 1 node, then 1,000.
    let redis = Redis::start();
    let closed = free_port();
    let server = Server::start(
        bin,
        dir.path(),
        "list",
        &[
            "--redis-address".into(),
            format!("127.0.0.1:{}", redis.port()),
            "--sfu-port".into(),
            closed.to_string(),
            "--livekit-url".into(),
            format!("http://127.0.0.1:{closed}"),
        ],
    );
    let client = server.client().await;
    let conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let list_calls = |expect: usize| {
        let client = &client;
        time_calls(LIST_CALLS, move || async move {
            let l = client.call::<NodeListM>(&NoParams {}).await.unwrap();
            assert_eq!(l.nodes.len(), expect);
            assert!(l.nodes.iter().all(|n| n.class == NodeClass::Live));
        })
    };
    let health = stats(
        time_calls(LIST_CALLS, || async {
            client.call::<HealthM>(&NoParams {}).await.unwrap();
        })
        .await,
    );
    let fresh = keep_fresh(conn.clone(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let one = stats(list_calls(1).await);
    let one_inproc = stats(in_process_lists(dir.path(), &redis, 1).await);
    fresh.abort();
    let fresh = keep_fresh(conn.clone(), FLEET);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Let the observation meet the 1,000 nodes at least once before measuring.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let many = stats(list_calls(FLEET).await);
    let many_inproc = stats(in_process_lists(dir.path(), &redis, FLEET).await);
    fresh.abort();
    drop(client);
    drop(server);

    println!("node.list, {LIST_CALLS} calls each, release build (decode + classify, no probes):");
    println!(" in process (the handler alone: HGETALL, decode, classify, JSON):");
    line("1 node registered", &one_inproc);
    line(&format!("{FLEET} nodes registered"), &many_inproc);
    ratio(&format!("ratio {FLEET}/1"), &many_inproc, &one_inproc);
    println!(" over rpc.sock (WebSocket, one connection; the 5 s observation probes every node):");
    line("health (floor)", &health);
    line("1 node registered", &one);
    line(&format!("{FLEET} nodes registered"), &many);
    ratio(&format!("ratio {FLEET}/1"), &many, &one);

    // 2. status: one SFU without Redis; then on Redis with 1 node and with 10.
    let port = free_port();
    let plain = Server::start(
        bin,
        dir.path(),
        "plain",
        &["--livekit-url".into(), format!("http://127.0.0.1:{port}")],
    );
    let sfu = StandIn::start(&plain.home.join("livekit.yaml"), port)
        .await
        .unwrap();
    let c = plain.client().await;
    until_live(&c, 1).await;
    let alone = statuses(&c, 1).await;
    drop(c);
    sfu.stop().await;
    drop(plain);

    let redis = Redis::start();
    let port = free_port();
    let fleet = Server::start(
        bin,
        dir.path(),
        "fleet",
        &[
            "--redis-address".into(),
            format!("127.0.0.1:{}", redis.port()),
            "--sfu-port".into(),
            port.to_string(),
            "--livekit-url".into(),
            format!("http://127.0.0.2:{port}"),
        ],
    );
    let c = fleet.client().await;
    let mut nodes = vec![stand_in(&fleet, dir.path(), 0, port).await];
    until_live(&c, 1).await;
    let single = statuses(&c, 1).await;
    for i in 1..10 {
        nodes.push(stand_in(&fleet, dir.path(), i, port).await);
    }
    until_live(&c, 10).await;
    let ten = statuses(&c, 10).await;
    drop(c);
    for n in nodes {
        n.stop().await;
    }
    drop(fleet);

    println!(
        "status over rpc.sock, {STATUS_CALLS} calls each (every fresh node probed: each key and the canary, concurrently):"
    );
    line("one SFU, no Redis", &alone);
    line("1 node on Redis", &single);
    line("10 nodes on Redis", &ten);
    ratio("ratio 10 nodes / 1 node", &ten, &single);
    ratio("ratio 10 nodes / one SFU", &ten, &alone);
}
