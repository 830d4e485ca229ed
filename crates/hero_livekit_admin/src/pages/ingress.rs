//! `/ingress`: streams taken in (OBS over RTMP, WHIP, a pulled URL) through `ingress.*`: the
//! ingresses and their live state with Delete, and the create form. The create answer is
//! rendered in the POST's own response — the server URL and stream key with Copy buttons,
//! shown this once and never kept in the session or shown again (`ingress.list` never has the
//! key).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use hero_livekit_api::errors::LIVEKIT_ERROR;
use hero_livekit_api::methods::{IngressCreate, IngressDelete, IngressListM};
use hero_livekit_api::types::{
    IngressCreateParams, IngressIdParams, IngressInfo, IngressInput, IngressListParams,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{FormError, Success, describe, flash_result, seg};
use crate::AppState;
use crate::auth::{Flash, Session};
use crate::error::Error;
use crate::html::{self, Nav, badge, error_box, opt_time};

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    /// `rtmp`, `whip` or `url`.
    #[serde(default)]
    input: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    identity: String,
    #[serde(default)]
    name: String,
    /// `default`, `on` or `off`.
    #[serde(default)]
    transcoding: String,
}

fn params(f: &CreateForm) -> Result<IngressCreateParams, String> {
    let input = match f.input.as_str() {
        "rtmp" | "" => IngressInput::Rtmp,
        "whip" => IngressInput::Whip,
        "url" => IngressInput::Url,
        other => return Err(format!("Input: “{other}” is not rtmp, whip or url.")),
    };
    let url = f.url.trim();
    let name = f.name.trim();
    Ok(IngressCreateParams {
        input,
        url: (input == IngressInput::Url).then(|| url.to_string()),
        room: f.room.trim().to_string(),
        identity: f.identity.trim().to_string(),
        name: (!name.is_empty()).then(|| name.to_string()),
        transcoding: match f.transcoding.as_str() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        },
        ..Default::default()
    })
}

fn delete_url(id: &str) -> String {
    format!("/ingress/{}/delete", seg(id))
}

fn status(i: &IngressInfo) -> Markup {
    let class = if i.status.is_live() {
        "ok"
    } else if i.error.is_some() {
        "err"
    } else {
        ""
    };
    html! {
        (badge(class, if i.enabled { i.status.as_str() } else { "disabled" }))
        @if let Some(e) = &i.error { br; span.hint { (e) } }
    }
}

