//! `livekit-standin --config <livekit.yaml> --port <p> [--bind <ip>] [--egress-retention <d>]`:
//! the stand-in as a process, for end-to-end tests that run real binaries. Prints one ready
//! line. SIGTERM/SIGINT drain like livekit-server (`nodes` entry SHUTTING_DOWN, then wait for
//! participants to leave, checked every 5 s); a second signal stops at once. Either way the exit
//! is clean (entry removed, exit 0).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use livekit_standin::{Options, StandIn};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "Dev-only stand-in for livekit-server's HTTP API (never ship this)")]
struct Cli {
    /// livekit.yaml to read once at start.
    #[arg(long)]
    config: PathBuf,
    /// Port (0 = ephemeral); the YAML's `port` is ignored.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on; default `rtc.node_ip` when it is loopback, else 127.0.0.1.
    #[arg(long)]
    bind: Option<IpAddr>,
    /// How long a finished egress stays in ListEgress (LiveKit: 24 h), e.g. 2s.
    #[arg(long, value_parser = hero_livekit_api::duration::parse_duration)]
    egress_retention: Option<Duration>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Handlers first: a supervisor may send SIGTERM the moment it reads the ready line.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut options = Options {
        bind: cli.bind,
        ..Options::port(cli.port)
    };
    if let Some(r) = cli.egress_retention {
        options.egress_retention = r;
    }
    let standin = StandIn::start_with(&cli.config, options).await?;
    println!("livekit-standin ready on {}", standin.url());
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    standin.drain().await;
    // `Stop(false)`: no deadline while participants remain; a second signal forces the stop.
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    while standin.has_participants() {
        tokio::select! {
            _ = tick.tick() => eprintln!("waiting for participants to exit"),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    standin.stop().await;
    Ok(())
}
