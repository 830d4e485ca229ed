//! egress.yaml for LiveKit's egress service (side-services facts §1, design §11.1), typed after
//! the Go config's yaml tags (livekit/egress `pkg/config/base.go`, `service.go`, `storage.go`;
//! livekit/storage `config.go`; livekit/protocol `redis/redis.go`, `logger/config.go`).
//!
//! - `api_key`/`api_secret`: the active key, which egress signs its recorders' 24 h join tokens
//!   with (it reads the file once, at start: facts §6).
//! - `redis`: the very block livekit.yaml carries (`Redis::block`), since Redis is the only
//!   channel between livekit-server and egress.
//! - `insecure` exactly when `ws_url` is ws://; `disallow_local_storage` when a cloud store is
//!   configured, so a request can never fall back to the container's disk.
//! - `cpu_cost`: values the operator left out that exceed the host's cores are rendered as the
//!   core count, so a small host takes one such egress at a time instead of refusing all of
//!   them with "no response from servers" (facts §1.7).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Keys, check_keys};
use crate::config::{Config, CpuCostSettings, RedisBlock, Storage};
use crate::error::{Error, Result};
use crate::keys::{self, KeyRow};

#[derive(Serialize)]
struct EgressYaml {
    api_key: String,
    api_secret: String,
    ws_url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    insecure: bool,
    redis: RedisBlock,
    logging: Logging,
    health_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    prometheus_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disallow_local_storage: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageYaml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<StorageYaml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_limits: Option<SessionLimitsYaml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_cost: Option<CpuCostYaml>,
}

#[derive(Serialize)]
struct Logging {
    level: String,
    json: bool,
}

#[derive(Serialize)]
struct StorageYaml {
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generate_presigned_url: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3: Option<S3Yaml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    azure: Option<AzureYaml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gcp: Option<GcpYaml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alioss: Option<AliOssYaml>,
}

#[derive(Serialize)]
struct S3Yaml {
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assume_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assume_role_external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    bucket: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    force_path_style: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_retries: Option<u32>,
    /// Go durations (yaml.v3 reads `time.Duration` from "5s").
    #[serde(skip_serializing_if = "Option::is_none")]
    max_retry_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_retry_delay: Option<String>,
}

#[derive(Serialize)]
struct AzureYaml {
    account_name: String,
    account_key: String,
    container_name: String,
}

#[derive(Serialize)]
struct GcpYaml {
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials_json: Option<String>,
    bucket: String,
}

#[derive(Serialize)]
struct AliOssYaml {
    access_key: String,
    secret: String,
    endpoint: String,
    bucket: String,
}

#[derive(Serialize)]
struct SessionLimitsYaml {
    #[serde(skip_serializing_if = "Option::is_none")]
    file_output_max_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_output_max_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_output_max_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segment_output_max_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_output_max_duration: Option<String>,
}

#[derive(Serialize, Default)]
struct CpuCostYaml {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_cpu_utilization: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_composite_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio_room_composite_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio_web_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_composite_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_cpu_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_memory: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_cost: Option<f64>,
}

/// LiveKit's own cost defaults (`service.go`), which decide whether a host can take a kind.
pub const DEFAULT_COSTS: &[(&str, f64)] = &[
    ("room_composite_cpu_cost", 4.0),
    ("audio_room_composite_cpu_cost", 1.0),
    ("web_cpu_cost", 4.0),
    ("audio_web_cpu_cost", 1.0),
    ("participant_cpu_cost", 2.0),
    ("track_composite_cpu_cost", 1.0),
    ("track_cpu_cost", 0.5),
];

