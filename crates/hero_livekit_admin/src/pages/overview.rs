//! `/`: health of the control plane, the SFU and the backend; the fleet summary; key states;
//! restart banner.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use hero_livekit_api::methods::{HealthM, StatusM};
use hero_livekit_api::types::{Health, NoParams, Status};
use maud::{Markup, html};

use super::events::{BackendReady, backend_ready};
use super::nodes;
use crate::AppState;
use crate::auth::Session;
use crate::error::Result;
use crate::html::{self, Nav, badge, error_box, time, tri};

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let (health, status, backend) = tokio::join!(
        state.rpc.call::<HealthM>(&NoParams {}),
        state.rpc.call::<StatusM>(&NoParams {}),
        backend_ready(&state),
    );
    let flash = state.sessions.take_flash(&session);
    let body = html! {
        h1 { "Overview" }
        (html::flash(&flash))
        div #overview data-live="5" {
            (view(&health, &status, &backend))
        }
    };
    html::ok(html::page(&session, Nav::Overview, "Overview", body))
}

fn uptime(s: u64) -> String {
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

fn key_state_class(state: &str) -> &'static str {
    match state {
        "active" => "ok",
        "pending" => "info",
        "retiring" => "warn",
        "revoked" => "bad",
        _ => "",
    }
}

pub fn key_badge(state: hero_livekit_api::types::KeyState) -> Markup {
    badge(key_state_class(state.as_str()), state.as_str())
}

/// The fleet summary: counts by class, Redis, which nodes to restart, stale entries.
fn fleet(s: &Status) -> Markup {
    let f = &s.fleet;
    html! {
        section.card #fleet aria-labelledby="h-fleet" {
            div.toolbar {
                h2 #h-fleet { "SFU fleet " @if f.source == "redis" { (nodes::counts(f)) } }
                a href="/nodes" { "All nodes →" }
            }
            @if f.source != "redis" {
                p.muted { "One SFU at " code { (s.sfu.url) } " (no " code { "[redis]" } "): a fleet of several livekit-server nodes needs one." }
            } @else {
                @if f.redis_reachable == Some(false) {
                    p.error-text role="alert" { "Redis unreachable: " (f.redis_error.as_deref().unwrap_or("no answer")) }
                    p.hint { "The counts are from the last list read." }
                }
                @if f.restart_required.is_empty() {
                    p #fleet-restart { "No node needs a restart." }
                } @else {
                    div #fleet-restart {
                        strong { "Restart these nodes, one at a time:" }
                        ul { @for id in &f.restart_required { li { code { (id) } } } }
                        p.hint { "Wait until each is live (SERVING) again before restarting the next." }
                    }
                }
                @if !f.stale_nodes.is_empty() {
                    div #fleet-stale {
                        strong { "Stale entries: " }
                        @for (i, id) in f.stale_nodes.iter().enumerate() { @if i > 0 { ", " } code { (id) } }
                        p.hint { "LiveKit routes nothing to a stale node, and leaves a crashed node's entry in Redis until another node starts." }
                    }
                }
            }
        }
    }
}

fn view(
    health: &Result<Health>,
    status: &Result<Status>,
    backend: &Result<BackendReady>,
) -> Markup {
    html! {
        @if let Ok(s) = status {
            @if s.restart_required { (html::restart_banner(s)) }
        }
        div.grid {
            section.card aria-labelledby="h-server" {
                h2 #h-server { "Control plane " @if health.is_ok() { (badge("ok", "up")) } @else { (badge("bad", "down")) } }
                @match (health, status) {
                    (Ok(h), Ok(s)) => {
                        dl.kv {
                            dt { "Version" } dd { (h.version) }
                            dt { "Uptime" } dd { (uptime(h.uptime_s)) }
                            dt { "PID" } dd { (s.server.pid) }
                            dt { "Home" } dd { code { (s.server.home) } }
                            dt { "Socket" } dd { code { (s.server.socket) } }
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => { (error_box("the control plane status", e)) }
                }
            }
            section.card aria-labelledby="h-sfu" {
                @match status {
                    Ok(s) => {
                        h2 #h-sfu { "LiveKit SFU "
                            @if s.sfu.reachable { (badge("ok", "reachable")) } @else { (badge("bad", "unreachable")) } }
                        dl.kv {
                            dt { "API URL" } dd { code { (s.sfu.url) } }
                            dt { "Latency" } dd { @if let Some(ms) = s.sfu.latency_ms { (format!("{ms:.1} ms")) } @else { span.muted { "—" } } }
                            dt { "Runs current config" } dd { (tri(s.sfu.config_loaded, "yes", "no — restart needed")) }
                        }
                        @if let Some(err) = &s.sfu.error {
                            p.error-text { (err) }
                            p.hint { "Start livekit-server with " code { (s.files.livekit_yaml.path) } "." }
                        }
                    }
                    Err(_) => { h2 #h-sfu { "LiveKit SFU" } p.muted { "Unknown while the control plane is unreachable." } }
                }
            }
            section.card aria-labelledby="h-backend" {
                @match backend {
                    Ok(b) => {
                        h2 #h-backend { "Backend "
                            @if b.ready { (badge("ok", "ready")) } @else { (badge("warn", "not ready")) } }
                        dl.kv {
                            dt { "URL" } dd { code { (b.url) } }
                            dt { "Database" } dd { (b.body["database"].as_str().unwrap_or("unknown")) }
                            dt { "Signing key" } dd { code { (b.body["config"]["signing_key"].as_str().unwrap_or("—")) } }
                            dt { "Sees LiveKit" } dd { (tri(b.body["livekit"]["reachable"].as_bool(), "yes", "no")) }
                        }
                    }
                    Err(e) => { h2 #h-backend { "Backend " (badge("bad", "unreachable")) } (error_box("the backend", e)) }
                }
            }
        }
        @if let Ok(s) = status {
            (fleet(s))
            section.card aria-labelledby="h-keys" {
                div.toolbar { h2 #h-keys { "API keys" } a href="/keys" { "Manage keys →" } }
                @if s.keys.is_empty() {
                    (html::empty("No keys", html! { "The server mints one at boot; check its log." }))
                } @else {
                    table {
                        thead { tr { th { "Key" } th { "State" } th { "SFU accepts it" } } }
                        tbody {
                            @for k in &s.keys {
                                tr { td { code { (k.api_key) } } td { (key_badge(k.state)) } td { (tri(k.sfu_accepts, "yes", "no")) } }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="h-files" {
                div.toolbar { h2 #h-files { "Rendered files" } a href="/config" { "View contents →" } }
                table {
                    thead { tr { th { "File" } th { "SHA-256" } th { "Written" } th { "" } } }
                    tbody {
                        @for f in [&s.files.livekit_yaml, &s.files.backend_env] {
                            tr {
                                td { code { (f.path) } }
                                td { code title=(f.sha256) { (f.sha256.get(..12).unwrap_or(&f.sha256)) "…" } }
                                td { (time(&f.written_at)) }
                                td { @if f.repaired { (badge("warn", "repaired at boot")) } }
                            }
                        }
                    }
                }
            }
        }
        p.live { "Refreshes every 5 s" }
    }
}
