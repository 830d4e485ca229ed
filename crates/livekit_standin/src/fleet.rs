//! The node's entry in Redis's `nodes` hash, written the way livekit-server's RedisRouter does
//! (scale facts §1.2–§1.5; LK `pkg/routing/{node,redisrouter}.go`): a protobuf `livekit.Node`
//! under its `ND_` id, registered SERVING at start (LiveKit's `NewLocalNode` never writes
//! STARTING_UP), rewritten every `node_stats.stats_update_interval`, set SHUTTING_DOWN on drain,
//! HDEL'd on a clean stop and left behind when the process dies. Nothing else in Redis is
//! written.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use livekit_protocol as proto;
use prost::Message;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::task::JoinHandle;

use crate::Shared;
use crate::config::RedisConfig;
use crate::error::{Error, Result};

/// LiveKit's `routing.NodesKey`.
pub const NODES_KEY: &str = "nodes";

/// Connects the way `GetRedisClient` does: a PING, and LiveKit's error when it fails.
pub async fn connect(conf: &RedisConfig) -> Result<ConnectionManager> {
    let fail =
        |e: &dyn std::fmt::Display| Error::Config(format!("unable to connect to redis: {e}"));
    let (host, port) = conf
        .address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(|| fail(&format!("invalid address {:?}", conf.address)))?;
    let mut settings = redis::RedisConnectionInfo::default().set_db(conf.db);
    if !conf.username.is_empty() {
        settings = settings.set_username(&conf.username);
    }
    if !conf.password.is_empty() {
        settings = settings.set_password(&conf.password);
    }
    let info = redis::IntoConnectionInfo::into_connection_info(redis::ConnectionAddr::Tcp(
        host.to_string(),
        port,
    ))
    .map_err(|e| fail(&e))?
    .set_redis_settings(settings);
    let client = redis::Client::open(info).map_err(|e| fail(&e))?;
    // go-redis dials for 5 s by default; the first failure is final, like LiveKit's start.
    let timeout = Duration::from_millis(if conf.dial_timeout > 0 {
        conf.dial_timeout
    } else {
        5000
    });
    let cfg = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(Duration::from_secs(3)))
        .set_number_of_retries(1);
    let mut conn = tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, cfg))
        .await
        .map_err(|_| fail(&"dial timeout"))?
        .map_err(|e| fail(&e))?;
    let _: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| fail(&e))?;
    Ok(conn)
}

/// This node's registration: the message as last written, and the refresh task.
pub struct Registration {
    conn: ConnectionManager,
    node: Arc<Mutex<proto::Node>>,
    refresher: JoinHandle<()>,
}

impl Registration {
    /// Builds the node as `NewLocalNode` does and registers it (HSET), then keeps it fresh.
    pub async fn start(
        conn: ConnectionManager,
        shared: Arc<Shared>,
        interval: Duration,
    ) -> Result<Registration> {
        let now = crate::state::unix_now().0;
        let cpus = num_cpus();
        let node = proto::Node {
            id: crate::state::new_id("ND_"),
            ip: shared.config.node_ip.clone().unwrap_or_default(),
            num_cpus: cpus,
            stats: Some(proto::NodeStats {
                started_at: now,
                updated_at: now,
                ..Default::default()
            }),
            state: proto::NodeState::Serving as i32,
            region: shared.config.region.clone(),
            ..Default::default()
        };
        let mut c = conn.clone();
        write(&mut c, &node)
            .await
            .map_err(|e| Error::Config(format!("could not register node: {e}")))?;
        let node = Arc::new(Mutex::new(node));
        let refresher = tokio::spawn(refresh(conn.clone(), node.clone(), shared, interval));
        Ok(Registration {
            conn,
            node,
            refresher,
        })
    }

    pub fn node_id(&self) -> String {
        lock(&self.node).id.clone()
    }

