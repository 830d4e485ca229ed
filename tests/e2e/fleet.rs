//! The fleet through the CLI (issue 11): `node list`, `status` and `doctor` against a control
//! plane on a private Redis with three stand-in nodes on 127.0.0.2–4 (one port, as real nodes
//! share `port`), through every state an operator meets: all live, a rotation waiting for
//! restarts, a crashed node, Redis down, the control plane gone.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use hero_livekit_api::types::{NodeClass, NodeList};
use hero_livekit_server::config::{Config, Settings};
use hero_livekit_testkit::{InProcess, Redis, free_port, wait_until_async};
use livekit_standin::{Options, StandIn};

const FAKE_SFU: &str = "#!/bin/sh\ncase \"$1\" in\n  --version) echo 'livekit-server version 1.9.0' ;;\n  --config) echo 'tcp 7880 7881 udp 7882' ;;\nesac\n";

fn ip(i: usize) -> String {
    format!("127.0.0.{}", i + 2)
}

/// A control plane in this process on `[redis]`, and its nodes.
struct Fleet {
    dir: tempfile::TempDir,
    home: PathBuf,
    socket: PathBuf,
    redis: Option<Redis>,
    port: u16,
    nodes: Vec<Option<StandIn>>,
    served: Option<InProcess<hero_livekit_server::Result<()>>>,
}

impl Fleet {
    async fn new(redis: bool) -> Fleet {
        let dir = hero_livekit_testkit::temp_dir();
        let store = redis.then(Redis::start);
        let port = free_port();
        let mut s = Settings {
            home: Some(dir.path().join("home")),
            socket: Some(dir.path().join("s/rpc.sock")),
            sfu_port: Some(port),
            livekit_url: Some(format!("http://{}:{port}", ip(0))),
            livekit_timeout: Some("2s".parse().unwrap()),
            ..Default::default()
        };
        if let Some(r) = &store {
            s.redis.address = Some(format!("127.0.0.1:{}", r.port()));
        }
        let config = Config::from_settings(s, None).unwrap();
        let (home, socket) = (config.home.clone(), config.socket.clone());
        let booted = hero_livekit_server::boot(config).await.unwrap();
        Fleet {
            dir,
            home,
            socket,
            redis: store,
            port,
            nodes: Vec::new(),
            served: Some(InProcess::spawn(|stop| booted.serve(stop))),
        }
    }

    /// Starts node `i` on `127.0.0.{i+2}` with the current livekit.yaml, as its machine runs it
    /// (its own `rtc.node_ip`); returns its id once it is registered.
    async fn start(&mut self, i: usize) -> String {
        let yaml = std::fs::read_to_string(self.home.join("livekit.yaml")).unwrap();
        let mut doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        doc["rtc"]["node_ip"] = ip(i).into();
        let file = self.dir.path().join(format!("node{i}.yaml"));
        std::fs::write(&file, serde_saphyr::to_string(&doc).unwrap()).unwrap();
        let node = StandIn::start_with(&file, Options::port(self.port))
            .await
            .unwrap();
        let id = node.node_id().expect("registered in Redis");
        if self.nodes.len() <= i {
            self.nodes.resize_with(i + 1, || None);
        }
        self.nodes[i] = Some(node);
        id
    }

