//! A dev-only stand-in for livekit-server's HTTP surface, as strict as the real server per
//! `livekit-facts.md`: same token checks and plain-text 401s, the Twirp RoomService in protobuf
//! and JSON with LiveKit's encodings and error bodies, `GET /` health, and the webhooks LiveKit
//! sends about rooms, participants and tracks (signed, ordered, retried; see [`webhooks`]). livekit-server cannot
//! be installed where our tests run; a stand-in that accepted anything would prove nothing.
//!
//! Never part of a shipped binary (`publish = false`).

mod agent_dispatch;
mod auth;
mod config;
mod egress;
mod error;
mod fleet;
mod http;
mod ingress;
mod json;
mod room_service;
mod sip;
mod state;
mod twirp;
pub mod webhooks;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

pub use config::{Config, IngressUrls, Limits, RedisConfig, RoomDefaults};
pub use error::{Error, Result};
pub use fleet::NODES_KEY;
pub use state::{DataKind, JoinError, SentData, Source, TrackKind, TrackSpec};

/// State shared by the HTTP handlers and the test-facing [`StandIn`] handle.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) ready: AtomicBool,
    /// Shown in the 406 body like the server's "Node Updated At".
    pub(crate) started_at: String,
    pub(crate) options: Options,
    state: Mutex<state::State>,
    requests: Mutex<Vec<(String, String)>>,
}

impl Shared {
    /// A poisoned lock only means a test thread panicked; the data is still usable.
    pub(crate) fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn log_request(&self, method: &str, content_type: &str) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((method.to_string(), content_type.to_string()));
    }
}

pub(crate) fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// How a stand-in is started, beyond its livekit.yaml (which stays exactly LiveKit's format):
/// where it listens, and what the simulated side-service workers behind it do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on. Default: `rtc.node_ip` when it is a loopback address (so several
    /// nodes can share one port on 127.0.0.2, 127.0.0.3, …), else 127.0.0.1. The YAML's
    /// `bind_addresses` are never used: a dev stand-in does not listen beyond loopback unless
    /// told to.
    pub bind: Option<IpAddr>,
    /// Port (0 = ephemeral); the YAML's `port` is not used.
    pub port: u16,
    /// Whether an egress worker is registered on the Redis bus (default true). When false,
    /// Start* calls answer `unavailable` "no response from servers", at once.
    pub egress_worker: bool,
    /// STARTING → ACTIVE (or FAILED) after this long (default 300 ms; a real worker takes a
    /// few seconds).
    pub egress_start_delay: Duration,
    /// ENDING → COMPLETE after this long (default 300 ms; upload time on a real worker).
    pub egress_end_delay: Duration,
    /// When set, an ACTIVE egress ends by itself this long after starting, as when its source
    /// closes ("End reason: Source closed"). Default: runs until StopEgress.
    pub egress_duration: Option<Duration>,
    /// How long a finished egress stays in ListEgress (LiveKit: 24 h).
    pub egress_retention: Duration,
    /// A file output whose `filepath` starts with this prefix cannot be written: the egress
    /// goes STARTING → FAILED with error `open <path>: permission denied`, code 500.
    pub unwritable_prefix: Option<String>,
    /// Whether an ingress worker is registered (default true). URL-input CreateIngress needs
    /// one; without it: `unavailable` "no response from servers".
    pub ingress_worker: bool,
    /// Whether a SIP worker is registered (default true); CreateSIPParticipant and
    /// TransferSIPParticipant need one.
    pub sip_worker: bool,
    /// Numbers CreateSIPParticipant cannot reach: `unavailable` with SIP status 480
    /// "Temporarily Unavailable" in the Twirp meta, as an unreachable callee.
    pub unreachable_numbers: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: None,
            port: 0,
            egress_worker: true,
            egress_start_delay: Duration::from_millis(300),
            egress_end_delay: Duration::from_millis(300),
            egress_duration: None,
            egress_retention: Duration::from_secs(24 * 3600),
            unwritable_prefix: None,
            ingress_worker: true,
            sip_worker: true,
            unreachable_numbers: Vec::new(),
        }
    }
}

