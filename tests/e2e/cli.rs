use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hero_livekit_server::config::{Config, Settings};
use hero_livekit_testkit::InProcess;

/// A control plane in this process, on a temp home.
struct Server {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    served: InProcess<hero_livekit_server::Result<()>>,
}

async fn server() -> Server {
    let dir = hero_livekit_testkit::temp_dir();
    let s = Settings {
        home: Some(dir.path().join("home")),
        socket: Some(dir.path().join("s/rpc.sock")),
        ..Default::default()
    };
    let config = Config::from_settings(s, None).unwrap();
    let socket = config.socket.clone();
    let booted = hero_livekit_server::boot(config).await.unwrap();
    Server {
        _dir: dir,
        socket,
        served: InProcess::spawn(|stop| booted.serve(stop)),
    }
}

async fn cli(socket: &Path, args: &[&str]) -> Output {
    let socket = socket.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
            .arg("--socket")
            .arg(&socket)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn cli_talks_to_the_socket_with_exit_codes_scripts_can_use() {
    let srv = server().await;
    let s = &srv.socket;

    let o = cli(s, &["status"]).await;
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    assert!(
        text.contains("server") && text.contains("active") && text.contains("livekit.yaml"),
        "{text}"
    );

    let o = cli(s, &["--json", "status"]).await;
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let key = status["keys"][0]["api_key"].as_str().unwrap().to_string();

    let o = cli(s, &["keys", "list"]).await;
    assert!(stdout(&o).contains(&key) && stdout(&o).contains("API_KEY"));

    let o = cli(
        s,
        &[
            "token",
            "create",
            "--room",
            "standup",
            "--identity",
            "alice",
            "--preset",
            "viewer",
            "--ttl",
            "15m",
            "--json",
        ],
    )
    .await;
    assert!(o.status.success(), "{o:?}");
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(t["api_key"], key.as_str());
    let token = t["token"].as_str().unwrap().to_string();

    // Human output: the token alone on stdout, so `$(hero_livekit token create …)` works.
    let o = cli(s, &["token", "create", "--room", "r", "--identity", "i"]).await;
    assert_eq!(stdout(&o).trim().split('.').count(), 3);

    let o = cli(s, &["token", "decode", &token]).await;
    assert!(o.status.success());
    assert!(stdout(&o).contains("may not publish"), "{}", stdout(&o));
    let o = cli(s, &["token", "decode", "not-a-token"]).await;
    assert_eq!(o.status.code(), Some(1), "an invalid token exits 1");

    let o = cli(s, &["rpc", "health"]).await;
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(h["status"], "ok");

    // The server refuses: exit 1 with its message.
    let o = cli(
        s,
        &[
            "token",
            "create",
            "--room",
            "r",
            "--identity",
            "i",
            "--ttl",
            "48h",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("maximum token lifetime"));
    // Bad usage: exit 2.
    let o = cli(s, &["token", "create", "--room", "r"]).await;
    assert_eq!(o.status.code(), Some(2));
    let o = cli(s, &["rpc", "health", "{not json"]).await;
    assert_eq!(o.status.code(), Some(2));

    srv.served.stop().await.unwrap();
    // Nothing listens: exit 3 naming the socket.
    let o = cli(s, &["status"]).await;
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&s.display().to_string()));
}
