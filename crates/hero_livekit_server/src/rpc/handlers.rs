//! Handlers of the meta, config, keys, token and backend methods.

use hero_livekit_api::env_file;
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;

use super::{Call, Registry};
use crate::error::Result;
use crate::keys;
use crate::lifecycle;
use crate::render;
use crate::state::{AppState, BACKEND_API_TOKEN, TOKEN_ENDPOINT_TOKEN};
use crate::tokens;

const REDACTED: &str = "<redacted>";

pub fn register(r: &mut Registry) {
    r.add::<Discover, _, _>(|c: Call, _: NoParams| async move { Ok(super::discover(&c.state)) });
    r.add::<HealthM, _, _>(|c: Call, _: NoParams| async move {
        Ok(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_s: c.state.started.elapsed().as_secs(),
        })
    });
    r.add::<StatusM, _, _>(|c: Call, _: NoParams| async move { status(&c.state).await });
    r.add::<ConfigGet, _, _>(|c: Call, _: NoParams| async move { Ok(effective_config(&c.state)) });
    r.add::<ConfigFilesM, _, _>(|c: Call, _: NoParams| async move { config_files(&c.state) });
    r.add::<KeysList, _, _>(|c: Call, p: KeysListParams| async move {
        let include_revoked = p.include_revoked.unwrap_or(false);
        let rows = keys::all(&c.state.pool)
            .await?
            .into_iter()
            .filter(|k| include_revoked || k.state != KeyState::Revoked)
            .collect();
        Ok(KeyList {
            keys: lifecycle::with_acceptance(&c.state, rows),
        })
    });
    r.add_audited::<KeysRotate, _, _>(|c: Call, p: KeysRotateParams| async move {
        lifecycle::rotate(&c.state, p.grace_s).await
    });
    r.add_audited::<KeysRevoke, _, _>(|c: Call, p: KeyParams| async move {
        lifecycle::revoke(&c.state, &p.api_key).await
    });
    r.add_audited::<KeysImport, _, _>(|c: Call, p: KeysImportParams| async move {
        lifecycle::import(&c.state, &p.api_key, &p.secret).await
    });
    r.add::<AuditListM, _, _>(|c: Call, p: AuditListParams| async move {
        crate::audit::list(&c.state.pool, &p).await
    });
    r.add_audited::<TokenCreate, _, _>(|c: Call, p: TokenCreateParams| async move {
        let key = keys::active(&c.state.pool).await?;
        let cfg = &c.state.config;
        let t = tokens::create(&p, &key, &cfg.public_url, cfg.token_ttl, cfg.token_max_ttl)?;
        tracing::info!(room = %p.room, identity = %p.identity, api_key = %t.api_key, "minted a token");
        Ok(t)
    });
    r.add::<TokenDecode, _, _>(|c: Call, p: TokenDecodeParams| async move {
        let rows = keys::all(&c.state.pool).await?;
        Ok(tokens::decode(
            &p.token,
            &rows,
            hero_livekit_api::timefmt::now_unix(),
        ))
    });
    r.add::<BackendInfoM, _, _>(|c: Call, _: NoParams| async move {
        Ok(BackendInfo {
            url: c.state.config.backend_url(),
            api_token: c
                .state
                .secret(BACKEND_API_TOKEN)
                .await?
                .expose()
                .to_string(),
            token_endpoint_token: c
                .state
                .secret(TOKEN_ENDPOINT_TOKEN)
                .await?
                .expose()
                .to_string(),
        })
    });
}

async fn status(state: &AppState) -> Result<Status> {
    let cfg = &state.config;
    let seen = lifecycle::observe(state).await?;
    Ok(Status {
        server: ServerInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            home: cfg.home.display().to_string(),
            socket: cfg.socket.display().to_string(),
            pid: std::process::id(),
        },
        files: state.files.lock().expect("files status lock").clone(),
        keys: seen.keys,
        sfu: seen.sfu,
        restart_required: seen.restart_required,
        restart_reasons: seen.restart_reasons,
    })
}

fn effective_config(state: &AppState) -> EffectiveConfig {
    let c = &state.config;
    EffectiveConfig {
        home: c.home.display().to_string(),
        socket: c.socket.display().to_string(),
        config_file: c.config_file.as_ref().map(|p| p.display().to_string()),
        livekit_url: c.livekit_url.clone(),
        public_url: c.public_url.clone(),
        node_ip: c.node_ip.clone(),
        redis_address: c.redis_address.clone(),
        sfu_prometheus_port: c.sfu_prometheus_port,
        sfu_log_level: c.sfu_log_level.clone(),
        backend_port: c.backend_port,
        backend_bind: c.backend_bind.clone(),
        webhook_url: c.webhook_url.clone(),
        token_ttl_s: c.token_ttl.as_secs(),
        token_max_ttl_s: c.token_max_ttl.as_secs(),
        livekit_timeout_s: c.livekit_timeout.as_secs()
            + u64::from(c.livekit_timeout.subsec_nanos() > 0),
        socket_group: c.socket_group.clone(),
        cors_allowed_origins: c.cors_allowed_origins.clone(),
        livekit_overrides: redact_overrides(serde_json::Value::Object(c.livekit_overrides.clone())),
        api_secret: REDACTED.into(),
        backend_api_token: REDACTED.into(),
        token_endpoint_token: REDACTED.into(),
    }
}

/// Overrides may carry TURN, Redis or Prometheus passwords.
fn redact_overrides(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let secret = ["password", "secret", "credential", "sentinel_password"]
                        .contains(&k.as_str());
                    (
                        k,
                        if secret {
                            Value::String(REDACTED.into())
                        } else {
                            redact_overrides(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(redact_overrides).collect()),
        other => other,
    }
}

fn config_files(state: &AppState) -> Result<ConfigFiles> {
    let read = |name: &str| {
        let path = state.config.path(name);
        std::fs::read_to_string(&path).map_err(crate::error::Error::io("read", path))
    };
    Ok(ConfigFiles {
        livekit_yaml: render::redact_livekit_yaml(&read(hero_livekit_api::paths::LIVEKIT_YAML)?),
        backend_env: env_file::redact(&read(hero_livekit_api::paths::BACKEND_ENV)?),
    })
}
