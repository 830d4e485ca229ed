//! Integration tests of hero_livekit_server: in-process servers for the RPC surface, the real
//! binary for boot, restart, locking and signals.

mod boot;
mod helpers;
mod rpc;
mod tokens;
