//! LiveKit's own encodings (tokens, webhook bodies and signatures, Twirp JSON), written by
//! `scripts/make-test-vectors` from LiveKit's official packages and committed beside this crate.

use std::path::{Path, PathBuf};

/// `crates/hero_livekit_testkit/vectors`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// The bytes of one vector file, e.g. `webhooks/00-room_started.json`.
pub fn read(rel: &str) -> Vec<u8> {
    let path = dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One vector file parsed as JSON, e.g. `tokens.json`.
pub fn json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("vectors/{rel}: {e}"))
}
