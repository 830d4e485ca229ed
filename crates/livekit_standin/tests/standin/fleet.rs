//! Redis mode: the stand-in joins LiveKit's fleet like a real node (scale facts §1.2–§1.5) — a
//! protobuf `livekit.Node` in the `nodes` hash, refreshed, SHUTTING_DOWN on drain, removed on a
//! clean stop and left behind when killed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use livekit_standin::{NODES_KEY, Options, Source, StandIn, TrackKind, TrackSpec};
use prost::Message;
use redis::AsyncCommands;

use crate::helpers::*;
use crate::redis_server::RedisServer;

/// A livekit.yaml for a fleet node, as the control plane renders one.
pub fn fleet_yaml(
    dir: &std::path::Path,
    redis: &str,
    node_ip: &str,
    extra: &str,
) -> std::path::PathBuf {
    let yaml = dir.join(format!("livekit-{node_ip}.yaml"));
    std::fs::write(
        &yaml,
        format!(
            "port: 7880\nregion: eu-test\nrtc:\n  node_ip: {node_ip}\n  tcp_port: 7881\n  udp_port: 7882\n\
             keys:\n  {KEY}: {SECRET}\nredis:\n  address: {redis}\n  db: 0\n{extra}"
        ),
    )
    .unwrap();
    yaml
}

async fn nodes(redis: &RedisServer) -> Vec<proto::Node> {
    let raw: std::collections::HashMap<String, Vec<u8>> =
        redis.conn().await.hgetall(NODES_KEY).await.unwrap();
    let mut nodes: Vec<proto::Node> = raw
        .into_iter()
        .map(|(id, bytes)| {
            let n = proto::Node::decode(bytes.as_slice()).expect("a protobuf livekit.Node");
            assert_eq!(n.id, id, "hash field is the node id");
            n
        })
        .collect();
    nodes.sort_by(|a, b| a.ip.cmp(&b.ip));
    nodes
}

async fn node(redis: &RedisServer, id: &str) -> Option<proto::Node> {
    let bytes: Option<Vec<u8>> = redis.conn().await.hget(NODES_KEY, id).await.unwrap();
    bytes.map(|b| proto::Node::decode(b.as_slice()).unwrap())
}

fn updated_at(n: &proto::Node) -> i64 {
    n.stats.as_ref().unwrap().updated_at
}

