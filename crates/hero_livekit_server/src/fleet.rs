//! The SFU fleet: which livekit-server nodes exist and what state each is in.
//!
//! With `[redis]`, the nodes are read from LiveKit's `nodes` hash — node id → protobuf
//! `livekit.Node`, refreshed by each node about every 2 s (scale facts §1.2–§1.3) — and
//! classified the way LiveKit's node selector sees them: a node is available only if its stats
//! were updated under 5 s ago, and gets new rooms only when also SERVING. A crashed node's entry
//! is never removed by a TTL, so a reader must filter on `updated_at`. The control plane only
//! reads (`HGETALL nodes`): LiveKit owns these keys and rewrites them every two seconds.
//! Without Redis the fleet is the one configured `livekit_url`.

use std::sync::Mutex;
use std::time::Duration;

use hero_livekit_api::timefmt::rfc3339;
use hero_livekit_api::types::NodeClass;
use livekit_protocol::{Node, NodeState};
use prost::Message;
use redis::AsyncCommands;

use crate::config::{Config, Redis};

/// LiveKit's `selector.AvailableSeconds`: a node whose stats are this old is not available.
pub const AVAILABLE_SECONDS: i64 = 5;
/// The hash LiveKit registers nodes in.
const NODES_KEY: &str = "nodes";

/// One node as read (before probing).
#[derive(Debug, Clone, PartialEq)]
pub struct SeenNode {
    pub id: String,
    pub ip: String,
    pub region: String,
    pub state: String,
    pub class: NodeClass,
    pub fresh: bool,
    pub updated_at: Option<i64>,
    pub started_at: Option<i64>,
    pub num_rooms: i64,
    pub num_clients: i64,
    pub num_tracks_in: i64,
    pub num_tracks_out: i64,
    pub cpu_load: f64,
    pub num_cpus: u32,
    /// Where its API answers: `http://<ip>:<sfu_port>`, or `livekit_url` without Redis.
    pub url: String,
    pub problems: Vec<String>,
}

impl SeenNode {
    /// Whether the control plane probes it: it may hold participants (live, starting,
    /// draining or suspended, but fresh).
    pub fn probed(&self) -> bool {
        self.fresh && !self.url.is_empty()
    }
}

/// The fleet as read now, or as last read when Redis is down.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub source: &'static str,
    /// `None` without Redis.
    pub redis_reachable: Option<bool>,
    pub redis_error: Option<String>,
    /// When `nodes` was read (unix seconds).
    pub as_of: Option<i64>,
    pub nodes: Vec<SeenNode>,
}

fn state_name(state: i32) -> String {
    match NodeState::try_from(state) {
        Ok(s) => s.as_str_name().to_ascii_lowercase(),
        Err(_) => format!("unknown ({state})"),
    }
}

/// `http://ip:port`, bracketing IPv6.
fn node_url(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("http://[{ip}]:{port}")
    } else {
        format!("http://{ip}:{port}")
    }
}

/// Decodes and classifies one `nodes` entry. A value that is not a `livekit.Node` becomes a
/// node with a problem, never a failure of the whole list.
pub fn classify(field: &str, value: &[u8], now: i64, sfu_port: u16) -> SeenNode {
    let mut seen = SeenNode {
        id: field.to_string(),
        ip: String::new(),
        region: String::new(),
        state: "unknown".into(),
        class: NodeClass::Stale,
        fresh: false,
        updated_at: None,
        started_at: None,
        num_rooms: 0,
        num_clients: 0,
        num_tracks_in: 0,
        num_tracks_out: 0,
        cpu_load: 0.0,
        num_cpus: 0,
        url: String::new(),
        problems: Vec::new(),
    };
    let node = match Node::decode(value) {
        Ok(n) => n,
        Err(e) => {
            seen.problems.push(format!(
                "the entry is not a livekit.Node ({} bytes: {e}); LiveKit cannot route to it either",
                value.len()
            ));
            return seen;
        }
    };
    if node.id != field {
        seen.problems.push(format!(
            "the entry's id {:?} differs from its field {field:?}",
            node.id
        ));
    }
    seen.ip = node.ip.clone();
    seen.region = node.region.clone();
    seen.state = state_name(node.state);
    seen.num_cpus = node.num_cpus;
    if node.ip.is_empty() {
        seen.problems
            .push("the node registered no IP (rtc.node_ip)".into());
    } else {
        seen.url = node_url(&node.ip, sfu_port);
    }
    match &node.stats {
        None => seen.problems.push("the node registered no stats".into()),
        Some(st) => {
            seen.updated_at = Some(st.updated_at);
            seen.started_at = Some(st.started_at).filter(|t| *t > 0);
            seen.num_rooms = i64::from(st.num_rooms);
            seen.num_clients = i64::from(st.num_clients);
            seen.num_tracks_in = i64::from(st.num_tracks_in);
            seen.num_tracks_out = i64::from(st.num_tracks_out);
            seen.cpu_load = f64::from(st.cpu_load);
            if st.num_cpus > 0 {
                seen.num_cpus = st.num_cpus;
            }
            seen.fresh = now - st.updated_at < AVAILABLE_SECONDS;
        }
    }
    seen.class = if !seen.fresh {
        if let Some(t) = seen.updated_at {
            seen.problems.push(format!(
                "stale: no update for {} s (LiveKit routes nothing to it; a crashed node's entry \
                 stays until another node starts)",
                now - t
            ));
        }
        NodeClass::Stale
    } else {
        match NodeState::try_from(node.state) {
            Ok(NodeState::Serving) => NodeClass::Live,
            Ok(NodeState::StartingUp) => NodeClass::Starting,
            Ok(NodeState::ShuttingDown) => NodeClass::Draining,
            Ok(NodeState::Suspended) => NodeClass::Suspended,
            Err(_) => {
                seen.problems
                    .push(format!("unknown node state {}", node.state));
                NodeClass::Suspended
            }
        }
    };
    seen
}

