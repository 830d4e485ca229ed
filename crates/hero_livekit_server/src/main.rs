use std::process::ExitCode;

use clap::Parser;
use hero_livekit_server::config::{Cli, Command, Config, EXAMPLE_CONFIG};

fn main() -> ExitCode {
    // Step 1 of boot: every file and socket is born private.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    hero_livekit_api::limits::raise_nofile_limit();
    let cli = Cli::parse();
    if let Some(Command::PrintDefaultConfig) = cli.command {
        print!("{EXAMPLE_CONFIG}");
        return ExitCode::SUCCESS;
    }
    hero_livekit_server::init_tracing();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        let shutdown = hero_livekit_server::shutdown_signal();
        let config = Config::load(cli)?;
        hero_livekit_server::run(config, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The "already running" line is a contract (design §2): printed exactly, unprefixed.
        Err(e @ hero_livekit_server::Error::AlreadyRunning { .. }) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hero_livekit_server: {e}");
            ExitCode::FAILURE
        }
    }
}
