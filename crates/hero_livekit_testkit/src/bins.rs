//! Where the workspace and its binaries are.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `<root>/crates/hero_livekit_testkit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

/// A workspace binary in the target dir of the running test (`<target>/debug/deps/<test>` runs,
/// `<target>/debug/<name>` is the binary). Cargo builds only the binaries of the package under
/// test, so the others need `cargo build --workspace --bins` first (scripts/test does).
pub fn sibling_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from <target>/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (./scripts/test does)",
        bin.display()
    );
    bin
}
