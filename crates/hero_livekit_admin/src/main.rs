use std::process::ExitCode;

use clap::Parser;
use hero_livekit_admin::Error;
use hero_livekit_admin::config::{Cli, Config};
use hero_livekit_api::service::run_main;

fn main() -> ExitCode {
    let cli = Cli::parse();
    run_main("hero_livekit_admin", |shutdown| async move {
        let config = Config::from_cli(&cli);
        hero_livekit_admin::wait_for_server(&config, cli.control_plane.wait_for_server, &shutdown)
            .await?;
        let listener = shutdown
            .until("binding", tokio::net::TcpListener::bind(cli.listen))
            .await?
            .map_err(|e| {
                Error::Serve(std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {} (--listen): {e}", cli.listen),
                ))
            })?;
        hero_livekit_admin::run(config, listener, shutdown.wait()).await
    })
}
