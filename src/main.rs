use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hero_livekit::cli::Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(hero_livekit::cli::run(cli))
}
