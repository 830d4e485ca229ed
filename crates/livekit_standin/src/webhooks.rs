//! Webhooks as livekit-server sends them (facts §4): the protojson body of a `WebhookEvent`
//! (camelCase, defaults omitted, int64 as strings), `Content-Type: application/webhook+json`,
//! `Authorization: <raw JWT>` signed HS256 with `webhook.api_key`'s secret, carrying `sha256` =
//! standard base64 of the body's SHA-256, valid 5 minutes. Events go out serially, in order;
//! a connection error, 429 or 5xx (but 501) is retried up to 5 attempts with 1, 2, 4, 8 s
//! backoff; other answers are final; an event that waited over 30 s is dropped. Like the real
//! server, nothing is persisted: what is queued when the instance stops is lost.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{KeyInit, Mac};
use livekit_protocol as proto;
use sha2::Digest;
use tokio::sync::mpsc;

use crate::state::unix_now;

/// Where and how to send, from `livekit.yaml`'s `webhook` section.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub api_key: String,
    pub secret: String,
    pub urls: Vec<String>,
}

const MAX_AGE: Duration = Duration::from_secs(30);
const ATTEMPTS: u32 = 5;

/// The `Authorization` value for `body`.
pub fn sign(body: &[u8], api_key: &str, secret: &str, now: i64) -> String {
    let claims = serde_json::json!({
        "iss": api_key,
        "nbf": now,
        "iat": now,
        "exp": now + 300,
        "sha256": STANDARD.encode(sha2::Sha256::digest(body)),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Sends what arrives on `rx` until the channel closes (or the task is aborted).
pub async fn run(
    config: WebhookConfig,
    mut rx: mpsc::UnboundedReceiver<(Instant, proto::WebhookEvent)>,
) {
    hero_livekit_api::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    while let Some((queued, event)) = rx.recv().await {
        if queued.elapsed() > MAX_AGE {
            tracing::warn!(event = %event.event, "dropped webhook: age");
            continue;
        }
        let body = serde_json::to_vec(&event).expect("protocol messages serialise");
        for url in &config.urls {
            let auth = sign(&body, &config.api_key, &config.secret, unix_now().0);
            send(&http, url, &body, &auth, &event.event).await;
        }
    }
}

async fn send(http: &reqwest::Client, url: &str, body: &[u8], auth: &str, event: &str) {
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
        }
        let sent = http
            .post(url)
            .header("content-type", "application/webhook+json")
            .header("user-agent", "LiveKit")
            .header("authorization", auth)
            .body(body.to_vec())
            .send()
            .await;
        let retry = match &sent {
            Err(_) => true,
            Ok(r) => {
                let s = r.status().as_u16();
                s == 429 || (s >= 500 && s != 501)
            }
        };
        if !retry {
            tracing::debug!(url, event, status = ?sent.map(|r| r.status().as_u16()).ok(), "sent webhook");
            return;
        }
    }
    tracing::warn!(
        url,
        event,
        "POST {url} giving up after {ATTEMPTS} attempt(s)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_livekits_webhook_token() {
        let auth = sign(b"{}", "APIk", "secret", 1_800_000_000);
        let parts: Vec<&str> = auth.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "APIk");
        assert_eq!(claims["exp"], 1_800_000_300);
        // Standard base64 with padding, not URL-safe, not hex.
        assert_eq!(
            claims["sha256"],
            "RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
        assert!(claims.get("sub").is_none() && claims.get("video").is_none());
    }
}
