//! Benchmark: boot-to-ready of the real binary (fresh home and warm restart), and `health`
//! round trips over rpc.sock beside a raw Unix-socket echo of the same size in the same run.
//!
//! Run with `benches/rpc/run` (release build). Prints medians, p99s and ratios.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn boot(bin: &Path, home: &Path, socket: &Path) -> (Duration, std::process::Child) {
    let start = Instant::now();
    let child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .arg("--socket")
        .arg(socket)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while UnixStream::connect(socket).is_err() {
        std::thread::sleep(Duration::from_micros(200));
    }
    (start.elapsed(), child)
}

fn stop(mut child: std::process::Child) {
    let pid = child.id() as i32;
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    child.wait().unwrap();
}

/// One HTTP/1.1 keep-alive connection; returns the time of each `health` call.
fn health_calls(socket: &Path, n: usize) -> Vec<Duration> {
    let mut s = UnixStream::connect(socket).unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"health","params":{}}"#;
    let req = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(req.as_bytes()).unwrap();
        // Read one response: headers, then content-length bytes.
        let mut got = 0;
        loop {
            got += s.read(&mut buf[got..]).unwrap();
            let text = String::from_utf8_lossy(&buf[..got]);
            if let Some(h) = text.find("\r\n\r\n") {
                let len: usize = text[..h]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap();
                if got >= h + 4 + len {
                    assert!(text.contains("\"ok\""));
                    break;
                }
            }
        }
        out.push(t.elapsed());
    }
    out
}

/// The floor: a thread echoing the same number of bytes over a Unix socket.
fn echo_calls(dir: &Path, n: usize, size: usize) -> Vec<Duration> {
    let path = dir.join("echo.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok(k) = c.read(&mut buf) else { return };
            if k == 0 || c.write_all(&buf[..k]).is_err() {
                return;
            }
        }
    });
    let mut s = UnixStream::connect(&path).unwrap();
    let msg = vec![b'x'; size];
    let mut buf = vec![0u8; size];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(&msg).unwrap();
        s.read_exact(&mut buf).unwrap();
        out.push(t.elapsed());
    }
    out
}

fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: bench_rpc <path to release hero_livekit_server>");
    let bin = Path::new(&bin);
    let dir = tempfile::tempdir().unwrap();
    let runs = 15;

    let mut fresh = Vec::new();
    for i in 0..runs {
        let home = dir.path().join(format!("fresh{i}"));
        let (t, child) = boot(bin, &home, &dir.path().join(format!("f{i}.sock")));
        fresh.push(t);
        stop(child);
    }
    let home = dir.path().join("warm");
    let socket = dir.path().join("warm.sock");
    stop(boot(bin, &home, &socket).1);
    let mut warm = Vec::new();
    for _ in 0..runs {
        let (t, child) = boot(bin, &home, &socket);
        warm.push(t);
        stop(child);
    }

    let (_, child) = boot(bin, &home, &socket);
    let n = 20_000;
    let _ = health_calls(&socket, 500); // warm-up
    let health = health_calls(&socket, n);
    stop(child);
    let echo = echo_calls(dir.path(), n, 250);

    println!("boot to ready (socket accepts), {runs} runs, release build:");
    println!(
        "  fresh home     median {:7.2} ms   p99 {:7.2} ms",
        ms(pct(fresh.clone(), 0.5)),
        ms(pct(fresh, 0.99))
    );
    println!(
        "  warm restart   median {:7.2} ms   p99 {:7.2} ms",
        ms(pct(warm.clone(), 0.5)),
        ms(pct(warm, 0.99))
    );
    let (hm, hp) = (pct(health.clone(), 0.5), pct(health, 0.99));
    let (em, ep) = (pct(echo.clone(), 0.5), pct(echo, 0.99));
    println!("round trips over a Unix socket, {n} calls, one connection:");
    println!(
        "  health (JSON-RPC over HTTP/1.1)  median {:7.1} us   p99 {:7.1} us",
        us(hm),
        us(hp)
    );
    println!(
        "  raw echo, 250 bytes (floor)      median {:7.1} us   p99 {:7.1} us",
        us(em),
        us(ep)
    );
    println!(
        "  ratio health/echo                median {:5.2}x      p99 {:5.2}x",
        us(hm) / us(em),
        us(hp) / us(ep)
    );
}
