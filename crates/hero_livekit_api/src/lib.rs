//! The contract shared by every hero_livekit process.
//!
//! The server, the backend, the admin UI and the CLI agree on names, paths, the JSON-RPC
//! methods and the `backend.env` format through this crate alone, so none of them depends on
//! another's internals.

pub mod args;
pub mod client;
pub mod duration;
pub mod egress;
pub mod env_file;
pub mod errors;
pub mod limits;
pub mod logging;
pub mod methods;
pub mod paths;
pub mod redact;
pub mod service;
pub mod side;
pub mod timefmt;
pub mod tls;
pub mod types;
pub mod wait;

pub use client::{ClientError, RpcClient};
pub use methods::Method;
