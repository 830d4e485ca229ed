//! End-to-end tests across crates: the operator CLI against a real control plane.

mod cli;
mod cluster;
mod dashboard;
mod dbcopy;
mod egress;
mod fleet;
mod manifests;
mod ops;
mod side;
mod side_config;
mod supervision;
