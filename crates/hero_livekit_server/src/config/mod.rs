//! Configuration: defaults < TOML file (`--config`) < `HERO_LIVEKIT_*` env < flags (design §3).
//!
//! One struct, [`Settings`], is both the clap argument group (flags, with their env vars) and the
//! TOML file's shape, so a setting cannot exist in one source and be missing from the other.
//! Sources are layered generically (a field set in a later source wins), and the effective
//! [`Config`] is what `config.get` shows, serialized with its secrets redacted by type. Tests
//! fail when a setting is missing from the example config or from `config.get`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use hero_livekit_api::paths;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

pub(crate) mod egress;
pub(crate) mod ingress;
pub mod public;
mod redis;
pub(crate) mod sip;
pub use egress::{
    AliOss, Azure, CpuCostSettings, Egress, EgressSettings, Gcp, HEALTH_PORT as EGRESS_HEALTH_PORT,
    S3, SessionLimits, Storage,
};
pub use ingress::{
    HEALTH_PORT as INGRESS_HEALTH_PORT, Ingress, IngressCpuCost, IngressSettings, RtcConfig,
};
pub use public::{Public, PublicSettings, Topology};
pub use redis::{Redis, RedisBlock, RedisSettings, SENTINEL_TIMEOUT_MS};
pub use sip::{HEALTH_PORT as SIP_HEALTH_PORT, Sip, SipSettings, SipTls};

pub use hero_livekit_api::duration::Dur;

/// Every setting, optional so sources can be layered. Field docs are the `--help` text.
#[derive(Debug, Clone, Default, Args, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// State directory (server.db, livekit.yaml, backend.env) [default: ~/hero/var/hero_livekit]
    #[arg(long, env = "HERO_LIVEKIT_HOME")]
    pub home: Option<PathBuf>,
    /// JSON-RPC socket [default: ~/hero/var/sockets/hero_livekit_server/rpc.sock]
    #[arg(long, env = "HERO_LIVEKIT_SOCKET")]
    pub socket: Option<PathBuf>,
    /// LiveKit API URL the control plane calls [default: http://127.0.0.1:7880]; `https://` is
    /// verified against the system trust store (SSL_CERT_FILE / SSL_CERT_DIR override it)
    #[arg(long, env = "HERO_LIVEKIT_LIVEKIT_URL")]
    pub livekit_url: Option<String>,
    /// LiveKit URL handed to clients with their tokens [default: ws://127.0.0.1:7880]
    #[arg(long, env = "HERO_LIVEKIT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The SFU's public IP (`rtc.node_ip`); "a.b.c.d" or "ipv4,ipv6"
    #[arg(long, env = "HERO_LIVEKIT_NODE_IP")]
    pub node_ip: Option<String>,
    /// The control plane's database: sqlite://<path> or postgres://user:pass@host:port/db
    /// [default: sqlite://<home>/server.db]
    #[arg(long, env = "HERO_LIVEKIT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// lk-backend's database (DATABASE_URL in backend.env); may be another database than the
    /// control plane's [default: sqlite://<home>/backend.db]
    #[arg(long, env = "HERO_LIVEKIT_BACKEND_DATABASE_URL")]
    pub backend_database_url: Option<String>,
    /// The SFU's HTTP/WebSocket port (livekit.yaml `port`), also where the control plane reaches
    /// each node of a fleet [default: 7880]
    #[arg(long, env = "HERO_LIVEKIT_SFU_PORT")]
    pub sfu_port: Option<u16>,
    /// `[redis]`: the Redis every LiveKit node shares
    #[command(flatten)]
    #[serde(default)]
    pub redis: RedisSettings,
    /// Deprecated spelling of `[redis] address` (TOML only).
    #[arg(skip)]
    pub redis_address: Option<String>,
    /// Port of the SFU's Prometheus endpoint (`prometheus.port`)
    #[arg(long, env = "HERO_LIVEKIT_SFU_PROMETHEUS_PORT")]
    pub sfu_prometheus_port: Option<u16>,
    /// The control plane's own Prometheus listener (`GET /metrics`): a loopback `host:port`, or
    /// a port alone for 127.0.0.1 [default: off]
    #[arg(long, env = "HERO_LIVEKIT_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// SFU log level: debug, info, warn or error [default: info]
    #[arg(long, env = "HERO_LIVEKIT_SFU_LOG_LEVEL")]
    pub sfu_log_level: Option<String>,
    /// lk-backend port (PORT, webhook URL, backend.info) [default: 8081]
    #[arg(long, env = "HERO_LIVEKIT_BACKEND_PORT")]
    pub backend_port: Option<u16>,
    /// lk-backend bind address [default: 0.0.0.0]
    #[arg(long, env = "HERO_LIVEKIT_BACKEND_BIND")]
    pub backend_bind: Option<String>,
    /// Webhook URL written into livekit.yaml [default: http://127.0.0.1:<backend port>/webhook]
    #[arg(long, env = "HERO_LIVEKIT_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Default token lifetime [default: 1h]
    #[arg(long, env = "HERO_LIVEKIT_TOKEN_TTL")]
    pub token_ttl: Option<Dur>,
    /// Longest token lifetime a caller may ask for [default: 24h]
    #[arg(long, env = "HERO_LIVEKIT_TOKEN_MAX_TTL")]
    pub token_max_ttl: Option<Dur>,
    /// Timeout of calls to the SFU [default: 3s]
    #[arg(long, env = "HERO_LIVEKIT_LIVEKIT_TIMEOUT")]
    pub livekit_timeout: Option<Dur>,
    /// Group whose members may use the socket (socket dir becomes 0710, group-owned)
    #[arg(long, env = "HERO_LIVEKIT_SOCKET_GROUP")]
    pub socket_group: Option<String>,
    /// Origins allowed to call lk-backend's token endpoint from a browser (comma-separated)
    #[arg(long, env = "HERO_LIVEKIT_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Extra livekit.yaml settings (TOML only), validated against LiveKit's known keys.
    #[arg(skip)]
    pub livekit_overrides: Option<toml::Table>,
    /// `[egress]` (TOML only): LiveKit's egress service, for which egress.yaml is rendered.
    #[arg(skip)]
    #[serde(default)]
    pub egress: EgressSettings,
    /// `[ingress]` (TOML only): LiveKit's ingress service, for which ingress.yaml and
    /// livekit.yaml's `ingress:` block are rendered.
    #[arg(skip)]
    #[serde(default)]
    pub ingress: IngressSettings,
    /// `[sip]` (TOML only): LiveKit's SIP service, for which sip.yaml is rendered.
    #[arg(skip)]
    #[serde(default)]
    pub sip: SipSettings,
    /// `[public]`: LiveKit on a public domain (TLS, TURN, Caddy, HAProxy)
    #[command(flatten)]
    #[serde(default)]
    pub public: PublicSettings,
}

