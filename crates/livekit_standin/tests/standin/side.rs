//! Helpers for the side-service tests: a stand-in on Redis with a webhook inbox, and raw Twirp
//! calls to any service in either encoding.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use livekit_api::access_token::TokenVerifier;
use livekit_api::webhooks::WebhookReceiver;
use livekit_protocol as proto;
use livekit_standin::{Options, StandIn};
use prost::Message;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::helpers::*;
use crate::redis_server::RedisServer;

pub struct Side {
    pub standin: StandIn,
    pub http: reqwest::Client,
    pub hooks: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
    pub _redis: Option<RedisServer>,
    pub _dir: tempfile::TempDir,
}

/// A stand-in with (or without) a private Redis, webhooks to a local inbox, and `extra` YAML.
pub async fn side(with_redis: bool, options: Options, extra: &str) -> Side {
    let (tx, hooks) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let redis = with_redis.then(RedisServer::start);
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("livekit.yaml");
    let redis_block = redis.as_ref().map_or(String::new(), |r| {
        format!("redis:\n  address: {}\n", r.address())
    });
    std::fs::write(
        &yaml,
        format!(
            "keys:\n  {KEY}: {SECRET}\nrtc:\n  node_ip: 127.0.0.1\nwebhook:\n  api_key: {KEY}\n  urls: [{hook_url}]\n{redis_block}{extra}"
        ),
    )
    .unwrap();
    hero_livekit_api::tls::install_crypto_provider();
    Side {
        standin: StandIn::start_with(&yaml, options).await.unwrap(),
        http: reqwest::Client::new(),
        hooks,
        _redis: redis,
        _dir: dir,
    }
}

pub fn fast() -> Options {
    Options {
        egress_start_delay: Duration::from_millis(150),
        egress_end_delay: Duration::from_millis(150),
        ..Options::default()
    }
}

pub fn recorder() -> String {
    token(serde_json::json!({"roomRecord": true}))
}

impl Side {
    fn url(&self, service: &str, method: &str) -> String {
        format!("{}/twirp/livekit.{service}/{method}", self.standin.url())
    }

    /// JSON call: (status, parsed body).
    pub async fn json(
        &self,
        service: &str,
        method: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(service, method))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, parse(&text))
    }

    /// Protobuf call: the decoded answer, or (status, Twirp error JSON).
    pub async fn pb<Q: Message, A: Message + Default>(
        &self,
        service: &str,
        method: &str,
        token: Option<&str>,
        req: &Q,
    ) -> Result<A, (u16, Value)> {
        let mut r = self
            .http
            .post(self.url(service, method))
            .header("content-type", "application/protobuf")
            .body(req.encode_to_vec());
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        if status == 200 {
            Ok(A::decode(bytes.as_ref()).expect("protobuf answer"))
        } else {
            Err((status, parse(std::str::from_utf8(&bytes).unwrap())))
        }
    }

    /// The next webhook, checked with LiveKit's own receiver.
    pub async fn hook(&mut self) -> proto::WebhookEvent {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), self.hooks.recv())
            .await
            .expect("a webhook")
            .unwrap();
        assert_eq!(headers["content-type"], "application/webhook+json");
        WebhookReceiver::new(TokenVerifier::with_api_key(KEY, SECRET))
            .receive(
                std::str::from_utf8(&body).unwrap(),
                headers["authorization"].to_str().unwrap(),
            )
            .expect("LiveKit's receiver accepts it")
    }

    /// Webhooks until one named `event` arrives (earlier ones returned too).
    pub async fn hooks_until(&mut self, event: &str) -> Vec<proto::WebhookEvent> {
        let mut seen = Vec::new();
        loop {
            let e = self.hook().await;
            let done = e.event == event;
            seen.push(e);
            if done {
                return seen;
            }
        }
    }
}

/// Twirp's error body.
pub fn twirp(code: &str, msg: &str) -> Value {
    serde_json::json!({"code": code, "msg": msg})
}
