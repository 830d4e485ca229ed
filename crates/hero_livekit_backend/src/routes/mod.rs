//! The HTTP surface (design.md §6). `app` is a pure builder so tests can drive it directly.

mod cors;
mod events;
mod health;
mod token;
mod webhook;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use tower::ServiceExt;

use crate::error::{Error, Result};
use crate::metrics::{Metrics, route_label};
use crate::state::AppState;

/// Largest request body accepted (webhooks and token requests); larger gets 413.
pub const MAX_BODY: usize = 1024 * 1024;

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/webhook", post(webhook::receive))
        .route("/api/events", get(events::list))
        .route("/api/sessions", get(events::sessions))
        .route("/api/token", post(token::create).options(token::options))
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Runs one request through `app`: counts and times it, and bounds how long it may take (a
/// slow client cannot hold a handler forever). A timed-out webhook answers 503 so LiveKit
/// retries it.
pub async fn observe(app: Router, metrics: &Metrics, timeout: Duration, req: Request) -> Response {
    let route = route_label(req.uri().path());
    let start = Instant::now();
    let resp = match tokio::time::timeout(timeout, app.oneshot(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(never)) => match never {},
        Err(_) => Error::Timeout {
            retryable: route == "/webhook",
        }
        .into_response(),
    };
    metrics.observe(route, resp.status().as_u16(), start.elapsed());
    resp
}

/// Accepts `Authorization: Bearer <t>` when `t` equals one of `accepted`, compared in
/// constant time. The 401 says nothing about why.
pub fn authorize(headers: &HeaderMap, accepted: &[&str]) -> Result<()> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let mut ok = subtle::Choice::from(0);
    for a in accepted.iter().filter(|a| !a.is_empty()) {
        ok |= presented.as_bytes().ct_eq(a.as_bytes());
    }
    if presented.is_empty() || !bool::from(ok) {
        return Err(Error::Unauthorized);
    }
    Ok(())
}

/// Turns the body extractor's rejection into our JSON errors (413 for an oversize body).
fn body_or_error(body: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else {
            Error::BadRequest {
                message: "cannot read the request body".into(),
                field: None,
            }
        }
    })
}
