use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use hero_livekit_api::env_file::BackendEnv;
use hero_livekit_backend::config::Config;
use hero_livekit_backend::webhook;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const KEY_A: &str = "APItestkeyAAAA";
pub const SECRET_A: &str = "secretA0123456789abcdefghijklmnopqrstuvwxyzAB";
pub const KEY_B: &str = "APItestkeyBBBB";
pub const SECRET_B: &str = "secretB0123456789abcdefghijklmnopqrstuvwxyzAB";
pub const API_TOKEN: &str = "apitoken0123456789abcdefghijklmnopqrstuvwxyz";
pub const APP_TOKEN: &str = "apptoken0123456789abcdefghijklmnopqrstuvwxyz";
pub const ORIGIN: &str = "https://app.example";

pub fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            hero_livekit_backend::init_tracing();
        }
    });
}

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
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let home = tempfile::tempdir().unwrap();
    let env = backend_env(home.path(), 8081);
    let env_path = home.path().join("backend.env");
    write_env(&env_path, &env);
    let mut config = Config::from_file(env_path.clone(), Default::default()).unwrap();
    config.reload_interval = Duration::from_millis(100);
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hero_livekit_backend::run(config, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    hero_livekit_api::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    // run() opens the database before serving; wait until it answers.
    for _ in 0..200 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    TestApp {
        base,
        client,
        env,
        env_path,
        home,
        stop: Some(stop),
        task: Some(task),
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

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), t)
                .await
                .unwrap()
                .unwrap();
        }
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

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The Python with LiveKit's official `livekit-api`: HERO_LIVEKIT_TEST_PYTHON, else the
/// workspace venv. Never skipped: a missing SDK fails the test with how to fix it.
pub fn python() -> PathBuf {
    let candidate = std::env::var_os("HERO_LIVEKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import livekit.api"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "LiveKit's Python SDK is needed at {} (set HERO_LIVEKIT_TEST_PYTHON, or run scripts/test, \
         which creates .venv with `pip install 'livekit-api>=1.0,<2'`)",
        candidate.display()
    );
    candidate
}

/// Runs a Python snippet with arguments; returns stdout, failing the test on a non-zero exit.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Python exit status only (for "the SDK refuses this").
pub fn python_succeeds(script: &str, args: &[&str]) -> bool {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap()
        .status
        .success()
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
