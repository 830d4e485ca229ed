//! `/keys`: list keys, rotate with a grace period, revoke, import — each change confirmed.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use hero_livekit_api::methods::{KeysImport, KeysList, KeysRevoke, KeysRotate, StatusM};
use hero_livekit_api::types::{
    KeyParams, KeyState, KeysImportParams, KeysListParams, KeysRotateParams, NoParams,
};
use maud::html;
use serde::Deserialize;

use super::overview::key_badge;
use super::{FormError, Success, flash_result, parse_secs};
use crate::AppState;
use crate::auth::Session;
use crate::html::{self, Nav, error_box, opt_time, time, tri};

#[derive(Debug, Default, Deserialize)]
pub struct KeysQuery {
    all: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<KeysQuery>,
) -> Response {
    let all = q.all.is_some();
    let params = KeysListParams {
        include_revoked: Some(all),
    };
    let (keys, status) = tokio::join!(
        state.rpc.call::<KeysList>(&params),
        state.rpc.call::<StatusM>(&NoParams {}),
    );
    let flash = state.sessions.take_flash(&session);
    let mut present = vec!["rotate".to_string(), "import".to_string()];
    if let Ok(k) = &keys {
        present.extend(k.keys.iter().map(|k| format!("key:{}", k.api_key)));
    }
    let body = html! {
        h1 { "API keys" }
        p.sub { "The SFU accepts tokens signed by any key in livekit.yaml; new tokens are signed by the active key. Secrets never leave the control plane." }
        (html::flash_top(&flash, &present))
        div #keys-live data-live="5" {
            @if let Ok(s) = &status { @if s.restart_required { (html::restart_banner(s)) } }
            section.card aria-labelledby="h-keys" {
                div.toolbar {
                    h2 #h-keys { "Keys" }
                    @if all { a href="/keys" { "Hide revoked" } } @else { a href="/keys?all=1" { "Show revoked" } }
                }
                @match &keys {
                    Err(e) => (error_box("the keys", e)),
                    Ok(list) if list.keys.is_empty() => (html::empty("No keys", html! { "The server mints one at boot; check its log." })),
                    Ok(list) => {
                        table {
                            thead { tr { th { "Key" } th { "State" } th { "Created" } th { "Activated" } th { "Retires" } th { "SFU accepts" } th { "" } } }
                            tbody {
                                @for k in &list.keys {
                                    @let target = format!("key:{}", k.api_key);
                                    tr id=(target) {
                                        td { code { (k.api_key) } }
                                        td { (key_badge(k.state)) @if let Some(r) = &k.revoked_at { br; span.hint { "revoked " (time(r)) } } }
                                        td { (time(&k.created_at)) }
                                        td { (opt_time(k.activated_at.as_deref())) }
                                        td { (opt_time(k.retire_at.as_deref())) }
                                        td { (tri(k.sfu_accepts, "yes", "no")) }
                                        td {
                                            @if k.state != KeyState::Revoked {
                                                details {
                                                    summary { "Revoke…" }
                                                    form method="post" action="/keys/revoke" {
                                                        (html::csrf(&session))
                                                        input type="hidden" name="api_key" value=(k.api_key);
                                                        p.hint { "Removes the key from every file at once: tokens it signed stop working after the SFU restarts." }
                                                        label.check { input type="checkbox" name="confirm" value="yes" required; "Yes, revoke " (k.api_key) }
                                                        p { button.danger.small type="submit" { "Revoke key" } }
                                                    }
                                                }
                                            }
                                            (html::flash_at(&flash, &target))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        div.grid {
            section.card aria-labelledby="h-rotate" {
                h2 #h-rotate { "Rotate" }
                p.muted { "Mints a " strong { "pending" } " key. Once livekit-server is restarted and accepts it, it becomes active and the current key keeps working for the grace period." }
                form #rotate method="post" action="/keys/rotate" {
                    (html::csrf(&session))
                    div.field {
                        label for="k-grace" { "Grace period " span.hint { "e.g. 24h; empty = the maximum token lifetime" } }
                        input #k-grace name="grace" placeholder="24h";
                    }
                    label.check { input #k-confirm type="checkbox" name="confirm" value="yes" required; "I will restart livekit-server to load the new key" }
                    p { button type="submit" { "Rotate key" } }
                }
                (html::flash_at(&flash, "rotate"))
            }
            section.card aria-labelledby="h-import" {
                h2 #h-import { "Import" }
                p.muted { "Adopt the key of an existing LiveKit deployment; it becomes the active key." }
                form #import method="post" action="/keys/import" {
                    (html::csrf(&session))
                    div.row {
                        div.field { label for="i-key" { "API key" } input #i-key name="api_key" required autocomplete="off"; }
                        div.field { label for="i-secret" { "Secret " span.hint { "≥ 32 characters" } } input #i-secret type="password" name="secret" required autocomplete="off"; }
                    }
                    label.check { input type="checkbox" name="confirm" value="yes" required; "Make this the active signing key" }
                    p { button type="submit" { "Import key" } }
                }
                (html::flash_at(&flash, "import"))
            }
        }
    };
    html::ok(html::page(&session, Nav::Keys, "Keys", body))
}

#[derive(Debug, Default, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    grace: String,
    #[serde(default)]
    confirm: String,
}

fn back() -> Response {
    Redirect::to("/keys").into_response()
}

/// The confirmation box every key change carries.
fn confirmed(confirm: &str) -> Result<(), FormError> {
    if confirm == "yes" {
        Ok(())
    } else {
        Err("Tick the confirmation box first.".into())
    }
}

pub async fn rotate(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<RotateForm>,
) -> Response {
    let result = async {
        confirmed(&f.confirm)?;
        let grace_s = parse_secs("Grace period", &f.grace)?;
        let k = state
            .rpc
            .call::<KeysRotate>(&KeysRotateParams { grace_s })
            .await?;
        Ok::<_, FormError>(format!(
            "Minted {} ({}). Restart livekit-server so it loads the new key; it becomes active once the SFU accepts it.",
            k.api_key, k.state
        ))
    };
    flash_result(
        &state.sessions,
        &session,
        "rotate",
        Success::AtTop,
        result.await,
    );
    back()
}

#[derive(Debug, Default, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let result = async {
        confirmed(&f.confirm)?;
        let params = KeyParams {
            api_key: f.api_key.clone(),
        };
        let k = state.rpc.call::<KeysRevoke>(&params).await?;
        Ok::<_, FormError>(format!("{} is now {}.", k.api_key, k.state))
    };
    let at = format!("key:{}", f.api_key);
    flash_result(&state.sessions, &session, at, Success::AtTop, result.await);
    back()
}

#[derive(Default, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    confirm: String,
}

pub async fn import(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<ImportForm>,
) -> Response {
    let result = async {
        confirmed(&f.confirm)?;
        let params = KeysImportParams {
            api_key: f.api_key.trim().to_string(),
            secret: f.secret.trim().to_string(),
        };
        let k = state.rpc.call::<KeysImport>(&params).await?;
        Ok::<_, FormError>(format!(
            "Imported {} ({}). Restart livekit-server to load it.",
            k.api_key, k.state
        ))
    };
    flash_result(
        &state.sessions,
        &session,
        "import",
        Success::AtTop,
        result.await,
    );
    back()
}
