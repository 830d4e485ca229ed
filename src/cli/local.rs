//! Commands that act on this machine's files and binaries, without the socket: `up`,
//! `sfu install`, `doctor` and `backup`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hero_livekit_api::paths;

use super::{Cli, Failure, Outcome};
use crate::{backup, doctor, inspect, output, sfu};

/// Where hero's binaries live unless `--bin-dir` says otherwise.
fn hero_bin() -> PathBuf {
    paths::expand_tilde(Path::new("~/hero/bin"))
}

pub async fn up(cli: &Cli, config: Option<PathBuf>, admin_listen: SocketAddr) -> Outcome {
    let args = crate::up::Up {
        home: cli.home.clone(),
        socket: cli.socket.clone(),
        config,
        admin_listen,
    };
    let Err(e) = crate::up::up(args).await else {
        return Ok(true);
    };
    if let Some(stopped) = crate::up::stopped(&e) {
        eprintln!("hero_livekit up: {stopped}");
        return Ok(true);
    }
    match e.downcast_ref::<hero_livekit_server::Error>() {
        // "already running" is a contract (design §2): printed exactly.
        Some(err @ hero_livekit_server::Error::AlreadyRunning { .. }) => {
            Err(Failure::Plain(err.to_string()))
        }
        _ => Err(Failure::Failed(format!("{e:#}"))),
    }
}

pub async fn sfu_install(
    version: &Option<String>,
    bin_dir: &Option<PathBuf>,
    from: &Option<String>,
    sha256: &Option<String>,
) -> Outcome {
    let bin_dir = bin_dir.clone().unwrap_or_else(hero_bin);
    let source = match from {
        Some(location) => sfu::Source::From {
            location: location.clone(),
            sha256: sha256.clone(),
        },
        None => sfu::Source::Release {
            version: version.clone(),
        },
    };
    let installed = tokio::task::spawn_blocking(move || sfu::install(source, &bin_dir))
        .await
        .expect("install task");
    let path = installed.map_err(|e| Failure::Failed(format!("{e:#}")))?;
    let version = inspect::version(&path).unwrap_or_else(|e| format!("version unknown: {e}"));
    println!("installed {} ({version})", path.display());
    Ok(true)
}

/// Prints every check; healthy unless one failed.
pub async fn doctor(home: &Path, socket: &Path, bin_dir: &Option<PathBuf>) -> bool {
    let dirs = vec![bin_dir.clone().unwrap_or_else(hero_bin)];
    let mut checks = doctor::run(home, socket, &dirs);
    checks.extend(doctor::fleet(socket).await);
    output::checks(&checks);
    checks.iter().all(|c| c.level != doctor::Level::Fail)
}

pub async fn backup(home: &Path, socket: &Path, path: Option<PathBuf>) -> Outcome {
    let dest = backup::backup(home, socket, path)
        .await
        .map_err(|e| Failure::Failed(format!("{e:#}")))?;
    println!("{}", dest.display());
    Ok(true)
}

pub async fn db_copy(from: &str, to: &str, replace: bool) -> Outcome {
    let lines = crate::dbcopy::copy(from, to, replace)
        .await
        .map_err(|e| Failure::Failed(format!("{e:#}")))?;
    for l in lines {
        println!("{l}");
    }
    Ok(true)
}
