use std::process::ExitCode;

use clap::Parser;
use hero_livekit_api::service::run_main;
use hero_livekit_backend::Error;
use hero_livekit_backend::config::{Cli, Config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    run_main("lk-backend", |shutdown| async move {
        let config = Config::load(&cli, &shutdown).await?;
        let addr = config.bind_addr();
        let listener = shutdown
            .until("binding", tokio::net::TcpListener::bind(&addr))
            .await?
            .map_err(|e| {
                Error::Serve(std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen on {addr} (BIND, PORT in {}): {e}",
                        config.env_file.display()
                    ),
                ))
            })?;
        hero_livekit_backend::run(config, listener, shutdown.wait()).await
    })
}
