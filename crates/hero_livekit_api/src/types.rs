//! Parameters and results of the JSON-RPC methods (design §5). Timestamps are RFC 3339 UTC
//! strings; durations are integer seconds in fields ending `_s`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::egress::*;
pub use crate::side::*;

/// For methods that take no parameters (`{}` or none at all).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// An empty result object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    pub version: String,
    pub uptime_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ServerInfo {
    pub version: String,
    pub home: String,
    pub socket: String,
    pub pid: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FileStatus {
    pub path: String,
    /// Hex SHA-256 of the file's bytes on disk as rendered.
    pub sha256: String,
    /// When the current content was written (RFC 3339); the boot time if it was already right.
    pub written_at: String,
    /// True when this boot found the file missing, edited, truncated or with a wrong mode and
    /// rewrote it.
    pub repaired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FilesStatus {
    pub livekit_yaml: FileStatus,
    pub backend_env: FileStatus,
    /// Null while `[egress]` is disabled.
    #[serde(default)]
    pub egress_yaml: Option<FileStatus>,
    /// Null while `[ingress]` is disabled.
    #[serde(default)]
    pub ingress_yaml: Option<FileStatus>,
    /// Null while `[sip]` is disabled.
    #[serde(default)]
    pub sip_yaml: Option<FileStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyAcceptance {
    pub api_key: String,
    pub state: KeyState,
    /// Whether the running SFU accepts tokens signed by this key; null when unknown.
    pub sfu_accepts: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SfuStatus {
    pub url: String,
    pub reachable: bool,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
    /// Whether the SFU runs exactly the livekit.yaml on disk; null when unknown.
    pub config_loaded: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Status {
    pub server: ServerInfo,
    pub files: FilesStatus,
    pub keys: Vec<KeyAcceptance>,
    pub sfu: SfuStatus,
    /// The SFU nodes: every node of a Redis fleet, or the one configured SFU.
    pub fleet: FleetSummary,
    /// The control planes sharing this one's database, and what each rendered.
    pub cluster: ClusterStatus,
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
    /// The egress service (null while `[egress]` is disabled).
    #[serde(default)]
    pub egress: Option<EgressServiceStatus>,
    /// The ingress service (null while `[ingress]` is disabled).
    #[serde(default)]
    pub ingress: Option<SideServiceStatus>,
    /// The SIP service (null while `[sip]` is disabled).
    #[serde(default)]
    pub sip: Option<SideServiceStatus>,
}

/// `status.ingress`, `status.sip`: the file a side service reads, its key, and whether the
/// service must be restarted to sign with the active key (it reads the file once, at start).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SideServiceStatus {
    /// The rendered file.
    pub file: String,
    /// The key the file names (the active key).
    pub api_key: String,
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
}

/// How a node is classified, the way LiveKit's own node selector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeClass {
    /// SERVING with stats updated under 5 s ago: gets new rooms.
    Live,
    /// STARTING_UP (fresh): not serving yet.
    Starting,
    /// SHUTTING_DOWN (fresh): keeps its rooms, gets no new ones, leaves when they empty.
    Draining,
    /// SUSPENDED (fresh): gets no new rooms.
    Suspended,
    /// Stats older than 5 s: crashed or cut off; LiveKit routes nothing to it but leaves its
    /// entry behind until another node starts.
    Stale,
}

impl NodeClass {
    /// The name as serialized (`live`, `starting`, `draining`, `suspended`, `stale`).
    pub fn as_str(self) -> &'static str {
        match self {
            NodeClass::Live => "live",
            NodeClass::Starting => "starting",
            NodeClass::Draining => "draining",
            NodeClass::Suspended => "suspended",
            NodeClass::Stale => "stale",
        }
    }
}

impl std::fmt::Display for NodeClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `status.fleet`: counts by class and which nodes need attention.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct FleetSummary {
    /// `redis` (the nodes registered in Redis) or `config` (the one `livekit_url`).
    pub source: String,
    /// Null without Redis.
    pub redis_reachable: Option<bool>,
    /// Why Redis could not be read (names the address, never a password).
    pub redis_error: Option<String>,
    pub live: usize,
    pub starting: usize,
    pub draining: usize,
    pub suspended: usize,
    pub stale: usize,
    /// Nodes that must restart to run the current files, with the reasons in `restart_reasons`.
    pub restart_required: Vec<String>,
    /// Node ids whose entries are stale.
    pub stale_nodes: Vec<String>,
}

/// `status.cluster`: the shared state and every control plane rendering from it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ClusterStatus {
    /// `sqlite` (one machine) or `postgres` (shared by every instance).
    pub engine: String,
    /// The current revision of the shared state.
    pub revision: i64,
    /// This instance's id (`<host>:<home>`).
    pub instance_id: String,
    /// Whether this instance makes the timed and observed key transitions (one does).
    pub owns_lifecycle: bool,
    pub instances: Vec<InstanceInfo>,
}

/// One control plane sharing the database.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstanceInfo {
    pub instance_id: String,
    pub host: String,
    pub home: String,
    pub node_ip: Option<String>,
    /// The revision its files were rendered at.
    pub rendered_revision: i64,
    /// Its files are at the current revision.
    pub current: bool,
    /// SHA-256 of the cluster part of its livekit.yaml (everything but node settings).
    pub cluster_sha256: String,
    /// Its cluster part equals this instance's: a difference means their configs disagree.
    pub cluster_matches: bool,
    pub rendered_at: String,
    /// Last heard of; an instance silent for more than 30 s is probably down.
    pub seen_at: String,
    pub alive: bool,
}

