//! Contracts several services share, checked the same way on each of their binaries.

use std::process::Command;
use std::time::Duration;

use rustix::process::Signal;

use crate::process::Proc;

/// lk-backend and the admin wait for the control plane at start; asked to stop while they wait
/// (SIGTERM from systemd, Ctrl-C in a terminal), they exit 0 at once, saying
/// `<name>: stopped while waiting for hero_livekit_server`. `cmd` is the service, with no
/// control plane behind its socket and a long `--wait-for-server`.
pub fn stops_at_once_while_waiting(cmd: &mut Command, name: &str, signal: Signal) {
    let child = Proc::spawn(cmd);
    child.wait_stderr("the wait", Duration::from_secs(20), |l| {
        l.contains("waiting for hero_livekit_server")
    });
    let (took, exited) = child.stop_timed(signal);
    let (status, stderr) = (exited.status, exited.stderr);
    assert!(took < Duration::from_secs(1), "{signal:?} took {took:?}");
    assert!(status.success(), "{signal:?}: {status:?} {stderr}");
    assert!(
        stderr.contains(&format!(
            "{name}: stopped while waiting for hero_livekit_server"
        )),
        "{stderr}"
    );
}
