//! Configuration of the admin UI: where it listens, where the control plane is, and how long
//! sessions last. Flags and env follow design §3 (`--home`, `--socket`, same defaults as the
//! server), so zero flags work end to end.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use hero_livekit_api::args::ControlPlaneArgs;
use hero_livekit_api::duration::parse_duration;
use hero_livekit_api::paths;

#[derive(Debug, Parser)]
#[command(
    name = "hero_livekit_admin",
    version,
    about = "Browser admin UI for hero_livekit (talks to hero_livekit_server's rpc.sock)"
)]
pub struct Cli {
    // `--home` (admin.token lives there), `--socket` and `--wait-for-server`.
    #[command(flatten)]
    pub control_plane: ControlPlaneArgs,
    /// Address to listen on. Keep it on loopback unless a TLS proxy sits in front.
    #[arg(long, env = "HERO_LIVEKIT_ADMIN_LISTEN", default_value_t = default_listen())]
    pub listen: SocketAddr,
    /// Always mark the session cookie `Secure` (set it when a TLS proxy does not send
    /// `X-Forwarded-Proto: https`).
    #[arg(long, env = "HERO_LIVEKIT_ADMIN_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Idle lifetime of a login session.
    #[arg(long, default_value = "12h", value_parser = parse_duration)]
    pub session_ttl: Duration,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], paths::ADMIN_PORT))
}

/// Everything `run` needs. Tests build it with [`Config::new`].
#[derive(Debug, Clone)]
pub struct Config {
    /// State dir; `admin.token` is `<home>/admin.token`.
    pub home: PathBuf,
    /// The control plane's rpc.sock.
    pub socket: PathBuf,
    /// Mark the session cookie `Secure` even without `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// Idle lifetime of a session (default 12 h); a session never outlives 7 days.
    pub session_ttl: Duration,
    /// Timeout of one call to the control plane or to lk-backend (default 10 s).
    pub call_timeout: Duration,
    /// Print the login URL on stdout once listening (the binary does; tests do not).
    pub print_login_url: bool,
}

impl Config {
    pub fn new(home: PathBuf, socket: PathBuf) -> Self {
        Config {
            home,
            socket,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            call_timeout: Duration::from_secs(10),
            print_login_url: false,
        }
    }

    pub fn from_cli(cli: &Cli) -> Self {
        Config {
            secure_cookies: cli.secure_cookies,
            session_ttl: cli.session_ttl.max(Duration::from_secs(60)),
            print_login_url: true,
            ..Config::new(cli.control_plane.home(), cli.control_plane.socket())
        }
    }

    pub fn token_path(&self) -> PathBuf {
        self.home.join(paths::ADMIN_TOKEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let cli = Cli::try_parse_from(["hero_livekit_admin"]).unwrap();
        assert_eq!(cli.listen.to_string(), "127.0.0.1:8082");
        assert_eq!(cli.control_plane.wait_for_server, Duration::from_secs(30));
        assert_eq!(cli.session_ttl, Duration::from_secs(12 * 3600));
        let cli =
            Cli::try_parse_from(["x", "--wait-for-server", "0", "--listen", "[::1]:9"]).unwrap();
        assert!(cli.control_plane.wait_for_server.is_zero());
        assert_eq!(cli.listen.port(), 9);
    }
}
