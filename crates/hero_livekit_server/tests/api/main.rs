//! Integration tests of hero_livekit_server: in-process servers for the RPC surface, the real
//! binary for boot, restart, locking and signals.

mod boot;
mod egress;
mod fleet;
mod helpers;
mod livekit;
mod metrics;
mod production;
mod public;
mod rpc;
mod side;
mod side_files;
mod store;
mod tokens;
