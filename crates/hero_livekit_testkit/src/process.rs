//! A spawned child owned by the test: killed when dropped, so a failing assert leaks nothing.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::wait::POLL;

/// How long a stop request (SIGTERM, SIGINT) gets before SIGKILL.
const STOP_BOUND: Duration = Duration::from_secs(10);
/// How long a guard dropped by a finished or failing test waits after SIGTERM.
const DROP_BOUND: Duration = Duration::from_secs(5);
/// How much of the stderr a failing test prints per child.
const DUMP_LINES: usize = 200;

/// A child process with its stdout and stderr captured.
///
/// Dropping it stops the child: SIGTERM, then SIGKILL if it is still running after a few
/// seconds. When the test is panicking, the drop also prints the child's stderr, which is
/// usually the reason.
pub struct Proc {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    stdout: Captured,
    stderr: Captured,
}

/// How a child ended, and everything it wrote.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Exited {
    /// Stdout followed by stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// One output stream: the whole text so far, and its lines one by one.
struct Captured {
    text: Arc<Mutex<String>>,
    lines: Mutex<mpsc::Receiver<String>>,
    eof: Arc<AtomicBool>,
}

impl Captured {
    fn start(stream: impl Read + Send + 'static) -> Captured {
        let text = Arc::new(Mutex::new(String::new()));
        let eof = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (t, e) = (text.clone(), eof.clone());
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut raw = Vec::new();
            // Lossy per line: a child's non-UTF-8 output must not end the capture.
            while reader.read_until(b'\n', &mut raw).is_ok_and(|n| n > 0) {
                let line = String::from_utf8_lossy(&raw)
                    .trim_end_matches('\n')
                    .to_string();
                raw.clear();
                {
                    let mut all = t.lock().unwrap_or_else(|p| p.into_inner());
                    all.push_str(&line);
                    all.push('\n');
                }
                let _ = tx.send(line);
            }
            e.store(true, Ordering::SeqCst);
        });
        Captured {
            text,
            lines: Mutex::new(rx),
            eof,
        }
    }

    fn text(&self) -> String {
        self.text.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn next_line(&self, limit: Duration) -> Option<String> {
        let rx = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        rx.recv_timeout(limit).ok()
    }

    /// The whole text once the stream has ended (or after `limit`, if a grandchild holds it).
    fn finish(&self, limit: Duration) -> String {
        let start = Instant::now();
        while !self.eof.load(Ordering::SeqCst) && start.elapsed() < limit {
            std::thread::sleep(POLL);
        }
        self.text()
    }
}

impl Proc {
    /// Spawns `cmd` with stdin closed and stdout and stderr captured.
    pub fn spawn(cmd: &mut Command) -> Proc {
        let name = std::path::Path::new(cmd.get_program())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", cmd.get_program().display()));
        let stdout = Captured::start(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::start(child.stderr.take().expect("piped stderr"));
        Proc {
            name,
            child,
            status: None,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exit status if the child has ended (reaping it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("waitpid");
        }
        self.status
    }

    pub fn is_running(&mut self) -> bool {
        self.try_wait().is_none()
    }

    /// Sends `signal` to a child that is still running (never to a reaped, maybe reused, pid).
    pub fn signal(&mut self, signal: Signal) {
        if self.is_running() {
            kill_process(Pid::from_child(&self.child), signal).expect("kill(2)");
        }
    }

    /// Waits up to `limit` for the child to end by itself.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGKILL, like `kill -9`, and reap.
    pub fn kill(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            self.status = Some(self.child.wait().expect("waitpid"));
        }
    }

    /// SIGTERM, like systemd's stop; SIGKILL if still running after 10 s (the status then says
    /// so). Returns the status and all the output.
    pub fn terminate(self) -> Exited {
        self.stop_with(Signal::TERM)
    }

    /// SIGINT, like Ctrl-C; otherwise as [`Proc::terminate`].
    pub fn interrupt(self) -> Exited {
        self.stop_with(Signal::INT)
    }

    pub fn stop_with(self, signal: Signal) -> Exited {
        self.stop_timed(signal).1
    }

    /// Sends `signal` and waits for the exit (SIGKILL after 10 s); also returns how long the
    /// child took to exit after the signal.
    pub fn stop_timed(mut self, signal: Signal) -> (Duration, Exited) {
        let sent = Instant::now();
        self.signal(signal);
        let exited = self.wait_timeout(STOP_BOUND);
        let took = sent.elapsed();
        if exited.is_none() {
            self.kill();
        }
        (took, self.exited())
    }

    /// Waits for the child to end by itself; fails the test (killing it) after `limit`.
    pub fn wait(mut self, limit: Duration) -> Exited {
        if self.wait_timeout(limit).is_none() {
            self.kill();
            panic!(
                "{} did not exit within {limit:?}; stderr:\n{}",
                self.name,
                self.stderr()
            );
        }
        self.exited()
    }

    fn exited(&mut self) -> Exited {
        Exited {
            status: self.status.expect("reaped"),
            stdout: self.stdout.finish(DROP_BOUND),
            stderr: self.stderr.finish(DROP_BOUND),
        }
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The next stdout line not yet taken, waiting up to `limit` (`Duration::ZERO`: only look).
    pub fn next_stdout_line(&self, limit: Duration) -> Option<String> {
        self.stdout.next_line(limit)
    }

    /// Takes stdout lines until one matches; fails the test naming `what` after `limit`.
    pub fn wait_stdout(
        &self,
        what: &str,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_line(&self.stdout, "stdout", what, limit, matches)
    }

    /// Takes stderr lines until one matches; fails the test naming `what` after `limit`.
    pub fn wait_stderr(
        &self,
        what: &str,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_line(&self.stderr, "stderr", what, limit, matches)
    }

    fn wait_line(
        &self,
        stream: &Captured,
        which: &str,
        what: &str,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match stream.next_line(left) {
                Some(line) if matches(&line) => return line,
                Some(_) => {}
                None => panic!(
                    "{what}: no such line on the {which} of {} within {limit:?}; it wrote:\n{}\n{}",
                    self.name,
                    self.stdout(),
                    self.stderr()
                ),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
            if self.wait_timeout(DROP_BOUND).is_none() {
                self.kill();
            }
        }
        if std::thread::panicking() {
            let stderr = self.stderr();
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = &lines[lines.len().saturating_sub(DUMP_LINES)..];
            eprintln!(
                "--- stderr of {} (pid {}, {:?}), last {} lines ---\n{}\n--- end of {} ---",
                self.name,
                self.child.id(),
                self.status,
                tail.len(),
                tail.join("\n"),
                self.name
            );
        }
    }
}