/// A Go duration string: whole seconds as `90s`, anything finer as milliseconds.
fn go_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn storage(s: &Storage) -> StorageYaml {
    StorageYaml {
        prefix: s.prefix.clone(),
        generate_presigned_url: s.generate_presigned_url,
        s3: s.s3.as_ref().map(|s| S3Yaml {
            access_key: s.access_key.clone(),
            secret: s.secret.as_ref().map(|x| x.expose().to_string()),
            session_token: s.session_token.as_ref().map(|x| x.expose().to_string()),
            assume_role_arn: s.assume_role_arn.clone(),
            assume_role_external_id: s
                .assume_role_external_id
                .as_ref()
                .map(|x| x.expose().to_string()),
            region: s.region.clone(),
            endpoint: s.endpoint.clone(),
            bucket: s.bucket.clone(),
            force_path_style: s.force_path_style,
            max_retries: s.max_retries,
            max_retry_delay: s.max_retry_delay.map(go_duration),
            min_retry_delay: s.min_retry_delay.map(go_duration),
        }),
        azure: s.azure.as_ref().map(|a| AzureYaml {
            account_name: a.account_name.clone(),
            account_key: a.account_key.expose().to_string(),
            container_name: a.container_name.clone(),
        }),
        gcp: s.gcp.as_ref().map(|g| GcpYaml {
            credentials_json: g.credentials_json.as_ref().map(|c| c.expose().to_string()),
            bucket: g.bucket.clone(),
        }),
        alioss: s.alioss.as_ref().map(|o| AliOssYaml {
            access_key: o.access_key.clone(),
            secret: o.secret.expose().to_string(),
            endpoint: o.endpoint.clone(),
            bucket: o.bucket.clone(),
        }),
    }
}

/// The costs as rendered: the operator's, else LiveKit's default when this host has the cores
/// for it, else the host's core count (one at a time).
pub fn sized_costs(given: &CpuCostSettings, cores: usize) -> Vec<(&'static str, f64)> {
    let cores = cores.max(1) as f64;
    let given_of = |name: &str| match name {
        "room_composite_cpu_cost" => given.room_composite_cpu_cost,
        "audio_room_composite_cpu_cost" => given.audio_room_composite_cpu_cost,
        "web_cpu_cost" => given.web_cpu_cost,
        "audio_web_cpu_cost" => given.audio_web_cpu_cost,
        "participant_cpu_cost" => given.participant_cpu_cost,
        "track_composite_cpu_cost" => given.track_composite_cpu_cost,
        "track_cpu_cost" => given.track_cpu_cost,
        _ => None,
    };
    DEFAULT_COSTS
        .iter()
        .map(|(name, default)| {
            let v = given_of(name).unwrap_or(if *default > cores { cores } else { *default });
            (*name, v)
        })
        .collect()
}

fn cpu_cost(given: &CpuCostSettings, cores: usize) -> Option<CpuCostYaml> {
    let sized = sized_costs(given, cores);
    // Only what differs from LiveKit's defaults is written.
    let rendered = |name: &str| {
        let v = sized.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)?;
        let default = DEFAULT_COSTS.iter().find(|(n, _)| *n == name)?.1;
        let explicit = match name {
            "room_composite_cpu_cost" => given.room_composite_cpu_cost,
            "audio_room_composite_cpu_cost" => given.audio_room_composite_cpu_cost,
            "web_cpu_cost" => given.web_cpu_cost,
            "audio_web_cpu_cost" => given.audio_web_cpu_cost,
            "participant_cpu_cost" => given.participant_cpu_cost,
            "track_composite_cpu_cost" => given.track_composite_cpu_cost,
            "track_cpu_cost" => given.track_cpu_cost,
            _ => None,
        };
        (explicit.is_some() || v != default).then_some(v)
    };
    let c = CpuCostYaml {
        max_cpu_utilization: given.max_cpu_utilization,
        room_composite_cpu_cost: rendered("room_composite_cpu_cost"),
        audio_room_composite_cpu_cost: rendered("audio_room_composite_cpu_cost"),
        web_cpu_cost: rendered("web_cpu_cost"),
        audio_web_cpu_cost: rendered("audio_web_cpu_cost"),
        participant_cpu_cost: rendered("participant_cpu_cost"),
        track_composite_cpu_cost: rendered("track_composite_cpu_cost"),
        track_cpu_cost: rendered("track_cpu_cost"),
        max_memory: given.max_memory,
        memory_cost: given.memory_cost,
    };
    let empty = serde_json::to_value(&c)
        .ok()
        .and_then(|v| v.as_object().map(|m| m.is_empty()))
        .unwrap_or(true);
    (!empty).then_some(c)
}

