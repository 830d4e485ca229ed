//! `config.get`, `config.files`: what the control plane runs with, secrets redacted.

use hero_livekit_api::methods::{ConfigFilesM, ConfigGet};
use hero_livekit_api::redact::{self, REDACTED};
use hero_livekit_api::types::{ConfigFiles, NoParams};
use hero_livekit_api::{env_file, paths};
use serde_json::Value;

use super::{Call, Registry};
use crate::error::{Error, Result};
use crate::state::AppState;

pub fn register(r: &mut Registry) {
    r.add::<ConfigGet, _, _>(|c: Call, _: NoParams| async move { effective_config(&c.state) });
    r.add::<ConfigFilesM, _, _>(|c: Call, _: NoParams| async move { config_files(&c.state) });
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
    let egress_yaml = if state.config().egress.enabled {
        Some(redacted_yaml(&read(paths::EGRESS_YAML)?)?)
    } else {
        None
    };
    Ok(ConfigFiles {
        livekit_yaml: redact::yaml_text(&read(paths::LIVEKIT_YAML)?),
        backend_env: env_file::redact(&read(paths::BACKEND_ENV)?),
        egress_yaml,
    })
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
