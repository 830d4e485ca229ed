//! `POST /api/token`: LiveKit's standard token endpoint.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{authorize, cors, read_body};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::token::{Signer, TokenRequest, TokenResponse};

/// Takes the whole request (not a `HeaderMap` extractor, which would copy the headers) since
/// this is the hot path.
pub async fn create(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let settings = state.settings.load();
    let resp = match read_body(&parts.headers, body, state.body_timeout, false).await {
        Ok(body) => mint(&state, &settings, &parts.headers, &body).into_response(),
        Err(e) => e.into_response(),
    };
    // Errors carry the CORS headers too, so a browser app can read why it failed.
    cors::decorate(&settings, &parts.headers, false, resp)
}

fn mint(
    state: &AppState,
    settings: &Settings,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response> {
    let env = &settings.env;
    authorize(
        headers,
        &[&env.token_endpoint_token, &env.backend_api_token],
    )?;
    // Every field is optional, so an empty body is a valid request.
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        if !is_json(headers) {
            return Err(Error::UnsupportedMediaType);
        }
        serde_json::from_slice::<TokenRequest>(body)
            .map_err(|e| Error::bad_request("body", format!("invalid JSON body: {e}")))?
    };
    let signer = Signer {
        api_key: &env.livekit_api_key,
        api_secret: &env.livekit_api_secret,
        ttl: Duration::from_secs(env.token_ttl_s.min(env.token_max_ttl_s)),
    };
    let participant_token = request.mint(&signer)?;
    state.metrics.tokens_minted.inc();
    let body = TokenResponse {
        server_url: &env.livekit_public_url,
        participant_token: &participant_token,
    }
    .to_json();
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// A CORS preflight, or a plain OPTIONS.
pub async fn options(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if cors::is_preflight(&method, &headers) {
        return cors::preflight(&state.settings.load(), &headers);
    }
    (StatusCode::NO_CONTENT, [(header::ALLOW, "POST, OPTIONS")]).into_response()
}

/// No content type is taken as JSON; anything else must be `application/json` or `+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(ct) = ct.to_str() else { return false };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}