/// The cores egress will count on this host (cgroup limits included).
pub fn host_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Renders egress.yaml for `[egress]` with the active key, checked against the keys egress
/// reads. `cores` sizes the CPU costs (see [`sized_costs`]).
pub fn render(config: &Config, keys: &[KeyRow], cores: usize) -> Result<String> {
    let e = &config.egress;
    let redis = config.redis.as_ref().ok_or_else(|| Error::Config {
        setting: "egress.enabled".into(),
        reason: "egress needs [redis]".into(),
    })?;
    let signer = keys::signer(keys)?;
    let limits = &e.session_limits;
    let any_limit = limits.file_output_max_duration.is_some()
        || limits.file_output_max_size.is_some()
        || limits.stream_output_max_duration.is_some()
        || limits.segment_output_max_duration.is_some()
        || limits.image_output_max_duration.is_some();
    let doc = EgressYaml {
        api_key: signer.api_key.clone(),
        api_secret: signer.secret.expose().to_string(),
        ws_url: e.ws_url.clone(),
        insecure: e.insecure,
        redis: redis.block(),
        logging: Logging {
            level: e.log_level.clone(),
            json: false,
        },
        health_port: e.health_port,
        prometheus_port: e.prometheus_port,
        cluster_id: e.cluster_id.clone(),
        disallow_local_storage: e.storage.as_ref().is_some_and(Storage::is_cloud),
        storage: e.storage.as_ref().map(storage),
        backup: e.backup.as_ref().map(storage),
        session_limits: any_limit.then(|| SessionLimitsYaml {
            file_output_max_duration: limits.file_output_max_duration.map(go_duration),
            file_output_max_size: limits.file_output_max_size,
            stream_output_max_duration: limits.stream_output_max_duration.map(go_duration),
            segment_output_max_duration: limits.segment_output_max_duration.map(go_duration),
            image_output_max_duration: limits.image_output_max_duration.map(go_duration),
        }),
        cpu_cost: cpu_cost(&e.cpu_cost, cores),
    };
    let value = serde_json::to_value(&doc).map_err(|e| Error::Internal(e.to_string()))?;
    check(&value).map_err(|reason| Error::Internal(format!("egress.yaml render: {reason}")))?;
    let body = serde_saphyr::to_string(&value)
        .map_err(|e| Error::Internal(format!("cannot render egress.yaml: {e}")))?;
    Ok(format!(
        "# Generated by hero_livekit_server from [egress]; edits are overwritten.\n\
         # Egress reads this once at start: restart it (SIGTERM drains running recordings)\n\
         # when `hero_livekit status` says so, e.g. after a key rotation.\n{body}"
    ))
}

/// The API key an egress.yaml names, for status (never the secret).
pub fn api_key_of(text: &str) -> Option<String> {
    let doc: Value = serde_saphyr::from_str(text).ok()?;
    doc["api_key"].as_str().map(str::to_string)
}

// ---- the keys egress reads (livekit/egress e948d1e, protocol d74e7cd, storage 078f23c) -------

