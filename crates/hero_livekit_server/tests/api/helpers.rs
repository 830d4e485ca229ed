//! The server's test app (zero-to-production's `spawn_app`): an in-process control plane on a
//! temp home, one method per RPC the tests call; the real binary comes from the test kit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hero_livekit_api::env_file::{self, BackendEnv};
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_api::{ClientError, Method, RpcClient};
use hero_livekit_server::config::{Config, Settings};
use hero_livekit_testkit::http::{Request, Response, rpc_raw_async};
use hero_livekit_testkit::{InProcess, Proc, Site};
use serde_json::Value;
use tempfile::TempDir;

pub struct TestApp {
    pub dir: TempDir,
    pub home: PathBuf,
    pub socket: PathBuf,
    rpc: RpcClient,
    server: InProcess<hero_livekit_server::Result<()>>,
}

/// `<dir>/home` and `<dir>/sock/rpc.sock`.
pub fn settings(dir: &Path) -> Settings {
    Settings {
        home: Some(dir.join("home")),
        socket: Some(dir.join("sock/rpc.sock")),
        ..Default::default()
    }
}

/// Boots a server in this process on a fresh temp home.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    hero_livekit_testkit::init_logs(hero_livekit_server::init_tracing);
    let dir = hero_livekit_testkit::temp_dir();
    let mut s = settings(dir.path());
    tweak(&mut s);
    let config = Config::from_settings(s, None).unwrap();
    let (home, socket) = (config.home.clone(), config.socket.clone());
    let booted = hero_livekit_server::boot(config).await.unwrap();
    let server = InProcess::spawn(|stop| booted.serve(stop));
    let rpc = RpcClient::connect(&socket).await.unwrap();
    TestApp {
        dir,
        home,
        socket,
        rpc,
        server,
    }
}

/// An RPC error as (code, data).
pub fn rpc_err(e: ClientError) -> (i32, Value) {
    match e {
        ClientError::Rpc { code, data, .. } => (code, data.unwrap_or_default()),
        other => panic!("expected an RPC error, got {other}"),
    }
}

impl TestApp {
    /// A new WebSocket connection to rpc.sock.
    pub async fn client(&self) -> RpcClient {
        RpcClient::connect(&self.socket).await.unwrap()
    }

    pub async fn call<M: Method>(&self, params: &M::Params) -> Result<M::Result, ClientError> {
        self.rpc.call::<M>(params).await
    }

    /// The error code and data of a call that must fail.
    pub async fn call_err<M: Method>(&self, params: &M::Params) -> (i32, Value) {
        match self.call::<M>(params).await {
            Ok(_) => panic!("{} succeeded", M::NAME),
            Err(e) => rpc_err(e),
        }
    }

    pub async fn stop(self) {
        self.server.stop().await.unwrap();
    }

