//! A strict schema of livekit-server's config file, written from livekit-facts.md §1.
//!
//! livekit-server parses its YAML with unknown keys refused, and prints the error but exits 0,
//! so a typo in a generated file means an SFU that silently never started. Every rendered
//! livekit.yaml (with the operator's `[livekit_overrides]` merged in) is deserialized into this
//! schema before it is written, so a typo is refused at our boot, naming the key.
//!
//! Sections the facts doc lists only as "internal tuning" (`video`, `metric`, `node_stats`,
//! `psrpc`, `api` details) accept any value: we can vouch for their existence, not their shape.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A scalar or structure whose exact shape we do not check.
type Any = Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveKitConfig {
    pub port: Option<u32>,
    pub bind_addresses: Option<Vec<String>>,
    pub prometheus_port: Option<u32>,
    pub prometheus: Option<Prometheus>,
    pub debug_handler: Option<DebugHandler>,
    pub rtc: Option<Rtc>,
    pub redis: Option<Redis>,
    pub audio: Option<Audio>,
    pub video: Option<Any>,
    pub room: Option<Room>,
    pub turn: Option<Turn>,
    pub ingress: Option<Ingress>,
    pub sip: Option<Empty>,
    pub webhook: Option<Webhook>,
    pub node_selector: Option<NodeSelector>,
    pub key_file: Option<String>,
    pub keys: Option<BTreeMap<String, String>>,
    pub region: Option<String>,
    pub signal_relay: Option<SignalRelay>,
    pub psrpc: Option<Psrpc>,
    pub log_level: Option<String>,
    pub logging: Option<Logging>,
    pub limit: Option<Limit>,
    pub agents: Option<Agents>,
    pub development: Option<bool>,
    pub metric: Option<Any>,
    pub trace: Option<Trace>,
    pub node_stats: Option<Any>,
    pub enable_data_tracks: Option<bool>,
    pub enable_participant_data_blob: Option<bool>,
    pub api: Option<Api>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prometheus {
    pub port: Option<u32>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugHandler {
    pub port: Option<u32>,
}

/// `rtc.udp_port` is a scalar: a port or a "start-end" string. A `{start, end}` map is silently
/// ignored by the real server, so it is refused here.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PortScalar {
    Port(u32),
    Range(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rtc {
    pub udp_port: Option<PortScalar>,
    pub tcp_port: Option<u32>,
    pub port_range_start: Option<u32>,
    pub port_range_end: Option<u32>,
    pub use_external_ip: Option<bool>,
    pub node_ip: Option<String>,
    pub stun_servers: Option<Vec<String>>,
    pub use_ice_lite: Option<bool>,
    pub use_mdns: Option<bool>,
    pub enable_loopback_candidate: Option<bool>,
    pub external_ip_only: Option<bool>,
    pub use_stun_port_as_ice: Option<bool>,
    pub force_tcp: Option<bool>,
    pub interfaces: Option<IncludeExclude>,
    pub ips: Option<IncludeExclude>,
    pub batch_io: Option<BatchIo>,
    pub sctp_min_cwnd: Option<Any>,
    pub sctp_fast_rtx_wnd: Option<Any>,
    pub sctp_cwnd_ca_step: Option<Any>,
    /// In LiveKit's sample config; unverified against the pinned source (facts §1.3).
    pub advertise_internal_ip: Option<bool>,
    pub skip_external_ip_validation: Option<bool>,
    pub turn_servers: Option<Vec<TurnServer>>,
    pub enable_warp: Option<bool>,
    pub strict_acks: Option<bool>,
    pub packet_buffer_size: Option<u32>,
    pub packet_buffer_size_video: Option<u32>,
    pub packet_buffer_size_audio: Option<u32>,
    pub pli_throttle: Option<Any>,
    pub congestion_control: Option<Any>,
    pub allow_tcp_fallback: Option<bool>,
    pub tcp_fallback_rtt_threshold: Option<Any>,
    pub allow_udp_unstable_fallback: Option<bool>,
    pub reconnect_on_publication_error: Option<bool>,
    pub reconnect_on_subscription_error: Option<bool>,
    pub reconnect_on_data_channel_error: Option<bool>,
    pub data_channel_max_buffered_amount: Option<Any>,
    pub datachannel_slow_threshold: Option<Any>,
    pub datachannel_lossy_target_latency: Option<Any>,
    pub datachannel_data_track_target_latency: Option<Any>,
    pub forward_stats: Option<Any>,
    pub enable_rtp_stream_restart_detection: Option<bool>,
    // Newer keys of the embedded `rtcconfig.RTCConfig` (livekit/mediatransportutil
    // pkg/rtcconfig/config.go): a serious override must not be refused because we lag behind.
    pub additional_host_ips: Option<Vec<String>>,
    pub require_ipv4: Option<bool>,
    pub host_acceptance_min_wait: Option<Any>,
    pub srflx_acceptance_min_wait: Option<Any>,
    pub prflx_acceptance_min_wait: Option<Any>,
    pub relay_acceptance_min_wait: Option<Any>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludeExclude {
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchIo {
    pub batch_size: Option<u32>,
    pub max_flush_interval: Option<Any>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnServer {
    pub host: String,
    pub port: Option<u32>,
    pub protocol: Option<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<String>,
    pub ttl: Option<Any>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub address: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<u32>,
    pub use_tls: Option<bool>,
    pub tls: Option<RedisTls>,
    pub sentinel_master_name: Option<String>,
    pub sentinel_username: Option<String>,
    pub sentinel_password: Option<String>,
    pub sentinel_addresses: Option<Vec<String>>,
    pub cluster_addresses: Option<Vec<String>>,
    pub dial_timeout: Option<u64>,
    pub read_timeout: Option<u64>,
    pub write_timeout: Option<u64>,
    pub max_redirects: Option<u32>,
    pub pool_timeout: Option<Any>,
    pub pool_size: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTls {
    pub enabled: Option<bool>,
    pub insecure: Option<bool>,
    pub server_name: Option<String>,
    pub ca_cert_file: Option<String>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audio {
    pub active_level: Option<Any>,
    pub min_percentile: Option<Any>,
    pub update_interval: Option<Any>,
    pub smooth_intervals: Option<Any>,
    pub active_red_encoding: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codec {
    pub mime: String,
    pub fmtp_line: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayoutDelay {
    pub enabled: Option<bool>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    pub auto_create: Option<bool>,
    pub enabled_codecs: Option<Vec<Codec>>,
    pub max_participants: Option<u32>,
    pub empty_timeout: Option<u32>,
    pub departure_timeout: Option<u32>,
    pub enable_remote_unmute: Option<bool>,
    pub playout_delay: Option<PlayoutDelay>,
    pub sync_streams: Option<bool>,
    pub create_room_timeout: Option<Any>,
    pub create_room_attempts: Option<u32>,
    pub update_batch_target_size: Option<u32>,
    pub enable_full_room_in_webhooks: Option<bool>,
    pub room_configurations: Option<BTreeMap<String, Any>>,
    /// Legacy keys copied into `limit.*` (facts §1.1).
    pub max_metadata_size: Option<u32>,
    pub max_room_name_length: Option<u32>,
    pub max_participant_identity_length: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub enabled: Option<bool>,
    pub domain: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub tls_port: Option<u32>,
    pub udp_port: Option<u32>,
    pub relay_range_start: Option<u32>,
    pub relay_range_end: Option<u32>,
    pub external_tls: Option<bool>,
    pub bind_addresses: Option<Vec<String>>,
    pub per_user_relay_allocation_limit: Option<u32>,
    pub ttl_seconds: Option<i64>,
    pub allow_restricted_peer_cidrs: Option<Vec<String>>,
    pub deny_peer_cidrs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    pub rtmp_base_url: Option<String>,
    pub whip_base_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub api_key: Option<String>,
    pub urls: Option<Vec<String>>,
    pub resource_url_notifier: Option<ResourceUrlNotifier>,
    pub filter_params: Option<FilterParams>,
    pub url_notifier: Option<UrlNotifier>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceUrlNotifier {
    pub max_age: Option<Any>,
    pub max_depth: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterParams {
    pub include_events: Option<Vec<String>>,
    pub exclude_events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlNotifier {
    pub num_workers: Option<u32>,
    pub queue_size: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSelector {
    pub kind: Option<String>,
    pub sort_by: Option<String>,
    pub algorithm: Option<String>,
    pub cpu_load_limit: Option<f64>,
    pub sysload_limit: Option<f64>,
    pub regions: Option<Vec<Region>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRelay {
    pub retry_timeout: Option<Any>,
    pub min_retry_interval: Option<Any>,
    pub max_retry_interval: Option<Any>,
    pub stream_buffer_size: Option<u32>,
    pub connect_attempts: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Psrpc {
    pub max_attempts: Option<u32>,
    pub timeout: Option<Any>,
    pub backoff: Option<Any>,
    pub buffer_size: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    pub level: Option<String>,
    pub json: Option<bool>,
    pub sample: Option<bool>,
    pub component_levels: Option<BTreeMap<String, String>>,
    pub sample_initial: Option<u32>,
    pub sample_interval: Option<u32>,
    pub item_sample_seconds: Option<u32>,
    pub item_sample_initial: Option<u32>,
    pub item_sample_interval: Option<u32>,
    pub pion_level: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub num_tracks: Option<i64>,
    pub bytes_per_sec: Option<f64>,
    pub subscription_limit_video: Option<i64>,
    pub subscription_limit_audio: Option<i64>,
    pub max_metadata_size: Option<u32>,
    pub max_attributes_size: Option<u32>,
    pub max_room_name_length: Option<u32>,
    pub max_participant_identity_length: Option<u32>,
    pub max_participant_name_length: Option<u32>,
    pub max_data_blob_key_length: Option<u32>,
    pub max_data_blobs_size: Option<u32>,
    pub max_data_track_custom_encoding_length: Option<u32>,
    pub signal_message_size_limit: Option<u64>,
    pub agent_signal_message_size_limit: Option<u64>,
    pub max_api_request_body_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agents {
    pub enable_user_data_recording: Option<bool>,
    pub enable_user_data_redaction: Option<bool>,
    pub target_load: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    pub jaeger_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub execution_timeout: Option<Any>,
    pub check_interval: Option<Any>,
    pub max_check_interval: Option<Any>,
    pub enable_psrpc_for_get_list_participants: Option<bool>,
}

/// Checks a config document against the schema; the error names the offending key path.
pub fn check(doc: &Value) -> Result<(), String> {
    let de = doc.clone();
    serde_path_to_error::deserialize::<_, LiveKitConfig>(de)
        .map(|_| ())
        .map_err(|e| {
            let inner = e.inner().to_string();
            let field = crate::error::serde_field(&e.path().to_string(), &inner);
            if inner.starts_with("unknown field") {
                format!("unknown key `{field}`")
            } else {
                format!("`{field}`: {inner}")
            }
        })
}

/// Parses livekit.yaml text as the real server would (strict) — for tests and `doctor`.
pub fn check_yaml(text: &str) -> Result<LiveKitConfig, String> {
    serde_saphyr::from_str::<LiveKitConfig>(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_are_refused_with_their_path() {
        assert!(check(&json!({"port": 7880, "rtc": {"tcp_port": 7881, "udp_port": 7882}})).is_ok());
        assert_eq!(
            check(&json!({"rtc": {"udp_prot": 7882}})).unwrap_err(),
            "unknown key `rtc.udp_prot`"
        );
        assert_eq!(
            check(&json!({"debug_handler_port": 6060})).unwrap_err(),
            "unknown key `debug_handler_port`"
        );
        assert!(check(&json!({"rtc": {"udp_port": {"start": 1, "end": 2}}})).is_err());
        assert!(check(&json!({"rtc": {"udp_port": "7882-7892"}})).is_ok());
        assert!(
            check(
                &json!({"rtc": {"additional_host_ips": ["10.0.0.2"], "require_ipv4": true,
                "srflx_acceptance_min_wait": "500ms"}})
            )
            .is_ok()
        );
    }
}
