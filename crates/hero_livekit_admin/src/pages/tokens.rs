//! `/tokens`: mint an access token (preset + grant overrides) and decode/explain a pasted one.
//! Tokens are shown once in the response and never stored or logged by the admin.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Form};
use hero_livekit_api::methods::{TokenCreate, TokenDecode};
use hero_livekit_api::types::{
    Grants, Preset, TokenCreateParams, TokenCreated, TokenDecodeParams, TokenDecoded,
};
use maud::{Markup, html};

use super::{describe, parse_pairs, parse_secs};
use crate::AppState;
use crate::auth::Session;
use crate::html::{self, Nav, badge, opt_time};

type Fields = BTreeMap<String, String>;

/// Grants offered as overrides: LiveKit JSON name and what it means.
const GRANTS: &[(&str, &str)] = &[
    ("roomJoin", "join the room"),
    ("canPublish", "publish tracks"),
    ("canSubscribe", "subscribe to tracks"),
    ("canPublishData", "send data messages"),
    ("canUpdateOwnMetadata", "update own name/metadata"),
    ("hidden", "hidden from others"),
    ("roomAdmin", "administer the room"),
    ("roomList", "list rooms"),
    ("roomCreate", "create rooms"),
    ("roomRecord", "record (egress)"),
];

const PRESETS: &[(&str, &str)] = &[
    (
        "participant",
        "Participant — join, publish, subscribe, data",
    ),
    ("viewer", "Viewer — join and subscribe only"),
    (
        "admin",
        "Admin — participant plus roomAdmin, roomList, roomCreate",
    ),
];

enum Outcome<T> {
    None,
    Done(T),
    Failed(String),
}

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

fn opt(f: &Fields, k: &str) -> Option<String> {
    Some(field(f, k).trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let flash = state.sessions.take_flash(&session);
    render(
        &session,
        flash,
        &Fields::new(),
        Outcome::None,
        "",
        Outcome::None,
    )
}

fn params(f: &Fields) -> Result<TokenCreateParams, String> {
    let room = opt(f, "room").ok_or("Room is required.")?;
    let identity = opt(f, "identity").ok_or("Identity is required.")?;
    let preset = match field(f, "preset") {
        "" | "participant" => Preset::Participant,
        "viewer" => Preset::Viewer,
        "admin" => Preset::Admin,
        other => return Err(format!("Unknown preset “{other}”.")),
    };
    let mut grants = serde_json::Map::new();
    for (name, _) in GRANTS {
        match field(f, &format!("g_{name}")) {
            "yes" => grants.insert(name.to_string(), true.into()),
            "no" => grants.insert(name.to_string(), false.into()),
            _ => None,
        };
    }
    if let Some(src) = opt(f, "sources") {
        let list: Vec<serde_json::Value> = src
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string().into())
            .collect();
        grants.insert("canPublishSources".into(), list.into());
    }
    let grants: Option<Grants> = if grants.is_empty() {
        None
    } else {
        Some(serde_json::from_value(grants.into()).map_err(|e| format!("Grants: {e}"))?)
    };
    Ok(TokenCreateParams {
        room,
        identity,
        name: opt(f, "name"),
        metadata: opt(f, "metadata"),
        attributes: parse_pairs("Attributes", field(f, "attributes"))?,
        preset: Some(preset),
        grants,
        room_config: None,
        ttl_s: parse_secs("TTL", field(f, "ttl"))?,
    })
}

pub async fn mint(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<Fields>,
) -> Response {
    let outcome = match params(&f) {
        Err(e) => Outcome::Failed(e),
        Ok(p) => match state.rpc.call::<TokenCreate>(&p).await {
            Ok(t) => Outcome::Done(t),
            Err(e) => Outcome::Failed(describe(&e)),
        },
    };
    render(&session, None, &f, outcome, "", Outcome::None)
}

pub async fn decode(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<Fields>,
) -> Response {
    let token = field(&f, "token").trim().to_string();
    let outcome = if token.is_empty() {
        Outcome::Failed("Paste a token to decode.".into())
    } else {
        match state
            .rpc
            .call::<TokenDecode>(&TokenDecodeParams {
                token: token.clone(),
            })
            .await
        {
            Ok(d) => Outcome::Done(d),
            Err(e) => Outcome::Failed(describe(&e)),
        }
    };
    render(
        &session,
        None,
        &Fields::new(),
        Outcome::None,
        &token,
        outcome,
    )
}

fn render(
    session: &Session,
    flash: Option<crate::auth::Flash>,
    f: &Fields,
    minted: Outcome<TokenCreated>,
    token: &str,
    decoded: Outcome<TokenDecoded>,
) -> Response {
    let body = html! {
        h1 { "Tokens" }
        p.sub { "Mint LiveKit access tokens signed by the active key, or paste one to see what it allows and why it may be refused." }
        (html::flash(&flash))
        div.grid {
            section.card aria-labelledby="h-mint" { (mint_form(session, f, &minted)) }
            section.card aria-labelledby="h-decode" { (decode_form(session, token, &decoded)) }
        }
    };
    html::ok(html::page(session, Nav::Tokens, "Tokens", body))
}

