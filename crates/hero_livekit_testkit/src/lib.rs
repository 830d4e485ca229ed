//! The test kit of the hero_livekit workspace (a dev-dependency only, never published).
//!
//! Every test binary of the workspace builds on it instead of carrying its own copy:
//! - [`free_port`], [`temp_dir`], and [`wait_until`] (one poll interval for every wait);
//! - [`Proc`]: a spawned child that is killed when dropped (SIGTERM, then SIGKILL after a bound),
//!   its stdout and stderr captured line by line, the stderr printed when the test is failing;
//! - [`Site`]: the real binaries on one temp home and socket, with their ports;
//! - [`InProcess`]: a service served by a task of the test's runtime, stopped on drop;
//! - [`http`]: raw HTTP/1.1 over TCP and Unix sockets (raw on purpose: tests send what no client
//!   would), and JSON-RPC over `rpc.sock`;
//! - [`python`]: LiveKit's official Python SDK, the judge of our tokens and webhooks;
//! - [`vectors`]: the committed encodings of LiveKit's own packages (`scripts/make-test-vectors`);
//! - [`Redis`] and [`Postgres`]: private servers on loopback ports, stopped by pid or data dir;
//! - [`Pebble`]: a private ACME CA (Let's Encrypt's test server) for Caddy;
//! - [`checks`]: contracts several services share, checked the same way on each binary.
//!
//! It depends on no crate of the workspace, so any crate may use it without a cycle.

mod bins;
pub mod checks;
pub mod http;
mod in_process;
mod logs;
mod pebble;
mod postgres;
mod process;
pub mod python;
mod redis;
mod site;
pub mod vectors;
mod wait;

pub use bins::{sibling_bin, workspace_root};
pub use in_process::{InProcess, StopSignal};
pub use logs::init_logs;
pub use pebble::Pebble;
pub use postgres::Postgres;
pub use process::{Exited, Proc};
pub use redis::Redis;
pub use site::{Service, Site};
pub use wait::{
    POLL, free_port, wait_for_socket, wait_for_socket_async, wait_for_tcp, wait_until,
    wait_until_async,
};

/// A fresh temp dir (removed on drop), for a home, a socket dir or a scratch file.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp dir")
}
