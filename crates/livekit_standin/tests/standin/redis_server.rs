//! A private redis-server per test: loopback, ephemeral port, no persistence, stopped by pid.
//! (Kept small and local; a shared test kit may replace it.)

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    pidfile: PathBuf,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("redis.pid");
        // Another test may take the probed port first; then try another one.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let status = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "yes"])
                .arg("--pidfile")
                .arg(&pidfile)
                .arg("--dir")
                .arg(dir.path())
                .arg("--logfile")
                .arg(dir.path().join("redis.log"))
                .status()
                .expect("redis-server is installed (apt-get install -y redis-server)");
            assert!(status.success(), "redis-server did not start");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if pidfile.exists() && ping(port) {
                    return RedisServer {
                        port,
                        pidfile,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            stop_pid(&pidfile);
        }
        panic!("could not start redis-server");
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("redis://{}/", self.address()))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

fn stop_pid(pidfile: &std::path::Path) {
    if let Ok(pid) = std::fs::read_to_string(pidfile) {
        let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        stop_pid(&self.pidfile);
    }
}