    /// A file of the home.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.join(name)).unwrap()
    }

    /// backend.env as lk-backend reads it.
    pub fn env(&self) -> BackendEnv {
        BackendEnv::from_vars(&env_file::parse(&self.read("backend.env")).unwrap()).unwrap()
    }

    /// One JSON-RPC body over plain HTTP; the whole response object.
    pub async fn rpc_http(&self, body: &str) -> Value {
        rpc_raw_async(&self.socket, body).await
    }

    /// A POST of `body` to rpc.sock with an optional content type.
    pub async fn post(&self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Response {
        let mut req = Request::post("/")
            .body(body)
            .timeout(Duration::from_secs(60));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send_unix_async(&self.socket).await.unwrap()
    }

    pub async fn status(&self) -> Status {
        self.call::<StatusM>(&NoParams {}).await.unwrap()
    }

    pub async fn keys(&self, include_revoked: bool) -> Vec<KeyInfo> {
        self.call::<KeysList>(&KeysListParams {
            include_revoked: Some(include_revoked),
        })
        .await
        .unwrap()
        .keys
    }

    /// A participant token for `identity` in `room`.
    pub async fn mint(&self, room: &str, identity: &str) -> String {
        self.call::<TokenCreate>(&TokenCreateParams {
            room: room.into(),
            identity: identity.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .token
    }

    pub async fn decode(&self, token: &str) -> TokenDecoded {
        self.call::<TokenDecode>(&TokenDecodeParams {
            token: token.into(),
        })
        .await
        .unwrap()
    }

    pub async fn audit(&self, params: AuditListParams) -> Vec<AuditEntry> {
        self.call::<AuditListM>(&params).await.unwrap().entries
    }

    pub async fn create_room(&self, name: &str) -> Room {
        self.call::<RoomCreate>(&RoomCreateParams {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap()
    }

    pub async fn rooms(&self) -> Vec<Room> {
        self.call::<RoomListM>(&RoomListParams::default())
            .await
            .unwrap()
            .rooms
    }

    pub async fn participants(&self, room: &str) -> Result<Vec<Participant>, ClientError> {
        self.call::<ParticipantListM>(&RoomParams { room: room.into() })
            .await
            .map(|l| l.participants)
    }

    pub async fn participant(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<Participant, ClientError> {
        self.call::<ParticipantGet>(&ParticipantParams {
            room: room.into(),
            identity: identity.into(),
        })
        .await
    }

    pub async fn mute(
        &self,
        room: &str,
        identity: &str,
        track_sid: &str,
        muted: bool,
    ) -> Result<MutedTrack, ClientError> {
        self.call::<ParticipantMuteTrack>(&MuteTrackParams {
            room: room.into(),
            identity: identity.into(),
            track_sid: track_sid.into(),
            muted,
        })
        .await
    }

    pub async fn remove_participant(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<Empty, ClientError> {
        self.call::<ParticipantRemove>(&ParticipantParams {
            room: room.into(),
            identity: identity.into(),
        })
        .await
    }

    pub async fn delete_room(&self, name: &str) -> Result<Empty, ClientError> {
        self.call::<RoomDelete>(&RoomNameParams { name: name.into() })
            .await
    }
}

/// The real binary on a test kit site (`<dir>/home`, `<dir>/s/rpc.sock`), logging at its
/// default level, with `extra` flags.
pub fn start_bin(site: &Site, extra: &[&str]) -> Proc {
    Proc::spawn(server_cmd(site).args(extra))
}

pub fn server_cmd(site: &Site) -> std::process::Command {
    site.command_at(env!("CARGO_BIN_EXE_hero_livekit_server"))
}

/// A site whose services log at their default level (the tests read what they log).
pub fn site() -> Site {
    Site::new().with_log(None)
}

/// Waits until the socket accepts connections.
pub fn wait_socket(socket: &Path) {
    hero_livekit_testkit::wait_for_socket(socket, Duration::from_secs(20));
}

/// Secrets of a home: key secrets and bearers, as written to backend.env.
pub fn secrets_of(home: &Path) -> Vec<String> {
    let env = env_file::parse(&std::fs::read_to_string(home.join("backend.env")).unwrap()).unwrap();
    let mut out: Vec<String> = [
        "LIVEKIT_API_SECRET",
        "BACKEND_API_TOKEN",
        "TOKEN_ENDPOINT_TOKEN",
    ]
    .iter()
    .map(|k| env[*k].clone())
    .collect();
    let yaml = std::fs::read_to_string(home.join("livekit.yaml")).unwrap();
    let doc = hero_livekit_server::livekit_schema::check_yaml(&yaml).unwrap();
    out.extend(doc.keys.unwrap().into_values());
    out
}

/// `GET /metrics` of the control plane's metrics listener on `port`: the whole text.
pub async fn scrape(port: u16) -> String {
    let resp = Request::get("/metrics").send_tcp_async(port).await.unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(
        resp.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        resp.header("content-type")
    );
    resp.text()
}

/// The value of the sample `name` whose labels are exactly `labels` (in any order).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (n, set) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let mut got: Vec<String> = set
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            got.sort();
            (n == name && got == want).then(|| value.parse().unwrap())
        })
}
