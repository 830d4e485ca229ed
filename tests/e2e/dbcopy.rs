//! Moving up (issue 12): `hero_livekit db copy` from the embedded SQLite files to PostgreSQL,
//! for the control plane's database and lk-backend's, verified; a running source and a
//! non-empty target are refused; a control plane started on the copy has the same keys.

use std::process::{Command, Output};
use std::time::Duration;

use hero_livekit_testkit::http::rpc;
use hero_livekit_testkit::{Postgres, Proc, Service, Site};
use serde_json::json;

fn db_copy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
        .args(["db", "copy"])
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_control_planes_state_moves_to_postgres_and_a_server_on_it_has_the_same_keys() {
    let site = Site::new();
    let mut server = site.server();
    site.wait_ready(&mut server, Duration::from_secs(20));
    let rotated = rpc(&site.socket(), "keys.rotate", json!({})).unwrap()["api_key"].clone();
    let token = rpc(
        &site.socket(),
        "token.create",
        json!({"room": "r", "identity": "i"}),
    )
    .unwrap()["token"]
        .clone();
    let bearer = site.read("backend.env");
    let sqlite = format!("sqlite://{}", site.home().join("server.db").display());
    let pg = Postgres::start();
    let target = pg.create_database();

    let refused = db_copy(&["--from", &sqlite, "--to", &target]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("hero_livekit_server is running"),
        "{}",
        text(&refused)
    );

    drop(server.terminate());
    let ok = db_copy(&["--from", &sqlite, "--to", &target]);
    let out = text(&ok);
    assert!(ok.status.success(), "{out}");
    assert!(
        out.contains("2 keys (secrets verified byte for byte)"),
        "{out}"
    );
    assert!(out.contains("set database_url"), "{out}");
    let again = db_copy(&["--from", &sqlite, "--to", &target]);
    assert!(
        !again.status.success() && text(&again).contains("--replace"),
        "{}",
        text(&again)
    );

    // A control plane on the copy, in a new home: same keys, the old token still verifies.
    let moved = Site::new();
    let mut server = Proc::spawn(
        moved
            .command(Service::Server)
            .args(["--database-url", &target]),
    );
    moved.wait_ready(&mut server, Duration::from_secs(20));
    let keys = rpc(&moved.socket(), "keys.list", json!({})).unwrap();
    assert!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["api_key"] == rotated && k["state"] == "pending")
    );
    let d = rpc(&moved.socket(), "token.decode", json!({"token": token})).unwrap();
    assert_eq!(d["valid"], true, "{d}");
    let token_line = |env: &str| {
        env.lines()
            .find(|l| l.starts_with("BACKEND_API_TOKEN="))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        token_line(&moved.read("backend.env")),
        token_line(&bearer),
        "the bearers moved too"
    );
}

#[test]
fn lk_backends_inbox_moves_to_postgres_with_its_events() {
    let site = Site::new();
    let (_server, _backend) = site.start_server_and_backend();
    let env = site.read("backend.env");
    let key = env
        .lines()
        .find_map(|l| l.strip_prefix("LIVEKIT_API_KEY="))
        .unwrap()
        .to_string();
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("LIVEKIT_API_SECRET="))
        .unwrap()
        .to_string();
    let port: u16 = env
        .lines()
        .find_map(|l| l.strip_prefix("PORT="))
        .unwrap()
        .parse()
        .unwrap();
    for i in 0..5 {
        let body = serde_json::to_vec(&json!({
            "event": "room_started", "id": format!("EV_{i}"),
            "room": {"name": "r", "sid": "RM_r"}, "createdAt": "1795700000"
        }))
        .unwrap();
        let auth = hero_livekit_backend::webhook::sign(
            &body,
            &key,
            &secret,
            hero_livekit_api::timefmt::now_unix(),
        );
        let r = hero_livekit_testkit::http::Request::post("/webhook")
            .header("authorization", &auth)
            .header("content-type", "application/webhook+json")
            .body(body)
            .send_tcp(port)
            .unwrap();
        assert_eq!(r.status, 200);
    }
    let pg = Postgres::start();
    let target = pg.create_database();
    let from = format!("sqlite://{}", site.home().join("backend.db").display());
    let ok = db_copy(&["--from", &from, "--to", &target]);
    let out = text(&ok);
    assert!(ok.status.success(), "{out}");
    assert!(
        out.contains("5 events (counts verified)") && out.contains("backend_database_url"),
        "{out}"
    );
    let bad = db_copy(&["--from", "sqlite:///nonexistent/x.db", "--to", &target]);
    assert!(
        !bad.status.success() && text(&bad).contains("no such file"),
        "{}",
        text(&bad)
    );
}

#[test]
fn a_backup_of_state_in_postgres_names_the_exact_pg_dump_command() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let site = Site::new();
    let mut server = Proc::spawn(site.command(Service::Server).args(["--database-url", &url]));
    site.wait_ready(&mut server, Duration::from_secs(20));
    let o = Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
        .arg("--home")
        .arg(site.home())
        .arg("--socket")
        .arg(site.socket())
        .args(["backup", "/tmp/never-written.dump"])
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "never a silent no-op: {t}");
    assert!(
        t.contains("state is in PostgreSQL") && t.contains("pg_dump --format=custom"),
        "{t}"
    );
    assert!(
        t.contains(&format!("--port={}", pg.port()))
            && t.contains("--file=/tmp/never-written.dump"),
        "{t}"
    );
    assert!(!std::path::Path::new("/tmp/never-written.dump").exists());
}
