//! Ingress, SIP and agent dispatch through the operator CLI (issue 14): the real control plane
//! and lk-backend (logging at trace), the LiveKit stand-in on a real Redis. OBS's server URL
//! and stream key are printed once by `ingress create`; trunks, rules, a call out, a transfer
//! and an agent dispatch go through `sip …` and `agent …`; lk-backend keeps the ingress events
//! and says which sessions were a phone call or an ingress; no stream key, trunk password or
//! PIN shows up in any other output, log, audit row, stored event served or metric.

use std::process::{Command, Output};
use std::time::Duration;

use hero_livekit_testkit::{Proc, Redis, Site, free_port, sibling_bin, wait_until_async};
use livekit_standin::{Options, StandIn};
use serde_json::Value;

const TRUNK_PASSWORD: &str = "trunk-pw-0b7e3c9d";
const PIN: &str = "9081726354";

async fn run_env(site: &Site, args: &[&str], env: &[(&str, &str)]) -> Output {
    let (socket, home) = (site.socket(), site.home());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
            .arg("--socket")
            .arg(socket)
            .arg("--home")
            .arg(home)
            .args(&args)
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn run(site: &Site, args: &[&str]) -> Output {
    run_env(site, args, &[]).await
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn ok(site: &Site, args: &[&str]) -> String {
    let o = run(site, args).await;
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

async fn json(site: &Site, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let o = run(site, &a).await;
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A refused command: exit 1 and its message.
async fn refused(site: &Site, args: &[&str]) -> String {
    let o = run(site, args).await;
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
    text(&o)
}

struct Stack {
    site: Site,
    server: Proc,
    backend: Proc,
    sfu: StandIn,
    _redis: Redis,
}

async fn stack() -> Stack {
    let redis = Redis::start();
    let site = Site::new().with_log(Some("trace"));
    let sfu_port = free_port();
    let config = site.dir().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "livekit_url = \"http://127.0.0.1:{sfu_port}\"\nnode_ip = \"127.0.0.1\"\n\
             sfu_port = {sfu_port}\nbackend_port = {}\nbackend_bind = \"127.0.0.1\"\n\
             livekit_timeout = \"2s\"\n[redis]\naddress = \"127.0.0.1:{}\"\n",
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
    // livekit.yaml with the base URLs publishers use (rendered from [ingress] when the control
    // plane writes them; added here when it does not).
    let mut yaml = site.read("livekit.yaml");
    if !yaml.lines().any(|l| l.starts_with("ingress:")) {
        yaml.push_str(
            "ingress:\n  rtmp_base_url: rtmp://media.example:1935/x\n  whip_base_url: \
             http://media.example:8080/w\n",
        );
    }
    let standin_yaml = site.dir().join("livekit-standin.yaml");
    std::fs::write(&standin_yaml, yaml).unwrap();
    let sfu = StandIn::start_with(
        &standin_yaml,
        Options {
            port: sfu_port,
            unreachable_numbers: vec!["+15105550199".into()],
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
        _redis: redis,
    }
}

/// GET a privileged lk-backend path with the bearer `backend.info` hands out.
async fn backend_get(site: &Site, path: &str) -> String {
    let info = json(site, &["rpc", "backend.info"]).await;
    let bearer = format!("Bearer {}", info["api_token"].as_str().unwrap());
    hero_livekit_testkit::http::Request::get(path)
        .header("authorization", &bearer)
        .send_tcp(site.backend_port)
        .unwrap()
        .text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_a_phone_line_and_an_agent_through_the_cli() {
    let s = stack().await;
    let site = &s.site;
    ok(site, &["room", "create", "stage"]).await;

    // OBS: the server URL and stream key, printed once.
    let created = ok(
        site,
        &[
            "ingress",
            "create",
            "--rtmp",
            "--room",
            "stage",
            "--identity",
            "obs",
            "--name",
            "OBS",
        ],
    )
    .await;
    assert!(
        created.contains("Server:     rtmp://media.example:1935/x"),
        "{created}"
    );
    let key = created
        .lines()
        .find_map(|l| l.trim().strip_prefix("Stream Key: "))
        .expect("the stream key is printed")
        .to_string();
    assert!(key.len() >= 8, "{created}");
    let id =
        json(site, &["ingress", "list", "--room", "stage"]).await["ingresses"][0]["ingress_id"]
            .as_str()
            .unwrap()
            .to_string();
    s.sfu.ingress_publish(&id).unwrap();
    let listed = ok(site, &["ingress", "list"]).await;
    assert!(
        listed.contains(&id) && listed.contains("publishing"),
        "{listed}"
    );
    let o = run(
        site,
        &[
            "ingress",
            "create",
            "--rtmp",
            "--whip",
            "--room",
            "r",
            "--identity",
            "i",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = refused(
        site,
        &[
            "ingress",
            "create",
            "--url",
            "ftp://cams.example/x",
            "--room",
            "stage",
            "--identity",
            "cam",
        ],
    )
    .await;
    assert!(
        e.contains("error: invalid params: url") || e.contains("url"),
        "{e}"
    );
    // A usage error: exit 2, naming the flag and the choices.
    let o = run(
        site,
        &[
            "ingress",
            "create",
            "--rtmp",
            "--room",
            "stage",
            "--identity",
            "x",
            "--video-preset",
            "4k",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--video-preset \"4k\": use h264_720p_30fps_3_layers"));

    // A phone line: trunks, rules, a call out, a transfer.
    let env = [("SIP_PW", TRUNK_PASSWORD), ("PIN", PIN)];
    let o = run_env(
        site,
        &[
            "sip",
            "trunk",
            "create",
            "outbound",
            "provider",
            "--address",
            "sip.provider.example",
            "--number",
            "+15105550100",
            "--transport",
            "tls",
            "--username",
            "acct",
            "--password-env",
            "SIP_PW",
        ],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let o = run_env(
        site,
        &[
            "sip",
            "trunk",
            "create",
            "inbound",
            "office",
            "--number",
            "+15105550100",
            "--allow",
            "203.0.113.0/24",
            "--username",
            "office",
            "--password-env",
            "SIP_PW",
        ],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let trunks = json(site, &["sip", "trunk", "list"]).await;
    let trunks = trunks["trunks"].as_array().unwrap().clone();
    assert_eq!(trunks.len(), 2);
    let outbound = trunks
        .iter()
        .find(|t| t["direction"] == "outbound")
        .unwrap()["trunk_id"]
        .as_str()
        .unwrap()
        .to_string();
    let inbound = trunks.iter().find(|t| t["direction"] == "inbound").unwrap()["trunk_id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown_trunks = ok(site, &["sip", "trunk", "list"]).await;
    assert!(
        shown_trunks.contains("acct (password set)"),
        "{shown_trunks}"
    );
    let o = run_env(
        site,
        &[
            "sip",
            "rule",
            "create",
            "direct",
            "--room",
            "stage",
            "--pin-env",
            "PIN",
            "--trunk",
            &inbound,
        ],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", text(&o));
    ok(
        site,
        &["sip", "rule", "create", "individual", "--prefix", "call-"],
    )
    .await;
    let e = refused(
        site,
        &["sip", "rule", "create", "callee", "--room", "stage"],
    )
    .await;
    assert!(e.contains("room_prefix"), "{e}");
    let rules = ok(site, &["sip", "rule", "list"]).await;
    assert!(
        rules.contains("direct") && rules.contains("individual") && rules.contains("call-…"),
        "{rules}"
    );

    let called = ok(
        site,
        &["sip", "call", "stage", "+15105550111", "--trunk", &outbound],
    )
    .await;
    assert!(
        called.contains("calling +15105550111: joins room stage"),
        "{called}"
    );
    let e = refused(
        site,
        &["sip", "call", "stage", "+15105550199", "--trunk", &outbound],
    )
    .await;
    assert!(
        e.contains("error: the call did not go through") && e.contains("480"),
        "{e}"
    );
    let e = refused(
        site,
        &["sip", "call", "stage", "+15105550111", "--trunk", "ST_nope"],
    )
    .await;
    assert!(e.contains("no such SIP trunk"), "{e}");
    let phone = json(site, &["participant", "list", "stage"]).await["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["attributes"]["sip.phoneNumber"] == "+15105550111")
        .expect("the callee is in the room")["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let people = ok(site, &["participant", "list", "stage"]).await;
    assert!(people.contains("(phone call)"), "{people}");
    let moved = ok(
        site,
        &["sip", "transfer", "stage", &phone, "tel:+15105550122"],
    )
    .await;
    assert!(moved.contains("transferred to tel:+15105550122"), "{moved}");
    let e = refused(site, &["sip", "transfer", "stage", &phone, "+15105550122"]).await;
    assert!(e.contains("transfer_to"), "{e}");

    // An agent into the room.
    let d = json(
        site,
        &[
            "agent",
            "dispatch",
            "stage",
            "receptionist",
            "--metadata",
            "{\"lang\":\"nl\"}",
        ],
    )
    .await;
    let dispatch = d["dispatch_id"].as_str().unwrap().to_string();
    let agents = ok(site, &["agent", "list", "stage"]).await;
    assert!(
        agents.contains(&dispatch) && agents.contains("receptionist"),
        "{agents}"
    );
    ok(site, &["agent", "delete", "stage", &dispatch]).await;
    let e = refused(site, &["agent", "delete", "stage", &dispatch]).await;
    assert!(e.contains("no such agent dispatch"), "{e}");

    // lk-backend keeps the ingress's events and says what each session was.
    s.sfu.ingress_unpublish(&id);
    wait_until_async("ingress events stored", Duration::from_secs(10), || async {
        let v: Value =
            serde_json::from_str(&backend_get(site, "/api/events?room=stage").await).unwrap();
        let events: Vec<String> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect();
        events.contains(&"ingress_started".to_string())
            && events.contains(&"ingress_ended".to_string())
    })
    .await;
    let events = backend_get(site, "/api/events?room=stage").await;
    assert!(events.contains("<redacted>"), "{events}");
    let sessions = backend_get(site, "/api/sessions?room=stage").await;
    let v: Value = serde_json::from_str(&sessions).unwrap();
    let kind_of = |who: &str| {
        v["rooms"][0]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["identity"] == who)
            .map(|p| p["kind"].as_str().unwrap().to_string())
    };
    assert_eq!(kind_of("obs").as_deref(), Some("ingress"), "{sessions}");
    assert_eq!(kind_of(&phone).as_deref(), Some("phone call"), "{sessions}");

    // Delete everything; what is gone is said plainly.
    ok(site, &["ingress", "delete", &id]).await;
    let e = refused(site, &["ingress", "delete", &id]).await;
    assert!(e.contains("error: no such ingress"), "{e}");
    ok(site, &["sip", "trunk", "delete", &outbound]).await;
    ok(site, &["sip", "trunk", "delete", &inbound]).await;
    let e = refused(site, &["sip", "trunk", "delete", &inbound]).await;
    assert!(e.contains("no SIP trunk"), "{e}");

    // The stream key only in the create output; no password or PIN anywhere.
    let audit = ok(site, &["audit", "--json"]).await;
    assert!(audit.contains("ingress.create") && audit.contains("sip.outbound_trunk.create"));
    let metrics = hero_livekit_testkit::http::Request::get("/metrics")
        .send_tcp(site.backend_port)
        .unwrap()
        .text();
    let seen = [
        listed,
        shown_trunks,
        rules,
        called,
        audit,
        events,
        sessions,
        metrics,
        s.server.stderr(),
        s.backend.stderr(),
    ];
    // The logs were captured (RUST_LOG=trace).
    assert!(seen[8].contains("livekit.yaml"), "{}", seen[8]);
    for (i, out) in seen.iter().enumerate() {
        for secret in [key.as_str(), TRUNK_PASSWORD, PIN] {
            assert!(!out.contains(secret), "{secret} in output {i}:\n{out}");
        }
    }
    s.sfu.stop().await;
    drop(s.backend);
    drop(s.server);
}
