//! Path and port defaults. Every binary resolves `--home` and `--socket` the same way, so zero
//! flags work end to end and tests can isolate everything with two flags.

use std::path::{Path, PathBuf};

/// TCP port of lk-backend. `service.toml` of the backend and the rendered `PORT` must agree.
pub const BACKEND_PORT: u16 = 8081;
/// TCP port of the admin UI.
pub const ADMIN_PORT: u16 = 8082;
/// The server socket, relative to the sockets dir (as hero_proc manifests name it).
pub const SERVER_SOCKET_REL: &str = "hero_livekit_server/rpc.sock";
/// Env var naming the state dir.
pub const HOME_ENV: &str = "HERO_LIVEKIT_HOME";
/// Env var naming the server socket.
pub const SOCKET_ENV: &str = "HERO_LIVEKIT_SOCKET";
/// Longest Unix socket path Linux accepts (`sun_path` is 108 bytes incl. the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// File names inside the home dir.
pub const LIVEKIT_YAML: &str = "livekit.yaml";
pub const BACKEND_ENV: &str = "backend.env";
/// Rendered for LiveKit's egress service when `[egress]` is enabled.
pub const EGRESS_YAML: &str = "egress.yaml";
/// Rendered for LiveKit's ingress service when `[ingress]` is enabled.
pub const INGRESS_YAML: &str = "ingress.yaml";
/// Rendered for LiveKit's SIP service when `[sip]` is enabled.
pub const SIP_YAML: &str = "sip.yaml";
pub const SERVER_DB: &str = "server.db";
pub const SERVER_LOCK: &str = "server.lock";
pub const BACKEND_DB: &str = "backend.db";
pub const ADMIN_TOKEN: &str = "admin.token";

fn user_home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// `~/hero/var/hero_livekit`
pub fn default_home() -> PathBuf {
    user_home().join("hero/var/hero_livekit")
}

/// `~/hero/var/sockets/hero_livekit_server/rpc.sock`
pub fn default_socket() -> PathBuf {
    user_home().join("hero/var/sockets").join(SERVER_SOCKET_REL)
}

/// Expands a leading `~/` so paths from TOML files and env vars behave like shell paths.
pub fn expand_tilde(p: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => user_home().join(rest),
        Err(_) => p.to_path_buf(),
    }
}