/// One SFU node.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NodeInfo {
    /// LiveKit's node id (`ND_…`); `config` for the configured SFU without Redis.
    pub id: String,
    pub ip: String,
    pub region: String,
    /// LiveKit's NodeState: `starting_up`, `serving`, `shutting_down`, `suspended`.
    pub state: String,
    pub class: NodeClass,
    /// Stats updated less than 5 s ago.
    pub fresh: bool,
    pub updated_at: Option<String>,
    pub started_at: Option<String>,
    pub num_rooms: i64,
    pub num_clients: i64,
    pub num_tracks_in: i64,
    pub num_tracks_out: i64,
    pub cpu_load: f64,
    pub num_cpus: u32,
    /// Where the control plane reaches the node's API (`http://<ip>:<sfu_port>`).
    pub url: String,
    /// Whether the node runs exactly the livekit.yaml on disk; null when not probed.
    pub runs_current_config: Option<bool>,
    /// Whether the node accepts the active key; null when not probed.
    pub accepts_active_key: Option<bool>,
    /// Whether the node must restart, and why.
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
    /// What is wrong with this node or its entry, in plain words.
    pub problems: Vec<String>,
    /// The control plane on this node's machine (its `node_ip` is the node's IP), if any.
    pub instance_id: Option<String>,
    /// The revision that control plane rendered; null without one.
    pub rendered_revision: Option<i64>,
}

/// `node.list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NodeList {
    pub source: String,
    /// Null without Redis; false: `nodes` is the last list read, from `as_of`.
    pub redis_reachable: Option<bool>,
    pub redis_error: Option<String>,
    /// When `nodes` was read.
    pub as_of: Option<String>,
    pub nodes: Vec<NodeInfo>,
    /// The control planes (one per SFU machine) and the revision each rendered.
    pub instances: Vec<InstanceInfo>,
}

/// `config.files`: the rendered files with every secret replaced by `<redacted>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConfigFiles {
    pub livekit_yaml: String,
    pub backend_env: String,
    /// Null while `[egress]` is disabled.
    #[serde(default)]
    pub egress_yaml: Option<String>,
    /// Null while `[ingress]` is disabled.
    #[serde(default)]
    pub ingress_yaml: Option<String>,
    /// Null while `[sip]` is disabled.
    #[serde(default)]
    pub sip_yaml: Option<String>,
}

/// One disagreement between two rendered files (`config.check`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigProblem {
    /// `redis`, `keys`, `ingress`, `ports` or `parse`.
    pub check: String,
    /// The file the key is in.
    pub file: String,
    /// The file it disagrees with (the same file for a clash inside one file).
    pub other_file: String,
    /// The key involved, as a dotted path of `file` (`redis.db`, `api_key`, `rtmp_port`).
    pub key: String,
    /// What is wrong, naming both files and keys; never a secret's value.
    pub message: String,
}

/// `config.check`: whether the rendered files agree with each other.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConfigCheck {
    pub ok: bool,
    /// The files checked.
    pub files: Vec<String>,
    pub problems: Vec<ConfigProblem>,
}

