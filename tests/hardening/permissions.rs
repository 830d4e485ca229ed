//! Another user gets nothing: not the socket, not a byte of any file in the home.
//!
//! Tests run as root, which ignores file modes, so each probe is a child process that drops to
//! uid/gid 65534 (`nobody`) before it runs. The probes are checked twice: with the directories as
//! the services made them (0700), and again after loosening the directories to 0755, so the
//! files' own modes (0600) and the socket's are what is tested, not just the directory.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const NOBODY: u32 = 65534;

/// Prints what happened: READ, an errno name (EACCES), or for a socket CONNECTED followed by
/// ANSWERED or CLOSED.
const PROBE: &str = r#"
import errno, socket, sys
kind, path = sys.argv[1], sys.argv[2]
try:
    if kind == "file":
        open(path, "rb").read(1)
        print("READ")
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(path)
        body = b'{"jsonrpc":"2.0","id":1,"method":"health","params":{}}'
        try:
            # The server may hang up before the request is even written (EPIPE, ECONNRESET).
            s.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                      + b"content-length: %d\r\n\r\n" % len(body) + body)
            data = s.recv(4096)
        except OSError:
            data = b""
        print("CONNECTED " + ("ANSWERED" if data else "CLOSED"))
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"#;

fn probe_as_nobody(kind: &str, path: &Path) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-I", "-c", PROBE, kind])
        .arg(path)
        .uid(NOBODY)
        .gid(NOBODY)
        .current_dir("/")
        .env_clear()
        .output()
        .expect("python3 runs as nobody");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !text.is_empty(),
        "the probe printed nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, m: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn another_user_can_neither_use_the_socket_nor_read_any_file() {
    let site = Site::new();
    let (server, backend) = site.start_server_and_backend();
    let admin = site.admin();
    let home = site.home();
    wait_until("admin.token", Duration::from_secs(20), || {
        home.join("admin.token").exists() && home.join("backend.db").exists()
    });

    // The temp dir itself is 0700; open it so only the services' own modes stand in the way.
    chmod(site.dir(), 0o755);
    let mut files: Vec<_> = [
        "livekit.yaml",
        "backend.env",
        "server.db",
        "backend.db",
        "admin.token",
    ]
    .iter()
    .map(|f| home.join(f))
    .collect();
    for extra in [
        "server.db-wal",
        "server.db-shm",
        "backend.db-wal",
        "backend.db-shm",
    ] {
        if home.join(extra).exists() {
            files.push(home.join(extra));
        }
    }
    let socket = site.socket();
    let socket_dir = socket.parent().unwrap().to_path_buf();
    assert_eq!(mode(&home), 0o700, "home");
    assert_eq!(mode(&socket_dir), 0o700, "socket dir");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }

    for (dirs, how) in [
        (0o700, "as the services made them"),
        (0o755, "loosened to 0755"),
    ] {
        chmod(&home, dirs);
        chmod(&socket_dir, dirs);
        for f in &files {
            assert_eq!(
                probe_as_nobody("file", f),
                "EACCES",
                "uid {NOBODY} reading {} with the directories {how}",
                f.display()
            );
        }
        assert_eq!(
            probe_as_nobody("socket", &socket),
            "EACCES",
            "uid {NOBODY} connecting to rpc.sock with the directories {how}"
        );
    }
    println!(
        "permissions: uid {NOBODY} got EACCES on rpc.sock and {} files, with 0700 and with 0755 directories",
        files.len()
    );

    // Defence in depth: even with the socket file itself opened up, the server hangs up on a
    // peer of another uid without answering.
    let socket_mode = mode(&socket);
    chmod(&socket, 0o777);
    assert_eq!(probe_as_nobody("socket", &socket), "CONNECTED CLOSED");
    chmod(&socket, socket_mode);
    chmod(&home, 0o700);
    chmod(&socket_dir, 0o700);
    // And the owner still gets served.
    assert_eq!(
        rpc(&socket, "health", serde_json::json!({})).unwrap()["status"],
        "ok"
    );
    for mut c in [admin, backend, server] {
        c.kill();
    }
}
