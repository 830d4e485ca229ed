//! The control plane's Prometheus metrics (design §3.2, `metrics_listen`), encoded with
//! `prometheus-client` like lk-backend's.
//!
//! Counters move where things happen (every RPC call through the registry, every file write,
//! every failed audit write); the fleet gauges are set by each observation of the SFU
//! (`lifecycle::observe`, every few seconds), so a scrape never calls the SFU or Redis; keys by
//! state and the events subscribers are read when scraped. Every label value comes from a
//! bounded set — method names we register, error kinds, key states, node classes, file names and
//! reason kinds — or is a node id LiveKit gave itself. No label ever holds a secret, a token, a
//! URL or a free-text reason.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use hero_livekit_api::types::{KeyState, NodeClass};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::{Error, Result};
use crate::files::Outcome;
use crate::fleet::Snapshot;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FileLabels {
    file: String,
    reason: &'static str,
}

type HistogramFamily = Family<MethodLabels, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

const KEY_STATES: [KeyState; 5] = [
    KeyState::Pending,
    KeyState::Active,
    KeyState::Retiring,
    KeyState::Retired,
    KeyState::Revoked,
];

const NODE_CLASSES: [NodeClass; 5] = [
    NodeClass::Live,
    NodeClass::Starting,
    NodeClass::Draining,
    NodeClass::Suspended,
    NodeClass::Stale,
];

fn latency_histogram() -> Histogram {
    // 100 µs .. ~6.5 s: local calls take well under a millisecond, SFU calls up to the timeout.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 17))
}

pub struct Metrics {
    registry: Registry,
    rpc_calls: Family<CallLabels, Counter>,
    rpc_duration: HistogramFamily,
    keys: Family<StateLabels, Gauge>,
    sfu_reachable: Gauge,
    redis_reachable: Gauge,
    nodes: Family<ClassLabels, Gauge>,
    node_rooms: Family<NodeLabels, Gauge>,
    node_clients: Family<NodeLabels, Gauge>,
    node_cpu_load: Family<NodeLabels, FloatGauge>,
    node_restart_required: Family<NodeLabels, Gauge>,
    restart_required: Gauge,
    file_writes: Family<FileLabels, Counter>,
    audit_write_failures: Counter,
    events_subscribers: Gauge,
    /// The node ids the per-node gauges hold, so a node that left is removed from them.
    nodes_shown: Mutex<HashSet<String>>,
}

impl Metrics {
    /// `redis`: whether the fleet is read from Redis (only then is its reachability exported).
    pub fn new(redis: bool) -> Metrics {
        let mut registry = Registry::with_prefix("hero_livekit");
        let m = Metrics {
            rpc_calls: Family::default(),
            rpc_duration: Family::new_with_constructor(latency_histogram),
            keys: Family::default(),
            sfu_reachable: Gauge::default(),
            redis_reachable: Gauge::default(),
            nodes: Family::default(),
            node_rooms: Family::default(),
            node_clients: Family::default(),
            node_cpu_load: Family::default(),
            node_restart_required: Family::default(),
            restart_required: Gauge::default(),
            file_writes: Family::default(),
            audit_write_failures: Counter::default(),
            events_subscribers: Gauge::default(),
            nodes_shown: Mutex::new(HashSet::new()),
            registry: Registry::default(),
        };
        registry.register(
            "rpc_calls",
            "JSON-RPC calls by method and outcome (ok, or the error kind)",
            m.rpc_calls.clone(),
        );
        registry.register(
            "rpc_duration_seconds",
            "JSON-RPC call latency by method",
            m.rpc_duration.clone(),
        );
        registry.register("keys", "API keys by state", m.keys.clone());
        registry.register(
            "sfu_reachable",
            "Whether the SFU (livekit_url) answered at the last observation (1) or not (0)",
            m.sfu_reachable.clone(),
        );
        if redis {
            registry.register(
                "redis_reachable",
                "Whether LiveKit's Redis answered at the last read of the fleet (1) or not (0)",
                m.redis_reachable.clone(),
            );
        }
        registry.register(
            "nodes",
            "SFU nodes by class (live, starting, draining, suspended, stale)",
            m.nodes.clone(),
        );
        registry.register(
            "node_rooms",
            "Rooms on each node, as the node last registered in Redis",
            m.node_rooms.clone(),
        );
        registry.register(
            "node_clients",
            "Participants on each node, as the node last registered in Redis",
            m.node_clients.clone(),
        );
        registry.register(
            "node_cpu_load",
            "CPU load of each node (0..1), as the node last registered in Redis",
            m.node_cpu_load.clone(),
        );
        registry.register(
            "node_restart_required",
            "Whether each node must restart to load the files on disk (1) or not (0)",
            m.node_restart_required.clone(),
        );
        registry.register(
            "restart_required",
            "Whether any node or service must restart to load the files on disk",
            m.restart_required.clone(),
        );
        registry.register(
            "file_writes",
            "Files the control plane wrote, by file and reason (created, missing, content, \
             truncated, mode, group, not_a_file, renewed)",
            m.file_writes.clone(),
        );
        registry.register(
            "audit_write_failures",
            "Mutating calls whose audit row could not be written",
            m.audit_write_failures.clone(),
        );
        registry.register(
            "events_subscribers",
            "Open events.subscribe subscriptions",
            m.events_subscribers.clone(),
        );
        Metrics { registry, ..m }
    }

