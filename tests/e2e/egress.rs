//! Recording through the operator CLI (issue 13): the real control plane and lk-backend
//! (logging at trace), LiveKit stand-in on a real Redis. A room is recorded and streamed, its
//! track exported, both stopped; the recordings outlive LiveKit's memory in lk-backend's
//! catalogue; no stream key or storage secret shows up in any output, log, audit row or metric;
//! and `doctor` checks egress's health port.

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::Duration;

use hero_livekit_testkit::{Proc, Redis, Site, free_port, sibling_bin, wait_until_async};
use livekit_standin::{Options, Source, StandIn, TrackKind, TrackSpec};
use serde_json::Value;

const STREAM_KEY: &str = "yt-key-7d1e0c4b9a";
const S3_SECRET: &str = "s3-secret-2b8f6a1d0e";

fn cli(site: &Site, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
        .arg("--socket")
        .arg(site.socket())
        .arg("--home")
        .arg(site.home())
        .args(args)
        .env_remove("HERO_LIVEKIT_SOCKET")
        .env_remove("HERO_LIVEKIT_HOME")
        .output()
        .unwrap()
}

async fn run(site: &Site, args: &[&str]) -> Output {
    let (site_socket, site_home) = (site.socket(), site.home());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
            .arg("--socket")
            .arg(site_socket)
            .arg("--home")
            .arg(site_home)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn json(site: &Site, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let o = run(site, &a).await;
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A control plane with [redis] and [egress] (S3 storage), lk-backend, and the stand-in as the
/// SFU; the services log at trace.
struct Stack {
    site: Site,
    server: Proc,
    backend: Proc,
    sfu: StandIn,
    health_port: u16,
    _redis: Redis,
}

async fn stack() -> Stack {
    let redis = Redis::start();
    let site = Site::new().with_log(Some("trace"));
    let sfu_port = free_port();
    let health_port = free_port();
    let config = site.dir().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "livekit_url = \"http://127.0.0.1:{sfu_port}\"\nnode_ip = \"127.0.0.1\"\n\
             sfu_port = {sfu_port}\nbackend_port = {}\nbackend_bind = \"127.0.0.1\"\n\
             livekit_timeout = \"2s\"\n\
             [redis]\naddress = \"127.0.0.1:{}\"\n\
             [egress]\nenabled = true\nhealth_port = {health_port}\n\
             [egress.storage]\nprefix = \"recordings/\"\n\
             [egress.storage.s3]\nbucket = \"standups\"\naccess_key = \"AKIAEXAMPLE\"\n\
             secret = \"{S3_SECRET}\"\nregion = \"eu-west-1\"\n",
            site.backend_port,
            redis.port()
        ),
    )
    .unwrap();
    let mut server = Proc::spawn(
        site.command_at(sibling_bin("hero_livekit_server"))
            .arg("--config")
            .arg(&config),
    );
    site.wait_ready(&mut server, Duration::from_secs(30));
    let backend = site.backend();
    site.wait_backend(Duration::from_secs(20));
    let sfu = StandIn::start_with(
        &site.home().join("livekit.yaml"),
        Options {
            port: sfu_port,
            egress_start_delay: Duration::from_millis(50),
            egress_end_delay: Duration::from_millis(50),
            // LiveKit forgets a finished egress after 24 h; here after 2 s.
            egress_retention: Duration::from_secs(2),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    Stack {
        site,
        server,
        backend,
        sfu,
        health_port,
        _redis: redis,
    }
}

async fn wait_status(site: &Site, id: &str, status: &str) {
    wait_until_async(
        &format!("{id} {status}"),
        Duration::from_secs(10),
        || async {
            json(site, &["egress", "list", "--id", id]).await["egresses"][0]["status"] == status
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_a_room_through_the_cli_and_find_it_after_livekit_forgot_it() {
    let s = stack().await;
    let site = &s.site;
    let o = run(site, &["room", "create", "standup"]).await;
    assert!(o.status.success(), "{}", text(&o));
    s.sfu.join(
        "standup",
        "alice",
        "Alice",
        &[TrackSpec {
            kind: TrackKind::Audio,
            source: Source::Microphone,
            name: "mic".into(),
        }],
    );

    // Record the room to S3 and stream it to YouTube at once.
    let rtmp = format!("rtmp://a.rtmp.youtube.com/live2/{STREAM_KEY}");
    let o = run(
        site,
        &[
            "egress",
            "start",
            "room-composite",
            "standup",
            "--file",
            "standups/{room_name}",
            "--rtmp",
            &rtmp,
            "--layout",
            "grid",
        ],
    )
    .await;
    let shown = text(&o);
    assert!(o.status.success(), "{shown}");
    assert!(
        shown.contains("room_composite") && shown.contains("starting"),
        "{shown}"
    );
    let composite =
        json(site, &["egress", "list", "--room", "standup"]).await["egresses"][0]["egress_id"]
            .as_str()
            .unwrap()
            .to_string();
    wait_status(site, &composite, "active").await;
    let active = run(site, &["egress", "list", "--active"]).await;
    assert!(
        text(&active).contains(&composite) && text(&active).contains("recording"),
        "{}",
        text(&active)
    );

    // Export alice's microphone as published.
    let mic = json(site, &["participant", "list", "standup"]).await["participants"][0]["tracks"][0]
        ["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let track = json(
        site,
        &[
            "egress",
            "start",
            "track",
            "standup",
            &mic,
            "--file",
            "tracks/mic",
        ],
    )
    .await;
    let track = track["egress_id"].as_str().unwrap().to_string();
    assert_eq!(
        json(site, &["egress", "list", "--id", &track]).await["egresses"][0]["kind"],
        "track"
    );

    for id in [&composite, &track] {
        let o = run(site, &["egress", "stop", id]).await;
        assert!(text(&o).contains("finishing"), "{}", text(&o));
        wait_status(site, id, "complete").await;
    }
    // What LiveKit's refusal looks like from the CLI.
    let o = run(
        site,
        &["egress", "start", "room-composite", "nobody", "--file", "x"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("error: no such room is open"),
        "{}",
        text(&o)
    );

    // LiveKit forgets them; the catalogue does not.
    wait_until_async(
        "LiveKit forgot the egress",
        Duration::from_secs(10),
        || async {
            let o = run(site, &["egress", "list", "--id", &composite]).await;
            !o.status.success() && text(&o).contains("no such egress")
        },
    )
    .await;
    wait_until_async(
        "both recordings catalogued",
        Duration::from_secs(10),
        || async {
            let v = json(site, &["recordings", "--room", "standup"]).await;
            v["egress"].as_array().unwrap().len() == 2
                && v["egress"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|e| e["status"] == "complete")
        },
    )
    .await;
    let o = run(site, &["recordings", "--room", "standup"]).await;
    let listed = text(&o);
    assert!(o.status.success(), "{listed}");
    assert!(
        listed.contains(&composite) && listed.contains(&track),
        "{listed}"
    );
    // Where the file went (the stand-in's worker writes the path it was given).
    assert!(listed.contains("standups/standup.mp4"), "{listed}");
    assert!(listed.contains("complete"), "{listed}");

    // No stream key or storage secret anywhere an operator or a log reader could see it.
    let audit = run(site, &["audit", "--json"]).await;
    let files = run(site, &["config", "files"]).await;
    let config = run(site, &["config", "show"]).await;
    let status = run(site, &["status", "--json"]).await;
    let metrics = hero_livekit_testkit::http::Request::get("/metrics")
        .send_tcp(site.backend_port)
        .unwrap()
        .body;
    assert!(text(&audit).contains("egress.start_room_composite"));
    assert!(
        text(&audit).contains("live2/<redacted>"),
        "{}",
        text(&audit)
    );
    assert!(text(&files).contains("# egress.yaml"), "{}", text(&files));
    let seen = [
        shown,
        text(&active),
        listed,
        text(&audit),
        text(&files),
        text(&config),
        text(&status),
        String::from_utf8_lossy(&metrics).into_owned(),
        s.server.stderr(),
        s.backend.stderr(),
    ];
    // The logs were captured (RUST_LOG=trace): the server logged writing egress.yaml.
    assert!(
        s.server.stderr().contains("egress.yaml"),
        "{}",
        s.server.stderr()
    );
    for (i, out) in seen.iter().enumerate() {
        for secret in [STREAM_KEY, S3_SECRET] {
            assert!(!out.contains(secret), "{secret} in output {i}:\n{out}");
        }
    }
    s.sfu.stop().await;
    drop(s.backend);
    drop(s.server);
}

/// A fake egress health endpoint: LiveKit's JSON status on every request.
fn fake_egress_health(port: u16) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { return };
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let body = r#"{"CpuLoad":1.6}"#;
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_egress_health_and_the_hosts_cores() {
    let s = stack().await;
    let doctor = |site: &Site| cli(site, &["doctor", "--bin-dir", "/nonexistent"]);
    let o = doctor(&s.site);
    let t = text(&o);
    assert!(
        t.contains(&format!(
            "FAIL  egress does not answer on its health port {}",
            s.health_port
        )),
        "{t}"
    );
    assert!(t.contains("egress.yaml is private (0600)"), "{t}");
    assert!(t.contains(" cores"), "{t}");
    let cores = std::thread::available_parallelism().unwrap().get();
    if cores < 4 {
        // egress.yaml admits one room composite on a small host; doctor says what that means.
        assert!(t.contains(&format!("this host has {cores} cores")), "{t}");
        let yaml: Value = serde_saphyr::from_str(&s.site.read("egress.yaml")).unwrap();
        assert_eq!(
            yaml["cpu_cost"]["room_composite_cpu_cost"].as_f64(),
            Some(cores as f64)
        );
    }
    fake_egress_health(s.health_port);
    let t = text(&doctor(&s.site));
    assert!(
        t.contains(&format!(
            "ok    egress answers on its health port {} (CPU available: 1.6)",
            s.health_port
        )),
        "{t}"
    );
    s.sfu.stop().await;
}
