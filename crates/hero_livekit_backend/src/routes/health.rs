//! Liveness, readiness and metrics.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::state::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// 200 when the database answers (config is loaded by construction); LiveKit's reachability
/// is reported but does not gate readiness: tokens and webhooks work while the SFU restarts.
pub async fn ready(State(state): State<AppState>) -> Response {
    let db_ok = tokio::time::timeout(PROBE_TIMEOUT, state.store.ping())
        .await
        .unwrap_or(false);
    let settings = state.settings.load_full();
    let url = settings.env.livekit_url.clone();
    let probe = probe_livekit(&url).await;
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if db_ok { "ready" } else { "not_ready" },
        "database": if db_ok { "ok" } else { "unavailable" },
        "config": {
            "loaded": true,
            "signing_key": settings.env.livekit_api_key,
            "webhook_keys": settings.env.livekit_webhook_keys.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        },
        "livekit": {
            "url": url,
            "reachable": probe.is_ok(),
            "latency_ms": probe.as_ref().ok(),
            "error": probe.as_ref().err(),
        },
    });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// `GET /` on LiveKit's HTTP port answers `200 OK` when the node is healthy. For https/wss
/// URLs (no TLS stack here) a TCP connect is the check. Returns the latency in ms.
async fn probe_livekit(url: &str) -> Result<u64, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("http://").or(url.strip_prefix("ws://")) {
        (false, r)
    } else if let Some(r) = url.strip_prefix("https://").or(url.strip_prefix("wss://")) {
        (true, r)
    } else {
        return Err(format!("unsupported URL scheme in {url}"));
    };
    let host = rest.split('/').next().unwrap_or("");
    let addr = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:{}", if tls { 443 } else { 80 })
    };
    let start = Instant::now();
    let attempt = async {
        let mut s = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
        if tls {
            return Ok(());
        }
        let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&buf[..n]);
        match line.split_whitespace().nth(1) {
            Some("200") => Ok(()),
            Some(code) => Err(format!("LiveKit answered HTTP {code}")),
            None => Err("not an HTTP answer".to_string()),
        }
    };
    match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
        Ok(Ok(())) => Ok(start.elapsed().as_millis() as u64),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())),
    }
}
