//! The real `lk-backend` binary: start order, clear failures, overrides, SIGTERM.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hero_livekit_testkit::checks::stops_at_once_while_waiting;
use hero_livekit_testkit::{Proc, free_port};
use rustix::process::Signal;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_lk-backend");

fn backend(home: &Path, socket: &Path, wait: &str) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--home")
        .arg(home)
        .arg("--socket")
        .arg(socket)
        .args(["--wait-for-server", wait])
        .env_remove("HERO_LIVEKIT_HOME")
        .env_remove("HERO_LIVEKIT_SOCKET")
        .env("RUST_LOG", "info");
    c
}

/// Runs to exit (bounded by its own wait) and returns (success, stderr).
fn run_to_exit(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn started_before_the_server_it_waits_then_serves_and_stops_on_sigterm() {
    let home = hero_livekit_testkit::temp_dir();
    let sock_dir = home.path().join("sockets");
    std::fs::create_dir_all(&sock_dir).unwrap();
    let socket = sock_dir.join("rpc.sock");
    let port = free_port();
    write_env(
        &home.path().join("backend.env"),
        &backend_env(home.path(), port),
    );
    let overridden = "overridden-bearer-0123456789abcdefghij";
    let mut child = Proc::spawn(
        backend(home.path(), &socket, "20s")
            .env("LK_BACKEND_BACKEND_API_TOKEN", overridden)
            // A stray variable without the prefix must change nothing.
            .env("BACKEND_API_TOKEN", "stray"),
    );

    // No server yet: still waiting, not serving.
    std::thread::sleep(Duration::from_millis(800));
    assert!(child.is_running(), "lk-backend gave up while waiting");
    assert!(
        child.next_stdout_line(Duration::ZERO).is_none(),
        "ready before the server socket accepted"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    // The "server" comes up: its socket accepts.
    let _server = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let ready = child
        .next_stdout_line(Duration::from_secs(15))
        .expect("no ready line");
    assert!(
        ready.contains(&format!("http://127.0.0.1:{port}")),
        "{ready}"
    );

    hero_livekit_api::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let events = |token: &'static str| {
        client
            .get(format!("{base}/api/events"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(events(overridden).await.unwrap().status(), 200);
    assert_eq!(events(API_TOKEN).await.unwrap().status(), 401);
    assert_eq!(events("stray").await.unwrap().status(), 401);

    let exited = child.terminate();
    assert!(
        exited.status.success(),
        "not a clean exit within 10 s of SIGTERM: {:?}",
        exited.status
    );
    let logs = exited.stderr;
    assert!(
        logs.contains("LK_BACKEND_BACKEND_API_TOKEN"),
        "the override is not logged: {logs}"
    );
    assert!(!logs.contains(overridden), "a secret value was logged");
    assert!(!logs.contains(SECRET_A), "a secret value was logged");
}

#[test]
fn no_server_within_the_wait_is_a_clear_error() {
    let home = hero_livekit_testkit::temp_dir();
    let socket = home.path().join("rpc.sock");
    write_env(
        &home.path().join("backend.env"),
        &backend_env(home.path(), free_port()),
    );
    let (ok, stderr) = run_to_exit(&mut backend(home.path(), &socket, "1s"));
    assert!(!ok);
    assert!(stderr.contains(&socket.display().to_string()), "{stderr}");
    assert!(stderr.contains("did not accept within 1s"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_file_or_variable_or_a_bad_port_is_one_clear_line() {
    let home = hero_livekit_testkit::temp_dir();
    let socket = home.path().join("rpc.sock");
    let env_path = home.path().join("backend.env");

    let (ok, stderr) = run_to_exit(&mut backend(home.path(), &socket, "0"));
    assert!(!ok);
    let line = stderr.lines().last().unwrap();
    assert!(line.contains(&env_path.display().to_string()), "{stderr}");
    assert!(line.contains("No such file"), "{stderr}");

    let env = backend_env(home.path(), free_port());
    write_env_text(
        &env_path,
        &env.render()
            .replace(&format!("BACKEND_API_TOKEN={API_TOKEN}\n"), ""),
    );
    let (ok, stderr) = run_to_exit(&mut backend(home.path(), &socket, "0"));
    assert!(!ok);
    let line = stderr.lines().last().unwrap();
    assert!(
        line.contains(&env_path.display().to_string()) && line.contains("BACKEND_API_TOKEN"),
        "{stderr}"
    );

    write_env_text(
        &env_path,
        &env.render()
            .replace(&format!("PORT={}\n", env.port), "PORT=99999\n"),
    );
    let (ok, stderr) = run_to_exit(&mut backend(home.path(), &socket, "0"));
    assert!(!ok);
    let line = stderr.lines().last().unwrap();
    assert!(line.contains("PORT") && line.contains("99999"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // An explicit --env-file wins over <home>/backend.env.
    let elsewhere = home.path().join("elsewhere.env");
    let (ok, stderr) = run_to_exit(
        backend(home.path(), &socket, "0")
            .arg("--env-file")
            .arg(&elsewhere),
    );
    assert!(
        !ok && stderr.contains(&elsewhere.display().to_string()),
        "{stderr}"
    );
}

/// No control plane behind the socket: lk-backend waits for it.
fn waiting_backend() -> (tempfile::TempDir, Command) {
    let home = hero_livekit_testkit::temp_dir();
    let cmd = backend(home.path(), &home.path().join("rpc.sock"), "60s");
    (home, cmd)
}

#[test]
fn sigterm_while_waiting_for_the_control_plane_exits_at_once() {
    let (_home, mut cmd) = waiting_backend();
    stops_at_once_while_waiting(&mut cmd, "lk-backend", Signal::TERM);
}

#[test]
fn ctrl_c_while_waiting_for_the_control_plane_exits_at_once() {
    let (_home, mut cmd) = waiting_backend();
    stops_at_once_while_waiting(&mut cmd, "lk-backend", Signal::INT);
}
