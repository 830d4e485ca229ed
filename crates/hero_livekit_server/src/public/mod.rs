//! Production on a public domain (design §12, production facts §7): what `[public]` renders —
//! livekit.yaml's `rtc`/`turn` parts, the Caddyfile, haproxy.cfg — how each render is checked
//! by the real program before it replaces a file, the TURN certificate kept current for a
//! LiveKit that loads it once, and `deploy.check`.
//!
//! # Layout
//! - `livekit` — the `rtc`/`turn` blocks per topology
//! - `caddy`, `haproxy` — the two proxy configs
//! - `validate` — `caddy validate` / `haproxy -c` on a temp file
//! - `files` — renders, validates and writes them (from `sync::sync_files`)
//! - `turn_cert` — Caddy's renewal noticed, copied, and the served-vs-disk fingerprint
//! - `certs` — PEM/X.509 helpers; `tls_probe` — what a TLS listener serves
//! - `stun` — STUN Binding and TURN Allocate with LiveKit's credentials
//! - `ports` — who holds a port (`/proc/net/*`, `/proc/*/fd`)
//! - `check` — `deploy.check`

pub mod caddy;
pub mod certs;
pub mod check;
pub mod files;
pub mod haproxy;
pub mod livekit;
pub mod ports;
pub mod stun;
pub mod tls_probe;
pub mod turn_cert;
pub mod validate;

use std::path::{Path, PathBuf};

/// Files and directories inside the home.
pub const CADDYFILE: &str = "Caddyfile";
pub const HAPROXY_CFG: &str = "haproxy.cfg";
/// Caddy's pinned storage root (certificates, ACME account, locks).
pub const CADDY_DIR: &str = "caddy";
/// The copies of the TURN certificate that livekit.yaml names.
pub const TURN_DIR: &str = "turn";
pub const TURN_CERT: &str = "turn/turn.crt";
pub const TURN_KEY: &str = "turn/turn.key";

/// Caddy's storage root for a home.
pub fn caddy_storage(home: &Path) -> PathBuf {
    home.join(CADDY_DIR)
}
