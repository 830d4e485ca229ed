//! `rpc.discover`, `health`, `status`.

use hero_livekit_api::methods::{Discover, HealthM, StatusM};
use hero_livekit_api::types::{Health, NoParams, ServerInfo, Status};

use super::{Call, Registry};
use crate::error::Result;
use crate::lifecycle;
use crate::state::AppState;

pub fn register(r: &mut Registry) {
    r.add::<Discover, _, _>(|c: Call, _: NoParams| async move { Ok(super::discover(&c.state)) });
    r.add::<HealthM, _, _>(|c: Call, _: NoParams| async move {
        Ok(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_s: c.state.uptime().as_secs(),
        })
    });
    r.add::<StatusM, _, _>(|c: Call, _: NoParams| async move { status(&c.state).await });
}

async fn status(state: &AppState) -> Result<Status> {
    let cfg = state.config();
    let seen = lifecycle::observe(state).await?;
    let cluster = crate::cluster::status(state).await?;
    let mut restart_reasons = seen.restart_reasons;
    restart_reasons.extend(crate::cluster::problems(&cluster));
    let rows = state.store().keys().await?;
    let side = |enabled: bool, service: &str, file: &str| {
        enabled.then(|| crate::side::status::of(cfg, &rows, service, file))
    };
    let ingress = side(
        cfg.ingress.enabled,
        "ingress",
        hero_livekit_api::paths::INGRESS_YAML,
    );
    let sip = side(cfg.sip.enabled, "sip", hero_livekit_api::paths::SIP_YAML);
    Ok(Status {
        server: ServerInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            home: cfg.home.display().to_string(),
            socket: cfg.socket.display().to_string(),
            pid: std::process::id(),
        },
        files: state.files(),
        keys: seen.keys,
        sfu: seen.sfu,
        fleet: seen.fleet,
        cluster,
        restart_required: seen.restart_required,
        restart_reasons,
        egress: seen.egress,
        ingress,
        sip,
    })
}