    /// `RedisRouter.Drain`: SHUTTING_DOWN, written at once; later refreshes keep it.
    pub async fn drain(&self) {
        let node = {
            let mut n = lock(&self.node);
            n.state = proto::NodeState::ShuttingDown as i32;
            n.clone()
        };
        if let Err(e) = write(&mut self.conn.clone(), &node).await {
            tracing::error!(error = %e, "failed to mark as draining");
        }
    }

    /// Clean stop: no more refreshes, then `HDEL nodes <id>`.
    pub async fn unregister(self) {
        let Registration {
            mut conn,
            node,
            refresher,
        } = self;
        refresher.abort();
        let _ = refresher.await;
        let id = lock(&node).id.clone();
        if let Err(e) = conn.hdel::<_, _, ()>(NODES_KEY, &id).await {
            tracing::error!(error = %e, "could not unregister node");
        }
    }

    /// What a killed process leaves: refreshes stop, the entry stays.
    pub fn abandon(self) {
        self.refresher.abort();
    }
}

fn lock(node: &Mutex<proto::Node>) -> std::sync::MutexGuard<'_, proto::Node> {
    node.lock().unwrap_or_else(|e| e.into_inner())
}

async fn write(conn: &mut ConnectionManager, node: &proto::Node) -> redis::RedisResult<()> {
    conn.hset(NODES_KEY, &node.id, node.encode_to_vec()).await
}

/// The keepalive worker: new stats, then HSET, every interval. A failed write is logged and
/// retried next round, as LiveKit does.
async fn refresh(
    mut conn: ConnectionManager,
    node: Arc<Mutex<proto::Node>>,
    shared: Arc<Shared>,
    interval: Duration,
) {
    let mut cpu = CpuSampler::new();
    loop {
        tokio::time::sleep(interval).await;
        let snapshot = {
            let counts = shared.state().counts();
            let mut n = lock(&node);
            let started_at = n.stats.as_ref().map_or(0, |s| s.started_at);
            n.stats = Some(stats(started_at, counts, cpu.load()));
            n.clone()
        };
        if let Err(e) = write(&mut conn, &snapshot).await {
            tracing::error!(error = %e, "could not update node");
        }
    }
}

/// Rooms, participants and tracks this node hosts right now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub rooms: u32,
    pub clients: u32,
    pub tracks_in: u32,
    pub tracks_out: u32,
}

fn stats(started_at: i64, c: Counts, cpu_load: f32) -> proto::NodeStats {
    let (l1, l5, l15) = load_avg();
    let (mem_total, mem_used) = memory();
    proto::NodeStats {
        started_at,
        updated_at: crate::state::unix_now().0,
        num_rooms: c.rooms as i32,
        num_clients: c.clients as i32,
        num_tracks_in: c.tracks_in as i32,
        num_tracks_out: c.tracks_out as i32,
        num_cpus: num_cpus(),
        cpu_load,
        load_avg_last1min: l1,
        load_avg_last5min: l5,
        load_avg_last15min: l15,
        memory_total: mem_total,
        memory_used: mem_used,
        ..Default::default()
    }
}

fn num_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

fn load_avg() -> (f32, f32, f32) {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    (
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
    )
}

/// (total, used) bytes from /proc/meminfo, used = total − available.
fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let total = field("MemTotal:");
    (total, total.saturating_sub(field("MemAvailable:")))
}

/// CPU busy fraction between two reads of /proc/stat, as LiveKit's cpu monitor reports it.
struct CpuSampler {
    last: Option<(u64, u64)>,
}

impl CpuSampler {
    fn new() -> Self {
        let mut s = CpuSampler { last: None };
        s.last = Self::read();
        s
    }

    fn read() -> Option<(u64, u64)> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let line = text.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
        Some((v.iter().sum(), idle))
    }

    fn load(&mut self) -> f32 {
        let now = Self::read();
        let load = match (self.last, now) {
            (Some((t0, i0)), Some((t1, i1))) if t1 > t0 => {
                1.0 - (i1.saturating_sub(i0)) as f32 / (t1 - t0) as f32
            }
            _ => 0.0,
        };
        self.last = now;
        load.clamp(0.0, 1.0)
    }
}