    /// One finished RPC call.
    pub fn rpc_call(&self, method: &'static str, outcome: &'static str, elapsed: Duration) {
        self.rpc_calls
            .get_or_create(&CallLabels { method, outcome })
            .inc();
        self.rpc_duration
            .get_or_create(&MethodLabels { method })
            .observe(elapsed.as_secs_f64());
    }

    pub fn audit_write_failed(&self) {
        self.audit_write_failures.inc();
    }

    /// A file write (nothing for a file left as it was).
    pub fn file_written(&self, file: &str, outcome: &Outcome) {
        if let Some(reason) = reason_kind(outcome) {
            self.file_writes
                .get_or_create(&FileLabels {
                    file: file.to_string(),
                    reason,
                })
                .inc();
        }
    }

    /// What an observation saw: the SFU, the fleet, and which nodes must restart.
    pub fn observed(
        &self,
        sfu_reachable: bool,
        snap: &Snapshot,
        node_restart: &[(String, bool)],
        restart_required: bool,
    ) {
        self.sfu_reachable.set(i64::from(sfu_reachable));
        self.redis_reachable
            .set(i64::from(snap.redis_reachable.unwrap_or(false)));
        for class in NODE_CLASSES {
            let n = snap.nodes.iter().filter(|n| n.class == class).count();
            self.nodes
                .get_or_create(&ClassLabels {
                    class: class.as_str(),
                })
                .set(n as i64);
        }
        let mut shown = self.nodes_shown.lock().expect("metrics lock");
        let mut now = HashSet::new();
        // Without Redis the one configured node has no registered stats: only its restart
        // state is known.
        if snap.source == "redis" {
            for n in &snap.nodes {
                let l = NodeLabels { node: n.id.clone() };
                self.node_rooms.get_or_create(&l).set(n.num_rooms);
                self.node_clients.get_or_create(&l).set(n.num_clients);
                self.node_cpu_load.get_or_create(&l).set(n.cpu_load);
                now.insert(n.id.clone());
            }
        }
        for (id, required) in node_restart {
            let l = NodeLabels { node: id.clone() };
            self.node_restart_required
                .get_or_create(&l)
                .set(i64::from(*required));
            now.insert(id.clone());
        }
        let restart: HashSet<&str> = node_restart.iter().map(|(id, _)| id.as_str()).collect();
        let stats: HashSet<&str> = if snap.source == "redis" {
            snap.nodes.iter().map(|n| n.id.as_str()).collect()
        } else {
            HashSet::new()
        };
        for gone in shown.iter() {
            let l = NodeLabels { node: gone.clone() };
            if !stats.contains(gone.as_str()) {
                self.node_rooms.remove(&l);
                self.node_clients.remove(&l);
                self.node_cpu_load.remove(&l);
            }
            if !restart.contains(gone.as_str()) {
                self.node_restart_required.remove(&l);
            }
        }
        *shown = now;
        self.restart_required.set(i64::from(restart_required));
    }

    /// The text exposition, with the values read at scrape time refreshed first.
    pub async fn render(&self, state: &AppState) -> String {
        match state.store().keys().await {
            Ok(rows) => {
                for s in KEY_STATES {
                    let n = rows.iter().filter(|k| k.state == s).count();
                    self.keys
                        .get_or_create(&StateLabels { state: s.as_str() })
                        .set(n as i64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read the keys"),
        }
        self.events_subscribers
            .set(state.events().subscribers() as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The outcome label of a call: `ok`, or the kind of error (never its message).
pub fn outcome<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

/// The reason label of a write, from a bounded set (the reason text itself may name modes and
/// groups).
fn reason_kind(outcome: &Outcome) -> Option<&'static str> {
    Some(match outcome {
        Outcome::Unchanged => return None,
        Outcome::Created => "created",
        Outcome::Rewritten(r) if r == "missing" => "missing",
        Outcome::Rewritten(r) if r == "truncated" => "truncated",
        Outcome::Rewritten(r) if r.starts_with("content differs") => "content",
        Outcome::Rewritten(r) if r.starts_with("mode ") => "mode",
        Outcome::Rewritten(r) if r.starts_with("group ") => "group",
        Outcome::Rewritten(r) if r == "not a regular file" => "not_a_file",
        Outcome::Rewritten(r) if r.starts_with("renewed") => "renewed",
        Outcome::Rewritten(_) => "other",
    })
}

/// Binds the listener (at boot, so a taken port fails the start with its address).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config {
            setting: "metrics_listen".into(),
            reason: format!("cannot listen on {addr}: {e}"),
        })
}

/// Serves `GET /metrics` (and nothing else) until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(
                |axum::extract::State(state): axum::extract::State<AppState>| async move {
                    let body = state.metrics().render(&state).await;
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        body,
                    )
                },
            ),
        )
        .with_state(state);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_reasons_are_a_bounded_set() {
        let kind = |r: &str| reason_kind(&Outcome::Rewritten(r.into())).unwrap();
        assert_eq!(kind("content differs from the render (edited)"), "content");
        assert_eq!(kind("mode 0644, expected 0600"), "mode");
        assert_eq!(kind("group 12, expected 998"), "group");
        assert_eq!(kind("renewed by Caddy"), "renewed");
        assert_eq!(kind("missing"), "missing");
        assert_eq!(reason_kind(&Outcome::Created), Some("created"));
        assert_eq!(reason_kind(&Outcome::Unchanged), None);
    }
}