impl Options {
    pub fn port(port: u16) -> Options {
        Options {
            port,
            ..Default::default()
        }
    }
}

/// A running stand-in. Each instance has its own state; "restarting" is `stop` then `start`
/// again, which re-reads the YAML and starts empty, like the real server.
pub struct StandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Sends webhooks; stopped with the instance, losing what is queued, like the real server.
    notifier: Option<JoinHandle<()>>,
    /// The `nodes` entry, in Redis mode.
    registration: Option<fleet::Registration>,
}

impl StandIn {
    /// Reads `livekit_yaml` once and serves on 127.0.0.1:`port` (0 = ephemeral), or on
    /// `rtc.node_ip` when that is a loopback address.
    pub async fn start(livekit_yaml: &Path, port: u16) -> anyhow::Result<StandIn> {
        Self::start_with(livekit_yaml, Options::port(port)).await
    }

    /// Like [`StandIn::start`], with the stand-in's own options.
    pub async fn start_with(livekit_yaml: &Path, options: Options) -> anyhow::Result<StandIn> {
        let config = Config::load(livekit_yaml)?;
        let port = options.port;
        let ip = options.bind.unwrap_or_else(|| {
            config
                .node_ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .filter(IpAddr::is_loopback)
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
        });
        let addr = SocketAddr::new(ip, port);
        // A fixed port that was just released (a stopped instance, or a test's "free port"
        // probe) can stay held for a moment by a child another thread is forking, until its
        // exec closes the copy. Retry briefly instead of failing the restart.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let listener = loop {
            match TcpListener::bind(addr).await {
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse
                        && port != 0
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                other => break other?,
            }
        };
        Self::serve(config, listener, options).await
    }

    /// Serves an already-loaded config on an already-bound listener. In Redis mode, connects
    /// (PING) and registers the node first, failing like livekit-server when Redis is
    /// unreachable.
    pub async fn serve(
        config: Config,
        listener: TcpListener,
        options: Options,
    ) -> anyhow::Result<StandIn> {
        let redis = match &config.redis {
            Some(r) => Some(fleet::connect(r).await?),
            None => None,
        };
        let addr = listener.local_addr()?;
        let mut state = state::State::default();
        let notifier = config.webhook.clone().map(|w| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            state.notify = Some(tx);
            tokio::spawn(webhooks::run(w, rx))
        });
        let shared = Arc::new(Shared {
            config,
            ready: AtomicBool::new(true),
            started_at: format!("{:.0}", now_f64()),
            options,
            state: Mutex::new(state),
            requests: Mutex::new(Vec::new()),
        });
        let registration = match redis {
            Some(conn) => Some(
                fleet::Registration::start(
                    conn,
                    shared.clone(),
                    shared.config.stats_update_interval,
                )
                .await?,
            ),
            None => None,
        };
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, http::app(shared.clone()), rx));
        tracing::info!(%addr, "livekit stand-in listening");
        Ok(StandIn {
            shared,
            addr,
            shutdown: Some(tx),
            task: Some(task),
            notifier,
            registration,
        })
    }

    /// `http://IP:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `ND_…` id this node registered under in Redis's `nodes` hash (Redis mode only).
    pub fn node_id(&self) -> Option<String> {
        self.registration.as_ref().map(fleet::Registration::node_id)
    }

    /// What SIGTERM starts on a real node: the `nodes` entry turns SHUTTING_DOWN (at once and on
    /// every refresh after). The node keeps serving; there is no way back to SERVING.
    pub async fn drain(&self) {
        if let Some(r) = &self.registration {
            r.drain().await;
        }
    }

    /// Whether any participant is still in a room (a draining node waits for none).
    pub fn has_participants(&self) -> bool {
        self.shared.state().has_participants()
    }

    /// Stops like a killed process: the listener closes, webhooks and refreshes stop, and the
    /// `nodes` entry stays behind, going stale.
    pub async fn kill(mut self) {
        if let Some(r) = self.registration.take() {
            r.abandon();
        }
        self.shutdown_now().await;
    }

    /// The API keys this instance accepts (read at start).
    pub fn loaded_keys(&self) -> Vec<String> {
        self.shared.config.keys.keys().cloned().collect()
    }

    /// `GET /` answers 200 `OK` when ready, 406 `Not Ready…` otherwise.
    pub fn set_ready(&self, ready: bool) {
        self.shared.ready.store(ready, Ordering::SeqCst);
    }

    /// Simulates a client joining: creates the room if needed (auto_create), adds an ACTIVE
    /// participant with the given tracks, and returns its sid. Panics where the real server
    /// would refuse the join (room missing with auto_create off, room full); see [`try_join`].
    ///
    /// [`try_join`]: StandIn::try_join
    pub fn join(&self, room: &str, identity: &str, name: &str, tracks: &[TrackSpec]) -> String {
        self.try_join(room, identity, name, tracks)
            .unwrap_or_else(|e| panic!("join {identity} into {room}: {e}"))
    }

    pub fn try_join(
        &self,
        room: &str,
        identity: &str,
        name: &str,
        tracks: &[TrackSpec],
    ) -> std::result::Result<String, JoinError> {
        self.shared
            .state()
            .join(&self.shared.config, room, identity, name, tracks)
    }

    /// A publisher starts streaming to the ingress (OBS connects to the RTMP URL, a WHIP client
    /// posts): PUBLISHING, its participant (kind INGRESS) joins the room, `ingress_started` is
    /// sent. Errors when the ingress is unknown, already live or disabled.
    pub fn ingress_publish(&self, ingress_id: &str) -> std::result::Result<(), String> {
        ingress::publish(&self.shared, ingress_id)
    }

    /// The publisher disconnects: INACTIVE again, the participant leaves, `ingress_ended` is
    /// sent. False when the ingress was not live.
    pub fn ingress_unpublish(&self, ingress_id: &str) -> bool {
        ingress::unpublish(&self.shared, ingress_id, true)
    }

    /// Simulates a participant leaving on its own (starts the departure timeout when last).
    pub fn leave(&self, room: &str, identity: &str) -> bool {
        self.shared.state().remove_participant(room, identity)
    }

    /// What SendData delivered to `room`, oldest first (kept after the room closes).
    pub fn data_messages(&self, room: &str) -> Vec<SentData> {
        self.shared
            .state()
            .data
            .get(room)
            .cloned()
            .unwrap_or_default()
    }

    /// Every RoomService request seen: (method, Content-Type as sent).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Clean stop: closes the listener and every open connection (the port is free when this
    /// returns) and, in Redis mode, removes the node's `nodes` entry (HDEL).
    pub async fn stop(mut self) {
        self.shutdown_now().await;
        if let Some(r) = self.registration.take() {
            r.unregister().await;
        }
    }

    async fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StandIn {
    /// A dropped handle without `stop` still tears the server down (without waiting), and leaves
    /// its `nodes` entry like [`StandIn::kill`]; either way the webhook notifier stops here,
    /// losing what is queued, like the real server.
    fn drop(&mut self) {
        if let Some(r) = self.registration.take() {
            r.abandon();
        }
        if let Some(n) = self.notifier.take() {
            n.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Own accept loop rather than `axum::serve`: on shutdown every connection task is aborted,
/// including idle keep-alive ones a client pool holds, so the port really is free afterwards.
async fn accept_loop(listener: TcpListener, app: axum::Router, mut stop: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let svc = TowerToHyperService::new(app.clone());
                conns.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    conns.shutdown().await;
}
