//! Command-line interface. Exit codes scripts can rely on:
//! 0 success; 1 the control plane answered with an error (or a decoded token is invalid);
//! 2 usage error; 3 the control plane is unreachable.

mod args;
mod egress;
mod local;
mod remote;
mod side;

use std::process::ExitCode;

use hero_livekit_api::args::{home_or_default, socket_or_default};
use hero_livekit_api::{ClientError, RpcClient};

pub use args::*;

/// Failure of a command, mapped to an exit code.
enum Failure {
    Unreachable(String),
    /// The control plane refused, or a local command failed.
    Failed(String),
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
            ClientError::Rpc { message, .. } => Failure::Failed(message),
            other => Failure::Failed(other.to_string()),
        }
    }
}

/// `Ok(false)`: the command ran but its answer is a "no" (exit 1 without a message).
type Outcome = Result<bool, Failure>;

pub async fn run(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Local(cmd) => run_local(&cli, cmd).await,
        Command::Remote(cmd) => run_remote(&cli, cmd).await,
    };
    let failure = match result {
        Ok(true) => return ExitCode::SUCCESS,
        Ok(false) => return ExitCode::from(1),
        Err(failure) => failure,
    };
    let (code, message) = match failure {
        Failure::Failed(m) => (1, format!("error: {m}")),
        Failure::Plain(m) => (1, m),
        Failure::Usage(m) => (2, format!("error: {m}")),
        Failure::Unreachable(m) => (3, format!("error: {m}")),
    };
    eprintln!("{message}");
    ExitCode::from(code)
}

async fn run_local(cli: &Cli, cmd: &LocalCmd) -> Outcome {
    let home = || home_or_default(cli.home.as_deref());
    let socket = || socket_or_default(cli.socket.as_deref());
    match cmd {
        LocalCmd::Up {
            config,
            admin_listen,
        } => local::up(cli, config.clone(), *admin_listen).await,
        LocalCmd::Sfu(SfuCmd::Install {
            version,
            bin_dir,
            from,
            sha256,
        }) => local::sfu_install(version, bin_dir, from, sha256).await,
        LocalCmd::Doctor { bin_dir } => Ok(local::doctor(&home(), &socket(), bin_dir).await),
        LocalCmd::Backup { path } => local::backup(&home(), &socket(), path.clone()).await,
        LocalCmd::Db(DbCmd::Copy { from, to, replace }) => local::db_copy(from, to, *replace).await,
        LocalCmd::Deploy(DeployCmd::Check { resolve }) => {
            let client = RpcClient::connect(&socket()).await?;
            remote::deploy_check(&client, resolve, cli.json).await
        }
        LocalCmd::Deploy(DeployCmd::Init(args)) => local::deploy_init(cli, args).await,
    }
}