    async fn cli(&self, args: &[&str]) -> Output {
        let (home, socket) = (self.home.clone(), self.socket.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
                .arg("--home")
                .arg(&home)
                .arg("--socket")
                .arg(&socket)
                .args(&args)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    async fn list(&self) -> NodeList {
        let o = self.cli(&["node", "list", "--json"]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
    }

    /// `doctor` with a stand-in `livekit-server` binary, so only what is under test can fail.
    async fn doctor(&self) -> Output {
        let bin = self.dir.path().join("bin");
        if !bin.exists() {
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("livekit-server"), FAKE_SFU).unwrap();
            std::fs::set_permissions(
                bin.join("livekit-server"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        }
        self.cli(&["doctor", "--bin-dir", bin.to_str().unwrap()])
            .await
    }

    async fn stop(&mut self) {
        for n in self.nodes.iter_mut().filter_map(Option::take) {
            n.stop().await;
        }
        if let Some(s) = self.served.take() {
            s.stop().await.unwrap();
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The table row of node `id`, split on whitespace.
fn row<'a>(text: &'a str, id: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no row for {id}:\n{text}"))
        .split_whitespace()
        .collect()
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_list_status_and_doctor_show_the_fleet_and_what_to_fix() {
    let mut f = Fleet::new(true).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(f.start(i).await);
    }
    let redis_at = format!("127.0.0.1:{}", f.redis.as_ref().unwrap().port());

    // All live: `status` probes every node, and `node list` shows what each runs.
    let o = f.cli(&["status"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("fleet    3 live (nodes registered in Redis)\n"),
        "{text}"
    );
    assert!(text.contains("restart  not required"), "{text}");
    let list = f.list().await;
    assert_eq!(
        (list.source.as_str(), list.redis_reachable, list.nodes.len()),
        ("redis", Some(true), 3)
    );
    for n in &list.nodes {
        assert!(ids.contains(&n.id));
        assert_eq!(
            (
                n.class,
                n.runs_current_config,
                n.accepts_active_key,
                n.url.clone()
            ),
            (
                NodeClass::Live,
                Some(true),
                Some(true),
                format!("http://{}:{}", n.ip, f.port)
            )
        );
    }
    // --json is the RPC result as is.
    let o = f.cli(&["node", "list", "--json"]).await;
    let cli: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let o = f.cli(&["rpc", "node.list"]).await;
    let rpc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys = |v: &serde_json::Value| {
        (
            v.as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
            v["nodes"][0].as_object().unwrap().keys().len(),
            v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(keys(&cli), keys(&rpc));

    let o = f.cli(&["node", "list"]).await;
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.starts_with("ID ") && text.lines().next().unwrap().ends_with("  PROBLEMS"),
        "{text}"
    );
    for (i, id) in ids.iter().enumerate() {
        let r = row(&text, id);
        assert_eq!(r.len(), 12, "{text}");
        assert_eq!(
            r[..6],
            [id.as_str(), &ip(i), "-", "live", "0", "0"],
            "{text}"
        );
        assert!(r[6].ends_with('%') && r[7] == "of", "{text}");
        assert_eq!(r[9..], ["yes", "yes", "-"], "{text}");
    }

    let o = f.doctor().await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "ok    Redis at {redis_at} answers: 3 node(s) registered (3 live, 0 starting, 0 draining, 0 suspended, 0 stale)"
        )),
        "{text}"
    );
    assert!(!text.contains("must restart"), "{text}");
    // One machine's SQLite under a fleet: fine for one control plane, said plainly.
    assert!(
        line_with(&text, "warn  a fleet on Redis is configured")
            .contains("state is in a local SQLite file"),
        "{text}"
    );

    // A rotation: every node must restart to load the new key; each is named with why.
    let o = f.cli(&["keys", "rotate"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = f.cli(&["--json", "keys", "list"]).await;
    let keys: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pending = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "pending")
        .unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let text = stdout(&f.cli(&["status"]).await);
    let mut sorted = ids.clone();
    sorted.sort();
    assert!(
        text.contains(&format!("         to restart: {}\n", sorted.join(", "))),
        "{text}"
    );
    assert!(
        text.contains("restart  REQUIRED on 3 node(s): restart them one at a time"),
        "{text}"
    );
    let text = stdout(&f.cli(&["node", "list"]).await);
    for (i, id) in ids.iter().enumerate() {
        let r = row(&text, id);
        assert_eq!(&r[9..11], ["no", "yes"], "{text}");
        let why = line_with(&text, &format!("restart {id} ({}): ", ip(i)));
        assert!(
            why.contains(&format!("new key {pending} is not loaded")),
            "{why}"
        );
    }
    let o = f.doctor().await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "warnings only: {text}");
    for (i, id) in ids.iter().enumerate() {
        let w = line_with(&text, &format!("warn  node {id} ({}) must restart", ip(i)));
        assert!(w.contains(&pending) && w.contains("one at a time"), "{w}");
    }

    // Node 1 crashes: its entry stays in Redis and turns stale.
    let crashed = ids[1].clone();
    f.nodes[1].take().unwrap().kill().await;
    let this = &f;
    wait_until_async(
        "the killed node is stale",
        Duration::from_secs(15),
        || async {
            this.list()
                .await
                .nodes
                .iter()
                .any(|n| n.id == crashed && n.class == NodeClass::Stale)
        },
    )
    .await;
    let text = stdout(&f.cli(&["node", "list"]).await);
    let r = row(&text, &crashed);
    assert_eq!(&r[3..5], ["stale", "(was"], "{text}");
    assert!(
        line_with(&text, &crashed).contains("stale: no update for"),
        "{text}"
    );
    let text = stdout(&f.cli(&["status"]).await);
    assert!(text.contains("fleet    2 live, 1 stale"), "{text}");
    assert!(
        text.contains(&format!(
            "         stale: {crashed} (LiveKit routes nothing to them; it leaves a crashed node's entry until another node starts)"
        )),
        "{text}"
    );
    let o = f.doctor().await;
    let text = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a stale entry is a warning: {text}"
    );
    let w = line_with(
        &text,
        &format!("warn  stale node entry {crashed} (127.0.0.3): "),
    );
    assert!(
        w.contains("no update for") && w.contains("until another node starts"),
        "{w}"
    );

    // Redis dies: a failure doctor names with the address, and the last list, marked.
    f.redis.as_mut().unwrap().kill();
    let o = f.cli(&["node", "list"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("Redis UNREACHABLE: Redis at {redis_at}")),
        "{text}"
    );
    assert!(
        text.contains("the nodes below are the last list read, as of 20"),
        "{text}"
    );
    row(&text, &ids[0]);
    let list = f.list().await;
    assert_eq!((list.redis_reachable, list.nodes.len()), (Some(false), 3));
    let text = stdout(&f.cli(&["status"]).await);
    assert!(
        text.contains(&format!("fleet    Redis UNREACHABLE: Redis at {redis_at}")),
        "{text}"
    );
    let o = f.doctor().await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "Redis down is a failure: {text}");
    assert!(
        text.contains(&format!(
            "FAIL  cannot read the fleet from Redis: Redis at {redis_at}"
        )),
        "{text}"
    );

    // The control plane is gone: exit 3, as for every command through the socket.
    f.stop().await;
    let o = f.cli(&["node", "list"]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_fleet_is_the_one_configured_sfu() {
    let mut f = Fleet::new(false).await;
    let o = f.cli(&["node", "list"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("no [redis]: the fleet is the one SFU at livekit_url\n"),
        "{text}"
    );
    // No stats without Redis: the load is unknown, not zero.
    assert_eq!(
        row(&text, "config"),
        [
            "config",
            "127.0.0.2",
            "-",
            "live",
            "-",
            "-",
            "-",
            "unknown",
            "unknown",
            "-"
        ]
    );
    let text = stdout(&f.cli(&["status"]).await);
    assert!(
        text.contains(&format!(
            "fleet    one SFU at http://127.0.0.2:{} (no [redis])",
            f.port
        )),
        "{text}"
    );
    let text = stdout(&f.doctor().await);
    assert!(
        text.contains("ok    one SFU at http://127.0.0.2:"),
        "{text}"
    );
    assert!(!text.contains("Redis"), "{text}");
    f.stop().await;
}
