//! Operator commands that work on files and binaries: sfu install, doctor, backup.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use hero_livekit_testkit::{Proc, Site, sibling_bin, wait_for_socket};
use sha2::{Digest, Sha256};

const FAKE_SFU: &str = "#!/bin/sh\ncase \"$1\" in\n  --version) echo 'livekit-server version 1.9.0' ;;\n  --config) echo 'tcp 7880 7881 udp 7882' ;;\nesac\n";

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hero_livekit"))
        .args(args)
        .output()
        .unwrap()
}

/// A release-shaped archive: `livekit_<v>_linux_<arch>.tar.gz` holding `livekit-server`.
fn archive(dir: &Path, with_binary: bool) -> (PathBuf, String) {
    let name = hero_livekit::sfu::archive_name("1.9.0").unwrap();
    let path = dir.join(&name);
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    let (file, body) = if with_binary {
        ("livekit-server", FAKE_SFU)
    } else {
        ("README.md", "no binary here")
    };
    header.set_size(body.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, file, body.as_bytes()).unwrap();
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    let sum = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
    std::fs::write(
        dir.join("checksums.txt"),
        format!("0000  livekit_1.9.0_linux_other.tar.gz\n{sum}  {name}\n"),
    )
    .unwrap();
    (path, sum)
}

/// A minimal HTTP file server for `dir` on an ephemeral loopback port.
fn serve(dir: PathBuf) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let dir = dir.clone();
            std::thread::spawn(move || {
                use std::io::{BufRead, BufReader};
                let mut line = String::new();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                reader.read_line(&mut line).unwrap();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                }
                let name = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .to_string();
                match std::fs::read(dir.join(&name)) {
                    Ok(body) => {
                        write!(
                            conn,
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .unwrap();
                        conn.write_all(&body).unwrap();
                    }
                    Err(_) => write!(
                        conn,
                        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    .unwrap(),
                }
            });
        }
    });
    format!("http://{addr}")
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sfu_install_verifies_the_checksum_and_leaves_nothing_partial() {
    let dir = hero_livekit_testkit::temp_dir();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let (archive_path, sum) = archive(&mirror, true);
    let name = archive_path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let base = serve(mirror.clone());
    let bin = dir.path().join("bin");

    // From a mirror URL: checksums.txt beside it is used.
    let o = cli(&[
        "sfu",
        "install",
        "--from",
        &format!("{base}/{name}"),
        "--bin-dir",
        bin.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("livekit-server version 1.9.0"));
    let installed = bin.join("livekit-server");
    assert_eq!(
        std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert_eq!(leftovers(&bin), vec!["livekit-server".to_string()]);

    // From a local file with an explicit digest.
    let bin2 = dir.path().join("bin2");
    let o = cli(&[
        "sfu",
        "install",
        "--from",
        archive_path.to_str().unwrap(),
        "--sha256",
        &sum,
        "--bin-dir",
        bin2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A wrong digest: refused, nothing installed.
    let bin3 = dir.path().join("bin3");
    let o = cli(&[
        "sfu",
        "install",
        "--from",
        &format!("{base}/{name}"),
        "--sha256",
        &"0".repeat(64),
        "--bin-dir",
        bin3.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHA-256 mismatch"));
    assert!(leftovers(&bin3).is_empty());

    // A tampered archive on the mirror: its checksums.txt no longer matches.
    std::fs::write(&archive_path, b"not the release").unwrap();
    let o = cli(&[
        "sfu",
        "install",
        "--from",
        &format!("{base}/{name}"),
        "--bin-dir",
        bin3.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(leftovers(&bin3).is_empty());

    // An archive without the binary: refused, nothing left behind.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (empty, sum) = archive(&other, false);
    let o = cli(&[
        "sfu",
        "install",
        "--from",
        empty.to_str().unwrap(),
        "--sha256",
        &sum,
        "--bin-dir",
        bin3.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no livekit-server"));
    assert!(leftovers(&bin3).is_empty(), "{:?}", leftovers(&bin3));
}

/// The real server on a fresh site, accepting on its socket.
fn start_server() -> (Site, Proc) {
    let site = Site::new();
    let server = Proc::spawn(&mut site.command_at(sibling_bin("hero_livekit_server")));
    wait_for_socket(&site.socket(), Duration::from_secs(20));
    (site, server)
}

#[test]
fn backup_is_a_private_consistent_copy_and_doctor_says_what_to_fix() {
    let (site, mut server) = start_server();
    let dir = site.dir();
    let (home, socket) = (site.home(), site.socket());

    let dest = dir.join("copy/server.db");
    let o = cli(&[
        "--home",
        home.to_str().unwrap(),
        "backup",
        dest.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let copy = std::fs::read(&dest).unwrap();
    assert!(copy.starts_with(b"SQLite format 3\0"));
    let env = std::fs::read_to_string(home.join("backend.env")).unwrap();
    let key = env
        .lines()
        .find_map(|l| l.strip_prefix("LIVEKIT_API_KEY="))
        .unwrap();
    assert!(
        copy.windows(key.len()).any(|w| w == key.as_bytes()),
        "the copy holds the key"
    );
    // Never overwrite.
    let o = cli(&[
        "--home",
        home.to_str().unwrap(),
        "backup",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));

    // doctor with a fake livekit-server installed: healthy, loopback public URL warned about.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("livekit-server"), FAKE_SFU).unwrap();
    std::fs::set_permissions(
        bin.join("livekit-server"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let args = [
        "--home",
        home.to_str().unwrap(),
        "--socket",
        socket.to_str().unwrap(),
        "doctor",
        "--bin-dir",
        bin.to_str().unwrap(),
    ];
    let o = cli(&args);
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{text}");
    assert!(text.contains("livekit-server version 1.9.0"), "{text}");
    assert!(
        text.contains("warn  public URL ws://127.0.0.1:7880 is loopback"),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| l.starts_with("ok  ") || l.starts_with("warn") || l.starts_with("FAIL"))
    );

    // A file with loose permissions is a failure with the fix.
    std::fs::set_permissions(
        home.join("backend.env"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let o = cli(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("chmod 600"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    server.kill();
    // No SFU binary and no server: both reported.
    let o = cli(&[
        "--home",
        home.to_str().unwrap(),
        "--socket",
        socket.to_str().unwrap(),
        "doctor",
        "--bin-dir",
        dir.join("none").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("FAIL  control plane not reachable"), "{text}");
}
