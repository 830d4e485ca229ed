//! The real binary: login URL on stdout (never in the log on stderr), bounded wait for the server.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), |_| {}).await;
    let mut child = bin()
        .arg("--home")
        .arg(&server.home)
        .arg("--socket")
        .arg(&server.socket)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
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

    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("listening"), "{log}");
    assert!(log.contains("login refused"), "{log}");
    assert!(!log.contains(token.trim()), "the token leaked into the log");
    server.stop().await;
}

#[test]
fn waits_for_the_server_then_gives_up_clearly() {
    let dir = tempfile::tempdir().unwrap();
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

/// Starts the admin with no control plane, waits until it says it is waiting, sends `signal`,
/// and returns how long it took to exit, its status and its stderr.
fn stop_while_waiting(
    signal: rustix::process::Signal,
) -> (Duration, std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .arg("--home")
        .arg(dir.path().join("home"))
        .arg("--socket")
        .arg(dir.path().join("s/rpc.sock"))
        .args(["--listen", "127.0.0.1:0", "--wait-for-server", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("waiting for hero_livekit_server") {
        assert!(
            stderr.read_line(&mut seen).unwrap() > 0,
            "exited before waiting: {seen}"
        );
    }
    let pid = rustix::process::Pid::from_child(&child);
    let sent = Instant::now();
    rustix::process::kill_process(pid, signal).unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after {signal:?}: {seen}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = sent.elapsed();
    stderr.read_to_string(&mut seen).unwrap();
    (took, status, seen)
}

#[test]
fn sigterm_while_waiting_for_the_control_plane_exits_at_once() {
    let (took, status, stderr) = stop_while_waiting(rustix::process::Signal::TERM);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(status.success(), "{status:?} {stderr}");
    assert!(
        stderr.contains("hero_livekit_admin: stopped while waiting for hero_livekit_server"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_while_waiting_for_the_control_plane_exits_at_once() {
    let (took, status, stderr) = stop_while_waiting(rustix::process::Signal::INT);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(status.success(), "{status:?} {stderr}");
    assert!(
        stderr.contains("hero_livekit_admin: stopped while waiting for hero_livekit_server"),
        "{stderr}"
    );
}
