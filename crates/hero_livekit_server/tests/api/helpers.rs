use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hero_livekit_api::RpcClient;
use hero_livekit_server::config::{Config, Settings};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tempfile::TempDir;
use tokio::net::UnixStream;

pub struct TestApp {
    pub dir: TempDir,
    pub home: PathBuf,
    pub socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<hero_livekit_server::Result<()>>>,
}

pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        hero_livekit_server::init_tracing();
    }
}

pub fn settings(dir: &Path) -> Settings {
    Settings {
        home: Some(dir.join("home")),
        socket: Some(dir.join("sock/rpc.sock")),
        ..Default::default()
    }
}

/// Boots a server in this process on a fresh temp home.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    tweak(&mut s);
    let config = Config::from_settings(s, None).unwrap();
    let (home, socket) = (config.home.clone(), config.socket.clone());
    let booted = hero_livekit_server::boot(config).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(booted.serve(async {
        let _ = rx.await;
    }));
    TestApp {
        dir,
        home,
        socket,
        stop: Some(tx),
        task: Some(task),
    }
}

impl TestApp {
    pub async fn client(&self) -> RpcClient {
        RpcClient::connect(&self.socket).await.unwrap()
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.join(name)).unwrap()
    }
}

/// One HTTP/1.1 request over the Unix socket; returns status and body.
pub async fn http(
    socket: &Path,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
) -> (u16, String) {
    let stream = UnixStream::connect(socket).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::post("http://localhost/");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = sender
        .send_request(req.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A JSON-RPC call over plain HTTP; returns the parsed response object.
pub async fn rpc_http(socket: &Path, body: &str) -> serde_json::Value {
    let (_, text) = http(socket, Some("application/json"), body.to_string()).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hero_livekit_server")
}

/// The real binary on `dir`'s home and socket.
pub fn start_bin(dir: &Path, extra: &[&str]) -> Child {
    Command::new(server_bin())
        .arg("--home")
        .arg(dir.join("home"))
        .arg("--socket")
        .arg(dir.join("sock/rpc.sock"))
        .args(extra)
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the socket accepts connections.
pub fn wait_socket(socket: &Path) {
    let start = Instant::now();
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "socket {} never accepted",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM and wait; returns the exit status and the captured stdout+stderr.
pub fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status, out)
}

/// The Python interpreter with LiveKit's official `livekit-api` package (set up by scripts/test).
pub fn python() -> PathBuf {
    let p = std::env::var_os("HERO_LIVEKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let ok = Command::new(&p)
        .args(["-c", "import livekit.api"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} with the `livekit-api` package is required: run ./scripts/test (it creates .venv)",
        p.display()
    );
    p
}

/// Secrets of a home: key secrets and bearers, as written to backend.env.
pub fn secrets_of(home: &Path) -> Vec<String> {
    let env = hero_livekit_api::env_file::parse(
        &std::fs::read_to_string(home.join("backend.env")).unwrap(),
    )
    .unwrap();
    let mut out: Vec<String> = [
        "LIVEKIT_API_SECRET",
        "BACKEND_API_TOKEN",
        "TOKEN_ENDPOINT_TOKEN",
    ]
    .iter()
    .map(|k| env[*k].clone())
    .collect();
    let yaml = std::fs::read_to_string(home.join("livekit.yaml")).unwrap();
    let doc = hero_livekit_server::livekit_schema::check_yaml(&yaml).unwrap();
    out.extend(doc.keys.unwrap().into_values());
    out
}
