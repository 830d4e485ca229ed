//! The arguments every client of the control plane shares (design §3): where its state dir and
//! socket are, and how long to wait for the socket at start. Flattened into each service's
//! `Cli` so the flags, env vars and defaults cannot drift apart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::duration::parse_duration;
use crate::paths;

#[derive(Debug, Clone, clap::Args)]
pub struct ControlPlaneArgs {
    /// State dir of hero_livekit [default: ~/hero/var/hero_livekit]
    #[arg(long, env = "HERO_LIVEKIT_HOME")]
    pub home: Option<PathBuf>,
    /// Socket of hero_livekit_server [default: ~/hero/var/sockets/hero_livekit_server/rpc.sock]
    #[arg(long, env = "HERO_LIVEKIT_SOCKET")]
    pub socket: Option<PathBuf>,
    /// How long to wait at start for the server socket to accept; 0 skips the wait.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub wait_for_server: Duration,
}

impl ControlPlaneArgs {
    /// `--home` with `~` expanded, else the default state dir.
    pub fn home(&self) -> PathBuf {
        home_or_default(self.home.as_deref())
    }

    /// `--socket` with `~` expanded, else the default socket.
    pub fn socket(&self) -> PathBuf {
        socket_or_default(self.socket.as_deref())
    }
}

/// A state dir given on the command line (`~` expanded), else the default.
pub fn home_or_default(given: Option<&Path>) -> PathBuf {
    given
        .map(paths::expand_tilde)
        .unwrap_or_else(paths::default_home)
}

/// A socket given on the command line (`~` expanded), else the default.
pub fn socket_or_default(given: Option<&Path>) -> PathBuf {
    given
        .map(paths::expand_tilde)
        .unwrap_or_else(paths::default_socket)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        control_plane: ControlPlaneArgs,
    }

    #[test]
    fn defaults_are_the_design_paths_and_a_30s_wait() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.control_plane.wait_for_server, Duration::from_secs(30));
        let unset = ControlPlaneArgs {
            home: None,
            socket: None,
            wait_for_server: Duration::ZERO,
        };
        assert!(unset.home().ends_with("hero/var/hero_livekit"));
        assert!(
            unset
                .socket()
                .ends_with("hero/var/sockets/hero_livekit_server/rpc.sock")
        );
    }

    #[test]
    fn flags_are_expanded_and_the_wait_takes_the_duration_grammar() {
        let cli = Cli::try_parse_from([
            "x",
            "--home",
            "~/h",
            "--socket",
            "/run/s.sock",
            "--wait-for-server",
            "0",
        ])
        .unwrap();
        let cp = cli.control_plane;
        assert_eq!(cp.home(), paths::expand_tilde(Path::new("~/h")));
        assert!(!cp.home().starts_with("~"));
        assert_eq!(cp.socket(), PathBuf::from("/run/s.sock"));
        assert!(cp.wait_for_server.is_zero());
        let e = Cli::try_parse_from(["x", "--wait-for-server", "soon"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"soon\" is not a duration (examples:"), "{e}");
    }
}
