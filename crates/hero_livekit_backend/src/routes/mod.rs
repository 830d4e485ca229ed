//! The HTTP surface (design.md §6). `app` is a pure builder so tests can drive it directly.

mod cors;
mod egress;
mod events;
mod health;
mod stats;
mod token;
mod webhook;

use std::time::{Duration, Instant};

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::LengthLimitError;
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
        .route("/api/events/stream", get(events::stream))
        .route("/api/sessions", get(events::sessions))
        .route("/api/stats/participants", get(stats::participants))
        .route(
            "/api/stats/participant_minutes",
            get(stats::participant_minutes),
        )
        .route(
            "/api/stats/session_durations",
            get(stats::session_durations),
        )
        .route("/api/stats/webhooks", get(stats::webhooks))
        .route("/api/egress", get(egress::list))
        .route("/api/egress/{id}", get(egress::get))
        .route("/api/token", post(token::create).options(token::options))
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .with_state(state)
}

/// Runs one request through `app`, counting and timing it.
pub async fn observe(app: Router, metrics: &Metrics, req: Request) -> Response {
    let route = route_label(req.uri().path());
    let start = Instant::now();
    let resp = match app.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
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

/// Reads the whole body: at most [`MAX_BODY`] bytes (413 beyond), within `timeout` (a slow
/// client gets 408, or 503 when `retryable` so LiveKit retries a webhook). Small bodies
/// usually arrive with the headers, so the first poll completes and no timer is armed.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
    retryable: bool,
) -> Result<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Error::PayloadTooLarge);
    }
    let mut read = pin!(axum::body::to_bytes(body, MAX_BODY));
    let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let result = match first {
        Poll::Ready(r) => r,
        Poll::Pending => tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| Error::Timeout { retryable })?,
    };
    result.map_err(|e| {
        let too_long = e.into_inner().downcast_ref::<LengthLimitError>().is_some();
        if too_long {
            Error::PayloadTooLarge
        } else {
            Error::BadRequest {
                message: "cannot read the request body".into(),
                field: None,
            }
        }
    })
}
