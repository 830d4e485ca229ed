//! Command-line interface. Exit codes scripts can rely on:
//! 0 success; 1 the control plane answered with an error (or a decoded token is invalid);
//! 2 usage error; 3 the control plane is unreachable.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_api::{ClientError, RpcClient, paths};
use serde::Serialize;

use crate::output;

#[derive(Debug, Parser)]
#[command(
    name = "hero_livekit",
    version,
    about = "Operate a self-hosted LiveKit through hero_livekit_server"
)]
pub struct Cli {
    /// The control plane's socket [default: ~/hero/var/sockets/hero_livekit_server/rpc.sock]
    #[arg(long, env = "HERO_LIVEKIT_SOCKET", global = true)]
    pub socket: Option<PathBuf>,
    /// The state directory (for doctor and backup) [default: ~/hero/var/hero_livekit]
    #[arg(long, env = "HERO_LIVEKIT_HOME", global = true)]
    pub home: Option<PathBuf>,
    /// Print JSON (the RPC result) instead of text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Server, files, keys and SFU status
    Status,
    /// Mint and inspect access tokens
    #[command(subcommand)]
    Token(TokenCmd),
    /// API keys
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The effective configuration and rendered files (secrets redacted)
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Live rooms on the SFU
    #[command(subcommand)]
    Room(RoomCmd),
    /// Participants of a room
    #[command(subcommand)]
    Participant(ParticipantCmd),
    /// The audit log of mutating calls, newest first
    Audit {
        /// Only this method, e.g. keys.rotate
        #[arg(long)]
        method: Option<String>,
        /// Only entries at or after this RFC 3339 time
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Run the control plane, lk-backend and the admin UI in this one process (zero config)
    Up {
        /// Control-plane TOML config (same file as hero_livekit_server --config)
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where the admin UI listens
        #[arg(long, default_value = "127.0.0.1:8082")]
        admin_listen: std::net::SocketAddr,
    },
    /// Install and inspect the livekit-server binary
    #[command(subcommand)]
    Sfu(SfuCmd),
    /// Check the deployment and print what to fix, one line each
    Doctor {
        /// Where livekit-server is installed [default: ~/hero/bin, then PATH]
        #[arg(long)]
        bin_dir: Option<PathBuf>,
    },
    /// Consistent online copy of server.db (it holds the secrets: written 0600)
    Backup {
        /// Destination [default: <home>/backups/server-<time>.db]
        path: Option<PathBuf>,
    },
    /// Call any JSON-RPC method: `hero_livekit rpc token.decode '{"token":"…"}'`
    Rpc {
        method: String,
        /// Params as a JSON object (default {})
        params: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Mint a token signed by the active key
    Create(TokenCreateArgs),
    /// Verify a token and explain its grants and problems
    Decode { token: String },
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    #[arg(long)]
    room: String,
    #[arg(long)]
    identity: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    metadata: Option<String>,
    /// participant, viewer or admin
    #[arg(long, value_parser = ["participant", "viewer", "admin"])]
    preset: Option<String>,
    /// Lifetime, e.g. 15m, 1h
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
    /// Extra grants as JSON with LiveKit's names, e.g. '{"canPublishSources":["camera"]}'
    #[arg(long)]
    grants: Option<String>,
    /// Attribute key=value (repeatable)
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    attributes: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// List keys and their states
    List {
        /// Include revoked keys
        #[arg(long)]
        all: bool,
    },
    /// Start a zero-downtime rotation: a new key is added to livekit.yaml and becomes active
    /// once livekit-server (restarted) accepts it
    Rotate {
        /// How long the old key stays valid after the new one is active, e.g. 24h
        #[arg(long, value_parser = humantime::parse_duration)]
        grace: Option<Duration>,
    },
    /// Emergency: remove a key from every file at once
    Revoke { api_key: String },
}

#[derive(Debug, Subcommand)]
pub enum SfuCmd {
    /// Download LiveKit's release for this machine, verify its SHA-256 and install
    /// livekit-server into the bin dir
    Install {
        /// Release version, e.g. 1.9.0 [default: latest]
        #[arg(long)]
        version: Option<String>,
        /// Where to put livekit-server [default: ~/hero/bin]
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Install from a mirror URL or a local archive instead
        #[arg(long)]
        from: Option<String>,
        /// Expected SHA-256 of the archive (else read from checksums.txt beside it)
        #[arg(long, requires = "from")]
        sha256: Option<String>,
    },
}

fn hero_bin() -> PathBuf {
    paths::expand_tilde(std::path::Path::new("~/hero/bin"))
}

#[derive(Debug, Subcommand)]
pub enum RoomCmd {
    /// List live rooms
    List,
    /// Create a room (or get the existing one)
    Create {
        name: String,
        #[arg(long, value_parser = humantime::parse_duration)]
        empty_timeout: Option<Duration>,
        #[arg(long, value_parser = humantime::parse_duration)]
        departure_timeout: Option<Duration>,
        #[arg(long)]
        max_participants: Option<u32>,
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Close a room, disconnecting everyone
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ParticipantCmd {
    /// List a room's participants
    List { room: String },
    /// Disconnect a participant
    Remove { room: String, identity: String },
    /// Mute (or with --unmute, unmute) a published track
    Mute {
        room: String,
        identity: String,
        track_sid: String,
        #[arg(long)]
        unmute: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// The effective configuration
    Show,
    /// The rendered livekit.yaml and backend.env
    Files,
}

/// Failure of a command, mapped to an exit code.
enum Failure {
    Unreachable(String),
    Rpc(String),
    Usage(String),
    /// Printed as is, without the `error:` prefix.
    Plain(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Connect { .. } | ClientError::Handshake { .. } => {
                Failure::Unreachable(e.to_string())
            }
            // The server's messages already name the field, URL or LiveKit code of `data`.
            ClientError::Rpc { message, .. } => Failure::Rpc(message),
            other => Failure::Rpc(other.to_string()),
        }
    }
}

type Outcome = Result<bool, Failure>;

fn print_json<T: Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("results serialize")
    );
}

pub async fn run(cli: Cli) -> ExitCode {
    let socket = cli
        .socket
        .clone()
        .map(|p| paths::expand_tilde(&p))
        .unwrap_or_else(paths::default_socket);
    let home = cli
        .home
        .clone()
        .map(|p| paths::expand_tilde(&p))
        .unwrap_or_else(paths::default_home);
    let result = match local(&cli, &home, &socket).await {
        Some(r) => r,
        None => dispatch(&cli, &socket).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Failure::Rpc(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Plain(m)) => {
            eprintln!("{m}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Unreachable(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(3)
        }
    }
}

/// Commands that work on files and binaries rather than through the socket.
async fn local(cli: &Cli, home: &std::path::Path, socket: &std::path::Path) -> Option<Outcome> {
    Some(match &cli.command {
        Command::Sfu(SfuCmd::Install {
            version,
            bin_dir,
            from,
            sha256,
        }) => {
            let bin_dir = bin_dir.clone().unwrap_or_else(hero_bin);
            let source = match from {
                Some(location) => crate::sfu::Source::From {
                    location: location.clone(),
                    sha256: sha256.clone(),
                },
                None => crate::sfu::Source::Release {
                    version: version.clone(),
                },
            };
            let installed =
                tokio::task::spawn_blocking(move || crate::sfu::install(source, &bin_dir))
                    .await
                    .expect("install task");
            match installed {
                Ok(path) => {
                    let version = crate::inspect::version(&path)
                        .unwrap_or_else(|e| format!("version unknown: {e}"));
                    println!("installed {} ({version})", path.display());
                    Ok(true)
                }
                Err(e) => Err(Failure::Rpc(format!("{e:#}"))),
            }
        }
        Command::Up {
            config,
            admin_listen,
        } => {
            let args = crate::up::Up {
                home: cli.home.clone(),
                socket: cli.socket.clone(),
                config: config.clone(),
                admin_listen: *admin_listen,
            };
            match crate::up::up(args).await {
                Ok(()) => Ok(true),
                // "already running" is a contract (design §2): printed exactly.
                Err(e) => {
                    if let Some(stopped) = crate::up::stopped(&e) {
                        eprintln!("hero_livekit up: {stopped}");
                        return Some(Ok(true));
                    }
                    match e.downcast_ref::<hero_livekit_server::Error>() {
                        Some(err @ hero_livekit_server::Error::AlreadyRunning { .. }) => {
                            Err(Failure::Plain(err.to_string()))
                        }
                        _ => Err(Failure::Rpc(format!("{e:#}"))),
                    }
                }
            }
        }
        Command::Doctor { bin_dir } => {
            let dirs = vec![bin_dir.clone().unwrap_or_else(hero_bin)];
            let checks = crate::doctor::run(home, socket, &dirs);
            let mut healthy = true;
            for c in &checks {
                let tag = match c.level {
                    crate::doctor::Level::Ok => "ok  ",
                    crate::doctor::Level::Warn => "warn",
                    crate::doctor::Level::Fail => {
                        healthy = false;
                        "FAIL"
                    }
                };
                println!("{tag}  {}", c.text);
            }
            Ok(healthy)
        }
        Command::Backup { path } => match crate::backup::backup(home, path.clone()).await {
            Ok(dest) => {
                println!("{}", dest.display());
                Ok(true)
            }
            Err(e) => Err(Failure::Rpc(format!("{e:#}"))),
        },
        _ => return None,
    })
}

async fn dispatch(cli: &Cli, socket: &std::path::Path) -> Outcome {
    let client = RpcClient::connect(socket).await?;
    let json = cli.json;
    match &cli.command {
        Command::Status => {
            let s = client.call::<StatusM>(&NoParams {}).await?;
            if json {
                print_json(&s)
            } else {
                output::status(&s)
            }
            Ok(true)
        }
        Command::Token(TokenCmd::Create(a)) => {
            let grants = match &a.grants {
                Some(g) => Some(
                    serde_json::from_str::<Grants>(g)
                        .map_err(|e| Failure::Usage(format!("--grants: {e}")))?,
                ),
                None => None,
            };
            let mut attributes = std::collections::BTreeMap::new();
            for kv in &a.attributes {
                let (k, v) = kv.split_once('=').ok_or_else(|| {
                    Failure::Usage(format!("--attribute {kv:?}: expected KEY=VALUE"))
                })?;
                attributes.insert(k.to_string(), v.to_string());
            }
            let preset = a.preset.as_deref().map(|p| {
                serde_json::from_value::<Preset>(p.into()).expect("clap checked the value")
            });
            let params = TokenCreateParams {
                room: a.room.clone(),
                identity: a.identity.clone(),
                name: a.name.clone(),
                metadata: a.metadata.clone(),
                attributes: (!attributes.is_empty()).then_some(attributes),
                preset,
                grants,
                room_config: None,
                ttl_s: a.ttl.map(|d| d.as_secs()),
            };
            let t = client.call::<TokenCreate>(&params).await?;
            if json {
                print_json(&t)
            } else {
                output::token_created(&t)
            }
            Ok(true)
        }
        Command::Token(TokenCmd::Decode { token }) => {
            let d = client
                .call::<TokenDecode>(&TokenDecodeParams {
                    token: token.clone(),
                })
                .await?;
            if json {
                print_json(&d)
            } else {
                output::token_decoded(&d)
            }
            Ok(d.valid)
        }
        Command::Keys(KeysCmd::List { all }) => {
            let k = client
                .call::<KeysList>(&KeysListParams {
                    include_revoked: Some(*all),
                })
                .await?;
            if json {
                print_json(&k)
            } else {
                output::keys(&k)
            }
            Ok(true)
        }
        Command::Keys(KeysCmd::Rotate { grace }) => {
            let k = client
                .call::<KeysRotate>(&KeysRotateParams {
                    grace_s: grace.map(|g| g.as_secs()),
                })
                .await?;
            if json {
                print_json(&k)
            } else {
                println!(
                    "{} is pending: restart livekit-server to load it; it becomes active once the SFU accepts it",
                    k.api_key
                );
            }
            Ok(true)
        }
        Command::Keys(KeysCmd::Revoke { api_key }) => {
            let k = client
                .call::<KeysRevoke>(&KeyParams {
                    api_key: api_key.clone(),
                })
                .await?;
            if json {
                print_json(&k)
            } else {
                println!("{} revoked", k.api_key)
            }
            Ok(true)
        }
        Command::Room(RoomCmd::List) => {
            let r = client.call::<RoomListM>(&RoomListParams::default()).await?;
            if json {
                print_json(&r)
            } else {
                output::rooms(&r.rooms)
            }
            Ok(true)
        }
        Command::Room(RoomCmd::Create {
            name,
            empty_timeout,
            departure_timeout,
            max_participants,
            metadata,
        }) => {
            let secs = |d: &Option<Duration>| d.map(|d| d.as_secs().min(u32::MAX as u64) as u32);
            let r = client
                .call::<RoomCreate>(&RoomCreateParams {
                    name: name.clone(),
                    empty_timeout_s: secs(empty_timeout),
                    departure_timeout_s: secs(departure_timeout),
                    max_participants: *max_participants,
                    metadata: metadata.clone(),
                })
                .await?;
            if json {
                print_json(&r)
            } else {
                output::rooms(std::slice::from_ref(&r))
            }
            Ok(true)
        }
        Command::Room(RoomCmd::Delete { name }) => {
            client
                .call::<RoomDelete>(&RoomNameParams { name: name.clone() })
                .await?;
            if json {
                print_json(&Empty {})
            } else {
                println!("room {name} deleted")
            }
            Ok(true)
        }
        Command::Participant(ParticipantCmd::List { room }) => {
            let p = client
                .call::<ParticipantListM>(&RoomParams { room: room.clone() })
                .await?;
            if json {
                print_json(&p)
            } else {
                output::participants(&p.participants)
            }
            Ok(true)
        }
        Command::Participant(ParticipantCmd::Remove { room, identity }) => {
            client
                .call::<ParticipantRemove>(&ParticipantParams {
                    room: room.clone(),
                    identity: identity.clone(),
                })
                .await?;
            if json {
                print_json(&Empty {})
            } else {
                println!("{identity} removed from {room}")
            }
            Ok(true)
        }
        Command::Participant(ParticipantCmd::Mute {
            room,
            identity,
            track_sid,
            unmute,
        }) => {
            let t = client
                .call::<ParticipantMuteTrack>(&MuteTrackParams {
                    room: room.clone(),
                    identity: identity.clone(),
                    track_sid: track_sid.clone(),
                    muted: !unmute,
                })
                .await?;
            if json {
                print_json(&t)
            } else {
                println!(
                    "{} {} ({})",
                    t.track.sid,
                    if t.track.muted { "muted" } else { "unmuted" },
                    t.track.name
                );
            }
            Ok(true)
        }
        Command::Audit {
            method,
            since,
            limit,
        } => {
            let a = client
                .call::<AuditListM>(&AuditListParams {
                    since: since.clone(),
                    method: method.clone(),
                    limit: Some(*limit),
                })
                .await?;
            if json {
                print_json(&a)
            } else {
                output::audit(&a.entries)
            }
            Ok(true)
        }
        Command::Config(ConfigCmd::Show) => {
            print_json(&client.call::<ConfigGet>(&NoParams {}).await?);
            Ok(true)
        }
        Command::Config(ConfigCmd::Files) => {
            let f = client.call::<ConfigFilesM>(&NoParams {}).await?;
            if json {
                print_json(&f)
            } else {
                println!(
                    "# livekit.yaml\n{}\n# backend.env\n{}",
                    f.livekit_yaml, f.backend_env
                );
            }
            Ok(true)
        }
        Command::Sfu(_) | Command::Doctor { .. } | Command::Backup { .. } | Command::Up { .. } => {
            unreachable!("handled by local()")
        }
        Command::Rpc { method, params } => {
            let params: serde_json::Value = match params {
                Some(p) => serde_json::from_str(p)
                    .map_err(|e| Failure::Usage(format!("params are not JSON: {e}")))?,
                None => serde_json::json!({}),
            };
            print_json(&client.call_raw(method, params).await?);
            Ok(true)
        }
    }
}