/// Lifecycle state of an API key (design §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Pending,
    Active,
    Retiring,
    Retired,
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => KeyState::Pending,
            "active" => KeyState::Active,
            "retiring" => KeyState::Retiring,
            "retired" => KeyState::Retired,
            "revoked" => KeyState::Revoked,
            _ => return None,
        })
    }
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysListParams {
    /// Also list revoked keys (hidden by default).
    #[serde(default)]
    pub include_revoked: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyInfo {
    pub api_key: String,
    pub state: KeyState,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub retire_at: Option<String>,
    pub revoked_at: Option<String>,
    pub sfu_accepts: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

/// Grant presets of `token.create`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Join the room, publish, subscribe and send data.
    #[default]
    Participant,
    /// Join the room and subscribe only.
    Viewer,
    /// Join, plus roomAdmin for the room, roomList and roomCreate.
    Admin,
}

/// LiveKit video grants, with LiveKit's JSON names. Every field is optional; the given ones are
/// merged over the preset. Unknown names are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grants {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_create: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_list: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_record: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_join: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_publish: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_subscribe: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_publish_data: Option<bool>,
    /// Sources the participant may publish: camera, microphone, screen_share,
    /// screen_share_audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_publish_sources: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_update_own_metadata: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorder: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_room: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreateParams {
    /// Room the token is for (≤ 256 bytes).
    pub room: String,
    /// Participant identity, the JWT `sub` (≤ 256 bytes).
    pub identity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Grant preset; default `participant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Grants merged over the preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Grants>,
    /// LiveKit RoomConfiguration (camelCase or snake_case), written as the `roomConfig` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_config: Option<serde_json::Value>,
    /// Lifetime in seconds; default the configured token TTL, at most the configured maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<u64>,
}

#[derive(Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokenCreated {
    pub token: String,
    /// The LiveKit URL clients connect to.
    pub server_url: String,
    pub api_key: String,
    pub expires_at: String,
}

#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenDecodeParams {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokenDecoded {
    /// True when LiveKit would accept this token now.
    pub valid: bool,
    /// The key named by `iss`.
    pub api_key: Option<String>,
    /// That key's state here, or null when this control plane does not know it.
    pub key_state: Option<KeyState>,
    /// The decoded claims (unverified when the signature is bad).
    pub claims: serde_json::Value,
    pub expires_at: Option<String>,
    pub not_before: Option<String>,
    /// Seconds until `exp` (negative when expired).
    pub skew_s: Option<i64>,
    pub grants_explained: Vec<String>,
    pub problems: Vec<String>,
}

#[derive(Clone, Serialize, Deserialize, JsonSchema)]
pub struct BackendInfo {
    /// Base URL of lk-backend.
    pub url: String,
    /// Bearer for lk-backend's privileged API.
    pub api_token: String,
    /// Bearer that may only mint tokens.
    pub token_endpoint_token: String,
}

/// A LiveKit room (our DTO, not LiveKit's protobuf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Room {
    pub name: String,
    pub sid: String,
    pub num_participants: u32,
    pub num_publishers: u32,
    pub created_at: String,
    pub empty_timeout_s: u32,
    pub departure_timeout_s: u32,
    /// 0 = no limit.
    pub max_participants: u32,
    pub metadata: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RoomList {
    pub rooms: Vec<Room>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomListParams {
    /// Only these rooms (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomCreateParams {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_timeout_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departure_timeout_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomNameParams {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomUpdateMetadataParams {
    pub name: String,
    pub metadata: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataEncoding {
    #[default]
    Utf8,
    Base64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    #[default]
    Reliable,
    Lossy,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomSendDataParams {
    pub room: String,
    /// The payload, as text or base64 per `encoding`.
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<DataEncoding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DataKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Only these participants (default: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_identities: Option<Vec<String>>,
}

/// What a participant may do. Sources use LiveKit's token names (camera, microphone,
/// screen_share, screen_share_audio).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Permission {
    pub can_subscribe: bool,
    pub can_publish: bool,
    pub can_publish_data: bool,
    pub can_publish_sources: Vec<String>,
    pub hidden: bool,
    pub can_update_metadata: bool,
    pub can_subscribe_metrics: bool,
}

/// A partial permission: given fields are merged over the participant's current permission.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish_sources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_update_metadata: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe_metrics: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Track {
    pub sid: String,
    /// audio, video or data.
    pub kind: String,
    /// camera, microphone, screen_share, screen_share_audio or unknown.
    pub source: String,
    pub name: String,
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Participant {
    pub identity: String,
    pub sid: String,
    pub name: String,
    /// `participant`, or what it is when not a person with an app: `phone call` (SIP),
    /// `ingress`, `agent`, `egress` (LiveKit's ParticipantInfo.kind).
    #[serde(default = "participant_kind")]
    pub kind: String,
    /// joining, joined, active or disconnected.
    pub state: String,
    pub joined_at: String,
    pub metadata: String,
    pub attributes: BTreeMap<String, String>,
    pub permission: Option<Permission>,
    pub tracks: Vec<Track>,
}

fn participant_kind() -> String {
    "participant".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ParticipantList {
    pub participants: Vec<Participant>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomParams {
    pub room: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantParams {
    pub room: String,
    pub identity: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MuteTrackParams {
    pub room: String,
    pub identity: String,
    pub track_sid: String,
    pub muted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MutedTrack {
    pub track: Track,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantUpdateParams {
    pub room: String,
    pub identity: String,
    /// New display name (LiveKit cannot clear it to empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Merged into the current attributes; an empty value deletes the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Merged over the current permission, then sent whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<PermissionPatch>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysRotateParams {
    /// How long the old key keeps being accepted after the new one becomes active; default the
    /// maximum token TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_s: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyParams {
    pub api_key: String,
}

#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysImportParams {
    pub api_key: String,
    /// At least 32 characters, as LiveKit requires.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyChange {
    pub api_key: String,
    pub state: KeyState,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditListParams {
    /// Only entries at or after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only this method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditPeer {
    pub uid: Option<u32>,
    pub pid: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    pub at: String,
    pub method: String,
    pub peer: AuditPeer,
    /// The call's params with secrets and tokens redacted.
    pub params: serde_json::Value,
    /// `ok`, or `error <code>: <message>`.
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}

/// An item of the `events` subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventItem {
    /// `key.pending`, `key.active`, `key.retiring`, `key.retired`, `key.revoked`,
    /// `key.imported`, `file.rewritten`, `sfu.reachable`, `sfu.unreachable`,
    /// `restart_required`, or `error` (the last item of a subscription that ends).
    #[serde(rename = "type")]
    pub kind: String,
    pub at: String,
    pub data: serde_json::Value,
}

/// Params of `deploy.check`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployCheckParams {
    /// Names pinned to addresses instead of asking DNS (like curl's `--resolve`), e.g. before
    /// the records exist; the DNS check then says it was not consulted.
    #[serde(default)]
    pub resolve: BTreeMap<String, String>,
}

/// How one check of `deploy.check` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    /// Works, but something an operator should know or will hit later.
    Warn,
    /// Broken: the message says the cause, `fix` the fix.
    Error,
    /// Not run (its precondition is missing; the message says which).
    Skip,
    /// A statement, not a test (what a check from inside cannot prove).
    Info,
}

/// One check of `deploy.check`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckItem {
    /// Stable id: `config`, `dns`, `node_ip`, `binds`, `caddy_config`, `haproxy_config`,
    /// `certificate`, `turn_cert_file`, `turn_cert_served`, `signalling`, `token_endpoint`,
    /// `stun`, `turn_tls`, `outside`.
    pub check: String,
    /// What was checked (a domain, a port), when the check runs once per thing.
    pub subject: Option<String>,
    pub status: CheckStatus,
    /// What was found; for a failure, the cause.
    pub message: String,
    /// For a failure or warning: what to do, in one line.
    pub fix: Option<String>,
}

/// `deploy.check`: the production checks (production facts §7.3).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeployCheck {
    /// False: no `[public]` (the loopback deployment); `checks` says so.
    pub configured: bool,
    pub topology: Option<String>,
    /// No check has status `error`.
    pub ok: bool,
    pub checks: Vec<CheckItem>,
}

crate::redacted_debug!(
    TokenCreated,
    TokenDecodeParams,
    BackendInfo,
    KeysImportParams
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_class_names_are_the_serialized_ones() {
        for c in [
            NodeClass::Live,
            NodeClass::Starting,
            NodeClass::Draining,
            NodeClass::Suspended,
            NodeClass::Stale,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
