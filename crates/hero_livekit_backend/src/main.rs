use std::process::ExitCode;

use clap::Parser;
use hero_livekit_backend::config::{Cli, Config};

#[tokio::main]
async fn main() -> ExitCode {
    // Every file this process creates (database, -wal, -shm) is born private.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    hero_livekit_api::limits::raise_nofile_limit();
    hero_livekit_backend::init_tracing();
    let cli = Cli::parse();
    // Installed before the wait for the control plane, so an early SIGTERM stops us cleanly.
    let shutdown = hero_livekit_backend::shutdown_signal();
    let result = async {
        let config = Config::load(&cli).await?;
        let addr = config.bind_addr();
        let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
            hero_livekit_backend::Error::Serve(std::io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on {addr} (BIND, PORT in {}): {e}",
                    config.env_file.display()
                ),
            ))
        })?;
        hero_livekit_backend::run(config, listener, shutdown).await
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lk-backend: {e}");
            ExitCode::FAILURE
        }
    }
}
