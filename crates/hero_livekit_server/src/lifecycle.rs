//! Key lifecycle and restart detection (design §8).
//!
//! One observation is: probe what the SFU accepts → [`decide`] which transitions are due (a pure
//! function of the rows and what was seen) → apply each through the store (conditional updates,
//! so a transition already made by someone else is a no-op) → re-render the files → emit events.
//! `status`, a timer and the key methods all go through here, one at a time.

use std::collections::HashMap;
use std::time::Duration;

use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::{
    EgressServiceStatus, FleetSummary, KeyAcceptance, KeyChange, KeyState, NodeClass, SfuStatus,
};
use livekit_protocol as proto;
use serde_json::json;

use crate::error::{Error, Result};
use crate::fleet::{SeenNode, Snapshot};
use crate::keys::{self, KeyRow};
use crate::livekit::Acceptance;
use crate::state::{AppState, Seen};
use crate::store::Revoked;
use crate::sync::CANARY_SECRET;

/// How often the timer observes the SFU (applies `retire_at`, notices restarts).
pub const OBSERVE_EVERY: Duration = Duration::from_secs(5);

pub struct Observation {
    pub sfu: SfuStatus,
    pub keys: Vec<KeyAcceptance>,
    pub fleet: FleetSummary,
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
    /// Null while `[egress]` is disabled.
    pub egress: Option<EgressServiceStatus>,
}

/// When an egress began: `started_at` once active, else when LiveKit last touched it (a
/// STARTING egress has no `started_at`), in Unix seconds.
fn egress_began(e: &proto::EgressInfo) -> i64 {
    let ns = if e.started_at > 0 {
        e.started_at
    } else {
        e.updated_at
    };
    ns.div_euclid(1_000_000_000)
}

/// Something live that signs with the key its service read at start (side-services facts §6):
/// a recording, an ingress stream or a phone call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// For the log: "recording EG_…", "ingress stream IN_…", "phone call in room R".
    pub what: String,
    /// When it began, in Unix seconds.
    pub began_s: i64,
}

/// The running egresses (starting, active or ending) as live sessions.
pub fn egress_sessions(running: &[proto::EgressInfo]) -> Vec<LiveSession> {
    running
        .iter()
        .filter(|e| e.status <= proto::EgressStatus::EgressEnding as i32)
        .map(|e| LiveSession {
            what: format!("recording {}", e.egress_id),
            began_s: egress_began(e),
        })
        .collect()
}

fn due_keys(rows: &[KeyRow], now: i64) -> Vec<String> {
    rows.iter()
        .filter(|k| k.state == KeyState::Retiring && k.retire_at.is_some_and(|t| t <= now))
        .map(|k| k.api_key.clone())
        .collect()
}

/// Retiring keys whose grace is over but which must stay in livekit.yaml: egress, ingress and
/// SIP sign each recording's, stream's and call's 24 h join token with the key they read at
/// start (side-services facts §6), so while something that began before the active key's
/// activation is still live, the key it signs with may not leave the SFU. When what is live
/// cannot be listed, every due key is held: a live recording, stream or call is never broken on
/// a guess. `None`: nothing that could hold a key is deployed.
pub fn held_keys(
    rows: &[KeyRow],
    live: Option<&std::result::Result<Vec<LiveSession>, String>>,
    now: i64,
) -> Vec<String> {
    let due = due_keys(rows, now);
    let Some(live) = live else {
        return Vec::new();
    };
    if due.is_empty() {
        return due;
    }
    let Ok(live) = live else {
        return due;
    };
    let switched = keys::signer(rows)
        .ok()
        .and_then(|k| k.activated_at)
        .unwrap_or(i64::MAX);
    if live.iter().any(|s| s.began_s < switched) {
        due
    } else {
        Vec::new()
    }
}

/// Ingress streams being published and SIP calls in progress, read only when a key is due to
/// leave (listing every room's participants is not free). Ingress and SIP run only on Redis
/// (side-services facts §4.2), so without `[redis]` there is nothing to list.
async fn side_sessions(state: &AppState) -> Option<std::result::Result<Vec<LiveSession>, String>> {
    state.config().redis.as_ref()?;
    match list_side_sessions(state).await {
        Ok(live) => Some(Ok(live)),
        // An SFU that cannot be reached carries no stream or call to protect, and holding for
        // it would keep the key for as long as it stays down.
        Err(Error::LiveKitUnreachable { .. }) => Some(Ok(Vec::new())),
        Err(e) => Some(Err(e.to_string())),
    }
}

