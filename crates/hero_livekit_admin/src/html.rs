//! The page frame and small building blocks shared by the pages. Markup is built with maud,
//! which escapes every interpolated value, so text from the control plane, LiveKit or the
//! operator can never become markup.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use hero_livekit_api::types::Status;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use crate::auth::{CSRF_FIELD, Flash, Session};
use crate::error::Error;

pub const CSS: &str = include_str!("../assets/app.css");
pub const JS: &str = include_str!("../assets/app.js");
/// The icon browsers ask for at `/favicon.ico` on every first page load.
pub const FAVICON: &str = include_str!("../assets/favicon.svg");
/// uPlot (MIT, assets/uplot/LICENSE) and the script drawing the charts with it: files served
/// under /assets/ (script-src 'self'), loaded only by pages with charts.
pub const UPLOT_JS: &str = include_str!("../assets/uplot/uPlot.iife.min.js");
pub const UPLOT_CSS: &str = include_str!("../assets/uplot/uPlot.min.css");
pub const UPLOT_LICENSE: &str = include_str!("../assets/uplot/LICENSE");
pub const CHARTS_JS: &str = include_str!("../assets/charts.js");

/// Content-Security-Policy: nothing external; inline style and script only by hash, files
/// only from this origin (/assets/).
pub static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = |s: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s));
    let csp = format!(
        "default-src 'none'; style-src 'self' 'sha256-{}'; script-src 'self' 'sha256-{}'; connect-src 'self'; \
         img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        hash(CSS),
        hash(JS)
    );
    HeaderValue::from_str(&csp).expect("ASCII CSP")
});

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Nodes,
    Rooms,
    Recordings,
    Ingress,
    Telephony,
    Tokens,
    Keys,
    Events,
    Audit,
    Deployment,
    Config,
}

const NAV: &[(Nav, &str, &str)] = &[
    (Nav::Overview, "/", "Overview"),
    (Nav::Nodes, "/nodes", "Nodes"),
    (Nav::Rooms, "/rooms", "Rooms"),
    (Nav::Recordings, "/recordings", "Recordings"),
    (Nav::Ingress, "/ingress", "Ingress"),
    (Nav::Telephony, "/telephony", "Telephony"),
    (Nav::Tokens, "/tokens", "Tokens"),
    (Nav::Keys, "/keys", "Keys"),
    (Nav::Events, "/events", "Events"),
    (Nav::Audit, "/audit", "Audit"),
    (Nav::Deployment, "/deployment", "Deployment"),
    (Nav::Config, "/config", "Config"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · hero_livekit admin" }
            style { (PreEscaped(CSS)) }
        }
    }
}

/// A full page for a logged-in operator.
pub fn page(session: &Session, active: Nav, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.sr-only href="#main" { "Skip to content" }
                header.top {
                    div.wrap {
                        a.brand href="/" { "hero_" span { "livekit" } " admin" }
                        nav.main aria-label="Sections" {
                            @for (nav, href, label) in NAV {
                                @if *nav == active {
                                    a href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        form.inline method="post" action="/logout" {
                            (csrf(session))
                            button.link type="submit" { "Log out" }
                        }
                    }
                }
                main.wrap #main {
                    (body)
                }
                script { (PreEscaped(JS)) }
            }
        }
    }
}

/// The charts section (issue 15): hidden until charts.js draws it, so a page without
/// JavaScript shows only its tables. `room` limits the participants chart to one room (and
/// shows only that chart).
pub fn charts(room: Option<&str>) -> Markup {
    let all: &[(&str, &str)] = &[
        ("participants", "Concurrent participants"),
        ("participant_minutes", "Participant-minutes per day"),
        ("session_durations", "Sessions by duration"),
        ("webhooks", "Webhooks (stored, duplicates, forgeries)"),
    ];
    let shown = if room.is_some() { &all[..1] } else { all };
    html! {
        link rel="stylesheet" href="/assets/uplot/uPlot.min.css";
        section.card.charts data-charts hidden aria-labelledby="h-charts" {
            h2 #h-charts { "Charts" }
            div.ranges role="group" aria-label="Range" {
                @for (r, label) in [("1h", "1 h"), ("24h", "24 h"), ("7d", "7 d"), ("30d", "30 d")] {
                    button.secondary.small type="button" data-range=(r) aria-pressed="false" { (label) }
                }
            }
            div.grid {
                @for (series, title) in shown {
                    div.chart data-chart=(series) data-room=(room.unwrap_or("")) {
                        h3 { (title) }
                        div.plot {}
                        p.chart-note {}
                    }
                }
            }
        }
        script src="/assets/uplot/uPlot.iife.min.js" defer {}
        script src="/assets/charts.js" defer {}
    }
}

/// A page without navigation (login, logout).
pub fn bare_page(title: &str, extra_head: Option<Markup>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            @if let Some(extra) = extra_head { (extra) }
            body { main.wrap #main { (body) } }
        }
    }
}

/// Turns markup into a response with the security headers of every page.
pub fn respond(status: axum::http::StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

pub fn ok(markup: Markup) -> Response {
    respond(axum::http::StatusCode::OK, markup)
}

/// Adds the headers every response carries: CSP, no framing, no sniffing, no cross-origin
/// referrer (the login URL carries the token), no cache
/// (pages show tokens).
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: browsers then send `Origin: null` on same-origin form posts.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The hidden CSRF field every form carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// An RFC 3339 time, shown in UTC until the script turns it into local time.
pub fn time(rfc3339: &str) -> Markup {
    let shown = rfc3339.replacen('T', " ", 1).replace('Z', " UTC");
    html! { time datetime=(rfc3339) { (shown) } }
}

pub fn opt_time(t: Option<&str>) -> Markup {
    match t {
        Some(t) if !t.is_empty() => time(t),
        _ => html! { span.muted { "—" } },
    }
}

pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={ "badge " (class) } { (text) } }
}

