//! `/telephony`: phone calls through LiveKit's SIP service (`sip.*`): inbound and outbound
//! trunks with Delete and a create form, dispatch rules (direct, individual, callee) with
//! Delete and a create form, and dialling a number into a room. Trunk passwords and rule PINs
//! are typed into password fields and never shown back.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use hero_livekit_api::errors::LIVEKIT_ERROR;
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use maud::{Markup, html};
use serde::Deserialize;

use super::{FormError, Success, flash_result, seg};
use crate::AppState;
use crate::auth::{Flash, Session};
use crate::error::Error;
use crate::html::{self, Nav, error_box};

fn back() -> Response {
    Redirect::to("/telephony").into_response()
}

/// Numbers or addresses typed with spaces or commas between them.
fn list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn unavailable(what: &str, e: &Error) -> Markup {
    match e {
        Error::Call {
            code: LIVEKIT_ERROR,
            message,
            ..
        } => html! {
            div.banner.warn role="status" { strong { "Telephony is not available" } div { (message) } }
        },
        e => error_box(what, e),
    }
}

fn trunk_rows(session: &Session, trunks: &[SipTrunk], flash: &Option<Flash>) -> Markup {
    html! {
        @for t in trunks {
            @let dir = match t.direction { SipDirection::Inbound => "inbound", SipDirection::Outbound => "outbound" };
            @let target = format!("trunk:{}", t.trunk_id);
            tr id=(target) {
                td { code { (t.trunk_id) } br; span.hint { (t.name) } }
                td { (dir) }
                td { @if t.numbers.is_empty() { "any" } @else { (t.numbers.join(" ")) } }
                td { (t.address.clone().unwrap_or_else(|| t.allowed_addresses.join(" "))) }
                td { @match &t.auth_username { Some(u) => { (u) @if t.has_password { " (password set)" } }, None => "-" } }
                td {
                    form.inline method="post" action={ "/telephony/trunks/" (dir) "/" (seg(&t.trunk_id)) "/delete" } data-confirm={ "Delete trunk " (t.trunk_id) "?" } {
                        (html::csrf(session))
                        button.danger.small type="submit" aria-label={ "Delete " (t.trunk_id) } { "Delete" }
                    }
                    (html::flash_at(flash, &target))
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let none = SipTrunkListParams::default();
    let all_rules = SipDispatchRuleListParams::default();
    let (inbound, outbound, rules) = tokio::join!(
        state.rpc.call::<SipInboundTrunkList>(&none),
        state.rpc.call::<SipOutboundTrunkList>(&none),
        state.rpc.call::<SipDispatchRuleListM>(&all_rules),
    );
    let flash = state.sessions.take_flash(&session);
    let mut present: Vec<String> = ["trunk", "rule", "call"].map(String::from).to_vec();
    for l in [&inbound, &outbound].into_iter().flatten() {
        present.extend(l.trunks.iter().map(|t| format!("trunk:{}", t.trunk_id)));
    }
    if let Ok(r) = &rules {
        present.extend(r.rules.iter().map(|r| format!("rule:{}", r.rule_id)));
    }
    let outbound_ids: Vec<SipTrunk> = outbound
        .as_ref()
        .map(|l| l.trunks.clone())
        .unwrap_or_default();
    let body = html! {
        h1 { "Telephony" }
        p.sub { "Phone calls into and out of rooms through LiveKit's SIP service: trunks connect a SIP provider, dispatch rules pick the room of an incoming call." }
        (html::flash_top(&flash, &present))
        section.card aria-labelledby="h-trunks" {
            h2 #h-trunks { "Trunks" }
            @match (&inbound, &outbound) {
                (Err(e), _) | (_, Err(e)) => (unavailable("the trunks", e)),
                (Ok(i), Ok(o)) if i.trunks.is_empty() && o.trunks.is_empty() => (html::empty("No trunk", html! { "Create an outbound trunk to dial out, an inbound one to take calls." })),
                (Ok(i), Ok(o)) => {
                    table {
                        thead { tr { th { "Trunk" } th { "Direction" } th { "Numbers" } th { "Address" } th { "Auth" } th { "" } } }
                        tbody { (trunk_rows(&session, &i.trunks, &flash)) (trunk_rows(&session, &o.trunks, &flash)) }
                    }
                }
            }
        }
        section.card aria-labelledby="h-rules" {
            h2 #h-rules { "Dispatch rules" }
            @match &rules {
                Err(e) => (unavailable("the dispatch rules", e)),
                Ok(r) if r.rules.is_empty() => (html::empty("No dispatch rule", html! { "Incoming calls need a rule to reach a room." })),
                Ok(r) => {
                    table {
                        thead { tr { th { "Rule" } th { "Kind" } th { "Room" } th { "Trunks" } th { "PIN" } th { "" } } }
                        tbody {
                            @for rule in &r.rules {
                                @let target = format!("rule:{}", rule.rule_id);
                                tr id=(target) {
                                    td { code { (rule.rule_id) } @if !rule.name.is_empty() { br; span.hint { (rule.name) } } }
                                    td { (rule.kind.as_str()) }
                                    td { (rule.room) @if rule.kind != SipRuleKind::Direct { "…" } }
                                    td { @if rule.trunk_ids.is_empty() { "all" } @else { (rule.trunk_ids.join(" ")) } }
                                    td { @if rule.has_pin { "yes" } @else { "no" } }
                                    td {
                                        form.inline method="post" action={ "/telephony/rules/" (seg(&rule.rule_id)) "/delete" } data-confirm={ "Delete rule " (rule.rule_id) "?" } {
                                            (html::csrf(&session))
                                            button.danger.small type="submit" aria-label={ "Delete " (rule.rule_id) } { "Delete" }
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
        div.grid {
            section.card aria-labelledby="h-call" {
                h2 #h-call { "Dial out" }
                form #call method="post" action="/telephony/call" {
                    (html::csrf(&session))
                    div.field { label for="c-room" { "Room" } input #c-room name="room" required; }
                    div.field { label for="c-number" { "Number" } input #c-number name="number" required placeholder="+15105550100"; }
                    div.field {
                        label for="c-trunk" { "Outbound trunk" }
                        select #c-trunk name="trunk_id" required {
                            @for t in &outbound_ids { option value=(t.trunk_id) { (t.name) " (" (t.trunk_id) ")" } }
                        }
                    }
                    p { button type="submit" { "Call" } }
                }
                (html::flash_at(&flash, "call"))
            }
            section.card aria-labelledby="h-trunk" {
                h2 #h-trunk { "Create a trunk" }
                form #trunk method="post" action="/telephony/trunks" {
                    (html::csrf(&session))
                    fieldset.choice {
                        legend { "Direction" }
                        label.check { input type="radio" name="direction" value="outbound" checked; "outbound (dial out)" }
                        label.check { input type="radio" name="direction" value="inbound"; "inbound (take calls)" }
                    }
                    div.field { label for="t-name" { "Name" } input #t-name name="name" required; }
                    div.field { label for="t-numbers" { "Numbers " span.hint { "space or comma separated" } } input #t-numbers name="numbers"; }
                    div.field { label for="t-address" { "Provider address " span.hint { "outbound: its SIP host; inbound: allowed IPs or CIDRs" } } input #t-address name="address"; }
                    div.row {
                        div.field { label for="t-user" { "Username" } input #t-user name="username" autocomplete="off"; }
                        div.field { label for="t-password" { "Password" } input #t-password type="password" name="password" autocomplete="new-password"; }
                    }
                    p { button type="submit" { "Create trunk" } }
                }
                (html::flash_at(&flash, "trunk"))
            }
            section.card aria-labelledby="h-rule" {
                h2 #h-rule { "Create a dispatch rule" }
                form #rule method="post" action="/telephony/rules" {
                    (html::csrf(&session))
                    div.field {
                        label for="r-kind" { "Kind" }
                        select #r-kind name="kind" {
                            option value="direct" { "direct: every call into one room" }
                            option value="individual" { "individual: a room per caller" }
                            option value="callee" { "callee: a room per number dialled" }
                        }
                    }
                    div.field { label for="r-room" { "Room " span.hint { "direct: the room; otherwise the start of room names" } } input #r-room name="room" required; }
                    div.field { label for="r-pin" { "PIN " span.hint { "optional" } } input #r-pin type="password" name="pin" inputmode="numeric" autocomplete="off"; }
                    div.field { label for="r-trunks" { "Trunks " span.hint { "empty: all" } } input #r-trunks name="trunks"; }
                    p { button type="submit" { "Create rule" } }
                }
                (html::flash_at(&flash, "rule"))
            }
        }
    };
    html::ok(html::page(&session, Nav::Telephony, "Telephony", body))
}

#[derive(Default, Deserialize)]
pub struct TrunkForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    numbers: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn create_trunk(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<TrunkForm>,
) -> Response {
    let result = async {
        let t = match f.direction.as_str() {
            "inbound" => {
                let p = SipInboundTrunkCreateParams {
                    name: f.name.trim().into(),
                    numbers: list(&f.numbers),
                    allowed_addresses: list(&f.address),
                    auth_username: opt(&f.username),
                    auth_password: opt(&f.password),
                    ..Default::default()
                };
                state.rpc.call::<SipInboundTrunkCreate>(&p).await?
            }
            _ => {
                let p = SipOutboundTrunkCreateParams {
                    name: f.name.trim().into(),
                    address: f.address.trim().into(),
                    numbers: list(&f.numbers),
                    auth_username: opt(&f.username),
                    auth_password: opt(&f.password),
                    ..Default::default()
                };
                state.rpc.call::<SipOutboundTrunkCreate>(&p).await?
            }
        };
        Ok::<_, FormError>(format!("Trunk {} ({}) created.", t.trunk_id, t.name))
    };
    flash_result(
        &state.sessions,
        &session,
        "trunk",
        Success::AtTop,
        result.await,
    );
    back()
}

pub async fn delete_trunk(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((direction, id)): Path<(String, String)>,
) -> Response {
    let p = SipTrunkIdParams {
        trunk_id: id.clone(),
    };
    let result = if direction == "inbound" {
        state.rpc.call::<SipInboundTrunkDelete>(&p).await
    } else {
        state.rpc.call::<SipOutboundTrunkDelete>(&p).await
    }
    .map(|t| format!("Trunk {} deleted.", t.trunk_id))
    .map_err(FormError::from);
    flash_result(
        &state.sessions,
        &session,
        format!("trunk:{id}"),
        Success::AtTop,
        result,
    );
    back()
}

#[derive(Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    trunks: String,
}

pub async fn create_rule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<RuleForm>,
) -> Response {
    let result = async {
        let kind = match f.kind.as_str() {
            "individual" => SipRuleKind::Individual,
            "callee" => SipRuleKind::Callee,
            "direct" | "" => SipRuleKind::Direct,
            other => {
                return Err(FormError::from(format!(
                    "Kind: “{other}” is not direct, individual or callee."
                )));
            }
        };
        let room = opt(&f.room);
        let p = SipDispatchRuleCreateParams {
            kind,
            room: (kind == SipRuleKind::Direct)
                .then(|| room.clone())
                .flatten(),
            room_prefix: (kind != SipRuleKind::Direct).then_some(room).flatten(),
            pin: opt(&f.pin),
            trunk_ids: list(&f.trunks),
            ..Default::default()
        };
        let r = state.rpc.call::<SipDispatchRuleCreate>(&p).await?;
        Ok(format!(
            "Dispatch rule {} ({}) created.",
            r.rule_id,
            r.kind.as_str()
        ))
    };
    flash_result(
        &state.sessions,
        &session,
        "rule",
        Success::AtTop,
        result.await,
    );
    back()
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let p = SipDispatchRuleIdParams {
        rule_id: id.clone(),
    };
    let result = state
        .rpc
        .call::<SipDispatchRuleDelete>(&p)
        .await
        .map(|r| format!("Dispatch rule {} deleted.", r.rule_id))
        .map_err(FormError::from);
    flash_result(
        &state.sessions,
        &session,
        format!("rule:{id}"),
        Success::AtTop,
        result,
    );
    back()
}

#[derive(Default, Deserialize)]
pub struct CallForm {
    #[serde(default)]
    room: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    trunk_id: String,
}

pub async fn call(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<CallForm>,
) -> Response {
    let p = SipCallParams {
        room: f.room.trim().into(),
        number: f.number.trim().into(),
        trunk_id: f.trunk_id.trim().into(),
        ..Default::default()
    };
    let result = state
        .rpc
        .call::<SipCallM>(&p)
        .await
        .map(|c| {
            format!(
                "Calling {}: joins room {} as {}.",
                p.number, c.room, c.identity
            )
        })
        .map_err(FormError::from);
    flash_result(&state.sessions, &session, "call", Success::Beside, result);
    back()
}
