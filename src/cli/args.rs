//! The command line: global flags, and the commands split by where they act — on files and
//! binaries of this machine ([`LocalCmd`]) or through the control plane's socket
//! ([`RemoteCmd`]). Both are flattened into one list of subcommands.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use hero_livekit_api::duration::parse_duration;

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
    #[command(flatten)]
    Remote(RemoteCmd),
    #[command(flatten)]
    Local(LocalCmd),
}

/// Commands answered by the control plane over its socket.
#[derive(Debug, Subcommand)]
pub enum RemoteCmd {
    /// Server, files, keys, SFU and fleet status
    Status,
    /// The SFU nodes: every livekit-server registered in Redis, or the one configured SFU
    #[command(subcommand)]
    Node(NodeCmd),
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
    /// Record and stream rooms through LiveKit's egress
    #[command(subcommand)]
    Egress(EgressCmd),
    /// Take streams in: OBS over RTMP, WHIP, or a pulled URL
    #[command(subcommand)]
    Ingress(IngressCmd),
    /// Phone calls: SIP trunks, dispatch rules, dialling out and transfers
    #[command(subcommand)]
    Sip(SipCmd),
    /// Send AI agents into rooms (LiveKit's agent dispatch)
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Every recording lk-backend keeps (also after LiveKit forgot it, 24 h after it ended)
    Recordings {
        /// Only this room's
        #[arg(long)]
        room: Option<String>,
        /// Only this status: starting, active, ending, complete, failed, aborted, limit_reached
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
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
    /// Call any JSON-RPC method: `hero_livekit rpc token.decode '{"token":"…"}'`
    // Listed last, after the local commands, as it always was.
    #[command(display_order = 100)]
    Rpc {
        method: String,
        /// Params as a JSON object (default {})
        params: Option<String>,
    },
}

/// Commands that work on files and binaries of this machine rather than through the socket.
#[derive(Debug, Subcommand)]
pub enum LocalCmd {
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
    /// Production on a public domain: write the [public] config, check the deployment
    #[command(subcommand)]
    Deploy(DeployCmd),
    /// Consistent online copy of server.db (it holds the secrets: written 0600)
    Backup {
        /// Destination [default: <home>/backups/server-<time>.db]
        path: Option<PathBuf>,
    },
    /// Move state between databases (SQLite → PostgreSQL when one machine is not enough)
    #[command(subcommand)]
    Db(DbCmd),
}

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Copy the control plane's (or lk-backend's) database to another one, verified
    Copy {
        /// Source: sqlite://<path> or postgres://… (the services stopped, or an online backup)
        #[arg(long)]
        from: String,
        /// Target: postgres://user:password@host:port/database (or sqlite://<path>)
        #[arg(long)]
        to: String,
        /// Overwrite a target that already holds state
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeCmd {
    /// Every node: class, load, whether it runs the current config and accepts the active
    /// key, and what is wrong with it (`--json`: the `node.list` result)
    List,
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
    pub room: String,
    #[arg(long)]
    pub identity: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub metadata: Option<String>,
    /// participant, viewer or admin
    #[arg(long, value_parser = ["participant", "viewer", "admin"])]
    pub preset: Option<String>,
    /// Lifetime, e.g. 15m, 1h
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Extra grants as JSON with LiveKit's names, e.g. '{"canPublishSources":["camera"]}'
    #[arg(long)]
    pub grants: Option<String>,
    /// Attribute key=value (repeatable)
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
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
        #[arg(long, value_parser = parse_duration)]
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

#[derive(Debug, Subcommand)]
pub enum RoomCmd {
    /// List live rooms
    List,
    /// Create a room (or get the existing one)
    Create {
        name: String,
        #[arg(long, value_parser = parse_duration)]
        empty_timeout: Option<Duration>,
        #[arg(long, value_parser = parse_duration)]
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
pub enum EgressCmd {
    /// Start recording or streaming
    #[command(subcommand)]
    Start(EgressStartCmd),
    /// Egresses LiveKit knows (running, or ended less than 24 h ago)
    List {
        #[arg(long)]
        room: Option<String>,
        /// Only running ones (starting, active, ending)
        #[arg(long)]
        active: bool,
        /// Only this egress
        #[arg(long)]
        id: Option<String>,
    },
    /// Stop an egress: it finishes and uploads what it recorded
    Stop { egress_id: String },
    /// Change the layout of a running room composite
    UpdateLayout { egress_id: String, layout: String },
    /// Add or remove stream URLs of a running stream
    UpdateStream {
        egress_id: String,
        #[arg(long = "add", value_name = "URL")]
        add: Vec<String>,
        #[arg(long = "remove", value_name = "URL")]
        remove: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EgressStartCmd {
    /// The whole room through a layout template
    RoomComposite {
        room: String,
        #[command(flatten)]
        outputs: OutputArgs,
        /// grid, speaker, speaker-dark, single-speaker, … [LiveKit's default: grid]
        #[arg(long)]
        layout: Option<String>,
        #[arg(long, conflicts_with = "video_only")]
        audio_only: bool,
        #[arg(long)]
        video_only: bool,
    },
    /// One participant's camera (or screen share) and microphone
    Participant {
        room: String,
        identity: String,
        #[command(flatten)]
        outputs: OutputArgs,
        #[arg(long)]
        screen_share: bool,
    },
    /// One audio and/or one video track, transcoded together
    TrackComposite {
        room: String,
        #[command(flatten)]
        outputs: OutputArgs,
        #[arg(long, value_name = "TRACK_SID", required_unless_present = "video")]
        audio: Option<String>,
        #[arg(long, value_name = "TRACK_SID")]
        video: Option<String>,
    },
    /// One track exactly as published, to a file
    Track {
        room: String,
        track_sid: String,
        /// File path (template: {room_name}, {track_id}, {time}, …)
        #[arg(long)]
        file: String,
    },
    /// Any web page
    Web {
        url: String,
        #[command(flatten)]
        outputs: OutputArgs,
        #[arg(long)]
        audio_only: bool,
    },
}

/// Where an egress goes: at least one of a file, RTMP/SRT streams and HLS.
#[derive(Debug, Args)]
#[group(id = "output", required = true, multiple = true)]
pub struct OutputArgs {
    /// Record to a file (template: {room_name}, {time}, …; a trailing / means a directory)
    #[arg(long, group = "output")]
    pub file: Option<String>,
    /// Stream to this RTMP or SRT URL (repeatable); its stream key is never printed
    #[arg(long = "rtmp", value_name = "URL", group = "output")]
    pub rtmp: Vec<String>,
    /// HLS: segments and a playlist under this prefix
    #[arg(long, value_name = "PREFIX", group = "output")]
    pub hls: Option<String>,
    /// Encoding preset: h264_720p_30 (default), h264_1080p_30, h264_720p_60, h264_1080p_60
    #[arg(long)]
    pub preset: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// The effective configuration
    Show,
    /// The rendered livekit.yaml and backend.env (and egress.yaml, ingress.yaml, sip.yaml)
    Files,
    /// Whether the rendered files agree (one Redis, keys the SFU has, ingress URLs on
    /// ingress's ports, no host port claimed twice); exits 1 when they do not
    Check,
}

#[derive(Debug, Subcommand)]
pub enum DeployCmd {
    /// Run every production check (through the control plane): each failure with its cause
    /// and fix
    Check {
        /// Pin a name to an address instead of asking DNS, e.g. lk.example.com=203.0.113.10
        #[arg(long, value_name = "NAME=IP")]
        resolve: Vec<String>,
    },
    /// Write the [public] config (idempotent; rerun with changes), print the DNS records, the
    /// ports to open, the packages and the systemctl lines, then check what can be checked
    Init(DeployInitArgs),
}

#[derive(Debug, Args)]
pub struct DeployInitArgs {
    /// The signalling domain, e.g. lk.example.com
    #[arg(long)]
    pub domain: String,
    /// Contact email of the ACME account
    #[arg(long)]
    pub email: String,
    /// sni (HAProxy on 443, recommended), caddy-only or two-ips [default: sni]
    #[arg(long)]
    pub topology: Option<String>,
    /// This machine's public IP [default: kept from the file, else detected and confirmed
    /// public]
    #[arg(long)]
    pub node_ip: Option<String>,
    /// The TURN/TLS domain [default: turn.<domain>]
    #[arg(long)]
    pub turn_domain: Option<String>,
    /// The token endpoint's domain [default: the signalling domain]
    #[arg(long)]
    pub token_domain: Option<String>,
    /// two-ips: the second public IP (TURN/TLS on its 443)
    #[arg(long)]
    pub turn_ip: Option<String>,
    /// Accept a private node IP (LAN-only deployment)
    #[arg(long)]
    pub lan: bool,
    /// The control plane's TOML config file to write [default: $HERO_LIVEKIT_CONFIG, else
    /// ~/hero/cfg/hero_livekit_server.toml]
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum IngressCmd {
    /// Create an ingress; prints where to publish (OBS: server URL and stream key)
    #[command(group = clap::ArgGroup::new("input").required(true).multiple(false))]
    Create {
        /// Publish over RTMP (OBS, ffmpeg)
        #[arg(long, group = "input")]
        rtmp: bool,
        /// Publish over WHIP (WebRTC)
        #[arg(long, group = "input")]
        whip: bool,
        /// Pull this http(s):// or srt:// source
        #[arg(long, group = "input", value_name = "URL")]
        url: Option<String>,
        #[arg(long)]
        room: String,
        /// The publishing participant's identity
        #[arg(long)]
        identity: String,
        /// Its display name
        #[arg(long)]
        name: Option<String>,
        /// A label for the ingress
        #[arg(long)]
        ingress_name: Option<String>,
        #[command(flatten)]
        transcode: TranscodeArgs,
        /// Create it disabled (it refuses publishers until enabled)
        #[arg(long)]
        disabled: bool,
    },
    /// Ingresses and whether something publishes through them (never their stream keys)
    List {
        #[arg(long)]
        room: Option<String>,
        #[arg(long)]
        id: Option<String>,
    },
    /// Change a reusable (RTMP or WHIP) ingress
    Update {
        ingress_id: String,
        #[arg(long)]
        room: Option<String>,
        #[arg(long)]
        identity: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        transcode: TranscodeArgs,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
    },
    /// Delete an ingress (a stream published through it stops)
    Delete { ingress_id: String },
}

/// Transcoding of an ingress.
#[derive(Debug, Args)]
pub struct TranscodeArgs {
    /// Transcode into simulcast layers (LiveKit's default for RTMP and URL)
    #[arg(long, conflicts_with = "no_transcoding")]
    pub transcoding: bool,
    /// Pass the stream through as published (LiveKit's default for WHIP)
    #[arg(long)]
    pub no_transcoding: bool,
    /// opus_stereo_96kbps or opus_mono_64kbps
    #[arg(long)]
    pub audio_preset: Option<String>,
    /// h264_720p_30fps_3_layers (default), h264_1080p_30fps_3_layers, h264_540p_25fps_2_layers,
    /// the _1_layer and _high_motion variants
    #[arg(long)]
    pub video_preset: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SipCmd {
    /// Trunks: how calls come in from and go out to a SIP provider
    #[command(subcommand)]
    Trunk(SipTrunkCmd),
    /// Dispatch rules: which room an incoming call goes to
    #[command(subcommand)]
    Rule(SipRuleCmd),
    /// Dial a number into a room through an outbound trunk
    Call {
        room: String,
        number: String,
        /// The outbound trunk
        #[arg(long)]
        trunk: String,
        /// Caller id (default: the trunk's first number)
        #[arg(long)]
        from: Option<String>,
        /// The phone participant's identity [LiveKit's default: sip_<number>]
        #[arg(long)]
        identity: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Digits to send once answered (w = half a second pause)
        #[arg(long)]
        dtmf: Option<String>,
        /// Return only once the callee answered
        #[arg(long)]
        wait: bool,
    },
    /// Transfer a phone participant's call (SIP REFER) to tel:+… or sip:…
    Transfer {
        room: String,
        identity: String,
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SipTrunkCmd {
    /// Create a trunk
    #[command(subcommand)]
    Create(SipTrunkCreateCmd),
    /// Inbound and outbound trunks (never their passwords)
    List {
        #[arg(long, conflicts_with = "outbound")]
        inbound: bool,
        #[arg(long)]
        outbound: bool,
    },
    /// Delete a trunk
    Delete { trunk_id: String },
}

#[derive(Debug, Subcommand)]
pub enum SipTrunkCreateCmd {
    /// Accept calls from a provider
    Inbound {
        name: String,
        /// A number this trunk answers (repeat)
        #[arg(long = "number", value_name = "NUMBER")]
        numbers: Vec<String>,
        /// A provider address (IP or CIDR) calls are accepted from (repeat)
        #[arg(long = "allow", value_name = "ADDR")]
        allowed_addresses: Vec<String>,
        /// A caller number accepted (repeat; default any)
        #[arg(long = "allow-number", value_name = "NUMBER")]
        allowed_numbers: Vec<String>,
        #[command(flatten)]
        auth: SipAuthArgs,
    },
    /// Dial out through a provider
    Outbound {
        name: String,
        /// The provider's SIP host (sip.example.com)
        #[arg(long)]
        address: String,
        /// A number calls go out from (repeat)
        #[arg(long = "number", value_name = "NUMBER")]
        numbers: Vec<String>,
        /// auto, udp, tcp or tls
        #[arg(long)]
        transport: Option<String>,
        #[command(flatten)]
        auth: SipAuthArgs,
    },
}

/// Digest credentials of a trunk.
#[derive(Debug, Args)]
pub struct SipAuthArgs {
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from this environment variable (keeps it out of `ps` and history)
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SipRuleCmd {
    /// Create a rule: direct (one room), individual (a room per caller), callee (per number dialled)
    Create {
        /// direct, individual or callee
        kind: String,
        /// direct: the room
        #[arg(long)]
        room: Option<String>,
        /// individual, callee: the start of the room names
        #[arg(long)]
        prefix: Option<String>,
        /// Read a PIN callers must type from this environment variable
        #[arg(long, value_name = "VAR")]
        pin_env: Option<String>,
        /// Only calls through this trunk (repeat; default all)
        #[arg(long = "trunk", value_name = "ID")]
        trunk_ids: Vec<String>,
        /// Only calls to this number (repeat)
        #[arg(long = "number", value_name = "NUMBER")]
        numbers: Vec<String>,
        #[arg(long)]
        name: Option<String>,
        /// Hide the caller's number from the room
        #[arg(long)]
        hide_number: bool,
    },
    /// Dispatch rules
    List,
    /// Delete a dispatch rule
    Delete { rule_id: String },
}

#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Send an agent into a room
    Dispatch {
        room: String,
        agent: String,
        /// Handed to the agent's job
        #[arg(long)]
        metadata: Option<String>,
    },
    /// The agent dispatches of a room
    List { room: String },
    /// Cancel an agent dispatch
    Delete { room: String, dispatch_id: String },
}
