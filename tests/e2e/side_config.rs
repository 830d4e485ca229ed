//! Ingress and SIP configuration through the operator CLI (issue 14): `hero_livekit config
//! check` passes on what the control plane renders and fails (exit 1) naming both files and
//! the key once a file disagrees; `config files` shows ingress.yaml and sip.yaml redacted;
//! `status` lists them; `doctor` runs the same check on the files on disk and asks each
//! service's health port.

use std::process::{Command, Output};
use std::time::Duration;

use hero_livekit_testkit::{Proc, Redis, Site, free_port, sibling_bin};
use serde_json::Value;

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

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn config_check_passes_on_the_render_and_names_a_disagreeing_file() {
    let redis = Redis::start();
    let site = Site::new().with_log(None);
    let (ingress_health, sip_health) = (free_port(), free_port());
    let config = site.dir().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "node_ip = \"127.0.0.1\"\nlivekit_url = \"http://127.0.0.1:{}\"\n\
             backend_port = {}\nlivekit_timeout = \"1s\"\n\
             [redis]\naddress = \"127.0.0.1:{}\"\n\
             [ingress]\nenabled = true\nhealth_port = {ingress_health}\n\
             [sip]\nenabled = true\nhealth_port = {sip_health}\n",
            free_port(),
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

    let o = cli(&site, &["config", "check"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("livekit.yaml, backend.env, ingress.yaml, sip.yaml agree"),
        "{}",
        text(&o)
    );
    let o = cli(&site, &["config", "files"]);
    let shown = text(&o);
    assert!(
        shown.contains("# ingress.yaml") && shown.contains("# sip.yaml"),
        "{shown}"
    );
    let secret: Value = serde_saphyr::from_str(&site.read("ingress.yaml")).unwrap();
    let secret = secret["api_secret"].as_str().unwrap().to_string();
    assert!(!shown.contains(&secret), "a secret in config files");
    let o = cli(&site, &["status"]);
    assert!(
        text(&o).contains("ingress.yaml") && text(&o).contains("sip.yaml"),
        "{}",
        text(&o)
    );

    // A hand-edited key: the check fails, naming both files and the key.
    let path = site.home().join("ingress.yaml");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("api_key: API", "api_key: APIforged");
    std::fs::write(&path, edited).unwrap();
    let o = cli(&site, &["config", "check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("FAIL  ingress.yaml api_key vs livekit.yaml")
            && t.contains("is not in livekit.yaml's keys"),
        "{t}"
    );
    let o = cli(&site, &["config", "check", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["file"], "ingress.yaml");
    assert_eq!(v["problems"][0]["other_file"], "livekit.yaml");

    // doctor: the same check on disk, and each service's health port.
    let t = text(&cli(&site, &["doctor", "--bin-dir", "/nonexistent"]));
    assert!(
        t.contains("FAIL  ingress.yaml api_key disagrees with livekit.yaml"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "FAIL  ingress does not answer on its health port {ingress_health}"
        )) && t.contains("it exits 0 after a fatal start error"),
        "{t}"
    );
    assert!(t.contains("sip.yaml is private (0600)"), "{t}");
}
