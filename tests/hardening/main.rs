//! Hardening: the services hold under crashes, fuzzed input, hostile clients and other users.
//!
//! - `permissions`: a process of another user (uid 65534) can neither use rpc.sock nor read any
//!   file of the home (the files stay private even when the directories are loosened).
//! - `crash`: `kill -9` at seeded random points of boot and of `keys.rotate` never leaves a
//!   partial file, never loses a key and never changes the active key; the next boot is ready.
//! - `fuzz`: proptest on stable Rust over the params decoder, the backend.env parser, the webhook
//!   verifier and the token decoder; the committed corpus in `corpus/` is replayed first.
//!   Longer run: `PROPTEST_CASES=100000 cargo test --test hardening fuzz`.
//! - `hostile`: a thousand idle connections, slowloris, 10 MiB bodies, deep JSON and huge
//!   batches against the real server and lk-backend, while `health` keeps answering.
//!
//! The binaries are the workspace's own: run `cargo build --workspace --bins` first (scripts/test
//! does), since cargo builds only this package's binaries for its tests.

mod common;
mod crash;
mod fuzz;
mod hostile;
mod permissions;
