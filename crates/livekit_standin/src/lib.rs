//! A dev-only stand-in for livekit-server's HTTP surface, as strict as the real server per
//! `livekit-facts.md`: same token checks and plain-text 401s, the Twirp RoomService in protobuf
//! and JSON with LiveKit's encodings and error bodies, `GET /` health, and the webhooks LiveKit
//! sends about rooms, participants and tracks (signed, ordered, retried; see [`webhooks`]). livekit-server cannot
//! be installed where our tests run; a stand-in that accepted anything would prove nothing.
//!
//! Never part of a shipped binary (`publish = false`).

mod auth;
mod config;
mod error;
mod http;
mod json;
mod room_service;
mod state;
mod twirp;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

pub use config::{Config, Limits, RoomDefaults};
pub use error::{Error, Result};
pub use state::{DataKind, JoinError, SentData, Source, TrackKind, TrackSpec};

/// State shared by the HTTP handlers and the test-facing [`StandIn`] handle.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) ready: AtomicBool,
    /// Shown in the 406 body like the server's "Node Updated At".
    pub(crate) started_at: String,
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

/// A running stand-in. Each instance has its own state; "restarting" is `stop` then `start`
/// again, which re-reads the YAML and starts empty, like the real single-node server.
pub struct StandIn {
    shared: Arc<Shared>,
    port: u16,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Sends webhooks; stopped with the instance, losing what is queued, like the real server.
    notifier: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Reads `livekit_yaml` once and serves on 127.0.0.1:`port` (0 = ephemeral).
    pub async fn start(livekit_yaml: &Path, port: u16) -> anyhow::Result<StandIn> {
        let config = Config::load(livekit_yaml)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
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
        Ok(Self::serve(config, listener))
    }

    /// Serves an already-loaded config on an already-bound listener.
    pub fn serve(config: Config, listener: TcpListener) -> StandIn {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
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
            state: Mutex::new(state),
            requests: Mutex::new(Vec::new()),
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, http::app(shared.clone()), rx));
        tracing::info!(port, "livekit stand-in listening");
        StandIn {
            shared,
            port,
            shutdown: Some(tx),
            task: Some(task),
            notifier,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
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

    /// Closes the listener and every open connection; the port is free when this returns.
    pub async fn stop(mut self) {
        self.shutdown_now().await;
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
    /// A dropped handle without `stop` still tears the server down (without waiting); either
    /// way the webhook notifier stops here, losing what is queued, like the real server.
    fn drop(&mut self) {
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