impl Settings {
    /// `other` wins wherever it sets a value (at any depth of a table).
    fn overlay(self, other: Settings) -> Result<Settings> {
        fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
            match (base, over) {
                (_, serde_json::Value::Null) => {}
                (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
                    for (k, v) in o {
                        merge(b.entry(k).or_insert(serde_json::Value::Null), v);
                    }
                }
                (b, o) => *b = o,
            }
        }
        let to_value = |s: &Settings| {
            serde_json::to_value(s).map_err(|e| Error::Internal(format!("settings: {e}")))
        };
        let mut base = to_value(&self)?;
        merge(&mut base, to_value(&other)?);
        serde_json::from_value(base).map_err(|e| Error::Internal(format!("settings: {e}")))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "hero_livekit_server",
    version,
    about = "hero_livekit control plane: owns LiveKit keys and config, serves JSON-RPC on rpc.sock"
)]
pub struct Cli {
    /// TOML config file (same names as the flags, in snake_case)
    #[arg(long, env = "HERO_LIVEKIT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a commented example config file with every default.
    PrintDefaultConfig,
}

/// The commented example config (also `config/hero_livekit_server.toml`).
pub const EXAMPLE_CONFIG: &str = include_str!("../../../../config/hero_livekit_server.toml");

/// The effective configuration. Serialized, it is `config.get`: field names as in the TOML
/// file, durations as whole seconds in `*_s` fields, secrets as `<redacted>` (by type).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    #[serde(serialize_with = "display_path")]
    pub home: PathBuf,
    #[serde(serialize_with = "display_path")]
    pub socket: PathBuf,
    #[serde(serialize_with = "display_opt_path")]
    pub config_file: Option<PathBuf>,
    pub database_url: DbUrl,
    pub backend_database_url: DbUrl,
    pub livekit_url: String,
    pub public_url: String,
    pub node_ip: Option<String>,
    pub sfu_port: u16,
    /// `None`: single node, no Redis.
    pub redis: Option<Redis>,
    pub sfu_prometheus_port: Option<u16>,
    /// `None`: no metrics listener. Always a loopback address.
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub sfu_log_level: String,
    pub backend_port: u16,
    pub backend_bind: String,
    pub webhook_url: String,
    #[serde(rename = "token_ttl_s", serialize_with = "secs")]
    pub token_ttl: Duration,
    #[serde(rename = "token_max_ttl_s", serialize_with = "secs")]
    pub token_max_ttl: Duration,
    /// Whole seconds, rounded up (a 1.5 s timeout shows as 2).
    #[serde(rename = "livekit_timeout_s", serialize_with = "secs_ceil")]
    pub livekit_timeout: Duration,
    pub socket_group: Option<String>,
    pub cors_allowed_origins: Vec<String>,
    /// `[livekit_overrides]` as JSON, ready to merge into the rendered livekit.yaml.
    #[serde(serialize_with = "redacted_json")]
    pub livekit_overrides: serde_json::Map<String, serde_json::Value>,
    /// `[egress]`: egress.yaml is rendered while `enabled`.
    pub egress: Egress,
    /// `[ingress]`: ingress.yaml (and livekit.yaml's `ingress:`) rendered while `enabled`.
    pub ingress: Ingress,
    /// `[sip]`: sip.yaml rendered while `enabled`.
    pub sip: Sip,
    /// `None`: the loopback deployment.
    pub public: Option<Public>,
}

