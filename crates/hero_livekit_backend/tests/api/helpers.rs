//! lk-backend's test app (zero-to-production's `spawn_app`): the service in this process on a
//! temp home and a 127.0.0.1:0 port, one method per endpoint the tests call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hero_livekit_api::env_file::BackendEnv;
use hero_livekit_backend::config::Config;
use hero_livekit_backend::webhook;
use hero_livekit_testkit::{InProcess, wait_until_async};
use tempfile::TempDir;

pub use hero_livekit_testkit::python::{python_succeeds, run_python};

pub const KEY_A: &str = "APItestkeyAAAA";
pub const SECRET_A: &str = "secretA0123456789abcdefghijklmnopqrstuvwxyzAB";
pub const KEY_B: &str = "APItestkeyBBBB";
pub const SECRET_B: &str = "secretB0123456789abcdefghijklmnopqrstuvwxyzAB";
pub const API_TOKEN: &str = "apitoken0123456789abcdefghijklmnopqrstuvwxyz";
pub const APP_TOKEN: &str = "apptoken0123456789abcdefghijklmnopqrstuvwxyz";
pub const ORIGIN: &str = "https://app.example";

pub fn backend_env(home: &Path, port: u16) -> BackendEnv {
    BackendEnv {
        livekit_url: "http://127.0.0.1:9".into(),
        livekit_public_url: "ws://127.0.0.1:7880".into(),
        livekit_api_key: KEY_A.into(),
        livekit_api_secret: SECRET_A.into(),
        livekit_webhook_keys: vec![(KEY_A.into(), SECRET_A.into())],
        database_url: format!("sqlite://{}", home.join("backend.db").display()),
        port,
        bind: "127.0.0.1".into(),
        backend_api_token: API_TOKEN.into(),
        token_endpoint_token: APP_TOKEN.into(),
        token_ttl_s: 3600,
        token_max_ttl_s: 86400,
        cors_allowed_origins: vec![ORIGIN.into()],
    }
}

/// Writes the file the way the control plane does: temp file in the same dir, then rename.
pub fn write_env(path: &Path, env: &BackendEnv) {
    write_env_text(path, &env.render());
}

pub fn write_env_text(path: &Path, text: &str) {
    let tmp = path.with_extension("env.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub env: BackendEnv,
    pub env_path: PathBuf,
    pub home: TempDir,
    backend: InProcess<hero_livekit_backend::Result<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    hero_livekit_testkit::init_logs(hero_livekit_backend::init_tracing);
    let home = hero_livekit_testkit::temp_dir();
    let env = backend_env(home.path(), 8081);
    let env_path = home.path().join("backend.env");
    write_env(&env_path, &env);
    let mut config = Config::from_file(env_path.clone(), Default::default()).unwrap();
    config.reload_interval = Duration::from_millis(100);
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let backend = InProcess::spawn(|stop| hero_livekit_backend::run(config, listener, stop));
    hero_livekit_api::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    // run() opens the database before serving; wait until it answers.
    wait_until_async("lk-backend /health", Duration::from_secs(10), || async {
        client.get(format!("{base}/health")).send().await.is_ok()
    })
    .await;
    TestApp {
        base,
        client,
        env,
        env_path,
        home,
        backend,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn token(&self, body: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/token"))
            .bearer_auth(APP_TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Posts a webhook with LiveKit's headers: raw JWT, custom content type.
    pub async fn webhook(&self, body: &[u8], authorization: &str) -> reqwest::Response {
        self.client
            .post(self.url("/webhook"))
            .header("content-type", "application/webhook+json")
            .header("authorization", authorization)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    pub async fn signed_webhook(&self, body: &[u8], key: &str, secret: &str) -> reqwest::Response {
        let auth = webhook::sign(body, key, secret, hero_livekit_api::timefmt::now_unix());
        self.webhook(body, &auth).await
    }

    pub async fn events(&self, query: &str) -> serde_json::Value {
        let r = self
            .client
            .get(self.url(&format!("/api/events{query}")))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Rows in the inbox, read straight from the database file.
    pub async fn stored_count(&self) -> i64 {
        let url = format!("{}?mode=ro", self.env.database_url);
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n.0
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.backend.stop().await.unwrap();
    }
}

/// A webhook body like livekit-server's (protojson: camelCase, int64 as strings).
pub fn event_body(event: &str, id: &str, room: &str, identity: Option<&str>, at: i64) -> Vec<u8> {
    let mut v = serde_json::json!({
        "event": event,
        "room": { "sid": format!("RM_{room}"), "name": room, "creationTime": (at - 5).to_string() },
        "id": id,
        "createdAt": at.to_string(),
    });
    if let Some(who) = identity {
        v["participant"] = serde_json::json!({
            "sid": format!("PA_{who}"), "identity": who, "state": "ACTIVE", "joinedAt": at.to_string()
        });
    }
    serde_json::to_vec(&v).unwrap()
}

pub fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
