use std::process::ExitCode;

use clap::Parser;
use hero_livekit_api::service::run_main;
use hero_livekit_server::config::{Cli, Command, Config, EXAMPLE_CONFIG};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::PrintDefaultConfig) = cli.command {
        print!("{EXAMPLE_CONFIG}");
        return ExitCode::SUCCESS;
    }
    // Boot takes milliseconds and is never cut short (it writes files); a signal that arrives
    // meanwhile is kept and ends `serve` as soon as it starts.
    run_main("hero_livekit_server", |shutdown| async move {
        let config = Config::load(cli)?;
        hero_livekit_server::run(config, shutdown.wait()).await
    })
}
