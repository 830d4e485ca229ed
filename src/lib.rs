//! `hero_livekit`: the operator CLI, a client of the control plane's rpc.sock (like `lk` for
//! LiveKit).

pub mod backup;
pub mod cli;
pub mod dbcopy;
pub mod deploy;
pub mod doctor;
pub mod inspect;
mod output;
pub mod sfu;
pub mod up;