const PROXY: Keys = Keys(&[("url", None), ("username", None), ("password", None)]);
const S3_KEYS: Keys = Keys(&[
    ("access_key", None),
    ("secret", None),
    ("session_token", None),
    ("assume_role_arn", None),
    ("assume_role_external_id", None),
    ("region", None),
    ("endpoint", None),
    ("bucket", None),
    ("force_path_style", None),
    ("proxy_config", Some(&PROXY)),
    ("max_retries", None),
    ("max_retry_delay", None),
    ("min_retry_delay", None),
    ("metadata", None),
    ("tagging", None),
    ("content_disposition", None),
]);
const AZURE_KEYS: Keys = Keys(&[
    ("account_name", None),
    ("account_key", None),
    ("container_name", None),
]);
const GCP_KEYS: Keys = Keys(&[
    ("credentials_json", None),
    ("bucket", None),
    ("proxy_config", Some(&PROXY)),
]);
const ALIOSS_KEYS: Keys = Keys(&[
    ("access_key", None),
    ("secret", None),
    ("endpoint", None),
    ("bucket", None),
]);
const STORAGE_KEYS: Keys = Keys(&[
    ("prefix", None),
    ("generate_presigned_url", None),
    ("s3", Some(&S3_KEYS)),
    ("azure", Some(&AZURE_KEYS)),
    ("gcp", Some(&GCP_KEYS)),
    ("alioss", Some(&ALIOSS_KEYS)),
]);
const DEBUG_KEYS: Keys = Keys(&[
    ("enable_profiling", None),
    ("enable_track_logging", None),
    ("enable_stream_logging", None),
    ("enable_chrome_logging", None),
    // StorageConfig inlined.
    ("prefix", None),
    ("generate_presigned_url", None),
    ("s3", Some(&S3_KEYS)),
    ("azure", Some(&AZURE_KEYS)),
    ("gcp", Some(&GCP_KEYS)),
    ("alioss", Some(&ALIOSS_KEYS)),
]);
pub const REDIS_KEYS: Keys = Keys(&[
    ("address", None),
    ("username", None),
    ("password", None),
    ("db", None),
    ("use_tls", None),
    ("tls", None),
    ("sentinel_master_name", None),
    ("sentinel_username", None),
    ("sentinel_password", None),
    ("sentinel_addresses", None),
    ("cluster_addresses", None),
    ("dial_timeout", None),
    ("read_timeout", None),
    ("write_timeout", None),
    ("max_redirects", None),
    ("pool_timeout", None),
    ("pool_size", None),
]);
pub const LOGGING_KEYS: Keys = Keys(&[
    ("json", None),
    ("level", None),
    ("sample", None),
    ("component_levels", None),
    ("sample_initial", None),
    ("sample_interval", None),
    ("item_sample_seconds", None),
    ("item_sample_initial", None),
    ("item_sample_interval", None),
]);
const SESSION_LIMITS_KEYS: Keys = Keys(&[
    ("file_output_max_duration", None),
    ("file_output_max_size", None),
    ("stream_output_max_duration", None),
    ("segment_output_max_duration", None),
    ("image_output_max_duration", None),
]);
/// `ymal:`-tagged fields are not listed: yaml.v3 never reads those names (facts §1.3).
const LATENCY_KEYS: Keys = Keys(&[
    ("jitter_buffer_latency", None),
    ("audio_mixer_latency", None),
    ("pipeline_latency", None),
    ("old_packet_threshold", None),
]);
const TEMPO_KEYS: Keys = Keys(&[("enabled", None), ("adjustment_rate", None)]);
const CPU_COST_KEYS: Keys = Keys(&[
    ("max_cpu_utilization", None),
    ("max_memory", None),
    ("memory_cost", None),
    ("room_composite_cpu_cost", None),
    ("audio_room_composite_cpu_cost", None),
    ("sdk_audio_room_composite_cpu_cost", None),
    ("sdk_audio_room_composite_memory_cost", None),
    ("web_cpu_cost", None),
    ("audio_web_cpu_cost", None),
    ("participant_cpu_cost", None),
    ("track_composite_cpu_cost", None),
    ("track_cpu_cost", None),
    ("max_pulse_clients", None),
    ("memory_source", None),
    ("memory_kill_grace_sec", None),
    ("cpu_kill_grace_sec", None),
]);