/// A yes/no/unknown answer as a badge.
pub fn tri(v: Option<bool>, yes: &str, no: &str) -> Markup {
    match v {
        Some(true) => badge("ok", yes),
        Some(false) => badge("bad", no),
        None => badge("", "unknown"),
    }
}

/// What to do about an error, in the operator's terms.
pub fn hint(e: &Error) -> Option<&'static str> {
    Some(match e {
        Error::Unreachable { .. } => {
            "Start hero_livekit_server (or check --socket). This page recovers by itself once it answers."
        }
        Error::MethodMissing { .. } => {
            "This admin is newer than the running hero_livekit_server; upgrade the server to use this feature."
        }
        Error::LiveKitUnreachable { .. } => {
            "Start livekit-server with the generated livekit.yaml, or check --livekit-url of the server."
        }
        Error::Backend(_) => "Start lk-backend (it reads backend.env written by the server).",
        Error::Timeout { .. } => "The control plane is busy or stuck; try again in a moment.",
        _ => return None,
    })
}

/// A failed call, shown where its data would have been.
pub fn error_box(what: &str, e: &Error) -> Markup {
    let title = match e {
        Error::Unreachable { .. } => "Control plane unreachable".to_string(),
        Error::LiveKitUnreachable { .. } => "LiveKit (SFU) unreachable".to_string(),
        Error::Backend(_) => "Backend unreachable".to_string(),
        Error::MethodMissing { .. } => "Not available on this server".to_string(),
        _ => format!("Could not load {what}"),
    };
    html! {
        div.banner.bad role="alert" {
            strong { (title) }
            div { (e.to_string()) }
            @if let Some(h) = hint(e) { p { (h) } }
        }
    }
}

/// An error right under the form whose action failed.
pub fn form_error(e: &str) -> Markup {
    html! { p.error-text role="alert" { (e) } }
}

/// A one-time message for the top of a page: untargeted ones, and targeted ones whose target
/// is not on the page (any more).
pub fn flash_top(f: &Option<Flash>, present: &[String]) -> Markup {
    match f {
        Some(x) if x.target.as_ref().is_some_and(|t| present.contains(t)) => html! {},
        _ => flash(f),
    }
}

/// The one-time message that belongs to `target`, if any.
pub fn flash_at(f: &Option<Flash>, target: &str) -> Markup {
    match f {
        Some(x) if x.target.as_deref() == Some(target) => flash(f),
        _ => html! {},
    }
}

/// A one-time message.
pub fn flash(f: &Option<Flash>) -> Markup {
    html! {
        @if let Some(f) = f {
            @if f.ok {
                div.banner.ok role="status" { (f.text) }
            } @else {
                div.banner.bad role="alert" { (f.text) }
            }
        }
    }
}

/// An empty table, with what to do next.
pub fn empty(title: &str, next: Markup) -> Markup {
    html! { div.empty { strong { (title) } div { (next) } } }
}

/// The restart-required banner. In a fleet the reasons name each node, and nodes restart one
/// at a time so rooms always have a live node to go to.
pub fn restart_banner(s: &Status) -> Markup {
    let fleet = s.fleet.source == "redis";
    html! {
        div.banner.warn role="alert" #restart-required {
            @if fleet {
                strong { "livekit-server must be restarted on " (s.fleet.restart_required.len()) " node(s)" }
            } @else {
                strong { "livekit-server must be restarted" }
            }
            ul { @for r in &s.restart_reasons { li { (r) } } }
            @if fleet {
                p { "Restart one node at a time and wait until it is live (SERVING) again on "
                    a href="/nodes" { "Nodes" } " before the next, so rooms always have a node to go to." }
            } @else {
                p { "Restart the SFU so it loads the current livekit.yaml, e.g. "
                    code { "systemctl restart livekit-server" } "." }
            }
        }
    }
}

/// A length of time as an operator reads it: `42 s`, `3 min 05 s`, `1 h 02 min`.
pub fn duration_text(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// A file size in bytes, in the largest binary unit under 1024 (one decimal past bytes).
pub fn bytes_text(n: i64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Shortens long text (metadata) for a table cell; the full text stays in the title.
pub fn clip(s: &str, max: usize) -> Markup {
    if s.chars().count() <= max {
        return html! { (s) };
    }
    let short: String = s.chars().take(max).collect();
    html! { span title=(s) { (short) "…" } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        let m = clip("<script>alert(1)</script>", 100).into_string();
        assert!(!m.contains("<script>"));
        assert!(
            time("2026-11-26T13:00:00Z")
                .into_string()
                .contains("2026-11-26 13:00:00 UTC")
        );
    }

    #[test]
    fn durations_and_sizes_read_plainly() {
        assert_eq!(duration_text(0), "0 s");
        assert_eq!(duration_text(59), "59 s");
        assert_eq!(duration_text(185), "3 min 05 s");
        assert_eq!(duration_text(3720), "1 h 02 min");
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(5 * 1024 * 1024 + 1024 * 100), "5.1 MiB");
        assert_eq!(bytes_text(3 * 1024_i64.pow(4)), "3.0 TiB");
    }

    #[test]
    fn csp_pins_the_inline_assets() {
        let csp = CSP.to_str().unwrap();
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
        assert!(!csp.contains("http"), "nothing external: {csp}");
    }
}
