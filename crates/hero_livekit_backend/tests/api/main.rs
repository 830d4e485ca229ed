//! Integration tests of lk-backend: one binary, one module per concern, every test isolated
//! (its own TempDir home and a 127.0.0.1:0 port). Set TEST_LOG=1 to see the logs.

mod binary;
mod egress;
mod events;
mod helpers;
mod manifest;
mod reload;
mod replicas;
mod stats;
mod token;
mod webhook;
