//! A private PostgreSQL cluster: Debian's `initdb` and `pg_ctl` into a temp dir, on a loopback
//! port and a socket dir of its own, stopped by its data dir (`pg_ctl stop`), never by name.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tempfile::TempDir;

use crate::wait::free_port;

/// The superuser initdb creates; the cluster trusts local connections, so no password.
const USER: &str = "lk";

/// A cluster of its own per fixture; [`Postgres::create_database`] gives each test a database.
///
/// As root (how the tests run here), the server tools run as Debian's `postgres` user through
/// `runuser`, because initdb refuses root; the temp dir is handed to that user first.
pub struct Postgres {
    bin: PathBuf,
    port: u16,
    running: bool,
    durable: bool,
    databases: AtomicU32,
    dir: TempDir,
}

impl Postgres {
    /// initdb, then start on a port the OS says is free (another one if it was taken since).
    /// `fsync=off`: a test cluster need not survive a power cut.
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// A cluster that keeps PostgreSQL's durable defaults (`fsync`, `synchronous_commit`,
    /// `full_page_writes` on), as a real deployment runs it: for benchmarks, not tests.
    pub fn start_durable() -> Postgres {
        Postgres::start_with(true)
    }

    fn start_with(durable: bool) -> Postgres {
        let bin = bin_dir();
        let dir = crate::temp_dir();
        if is_root() {
            let (uid, gid) = postgres_user();
            rustix::fs::chown(
                dir.path(),
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .expect("chown the cluster's temp dir to postgres");
        }
        let mut pg = Postgres {
            bin,
            port: 0,
            running: false,
            durable,
            databases: AtomicU32::new(0),
            dir,
        };
        let data = pg.data_dir();
        let out = pg.tool(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", text(&out));
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port();
            match pg.pg_ctl_start() {
                Ok(()) => return pg,
                Err(e) => last = e,
            }
        }
        panic!("the private PostgreSQL did not start: {last}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The dir of the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The postmaster's pid, from its pid file, while it runs.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data_dir().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// `postgres://lk@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::SeqCst) + 1);
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                &name,
            ])
            .output()
            .expect("run createdb");
        assert!(out.status.success(), "createdb {name}: {}", text(&out));
        self.url(&name)
    }

    /// Whether `pg_isready` says the server accepts connections.
    pub fn is_ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "5"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Whether `database` exists: a protocol-level startup as `lk` reaches ReadyForQuery
    /// (an ErrorResponse says "does not exist"), with no client library.
    pub fn has_database(&self, database: &str) -> io::Result<bool> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut params = Vec::new();
        for (k, v) in [("user", USER), ("database", database)] {
            params.extend_from_slice(k.as_bytes());
            params.push(0);
            params.extend_from_slice(v.as_bytes());
            params.push(0);
        }
        params.push(0);
        let mut startup = ((8 + params.len()) as u32).to_be_bytes().to_vec();
        startup.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
        startup.extend_from_slice(&params);
        s.write_all(&startup)?;
        // AuthenticationOk, ParameterStatus…, BackendKeyData, then ReadyForQuery ('Z') or an
        // ErrorResponse ('E'): each message is a type byte, a length, the rest.
        let answer = loop {
            let mut head = [0u8; 5];
            s.read_exact(&mut head)?;
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0u8; len.saturating_sub(4)];
            s.read_exact(&mut body)?;
            match head[0] {
                b'Z' => break true,
                b'E' => break false,
                _ => {}
            }
        };
        let _ = s.write_all(&[b'X', 0, 0, 0, 4]); // Terminate
        Ok(answer)
    }

    /// Runs one SQL statement with `psql` on `database`; its unaligned output (fault tests:
    /// terminating a session, making a database read-only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                database,
            ])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops the server (`pg_ctl stop -m fast`), for outage tests; the data stays.
    pub fn stop(&mut self) {
        if self.running {
            let out = self.pg_ctl_stop();
            assert!(out.status.success(), "pg_ctl stop: {}", text(&out));
            self.running = false;
        }
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn resume(&mut self) {
        if !self.running {
            self.pg_ctl_start()
                .unwrap_or_else(|e| panic!("PostgreSQL did not come back on {}: {e}", self.port));
        }
    }

    fn pg_ctl_start(&mut self) -> Result<(), String> {
        let relaxed = if self.durable {
            ""
        } else {
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        };
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}{relaxed}",
            self.port,
            self.socket_dir().display()
        );
        let data = self.data_dir();
        let log = self.dir.path().join("postgres.log");
        let out = self.tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "30".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
        if out.status.success() {
            self.running = true;
            Ok(())
        } else {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            Err(format!("{}\n{log}", text(&out)))
        }
    }

    fn pg_ctl_stop(&self) -> Output {
        let data = self.data_dir();
        self.tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// Runs a server tool of the cluster (as `postgres` when we are root).
    fn tool(&self, name: &str, args: &[&std::ffi::OsStr]) -> Output {
        let program = self.bin.join(name);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            // The tools chdir back to where they started: somewhere `postgres` may enter.
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let out = self.pg_ctl_stop();
            if !out.status.success() && !std::thread::panicking() {
                eprintln!("pg_ctl stop: {}", text(&out));
            }
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `HERO_LIVEKIT_TEST_PG_BIN`, else Debian's newest `/usr/lib/postgresql/<v>/bin`, else the dir
/// of an `initdb` on PATH.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HERO_LIVEKIT_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v)
        .map(|(_, bin)| bin);
    debian
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).find(|d| d.join("initdb").is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server tools (initdb, pg_ctl) are missing: run ./scripts/test, which \
                 installs Debian's `postgresql`, or set HERO_LIVEKIT_TEST_PG_BIN"
            )
        })
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string(Path::new("/etc/passwd")).expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .expect("a `postgres` user (Debian's postgresql package creates it)")
}
