use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use livekit_standin::StandIn;
use serde_json::{Value, json};

pub const KEY: &str = "APIstandinTest1";
pub const SECRET: &str = "standinSecret0123456789abcdefghijklmnop";
pub const OTHER_KEY: &str = "APIstandinOther";

#[allow(dead_code)] // not every test module uses every helper
pub struct TestApp {
    pub standin: StandIn,
    pub http: reqwest::Client,
    pub _dir: tempfile::TempDir,
    pub yaml: std::path::PathBuf,
}

/// Writes a livekit.yaml shaped like the control plane's render, plus `extra` YAML, and starts.
pub async fn spawn_with(extra: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("livekit.yaml");
    std::fs::write(
        &yaml,
        format!(
            "port: 7880\nrtc:\n  tcp_port: 7881\n  udp_port: 7882\n  use_external_ip: false\n\
             keys:\n  {KEY}: {SECRET}\nwebhook:\n  api_key: {KEY}\n  urls: []\n\
             logging:\n  level: info\n{extra}"
        ),
    )
    .unwrap();
    let standin = StandIn::start(&yaml, 0).await.unwrap();
    hero_livekit_api::tls::install_crypto_provider();
    TestApp {
        standin,
        http: reqwest::Client::new(),
        _dir: dir,
        yaml,
    }
}

pub async fn spawn() -> TestApp {
    spawn_with("room:\n  auto_create: true\n  empty_timeout: 300\n  departure_timeout: 20\n").await
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Hand-rolled HS256 signer, so tests can forge what SDKs never produce (no exp, wrong key…).
pub fn sign(claims: &Value, secret: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{h}.{p}").as_bytes());
    format!(
        "{h}.{p}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A valid token for KEY with the given video grant.
pub fn token(video: Value) -> String {
    sign(
        &json!({"iss": KEY, "sub": "ops", "nbf": now(), "exp": now() + 600, "video": video}),
        SECRET,
    )
}

pub fn admin(room: &str) -> String {
    token(json!({"roomAdmin": true, "room": room}))
}

#[allow(dead_code)]
pub fn creator() -> String {
    token(json!({"roomCreate": true, "roomList": true}))
}

impl TestApp {
    pub fn twirp_url(&self, method: &str) -> String {
        format!("{}/twirp/livekit.RoomService/{method}", self.standin.url())
    }

    /// POSTs JSON with a Bearer token; returns (status, body text).
    pub async fn call_json(
        &self,
        method: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, String) {
        let mut req = self
            .http
            .post(self.twirp_url(method))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub fn room_client(&self) -> livekit_api::services::room::RoomClient {
        livekit_api::services::room::RoomClient::with_api_key(&self.standin.url(), KEY, SECRET)
            .with_failover(false)
    }
}

pub fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A file copied verbatim from /work/shared/test-vectors (LiveKit's own encodings).
pub fn vector(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    parse(&std::fs::read_to_string(path).unwrap())
}

impl TestApp {
    /// Raw request for transport-level checks: returns (status, content-type, body).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.standin.url()));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.body(body.to_string()).send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, resp.text().await.unwrap())
    }
}