/// Reads LiveKit's `nodes` hash. One connection, reopened after any failure, every call bounded
/// by the SFU timeout so a slow Redis never stalls `status`.
pub struct RedisReader {
    redis: Redis,
    timeout: Duration,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

fn settings(
    r: &Redis,
    db: bool,
    user: Option<&str>,
    pass: Option<&str>,
) -> redis::RedisConnectionInfo {
    let mut s = redis::RedisConnectionInfo::default();
    if db {
        s = s.set_db(i64::from(r.db));
    }
    if let Some(u) = user {
        s = s.set_username(u);
    }
    if let Some(p) = pass {
        s = s.set_password(p);
    }
    s
}

fn addr(host_port: &str, tls: bool) -> Result<redis::ConnectionAddr, String> {
    let (host, port) = host_port
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("{host_port:?} is not host:port"))?;
    Ok(if tls {
        redis::ConnectionAddr::TcpTls {
            host: host.to_string(),
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        redis::ConnectionAddr::Tcp(host.to_string(), port)
    })
}

impl RedisReader {
    pub fn new(redis: Redis, timeout: Duration) -> RedisReader {
        RedisReader {
            redis,
            timeout,
            conn: tokio::sync::Mutex::new(None),
        }
    }

    pub fn describe(&self) -> String {
        self.redis.describe()
    }

    async fn connect(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        use redis::IntoConnectionInfo;
        let r = &self.redis;
        let node_settings = settings(
            r,
            true,
            r.username.as_deref(),
            r.password.as_ref().map(|s| s.expose()),
        );
        let client = if r.is_sentinel() {
            use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
            let mut sentinels = Vec::new();
            for a in &r.sentinel_addresses {
                let info = addr(a, r.use_tls)?
                    .into_connection_info()
                    .map_err(|e| e.to_string())?
                    .set_redis_settings(settings(
                        r,
                        false,
                        r.sentinel_username.as_deref(),
                        r.sentinel_password.as_ref().map(|s| s.expose()),
                    ));
                sentinels.push(info);
            }
            let mut node =
                SentinelNodeConnectionInfo::default().set_redis_connection_info(node_settings);
            if r.use_tls {
                node = node.set_tls_mode(redis::TlsMode::Secure);
            }
            let master = r.sentinel_master_name.clone().unwrap_or_default();
            let mut sc =
                SentinelClient::build(sentinels, master, Some(node), SentinelServerType::Master)
                    .map_err(|e| e.to_string())?;
            sc.async_get_client().await.map_err(|e| e.to_string())?
        } else {
            let info = addr(r.address.as_deref().unwrap_or_default(), r.use_tls)?
                .into_connection_info()
                .map_err(|e| e.to_string())?
                .set_redis_settings(node_settings);
            redis::Client::open(info).map_err(|e| e.to_string())?
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| e.to_string())
    }

