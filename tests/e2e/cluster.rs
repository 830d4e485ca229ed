//! Several control planes on one PostgreSQL, one per SFU machine (issue 12), as real processes:
//! each with its own home, socket and node IP, a stand-in node reading each one's livekit.yaml,
//! all on one Redis. A change on one is on every disk; the cluster part of livekit.yaml is the
//! same everywhere; the owner of the lifecycle can die mid-rotation without stopping it; a lost
//! listener reconnects and resyncs.

use std::process::Command;
use std::time::{Duration, Instant};

use hero_livekit_testkit::http::rpc;
use hero_livekit_testkit::{Postgres, Proc, Redis, Site, free_port, sibling_bin, wait_until};
use serde_json::{Value, json};

struct Instance {
    site: Site,
    server: Option<Proc>,
    node: Option<Proc>,
    node_ip: String,
}

struct Cluster {
    pg: Postgres,
    db: String,
    _redis: Redis,
    sfu_port: u16,
    instances: Vec<Instance>,
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        let pg = Postgres::start();
        let url = pg.create_database();
        let db = url.rsplit('/').next().unwrap().to_string();
        let backend_url = pg.create_database();
        let redis = Redis::start();
        let sfu_port = free_port();
        let mut c = Cluster {
            pg,
            db,
            _redis: redis,
            sfu_port,
            instances: Vec::new(),
        };
        for i in 0..n {
            let ip = format!("127.0.0.{}", i + 2);
            c.instances.push(Instance {
                site: Site::new(),
                server: None,
                node: None,
                node_ip: ip,
            });
            c.start_server(i, &url, &backend_url);
        }
        c
    }

    fn start_server(&mut self, i: usize, url: &str, backend_url: &str) {
        let redis = format!("127.0.0.1:{}", self._redis.port());
        let inst = &mut self.instances[i];
        let mut cmd = inst.site.command_at(sibling_bin("hero_livekit_server"));
        cmd.args(["--database-url", url])
            .args(["--backend-database-url", backend_url])
            .args(["--redis-address", &redis])
            .args(["--sfu-port", &self.sfu_port.to_string()])
            .args(["--node-ip", &inst.node_ip])
            .args([
                "--livekit-url",
                &format!("http://{}:{}", inst.node_ip, self.sfu_port),
            ])
            .args(["--livekit-timeout", "2s", "--backend-bind", "127.0.0.1"])
            .args(["--backend-port", &free_port().to_string()])
            // Every SFU posts to the load balancer in front of the lk-backend replicas.
            .args(["--webhook-url", "http://127.0.0.1:9/webhook"]);
        let mut server = Proc::spawn(&mut cmd);
        inst.site.wait_ready(&mut server, Duration::from_secs(30));
        inst.server = Some(server);
    }

    /// Starts (or restarts) the stand-in node of machine `i` on that machine's livekit.yaml.
    fn start_node(&mut self, i: usize) {
        let inst = &mut self.instances[i];
        drop(inst.node.take());
        let node = Proc::spawn(
            Command::new(sibling_bin("livekit-standin"))
                .arg("--config")
                .arg(inst.site.home().join("livekit.yaml"))
                .args(["--port", &self.sfu_port.to_string()]),
        );
        node.wait_stdout("the node's ready line", Duration::from_secs(20), |l| {
            l.contains("livekit-standin ready")
        });
        inst.node = Some(node);
    }

    fn call(&self, i: usize, method: &str, params: Value) -> Value {
        rpc(&self.instances[i].site.socket(), method, params)
            .unwrap_or_else(|e| panic!("{method} on instance {i}: {e}"))
    }

    fn yaml(&self, i: usize) -> String {
        self.instances[i].site.read("livekit.yaml")
    }

    fn key_state(&self, i: usize, key: &str) -> String {
        let keys = self.call(i, "keys.list", json!({}));
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["api_key"] == key)
            .map(|k| k["state"].as_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

#[test]
fn a_change_on_one_control_plane_is_on_every_disk_and_the_cluster_part_is_identical() {
    let c = Cluster::new(2);
    let started = Instant::now();
    let new = c.call(0, "keys.rotate", json!({}))["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until(
        "B's livekit.yaml carries A's new key",
        Duration::from_secs(5),
        || c.yaml(1).contains(&new),
    );
    eprintln!(
        "keys.rotate on A → B's file on disk in {:?}",
        started.elapsed()
    );
    wait_until(
        "B's backend.env accepts webhooks signed by it",
        Duration::from_secs(5),
        || c.instances[1].site.read("backend.env").contains(&new),
    );

    // The only differences: the node's own IP and the canary named after the whole file.
    let (a, b) = (c.yaml(0), c.yaml(1));
    let differ: Vec<(&str, &str)> = a.lines().zip(b.lines()).filter(|(x, y)| x != y).collect();
    assert_eq!(a.lines().count(), b.lines().count());
    for (x, y) in &differ {
        let node_specific = |l: &str| {
            let t = l.trim_start();
            t.starts_with("node_ip:")
                || (t.starts_with("APIcanary") && !t.starts_with("APIcanaryC"))
                || l.starts_with('#')
        };
        assert!(
            node_specific(x) && node_specific(y),
            "cluster-wide line differs: {x:?} vs {y:?}"
        );
    }
    let status = c.call(1, "status", json!({}));
    let instances = status["cluster"]["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    assert_eq!(status["cluster"]["engine"], "postgres");
    for i in instances {
        assert_eq!(
            (i["current"].as_bool(), i["cluster_matches"].as_bool()),
            (Some(true), Some(true)),
            "{i}"
        );
    }
    let owners = (0..2)
        .filter(|i| c.call(*i, "status", json!({}))["cluster"]["owns_lifecycle"] == true)
        .count();
    assert_eq!(owners, 1, "exactly one instance owns the lifecycle");
}

#[test]
fn the_lifecycle_owner_killed_mid_rotation_hands_over_and_the_rotation_completes() {
    let mut c = Cluster::new(2);
    c.start_node(0);
    c.start_node(1);
    let owner = (0..2)
        .find(|i| c.call(*i, "status", json!({}))["cluster"]["owns_lifecycle"] == true)
        .expect("an owner");
    let survivor = 1 - owner;
    let new = c.call(survivor, "keys.rotate", json!({}))["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until(
        "both files carry the new key",
        Duration::from_secs(5),
        || c.yaml(0).contains(&new) && c.yaml(1).contains(&new),
    );
    // The owner dies without a goodbye; its lock goes with its connection.
    c.instances[owner].server.as_mut().unwrap().kill();
    // Both machines' SFUs restart with the new file.
    c.start_node(0);
    c.start_node(1);
    let started = Instant::now();
    wait_until(
        "the survivor takes over and activates the key",
        Duration::from_secs(25),
        || {
            c.call(survivor, "status", json!({}));
            c.key_state(survivor, &new) == "active"
        },
    );
    eprintln!(
        "takeover and activation {:?} after the owner died",
        started.elapsed()
    );
    assert_eq!(
        c.call(survivor, "status", json!({}))["cluster"]["owns_lifecycle"],
        true
    );
}

#[test]
fn a_terminated_listener_reconnects_and_its_instance_resyncs() {
    let c = Cluster::new(2);
    let killed = c.pg.psql(
        &c.db,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'hero_livekit_server' AND query LIKE 'LISTEN%'",
    );
    assert_eq!(killed, "2", "each instance listens on one connection");
    let new = c.call(0, "keys.rotate", json!({}))["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until(
        "B follows after its listener came back",
        Duration::from_secs(15),
        || c.yaml(1).contains(&new),
    );
    wait_until("both listen again", Duration::from_secs(15), || {
        c.pg.psql(
            &c.db,
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'hero_livekit_server' AND query LIKE 'LISTEN%'",
        ) == "2"
    });
}