/// A database URL. Its password is a secret: shown redacted (`config.get`, logs, Debug); only
/// [`DbUrl::expose`] gives it to the store and to backend.env (0600).
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(String);

impl DbUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        if self.0.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }

    fn parse(setting: &str, url: String) -> Result<DbUrl> {
        // `sqlite://~/…` means the operator's home, as paths do everywhere else.
        let url = match url.strip_prefix("sqlite://~/") {
            Some(rest) => format!(
                "sqlite://{}",
                paths::expand_tilde(Path::new(&format!("~/{rest}"))).display()
            ),
            None => url,
        };
        let ok = url.starts_with("sqlite:")
            || ((url.starts_with("postgres://") || url.starts_with("postgresql://"))
                && url::Url::parse(&url).is_ok());
        if !ok {
            return Err(invalid(
                setting,
                format!(
                    "{:?} must be sqlite://<path> or postgres://user:password@host:port/database",
                    hero_livekit_api::redact::url(&url)
                ),
            ));
        }
        Ok(DbUrl(url))
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hero_livekit_api::redact::url(&self.0))
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hero_livekit_api::redact::url(&self.0))
    }
}

impl Serialize for DbUrl {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The SFU's default HTTP port (livekit.yaml `port`).
pub const SFU_PORT: u16 = 7880;

fn display_path<S: Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.display().to_string())
}

fn display_opt_path<S: Serializer>(
    p: &Option<PathBuf>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&p.display().to_string()),
        None => s.serialize_none(),
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

fn secs_ceil<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

fn redacted_json<S: Serializer>(
    m: &serde_json::Map<String, serde_json::Value>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    hero_livekit_api::redact::json(serde_json::Value::Object(m.clone())).serialize(s)
}

const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];

fn invalid(setting: &str, reason: impl Into<String>) -> Error {
    Error::Config {
        setting: setting.to_string(),
        reason: reason.into(),
    }
}

/// Who may read a side service's rendered file: 0600, or 0640 with a group for a container
/// that runs as another user (side-services facts §1.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileAccess {
    #[serde(serialize_with = "octal")]
    pub file_mode: u32,
    pub file_group: Option<String>,
}

fn octal<S: Serializer>(m: &u32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{m:04o}"))
}

