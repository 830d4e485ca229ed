//! Configuration: where backend.env is, waiting for the server, and the typed settings read
//! from the file.
//!
//! The file is parsed into [`Settings`], never into the process environment. The environment
//! can override a value only through `LK_BACKEND_<NAME>`, so a stray `LIVEKIT_API_KEY` exported
//! in a shell cannot hijack the backend.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use hero_livekit_api::args::ControlPlaneArgs;
use hero_livekit_api::env_file::{self, BackendEnv};
use hero_livekit_api::paths;
use hero_livekit_api::service::Shutdown;
use hero_livekit_api::wait::wait_for_server;

use crate::error::{Error, Result};

/// Prefix of the variables that may override a value of backend.env.
pub const OVERRIDE_PREFIX: &str = "LK_BACKEND_";
/// Optional variable: days to keep webhook events.
pub const EVENT_RETENTION_DAYS: &str = "EVENT_RETENTION_DAYS";
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Optional variable: days to keep finished recordings in the catalogue (default: forever).
pub const EGRESS_RETENTION_DAYS: &str = "EGRESS_RETENTION_DAYS";

#[derive(Debug, Parser)]
#[command(
    name = "lk-backend",
    version,
    about = "LiveKit token endpoint and durable webhook inbox"
)]
pub struct Cli {
    /// --home, --socket, --wait-for-server: shared with every client of the control plane.
    #[command(flatten)]
    pub control_plane: ControlPlaneArgs,
    /// backend.env to read (default <home>/backend.env).
    #[arg(long)]
    pub env_file: Option<PathBuf>,
}

/// What the running backend serves with. Swapped as a whole on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub env: BackendEnv,
    pub event_retention_days: u32,
    /// `None`: recordings are kept forever.
    pub egress_retention_days: Option<u32>,
}

/// Everything `run` needs. Tests build it directly with short intervals.
#[derive(Clone)]
pub struct Config {
    pub env_file: PathBuf,
    /// `LK_BACKEND_*` overrides (name without prefix → value), re-applied on every reload.
    pub overrides: BTreeMap<String, String>,
    pub settings: Settings,
    /// Longest time a client may take to send a request body (slow clients); headers are
    /// bounded separately by the HTTP layer.
    pub request_timeout: Duration,
    /// How often backend.env is checked for changes.
    pub reload_interval: Duration,
    /// How often old events are pruned.
    pub prune_interval: Duration,
}

/// Override values may be secrets: only their names are shown.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("env_file", &self.env_file)
            .field("overrides", &self.overrides.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .field("request_timeout", &self.request_timeout)
            .field("reload_interval", &self.reload_interval)
            .field("prune_interval", &self.prune_interval)
            .finish()
    }
}

impl Config {
    /// Resolves paths, waits for the server socket, then reads backend.env. A stop request
    /// during the wait ends it at once ([`Error::Stopped`]).
    pub async fn load(cli: &Cli, shutdown: &Shutdown) -> Result<Self> {
        let home = cli.control_plane.home();
        let socket = cli.control_plane.socket();
        let env_file = cli
            .env_file
            .as_deref()
            .map(paths::expand_tilde)
            .unwrap_or_else(|| home.join(paths::BACKEND_ENV));
        wait_for_server(&socket, cli.control_plane.wait_for_server, shutdown).await?;
        let overrides = overrides_from(std::env::vars());
        Self::from_file(env_file, overrides)
    }

    /// Reads the file with the given overrides, using the default intervals.
    pub fn from_file(env_file: PathBuf, overrides: BTreeMap<String, String>) -> Result<Self> {
        let settings = load_settings(&env_file, &overrides)?;
        Ok(Config {
            env_file,
            overrides,
            settings,
            request_timeout: Duration::from_secs(10),
            reload_interval: Duration::from_millis(200),
            prune_interval: Duration::from_secs(3600),
        })
    }

    /// `BIND:PORT` as written in the file (or overridden).
    pub fn bind_addr(&self) -> String {
        let env = &self.settings.env;
        if env.bind.contains(':') && !env.bind.starts_with('[') {
            format!("[{}]:{}", env.bind, env.port)
        } else {
            format!("{}:{}", env.bind, env.port)
        }
    }

    pub fn parsed_bind_addr(&self) -> Option<SocketAddr> {
        self.bind_addr().parse().ok()
    }
}

/// Collects `LK_BACKEND_<NAME>` variables and logs each name (never the value).
pub fn overrides_from(
    vars: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in vars {
        if let Some(name) = k.strip_prefix(OVERRIDE_PREFIX).filter(|n| !n.is_empty()) {
            tracing::info!(variable = %k, overrides = %name, "backend.env value overridden from the environment");
            out.insert(name.to_string(), v);
        }
    }
    out
}

/// Reads and validates the file, then applies the overrides.
pub fn load_settings(path: &Path, overrides: &BTreeMap<String, String>) -> Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadEnvFile {
        path: path.to_path_buf(),
        source,
    })?;
    settings_from_text(path, &text, overrides)
}