/// Every key of egress's `ServiceConfig` (BaseConfig inlined).
pub const KNOWN: Keys = Keys(&[
    ("redis", Some(&REDIS_KEYS)),
    ("api_key", None),
    ("api_secret", None),
    ("ws_url", None),
    ("logging", Some(&LOGGING_KEYS)),
    ("template_base", None),
    ("cluster_id", None),
    ("enable_chrome_sandbox", None),
    ("max_upload_queue", None),
    ("disallow_local_storage", None),
    ("io_create_timeout", None),
    ("io_update_timeout", None),
    ("io_selection_timeout", None),
    ("io_workers", None),
    ("session_limits", Some(&SESSION_LIMITS_KEYS)),
    ("storage", Some(&STORAGE_KEYS)),
    ("backup", Some(&STORAGE_KEYS)),
    ("s3_assume_role_key", None),
    ("s3_assume_role_secret", None),
    ("s3_assume_role_arn", None),
    ("s3_assume_role_external_id", None),
    ("insecure", None),
    ("debug", Some(&DEBUG_KEYS)),
    ("chrome_flags", None),
    ("latency", Some(&LATENCY_KEYS)),
    ("latency_overrides", None),
    ("video_encoder_threads", None),
    ("enable_one_shot_sender_report_sync", None),
    ("enable_sync_engine", None),
    ("audio_tempo_controller", Some(&TEMPO_KEYS)),
    ("test_overrides", None),
    ("health_port", None),
    ("template_port", None),
    ("prometheus_port", None),
    ("debug_handler_port", None),
    ("pulse_sink_reap_grace_sec", None),
    ("cpu_cost", Some(&CPU_COST_KEYS)),
]);

/// Keys older egress versions or the README use, which current egress ignores (facts §1.8).
pub const DEPRECATED: &[(&str, &str)] = &[
    ("log_level", "removed in v1.9.0: logging.level"),
    ("s3", "the pre-v1.9.0 format: storage.s3"),
    ("azure", "the pre-v1.9.0 format: storage.azure"),
    ("gcp", "the pre-v1.9.0 format: storage.gcp"),
    ("alioss", "the pre-v1.9.0 format: storage.alioss"),
    ("backup_storage", "backup is a storage block: backup.prefix"),
    (
        "latency.rtp_max_allowed_ts_diff",
        "its Go tag is misspelled `ymal:`",
    ),
    (
        "latency.rtp_max_drift_adjustment",
        "its Go tag is misspelled `ymal:`",
    ),
    (
        "latency.rtp_drift_adjustment_window_percent",
        "its Go tag is misspelled `ymal:`",
    ),
];

