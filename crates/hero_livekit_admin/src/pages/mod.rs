//! One module per page. Each page loads what it shows through the control plane, and renders a
//! failed call as an error box where that data would have been — never placeholder data.

pub mod api;
pub mod audit;
pub mod config;
pub mod events;
pub mod keys;
pub mod live;
pub mod login;
pub mod overview;
pub mod rooms;
pub mod tokens;

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

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

use crate::html;

/// Parses an optional duration field: `90s`, `15m`, `1h`, or plain seconds.
pub fn parse_secs(field: &str, s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Some(n));
    }
    humantime::parse_duration(s)
        .map(|d| Some(d.as_secs()))
        .map_err(|_| format!("{field}: “{s}” is not a duration (examples: 90, 90s, 15m, 1h)"))
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
        assert!(parse_secs("ttl", "soon").is_err());
        assert_eq!(parse_u32("n", " 5 ").unwrap(), Some(5));
        assert!(parse_u32("n", "-1").is_err());
        let p = parse_pairs("a", "x=1\n\n y = 2 ").unwrap().unwrap();
        assert_eq!(p["y"], "2");
        assert!(parse_pairs("a", "nope").is_err());
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
    }
}
