use std::process::Command;
use std::time::{Duration, Instant};

use hero_livekit_testkit::{Proc, wait_until};

use crate::alive;

fn sh(script: &str) -> Proc {
    Proc::spawn(Command::new("sh").args(["-c", script]))
}

#[test]
fn a_dropped_guard_terminates_its_child() {
    let child = sh("sleep 600");
    let pid = child.pid();
    assert!(alive(pid));
    drop(child);
    assert!(!alive(pid), "pid {pid} outlived its guard");
}

#[test]
fn a_child_ignoring_sigterm_is_killed_after_the_bound() {
    let child = sh("trap '' TERM; echo trapped; while :; do sleep 1; done");
    child.wait_stdout("the trap", Duration::from_secs(10), |l| l == "trapped");
    let pid = child.pid();
    let start = Instant::now();
    drop(child);
    assert!(!alive(pid), "pid {pid} survived SIGKILL");
    assert!(
        start.elapsed() >= Duration::from_secs(4),
        "SIGKILL came before the SIGTERM bound: {:?}",
        start.elapsed()
    );
    // The same with terminate(): the status says it took a SIGKILL.
    let child = sh("trap '' TERM; echo trapped; while :; do sleep 1; done");
    child.wait_stdout("the trap", Duration::from_secs(10), |l| l == "trapped");
    let exited = child.terminate();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&exited.status),
        Some(9)
    );
}

#[test]
fn output_is_captured_line_by_line_and_whole() {
    let child = sh("echo one; echo two >&2; echo three; exec sleep 600");
    assert_eq!(
        child.wait_stdout("three", Duration::from_secs(10), |l| l.starts_with("th")),
        "three"
    );
    wait_until("stderr", Duration::from_secs(10), || {
        child.stderr() == "two\n"
    });
    assert_eq!(
        child.next_stdout_line(Duration::ZERO),
        None,
        "lines are taken once"
    );
    let exited = child.terminate();
    assert_eq!(
        exited.stdout, "one\nthree\n",
        "the whole text keeps taken lines"
    );
    assert_eq!(exited.stderr, "two\n");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&exited.status),
        Some(15)
    );
}

#[test]
fn waiting_for_an_exit_returns_the_status_and_output() {
    let exited = sh("echo out; echo err >&2; exit 3").wait(Duration::from_secs(10));
    assert_eq!(exited.status.code(), Some(3));
    assert_eq!(exited.output(), "out\nerr\n");
}

#[test]
#[should_panic(expected = "the moon not within")]
fn wait_until_fails_naming_what_it_waited_for() {
    wait_until("the moon", Duration::from_millis(30), || false);
}