/// What the creator needs to publish, with Copy buttons: shown this once.
fn created(i: &IngressInfo) -> Markup {
    let key = i.stream_key.clone().unwrap_or_default();
    html! {
        section.card #created aria-labelledby="h-created" {
            h2 #h-created { "Ingress " code { (i.ingress_id) } " created" }
            p { (i.input.as_str()) " into room " code { (i.room) } " as " code { (i.identity) } }
            @if i.input == IngressInput::Url {
                p { "Pulling " code { (i.url) } " (" (i.status.as_str()) ")." }
            } @else {
                @if i.url.is_empty() {
                    div.banner.warn role="status" {
                        strong { "LiveKit gave no publish URL" }
                        div { "livekit.yaml has no ingress base URL for " (i.input.as_str()) ": set [ingress] in the control plane's config and restart livekit-server." }
                    }
                } @else {
                    div.field {
                        div.toolbar {
                            label for="ingress-url" { @if i.input == IngressInput::Whip { "WHIP URL" } @else { "Server (OBS: Settings → Stream → Custom…)" } }
                            button.secondary.small type="button" data-copy="ingress-url" { "Copy" }
                        }
                        input #ingress-url readonly value=(i.url);
                    }
                }
                div.field {
                    div.toolbar {
                        label for="ingress-key" { @if i.input == IngressInput::Whip { "Bearer token (stream key)" } @else { "Stream key" } }
                        button.secondary.small type="button" data-copy="ingress-key" { "Copy" }
                    }
                    input #ingress-key readonly value=(key);
                }
                p.hint { "The stream key is shown only now: copy it into your encoder. The list below never shows it." }
            }
        }
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    flash: Option<Flash>,
    just_created: Option<&IngressInfo>,
    form: &CreateForm,
) -> Response {
    let list = state
        .rpc
        .call::<IngressListM>(&IngressListParams::default())
        .await;
    let mut present = vec!["create".to_string()];
    if let Ok(l) = &list {
        present.extend(l.ingresses.iter().map(|i| format!("in:{}", i.ingress_id)));
    }
    let checked = |v: &str, default: bool| form.input == v || (form.input.is_empty() && default);
    let body = html! {
        h1 { "Ingress" }
        p.sub { "Streams taken in as a participant of a room: OBS or ffmpeg over RTMP, a browser over WHIP, or a pulled http(s)/SRT source." }
        (html::flash_top(&flash, &present))
        @if let Some(i) = just_created { (created(i)) }
        div #ingress-live data-live="5" {
            section.card aria-labelledby="h-ingresses" {
                h2 #h-ingresses { "Ingresses" }
                @match &list {
                    Err(Error::Call { code: LIVEKIT_ERROR, message, .. }) => div.banner.warn role="status" {
                        strong { "Ingress is not available" }
                        div { (message) }
                    },
                    Err(e) => (error_box("the ingresses", e)),
                    Ok(l) if l.ingresses.is_empty() => (html::empty("No ingress", html! { "Create one below; an encoder then publishes into its room." })),
                    Ok(l) => {
                        table {
                            thead { tr { th { "Ingress" } th { "Input" } th { "Room" } th { "Participant" } th { "Status" } th { "Since" } th { "" } } }
                            tbody {
                                @for i in &l.ingresses {
                                    @let target = format!("in:{}", i.ingress_id);
                                    tr id=(target) data-status=(i.status.as_str()) {
                                        td { code { (i.ingress_id) } @if !i.ingress_name.is_empty() { br; span.hint { (i.ingress_name) } } }
                                        td { (i.input.as_str()) @if !i.url.is_empty() { br; span.hint { (i.url) } } }
                                        td { a href={ "/rooms/" (seg(&i.room)) } { (i.room) } }
                                        td { (i.identity) }
                                        td { (status(i)) }
                                        td { (opt_time(i.started_at.as_deref())) }
                                        td {
                                            form.inline method="post" action=(delete_url(&i.ingress_id)) data-confirm={ "Delete " (i.ingress_id) "? A stream published through it stops." } {
                                                (html::csrf(session))
                                                button.danger.small type="submit" aria-label={ "Delete " (i.ingress_id) } { "Delete" }
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
            p.live { "Refreshes every 5 s" }
        }
        section.card aria-labelledby="h-create" {
            h2 #h-create { "Create an ingress" }
            form #create method="post" action="/ingress" {
                (html::csrf(session))
                fieldset.choice {
                    legend { "Input" }
                    label.check { input type="radio" name="input" value="rtmp" checked[checked("rtmp", true)]; "RTMP (OBS, ffmpeg)" }
                    label.check { input type="radio" name="input" value="whip" checked[checked("whip", false)]; "WHIP (WebRTC)" }
                    label.check { input type="radio" name="input" value="url" checked[checked("url", false)]; "Pull a URL" }
                }
                div.field { label for="in-url" { "Source URL " span.hint { "only to pull: http(s):// or srt://" } } input #in-url name="url" value=(form.url) placeholder="https://cams.example/live.m3u8"; }
                div.row {
                    div.field { label for="in-room" { "Room" } input #in-room name="room" required value=(form.room); }
                    div.field { label for="in-identity" { "Participant identity" } input #in-identity name="identity" required value=(form.identity); }
                    div.field { label for="in-name" { "Display name" } input #in-name name="name" value=(form.name); }
                }
                div.field {
                    label for="in-transcoding" { "Transcoding" }
                    select #in-transcoding name="transcoding" {
                        option value="default" { "LiveKit's default (on for RTMP and URL, off for WHIP)" }
                        option value="on" selected[form.transcoding == "on"] { "on: simulcast layers" }
                        option value="off" selected[form.transcoding == "off"] { "off: pass through" }
                    }
                }
                p { button type="submit" { "Create ingress" } }
            }
            (html::flash_at(&flash, "create"))
        }
    };
    html::ok(html::page(session, Nav::Ingress, "Ingress", body))
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let flash = state.sessions.take_flash(&session);
    render(&state, &session, flash, None, &CreateForm::default()).await
}

pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<CreateForm>,
) -> Response {
    let result = match params(&f) {
        Err(e) => Err(e),
        Ok(p) => state
            .rpc
            .call::<IngressCreate>(&p)
            .await
            .map_err(|e| describe(&e)),
    };
    match result {
        Ok(i) => render(&state, &session, None, Some(&i), &CreateForm::default()).await,
        Err(e) => {
            let flash = Some(Flash {
                ok: false,
                text: e,
                target: Some("create".into()),
            });
            render(&state, &session, flash, None, &f).await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let p = IngressIdParams {
        ingress_id: id.clone(),
    };
    let result = state
        .rpc
        .call::<IngressDelete>(&p)
        .await
        .map(|i| format!("Ingress {} deleted.", i.ingress_id))
        .map_err(FormError::from);
    flash_result(
        &state.sessions,
        &session,
        format!("in:{id}"),
        Success::AtTop,
        result,
    );
    Redirect::to("/ingress").into_response()
}