impl FileAccess {
    pub(crate) fn resolve(
        table: &str,
        mode: Option<String>,
        group: Option<String>,
    ) -> Result<FileAccess> {
        let file_mode = match mode.as_deref().map(str::trim) {
            None | Some("0600" | "600") => 0o600,
            Some("0640" | "640") => 0o640,
            Some(other) => {
                return Err(invalid(
                    &format!("{table}.file_mode"),
                    format!(
                        "{other:?} must be \"0600\" or \"0640\" (group-readable, for a container \
                         that runs as another user)"
                    ),
                ));
            }
        };
        let file_group = group
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty());
        if file_group.is_some() && file_mode != 0o640 {
            return Err(invalid(
                &format!("{table}.file_group"),
                "is only used with file_mode = \"0640\"",
            ));
        }
        Ok(FileAccess {
            file_mode,
            file_group,
        })
    }
}

fn check_url(setting: &str, value: &str, schemes: &[&str]) -> Result<String> {
    let u = url::Url::parse(value)
        .map_err(|e| invalid(setting, format!("{value:?} is not a URL ({e})")))?;
    if !schemes.contains(&u.scheme()) {
        return Err(invalid(
            setting,
            format!("{value:?} must use {}", schemes.join(" or ")),
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(invalid(setting, format!("{value:?} has no host")));
    }
    Ok(value.trim_end_matches('/').to_string())
}

impl Config {
    /// Layers the sources: defaults < TOML file < env < flags (clap already put env under flags).
    pub fn load(cli: Cli) -> Result<Config> {
        let mut settings = Settings::default();
        let config_file = cli.config.map(|p| paths::expand_tilde(&p));
        if let Some(path) = &config_file {
            settings = settings.overlay(read_toml(path)?)?;
        }
        settings = settings.overlay(cli.settings)?;
        Config::from_settings(settings, config_file)
    }

    pub fn from_settings(s: Settings, config_file: Option<PathBuf>) -> Result<Config> {
        let home = s
            .home
            .map(|p| paths::expand_tilde(&p))
            .unwrap_or_else(paths::default_home);
        let socket = s
            .socket
            .map(|p| paths::expand_tilde(&p))
            .unwrap_or_else(paths::default_socket);
        let livekit_url = check_url(
            "livekit_url",
            s.livekit_url.as_deref().unwrap_or("http://127.0.0.1:7880"),
            &["http", "https"],
        )?;
        let public = s.public.resolve()?;
        let public_url = check_url(
            "public_url",
            s.public_url.as_deref().unwrap_or(
                &public
                    .as_ref()
                    .map_or("ws://127.0.0.1:7880".into(), Public::public_url),
            ),
            &["ws", "wss", "http", "https"],
        )?;
        if let Some(ip) = &s.node_ip {
            let parts: Vec<&str> = ip.split(',').collect();
            if parts.len() > 2 || parts.iter().any(|p| p.trim().parse::<IpAddr>().is_err()) {
                return Err(invalid(
                    "node_ip",
                    format!("{ip:?} is not an IP address (or \"ipv4,ipv6\")"),
                ));
            }
        }
        let database_url = DbUrl::parse(
            "database_url",
            s.database_url
                .unwrap_or_else(|| format!("sqlite://{}", home.join(paths::SERVER_DB).display())),
        )?;
        let backend_database_url = DbUrl::parse(
            "backend_database_url",
            s.backend_database_url
                .unwrap_or_else(|| format!("sqlite://{}", home.join(paths::BACKEND_DB).display())),
        )?;
        let mut redis_settings = s.redis;
        if let Some(addr) = s.redis_address {
            if redis_settings.address.is_some() {
                return Err(invalid(
                    "redis_address",
                    "is the old spelling of [redis] address; set only one",
                ));
            }
            tracing::warn!("redis_address is deprecated: write `[redis]` with `address = ...`");
            redis_settings.address = Some(addr);
        }
        let redis = redis_settings.resolve()?;
        let sfu_port = s.sfu_port.unwrap_or(SFU_PORT);
        if sfu_port == 0 {
            return Err(invalid("sfu_port", "must be 1-65535"));
        }
        let egress = s.egress.resolve(redis.as_ref(), sfu_port)?;
        let sfu_log_level = s
            .sfu_log_level
            .unwrap_or_else(|| "info".into())
            .to_lowercase();
        if !LOG_LEVELS.contains(&sfu_log_level.as_str()) {
            return Err(invalid(
                "sfu_log_level",
                format!("{sfu_log_level:?} is not one of {}", LOG_LEVELS.join(", ")),
            ));
        }
        let backend_port = s.backend_port.unwrap_or(paths::BACKEND_PORT);
        if backend_port == 0 {
            return Err(invalid("backend_port", "must be 1-65535"));
        }
        let backend_bind = s.backend_bind.unwrap_or_else(|| "0.0.0.0".into());
        if backend_bind.parse::<IpAddr>().is_err() {
            return Err(invalid(
                "backend_bind",
                format!("{backend_bind:?} is not an IP address"),
            ));
        }
        let webhook_url = match (s.webhook_url, &public) {
            (Some(u), _) => check_url("webhook_url", &u, &["http", "https"])?,
            (None, Some(p)) => p.webhook_url(),
            (None, None) => format!("http://127.0.0.1:{backend_port}/webhook"),
        };
        let token_ttl = s.token_ttl.map_or(Duration::from_secs(3600), |d| d.0);
        let token_max_ttl = s.token_max_ttl.map_or(Duration::from_secs(86400), |d| d.0);
        if token_ttl.as_secs() == 0 {
            return Err(invalid("token_ttl", "must be at least 1s"));
        }
        if token_ttl > token_max_ttl {
            return Err(invalid("token_ttl", "must not exceed token_max_ttl"));
        }
        let livekit_timeout = s.livekit_timeout.map_or(Duration::from_secs(3), |d| d.0);
        if livekit_timeout.is_zero() {
            return Err(invalid("livekit_timeout", "must be more than 0"));
        }
        if socket.as_os_str().len() > paths::MAX_SOCKET_PATH {
            return Err(invalid(
                "socket",
                format!(
                    "{} is {} bytes; Unix socket paths are limited to {} bytes",
                    socket.display(),
                    socket.as_os_str().len(),
                    paths::MAX_SOCKET_PATH
                ),
            ));
        }
        let cors_allowed_origins = s.cors_allowed_origins.unwrap_or_default();
        for o in &cors_allowed_origins {
            check_url("cors_allowed_origins", o, &["http", "https"])?;
        }
        let livekit_overrides = match s.livekit_overrides {
            Some(t) => match serde_json::to_value(t) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => return Err(invalid("livekit_overrides", "must be a table")),
            },
            None => Default::default(),
        };
        let node_ip = public::node_ip(&public, s.node_ip, &livekit_overrides)?;
        // The side services announce one address: the SFU's first.
        let first_ip = node_ip
            .as_deref()
            .and_then(|ip| ip.split(',').next())
            .map(str::trim);
        let client_host = public
            .as_ref()
            .map(|p| p.domain.clone())
            .or_else(|| first_ip.map(str::to_string))
            .unwrap_or_else(|| "127.0.0.1".into());
        let ingress = s
            .ingress
            .resolve(redis.as_ref(), sfu_port, first_ip, &client_host)?;
        let sip = s.sip.resolve(redis.as_ref(), sfu_port, first_ip)?;
        if ingress.enabled && livekit_overrides.contains_key("ingress") {
            return Err(invalid(
                "livekit_overrides.ingress",
                "is rendered from [ingress] while it is enabled (rtmp_base_url and whip_base_url \
                 follow its ports and public_host)",
            ));
        }
        Ok(Config {
            home,
            socket,
            config_file,
            livekit_url,
            public_url,
            database_url,
            backend_database_url,
            node_ip,
            sfu_port,
            redis,
            sfu_prometheus_port: s.sfu_prometheus_port,
            metrics_listen: s
                .metrics_listen
                .as_deref()
                .map(metrics_listen)
                .transpose()?,
            sfu_log_level,
            backend_port,
            backend_bind,
            webhook_url,
            token_ttl,
            token_max_ttl,
            livekit_timeout,
            socket_group: s.socket_group,
            cors_allowed_origins: cors_allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
            livekit_overrides,
            egress,
            ingress,
            sip,
            public,
        })
    }

    /// Where lk-backend is reached from this machine.
    pub fn backend_url(&self) -> String {
        let host = match self.backend_bind.as_str() {
            "0.0.0.0" | "::" => "127.0.0.1".to_string(),
            ip if ip.contains(':') => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}", self.backend_port)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }
}

/// `metrics_listen`: a port alone means 127.0.0.1. The listener has no authentication and
/// shows the deployment's shape (nodes, rooms, key states), so it listens on loopback only
/// (design §3.2); a Prometheus elsewhere scrapes through an agent or a tunnel on this machine.
fn metrics_listen(value: &str) -> Result<std::net::SocketAddr> {
    use std::net::{Ipv4Addr, SocketAddr};
    let v = value.trim();
    let addr = if let Ok(port) = v.parse::<u16>() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    } else if let Some(port) = v.strip_prefix("localhost:") {
        let port = port
            .parse::<u16>()
            .map_err(|_| invalid("metrics_listen", format!("{value:?} has no valid port")))?;
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    } else {
        v.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "metrics_listen",
                format!("{value:?} is not host:port (e.g. 127.0.0.1:9464) or a port"),
            )
        })?
    };
    if !addr.ip().is_loopback() {
        return Err(invalid(
            "metrics_listen",
            format!(
                "{value:?} is not a loopback address: the metrics listener has no \
                 authentication, so it listens on 127.0.0.1 or [::1] only (scrape it from this \
                 machine, e.g. with a Prometheus agent or an SSH tunnel)"
            ),
        ));
    }
    Ok(addr)
}

