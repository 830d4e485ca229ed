//! `hero_livekit up`: the control plane, lk-backend and the admin UI as tasks of this one
//! process: zero configuration, embedded SQLite, no child processes. They still talk over the
//! socket and read the written files, exactly as when a supervisor runs them apart.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use hero_livekit_api::paths;
use hero_livekit_api::service::Shutdown;

pub struct Up {
    pub home: Option<PathBuf>,
    pub socket: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub admin_listen: SocketAddr,
}

pub async fn up(args: Up) -> Result<()> {
    // One stop request for all three; a Ctrl-C while they start ends the start at once.
    let shutdown = Shutdown::on_signals();

    // 1. The control plane: files first, then the socket.
    let cli = hero_livekit_server::config::Cli {
        config: args.config.clone(),
        settings: hero_livekit_server::config::Settings {
            home: args.home.clone(),
            socket: args.socket.clone(),
            ..Default::default()
        },
        command: None,
    };
    let config = hero_livekit_server::Config::load(cli)?;
    let (home, socket, yaml) = (
        config.home.clone(),
        config.socket.clone(),
        config.path(paths::LIVEKIT_YAML),
    );
    let booted = hero_livekit_server::boot(config).await?;
    let server = tokio::spawn(booted.serve(shutdown.wait()));

    // 2. lk-backend: waits for the socket and reads backend.env by itself.
    let backend_cli = hero_livekit_backend::config::Cli {
        control_plane: hero_livekit_api::args::ControlPlaneArgs {
            home: Some(home.clone()),
            socket: Some(socket.clone()),
            wait_for_server: Duration::from_secs(30),
        },
        env_file: None,
    };
    let backend_config = hero_livekit_backend::Config::load(&backend_cli, &shutdown).await?;
    let backend_addr = backend_config.bind_addr();
    let backend_listener = tokio::net::TcpListener::bind(&backend_addr)
        .await
        .with_context(|| {
            format!("lk-backend cannot listen on {backend_addr} (set backend_port in --config)")
        })?;
    let backend_url = format!("http://127.0.0.1:{}", backend_listener.local_addr()?.port());
    let backend = tokio::spawn(hero_livekit_backend::run(
        backend_config,
        backend_listener,
        shutdown.wait(),
    ));

    // 3. The admin UI.
    let admin_config = hero_livekit_admin::Config::new(home.clone(), socket.clone());
    hero_livekit_admin::wait_for_server(&admin_config, Duration::from_secs(30), &shutdown).await?;
    let (admin_state, login_token) = hero_livekit_admin::AppState::new(admin_config)?;
    let admin_listener = tokio::net::TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| {
            format!(
                "the admin UI cannot listen on {} (--admin-listen)",
                args.admin_listen
            )
        })?;
    let login = hero_livekit_admin::login_url(admin_listener.local_addr()?, &login_token);
    let admin = tokio::spawn(hero_livekit_admin::serve(
        admin_state,
        admin_listener,
        shutdown.wait(),
    ));

    println!();
    println!("hero_livekit is up");
    println!("  control plane   {}", socket.display());
    println!("  backend         {backend_url}  (POST /api/token, POST /webhook)");
    println!("  admin           {login}");
    println!(
        "  start the SFU   livekit-server --config {}",
        yaml.display()
    );
    println!("Ctrl-C stops all three.");

    shutdown.wait().await;
    let (s, b, a) = tokio::join!(server, backend, admin);
    s.context("control plane task")??;
    b.context("lk-backend task")??;
    a.context("admin task")??;
    Ok(())
}

/// The stop request that cut `up`'s start short, if that is what ended it (not a failure).
pub fn stopped(e: &anyhow::Error) -> Option<hero_livekit_api::service::Stopped> {
    use hero_livekit_api::service::ServiceError;
    e.downcast_ref::<hero_livekit_backend::Error>()
        .and_then(ServiceError::stopped)
        .or_else(|| {
            e.downcast_ref::<hero_livekit_admin::Error>()
                .and_then(ServiceError::stopped)
        })
}
