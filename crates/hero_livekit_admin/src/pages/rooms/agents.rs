//! A room's agent dispatches on its page (`agent.dispatch.*`): the dispatches with their jobs
//! and Delete, and the form that sends an agent into the room.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use hero_livekit_api::methods::{AgentDispatchCreate, AgentDispatchDelete};
use hero_livekit_api::types::{
    AgentDispatchCreateParams, AgentDispatchDeleteParams, AgentDispatchList,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{back_to, room_url};
use crate::AppState;
use crate::auth::{Flash, Session};
use crate::error::Error;
use crate::html::{self, error_box, opt_time};
use crate::pages::{FormError, Success, flash_result, seg};

#[derive(Debug, Default, Deserialize)]
pub struct DispatchForm {
    #[serde(default)]
    agent_name: String,
    #[serde(default)]
    metadata: String,
}

pub async fn dispatch(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(f): Form<DispatchForm>,
) -> Response {
    let metadata = f.metadata.trim();
    let p = AgentDispatchCreateParams {
        room: name.clone(),
        agent_name: f.agent_name.trim().to_string(),
        metadata: (!metadata.is_empty()).then(|| metadata.to_string()),
    };
    let result = state
        .rpc
        .call::<AgentDispatchCreate>(&p)
        .await
        .map(|d| format!("Agent {} dispatched ({}).", d.agent_name, d.dispatch_id))
        .map_err(FormError::from);
    flash_result(&state.sessions, &session, "agent", Success::Beside, result);
    back_to(&name)
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let p = AgentDispatchDeleteParams {
        room: name.clone(),
        dispatch_id: id.clone(),
    };
    let result = state
        .rpc
        .call::<AgentDispatchDelete>(&p)
        .await
        .map(|d| format!("Agent dispatch {} deleted.", d.dispatch_id))
        .map_err(FormError::from);
    flash_result(
        &state.sessions,
        &session,
        format!("ad:{id}"),
        Success::AtTop,
        result,
    );
    back_to(&name)
}

/// The room's agent dispatches (for the live region).
pub fn section(
    session: &Session,
    room: &str,
    list: &Result<AgentDispatchList, Error>,
    flash: &Option<Flash>,
) -> Markup {
    html! {
        section.card #agents aria-labelledby="h-agents" {
            h2 #h-agents { "Agents" }
            @match list {
                Err(e) => (error_box("the agent dispatches", e)),
                Ok(l) if l.dispatches.is_empty() => p.muted { "No agent is dispatched to this room." },
                Ok(l) => {
                    table {
                        thead { tr { th { "Dispatch" } th { "Agent" } th { "Created" } th { "Jobs" } th { "" } } }
                        tbody {
                            @for d in &l.dispatches {
                                @let target = format!("ad:{}", d.dispatch_id);
                                tr id=(target) {
                                    td { code { (d.dispatch_id) } }
                                    td { @if d.agent_name.is_empty() { span.muted { "(automatic, any agent)" } } @else { (d.agent_name) } }
                                    td { (opt_time(d.created_at.as_deref())) }
                                    td {
                                        @if d.jobs.is_empty() { span.muted { "waiting for a worker" } }
                                        @for j in &d.jobs { code { (j.job_id) } " " (j.status) br; }
                                    }
                                    td {
                                        form.inline method="post" action={ (room_url(room)) "/agents/" (seg(&d.dispatch_id)) "/delete" } data-confirm={ "Delete dispatch " (d.dispatch_id) "?" } {
                                            (html::csrf(session))
                                            button.danger.small type="submit" aria-label={ "Delete " (d.dispatch_id) } { "Delete" }
                                        }
                                        (html::flash_at(flash, &target))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The Dispatch form (outside the live region, so a refresh never clears what is typed).
pub fn form(session: &Session, room: &str, flash: &Option<Flash>) -> Markup {
    html! {
        section.card aria-labelledby="h-dispatch" {
            h2 #h-dispatch { "Dispatch an agent" }
            form #agent method="post" action={ (room_url(room)) "/agents" } {
                (html::csrf(session))
                div.row {
                    div.field { label for="a-name" { "Agent name" } input #a-name name="agent_name" required; }
                    div.field { label for="a-metadata" { "Metadata " span.hint { "handed to its job" } } input #a-metadata name="metadata"; }
                }
                p { button type="submit" { "Dispatch agent" } }
            }
            (html::flash_at(flash, "agent"))
        }
    }
}
