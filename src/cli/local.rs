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

/// Prints every check; healthy unless one failed. A public deployment's `deploy.check` is part
/// of it, asked of the running control plane.
pub async fn doctor(home: &Path, socket: &Path, bin_dir: &Option<PathBuf>) -> bool {
    let dirs = vec![bin_dir.clone().unwrap_or_else(hero_bin)];
    let mut checks = doctor::run(home, socket, &dirs);
    checks.extend(doctor::fleet(socket).await);
    output::checks(&checks);
    let mut healthy = checks.iter().all(|c| c.level != doctor::Level::Fail);
    if let Ok(client) = hero_livekit_api::RpcClient::connect(socket).await {
        use hero_livekit_api::methods::DeployCheckM;
        match client.call::<DeployCheckM>(&Default::default()).await {
            Ok(c) if c.configured => {
                println!(
                    "deploy check ([public], topology {}):",
                    c.topology.as_deref().unwrap_or("?")
                );
                output::deploy_check(&c);
                healthy &= c.ok;
            }
            Ok(_) => {}
            Err(e) => println!("FAIL  deploy check: {e}"),
        }
    }
    healthy
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

/// `deploy init`: checks and writes the `[public]` table, prints what to do outside, then runs
/// the checks that need no running server (the control plane picks the file up at its restart).
pub async fn deploy_init(cli: &Cli, args: &super::DeployInitArgs) -> Outcome {
    let path = args
        .config
        .clone()
        .unwrap_or_else(crate::deploy::default_config);
    let current = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Failure::Failed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let (text, mut config) = crate::deploy::plan(args, &current, &path).map_err(Failure::Failed)?;
    if text == current {
        println!(
            "{} already holds this [public] table: nothing written",
            path.display()
        );
    } else {
        crate::deploy::write(&path, &text)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote [public] to {}", path.display());
    }
    // The checks look at this machine's home, as the server will see it.
    if let Some(home) = &cli.home {
        config.home = home.clone();
    }
    let public = config.public.clone().expect("[public] was just written");
    println!("\n{}", crate::deploy::instructions(&public, &path));
    println!(
        "Checks (before the control plane is restarted with this file; the WebSocket and TURN checks need it):"
    );
    let check = hero_livekit_server::public::check::run(&config, None, &Default::default()).await;
    output::show(cli.json, &check, output::deploy_check);
    Ok(true)
}
