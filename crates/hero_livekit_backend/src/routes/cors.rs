//! CORS for the token endpoint, driven by the live `CORS_ALLOWED_ORIGINS` (so a reload
//! applies at once). Origins not listed get no `Access-Control-*` header at all. Applied by
//! the handlers themselves rather than a layer, which would cost a boxed clone per request.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::config::Settings;

/// Whether `method` + `headers` make a CORS preflight.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a preflight (204), with CORS headers only for an allowed origin.
pub fn preflight(settings: &Settings, headers: &HeaderMap) -> Response {
    decorate(
        settings,
        headers,
        true,
        StatusCode::NO_CONTENT.into_response(),
    )
}

/// Adds the CORS headers an allowed origin needs to `resp`.
pub fn decorate(
    settings: &Settings,
    headers: &HeaderMap,
    preflight: bool,
    mut resp: Response,
) -> Response {
    let origin = headers.get(header::ORIGIN);
    let allowed = origin.and_then(|o| o.to_str().ok()).is_some_and(|o| {
        settings
            .env
            .cors_allowed_origins
            .iter()
            .any(|a| a == "*" || a == o)
    });
    let h = resp.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let (true, Some(origin)) = (allowed, origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    resp
}
