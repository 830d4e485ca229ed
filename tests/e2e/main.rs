//! End-to-end tests across crates: the operator CLI against a real control plane.

mod cli;
mod egress;
mod manifests;
mod ops;
mod supervision;