fn read_toml(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: "read the config file",
        path: path.to_path_buf(),
        source: e,
    })?;
    toml::from_str(&text).map_err(|e| Error::ConfigFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let mut v = vec!["hero_livekit_server"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).unwrap()
    }

    #[test]
    fn defaults_match_the_design() {
        let c = Config::from_settings(Settings::default(), None).unwrap();
        assert_eq!(c.livekit_url, "http://127.0.0.1:7880");
        assert_eq!(c.public_url, "ws://127.0.0.1:7880");
        assert_eq!(c.backend_port, 8081);
        assert_eq!(c.webhook_url, "http://127.0.0.1:8081/webhook");
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.token_max_ttl, Duration::from_secs(86400));
        assert_eq!(c.livekit_timeout, Duration::from_secs(3));
        assert_eq!(c.sfu_log_level, "info");
        assert!(c.home.ends_with("hero/var/hero_livekit"));
        assert!(
            c.socket
                .ends_with("hero/var/sockets/hero_livekit_server/rpc.sock")
        );
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "backend_port = 9000\nsfu_log_level = \"warn\"\ntoken_ttl = \"2h\"\n[livekit_overrides.room]\nempty_timeout = 60\n").unwrap();
        let cli = parse(&[
            "--config",
            file.to_str().unwrap(),
            "--sfu-log-level",
            "debug",
        ]);
        let c = Config::load(cli).unwrap();
        assert_eq!(c.backend_port, 9000);
        assert_eq!(c.webhook_url, "http://127.0.0.1:9000/webhook");
        assert_eq!(c.sfu_log_level, "debug");
        assert_eq!(c.token_ttl, Duration::from_secs(7200));
        assert_eq!(c.livekit_overrides["room"]["empty_timeout"], 60);
    }

    /// The example file is the documentation of the defaults: uncommented, it must load, and
    /// every default it states must be the code's.
    #[test]
    fn the_example_config_is_valid_and_states_the_real_defaults() {
        let uncommented: String = EXAMPLE_CONFIG
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("example.toml");
        std::fs::write(&file, &uncommented).unwrap();
        let example = Config::load(parse(&["--config", file.to_str().unwrap()])).unwrap();
        let defaults = Config::from_settings(Settings::default(), None).unwrap();
        assert_eq!(example.home, defaults.home);
        assert_eq!(example.socket, defaults.socket);
        assert_eq!(example.database_url, defaults.database_url);
        assert_eq!(example.backend_database_url, defaults.backend_database_url);
        assert_eq!(example.livekit_url, defaults.livekit_url);
        assert_eq!(example.public_url, defaults.public_url);
        assert_eq!(example.sfu_log_level, defaults.sfu_log_level);
        assert_eq!(example.backend_port, defaults.backend_port);
        assert_eq!(example.backend_bind, defaults.backend_bind);
        assert_eq!(example.webhook_url, defaults.webhook_url);
        assert_eq!(example.token_ttl, defaults.token_ttl);
        assert_eq!(example.token_max_ttl, defaults.token_max_ttl);
        assert_eq!(example.livekit_timeout, defaults.livekit_timeout);
        // The side services' tables state their real defaults too (those that follow node_ip
        // with the example's node_ip).
        let same_ip = Config::from_settings(
            Settings {
                node_ip: example.node_ip.clone(),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(example.ingress, same_ip.ingress);
        assert_eq!(example.sip, same_ip.sip);
        // The example overrides are valid LiveKit settings too.
        let mut doc = serde_json::json!({});
        doc.as_object_mut()
            .unwrap()
            .extend(example.livekit_overrides.clone());
        crate::livekit_schema::check(&doc).unwrap();
        assert!(example.livekit_overrides.contains_key("turn"));
    }

    /// Settings with every table filled in (tables of tables appear only when set).
    fn full_settings() -> Settings {
        Settings {
            egress: egress::sample(),
            ingress: ingress::sample(),
            sip: sip::sample(),
            ..Default::default()
        }
    }

    /// Every setting's key, as the TOML file spells it (`redis.address`,
    /// `egress.storage.s3.bucket` for tables), with every storage provider filled in. The
    /// backup's providers are the storage's type, so they are listed once.
    fn setting_keys() -> Vec<String> {
        let mut v = serde_json::to_value(full_settings()).unwrap();
        let other: EgressSettings = toml::from_str(
            "[storage.gcp]\ncredentials_json = \"{}\"\nbucket = \"b\"\n\
             [storage.alioss]\naccess_key = \"k\"\nsecret = \"s\"\nendpoint = \"e\"\nbucket = \"b\"\n\
             [storage.azure]\naccount_name = \"a\"\naccount_key = \"k\"\ncontainer_name = \"c\"",
        )
        .unwrap();
        let other = serde_json::to_value(other).unwrap();
        for provider in ["gcp", "alioss", "azure"] {
            v["egress"]["storage"][provider] = other["storage"][provider].clone();
        }
        for provider in ["s3", "gcp", "alioss", "azure"] {
            v["egress"]["backup"]
                .as_object_mut()
                .unwrap()
                .remove(provider);
        }
        keys_of(&v)
    }

    /// The keys of the settings `config.get` shows for [`full_settings`].
    fn shown_setting_keys() -> Vec<String> {
        keys_of(&serde_json::to_value(full_settings()).unwrap())
    }

    fn keys_of(v: &serde_json::Value) -> Vec<String> {
        fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
            for (k, v) in v.as_object().unwrap() {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_object() && k != "livekit_overrides" {
                    walk(&key, v, out);
                } else {
                    out.push(key);
                }
            }
        }
        let mut keys = Vec::new();
        walk("", v, &mut keys);
        keys
    }

    /// Not shown on purpose: a deprecated alias, and a key refused with its reason.
    const UNLISTED: &[&str] = &["redis_address", "redis.cluster_addresses"];

    #[test]
    fn every_setting_is_in_the_example_config() {
        for key in setting_keys() {
            if UNLISTED.contains(&key.as_str()) || key == "livekit_overrides" {
                continue;
            }
            let name = key.rsplit('.').next().unwrap();
            if let Some((table, _)) = key.rsplit_once('.') {
                assert!(
                    EXAMPLE_CONFIG.contains(&format!("# [{table}]")),
                    "[{table}] missing"
                );
            }
            assert!(
                EXAMPLE_CONFIG.contains(&format!("# {name} = "))
                    || EXAMPLE_CONFIG.contains(&format!("## {name} = ")),
                "{key} is not in config/hero_livekit_server.toml"
            );
        }
        assert!(EXAMPLE_CONFIG.contains("# [livekit_overrides"));
    }

    #[test]
    fn every_setting_is_in_config_get_with_its_secrets_redacted() {
        let mut settings = full_settings();
        settings.redis.address = Some("10.1.2.3:6379".into());
        settings.redis.password = Some("hunter2-redis".into());
        settings.livekit_overrides =
            Some(toml::from_str("[room]\nempty_timeout = 60\n[redis]\npool_size = 3").unwrap());
        settings.public = toml::from_str(
            "domain = \"lk.example.com\"\nnode_ip = \"203.0.113.10\"\nemail = \"ops@example.com\"",
        )
        .unwrap();
        let shown = serde_json::to_value(Config::from_settings(settings, None).unwrap()).unwrap();
        for key in shown_setting_keys() {
            if UNLISTED.contains(&key.as_str()) {
                continue;
            }
            let (path, last) = key.rsplit_once('.').unwrap_or(("", &key));
            let table = path
                .split('.')
                .filter(|p| !p.is_empty())
                .fold(&shown, |v, p| &v[p]);
            let found = table.get(last).is_some() || table.get(format!("{last}_s")).is_some();
            assert!(found, "config.get does not show {key}: {shown}");
        }
        assert_eq!(shown["redis"]["password"], "<redacted>");
        assert!(!shown.to_string().contains("hunter2"));
        assert_eq!(shown["egress"]["storage"]["s3"]["secret"], "<redacted>");
        assert_eq!(
            shown["egress"]["backup"]["azure"]["account_key"],
            "<redacted>"
        );
        assert_eq!(
            shown["egress"]["session_limits"]["file_output_max_duration_s"],
            14400.0
        );
        assert_eq!(shown["egress"]["file_mode"], "0640");
        assert!(!shown.to_string().contains("s3-secret-value"));
        assert_eq!(shown["token_ttl_s"], 3600);
        assert_eq!(shown["livekit_overrides"]["redis"]["pool_size"], 3);
    }

    #[test]
    fn flags_and_env_reach_the_redis_table() {
        let c = Config::load(parse(&[
            "--redis-address",
            "10.0.0.9:6380",
            "--redis-db",
            "3",
        ]))
        .unwrap();
        let r = c.redis.unwrap();
        assert_eq!(r.address.as_deref(), Some("10.0.0.9:6380"));
        assert_eq!(r.db, 3);
        // The old top-level TOML spelling still works.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "redis_address = \"10.0.0.8:6379\"\n").unwrap();
        let c = Config::load(parse(&["--config", file.to_str().unwrap()])).unwrap();
        assert_eq!(c.redis.unwrap().address.as_deref(), Some("10.0.0.8:6379"));
        // A flag wins over the file's table, key by key.
        std::fs::write(&file, "[redis]\naddress = \"10.0.0.8:6379\"\ndb = 5\n").unwrap();
        let c = Config::load(parse(&[
            "--config",
            file.to_str().unwrap(),
            "--redis-address",
            "10.0.0.7:6379",
        ]))
        .unwrap();
        let r = c.redis.unwrap();
        assert_eq!((r.address.as_deref(), r.db), (Some("10.0.0.7:6379"), 5));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "backend_prot = 1\n").unwrap();
        let err = Config::load(parse(&["--config", file.to_str().unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("backend_prot") && err.contains("c.toml"),
            "{err}"
        );
        let err = Config::load(parse(&["--token-ttl", "48h"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("token_ttl"), "{err}");
        let err = Config::load(parse(&["--livekit-url", "ftp://x"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("livekit_url"), "{err}");
        let long = format!("/tmp/{}/rpc.sock", "x".repeat(120));
        let err = Config::load(parse(&["--socket", &long]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("107 bytes"), "{err}");
        assert!(Cli::try_parse_from(["s", "--token-ttl", "soon"]).is_err());
    }

    #[test]
    fn the_metrics_listener_is_off_by_default_and_loopback_only() {
        let c = Config::from_settings(Settings::default(), None).unwrap();
        assert_eq!(c.metrics_listen, None);
        let at = |v: &str| {
            Config::load(parse(&["--metrics-listen", v]))
                .map(|c| c.metrics_listen.unwrap().to_string())
                .map_err(|e| e.to_string())
        };
        assert_eq!(at("9464").unwrap(), "127.0.0.1:9464");
        assert_eq!(at("localhost:9464").unwrap(), "127.0.0.1:9464");
        assert_eq!(at("127.0.0.2:9000").unwrap(), "127.0.0.2:9000");
        assert_eq!(at("[::1]:9464").unwrap(), "[::1]:9464");
        for refused in ["0.0.0.0:9464", "10.0.0.5:9464", "[::]:9464"] {
            let err = at(refused).unwrap_err();
            assert!(
                err.contains("metrics_listen") && err.contains("not a loopback address"),
                "{err}"
            );
        }
        let err = at("metrics.example.com:9464").unwrap_err();
        assert!(
            err.contains("metrics_listen") && err.contains("host:port"),
            "{err}"
        );
    }
}
