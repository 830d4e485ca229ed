use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Files this process creates (backups, and everything `up` writes) are born private.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = hero_livekit::cli::Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(hero_livekit::cli::run(cli))
}
