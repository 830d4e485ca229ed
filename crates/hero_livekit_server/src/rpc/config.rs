//! `config.get`, `config.files`: what the control plane runs with, secrets redacted.

use hero_livekit_api::methods::{ConfigCheckM, ConfigFilesM, ConfigGet};
use hero_livekit_api::redact::{self, REDACTED};
use hero_livekit_api::types::{ConfigCheck, ConfigFiles, NoParams};
use hero_livekit_api::{env_file, paths};
use serde_json::Value;

use super::{Call, Registry};
use crate::error::{Error, Result};
use crate::state::AppState;

pub fn register(r: &mut Registry) {
    r.add::<ConfigGet, _, _>(|c: Call, _: NoParams| async move { effective_config(&c.state) });
    r.add::<ConfigFilesM, _, _>(|c: Call, _: NoParams| async move { config_files(&c.state) });
    r.add::<ConfigCheckM, _, _>(|c: Call, _: NoParams| async move { config_check(&c.state) });
}

/// The effective config as the config type serializes it (secrets are redacted by their type),
/// plus the generated secrets this deployment holds, shown only as redacted.
fn effective_config(state: &AppState) -> Result<Value> {
    let mut v = serde_json::to_value(state.config())
        .map_err(|e| Error::Internal(format!("cannot show the config: {e}")))?;
    if let Value::Object(m) = &mut v {
        for name in ["api_secret", "backend_api_token", "token_endpoint_token"] {
            m.insert(name.into(), Value::String(REDACTED.into()));
        }
    }
    Ok(v)
}

fn config_files(state: &AppState) -> Result<ConfigFiles> {
    let read = |name: &str| {
        let path = state.config().path(name);
        std::fs::read_to_string(&path).map_err(Error::io("read", path))
    };
    let cfg = state.config();
    let side = |enabled: bool, name: &str| -> Result<Option<String>> {
        enabled.then(|| redacted_yaml(&read(name)?)).transpose()
    };
    Ok(ConfigFiles {
        livekit_yaml: redact::yaml_text(&read(paths::LIVEKIT_YAML)?),
        backend_env: env_file::redact(&read(paths::BACKEND_ENV)?),
        egress_yaml: side(cfg.egress.enabled, paths::EGRESS_YAML)?,
        ingress_yaml: side(cfg.ingress.enabled, paths::INGRESS_YAML)?,
        sip_yaml: side(cfg.sip.enabled, paths::SIP_YAML)?,
    })
}

/// The rendered files this deployment writes, as they are on disk, checked against each other
/// (the same check every render passes before it is written, design §11.3).
fn config_check(state: &AppState) -> Result<ConfigCheck> {
    let cfg = state.config();
    let mut names = vec![paths::LIVEKIT_YAML, paths::BACKEND_ENV];
    for (on, name) in [
        (cfg.egress.enabled, paths::EGRESS_YAML),
        (cfg.ingress.enabled, paths::INGRESS_YAML),
        (cfg.sip.enabled, paths::SIP_YAML),
    ] {
        if on {
            names.push(name);
        }
    }
    if cfg.public.is_some() {
        names.extend([crate::public::CADDYFILE, crate::public::HAPROXY_CFG]);
    }
    let files = names
        .into_iter()
        .filter_map(|n| {
            std::fs::read_to_string(cfg.path(n))
                .ok()
                .map(|t| (n.to_string(), t))
        })
        .collect();
    Ok(crate::side::check::check(&files))
}

/// A YAML file redacted through its structure (a multi-line secret such as a GCP key is a
/// block scalar, which line-by-line redaction would show), comments kept.
fn redacted_yaml(text: &str) -> Result<String> {
    let doc: Value = serde_saphyr::from_str(text)
        .map_err(|e| Error::Internal(format!("cannot read a rendered file: {e}")))?;
    let body = serde_saphyr::to_string(&redact::json(doc))
        .map_err(|e| Error::Internal(format!("cannot show a rendered file: {e}")))?;
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    Ok(format!("{header}{body}"))
}
