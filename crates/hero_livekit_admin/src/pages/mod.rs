//! One module per page. Each page loads what it shows through the control plane, and renders a
//! failed call as an error box where that data would have been — never placeholder data.

pub mod api;
pub mod audit;
pub mod config;
pub mod deployment;
pub mod events;
pub mod ingress;
pub mod keys;
pub mod live;
pub mod login;
pub mod nodes;
pub mod overview;
pub mod recordings;
pub mod rooms;
pub mod telephony;
pub mod tokens;

use axum::http::StatusCode;
use axum::response::Response;
use hero_livekit_api::duration::parse_duration;
use maud::html;

use crate::auth::{Session, Sessions};
use crate::error::Error;
use crate::html;

/// `/favicon.ico`: an SVG, said so by its content type (browsers take an SVG icon from any
/// path). Served without a session: the login page asks for it too.
pub async fn favicon() -> Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "image/svg+xml")],
        html::FAVICON,
    )
        .into_response()
}

/// Unknown paths (behind the session guard, so they reveal nothing either).
pub async fn not_found() -> Response {
    html::respond(
        StatusCode::NOT_FOUND,
        crate::html::bare_page(
            "Not found",
            None,
            html! {
                div.card.login {
                    h1 { "Page not found" }
                    p { a href="/" { "Back to the overview" } }
                }
            },
        ),
    )
}

/// An RPC failure as one line, with the offending field when the server names it.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Call {
            data: Some(d),
            message,
            ..
        } => match (d["field"].as_str(), d["reason"].as_str()) {
            (Some(field), Some(reason)) => format!("{field}: {reason}"),
            _ => message.clone(),
        },
        other => match html::hint(other) {
            Some(h) => format!("{other}. {h}"),
            None => other.to_string(),
        },
    }
}

/// Why a form action did not happen, as the one line shown to the operator: a field the form
/// got wrong, or the control plane's refusal ([`describe`]d). Lets an action use `?` on both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub String);

impl From<String> for FormError {
    fn from(text: String) -> Self {
        FormError(text)
    }
}

impl From<&str> for FormError {
    fn from(text: &str) -> Self {
        FormError(text.to_string())
    }
}

impl From<Error> for FormError {
    fn from(e: Error) -> Self {
        FormError(describe(&e))
    }
}

/// Where the confirmation of a form action is shown on the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// At the top: the action changed the page as a whole, or removed the row it came from.
    AtTop,
    /// Next to the form or row the action came from, like its failures.
    Beside,
}

/// Flashes a form action's outcome for the next page: a failure always next to `at` (the id of
/// its form or row), a success where `success` says.
pub fn flash_result(
    sessions: &Sessions,
    session: &Session,
    at: impl Into<String>,
    success: Success,
    result: Result<impl Into<String>, impl Into<FormError>>,
) {
    let at = Some(at.into());
    match (result, success) {
        (Ok(text), Success::AtTop) => sessions.set_flash(session, true, text),
        (Ok(text), Success::Beside) => sessions.set_flash_at(session, at, true, text),
        (Err(e), _) => sessions.set_flash_at(session, at, false, e.into().0),
    }
}

/// Parses an optional duration field in the one grammar of [`hero_livekit_api::duration`]
/// (`90s`, `15m`, `1h30m`, or plain seconds).
pub fn parse_secs(field: &str, s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    parse_duration(s)
        .map(|d| Some(d.as_secs()))
        .map_err(|e| format!("{field}: {e}"))
}

/// Parses an optional non-negative integer field.
pub fn parse_u32(field: &str, s: &str) -> Result<Option<u32>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u32>()
        .map(Some)
        .map_err(|_| format!("{field}: “{s}” is not a whole number"))
}

/// `key=value` lines into a map; blank lines are skipped.
pub fn parse_pairs(
    field: &str,
    s: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>, String> {
    let mut out = std::collections::BTreeMap::new();
    for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("{field}: “{line}” is not key=value"))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Percent-encodes one path segment (room names and identities may hold anything).
pub fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_parsers() {
        assert_eq!(parse_secs("ttl", "").unwrap(), None);
        assert_eq!(parse_secs("ttl", "90").unwrap(), Some(90));
        assert_eq!(parse_secs("ttl", "1h").unwrap(), Some(3600));
        assert_eq!(parse_secs("ttl", " 1h30m ").unwrap(), Some(5400));
        assert_eq!(parse_secs("ttl", "0").unwrap(), Some(0));
        assert_eq!(
            parse_secs("TTL", "soon").unwrap_err(),
            "TTL: \"soon\" is not a duration (examples: 90s, 15m, 1h, 1h30m, or a whole number of seconds such as 90 or 0)"
        );
        assert_eq!(parse_u32("n", " 5 ").unwrap(), Some(5));
        assert!(parse_u32("n", "-1").is_err());
        let p = parse_pairs("a", "x=1\n\n y = 2 ").unwrap().unwrap();
        assert_eq!(p["y"], "2");
        assert!(parse_pairs("a", "nope").is_err());
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn an_action_outcome_is_flashed_beside_its_form_or_at_the_top() {
        let sessions = Sessions::new(std::time::Duration::from_secs(60));
        let session = sessions.get(&sessions.create()).unwrap();
        let flashed = |success, result: Result<&str, FormError>| {
            flash_result(&sessions, &session, "create", success, result);
            let f = sessions.take_flash(&session).unwrap();
            (f.ok, f.text, f.target)
        };
        let create = Some("create".to_string());
        assert_eq!(
            flashed(Success::AtTop, Ok("Room a is ready.")),
            (true, "Room a is ready.".into(), None)
        );
        assert_eq!(
            flashed(Success::Beside, Ok("Message sent.")),
            (true, "Message sent.".into(), create.clone())
        );
        for success in [Success::AtTop, Success::Beside] {
            assert_eq!(
                flashed(success, Err("Name is required.".into())),
                (false, "Name is required.".into(), create.clone())
            );
        }
        // The control plane's refusal names the field it refused.
        let refused = Error::Call {
            method: "room.create",
            code: -32602,
            message: "invalid params".into(),
            data: Some(serde_json::json!({"field": "name", "reason": "too long"})),
        };
        assert_eq!(
            flashed(Success::AtTop, Err(refused.into())),
            (false, "name: too long".into(), create)
        );
    }
}
