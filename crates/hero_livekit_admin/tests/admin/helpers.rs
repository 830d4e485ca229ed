//! The admin's test app: an in-process control plane and the admin UI on a temp dir, both
//! stopped when dropped; sessions, pages and forms over reqwest.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hero_livekit_admin::{AppState, Config};
use hero_livekit_api::RpcClient;
use hero_livekit_server::config::Settings;
use hero_livekit_testkit::InProcess;
use tempfile::TempDir;

pub fn init_logs() {
    hero_livekit_testkit::init_logs(hero_livekit_admin::init_tracing);
}

/// An in-process control plane on `<dir>/home` and `<dir>/sock/rpc.sock`.
pub struct Server {
    pub home: PathBuf,
    pub socket: PathBuf,
    server: InProcess<hero_livekit_server::Result<()>>,
}

pub fn settings(dir: &Path) -> Settings {
    Settings {
        home: Some(dir.join("home")),
        socket: Some(dir.join("sock/rpc.sock")),
        // Nothing listens here unless a test starts an SFU stand-in: "SFU unreachable".
        livekit_url: Some("http://127.0.0.1:9".into()),
        livekit_timeout: Some("1s".parse().unwrap()),
        ..Default::default()
    }
}

pub async fn start_server(dir: &Path, tweak: impl FnOnce(&mut Settings)) -> Server {
    let mut s = settings(dir);
    tweak(&mut s);
    let config = hero_livekit_server::config::Config::from_settings(s, None).unwrap();
    let (home, socket) = (config.home.clone(), config.socket.clone());
    let booted = hero_livekit_server::boot(config).await.unwrap();
    let server = InProcess::spawn(|stop| booted.serve(stop));
    Server {
        home,
        socket,
        server,
    }
}

impl Server {
    pub async fn client(&self) -> RpcClient {
        RpcClient::connect(&self.socket).await.unwrap()
    }

    pub async fn stop(self) {
        self.server.stop().await.unwrap();
    }
}

/// The admin UI, served in this process (stopped when dropped).
pub struct Admin {
    pub addr: SocketAddr,
    pub token: String,
    pub home: PathBuf,
    _served: InProcess<hero_livekit_admin::Result<()>>,
}

impl Admin {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn login_url(&self) -> String {
        hero_livekit_admin::login_url(self.addr, &self.token)
    }
}

pub async fn start_admin(home: &Path, socket: &Path) -> Admin {
    init_logs();
    let config = Config::new(home.to_path_buf(), socket.to_path_buf());
    let (state, token) = AppState::new(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    Admin {
        addr,
        token,
        home: home.to_path_buf(),
        _served: InProcess::spawn(|stop| hero_livekit_admin::serve(state, listener, stop)),
    }
}

/// A server and an admin on one temp dir.
pub struct TestApp {
    pub _dir: TempDir,
    pub server: Server,
    pub admin: Admin,
}

pub async fn spawn_app() -> TestApp {
    init_logs();
    let dir = hero_livekit_testkit::temp_dir();
    let server = start_server(dir.path(), |_| {}).await;
    let admin = start_admin(&server.home, &server.socket).await;
    TestApp {
        _dir: dir,
        server,
        admin,
    }
}

/// An HTTP client that does not follow redirects (the tests look at them) and keeps no cookies.
pub fn http() -> reqwest::Client {
    hero_livekit_api::tls::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in with the token URL; returns the `Cookie` header value.
pub async fn login(admin: &Admin) -> String {
    let resp = http().get(admin.login_url()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    set.split(';').next().unwrap().to_string()
}

/// GETs a page with the session cookie; returns status and body.
pub async fn get(admin: &Admin, cookie: &str, path: &str) -> (u16, String) {
    let resp = http()
        .get(admin.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The CSRF token embedded in a page's forms.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF field") + marker.len();
    html[start..][..html[start..].find('"').unwrap()].to_string()
}

/// Node `i` of a test fleet listens on `127.0.0.{i+2}` (all of 127/8 is loopback on Linux).
pub fn node_ip(i: usize) -> String {
    format!("127.0.0.{}", i + 2)
}

/// A control plane on `[redis]` whose nodes share `port` on their own addresses, as real nodes
/// share `port`.
pub async fn start_fleet_server(
    dir: &Path,
    redis: &hero_livekit_testkit::Redis,
    port: u16,
) -> Server {
    start_server(dir, |s| {
        s.redis.address = Some(format!("127.0.0.1:{}", redis.port()));
        s.sfu_port = Some(port);
        s.livekit_url = Some(format!("http://{}:{port}", node_ip(0)));
        s.livekit_timeout = Some("2s".parse().unwrap());
    })
    .await
}

/// Starts node `i` with the control plane's current livekit.yaml, as its machine runs it (its
/// own `rtc.node_ip`); it is registered in Redis when this returns.
pub async fn start_node(server: &Server, i: usize, port: u16) -> livekit_standin::StandIn {
    let yaml = std::fs::read_to_string(server.home.join("livekit.yaml")).unwrap();
    let mut doc: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    doc["rtc"]["node_ip"] = node_ip(i).into();
    let file = server.home.with_file_name(format!("node{i}.yaml"));
    std::fs::write(&file, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    livekit_standin::StandIn::start_with(&file, livekit_standin::Options::port(port))
        .await
        .unwrap()
}
