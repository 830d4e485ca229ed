//! `hero_livekit`: the operator CLI, a client of the control plane's rpc.sock (like `lk` for
//! LiveKit).

pub mod cli;
mod output;
