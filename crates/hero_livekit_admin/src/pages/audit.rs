//! `/audit`: the control plane's audit log of mutating calls.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use hero_livekit_api::methods::AuditListM;
use hero_livekit_api::types::AuditListParams;
use maud::html;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Session;
use crate::html::{self, Nav, badge, error_box, time};

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    method: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    limit: String,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let limit = q
        .limit
        .trim()
        .parse::<u32>()
        .ok()
        .unwrap_or(100)
        .clamp(1, 1000);
    let params = AuditListParams {
        since: Some(q.since.trim().to_string()).filter(|s| !s.is_empty()),
        method: Some(q.method.trim().to_string()).filter(|s| !s.is_empty()),
        limit: Some(limit),
    };
    let entries = state.rpc.call::<AuditListM>(&params).await;
    let body = html! {
        h1 { "Audit log" }
        p.sub { "Every mutating call made to the control plane — from this UI, the CLI or any other client — newest first. Secrets in params are redacted." }
        form.card method="get" action="/audit" aria-label="Filter" {
            div.row {
                div { label for="a-method" { "Method" } input #a-method name="method" value=(q.method) placeholder="e.g. keys.rotate"; }
                div { label for="a-since" { "Since " span.hint { "RFC 3339" } } input #a-since name="since" value=(q.since) placeholder="2026-11-26T13:00:00Z"; }
                div { label for="a-limit" { "Limit" } input #a-limit type="number" min="1" max="1000" name="limit" value=(limit); }
                div.shrink { button type="submit" { "Filter" } " " a.button.secondary href="/audit" { "Reset" } }
            }
        }
        section.card #audit data-live="10" {
            @match &entries {
                Err(e) => (error_box("the audit log", e)),
                Ok(list) if list.entries.is_empty() => (html::empty("No audit entries", html! {
                    "Mutating calls (key rotation, room changes, tokens) are recorded here as they happen."
                })),
                Ok(list) => {
                    table {
                        thead { tr { th { "Time" } th { "Method" } th { "Caller" } th { "Outcome" } th { "Params" } } }
                        tbody {
                            @for e in &list.entries {
                                tr {
                                    td { (time(&e.at)) }
                                    td { code { (e.method) } }
                                    td.mono {
                                        @if let Some(uid) = e.peer.uid { "uid " (uid) } @else { "—" }
                                        @if let Some(pid) = e.peer.pid { " · pid " (pid) }
                                    }
                                    td { @if e.outcome == "ok" { (badge("ok", "ok")) } @else { span.error-text { (e.outcome) } } }
                                    td { details { summary { "JSON" } pre { (serde_json::to_string_pretty(&e.params).unwrap_or_default()) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html::ok(html::page(&session, Nav::Audit, "Audit", body))
}