pub fn settings_from_text(
    path: &Path,
    text: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<Settings> {
    let mut vars = env_file::parse(text).map_err(|source| Error::ParseEnvFile {
        path: path.to_path_buf(),
        source,
    })?;
    for (k, v) in overrides {
        vars.insert(k.clone(), v.clone());
    }
    let env = BackendEnv::from_vars(&vars).map_err(|source| Error::EnvVar {
        path: path.to_path_buf(),
        source,
    })?;
    let event_retention_days = match vars.get(EVENT_RETENTION_DAYS) {
        None => DEFAULT_RETENTION_DAYS,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| *d > 0)
            .ok_or_else(|| Error::Invalid {
                path: path.to_path_buf(),
                var: EVENT_RETENTION_DAYS,
                reason: format!("{v:?} is not a positive whole number of days"),
            })?,
    };
    let egress_retention_days = match vars.get(EGRESS_RETENTION_DAYS) {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| Error::Invalid {
                    path: path.to_path_buf(),
                    var: EGRESS_RETENTION_DAYS,
                    reason: format!(
                        "{v:?} is not a positive whole number of days (leave it out to keep \
                         recordings forever)"
                    ),
                })?,
        ),
    };
    Ok(Settings {
        env,
        event_retention_days,
        egress_retention_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_env() -> BackendEnv {
        BackendEnv {
            livekit_url: "http://127.0.0.1:7880".into(),
            livekit_public_url: "ws://127.0.0.1:7880".into(),
            livekit_api_key: "APIkey".into(),
            livekit_api_secret: "secret".repeat(8),
            livekit_webhook_keys: vec![("APIkey".into(), "secret".repeat(8))],
            database_url: "sqlite:///tmp/x.db".into(),
            port: 8081,
            bind: "0.0.0.0".into(),
            backend_api_token: "a".repeat(40),
            token_endpoint_token: "b".repeat(40),
            token_ttl_s: 3600,
            token_max_ttl_s: 86400,
            cors_allowed_origins: vec![],
        }
    }

    #[test]
    fn overrides_win_and_only_with_the_prefix() {
        let text = sample_env().render();
        let ov = overrides_from(vec![
            ("LK_BACKEND_PORT".to_string(), "9000".to_string()),
            ("LIVEKIT_API_KEY".to_string(), "APIhijack".to_string()),
        ]);
        let s = settings_from_text(Path::new("/x/backend.env"), &text, &ov).unwrap();
        assert_eq!(s.env.port, 9000);
        assert_eq!(s.env.livekit_api_key, "APIkey");
        assert_eq!(s.event_retention_days, 30);
        assert_eq!(s.egress_retention_days, None);
        let kept = overrides_from(vec![(
            "LK_BACKEND_EGRESS_RETENTION_DAYS".to_string(),
            "90".to_string(),
        )]);
        let s = settings_from_text(Path::new("/x/backend.env"), &text, &kept).unwrap();
        assert_eq!(s.egress_retention_days, Some(90));
        let secret_override = overrides_from(vec![(
            "LK_BACKEND_LIVEKIT_API_SECRET".to_string(),
            "hunter2-hunter2".to_string(),
        )]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backend.env");
        std::fs::write(&path, &text).unwrap();
        let config = Config::from_file(path, secret_override).unwrap();
        let dbg = format!("{config:?}");
        assert!(
            dbg.contains("LIVEKIT_API_SECRET") && !dbg.contains("hunter2"),
            "{dbg}"
        );
        assert!(!dbg.contains(&"secret".repeat(8)), "{dbg}");
    }

    #[test]
    fn errors_name_the_path_and_the_variable() {
        let text = sample_env().render().replace("PORT=8081", "PORT=99999");
        let e = settings_from_text(Path::new("/x/backend.env"), &text, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/x/backend.env: ") && e.contains("PORT"),
            "{e}"
        );
        let text = sample_env().render() + "EVENT_RETENTION_DAYS=soon\n";
        let e = settings_from_text(Path::new("/x/backend.env"), &text, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("EVENT_RETENTION_DAYS"), "{e}");
        let e = load_settings(Path::new("/nonexistent/backend.env"), &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read /nonexistent/backend.env"), "{e}");
    }

    #[test]
    fn wait_durations() {
        let wait = |args: &[&str]| {
            let mut v = vec!["lk-backend"];
            v.extend_from_slice(args);
            Cli::try_parse_from(v).map(|c| c.control_plane.wait_for_server)
        };
        assert_eq!(wait(&[]).unwrap(), Duration::from_secs(30));
        assert_eq!(wait(&["--wait-for-server", "0"]).unwrap(), Duration::ZERO);
        assert_eq!(
            wait(&["--wait-for-server", "30s"]).unwrap(),
            Duration::from_secs(30)
        );
        assert!(wait(&["--wait-for-server", "soon"]).is_err());
    }
}