    /// `HGETALL nodes`, as (field, raw value) pairs.
    pub async fn read(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let work = async {
            let mut slot = self.conn.lock().await;
            if slot.is_none() {
                *slot = Some(self.connect().await?);
            }
            let conn = slot.as_mut().expect("connected above");
            let result: redis::RedisResult<Vec<(String, Vec<u8>)>> = conn.hgetall(NODES_KEY).await;
            match result {
                Ok(v) => Ok(v),
                Err(e) => {
                    // Reconnect on the next read (Redis restarted, failover, …).
                    *slot = None;
                    Err(e.to_string())
                }
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r.map_err(|e| format!("Redis at {}: {e}", self.describe())),
            Err(_) => {
                *self.conn.lock().await = None;
                Err(format!(
                    "Redis at {} did not answer within {:?}",
                    self.describe(),
                    self.timeout
                ))
            }
        }
    }
}

/// Where the fleet comes from, and the last list read.
pub struct Fleet {
    redis: Option<RedisReader>,
    sfu_port: u16,
    livekit_url: String,
    last: Mutex<Option<Snapshot>>,
}

impl Fleet {
    pub fn new(config: &Config) -> Fleet {
        Fleet {
            redis: config
                .redis
                .clone()
                .map(|r| RedisReader::new(r, config.livekit_timeout)),
            sfu_port: config.sfu_port,
            livekit_url: config.livekit_url.clone(),
            last: Mutex::new(None),
        }
    }

    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Reads the fleet now. With Redis down, the last list read is returned, marked as such.
    pub async fn read(&self, now: i64) -> Snapshot {
        let Some(reader) = &self.redis else {
            return Snapshot {
                source: "config",
                redis_reachable: None,
                redis_error: None,
                as_of: Some(now),
                nodes: vec![self.configured_node()],
            };
        };
        match reader.read().await {
            Ok(entries) => {
                let mut nodes: Vec<SeenNode> = entries
                    .iter()
                    .map(|(field, value)| classify(field, value, now, self.sfu_port))
                    .collect();
                nodes.sort_by(|a, b| a.id.cmp(&b.id));
                let snap = Snapshot {
                    source: "redis",
                    redis_reachable: Some(true),
                    redis_error: None,
                    as_of: Some(now),
                    nodes,
                };
                *self.last.lock().expect("fleet lock") = Some(snap.clone());
                snap
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the fleet from Redis");
                let last = self.last.lock().expect("fleet lock").clone();
                Snapshot {
                    source: "redis",
                    redis_reachable: Some(false),
                    redis_error: Some(error),
                    as_of: last.as_ref().and_then(|s| s.as_of),
                    nodes: last.map(|s| s.nodes).unwrap_or_default(),
                }
            }
        }
    }

    /// Without Redis: the one SFU at `livekit_url`, always probed.
    fn configured_node(&self) -> SeenNode {
        let host = url::Url::parse(&self.livekit_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        SeenNode {
            id: "config".into(),
            ip: host,
            region: String::new(),
            state: "serving".into(),
            class: NodeClass::Live,
            fresh: true,
            updated_at: None,
            started_at: None,
            num_rooms: 0,
            num_clients: 0,
            num_tracks_in: 0,
            num_tracks_out: 0,
            cpu_load: 0.0,
            num_cpus: 0,
            url: self.livekit_url.clone(),
            problems: Vec::new(),
        }
    }
}

/// Unix seconds as RFC 3339, for the API.
pub fn at(t: Option<i64>) -> Option<String> {
    t.filter(|t| *t > 0).map(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_protocol::NodeStats;

    fn entry(id: &str, state: NodeState, updated_at: i64) -> Vec<u8> {
        Node {
            id: id.into(),
            ip: "10.0.0.7".into(),
            num_cpus: 4,
            stats: Some(NodeStats {
                started_at: 900,
                updated_at,
                num_rooms: 3,
                num_clients: 12,
                cpu_load: 0.25,
                ..Default::default()
            }),
            r#type: 0,
            state: state as i32,
            region: "eu".into(),
        }
        .encode_to_vec()
    }

    #[test]
    fn nodes_are_classified_like_livekits_selector() {
        let now = 1000;
        let c = |state, updated| classify("ND_a", &entry("ND_a", state, updated), now, 7880);
        assert_eq!(c(NodeState::Serving, 996).class, NodeClass::Live);
        // 5 s old is already unavailable (LiveKit: now - updated_at < 5).
        assert_eq!(c(NodeState::Serving, 995).class, NodeClass::Stale);
        assert_eq!(c(NodeState::StartingUp, 999).class, NodeClass::Starting);
        assert_eq!(c(NodeState::ShuttingDown, 999).class, NodeClass::Draining);
        assert_eq!(c(NodeState::Suspended, 999).class, NodeClass::Suspended);
        let stale = c(NodeState::ShuttingDown, 900);
        assert_eq!(stale.class, NodeClass::Stale);
        assert!(
            stale.problems[0].contains("no update for 100 s"),
            "{:?}",
            stale.problems
        );
        let live = c(NodeState::Serving, 999);
        assert_eq!(
            (
                live.url.as_str(),
                live.num_clients,
                live.num_cpus,
                live.region.as_str(),
                live.state.as_str()
            ),
            ("http://10.0.0.7:7880", 12, 4, "eu", "serving")
        );
    }

    #[test]
    fn a_malformed_entry_is_a_problem_of_that_entry() {
        let n = classify("ND_bad", b"\xff\xff\xff not protobuf", 1000, 7880);
        assert_eq!(n.class, NodeClass::Stale);
        assert!(!n.probed());
        assert!(
            n.problems[0].contains("not a livekit.Node"),
            "{:?}",
            n.problems
        );
    }

    #[test]
    fn ipv6_nodes_are_reached_in_brackets() {
        let mut bytes = Node::decode(entry("ND_6", NodeState::Serving, 999).as_slice()).unwrap();
        bytes.ip = "fd00::7".into();
        let n = classify("ND_6", &bytes.encode_to_vec(), 1000, 7881);
        assert_eq!(n.url, "http://[fd00::7]:7881");
    }
}
