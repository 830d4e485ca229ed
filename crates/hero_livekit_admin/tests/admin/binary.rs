//! The real binary: login URL on stdout (never in the log on stderr), bounded wait for the server.

use std::process::Command;
use std::time::{Duration, Instant};

use hero_livekit_testkit::Proc;
use hero_livekit_testkit::checks::stops_at_once_while_waiting;
use rustix::process::Signal;

use crate::helpers::{http, start_server};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hero_livekit_admin"));
    c.env_remove("HERO_LIVEKIT_HOME")
        .env_remove("HERO_LIVEKIT_SOCKET")
        .env("RUST_LOG", "info");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_the_login_url_on_stdout_only() {
    let dir = hero_livekit_testkit::temp_dir();
    let server = start_server(dir.path(), |_| {}).await;
    let child = Proc::spawn(
        bin()
            .arg("--home")
            .arg(&server.home)
            .arg("--socket")
            .arg(&server.socket)
            .args(["--listen", "127.0.0.1:0"]),
    );
    let line = child
        .next_stdout_line(Duration::from_secs(20))
        .expect("the login URL on stdout");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:") && !url.starts_with("http://127.0.0.1:0/"));
    let token = std::fs::read_to_string(server.home.join("admin.token")).unwrap();
    assert!(
        url.ends_with(&format!("/login?token={}", token.trim())),
        "{url}"
    );
    let resp = http().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // Two failed logins, to make sure they are logged without the token.
    let wrong = url.replace(token.trim(), "nope");
    assert_eq!(http().get(&wrong).send().await.unwrap().status(), 401);

    let exited = child.terminate();
    let (status, log) = (exited.status, exited.stderr);
    assert!(status.success(), "{status}");
    assert!(log.contains("listening"), "{log}");
    assert!(log.contains("login refused"), "{log}");
    assert!(!log.contains(token.trim()), "the token leaked into the log");
    server.stop().await;
}

#[test]
fn waits_for_the_server_then_gives_up_clearly() {
    let dir = hero_livekit_testkit::temp_dir();
    let start = Instant::now();
    let out = bin()
        .arg("--home")
        .arg(dir.path().join("home"))
        .arg("--socket")
        .arg(dir.path().join("nope/rpc.sock"))
        .args(["--listen", "127.0.0.1:0", "--wait-for-server", "300ms"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(start.elapsed() < Duration::from_secs(10));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server socket")
            && err.contains("nope/rpc.sock")
            && err.contains("did not accept within 300ms"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout before listening");
}

/// No control plane behind the socket: the admin waits for it.
fn waiting_admin() -> (tempfile::TempDir, Command) {
    let dir = hero_livekit_testkit::temp_dir();
    let mut cmd = bin();
    cmd.arg("--home")
        .arg(dir.path().join("home"))
        .arg("--socket")
        .arg(dir.path().join("s/rpc.sock"))
        .args(["--listen", "127.0.0.1:0", "--wait-for-server", "60s"]);
    (dir, cmd)
}

#[test]
fn sigterm_while_waiting_for_the_control_plane_exits_at_once() {
    let (_dir, mut cmd) = waiting_admin();
    stops_at_once_while_waiting(&mut cmd, "hero_livekit_admin", Signal::TERM);
}

#[test]
fn ctrl_c_while_waiting_for_the_control_plane_exits_at_once() {
    let (_dir, mut cmd) = waiting_admin();
    stops_at_once_while_waiting(&mut cmd, "hero_livekit_admin", Signal::INT);
}
