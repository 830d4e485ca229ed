//! `livekit-standin --config <livekit.yaml> --port <p>`: the stand-in as a process, for
//! end-to-end tests that run real binaries. Prints one ready line, stops on SIGTERM/SIGINT.

use std::path::PathBuf;

use clap::Parser;
use livekit_standin::StandIn;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "Dev-only stand-in for livekit-server's HTTP API (never ship this)")]
struct Cli {
    /// livekit.yaml to read once at start.
    #[arg(long)]
    config: PathBuf,
    /// Port on 127.0.0.1 (0 = ephemeral); the YAML's `port` is ignored.
    #[arg(long, default_value_t = 0)]
    port: u16,
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
    let standin = StandIn::start(&cli.config, cli.port).await?;
    println!("livekit-standin ready on {}", standin.url());
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    standin.stop().await;
    Ok(())
}
