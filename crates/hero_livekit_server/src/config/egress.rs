//! `[egress]`: LiveKit's egress service (recordings and live streams), for which the control
//! plane renders egress.yaml (side-services facts §1, design §11.1). The table is checked here;
//! the file is rendered by `side::egress` from the checked [`Egress`].

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use super::{Dur, FileAccess, LOG_LEVELS, Redis, check_url, invalid};
use crate::error::Result;
use crate::secrets::Secret;

/// `health_port` default: 9090 is ingress's `http_relay_port` on a shared host (facts §1.9).
pub const HEALTH_PORT: u16 = 9100;

/// The `[egress]` table as given (TOML only).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EgressSettings {
    pub enabled: Option<bool>,
    /// livekit-server's URL as the egress host reaches it (ws:// or wss://).
    pub ws_url: Option<String>,
    pub health_port: Option<u16>,
    pub prometheus_port: Option<u16>,
    pub log_level: Option<String>,
    pub cluster_id: Option<String>,
    /// "0600" (default) or "0640" (for an egress container that runs as another user).
    pub file_mode: Option<String>,
    /// Group (name or gid) that owns egress.yaml with file_mode "0640".
    pub file_group: Option<String>,
    pub storage: Option<StorageSettings>,
    pub backup: Option<StorageSettings>,
    pub session_limits: Option<SessionLimitsSettings>,
    pub cpu_cost: Option<CpuCostSettings>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    pub prefix: Option<String>,
    pub generate_presigned_url: Option<bool>,
    pub s3: Option<S3Settings>,
    pub azure: Option<AzureSettings>,
    pub gcp: Option<GcpSettings>,
    pub alioss: Option<AliOssSettings>,
}

#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    pub access_key: Option<String>,
    pub secret: Option<String>,
    pub session_token: Option<String>,
    pub assume_role_arn: Option<String>,
    pub assume_role_external_id: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub force_path_style: Option<bool>,
    pub max_retries: Option<u32>,
    pub max_retry_delay: Option<Dur>,
    pub min_retry_delay: Option<Dur>,
}

#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AzureSettings {
    pub account_name: Option<String>,
    pub account_key: Option<String>,
    pub container_name: Option<String>,
}

#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GcpSettings {
    /// The service account's JSON key, as text.
    pub credentials_json: Option<String>,
    pub bucket: Option<String>,
}

