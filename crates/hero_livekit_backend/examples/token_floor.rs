//! Benchmark floor, not shipped: the cheapest possible "token endpoint" — axum, one
//! HMAC-SHA256 over a fixed claim set, no auth, no validation, no logging, no metrics.
//! `benches/token_endpoint/run` measures lk-backend against it.
//!
//! Usage: token_floor <port>

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const SECRET: &[u8] = b"benchSecret0123456789abcdefghijklmnopqrstuvwx";

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8091);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        br#"{"exp":4102444800,"iss":"APIbench","nbf":1700000000,"sub":"user","video":{"roomJoin":true,"room":"bench","canPublish":true,"canSubscribe":true,"canPublishData":true}}"#,
    );
    let signing_input: &'static str = Box::leak(format!("{header}.{claims}").into_boxed_str());
    let app = Router::new().route(
        "/api/token",
        post(move || async move {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
            mac.update(signing_input.as_bytes());
            let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            let body = format!(
                r#"{{"server_url":"ws://127.0.0.1:7880","participant_token":"{signing_input}.{sig}"}}"#
            );
            (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    println!("token_floor ready on http://127.0.0.1:{port}");
    axum::serve(listener, app).await.unwrap();
}