fn mint_form(session: &Session, f: &Fields, minted: &Outcome<TokenCreated>) -> Markup {
    let preset = field(f, "preset");
    html! {
        h2 #h-mint { "Mint a token" }
        form #mint method="post" action="/tokens" {
            (html::csrf(session))
            div.row {
                div.field { label for="t-room" { "Room" } input #t-room name="room" required value=(field(f, "room")) placeholder="standup"; }
                div.field { label for="t-identity" { "Identity" } input #t-identity name="identity" required value=(field(f, "identity")) placeholder="alice"; }
            }
            div.row {
                div.field { label for="t-name" { "Display name " span.hint { "optional" } } input #t-name name="name" value=(field(f, "name")); }
                div.field { label for="t-ttl" { "Lifetime " span.hint { "e.g. 1h, 15m; empty = server default" } } input #t-ttl name="ttl" value=(field(f, "ttl")); }
            }
            div.field {
                label for="t-preset" { "Preset" }
                select #t-preset name="preset" {
                    @for (v, label) in PRESETS { option value=(v) selected[preset == *v] { (label) } }
                }
            }
            details {
                summary { "Grant overrides, metadata, attributes" }
                p.hint { "Overrides are merged over the preset; leave “preset” to keep its value." }
                table {
                    thead { tr { th { "Grant" } th { "Value" } } }
                    tbody {
                        @for (name, what) in GRANTS {
                            @let key = format!("g_{name}");
                            @let v = field(f, &key);
                            tr {
                                td { label for=(key) { code { (name) } " " span.hint { (what) } } }
                                td {
                                    select id=(key) name=(key) {
                                        option value="" { "preset" }
                                        option value="yes" selected[v == "yes"] { "allow" }
                                        option value="no" selected[v == "no"] { "deny" }
                                    }
                                }
                            }
                        }
                    }
                }
                div.field { label for="t-sources" { "canPublishSources " span.hint { "comma-separated: camera, microphone, screen_share, screen_share_audio" } } input #t-sources name="sources" value=(field(f, "sources")); }
                div.field { label for="t-metadata" { "Metadata" } textarea #t-metadata name="metadata" { (field(f, "metadata")) } }
                div.field { label for="t-attributes" { "Attributes " span.hint { "one key=value per line" } } textarea #t-attributes name="attributes" { (field(f, "attributes")) } }
            }
            p { button type="submit" { "Mint token" } }
        }
        @match minted {
            Outcome::None => {},
            Outcome::Failed(e) => (html::form_error(e)),
            Outcome::Done(t) => {
                div #minted {
                    div.toolbar {
                        h3 { "Token for " (field(f, "identity")) " in " (field(f, "room")) }
                        button.secondary.small type="button" data-copy="minted-token" { "Copy" }
                    }
                    label.sr-only for="minted-token" { "Minted token" }
                    textarea.token #minted-token readonly { (t.token) }
                    dl.kv {
                        dt { "Server URL" } dd { code #minted-url { (t.server_url) } }
                        dt { "Signed by" } dd { code { (t.api_key) } }
                        dt { "Expires" } dd { (html::time(&t.expires_at)) }
                    }
                    form method="post" action="/tokens/decode" {
                        (html::csrf(session))
                        input type="hidden" name="token" value=(t.token);
                        p { button.secondary type="submit" { "Decode this token" } }
                    }
                }
            }
        }
    }
}

fn decode_form(session: &Session, token: &str, decoded: &Outcome<TokenDecoded>) -> Markup {
    html! {
        h2 #h-decode { "Decode a token" }
        form #decode method="post" action="/tokens/decode" {
            (html::csrf(session))
            div.field {
                label for="d-token" { "Access token (JWT)" }
                textarea.token #d-token name="token" required placeholder="eyJhbGciOiJIUzI1NiIs…" { (token) }
            }
            p { button type="submit" { "Decode" } }
        }
        @match decoded {
            Outcome::None => {},
            Outcome::Failed(e) => (html::form_error(e)),
            Outcome::Done(d) => {
                div #decoded {
                    h3 { @if d.valid { (badge("ok", "valid")) " LiveKit would accept this token" } @else { (badge("bad", "invalid")) " LiveKit would refuse this token" } }
                    @if !d.problems.is_empty() {
                        div.banner.bad role="alert" { strong { "Problems" } ul { @for p in &d.problems { li { (p) } } } }
                    }
                    dl.kv {
                        dt { "Signed by" } dd {
                            @if let Some(k) = &d.api_key { code { (k) } } @else { span.muted { "—" } }
                            " "
                            @match d.key_state { Some(s) => (super::overview::key_badge(s)), None => (badge("", "unknown key")) }
                        }
                        dt { "Not before" } dd { (opt_time(d.not_before.as_deref())) }
                        dt { "Expires" } dd { (opt_time(d.expires_at.as_deref())) }
                        @if let Some(s) = d.skew_s { dt { "Time left" } dd { @if s < 0 { "expired " (-s) " s ago" } @else { (s) " s" } } }
                    }
                    @if !d.grants_explained.is_empty() {
                        h3 { "What it allows" }
                        ul { @for g in &d.grants_explained { li { (g) } } }
                    }
                    details { summary { "Claims" } pre { (serde_json::to_string_pretty(&d.claims).unwrap_or_default()) } }
                }
            }
        }
    }
}
