//! `/deployment`: `deploy.check` on the page — every production check of a `[public]`
//! deployment with its status and, when it fails, the cause and the fix (design §12). The checks
//! dial ports and ask DNS, so they run when the page is loaded, never in the background.
//! Names can be pinned to addresses (like `deploy check --resolve`) before the DNS records exist.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use hero_livekit_api::methods::DeployCheckM;
use hero_livekit_api::types::{CheckItem, CheckStatus, DeployCheck, DeployCheckParams};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Session;
use crate::error::Result;
use crate::html::{self, Nav, badge, error_box};

#[derive(Debug, Default, Deserialize)]
pub struct Pins {
    /// `NAME=IP` lines.
    #[serde(default)]
    resolve: String,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(pins): Query<Pins>,
) -> Response {
    let body = match parse_pins(&pins.resolve) {
        Err(e) => html! {
            h1 { "Deployment" }
            div.banner.bad role="alert" #pins-refused { (e) }
            (pin_form(&pins.resolve))
        },
        Ok(resolve) => {
            let check = state
                .rpc
                .call::<DeployCheckM>(&DeployCheckParams { resolve })
                .await;
            html! {
                h1 { "Deployment" }
                p.sub { "The production checks of a " code { "[public]" } " deployment: config, DNS, ports, proxies, certificates, signalling, STUN and TURN. They run each time this page is loaded (also "
                    code { "hero_livekit deploy check" } ")." }
                (view(&check))
                (pin_form(&pins.resolve))
            }
        }
    };
    html::ok(html::page(&session, Nav::Deployment, "Deployment", body))
}

/// `NAME=IP` lines into `deploy.check`'s `resolve`; a malformed line is named.
fn parse_pins(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, ip)) = line.split_once('=') else {
            return Err(format!("Pinned names: “{line}” is not NAME=IP"));
        };
        let (name, ip) = (name.trim(), ip.trim());
        if name.is_empty() || ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "Pinned names: “{line}” is not NAME=IP with an IP address"
            ));
        }
        out.insert(name.to_string(), ip.to_string());
    }
    Ok(out)
}

fn pin_form(current: &str) -> Markup {
    html! {
        section.card aria-labelledby="h-pins" {
            h2 #h-pins { "Check before the DNS records exist" }
            form method="get" action="/deployment" {
                label for="resolve" { "Pinned names, one " code { "NAME=IP" } " per line (like curl's " code { "--resolve" } ")" }
                textarea #resolve name="resolve" rows="3" placeholder="lk.example.com=203.0.113.10" { (current) }
                button type="submit" { "Run the checks" }
            }
        }
    }
}

/// The status badge of one check, in the words the CLI prints.
fn status_badge(s: CheckStatus) -> Markup {
    match s {
        CheckStatus::Ok => badge("ok", "ok"),
        CheckStatus::Warn => badge("warn", "warning"),
        CheckStatus::Error => badge("bad", "failed"),
        CheckStatus::Skip => badge("", "skipped"),
        CheckStatus::Info => badge("info", "note"),
    }
}

pub fn view(check: &Result<DeployCheck>) -> Markup {
    let c = match check {
        Err(e) => return error_box("the deployment checks", e),
        Ok(c) => c,
    };
    let failed = c
        .checks
        .iter()
        .filter(|i| i.status == CheckStatus::Error)
        .count();
    html! {
        @if !c.configured {
            div.banner.info #not-public {
                strong { "No public deployment configured" }
                p { "This control plane runs the loopback deployment. Add a " code { "[public]" }
                    " table (or run " code { "hero_livekit deploy init --domain … --email …" }
                    ") to serve LiveKit on a domain with TLS and TURN." }
            }
        } @else if failed == 0 {
            div.banner.ok #deploy-summary { strong { "Every check passed" } " (topology "
                code { (c.topology.as_deref().unwrap_or("?")) } "); read the notes below." }
        } @else {
            div.banner.bad role="alert" #deploy-summary {
                strong { (failed) " of " (c.checks.len()) " checks failed" }
                " (topology " code { (c.topology.as_deref().unwrap_or("?")) } "). Each says its cause and the fix."
            }
        }
        @if !c.checks.is_empty() {
            section.card {
                table #checks {
                    thead { tr { th { "Check" } th { "Status" } th { "Found" } th { "Fix" } } }
                    tbody { @for item in &c.checks { (row(item)) } }
                }
            }
        }
    }
}

fn row(item: &CheckItem) -> Markup {
    let id = match &item.subject {
        Some(s) => format!("check:{}:{s}", item.check),
        None => format!("check:{}", item.check),
    };
    let status = match item.status {
        CheckStatus::Ok => "ok",
        CheckStatus::Warn => "warn",
        CheckStatus::Error => "error",
        CheckStatus::Skip => "skip",
        CheckStatus::Info => "info",
    };
    html! {
        tr id=(id) data-status=(status) {
            td { code { (item.check) } @if let Some(s) = &item.subject { " " span.muted { (s) } } }
            td { (status_badge(item.status)) }
            td { (item.message) }
            td { @match (&item.fix, item.status) {
                (Some(fix), CheckStatus::Error | CheckStatus::Warn) => (fix),
                _ => span.muted { "—" },
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_name_equals_ip_lines() {
        let p = parse_pins("lk.test=127.0.0.1\n\n turn.lk.test = ::1 ").unwrap();
        assert_eq!(p["lk.test"], "127.0.0.1");
        assert_eq!(p["turn.lk.test"], "::1");
        assert_eq!(
            parse_pins("lk.test").unwrap_err(),
            "Pinned names: “lk.test” is not NAME=IP"
        );
        assert!(
            parse_pins("lk.test=localhost")
                .unwrap_err()
                .contains("with an IP address")
        );
    }
}
