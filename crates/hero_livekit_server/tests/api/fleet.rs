//! The SFU fleet on a real Redis (issue 11): three stand-in nodes register in LiveKit's `nodes`
//! hash on 127.0.0.2–4 with one port, as real nodes share `port`; the control plane reads and
//! classifies them, probes each, and gates key rotation on all of them.

use std::path::PathBuf;
use std::time::Duration;

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_testkit::{Redis, free_port, wait_until_async};
use livekit_standin::{Options, StandIn};
use prost::Message;

use crate::helpers::*;

const NODES: usize = 3;

/// A control plane on `[redis]` and up to three nodes, node `i` on `127.0.0.{i+2}`.
struct Fleet {
    app: TestApp,
    redis: Redis,
    port: u16,
    nodes: Vec<Option<StandIn>>,
    http: reqwest::Client,
}

fn ip(i: usize) -> String {
    format!("127.0.0.{}", i + 2)
}

impl Fleet {
    async fn new() -> Fleet {
        Fleet::with(|_| {}).await
    }

    async fn with(tweak: impl FnOnce(&mut hero_livekit_server::config::Settings)) -> Fleet {
        let redis = Redis::start();
        let port = free_port();
        let app = spawn_with(|s| {
            s.redis.address = Some(format!("127.0.0.1:{}", redis.port()));
            s.sfu_port = Some(port);
            s.livekit_url = Some(format!("http://{}:{port}", ip(0)));
            s.livekit_timeout = Some("2s".parse().unwrap());
            tweak(s);
        })
        .await;
        Fleet {
            app,
            redis,
            port,
            nodes: (0..NODES).map(|_| None).collect(),
            http: reqwest::Client::new(),
        }
    }

    /// The control plane's livekit.yaml as node `i` runs it: its own `rtc.node_ip`.
    fn node_file(&self, i: usize, yaml: &str) -> PathBuf {
        let mut doc: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        doc["rtc"]["node_ip"] = serde_json::Value::String(ip(i));
        let path = self
            .app
            .dir
            .path()
            .join(format!("node{i}-{}.yaml", rand_suffix()));
        std::fs::write(&path, serde_saphyr::to_string(&doc).unwrap()).unwrap();
        path
    }

    /// Starts node `i` with the current livekit.yaml (or `yaml`), waiting until it registered.
    async fn start(&mut self, i: usize, yaml: Option<&str>) -> String {
        let current = self.app.read("livekit.yaml");
        let file = self.node_file(i, yaml.unwrap_or(&current));
        let node = StandIn::start_with(&file, Options::port(self.port))
            .await
            .unwrap();
        let id = node.node_id().expect("a node registered in Redis");
        self.nodes[i] = Some(node);
        let this = &*self;
        wait_until_async("the node in node.list", Duration::from_secs(10), || async {
            this.list()
                .await
                .nodes
                .iter()
                .any(|n| n.id == id && n.class == NodeClass::Live)
        })
        .await;
        id
    }

