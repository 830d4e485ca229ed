//! Helpers shared by the hardening tests: the real binaries, a seeded RNG, and raw HTTP over
//! Unix and TCP sockets (raw on purpose: the hostile tests need to send what no client would).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A workspace binary built beside this package's (`cargo build --workspace --bins` first).
pub fn sibling_bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_hero_livekit")).with_file_name(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --bins` (scripts/test does)",
        p.display()
    );
    p
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// splitmix64: tiny, deterministic, good enough to pick kill points from a printed seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `HARDENING_SEED` when set (to replay a failure), else from the clock.
    pub fn from_env(what: &str) -> Rng {
        let seed = std::env::var("HARDENING_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("{what}: seed {seed} (replay with HARDENING_SEED={seed})");
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..=max`.
    pub fn upto(&mut self, max: u64) -> u64 {
        self.next_u64() % (max + 1)
    }
}

/// A home and a socket in one temp dir, and how to start the server on them.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub backend_port: u16,
}

impl Site {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Site {
        Site {
            dir: tempfile::tempdir().unwrap(),
            backend_port: free_port(),
        }
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("s/rpc.sock")
    }
    fn base(&self, bin: &str) -> Command {
        let mut c = Command::new(sibling_bin(bin));
        c.arg("--home")
            .arg(self.home())
            .arg("--socket")
            .arg(self.socket())
            .env("RUST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }
    /// The control plane. No SFU listens on port 1, so no rotation ever completes by itself.
    pub fn server(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        self.base("hero_livekit_server")
            .stderr(log)
            .args([
                "--livekit-url",
                "http://127.0.0.1:1",
                "--backend-port",
                &self.backend_port.to_string(),
                "--backend-bind",
                "127.0.0.1",
            ])
            .spawn()
            .unwrap()
    }
    pub fn backend(&self) -> Child {
        self.base("lk-backend").spawn().unwrap()
    }
    /// The admin UI with its stdout piped (it prints the login URL there).
    pub fn admin(&self, port: u16) -> Child {
        self.base("hero_livekit_admin")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    child.wait().unwrap();
}

pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Splits a raw HTTP/1.1 response into status and body, undoing chunked encoding.
fn split_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let (mut out, mut rest) = (Vec::new(), &body[..]);
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..nl])
                    .ok()?
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(nl + 2..nl + 2 + size)?);
            rest = rest.get(nl + 4 + size..)?;
        }
        body = out;
    }
    Some((status, body))
}

fn exchange(mut s: impl Read + Write, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    s.write_all(request)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    split_response(&raw)
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {raw:?}")))
}

/// One POST of `body` to rpc.sock; returns the status and the body.
pub fn unix_post(socket: &Path, body: &[u8], timeout: Duration) -> std::io::Result<(u16, Vec<u8>)> {
    let s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    exchange(s, &req)
}

/// A JSON-RPC call over rpc.sock: the `result`, or the `error` object as `Err`.
pub fn rpc(socket: &Path, method: &str, params: Value) -> Result<Value, String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, body) = unix_post(socket, body.to_string().as_bytes(), Duration::from_secs(10))
        .map_err(|e| format!("{method}: {e}"))?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("{method}: HTTP {status}, not JSON ({e})"))?;
    match v.get("result") {
        Some(r) => Ok(r.clone()),
        None => Err(v["error"].to_string()),
    }
}

/// One HTTP/1.1 request over TCP to 127.0.0.1:`port`.
pub fn tcp_request(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    exchange(s, &req)
}

/// Waits until the server answers `health` on its socket.
pub fn wait_ready(socket: &Path, child: &mut Child, limit: Duration) {
    let start = Instant::now();
    loop {
        if rpc(socket, "health", serde_json::json!({})).is_ok_and(|h| h["status"] == "ok") {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited before it was ready: {status}");
        }
        assert!(
            start.elapsed() < limit,
            "the server was not ready within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The resident memory of a process, in KiB, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}
