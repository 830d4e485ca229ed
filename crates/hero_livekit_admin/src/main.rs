use std::process::ExitCode;

use clap::Parser;
use hero_livekit_admin::config::{Cli, Config};

#[tokio::main]
async fn main() -> ExitCode {
    // Every file this process creates (admin.token) is born private.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    hero_livekit_api::limits::raise_nofile_limit();
    hero_livekit_admin::init_tracing();
    let cli = Cli::parse();
    // Installed before the wait for the control plane, so an early SIGTERM stops us cleanly.
    let shutdown = hero_livekit_admin::shutdown_signal();
    let result = async {
        let config = Config::from_cli(&cli);
        hero_livekit_admin::wait_for_server(&config, cli.wait_for_server).await?;
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .map_err(|e| {
                hero_livekit_admin::Error::Serve(std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {} (--listen): {e}", cli.listen),
                ))
            })?;
        hero_livekit_admin::run(config, listener, shutdown).await
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hero_livekit_admin: {e}");
            ExitCode::FAILURE
        }
    }
}
