//! End-to-end tests across crates: the operator CLI against a real control plane.

mod cli;
mod manifests;
mod ops;
mod supervision;

/// A workspace binary built beside this package's (scripts/test runs `cargo build --workspace
/// --bins` first, since cargo only builds the binaries of the package under test).
pub fn sibling_bin(name: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_BIN_EXE_hero_livekit")).with_file_name(name);
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test (it builds every workspace binary)",
        p.display()
    );
    p
}