async fn run_remote(cli: &Cli, cmd: &RemoteCmd) -> Outcome {
    let client = RpcClient::connect(&socket_or_default(cli.socket.as_deref())).await?;
    let json = cli.json;
    match cmd {
        RemoteCmd::Status => remote::status(&client, json).await,
        RemoteCmd::Node(cmd) => remote::node(&client, cmd, json).await,
        RemoteCmd::Token(cmd) => remote::token(&client, cmd, json).await,
        RemoteCmd::Keys(cmd) => remote::keys(&client, cmd, json).await,
        RemoteCmd::Config(cmd) => remote::config(&client, cmd, json).await,
        RemoteCmd::Room(cmd) => remote::room(&client, cmd, json).await,
        RemoteCmd::Participant(cmd) => remote::participant(&client, cmd, json).await,
        RemoteCmd::Egress(cmd) => egress::egress(&client, cmd, json).await,
        RemoteCmd::Ingress(cmd) => side::ingress(&client, cmd, json).await,
        RemoteCmd::Sip(cmd) => side::sip(&client, cmd, json).await,
        RemoteCmd::Agent(cmd) => side::agent(&client, cmd, json).await,
        RemoteCmd::Recordings {
            room,
            status,
            limit,
        } => egress::recordings(&client, room, status, *limit, json).await,
        RemoteCmd::Audit {
            method,
            since,
            limit,
        } => remote::audit(&client, method, since, *limit, json).await,
        RemoteCmd::Rpc { method, params } => remote::rpc(&client, method, params.as_deref()).await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("hero_livekit").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn commands_on_files_are_local_and_the_rest_go_through_the_socket() {
        for args in [
            &["up"][..],
            &["sfu", "install"],
            &["doctor"],
            &["backup"],
            &["deploy", "check"],
            &[
                "deploy",
                "init",
                "--domain",
                "lk.example.com",
                "--email",
                "a@b.c",
            ],
        ] {
            assert!(matches!(parse(args), Command::Local(_)), "{args:?}");
        }
        for args in [
            &["status"][..],
            &["node", "list"],
            &["token", "decode", "t"],
            &["keys", "list"],
            &["config", "show"],
            &["room", "list"],
            &["participant", "list", "r"],
            &["egress", "start", "room-composite", "r", "--file", "x"],
            &["egress", "list", "--active"],
            &["recordings"],
            &[
                "ingress",
                "create",
                "--rtmp",
                "--room",
                "r",
                "--identity",
                "i",
            ],
            &["sip", "trunk", "list"],
            &["sip", "call", "r", "+15105550100", "--trunk", "ST_1"],
            &["agent", "dispatch", "r", "a"],
            &["audit"],
            &["rpc", "health"],
        ] {
            assert!(matches!(parse(args), Command::Remote(_)), "{args:?}");
        }
    }

    #[test]
    fn an_ingress_takes_exactly_one_input() {
        for args in [
            &["ingress", "create", "--room", "r", "--identity", "i"][..],
            &[
                "ingress",
                "create",
                "--rtmp",
                "--whip",
                "--room",
                "r",
                "--identity",
                "i",
            ],
            &[
                "ingress",
                "create",
                "--rtmp",
                "--url",
                "https://h/x",
                "--room",
                "r",
                "--identity",
                "i",
            ],
        ] {
            let e =
                Cli::try_parse_from(std::iter::once("hero_livekit").chain(args.iter().copied()))
                    .unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
        match parse(&[
            "ingress",
            "create",
            "--url",
            "https://h/x",
            "--room",
            "r",
            "--identity",
            "i",
        ]) {
            Command::Remote(RemoteCmd::Ingress(IngressCmd::Create {
                url, rtmp, whip, ..
            })) => {
                assert_eq!(
                    (url.as_deref(), rtmp, whip),
                    (Some("https://h/x"), false, false)
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_egress_needs_an_output() {
        let e = Cli::try_parse_from(["hero_livekit", "egress", "start", "room-composite", "r"])
            .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        match parse(&[
            "egress",
            "start",
            "room-composite",
            "standup",
            "--rtmp",
            "rtmp://h/app/k",
            "--hls",
            "hls/standup",
            "--layout",
            "speaker",
            "--audio-only",
        ]) {
            Command::Remote(RemoteCmd::Egress(EgressCmd::Start(
                EgressStartCmd::RoomComposite {
                    room,
                    outputs,
                    audio_only,
                    ..
                },
            ))) => {
                assert_eq!(room, "standup");
                assert_eq!(outputs.rtmp, ["rtmp://h/app/k"]);
                assert_eq!(outputs.hls.as_deref(), Some("hls/standup"));
                assert!(audio_only);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duration_flags_take_the_one_grammar() {
        let ttl = |v: &str| {
            let args = format!("token create --room r --identity i --ttl {v}");
            match parse(&args.split(' ').collect::<Vec<_>>()) {
                Command::Remote(RemoteCmd::Token(TokenCmd::Create(a))) => a.ttl,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(ttl("15m"), Some(Duration::from_secs(900)));
        assert_eq!(ttl("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(ttl("90"), Some(Duration::from_secs(90)));
        let e =
            Cli::try_parse_from(["hero_livekit", "keys", "rotate", "--grace", "soon"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("\"soon\" is not a duration (examples:"),
            "{e}"
        );
    }
}