    async fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            n.stop().await;
        }
    }

    async fn restart(&mut self, i: usize, yaml: Option<&str>) -> String {
        self.stop(i).await;
        self.start(i, yaml).await
    }

    async fn list(&self) -> NodeList {
        self.app.call::<NodeListM>(&NoParams {}).await.unwrap()
    }

    async fn node(&self, id: &str) -> NodeInfo {
        self.list()
            .await
            .nodes
            .into_iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("{id} not listed"))
    }

    /// Whether node `i` accepts `token`: a join token on ListRooms is "permissions denied" from
    /// a node that has its key, "invalid API key" from one that does not.
    async fn accepts(&self, i: usize, token: &str) -> bool {
        let resp = self
            .http
            .post(format!(
                "http://{}:{}/twirp/livekit.RoomService/ListRooms",
                ip(i),
                self.port
            ))
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        match status {
            401 if body.contains("permissions denied") => true,
            401 => false,
            other => panic!("unexpected {other} {body}"),
        }
    }

    /// A freshly minted token is accepted by every running node.
    async fn no_node_refuses_a_new_token(&self) {
        let token = self.app.mint("standup", "alice").await;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_some() {
                assert!(
                    self.accepts(i, &token).await,
                    "node {} refused a minted token",
                    ip(i)
                );
            }
        }
    }

    async fn key_state(&self, api_key: &str) -> KeyState {
        self.app
            .keys(true)
            .await
            .into_iter()
            .find(|k| k.api_key == api_key)
            .unwrap()
            .state
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn every_node_is_seen_live_and_checked_against_the_current_config() {
    let mut f = Fleet::new().await;
    let mut ids = Vec::new();
    for i in 0..NODES {
        ids.push(f.start(i, None).await);
    }
    let s = f.app.status().await;
    assert_eq!(s.fleet.source, "redis");
    assert_eq!(
        (s.fleet.redis_reachable, s.fleet.live, s.fleet.stale),
        (Some(true), 3, 0)
    );
    assert!(!s.restart_required, "{:?}", s.restart_reasons);
    let list = f.list().await;
    assert_eq!(list.nodes.len(), 3);
    for n in &list.nodes {
        assert!(ids.contains(&n.id));
        assert!(n.ip.starts_with("127.0.0.") && n.fresh && n.state == "serving");
        assert_eq!(n.url, format!("http://{}:{}", n.ip, f.port));
        assert_eq!(
            (n.runs_current_config, n.accepts_active_key),
            (Some(true), Some(true))
        );
        assert!(n.problems.is_empty(), "{:?}", n.problems);
    }
    f.no_node_refuses_a_new_token().await;
}

#[tokio::test]
async fn a_garbage_entry_is_a_problem_of_that_entry_not_of_the_list() {
    let mut f = Fleet::new().await;
    f.start(0, None).await;
    f.redis
        .query(&["HSET", "nodes", "ND_junk", "certainly not protobuf"])
        .unwrap();
    let list = f.list().await;
    let junk = list.nodes.iter().find(|n| n.id == "ND_junk").unwrap();
    assert_eq!(junk.class, NodeClass::Stale);
    assert!(
        junk.problems[0].contains("not a livekit.Node"),
        "{:?}",
        junk.problems
    );
    assert_eq!(
        list.nodes
            .iter()
            .filter(|n| n.class == NodeClass::Live)
            .count(),
        1
    );
    let s = f.app.status().await;
    assert_eq!((s.fleet.live, s.fleet.stale), (1, 1));
    assert!(s.fleet.stale_nodes.contains(&"ND_junk".to_string()));
}

#[tokio::test]
async fn a_starting_node_written_by_hand_is_classified_like_livekit_does() {
    let f = Fleet::new().await;
    let now = hero_livekit_api::timefmt::now_unix();
    let node = |id: &str, state: livekit_protocol::NodeState, updated_at: i64| {
        livekit_protocol::Node {
            id: id.into(),
            ip: "10.9.9.9".into(),
            num_cpus: 2,
            stats: Some(livekit_protocol::NodeStats {
                started_at: now - 60,
                updated_at,
                ..Default::default()
            }),
            r#type: 0,
            state: state as i32,
            region: "lab".into(),
        }
        .encode_to_vec()
    };
    // Binary values through RESP: the kit's query takes text, so write them with our own client.
    let client = redis::Client::open(f.redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    use livekit_protocol::NodeState::*;
    for (id, state, at) in [
        ("ND_starting", StartingUp, now),
        ("ND_draining", ShuttingDown, now),
        ("ND_crashed", Serving, now - 30),
    ] {
        let _: () = redis::AsyncCommands::hset(&mut c, "nodes", id, node(id, state, at))
            .await
            .unwrap();
    }
    let list = f.list().await;
    let class = |id: &str| list.nodes.iter().find(|n| n.id == id).unwrap().class;
    assert_eq!(class("ND_starting"), NodeClass::Starting);
    assert_eq!(class("ND_draining"), NodeClass::Draining);
    assert_eq!(class("ND_crashed"), NodeClass::Stale);
    let crashed = list.nodes.iter().find(|n| n.id == "ND_crashed").unwrap();
    assert!(
        crashed.problems[0].contains("stale"),
        "{:?}",
        crashed.problems
    );
    assert_eq!(crashed.region, "lab");
}

#[tokio::test]
async fn rotation_waits_for_every_live_node_and_no_minted_token_is_ever_refused() {
    let mut f = Fleet::new().await;
    for i in 0..NODES {
        f.start(i, None).await;
    }
    let old = f.app.keys(false).await[0].api_key.clone();
    let new = f
        .app
        .call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap()
        .api_key;
    f.no_node_refuses_a_new_token().await;

    // Two of three nodes restart with the new file: the key must stay pending.
    let lagging = {
        f.restart(0, None).await;
        f.restart(1, None).await;
        f.nodes[2].as_ref().unwrap().node_id().unwrap()
    };
    let s = f.app.status().await;
    assert_eq!(f.key_state(&new).await, KeyState::Pending);
    assert_eq!(s.fleet.restart_required, vec![lagging.clone()]);
    assert!(
        s.restart_reasons
            .iter()
            .any(|r| r.contains(&lagging) && r.contains(&format!("new key {new} is not loaded"))),
        "{:?}",
        s.restart_reasons
    );
    assert_eq!(f.node(&lagging).await.runs_current_config, Some(false));
    f.no_node_refuses_a_new_token().await;

    // The last one restarts: the new key signs, and every node accepts what it signs.
    f.restart(2, None).await;
    let s = f.app.status().await;
    assert_eq!(f.key_state(&new).await, KeyState::Active);
    assert_eq!(f.key_state(&old).await, KeyState::Retiring);
    assert!(!s.restart_required, "{:?}", s.restart_reasons);
    f.no_node_refuses_a_new_token().await;
    let decoded = f.app.decode(&f.app.mint("standup", "bob").await).await;
    assert_eq!(decoded.api_key.as_deref(), Some(new.as_str()));
}

#[tokio::test]
async fn a_node_that_joins_later_with_an_old_file_is_reported() {
    let mut f = Fleet::new().await;
    let old_file = f.app.read("livekit.yaml");
    f.start(0, None).await;
    let new = f
        .app
        .call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap()
        .api_key;
    f.restart(0, None).await;
    f.app.status().await;
    assert_eq!(f.key_state(&new).await, KeyState::Active);

    let subscriber = f.app.client().await;
    let mut events = subscriber.subscribe_events().await.unwrap();
    let late = f.start(1, Some(&old_file)).await;
    let s = f.app.status().await;
    assert_eq!(s.fleet.restart_required, vec![late.clone()]);
    let node = f.node(&late).await;
    assert_eq!(
        (node.runs_current_config, node.accepts_active_key),
        (Some(false), Some(false))
    );
    assert!(
        node.restart_reasons
            .iter()
            .any(|r| r.contains(&format!("active key {new}")))
    );
    let mut seen = Vec::new();
    while let Ok(Some(Ok(e))) = tokio::time::timeout(Duration::from_secs(5), events.next()).await {
        let done = e.kind == "node.restart_required" && e.data["node"] == late.as_str();
        seen.push(e.kind);
        if done {
            break;
        }
    }
    assert!(seen.contains(&"node.joined".to_string()), "{seen:?}");
    assert!(
        seen.contains(&"node.restart_required".to_string()),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_killed_node_turns_stale_and_a_drained_one_leaves() {
    let mut f = Fleet::new().await;
    let killed = f.start(0, None).await;
    let drained = f.start(1, None).await;
    f.app.status().await; // remember the classes, so changes become events
    let subscriber = f.app.client().await;
    let mut events = subscriber.subscribe_events().await.unwrap();

    f.nodes[1].as_ref().unwrap().drain().await;
    assert_eq!(f.node(&drained).await.class, NodeClass::Draining);
    f.app.status().await;
    f.stop(1).await;
    f.nodes[0].take().unwrap().kill().await;
    wait_until_async(
        "the killed node turns stale",
        Duration::from_secs(15),
        || async { f.node(&killed).await.class == NodeClass::Stale },
    )
    .await;
    let s = f.app.status().await;
    assert_eq!(s.fleet.stale_nodes, vec![killed.clone()]);
    assert!(
        !f.list().await.nodes.iter().any(|n| n.id == drained),
        "a clean stop removes the entry"
    );

    let mut kinds = Vec::new();
    while let Ok(Some(Ok(e))) = tokio::time::timeout(Duration::from_secs(2), events.next()).await {
        kinds.push((
            e.kind,
            e.data["node"].as_str().unwrap_or_default().to_string(),
        ));
    }
    assert!(
        kinds.contains(&("node.draining".into(), drained.clone())),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("node.left".into(), drained)), "{kinds:?}");
    assert!(kinds.contains(&("node.stale".into(), killed)), "{kinds:?}");
}

#[tokio::test]
async fn redis_down_is_not_no_nodes_and_everything_else_keeps_working() {
    let mut f = Fleet::new().await;
    let id = f.start(0, None).await;
    f.app.status().await;
    f.redis.kill();

    let started = std::time::Instant::now();
    let list = f.list().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the SFU timeout"
    );
    assert_eq!(list.redis_reachable, Some(false));
    let error = list.redis_error.unwrap();
    assert!(
        error.contains(&format!("127.0.0.1:{}", f.redis.port())),
        "{error}"
    );
    assert_eq!(list.nodes.len(), 1, "the last list read, marked as such");
    assert_eq!(list.nodes[0].id, id);
    let s = f.app.status().await;
    assert_eq!(s.fleet.redis_reachable, Some(false));
    assert!(
        s.restart_reasons
            .iter()
            .any(|r| r.contains("the fleet is unknown"))
    );
    // Everything that does not need the fleet answers as usual.
    assert_eq!(
        f.app.call::<HealthM>(&NoParams {}).await.unwrap().status,
        "ok"
    );
    f.app.mint("standup", "alice").await;

    f.redis.restart();
    wait_until_async("Redis is read again", Duration::from_secs(15), || async {
        let l = f.list().await;
        l.redis_reachable == Some(true) && l.nodes.iter().any(|n| n.class == NodeClass::Live)
    })
    .await;
}

/// The rendered `redis:` block passes LiveKit's strict schema in both modes and is exactly what
/// LiveKit's RedisConfig reads; Sentinel gets timeouts a Redis stall does not turn into dead nodes.
#[tokio::test]
async fn the_redis_block_is_rendered_as_livekit_reads_it() {
    let app = spawn_with(|s| {
        s.redis.address = Some("10.0.0.5:6380".into());
        s.redis.username = Some("lk".into());
        s.redis.password = Some("redis-pass-1".into());
        s.redis.db = Some(2);
        s.sfu_port = Some(7990);
    })
    .await;
    let yaml = app.read("livekit.yaml");
    hero_livekit_server::livekit_schema::check_yaml(&yaml).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(
        doc["redis"],
        serde_json::json!({"address": "10.0.0.5:6380", "username": "lk", "password": "redis-pass-1", "db": 2})
    );
    assert_eq!(doc["port"], 7990);
    app.stop().await;

    let dir = hero_livekit_testkit::temp_dir();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[redis]\nsentinel_master_name = \"lk\"\nsentinel_addresses = [\"10.0.0.1:26379\", \"10.0.0.2:26379\"]\nsentinel_password = \"s-pass\"\n",
    )
    .unwrap();
    let app = spawn_with(|s| {
        s.redis = toml::from_str(
            &std::fs::read_to_string(&file)
                .unwrap()
                .replace("[redis]\n", ""),
        )
        .unwrap()
    })
    .await;
    let yaml = app.read("livekit.yaml");
    hero_livekit_server::livekit_schema::check_yaml(&yaml).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(
        doc["redis"],
        serde_json::json!({
            "sentinel_master_name": "lk",
            "sentinel_password": "s-pass",
            "sentinel_addresses": ["10.0.0.1:26379", "10.0.0.2:26379"],
            "read_timeout": 1000,
            "write_timeout": 1000
        })
    );
}

/// The Redis password reaches livekit.yaml (0600) and Redis itself, and nothing else: not the
/// trace log, not config.get, config.files, status, node.list or the audit log.
#[test]
fn the_redis_password_is_used_and_never_shown() {
    use hero_livekit_testkit::http::rpc;
    use hero_livekit_testkit::{Service, Site};
    const PASSWORD: &str = "redis-secret-9f8e7d";
    let redis = Redis::start();
    redis
        .query(&["CONFIG", "SET", "requirepass", PASSWORD])
        .unwrap();
    let site = Site::new().with_log(Some("trace"));
    let mut server = hero_livekit_testkit::Proc::spawn(
        site.command(Service::Server)
            .args(["--redis-address", &format!("127.0.0.1:{}", redis.port())])
            .env("HERO_LIVEKIT_REDIS_PASSWORD", PASSWORD),
    );
    site.wait_ready(&mut server, Duration::from_secs(20));
    assert!(
        site.read("livekit.yaml").contains(PASSWORD),
        "LiveKit needs it"
    );

    let mut seen = String::new();
    for (method, params) in [
        ("config.get", serde_json::json!({})),
        ("config.files", serde_json::json!({})),
        ("status", serde_json::json!({})),
        ("node.list", serde_json::json!({})),
        ("keys.rotate", serde_json::json!({})),
        ("audit.list", serde_json::json!({})),
    ] {
        let v = rpc(&site.socket(), method, params).unwrap();
        seen.push_str(&v.to_string());
    }
    let list = rpc(&site.socket(), "node.list", serde_json::json!({})).unwrap();
    assert_eq!(
        list["redis_reachable"], true,
        "authenticated with the password: {list}"
    );
    assert!(seen.contains("<redacted>"));
    assert!(
        !seen.contains(PASSWORD),
        "the password leaked into a response"
    );
    let exited = server.terminate();
    assert!(
        exited.stderr.contains(" INFO ") || exited.stderr.contains("DEBUG"),
        "it logged"
    );
    assert!(
        !exited.stderr.contains(PASSWORD),
        "the password leaked into the log"
    );
}

/// The metrics show the fleet as node.list does: nodes by class, each node's registered load,
/// and Redis's reachability; a node that leaves the hash leaves the per-node gauges.
#[tokio::test]
async fn the_metrics_show_each_nodes_class_and_load() {
    let metrics = free_port();
    let mut f = Fleet::with(|s| s.metrics_listen = Some(metrics.to_string())).await;
    let now = hero_livekit_api::timefmt::now_unix();
    let node = |id: &str, updated_at: i64, rooms: i32, clients: i32, cpu: f32| {
        livekit_protocol::Node {
            id: id.into(),
            // Nothing listens there: the probe is refused at once.
            ip: "127.0.0.1".into(),
            num_cpus: 4,
            stats: Some(livekit_protocol::NodeStats {
                started_at: now - 60,
                updated_at,
                num_rooms: rooms,
                num_clients: clients,
                cpu_load: cpu,
                ..Default::default()
            }),
            r#type: 0,
            state: livekit_protocol::NodeState::Serving as i32,
            region: "lab".into(),
        }
        .encode_to_vec()
    };
    let client = redis::Client::open(f.redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    for (id, value) in [
        ("ND_busy", node("ND_busy", now + 30, 3, 12, 0.25)),
        ("ND_crashed", node("ND_crashed", now - 30, 1, 2, 0.5)),
    ] {
        let _: () = redis::AsyncCommands::hset(&mut c, "nodes", id, value)
            .await
            .unwrap();
    }
    f.app.status().await;
    let m = scrape(metrics).await;
    let v = |name: &str, labels: &[(&str, &str)]| {
        sample(&m, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in:\n{m}"))
    };
    assert_eq!(v("hero_livekit_nodes", &[("class", "live")]), 1.0);
    assert_eq!(v("hero_livekit_nodes", &[("class", "stale")]), 1.0);
    assert_eq!(v("hero_livekit_nodes", &[("class", "draining")]), 0.0);
    assert_eq!(v("hero_livekit_node_rooms", &[("node", "ND_busy")]), 3.0);
    assert_eq!(v("hero_livekit_node_clients", &[("node", "ND_busy")]), 12.0);
    assert_eq!(
        v("hero_livekit_node_cpu_load", &[("node", "ND_busy")]),
        0.25
    );
    assert_eq!(
        v("hero_livekit_node_clients", &[("node", "ND_crashed")]),
        2.0
    );
    assert_eq!(v("hero_livekit_redis_reachable", &[]), 1.0);

    let _: () = redis::AsyncCommands::hdel(&mut c, "nodes", "ND_busy")
        .await
        .unwrap();
    f.app.status().await;
    let m = scrape(metrics).await;
    assert_eq!(
        sample(&m, "hero_livekit_node_clients", &[("node", "ND_busy")]),
        None,
        "{m}"
    );
    assert_eq!(
        sample(&m, "hero_livekit_nodes", &[("class", "live")]),
        Some(0.0)
    );

    f.redis.kill();
    f.app.status().await;
    let m = scrape(metrics).await;
    assert_eq!(
        sample(&m, "hero_livekit_redis_reachable", &[]),
        Some(0.0),
        "{m}"
    );
    // The last list read still shows.
    assert_eq!(
        sample(&m, "hero_livekit_node_clients", &[("node", "ND_crashed")]),
        Some(2.0)
    );
}
