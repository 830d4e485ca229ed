//! LiveKit's official Python SDK (`livekit-api`), the judge of our tokens and webhooks.

use std::path::PathBuf;
use std::process::Command;

use crate::bins::workspace_root;

/// The Python with `livekit-api`: `HERO_LIVEKIT_TEST_PYTHON`, else the workspace's `.venv`.
/// Never skipped: without it the test fails and says how to get it.
pub fn python() -> PathBuf {
    let candidate = std::env::var_os("HERO_LIVEKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import livekit.api"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "LiveKit's Python SDK is needed at {} (set HERO_LIVEKIT_TEST_PYTHON, or run ./scripts/test, \
         which creates .venv with the pinned `livekit-api`)",
        candidate.display()
    );
    candidate
}

/// Runs a Python snippet with arguments; returns its stdout, failing the test on a non-zero exit.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 from python")
}

/// Whether a Python snippet exits 0 (for "the SDK refuses this").
pub fn python_succeeds(script: &str, args: &[&str]) -> bool {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python")
        .status
        .success()
}
