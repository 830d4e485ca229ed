//! The `livekit-standin` process as end-to-end tests run it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::*;

#[tokio::test]
async fn binary_prints_ready_line_and_stops_on_sigterm() {
    let app = spawn().await; // only for its YAML
    let mut child = Command::new(env!("CARGO_BIN_EXE_livekit-standin"))
        .args(["--config", app.yaml.to_str().unwrap(), "--port", "0"])
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
    assert!(url.starts_with("http://127.0.0.1:"));
    let r = reqwest::get(format!("{url}/")).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (200, "OK".to_string())
    );

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // Not re-probing the port: parallel tests may already have been given it again.
}

#[test]
fn binary_refuses_config_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("livekit.yaml");
    std::fs::write(&yaml, "port: 7880\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_livekit-standin"))
        .args(["--config", yaml.to_str().unwrap(), "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("one of key-file or keys must be provided")
    );
}
