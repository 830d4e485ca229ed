//! A private Redis: Debian's `redis-server` on a loopback port of its own, no persistence.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::Proc;
use crate::wait::{POLL, free_port};

const READY_BOUND: Duration = Duration::from_secs(20);

/// `redis-server` in the foreground as a child of the test, its pidfile and working dir in a
/// temp dir. Dropped: stopped by its pid (SIGTERM, then SIGKILL) and the temp dir removed.
pub struct Redis {
    // Declared first so it is dropped (stopped) before its dir is removed.
    server: Option<Proc>,
    port: u16,
    dir: TempDir,
}

impl Redis {
    /// Starts a fresh server on a port the OS says is free (another one if it was taken since).
    pub fn start() -> Redis {
        let mut last = String::new();
        for _ in 0..5 {
            let mut redis = Redis {
                server: None,
                port: free_port(),
                dir: crate::temp_dir(),
            };
            match redis.launch() {
                Ok(()) => return redis,
                Err(e) => last = e,
            }
        }
        panic!("no private redis-server: {last}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's temp dir (its working dir; it holds the pidfile).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Where the server writes its pid.
    pub fn pidfile(&self) -> PathBuf {
        self.dir.path().join("redis.pid")
    }

    /// The running server's pid.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Proc::pid)
    }

    pub fn is_running(&mut self) -> bool {
        self.server.as_mut().is_some_and(Proc::is_running)
    }

    /// `PING` over RESP; `Ok` only for `+PONG`.
    pub fn ping(&self) -> io::Result<()> {
        match self.query(&["PING"])?.as_str() {
            "+PONG" => Ok(()),
            other => Err(io::Error::other(format!("PING answered {other:?}"))),
        }
    }

    /// One command over a fresh connection; returns the reply's first line, or for a bulk
    /// string its value (`$-1`, nil, stays as is).
    pub fn query(&self, args: &[&str]) -> io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes())?;
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end().to_string();
        match line.strip_prefix('$').map(str::parse::<i64>) {
            Some(Ok(n)) if n >= 0 => {
                let mut value = String::new();
                reader.read_line(&mut value)?;
                Ok(value.trim_end().to_string())
            }
            _ => Ok(line),
        }
    }

    /// SIGKILL, like a crash: nothing is flushed or left behind (there is no persistence).
    pub fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.kill();
        }
    }

    /// Stops the server if it runs, then starts a fresh one on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch()
            .unwrap_or_else(|e| panic!("redis-server did not come back on {}: {e}", self.port));
    }

    fn launch(&mut self) -> Result<(), String> {
        if !on_path("redis-server") {
            panic!(
                "redis-server is missing: run ./scripts/test, which installs Debian's \
                 `redis-server`, or `apt-get install -y redis-server`"
            );
        }
        let dir = self.dir.path();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .args(["--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(dir)
            .arg("--pidfile")
            .arg(self.pidfile())
            .current_dir(dir);
        let mut server = Proc::spawn(&mut cmd);
        let start = Instant::now();
        while self.ping().is_err() {
            if let Some(status) = server.try_wait() {
                return Err(format!(
                    "redis-server exited ({status}): {}",
                    server.stdout()
                ));
            }
            if start.elapsed() > READY_BOUND {
                return Err(format!(
                    "no PONG within {READY_BOUND:?}: {}",
                    server.stdout()
                ));
            }
            std::thread::sleep(POLL);
        }
        self.server = Some(server);
        Ok(())
    }
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}