#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AliOssSettings {
    pub access_key: Option<String>,
    pub secret: Option<String>,
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimitsSettings {
    pub file_output_max_duration: Option<Dur>,
    /// Bytes.
    pub file_output_max_size: Option<u64>,
    pub stream_output_max_duration: Option<Dur>,
    pub segment_output_max_duration: Option<Dur>,
    pub image_output_max_duration: Option<Dur>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CpuCostSettings {
    pub max_cpu_utilization: Option<f64>,
    pub room_composite_cpu_cost: Option<f64>,
    pub audio_room_composite_cpu_cost: Option<f64>,
    pub web_cpu_cost: Option<f64>,
    pub audio_web_cpu_cost: Option<f64>,
    pub participant_cpu_cost: Option<f64>,
    pub track_composite_cpu_cost: Option<f64>,
    pub track_cpu_cost: Option<f64>,
    /// GB; 0 = no memory check.
    pub max_memory: Option<f64>,
    /// GB each egress is assumed to need.
    pub memory_cost: Option<f64>,
}

/// The checked `[egress]` table. Serialized, it is `config.get`'s `egress` (secrets redacted by
/// their type, durations as `*_s`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Egress {
    pub enabled: bool,
    pub ws_url: String,
    /// Rendered exactly when `ws_url` is ws:// (Chrome refuses an insecure WebSocket otherwise).
    pub insecure: bool,
    pub health_port: u16,
    pub prometheus_port: Option<u16>,
    pub log_level: String,
    pub cluster_id: Option<String>,
    /// `file_mode` ("0600" or "0640") and `file_group`.
    #[serde(flatten)]
    pub access: FileAccess,
    pub storage: Option<Storage>,
    pub backup: Option<Storage>,
    pub session_limits: SessionLimits,
    /// As given; values left out are sized for the host when rendered.
    pub cpu_cost: CpuCostSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Storage {
    pub prefix: Option<String>,
    pub generate_presigned_url: Option<bool>,
    pub s3: Option<S3>,
    pub azure: Option<Azure>,
    pub gcp: Option<Gcp>,
    pub alioss: Option<AliOss>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct S3 {
    pub access_key: Option<String>,
    pub secret: Option<Secret>,
    pub session_token: Option<Secret>,
    pub assume_role_arn: Option<String>,
    pub assume_role_external_id: Option<Secret>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub bucket: String,
    pub force_path_style: bool,
    pub max_retries: Option<u32>,
    #[serde(rename = "max_retry_delay_s", serialize_with = "opt_secs")]
    pub max_retry_delay: Option<Duration>,
    #[serde(rename = "min_retry_delay_s", serialize_with = "opt_secs")]
    pub min_retry_delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Azure {
    pub account_name: String,
    pub account_key: Secret,
    pub container_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gcp {
    pub credentials_json: Option<Secret>,
    pub bucket: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliOss {
    pub access_key: String,
    pub secret: Secret,
    pub endpoint: String,
    pub bucket: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionLimits {
    #[serde(rename = "file_output_max_duration_s", serialize_with = "opt_secs")]
    pub file_output_max_duration: Option<Duration>,
    pub file_output_max_size: Option<u64>,
    #[serde(rename = "stream_output_max_duration_s", serialize_with = "opt_secs")]
    pub stream_output_max_duration: Option<Duration>,
    #[serde(rename = "segment_output_max_duration_s", serialize_with = "opt_secs")]
    pub segment_output_max_duration: Option<Duration>,
    #[serde(rename = "image_output_max_duration_s", serialize_with = "opt_secs")]
    pub image_output_max_duration: Option<Duration>,
}

fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn required(setting: &str, v: Option<String>) -> Result<String> {
    text(v).ok_or_else(|| invalid(setting, "is required"))
}

impl StorageSettings {
    fn resolve(self, table: &str) -> Result<Storage> {
        let set = |name: &str| format!("{table}.{name}");
        let providers = [
            self.s3.is_some(),
            self.azure.is_some(),
            self.gcp.is_some(),
            self.alioss.is_some(),
        ];
        if providers.iter().filter(|p| **p).count() > 1 {
            return Err(invalid(
                table,
                "set one of s3, azure, gcp or alioss: egress uploads to one place",
            ));
        }
        let s3 = match self.s3 {
            None => None,
            Some(s) => {
                let t = set("s3");
                let access_key = text(s.access_key);
                let secret = text(s.secret);
                if access_key.is_some() != secret.is_some() {
                    return Err(invalid(
                        &format!("{t}.secret"),
                        "access_key and secret go together (leave both out to use the egress \
                         host's own credentials, e.g. an instance role)",
                    ));
                }
                if let Some(e) = &s.endpoint {
                    check_url(&format!("{t}.endpoint"), e, &["http", "https"])?;
                }
                Some(S3 {
                    access_key,
                    secret: secret.map(Secret::new),
                    session_token: text(s.session_token).map(Secret::new),
                    assume_role_arn: text(s.assume_role_arn),
                    assume_role_external_id: text(s.assume_role_external_id).map(Secret::new),
                    region: text(s.region),
                    endpoint: text(s.endpoint).map(|e| e.trim_end_matches('/').to_string()),
                    bucket: required(&format!("{t}.bucket"), s.bucket)?,
                    force_path_style: s.force_path_style.unwrap_or(false),
                    max_retries: s.max_retries,
                    max_retry_delay: s.max_retry_delay.map(Duration::from),
                    min_retry_delay: s.min_retry_delay.map(Duration::from),
                })
            }
        };
        let azure = match self.azure {
            None => None,
            Some(a) => {
                let t = set("azure");
                Some(Azure {
                    account_name: required(&format!("{t}.account_name"), a.account_name)?,
                    account_key: Secret::new(required(&format!("{t}.account_key"), a.account_key)?),
                    container_name: required(&format!("{t}.container_name"), a.container_name)?,
                })
            }
        };
        let gcp = match self.gcp {
            None => None,
            Some(g) => {
                let t = set("gcp");
                if let Some(c) = text(g.credentials_json.clone())
                    && serde_json::from_str::<serde_json::Value>(&c).is_err()
                {
                    return Err(invalid(
                        &format!("{t}.credentials_json"),
                        "is not JSON: paste the service account key file's content",
                    ));
                }
                Some(Gcp {
                    credentials_json: text(g.credentials_json).map(Secret::new),
                    bucket: required(&format!("{t}.bucket"), g.bucket)?,
                })
            }
        };
        let alioss = match self.alioss {
            None => None,
            Some(o) => {
                let t = set("alioss");
                Some(AliOss {
                    access_key: required(&format!("{t}.access_key"), o.access_key)?,
                    secret: Secret::new(required(&format!("{t}.secret"), o.secret)?),
                    endpoint: required(&format!("{t}.endpoint"), o.endpoint)?,
                    bucket: required(&format!("{t}.bucket"), o.bucket)?,
                })
            }
        };
        Ok(Storage {
            prefix: text(self.prefix),
            generate_presigned_url: self.generate_presigned_url,
            s3,
            azure,
            gcp,
            alioss,
        })
    }
}

impl Storage {
    /// Whether files go to a cloud store (rather than a directory on the egress host).
    pub fn is_cloud(&self) -> bool {
        self.s3.is_some() || self.azure.is_some() || self.gcp.is_some() || self.alioss.is_some()
    }
}

impl CpuCostSettings {
    fn check(&self) -> Result<()> {
        let costs = [
            ("room_composite_cpu_cost", self.room_composite_cpu_cost),
            (
                "audio_room_composite_cpu_cost",
                self.audio_room_composite_cpu_cost,
            ),
            ("web_cpu_cost", self.web_cpu_cost),
            ("audio_web_cpu_cost", self.audio_web_cpu_cost),
            ("participant_cpu_cost", self.participant_cpu_cost),
            ("track_composite_cpu_cost", self.track_composite_cpu_cost),
            ("track_cpu_cost", self.track_cpu_cost),
            ("max_memory", self.max_memory),
            ("memory_cost", self.memory_cost),
        ];
        for (name, v) in costs {
            if let Some(v) = v
                && !(v.is_finite() && (v > 0.0 || (name.contains("memory") && v == 0.0)))
            {
                // LiveKit replaces a cost ≤ 0 with its default without a word.
                return Err(invalid(
                    &format!("egress.cpu_cost.{name}"),
                    format!("{v} must be more than 0 (egress would silently use its default)"),
                ));
            }
        }
        if let Some(u) = self.max_cpu_utilization
            && !(u > 0.0 && u <= 1.0)
        {
            return Err(invalid(
                "egress.cpu_cost.max_cpu_utilization",
                format!("{u} must be in (0, 1] (egress would silently use 0.8)"),
            ));
        }
        Ok(())
    }
}

impl EgressSettings {
    /// Checks the table. `redis` is `[redis]`, checked already: enabling egress without it is
    /// refused, since egress meets livekit-server only over Redis.
    pub fn resolve(self, redis: Option<&Redis>, sfu_port: u16) -> Result<Egress> {
        let enabled = self.enabled.unwrap_or(false);
        if enabled && redis.is_none() {
            return Err(invalid(
                "egress.enabled",
                "egress needs Redis: LiveKit's egress service meets livekit-server only over \
                 Redis, and without it livekit-server answers every egress call with \"egress \
                 not connected (redis required)\" or \"no response from servers\"; set [redis] \
                 (one Redis, rendered into livekit.yaml and egress.yaml alike)",
            ));
        }
        let ws_url = match self.ws_url {
            Some(u) => check_url("egress.ws_url", &u, &["ws", "wss"])?,
            None => format!("ws://127.0.0.1:{sfu_port}"),
        };
        let insecure = ws_url.starts_with("ws://");
        let health_port = self.health_port.unwrap_or(HEALTH_PORT);
        if health_port == 0 {
            return Err(invalid("egress.health_port", "must be 1-65535"));
        }
        if self.prometheus_port == Some(0) {
            return Err(invalid("egress.prometheus_port", "must be 1-65535"));
        }
        if self.prometheus_port == Some(health_port) {
            return Err(invalid(
                "egress.prometheus_port",
                "must differ from egress.health_port",
            ));
        }
        let log_level = self
            .log_level
            .unwrap_or_else(|| "info".into())
            .to_lowercase();
        if !LOG_LEVELS.contains(&log_level.as_str()) {
            return Err(invalid(
                "egress.log_level",
                format!("{log_level:?} is not one of {}", LOG_LEVELS.join(", ")),
            ));
        }
        let access = FileAccess::resolve("egress", self.file_mode, self.file_group)?;
        let cpu_cost = self.cpu_cost.unwrap_or_default();
        cpu_cost.check()?;
        let limits = self.session_limits.unwrap_or_default();
        Ok(Egress {
            enabled,
            ws_url,
            insecure,
            health_port,
            prometheus_port: self.prometheus_port,
            log_level,
            cluster_id: text(self.cluster_id),
            access,
            storage: self
                .storage
                .map(|s| s.resolve("egress.storage"))
                .transpose()?,
            backup: self
                .backup
                .map(|s| s.resolve("egress.backup"))
                .transpose()?,
            session_limits: SessionLimits {
                file_output_max_duration: limits.file_output_max_duration.map(Duration::from),
                file_output_max_size: limits.file_output_max_size,
                stream_output_max_duration: limits.stream_output_max_duration.map(Duration::from),
                segment_output_max_duration: limits.segment_output_max_duration.map(Duration::from),
                image_output_max_duration: limits.image_output_max_duration.map(Duration::from),
            },
            cpu_cost,
        })
    }
}

hero_livekit_api::redacted_debug!(S3Settings, AzureSettings, GcpSettings, AliOssSettings);

#[cfg(test)]
pub(crate) fn sample() -> EgressSettings {
    // Every setting set, for the tests that look for each one in the example and config.get.
    toml::from_str(
        r#"
        enabled = true
        ws_url = "ws://10.0.0.5:7880"
        health_port = 9100
        prometheus_port = 9101
        log_level = "info"
        cluster_id = "eu"
        file_mode = "0640"
        file_group = "0"
        [storage]
        prefix = "recordings/"
        generate_presigned_url = false
        [storage.s3]
        access_key = "AKIAEXAMPLE"
        secret = "s3-secret-value"
        session_token = "s3-session-token"
        assume_role_arn = "arn:aws:iam::1:role/egress"
        assume_role_external_id = "external-id-value"
        region = "us-east-1"
        endpoint = "http://minio:9000"
        bucket = "livekit"
        force_path_style = true
        max_retries = 5
        max_retry_delay = "5s"
        min_retry_delay = "100ms"
        [backup]
        prefix = "/home/egress/backup"
        [backup.azure]
        account_name = "acct"
        account_key = "azure-key-value"
        container_name = "recordings"
        [session_limits]
        file_output_max_duration = "4h"
        file_output_max_size = 10000000000
        stream_output_max_duration = "8h"
        segment_output_max_duration = "4h"
        image_output_max_duration = "4h"
        [cpu_cost]
        max_cpu_utilization = 0.8
        room_composite_cpu_cost = 2
        audio_room_composite_cpu_cost = 1
        web_cpu_cost = 2
        audio_web_cpu_cost = 1
        participant_cpu_cost = 1
        track_composite_cpu_cost = 1
        track_cpu_cost = 0.5
        max_memory = 8
        memory_cost = 0.5
        "#,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis() -> Redis {
        crate::config::RedisSettings {
            address: Some("127.0.0.1:6379".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .unwrap()
    }

    fn settings(toml: &str) -> EgressSettings {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn enabling_egress_without_redis_is_refused_with_the_reason() {
        let err = settings("enabled = true")
            .resolve(None, 7880)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("egress.enabled") && err.contains("egress needs Redis"),
            "{err}"
        );
        // Disabled, no Redis is fine.
        assert!(!settings("").resolve(None, 7880).unwrap().enabled);
    }

    #[test]
    fn insecure_exactly_when_ws_url_is_ws() {
        let r = redis();
        let e = settings("enabled = true").resolve(Some(&r), 7999).unwrap();
        assert_eq!(e.ws_url, "ws://127.0.0.1:7999");
        assert!(e.insecure);
        let e = settings("enabled = true\nws_url = \"wss://lk.example.com\"")
            .resolve(Some(&r), 7880)
            .unwrap();
        assert!(!e.insecure);
        let err = settings("ws_url = \"http://x\"")
            .resolve(Some(&r), 7880)
            .unwrap_err()
            .to_string();
        assert!(err.contains("egress.ws_url"), "{err}");
    }

    #[test]
    fn bad_tables_name_the_setting() {
        let r = redis();
        let cases = [
            ("file_mode = \"0644\"", "egress.file_mode"),
            ("file_group = \"0\"", "egress.file_group"),
            ("log_level = \"loud\"", "egress.log_level"),
            ("health_port = 0", "egress.health_port"),
            (
                "health_port = 9100\nprometheus_port = 9100",
                "egress.prometheus_port",
            ),
            ("[storage.s3]\nregion = \"x\"", "egress.storage.s3.bucket"),
            (
                "[storage.s3]\nbucket = \"b\"\naccess_key = \"k\"",
                "egress.storage.s3.secret",
            ),
            (
                "[storage.s3]\nbucket = \"b\"\n[storage.gcp]\nbucket = \"b\"",
                "egress.storage",
            ),
            (
                "[backup.gcp]\nbucket = \"b\"\ncredentials_json = \"nope\"",
                "egress.backup.gcp.credentials_json",
            ),
            (
                "[cpu_cost]\nroom_composite_cpu_cost = 0",
                "egress.cpu_cost.room_composite_cpu_cost",
            ),
            (
                "[cpu_cost]\nmax_cpu_utilization = 1.5",
                "egress.cpu_cost.max_cpu_utilization",
            ),
        ];
        for (toml, setting) in cases {
            let err = settings(toml)
                .resolve(Some(&r), 7880)
                .unwrap_err()
                .to_string();
            assert!(err.contains(setting), "{toml}: {err}");
        }
        // A misspelled key is refused when the file is read, not ignored as egress would.
        assert!(toml::from_str::<EgressSettings>("log_levle = \"info\"").is_err());
        assert!(toml::from_str::<EgressSettings>("[storage.s3]\nbuckett = \"b\"").is_err());
    }

    #[test]
    fn storage_credentials_are_secrets() {
        let e = sample().resolve(Some(&redis()), 7880).unwrap();
        let shown = serde_json::to_value(&e).unwrap().to_string();
        for secret in [
            "s3-secret-value",
            "s3-session-token",
            "external-id-value",
            "azure-key-value",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("AKIAEXAMPLE"), "{shown}");
        assert!(!format!("{e:?}").contains("s3-secret-value"));
        assert_eq!(e.access.file_mode, 0o640);
    }
}