/// Whether a rendered document uses only keys egress reads, and none it ignores.
pub fn check(doc: &Value) -> std::result::Result<(), String> {
    check_keys(doc, &KNOWN, DEPRECATED, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Settings};
    use crate::secrets::Secret;
    use hero_livekit_api::types::KeyState;

    fn key(name: &str, state: KeyState, activated: i64) -> KeyRow {
        KeyRow {
            api_key: name.into(),
            secret: Secret::new(format!("{name}-secret-{}", "x".repeat(32))),
            state,
            created_at: activated,
            activated_at: Some(activated),
            retire_at: None,
            revoked_at: None,
        }
    }

    fn config(egress_toml: &str) -> Config {
        let mut s: Settings = toml::from_str(&format!(
            "[redis]\naddress = \"10.0.0.7:6379\"\npassword = \"redis-pw\"\ndb = 3\n[egress]\nenabled = true\n{egress_toml}"
        ))
        .unwrap();
        s.home = Some("/tmp/hero-egress-render-test".into());
        Config::from_settings(s, None).unwrap()
    }

    fn doc(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn the_render_uses_only_keys_egress_reads_and_none_it_ignores() {
        let full = crate::config::egress::sample();
        let mut s: Settings =
            toml::from_str("[redis]\naddress = \"10.0.0.7:6379\"\npassword = \"p\"").unwrap();
        s.egress = full;
        let c = Config::from_settings(s, None).unwrap();
        let rows = [key("APIactive", KeyState::Active, 10)];
        let text = render(&c, &rows, 2).unwrap();
        let d = doc(&text);
        check(&d).unwrap();
        // Every section of the full config appears, in the v1.9+ layout.
        for k in [
            "redis",
            "api_key",
            "api_secret",
            "ws_url",
            "insecure",
            "logging",
            "health_port",
            "prometheus_port",
            "cluster_id",
            "disallow_local_storage",
            "storage",
            "backup",
            "session_limits",
            "cpu_cost",
        ] {
            assert!(d.get(k).is_some(), "{k} missing from\n{text}");
        }
        assert_eq!(d["storage"]["s3"]["bucket"], "livekit");
        assert_eq!(d["storage"]["s3"]["max_retry_delay"], "5s");
        assert_eq!(d["storage"]["s3"]["min_retry_delay"], "100ms");
        assert_eq!(d["storage"]["s3"]["force_path_style"], true);
        assert_eq!(d["backup"]["prefix"], "/home/egress/backup");
        assert_eq!(d["session_limits"]["file_output_max_duration"], "14400s");
        assert_eq!(d["logging"]["level"], "info");
        // The check itself refuses what egress would drop.
        for (bad, why) in [
            ("log_level: debug", "deprecated"),
            ("s3: {bucket: b}", "deprecated"),
            ("backup_storage: /x", "deprecated"),
            ("latency: {rtp_max_allowed_ts_diff: 5s}", "deprecated"),
            ("storage: {s3: {bucket_name: b}}", "storage.s3.bucket_name"),
            ("cpu_cost: {room_composite_cost: 1}", "not a key"),
        ] {
            let e = check(&doc(bad)).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn key_and_redis_are_exactly_livekit_yamls() {
        let c = config("");
        let rows = [
            key("APIold", KeyState::Retiring, 10),
            key("APInew", KeyState::Active, 20),
        ];
        let d = doc(&render(&c, &rows, 8).unwrap());
        assert_eq!(d["api_key"], "APInew");
        assert_eq!(d["api_secret"], rows[1].secret.expose());
        let block = serde_json::to_value(c.redis.as_ref().unwrap().block()).unwrap();
        assert_eq!(d["redis"], block);
        assert_eq!(d["redis"]["db"], 3);
        // ws:// → insecure; no storage → files stay local, so local storage is allowed.
        assert_eq!(d["insecure"], true);
        assert!(d.get("disallow_local_storage").is_none());
        let d = doc(&render(&config("ws_url = \"wss://lk.example.com\""), &rows, 8).unwrap());
        assert!(d.get("insecure").is_none());
    }

    #[test]
    fn cpu_costs_are_sized_for_the_host() {
        let rows = [key("APIa", KeyState::Active, 1)];
        // 2 cores: room composite and web (4) and participant (2 fits) become 2.
        let d = doc(&render(&config(""), &rows, 2).unwrap());
        assert_eq!(d["cpu_cost"]["room_composite_cpu_cost"], 2.0);
        assert_eq!(d["cpu_cost"]["web_cpu_cost"], 2.0);
        assert!(d["cpu_cost"].get("participant_cpu_cost").is_none());
        // 8 cores: LiveKit's defaults fit; nothing is written.
        let d = doc(&render(&config(""), &rows, 8).unwrap());
        assert!(d.get("cpu_cost").is_none(), "{d}");
        // The operator's value always wins.
        let d = doc(&render(
            &config("[egress.cpu_cost]\nroom_composite_cpu_cost = 0.01"),
            &rows,
            2,
        )
        .unwrap());
        assert_eq!(d["cpu_cost"]["room_composite_cpu_cost"], 0.01);
    }
}
