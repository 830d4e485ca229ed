//! Shared state of the running control plane: cheap handles behind methods, so what a module
//! may touch is visible at the call site.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hero_livekit_api::methods::MethodSpec;
use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::FilesStatus;

use crate::config::Config;
use crate::error::Result;
use crate::events::Events;
use crate::files::Outcome;
use crate::fleet::Fleet;
use crate::lifecycle::NodeView;
use crate::livekit::{Acceptance, LiveKit};
use crate::metrics::Metrics;
use crate::secrets::Secret;
use crate::store::{InstanceRecord, Leadership, Store};
use crate::sync::{self, Canaries, Synced};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    store: Store,
    started: Instant,
    livekit: LiveKit,
    events: Events,
    metrics: Metrics,
    files: Mutex<FilesStatus>,
    canaries: Mutex<Canaries>,
    /// The registered methods, for `rpc.discover`.
    specs: OnceLock<Vec<MethodSpec>>,
    /// Serializes observations and key transitions, and remembers what was last seen.
    transitions: tokio::sync::Mutex<Seen>,
    /// What the SFU last said about each key (for `keys.list`).
    acceptance: Mutex<HashMap<String, Acceptance>>,
    fleet: Fleet,
    /// What each node was last seen to run (for `node.list`).
    node_views: Mutex<HashMap<String, NodeView>>,
    /// Who owns the singleton work (lifecycle transitions) among the instances.
    leadership: Leadership,
    /// This control plane among the instances sharing the database: `<host>:<home>`.
    instance_id: String,
    host: String,
    /// The revision the files on disk were rendered at.
    rendered: std::sync::atomic::AtomicI64,
    /// One render-and-write at a time (a key method and the follower may both want one).
    syncing: tokio::sync::Mutex<()>,
}

/// Name of the advisory lock that elects the owner of the lifecycle transitions.
const LIFECYCLE_LOCK: &str = "hero_livekit_lifecycle";

/// What the last observation saw, to emit events only on changes.
#[derive(Debug, Default)]
pub struct Seen {
    pub reachable: Option<bool>,
    pub restart_required: Option<bool>,
    /// Each node's class at the last successful read of the fleet (`None` before the first).
    pub classes: Option<HashMap<String, hero_livekit_api::types::NodeClass>>,
    /// Whether each node needed a restart at the last observation.
    pub node_restart: HashMap<String, bool>,
    /// Retiring keys held for running recordings at the last observation.
    pub egress_held: Vec<String>,
}