async fn list_side_sessions(state: &AppState) -> Result<Vec<LiveSession>> {
    use crate::livekit::Grant;
    let mut live = Vec::new();
    let ingresses =
        crate::side_client::ingresses(state, proto::ListIngressRequest::default()).await?;
    for i in ingresses {
        let st = i.state.unwrap_or_default();
        let status = hero_livekit_api::types::IngressStatus::from_proto(st.status);
        if status.is_live() {
            let ns = if st.started_at > 0 {
                st.started_at
            } else {
                st.updated_at
            };
            live.push(LiveSession {
                what: format!("ingress stream {}", i.ingress_id),
                began_s: ns.div_euclid(1_000_000_000),
            });
        }
    }
    let rows = state.store().keys().await?;
    let key = keys::signer(&rows)?;
    let sign = (key.api_key.as_str(), key.secret.expose());
    let rooms: proto::ListRoomsResponse = state
        .livekit()
        .call(
            sign,
            "ListRooms",
            Grant::RoomList,
            proto::ListRoomsRequest::default(),
        )
        .await?;
    for room in rooms.rooms {
        let req = proto::ListParticipantsRequest {
            room: room.name.clone(),
        };
        let ps: proto::ListParticipantsResponse = match state
            .livekit()
            .call(
                sign,
                "ListParticipants",
                Grant::RoomAdmin(room.name.clone()),
                req,
            )
            .await
        {
            Ok(ps) => ps,
            // The room closed between the two calls: nothing of it is live.
            Err(Error::TwirpNotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        for p in ps.participants {
            if p.kind == proto::participant_info::Kind::Sip as i32 {
                live.push(LiveSession {
                    what: format!("phone call {} in room {}", p.identity, room.name),
                    began_s: p.joined_at,
                });
            }
        }
    }
    Ok(live)
}

/// `status.egress`: the file, its key, what runs, what is held, and whether egress must be
/// restarted to sign with the active key.
fn egress_status(
    state: &AppState,
    rows: &[KeyRow],
    running: &std::result::Result<Vec<proto::EgressInfo>, String>,
    held: &[String],
) -> EgressServiceStatus {
    let signer = keys::signer(rows).ok();
    let mut reasons = Vec::new();
    let previous: Vec<&KeyRow> = rows
        .iter()
        .filter(|k| matches!(k.state, KeyState::Retiring | KeyState::Retired))
        .collect();
    if let (Some(signer), false) = (signer, previous.is_empty()) {
        let since = signer
            .activated_at
            .map(hero_livekit_api::timefmt::rfc3339)
            .unwrap_or_else(|| "the switch".into());
        reasons.push(format!(
            "egress.yaml names the new key {} since {since}: restart livekit-egress (SIGTERM lets \
             running recordings finish) unless it started after that; until then it signs new \
             recordings with {}",
            signer.api_key,
            previous
                .iter()
                .map(|k| k.api_key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for k in held {
        reasons.push(format!(
            "key {k} stays in livekit.yaml past its grace: a recording, ingress stream or phone \
             call that started before the switch is still running and signs with it"
        ));
    }
    EgressServiceStatus {
        file: state
            .config()
            .path(hero_livekit_api::paths::EGRESS_YAML)
            .display()
            .to_string(),
        api_key: signer.map(|k| k.api_key.clone()).unwrap_or_default(),
        active: running.as_ref().ok().map(|r| {
            r.iter()
                .filter(|e| e.status <= proto::EgressStatus::EgressEnding as i32)
                .count()
        }),
        error: running.as_ref().err().cloned(),
        held_keys: held.to_vec(),
        restart_required: !previous.is_empty(),
        restart_reasons: reasons,
    }
}

/// A transition the observation found due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The pending key is accepted: it becomes active, the active key starts retiring.
    Activate(String),
    /// A retired key is refused: it is gone for good.
    RevokeRetired(String),
}

/// What one node said: about each key, and about the canary (whether it runs exactly the
/// livekit.yaml on disk).
#[derive(Debug, Clone, Default)]
pub struct NodeProbe {
    pub keys: HashMap<String, Acceptance>,
    pub canary: Option<Acceptance>,
}

/// What the fleet said about one key, over the nodes that gate transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every gating node accepts it (and there is at least one).
    AllAccept,
    /// Every gating node refuses it (and there is at least one).
    NoneAccept,
    /// Some do, some do not, or some could not be asked.
    Mixed,
}

fn as_bool(a: Option<Acceptance>) -> Option<bool> {
    match a {
        Some(Acceptance::Accepted) => Some(true),
        Some(Acceptance::NotLoaded) => Some(false),
        _ => None,
    }
}

/// Whether a node's acceptance gates key transitions: every fresh node that can hold
/// participants — live and starting nodes, and draining or suspended nodes that still have
/// clients (new participants still join rooms they host). Stale nodes never block: LiveKit
/// routes nothing to them.
pub fn gates(node: &SeenNode) -> bool {
    node.probed()
        && match node.class {
            NodeClass::Live | NodeClass::Starting => true,
            NodeClass::Draining | NodeClass::Suspended => node.num_clients > 0,
            NodeClass::Stale => false,
        }
}

/// Per key, what the gating nodes said.
pub fn verdicts(rows: &[KeyRow], probes: &[(&SeenNode, &NodeProbe)]) -> HashMap<String, Verdict> {
    let gating: Vec<&NodeProbe> = probes
        .iter()
        .filter(|(n, _)| gates(n))
        .map(|(_, p)| *p)
        .collect();
    rows.iter()
        .map(|k| {
            let answers: Vec<Option<Acceptance>> = gating
                .iter()
                .map(|p| p.keys.get(&k.api_key).copied())
                .collect();
            let v = if answers.is_empty() {
                Verdict::Mixed
            } else if answers.iter().all(|a| *a == Some(Acceptance::Accepted)) {
                Verdict::AllAccept
            } else if answers.iter().all(|a| *a == Some(Acceptance::NotLoaded)) {
                Verdict::NoneAccept
            } else {
                Verdict::Mixed
            };
            (k.api_key.clone(), v)
        })
        .collect()
}

/// Which transitions are due, given the key rows and what the fleet said about each key. A
/// pending key activates only when every gating node accepts it; a retired key is revoked only
/// when every gating node refuses it. Keys the fleet could not be asked about never move.
pub fn decide(rows: &[KeyRow], verdicts: &HashMap<String, Verdict>) -> Vec<Transition> {
    let mut out = Vec::new();
    for k in rows {
        match (k.state, verdicts.get(&k.api_key)) {
            (KeyState::Pending, Some(Verdict::AllAccept)) => {
                out.push(Transition::Activate(k.api_key.clone()))
            }
            (KeyState::Retired, Some(Verdict::NoneAccept)) => {
                out.push(Transition::RevokeRetired(k.api_key.clone()))
            }
            _ => {}
        }
    }
    out
}

/// Why one SFU must restart to run the files on disk (empty: it need not). The wording speaks
/// of "the SFU"; fleet nodes get their id in front.
pub fn restart_reasons(rows: &[KeyRow], probe: &NodeProbe) -> Vec<String> {
    let mut reasons = Vec::new();
    if probe.canary == Some(Acceptance::NotLoaded) {
        reasons.push("livekit.yaml changed since the SFU started".to_string());
    }
    for k in rows {
        match (k.state, probe.keys.get(&k.api_key)) {
            (KeyState::Pending, Some(Acceptance::NotLoaded)) => reasons.push(format!(
                "new key {} is not loaded by the SFU yet",
                k.api_key
            )),
            (KeyState::Active, Some(Acceptance::NotLoaded)) => reasons.push(format!(
                "active key {} is not loaded by the SFU: tokens minted now are refused there",
                k.api_key
            )),
            (KeyState::Retired, Some(Acceptance::Accepted)) => reasons.push(format!(
                "retired key {} is still accepted by the SFU",
                k.api_key
            )),
            _ => {}
        }
    }
    reasons
}

/// Asks one node about every non-revoked key and a canary, all at once.
async fn probe_node(
    state: &AppState,
    url: &str,
    rows: &[KeyRow],
    canary: (&str, &str),
) -> NodeProbe {
    let lk = state.livekit().at(url);
    let asks = rows
        .iter()
        .filter(|k| k.state != KeyState::Revoked)
        .map(|k| {
            let lk = lk.clone();
            async move {
                (
                    k.api_key.clone(),
                    lk.accepts(&k.api_key, k.secret.expose()).await,
                )
            }
        });
    let (keys, canary) = tokio::join!(
        futures_util::future::join_all(asks),
        lk.accepts(canary.0, canary.1)
    );
    NodeProbe {
        keys: keys.into_iter().collect(),
        canary: Some(canary),
    }
}

/// Probes every probed node of the snapshot concurrently. Without Redis the one SFU is probed
/// only when it answers health (as before the fleet existed). This machine's node (and the one
/// configured SFU) is asked about the whole file's canary; every other node about the cluster
/// canary, since each node runs its own node settings.
async fn probe_fleet(
    state: &AppState,
    snap: &Snapshot,
    rows: &[KeyRow],
    sfu_reachable: bool,
) -> Result<HashMap<String, NodeProbe>> {
    let canaries = state.canaries();
    let secret = state.secret(CANARY_SECRET).await?;
    let own_ip = state
        .config()
        .node_ip
        .as_deref()
        .and_then(|ips| ips.split(',').next())
        .map(str::trim);
    let targets: Vec<&SeenNode> = snap
        .nodes
        .iter()
        .filter(|n| n.probed() && (snap.source != "config" || sfu_reachable))
        .collect();
    let probes = futures_util::future::join_all(targets.iter().map(|n| {
        let own = snap.source == "config" || own_ip == Some(n.ip.as_str());
        let canary = if own {
            &canaries.node
        } else {
            &canaries.cluster
        };
        probe_node(state, &n.url, rows, (canary, secret.expose()))
    }))
    .await;
    Ok(targets.iter().map(|n| n.id.clone()).zip(probes).collect())
}

/// Applies one transition; returns whether it changed anything (false when another caller
/// already made it).
async fn apply(state: &AppState, t: &Transition) -> Result<bool> {
    let store = state.store();
    let now = now_unix();
    match t {
        Transition::Activate(key) => {
            let default_grace = state.config().token_max_ttl.as_secs() as i64;
            let Some((retiring, grace)) = store.promote_pending(key, now, default_grace).await?
            else {
                return Ok(false);
            };
            tracing::info!(api_key = %key, "every node accepts the new key: it is now active");
            state.events().emit("key.active", json!({ "api_key": key }));
            for k in retiring {
                state
                    .events()
                    .emit("key.retiring", json!({ "api_key": k, "grace_s": grace }));
            }
            Ok(true)
        }
        Transition::RevokeRetired(key) => {
            if !store.revoke_retired(key, now).await? {
                return Ok(false);
            }
            tracing::info!(api_key = %key, "no node accepts the retired key any more: revoked");
            state
                .events()
                .emit("key.revoked", json!({ "api_key": key }));
            Ok(true)
        }
    }
}

/// Emits `node.*` events for what changed since the last read of the fleet.
fn node_events(state: &AppState, last: &mut Seen, snap: &Snapshot) {
    if snap.source != "redis" || snap.redis_reachable != Some(true) {
        return;
    }
    let now: HashMap<String, (NodeClass, &SeenNode)> = snap
        .nodes
        .iter()
        .map(|n| (n.id.clone(), (n.class, n)))
        .collect();
    let first = last.classes.is_none();
    let before = last.classes.take().unwrap_or_default();
    for (id, (class, n)) in &now {
        let data = json!({ "node": id, "ip": n.ip, "region": n.region, "class": class });
        match before.get(id) {
            None if !first && *class != NodeClass::Stale => {
                state.events().emit("node.joined", data.clone())
            }
            Some(old) if old == class => continue,
            _ if first => continue,
            _ => {}
        }
        match class {
            NodeClass::Stale if before.get(id).is_some_and(|c| *c != NodeClass::Stale) => {
                state.events().emit("node.stale", data)
            }
            NodeClass::Draining => state.events().emit("node.draining", data),
            _ => {}
        }
    }
    for id in before.keys().filter(|id| !now.contains_key(*id)) {
        state.events().emit("node.left", json!({ "node": id }));
    }
    last.classes = Some(now.into_iter().map(|(id, (c, _))| (id, c)).collect());
}

/// Probes the fleet, applies due and observed transitions, and works out which nodes must be
/// restarted to load the files on disk.
pub async fn observe(state: &AppState) -> Result<Observation> {
    let mut last = state.transitions().await;
    let mut changed = false;
    // Timed and observed transitions are singleton work: one instance of a fleet makes them
    // (every one is a conditional update, so even a double run could not corrupt a key).
    let owner = state.owns_lifecycle();
    let running = if state.config().egress.enabled {
        Some(
            crate::egress_client::running(state)
                .await
                .map_err(|e| e.to_string()),
        )
    } else {
        None
    };
    let now = now_unix();
    let rows = state.store().keys().await?;
    // What is live: the running recordings, and — only when a key is due to leave — ingress
    // streams and phone calls.
    let mut live = running
        .as_ref()
        .map(|r| r.as_ref().map(|r| egress_sessions(r)).map_err(Clone::clone));
    if !due_keys(&rows, now).is_empty()
        && let Some(side) = side_sessions(state).await
    {
        live = Some(match (live, side) {
            (None | Some(Ok(_)), Err(e)) | (Some(Err(e)), _) => Err(e),
            (None, Ok(s)) => Ok(s),
            (Some(Ok(mut a)), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
        });
    }
    let held = held_keys(&rows, live.as_ref(), now);
    if held != last.egress_held {
        let holder = match &live {
            Some(Ok(l)) => l
                .iter()
                .map(|s| s.what.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => "what is live could not be listed".to_string(),
        };
        for k in held.iter().filter(|k| !last.egress_held.contains(k)) {
            tracing::info!(api_key = %k, live = %holder, "key retirement held: a recording, stream or call that started before the switch is still live");
            state
                .events()
                .emit("key.retire_held", json!({ "api_key": k }));
        }
        last.egress_held = held.clone();
    }
    if owner && held.is_empty() {
        for k in state.store().retire_due(now).await? {
            tracing::info!(api_key = %k, "key retired: its grace period ended");
            state.events().emit("key.retired", json!({ "api_key": k }));
            changed = true;
        }
    }

    let rows = state.store().keys().await?;
    let (mut sfu, snap) = tokio::join!(crate::sfu::probe(state), state.fleet().read(now_unix()));
    node_events(state, &mut last, &snap);
    let probes = probe_fleet(state, &snap, &rows, sfu.reachable).await?;
    // Transitions only on a fresh view of the fleet: with Redis down, nothing moves.
    if owner && snap.redis_reachable != Some(false) {
        let pairs: Vec<(&SeenNode, &NodeProbe)> = snap
            .nodes
            .iter()
            .filter_map(|n| probes.get(&n.id).map(|p| (n, p)))
            .collect();
        for t in decide(&rows, &verdicts(&rows, &pairs)) {
            changed |= apply(state, &t).await?;
        }
    }
    // A transition rewrote livekit.yaml, so the canary changed: ask again.
    let probes = if changed {
        state.resync().await?;
        let rows = state.store().keys().await?;
        probe_fleet(state, &snap, &rows, sfu.reachable).await?
    } else {
        probes
    };

    let rows = state.store().keys().await?;
    let pairs: Vec<(&SeenNode, &NodeProbe)> = snap
        .nodes
        .iter()
        .filter_map(|n| probes.get(&n.id).map(|p| (n, p)))
        .collect();
    let by_key = verdicts(&rows, &pairs);
    let fleet_mode = snap.source == "redis";

    // Restart reasons: the one SFU's as before; in a fleet, each node's with its id.
    let mut reasons = Vec::new();
    let mut views = HashMap::new();
    let mut needing = Vec::new();
    for (node, probe) in &pairs {
        let node_reasons = restart_reasons(&rows, probe);
        let active = keys::signer(&rows).ok().map(|k| k.api_key.clone());
        views.insert(
            node.id.clone(),
            NodeView {
                runs_current_config: as_bool(probe.canary),
                accepts_active_key: active.and_then(|k| as_bool(probe.keys.get(&k).copied())),
                restart_reasons: node_reasons.clone(),
            },
        );
        if !node_reasons.is_empty() {
            needing.push(node.id.clone());
        }
        if fleet_mode {
            reasons.extend(node_reasons.iter().map(|r| {
                format!(
                    "node {} ({}): {}",
                    node.id,
                    node.ip,
                    r.replace("the SFU", "it")
                )
            }));
        } else {
            reasons.extend(node_reasons);
        }
    }
    if fleet_mode {
        sfu.config_loaded = fleet_config_loaded(&pairs);
        if let Some(e) = &snap.redis_error {
            reasons.push(format!("the fleet is unknown: {e}"));
        }
    } else {
        sfu.config_loaded = pairs.first().and_then(|(_, p)| as_bool(p.canary));
    }
    // Node-level restart events, on change.
    for (id, view) in &views {
        let required = !view.restart_reasons.is_empty();
        if fleet_mode && last.node_restart.get(id) != Some(&required) {
            if last.node_restart.contains_key(id) || required {
                state.events().emit(
                    "node.restart_required",
                    json!({ "node": id, "required": required, "reasons": view.restart_reasons }),
                );
            }
            last.node_restart.insert(id.clone(), required);
        }
    }
    // LiveKit loads its TURN certificate once: a renewal needs a restart (design §12).
    let turn = crate::public::turn_cert::restart_reason(state.config()).await;
    let restart_required = !needing.is_empty() || turn.is_some();
    reasons.extend(turn);

    if last.reachable != Some(sfu.reachable) {
        let kind = if sfu.reachable {
            "sfu.reachable"
        } else {
            "sfu.unreachable"
        };
        state
            .events()
            .emit(kind, json!({ "url": sfu.url, "error": sfu.error }));
        last.reachable = Some(sfu.reachable);
    }
    if last.restart_required != Some(restart_required) {
        if last.restart_required.is_some() || restart_required {
            state.events().emit(
                "restart_required",
                json!({ "required": restart_required, "reasons": reasons }),
            );
        }
        last.restart_required = Some(restart_required);
    }
    let keys: Vec<KeyAcceptance> = rows
        .iter()
        .filter(|k| k.state != KeyState::Revoked)
        .map(|k| KeyAcceptance {
            api_key: k.api_key.clone(),
            state: k.state,
            sfu_accepts: match by_key.get(&k.api_key) {
                Some(Verdict::AllAccept) => Some(true),
                Some(Verdict::NoneAccept) => Some(false),
                // Mixed: false when any gating node refuses it, unknown otherwise.
                _ => pairs
                    .iter()
                    .filter(|(n, _)| gates(n))
                    .any(|(_, p)| p.keys.get(&k.api_key) == Some(&Acceptance::NotLoaded))
                    .then_some(false),
            },
        })
        .collect();
    let node_restart: Vec<(String, bool)> = views
        .iter()
        .map(|(id, v)| (id.clone(), !v.restart_reasons.is_empty()))
        .collect();
    state
        .metrics()
        .observed(sfu.reachable, &snap, &node_restart, restart_required);
    let fleet = summary(&snap, &needing);
    let acceptance: HashMap<String, Acceptance> = keys_acceptance(&keys);
    state.set_acceptance(acceptance);
    state.set_node_views(views);
    let egress = running
        .as_ref()
        .map(|r| egress_status(state, &rows, r, &held));
    Ok(Observation {
        sfu,
        keys,
        fleet,
        restart_required,
        restart_reasons: reasons,
        egress,
    })
}

/// What `node.list` shows about a node from the last observation.
#[derive(Debug, Clone, Default)]
pub struct NodeView {
    pub runs_current_config: Option<bool>,
    pub accepts_active_key: Option<bool>,
    pub restart_reasons: Vec<String>,
}

fn fleet_config_loaded(pairs: &[(&SeenNode, &NodeProbe)]) -> Option<bool> {
    let answers: Vec<Option<bool>> = pairs.iter().map(|(_, p)| as_bool(p.canary)).collect();
    if answers.contains(&Some(false)) {
        Some(false)
    } else if !answers.is_empty() && answers.iter().all(|a| *a == Some(true)) {
        Some(true)
    } else {
        None
    }
}

fn keys_acceptance(keys: &[KeyAcceptance]) -> HashMap<String, Acceptance> {
    keys.iter()
        .filter_map(|k| {
            let a = match k.sfu_accepts {
                Some(true) => Acceptance::Accepted,
                Some(false) => Acceptance::NotLoaded,
                None => return None,
            };
            Some((k.api_key.clone(), a))
        })
        .collect()
}

/// `status.fleet`.
pub fn summary(snap: &Snapshot, needing: &[String]) -> FleetSummary {
    let count = |c: NodeClass| snap.nodes.iter().filter(|n| n.class == c).count();
    FleetSummary {
        source: snap.source.to_string(),
        redis_reachable: snap.redis_reachable,
        redis_error: snap.redis_error.clone(),
        live: count(NodeClass::Live),
        starting: count(NodeClass::Starting),
        draining: count(NodeClass::Draining),
        suspended: count(NodeClass::Suspended),
        stale: count(NodeClass::Stale),
        restart_required: needing.to_vec(),
        stale_nodes: snap
            .nodes
            .iter()
            .filter(|n| n.class == NodeClass::Stale)
            .map(|n| n.id.clone())
            .collect(),
    }
}

/// `keys.rotate`: a new pending key, in livekit.yaml (and signing webhooks) at once, signing
/// tokens only once the SFU is seen accepting it.
pub async fn rotate(state: &AppState, grace_s: Option<u64>) -> Result<KeyChange> {
    let _turn = state.transitions().await;
    let grace = grace_s.unwrap_or(state.config().token_max_ttl.as_secs());
    if grace > 10 * 365 * 86400 {
        return Err(Error::params("grace_s", "must be at most ten years"));
    }
    let key = state
        .store()
        .insert_pending(grace as i64, now_unix())
        .await?;
    tracing::info!(api_key = %key, grace_s = grace, "rotation started: new key pending");
    state
        .events()
        .emit("key.pending", json!({ "api_key": key, "grace_s": grace }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: key,
        state: KeyState::Pending,
    })
}

/// `keys.revoke`: the emergency path. The key leaves every file at once.
pub async fn revoke(state: &AppState, api_key: &str) -> Result<KeyChange> {
    let _turn = state.transitions().await;
    let outcome = state.store().revoke(api_key, now_unix()).await?;
    if let Revoked::Promoted(k) = &outcome {
        // The SFU will accept it after its restart, which revoking a compromised key requires.
        tracing::warn!(api_key = %k, "the pending key signs tokens now that the active key is revoked");
        state.events().emit("key.active", json!({ "api_key": k }));
    }
    tracing::warn!(api_key = %api_key, "key revoked");
    state
        .events()
        .emit("key.revoked", json!({ "api_key": api_key }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: api_key.to_string(),
        state: KeyState::Revoked,
    })
}

/// `keys.import`: adopt an existing deployment's key as the active key; the previous active
/// key keeps working for the maximum token lifetime.
pub async fn import(state: &AppState, api_key: &str, secret: &str) -> Result<KeyChange> {
    let _turn = state.transitions().await;
    keys::check_import(api_key, secret)?;
    let grace = state.config().token_max_ttl.as_secs() as i64;
    state
        .store()
        .import_active(api_key, secret, now_unix(), grace)
        .await?;
    tracing::info!(api_key = %api_key, "imported key is now active");
    state
        .events()
        .emit("key.imported", json!({ "api_key": api_key }));
    state.resync().await?;
    Ok(KeyChange {
        api_key: api_key.to_string(),
        state: KeyState::Active,
    })
}

/// Key rows with what the SFU last said about each.
pub fn with_acceptance(
    state: &AppState,
    rows: Vec<KeyRow>,
) -> Vec<hero_livekit_api::types::KeyInfo> {
    let seen = state.acceptance();
    rows.into_iter()
        .map(|k| {
            let a = as_bool(seen.get(&k.api_key).copied());
            k.info(a)
        })
        .collect()
}

/// The timer: observes the SFU every few seconds until the server stops.
pub async fn run_timer(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = observe(&state).await {
            tracing::warn!(error = %e, "observing the SFU failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn row(name: &str, state: KeyState) -> KeyRow {
        KeyRow {
            api_key: name.into(),
            secret: Secret::new("s".repeat(40)),
            state,
            created_at: 1,
            activated_at: None,
            retire_at: None,
            revoked_at: None,
        }
    }

    fn node(id: &str, class: NodeClass, clients: i64) -> SeenNode {
        SeenNode {
            id: id.into(),
            ip: "10.0.0.1".into(),
            region: String::new(),
            state: "serving".into(),
            class,
            fresh: class != NodeClass::Stale,
            updated_at: Some(1),
            started_at: None,
            num_rooms: 0,
            num_clients: clients,
            num_tracks_in: 0,
            num_tracks_out: 0,
            cpu_load: 0.0,
            num_cpus: 1,
            url: "http://10.0.0.1:7880".into(),
            problems: vec![],
        }
    }

    fn probe(pairs: &[(&str, Acceptance)]) -> NodeProbe {
        NodeProbe {
            keys: pairs.iter().map(|(k, a)| (k.to_string(), *a)).collect(),
            canary: Some(Acceptance::Accepted),
        }
    }

    fn due(rows: &[KeyRow], nodes: &[(SeenNode, NodeProbe)]) -> Vec<Transition> {
        let pairs: Vec<(&SeenNode, &NodeProbe)> = nodes.iter().map(|(n, p)| (n, p)).collect();
        decide(rows, &verdicts(rows, &pairs))
    }

    #[test]
    fn a_pending_key_activates_only_once_every_live_node_accepts_it() {
        use Acceptance::*;
        let rows = [row("A", KeyState::Active), row("P", KeyState::Pending)];
        let live = |id, a| (node(id, NodeClass::Live, 0), probe(&[("P", a)]));
        assert!(due(&rows, &[live("n1", Accepted), live("n2", NotLoaded)]).is_empty());
        assert!(due(&rows, &[live("n1", Accepted), live("n2", Unknown)]).is_empty());
        assert!(due(&rows, &[]).is_empty(), "no node, no activation");
        assert_eq!(
            due(&rows, &[live("n1", Accepted), live("n2", Accepted)]),
            vec![Transition::Activate("P".into())]
        );
        // A stale node never blocks; an empty draining node neither; a busy draining one does.
        let stale = (node("s", NodeClass::Stale, 9), probe(&[("P", NotLoaded)]));
        let idle = (
            node("d", NodeClass::Draining, 0),
            probe(&[("P", NotLoaded)]),
        );
        let busy = (
            node("b", NodeClass::Draining, 3),
            probe(&[("P", NotLoaded)]),
        );
        assert_eq!(due(&rows, &[live("n1", Accepted), stale, idle]).len(), 1);
        assert!(due(&rows, &[live("n1", Accepted), busy]).is_empty());
    }

    #[test]
    fn a_retired_key_is_revoked_only_once_every_node_refuses_it() {
        use Acceptance::*;
        let rows = [row("A", KeyState::Active), row("R", KeyState::Retired)];
        let live = |id, a| (node(id, NodeClass::Live, 0), probe(&[("R", a)]));
        assert!(due(&rows, &[live("n1", NotLoaded), live("n2", Accepted)]).is_empty());
        assert_eq!(
            due(&rows, &[live("n1", NotLoaded), live("n2", NotLoaded)]),
            vec![Transition::RevokeRetired("R".into())]
        );
    }

    #[test]
    fn a_retiring_key_is_held_while_a_recording_from_before_the_switch_runs() {
        let mut old = row("OLD", KeyState::Retiring);
        old.retire_at = Some(100);
        let mut new = row("NEW", KeyState::Active);
        new.activated_at = Some(50);
        let rows = [old, new];
        let egress = |began_s: i64, status: proto::EgressStatus| proto::EgressInfo {
            started_at: began_s * 1_000_000_000,
            status: status as i32,
            ..Default::default()
        };
        let held = |list: Vec<proto::EgressInfo>, now| {
            held_keys(&rows, Some(&Ok(egress_sessions(&list))), now)
        };
        // Egress disabled: nothing is ever held.
        assert!(held_keys(&rows, None, 200).is_empty());
        // A recording from before the switch (40 < 50) holds the due key…
        assert_eq!(
            held(vec![egress(40, proto::EgressStatus::EgressActive)], 200),
            vec!["OLD".to_string()]
        );
        // …not yet due: nothing to hold.
        assert!(held(vec![egress(40, proto::EgressStatus::EgressActive)], 99).is_empty());
        // Recordings started after the switch, or finished ones, do not.
        assert!(held(vec![egress(60, proto::EgressStatus::EgressActive)], 200).is_empty());
        assert!(held(vec![egress(40, proto::EgressStatus::EgressComplete)], 200).is_empty());
        // A STARTING egress counts from its last update.
        let starting = proto::EgressInfo {
            updated_at: 45 * 1_000_000_000,
            ..Default::default()
        };
        assert_eq!(held(vec![starting], 200).len(), 1);
        // Unknown (LiveKit could not be asked): held.
        assert_eq!(
            held_keys(&rows, Some(&Err("unreachable".into())), 200),
            vec!["OLD".to_string()]
        );
    }

    #[test]
    fn a_stream_or_call_from_before_the_switch_holds_the_key_too() {
        let mut old = row("OLD", KeyState::Retiring);
        old.retire_at = Some(100);
        let mut new = row("NEW", KeyState::Active);
        new.activated_at = Some(50);
        let rows = [old, new];
        let live = |began_s| LiveSession {
            what: "phone call sip_1 in room r".into(),
            began_s,
        };
        assert_eq!(
            held_keys(&rows, Some(&Ok(vec![live(49)])), 200),
            vec!["OLD".to_string()]
        );
        assert!(held_keys(&rows, Some(&Ok(vec![live(51)])), 200).is_empty());
        assert!(held_keys(&rows, Some(&Ok(vec![])), 200).is_empty());
    }

    #[test]
    fn restart_reasons_say_what_the_sfu_lacks() {
        use Acceptance::*;
        let rows = [
            row("A", KeyState::Active),
            row("P", KeyState::Pending),
            row("R", KeyState::Retired),
        ];
        let mut p = probe(&[("A", Accepted), ("P", NotLoaded), ("R", Accepted)]);
        p.canary = Some(NotLoaded);
        assert_eq!(
            restart_reasons(&rows, &p),
            vec![
                "livekit.yaml changed since the SFU started".to_string(),
                "new key P is not loaded by the SFU yet".to_string(),
                "retired key R is still accepted by the SFU".to_string(),
            ]
        );
        let old = probe(&[("A", NotLoaded)]);
        assert!(restart_reasons(&rows, &old)[0].contains("active key A is not loaded"));
    }
}