/// Waits until the entry was rewritten after `after` (unix seconds).
async fn refreshed(redis: &RedisServer, id: &str, after: i64) -> proto::Node {
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let n = node(redis, id).await.expect("entry present");
        if updated_at(&n) > after {
            return n;
        }
        assert!(Instant::now() < deadline, "nodes entry not refreshed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn node_registers_refreshes_drains_and_unregisters() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = fleet_yaml(dir.path(), &redis.address(), "127.0.0.2", "");
    let before = now();
    let standin = StandIn::start_with(&yaml, Options::port(0)).await.unwrap();
    assert!(
        standin.url().starts_with("http://127.0.0.2:"),
        "{}",
        standin.url()
    );
    let id = standin.node_id().unwrap();
    assert!(id.starts_with("ND_") && id.len() == 15, "{id}");

    // Registered at start, as NewLocalNode builds it: SERVING, only the two times in stats.
    let all = nodes(&redis).await;
    assert_eq!(all.len(), 1);
    let n = &all[0];
    assert_eq!(
        (n.id.as_str(), n.ip.as_str(), n.region.as_str()),
        (id.as_str(), "127.0.0.2", "eu-test")
    );
    assert_eq!(n.state(), proto::NodeState::Serving);
    assert_eq!(n.r#type(), proto::NodeType::Server);
    assert!(n.num_cpus >= 1);
    let s = n.stats.as_ref().unwrap();
    assert!(s.started_at >= before && s.started_at <= now(), "{s:?}");
    assert_eq!(s.updated_at, s.started_at);

    // Its own rooms and participants show up in the next refresh (every 2 s by default).
    let mic = TrackSpec {
        kind: TrackKind::Audio,
        source: Source::Microphone,
        name: "mic".into(),
    };
    let cam = TrackSpec {
        kind: TrackKind::Video,
        source: Source::Camera,
        name: "cam".into(),
    };
    standin.join("standup", "alice", "Alice", &[mic, cam]);
    standin.join("standup", "bob", "Bob", &[]);
    standin.join("other", "carol", "Carol", &[]);
    let t0 = Instant::now();
    let n = refreshed(&redis, &id, s.updated_at).await;
    let waited = t0.elapsed();
    assert!(
        waited < Duration::from_secs(4),
        "refreshed after {waited:?}"
    );
    let s2 = n.stats.as_ref().unwrap();
    assert_eq!(s2.started_at, s.started_at);
    assert_eq!(
        (
            s2.num_rooms,
            s2.num_clients,
            s2.num_tracks_in,
            s2.num_tracks_out
        ),
        (2, 3, 2, 2)
    );
    assert_eq!(s2.num_cpus, n.num_cpus);
    assert!((0.0..=1.0).contains(&s2.cpu_load), "{}", s2.cpu_load);
    assert!(s2.memory_total > 0 && s2.memory_used <= s2.memory_total);
    assert_eq!(n.state(), proto::NodeState::Serving);
    // And again about 2 s later.
    let n = refreshed(&redis, &id, s2.updated_at).await;
    assert!(updated_at(&n) - s2.updated_at <= 3);

    // Drain: SHUTTING_DOWN at once, and it stays so on later refreshes.
    standin.drain().await;
    assert_eq!(
        node(&redis, &id).await.unwrap().state(),
        proto::NodeState::ShuttingDown
    );
    let n = refreshed(&redis, &id, updated_at(&n)).await;
    assert_eq!(n.state(), proto::NodeState::ShuttingDown);
    assert!(standin.has_participants());

    // A clean stop removes the entry; nothing else was written to Redis.
    standin.stop().await;
    assert!(node(&redis, &id).await.is_none());
    let keys: Vec<String> = redis.conn().await.keys("*").await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn stats_update_interval_is_honoured() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = fleet_yaml(
        dir.path(),
        &redis.address(),
        "127.0.0.6",
        "node_stats:\n  stats_update_interval: 1s\n",
    );
    let standin = StandIn::start_with(&yaml, Options::port(0)).await.unwrap();
    let id = standin.node_id().unwrap();
    let first = updated_at(&node(&redis, &id).await.unwrap());
    let n = refreshed(&redis, &id, first).await;
    let n = refreshed(&redis, &id, updated_at(&n)).await;
    // Two refreshes within ~2 s of each other instead of ~4 s.
    assert!(
        updated_at(&n) - first <= 3,
        "{} -> {}",
        first,
        updated_at(&n)
    );
    standin.stop().await;
}

#[tokio::test]
async fn killed_node_leaves_a_stale_entry() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = fleet_yaml(dir.path(), &redis.address(), "127.0.0.7", "");
    let standin = StandIn::start_with(&yaml, Options::port(0)).await.unwrap();
    let id = standin.node_id().unwrap();
    let at_kill = updated_at(&node(&redis, &id).await.unwrap());
    standin.kill().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let n = node(&redis, &id)
        .await
        .expect("a killed node's entry stays");
    assert_eq!(n.state(), proto::NodeState::Serving);
    assert_eq!(updated_at(&n), at_kill, "no refresh after the kill");
}

#[tokio::test]
async fn three_nodes_share_one_port_on_distinct_loopback_ips() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut fleet = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let yaml = fleet_yaml(dir.path(), &redis.address(), ip, "");
        let s = StandIn::start_with(&yaml, Options::port(port))
            .await
            .unwrap();
        assert_eq!(s.url(), format!("http://{ip}:{port}"));
        fleet.push(s);
    }
    hero_livekit_api::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    for s in &fleet {
        let r = http.get(format!("{}/", s.url())).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "OK");
    }
    let all = nodes(&redis).await;
    let ips: Vec<&str> = all.iter().map(|n| n.ip.as_str()).collect();
    assert_eq!(ips, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let mut ids: Vec<String> = fleet.iter().map(|s| s.node_id().unwrap()).collect();
    ids.sort();
    let mut seen: Vec<String> = all.iter().map(|n| n.id.clone()).collect();
    seen.sort();
    assert_eq!(ids, seen);
    assert!(all.iter().all(|n| n.state() == proto::NodeState::Serving));

    // Rooms stay per node (no shared room store): a room made on one is not listed on another.
    fleet[0].join("only-here", "alice", "Alice", &[]);
    let list = |s: &StandIn| {
        livekit_api::services::room::RoomClient::with_api_key(&s.url(), KEY, SECRET)
            .with_failover(false)
    };
    assert_eq!(list(&fleet[0]).list_rooms(vec![]).await.unwrap().len(), 1);
    assert!(list(&fleet[1]).list_rooms(vec![]).await.unwrap().is_empty());

    for s in fleet {
        s.stop().await;
    }
    assert!(nodes(&redis).await.is_empty());
}

