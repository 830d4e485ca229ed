//! The real binaries on one temp home and socket.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::bins::sibling_bin;
use crate::http::{Request, rpc};
use crate::process::Proc;
use crate::wait::{POLL, free_port, wait_until};

/// The three services of a hero_livekit site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Server,
    Backend,
    Admin,
}

impl Service {
    pub fn binary(self) -> &'static str {
        match self {
            Service::Server => "hero_livekit_server",
            Service::Backend => "lk-backend",
            Service::Admin => "hero_livekit_admin",
        }
    }
}

/// A home (`<dir>/home`) and a socket (`<dir>/s/rpc.sock`) in one temp dir, the ports its
/// backend and admin will listen on, and how to start each service on them.
pub struct Site {
    dir: TempDir,
    pub backend_port: u16,
    pub admin_port: u16,
    log: Option<String>,
}

impl Default for Site {
    fn default() -> Site {
        Site::new()
    }
}

impl Site {
    /// A fresh site whose services log at `warn` (see [`Site::with_log`]).
    pub fn new() -> Site {
        Site {
            dir: crate::temp_dir(),
            backend_port: free_port(),
            admin_port: free_port(),
            log: Some("warn".into()),
        }
    }

    /// `RUST_LOG` for the services started from now on; `None`: the binaries' own default.
    pub fn with_log(mut self, filter: Option<&str>) -> Site {
        self.log = filter.map(String::from);
        self
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("s/rpc.sock")
    }

    /// A file of the home, as text.
    pub fn read(&self, name: &str) -> String {
        let path = self.home().join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The binary at `bin` on this site's home and socket, with nothing inherited that would
    /// point it elsewhere (no NOTIFY_SOCKET, no HERO_LIVEKIT_HOME/SOCKET).
    pub fn command_at(&self, bin: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(bin);
        c.arg("--home")
            .arg(self.home())
            .arg("--socket")
            .arg(self.socket())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("HERO_LIVEKIT_HOME")
            .env_remove("HERO_LIVEKIT_SOCKET");
        match &self.log {
            Some(filter) => c.env("RUST_LOG", filter),
            None => c.env_remove("RUST_LOG"),
        };
        c
    }

    /// One service of the stack, wired to the others: the server renders `backend_port` (on
    /// loopback) into backend.env and drives an SFU on port 1, where nothing listens, so no key
    /// rotation ever completes by itself; the admin listens on `admin_port`.
    pub fn command(&self, service: Service) -> Command {
        let mut c = self.command_at(sibling_bin(service.binary()));
        match service {
            Service::Server => c.args([
                "--livekit-url",
                "http://127.0.0.1:1",
                "--backend-port",
                &self.backend_port.to_string(),
                "--backend-bind",
                "127.0.0.1",
            ]),
            Service::Backend => &mut c,
            Service::Admin => c.args(["--listen", &format!("127.0.0.1:{}", self.admin_port)]),
        };
        c
    }

    pub fn start(&self, service: Service) -> Proc {
        Proc::spawn(&mut self.command(service))
    }

    pub fn server(&self) -> Proc {
        self.start(Service::Server)
    }

    pub fn backend(&self) -> Proc {
        self.start(Service::Backend)
    }

    pub fn admin(&self) -> Proc {
        self.start(Service::Admin)
    }

    /// Waits until the server answers `health` on the socket; fails with its stderr if it exits.
    pub fn wait_ready(&self, server: &mut Proc, limit: Duration) {
        let start = Instant::now();
        loop {
            if rpc(&self.socket(), "health", serde_json::json!({}))
                .is_ok_and(|h| h["status"] == "ok")
            {
                return;
            }
            if let Some(status) = server.try_wait() {
                panic!(
                    "{} exited before it was ready ({status}):\n{}",
                    server.name(),
                    server.stderr()
                );
            }
            assert!(
                start.elapsed() < limit,
                "{} was not ready within {limit:?}",
                server.name()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits until lk-backend answers `GET /health` with 200.
    pub fn wait_backend(&self, limit: Duration) {
        wait_until("lk-backend /health", limit, || {
            Request::get("/health")
                .timeout(Duration::from_secs(2))
                .send_tcp(self.backend_port)
                .is_ok_and(|r| r.status == 200)
        });
    }

    /// The server, started and ready; then lk-backend, serving.
    pub fn start_server_and_backend(&self) -> (Proc, Proc) {
        let mut server = self.server();
        self.wait_ready(&mut server, Duration::from_secs(30));
        let backend = self.backend();
        self.wait_backend(Duration::from_secs(20));
        (server, backend)
    }
}