impl AppState {
    pub fn new(config: Config, store: Store, synced: &Synced) -> Self {
        let livekit = LiveKit::new(&config.livekit_url, config.livekit_timeout);
        let fleet = Fleet::new(&config);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let instance_id = format!("{host}:{}", config.home.display());
        let leadership = store.leadership(LIFECYCLE_LOCK);
        let metrics = Metrics::new(config.redis.is_some());
        for (name, outcome) in &synced.changes {
            metrics.file_written(name, outcome);
        }
        AppState(Arc::new(Inner {
            config,
            store,
            started: Instant::now(),
            livekit,
            events: Events::default(),
            metrics,
            files: Mutex::new(synced.files.clone()),
            canaries: Mutex::new(synced.canaries.clone()),
            specs: OnceLock::new(),
            transitions: tokio::sync::Mutex::new(Seen::default()),
            acceptance: Mutex::new(HashMap::new()),
            fleet,
            node_views: Mutex::new(HashMap::new()),
            leadership,
            instance_id,
            host,
            rendered: std::sync::atomic::AtomicI64::new(synced.revision),
            syncing: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn livekit(&self) -> &LiveKit {
        &self.0.livekit
    }

    pub fn fleet(&self) -> &Fleet {
        &self.0.fleet
    }

    pub fn node_views(&self) -> HashMap<String, NodeView> {
        self.0.node_views.lock().expect("node views lock").clone()
    }

    pub fn set_node_views(&self, views: HashMap<String, NodeView>) {
        *self.0.node_views.lock().expect("node views lock") = views;
    }

    pub fn events(&self) -> &Events {
        &self.0.events
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    pub fn uptime(&self) -> Duration {
        self.0.started.elapsed()
    }

    /// The status of the files as last synced.
    pub fn files(&self) -> FilesStatus {
        self.0.files.lock().expect("files lock").clone()
    }

    /// The canary keys in the livekit.yaml on disk.
    pub fn canaries(&self) -> Canaries {
        self.0.canaries.lock().expect("canary lock").clone()
    }

    pub fn specs(&self) -> &[MethodSpec] {
        self.0.specs.get().map(Vec::as_slice).unwrap_or_default()
    }

    pub fn set_specs(&self, specs: Vec<MethodSpec>) {
        let _ = self.0.specs.set(specs);
    }

    /// Taken by every observation and key transition, one at a time.
    pub async fn transitions(&self) -> tokio::sync::MutexGuard<'_, Seen> {
        self.0.transitions.lock().await
    }

    pub fn acceptance(&self) -> HashMap<String, Acceptance> {
        self.0.acceptance.lock().expect("acceptance lock").clone()
    }

    pub fn set_acceptance(&self, seen: HashMap<String, Acceptance>) {
        *self.0.acceptance.lock().expect("acceptance lock") = seen;
    }

    /// Whether this instance owns the singleton work (always, on SQLite).
    pub fn owns_lifecycle(&self) -> bool {
        self.0.leadership.is_owner()
    }

    /// At shutdown: leave the election, whose task holds a pooled connection for as long as it
    /// runs (closing the pool waits for every connection to come back).
    pub fn leave_leadership(&self) {
        self.0.leadership.stop();
    }

    pub fn instance_id(&self) -> &str {
        &self.0.instance_id
    }

    /// The revision the files on disk were rendered at.
    pub fn rendered_revision(&self) -> i64 {
        self.0.rendered.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records in the shared database what this instance rendered (and that it is alive).
    pub async fn record_instance(&self) -> Result<()> {
        let now = now_unix();
        let canaries = self.canaries();
        self.store()
            .record_instance(&InstanceRecord {
                instance_id: self.0.instance_id.clone(),
                host: self.0.host.clone(),
                home: self.config().home.display().to_string(),
                node_ip: self.config().node_ip.clone(),
                rendered_rev: self.rendered_revision(),
                cluster_sha256: canaries.cluster_sha256,
                rendered_at: now,
                seen_at: now,
            })
            .await?;
        Ok(())
    }

    /// Re-renders when another instance committed a change this one has not rendered yet.
    pub async fn resync_if_behind(&self) -> Result<bool> {
        if self.store().revision().await? == self.rendered_revision() {
            return Ok(false);
        }
        self.resync().await?;
        Ok(true)
    }

    /// Re-renders the files after a committed change, records their status and emits
    /// `file.rewritten` for each file that changed.
    pub async fn resync(&self) -> Result<()> {
        let _one = self.0.syncing.lock().await;
        let synced = sync::sync_files(self.config(), self.store(), false).await?;
        self.0
            .rendered
            .store(synced.revision, std::sync::atomic::Ordering::Release);
        for (name, outcome) in &synced.changes {
            self.metrics().file_written(name, outcome);
            if *outcome != Outcome::Unchanged {
                self.events().emit(
                    "file.rewritten",
                    serde_json::json!({ "file": name, "path": self.config().path(name).display().to_string() }),
                );
            }
        }
        {
            // `repaired` says what this boot found; a later render (a rotation, a change
            // another instance committed) rewrites the files on purpose and repairs nothing.
            let mut files = self.0.files.lock().expect("files lock");
            let mut fresh = synced.files;
            fresh.livekit_yaml.repaired = files.livekit_yaml.repaired;
            fresh.backend_env.repaired = files.backend_env.repaired;
            *files = fresh;
        }
        *self.0.canaries.lock().expect("canary lock") = synced.canaries;
        self.record_instance().await?;
        Ok(())
    }

    /// A generated secret (bearers, canary), minted on first use.
    pub async fn secret(&self, name: &str) -> Result<Secret> {
        Ok(self.store().ensure_secret(name, now_unix()).await?)
    }
}