#[tokio::test]
async fn unreachable_redis_or_missing_node_ip_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let yaml = fleet_yaml(dir.path(), &closed.to_string(), "127.0.0.2", "");
    let err = StandIn::start_with(&yaml, Options::port(0))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("unable to connect to redis: "), "{err}");

    std::fs::write(
        &yaml,
        format!("keys:\n  {KEY}: {SECRET}\nredis:\n  address: {closed}\n"),
    )
    .unwrap();
    let err = StandIn::start_with(&yaml, Options::port(0))
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(err, "ip address is required and not set");

    let out = Command::new(env!("CARGO_BIN_EXE_livekit-standin"))
        .args(["--config", yaml.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ip address is required and not set"));
}

/// Redis's MONITOR, as `redis-cli monitor` prints it: one line per command, arguments quoted
/// with C escapes.
struct Monitor {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Monitor {
    fn start(redis: &RedisServer) -> Monitor {
        let mut child = Command::new("redis-cli")
            .args(["-p", &redis.port.to_string(), "monitor"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // "OK" once MONITOR is active.
        assert_eq!(lines.recv_timeout(Duration::from_secs(5)).unwrap(), "OK");
        Monitor { child, lines }
    }

    /// Every command seen so far, as argument lists of raw bytes.
    fn commands(&self) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            let args = line.split_once("] ").map(|(_, a)| a).unwrap_or("");
            out.push(parse_args(args));
        }
        out
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `"HSET" "nodes" "ND_x" "\n\x0f..."` → arguments (sdscatrepr escapes).
fn parse_args(s: &str) -> Vec<Vec<u8>> {
    let b = s.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        i += 1;
        let mut arg = Vec::new();
        while i < b.len() && b[i] != b'"' {
            if b[i] == b'\\' {
                i += 1;
                match b[i] {
                    b'n' => arg.push(b'\n'),
                    b'r' => arg.push(b'\r'),
                    b't' => arg.push(b'\t'),
                    b'a' => arg.push(7),
                    b'b' => arg.push(8),
                    b'x' => {
                        let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                        arg.push(u8::from_str_radix(hex, 16).unwrap());
                        i += 2;
                    }
                    c => arg.push(c),
                }
            } else {
                arg.push(b[i]);
            }
            i += 1;
        }
        i += 1;
        args.push(arg);
    }
    args
}

fn spawn_binary(yaml: &std::path::Path, port: u16) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_livekit-standin"))
        .args([
            "--config",
            yaml.to_str().unwrap(),
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("livekit-standin ready on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string();
    (child, url)
}

#[tokio::test]
async fn binary_sigterm_marks_shutting_down_then_removes_the_entry() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = fleet_yaml(dir.path(), &redis.address(), "127.0.0.5", "");
    let monitor = Monitor::start(&redis);
    let (mut child, url) = spawn_binary(&yaml, 0);
    assert!(url.starts_with("http://127.0.0.5:"), "{url}");
    let all = nodes(&redis).await;
    assert_eq!(all.len(), 1);
    let id = all[0].id.clone();

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
    assert!(nodes(&redis).await.is_empty());

    // What the node wrote, in order: registered SERVING, SHUTTING_DOWN, then HDEL. Every write
    // went to `nodes` (the test's own reads are HGETALL).
    let mut states = Vec::new();
    let mut deleted = false;
    for cmd in monitor.commands() {
        let name = String::from_utf8_lossy(&cmd[0]).to_ascii_uppercase();
        match name.as_str() {
            "HSET" => {
                assert_eq!(
                    (cmd[1].as_slice(), cmd[2].as_slice()),
                    (b"nodes".as_slice(), id.as_bytes())
                );
                assert!(!deleted, "no write after HDEL");
                states.push(proto::Node::decode(cmd[3].as_slice()).unwrap().state());
            }
            "HDEL" => {
                assert_eq!(
                    (cmd[1].as_slice(), cmd[2].as_slice()),
                    (b"nodes".as_slice(), id.as_bytes())
                );
                deleted = true;
            }
            "HGETALL" | "PING" | "CLIENT" | "HELLO" | "SELECT" => {}
            other => panic!("unexpected command {other}"),
        }
    }
    assert!(deleted);
    assert_eq!(states.first(), Some(&proto::NodeState::Serving));
    assert_eq!(
        states.last(),
        Some(&proto::NodeState::ShuttingDown),
        "{states:?}"
    );
}

#[tokio::test]
async fn binary_sigkill_leaves_the_entry_behind() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = fleet_yaml(dir.path(), &redis.address(), "127.0.0.8", "");
    let (mut child, _url) = spawn_binary(&yaml, 0);
    let id = nodes(&redis).await[0].id.clone();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let n = node(&redis, &id).await.expect("entry left behind");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = node(&redis, &id).await.expect("still there");
    assert_eq!(
        updated_at(&later),
        updated_at(&n),
        "nobody refreshes it: it goes stale"
    );
    assert_eq!(later.state(), proto::NodeState::Serving);
}
