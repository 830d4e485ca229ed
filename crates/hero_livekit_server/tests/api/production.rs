//! A public deployment (design §12) run offline with Debian's programs, everything on loopback
//! on private ports: Pebble as the ACME CA issuing 90-second certificates, stock Caddy, HAProxy
//! routing by SNI, coturn answering STUN, the stand-in as LiveKit, lk-backend, and a TURN/TLS
//! listener that — like LiveKit (production facts §2.1) — loads its certificate once, at start.
//! Names lk.test, token.lk.test and turn.lk.test are resolved to 127.0.0.1 by the client.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_livekit_api::RpcClient;
use hero_livekit_api::methods::{DeployCheckM, StatusM};
use hero_livekit_api::types::{CheckItem, CheckStatus, DeployCheck, DeployCheckParams, NoParams};
use hero_livekit_server::public::stun::{self, Message};
use hero_livekit_server::public::{certs, stun::base62};
use hero_livekit_testkit::{Pebble, Proc, free_port, wait_until, wait_until_async};
use livekit_standin::StandIn;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn require(program: &str) {
    let found = ["/usr/bin", "/usr/sbin"]
        .iter()
        .any(|d| Path::new(d).join(program).exists());
    assert!(
        found,
        "{program} is required (Debian package): run ./scripts/test, which installs it"
    );
}

/// LiveKit's TURN/TLS listener, as far as the checks see it: the certificate read once at
/// start, STUN Binding, and Allocate with LiveKit's long-term credentials (LK
/// `pkg/service/turn.go`: realm `livekit`, password = base62(sha256(secret|pid|expiry))).
struct TurnTls {
    task: tokio::task::JoinHandle<()>,
    /// The TCP peers it saw (what it would put in XOR-MAPPED-ADDRESS).
    peers: Arc<Mutex<Vec<SocketAddr>>>,
}

impl Drop for TurnTls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TurnTls {
    /// Stops listening and waits until the listener is closed, so the port can be bound again
    /// (dropping only asks the task to stop; its socket closes when the task is gone).
    async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

async fn turn_tls(port: u16, home: &Path, keys: BTreeMap<String, String>) -> TurnTls {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(home.join("turn/turn.crt"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(home.join("turn/turn.key")).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let peers = Arc::new(Mutex::new(Vec::new()));
    let seen = peers.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            seen.lock().unwrap().push(peer);
            let (acceptor, keys) = (acceptor.clone(), keys.clone());
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = serve_turn(&mut tls, peer, &keys).await;
                }
            });
        }
    });
    TurnTls { task, peers }
}

async fn serve_turn(
    s: &mut tokio_rustls::server::TlsStream<TcpStream>,
    peer: SocketAddr,
    keys: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let relay = std::net::UdpSocket::bind("127.0.0.1:0")?;
    loop {
        let mut head = [0u8; 20];
        s.read_exact(&mut head).await?;
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        let mut raw = head.to_vec();
        raw.resize(20 + len, 0);
        s.read_exact(&mut raw[20..]).await?;
        let m = Message::decode(&raw).unwrap();
        let reply = |kind| Message {
            kind,
            txid: m.txid,
            attrs: Vec::new(),
        };
        let unauthorized = || {
            reply(m.kind | stun::ERROR)
                .with(
                    stun::ATTR_ERROR_CODE,
                    [&[0u8, 0, 4, 1][..], b"Unauthorized"].concat(),
                )
                .with(stun::ATTR_REALM, b"livekit".to_vec())
                .with(stun::ATTR_NONCE, b"fixture-nonce".to_vec())
        };
        let out = match m.kind {
            stun::BINDING => reply(stun::BINDING | stun::SUCCESS).with(
                stun::ATTR_XOR_MAPPED_ADDRESS,
                stun::xor_address_value(peer, &m.txid),
            ),
            stun::ALLOCATE | stun::REFRESH => {
                let user = m
                    .attr(stun::ATTR_USERNAME)
                    .map(|u| String::from_utf8_lossy(u).to_string());
                let password = user.as_deref().and_then(|u| {
                    let decoded = String::from_utf8(base62::decode(u)?).ok()?;
                    let mut parts = decoded.split('|');
                    let (api_key, pid, expiry) = (parts.next()?, parts.next()?, parts.next()?);
                    let secret = keys.get(api_key)?;
                    Some(base62::encode(&sha2::Sha256::digest(format!(
                        "{secret}|{pid}|{expiry}"
                    ))))
                });
                match (user, password) {
                    (Some(u), Some(p))
                        if stun::integrity_ok(&raw, &stun::long_term_key(&u, "livekit", &p)) =>
                    {
                        let key = stun::long_term_key(&u, "livekit", &p);
                        let relayed =
                            SocketAddr::new([127, 0, 0, 1].into(), relay.local_addr()?.port());
                        let ok = reply(m.kind | stun::SUCCESS);
                        let ok = if m.kind == stun::ALLOCATE {
                            ok.with(
                                stun::ATTR_XOR_RELAYED_ADDRESS,
                                stun::xor_address_value(relayed, &m.txid),
                            )
                            .with(
                                stun::ATTR_XOR_MAPPED_ADDRESS,
                                stun::xor_address_value(peer, &m.txid),
                            )
                        } else {
                            ok
                        };
                        s.write_all(&ok.encode(Some(&key))).await?;
                        continue;
                    }
                    _ => unauthorized(),
                }
            }
            _ => reply(m.kind | stun::ERROR),
        };
        s.write_all(&out.encode(None)).await?;
    }
}

/// A TLS client that trusts only Pebble's root, connected to `port` as `name`.
async fn tls(root: &Path, port: u16, name: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(root).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS to {name} via :{port}: {e}"))
}

/// Sends a request and reads the response head (and the body up to Content-Length).
async fn exchange(s: &mut tokio_rustls::client::TlsStream<TcpStream>, req: &str) -> (u16, String) {
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .expect("an answer")
            .unwrap_or(0);
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if status == 101 || len.is_some_and(|l| body.len() >= l) || n == 0 {
                return (status, body.to_string());
            }
        }
        assert!(n > 0, "connection closed: {text}");
    }
}

fn fingerprint_of(pem_file: &Path) -> String {
    let chain = certs::chain_from_pem(&std::fs::read(pem_file).unwrap()).unwrap();
    certs::fingerprint(&chain[0])
}

fn find<'a>(c: &'a DeployCheck, check: &str, subject: Option<&str>) -> &'a CheckItem {
    c.checks
        .iter()
        .find(|i| i.check == check && (subject.is_none() || i.subject.as_deref() == subject))
        .unwrap_or_else(|| panic!("no check {check} {subject:?}: {c:#?}"))
}

struct Ports {
    https: u16,
    http: u16,
    caddy_https: u16,
    caddy_http: u16,
    turn_tls: u16,
    turn_udp: u16,
    sfu: u16,
}

fn public_toml(p: &Ports, site: &hero_livekit_testkit::Site, pebble: &Pebble) -> String {
    format!(
        "sfu_port = {sfu}\nlivekit_url = \"http://127.0.0.1:{sfu}\"\nbackend_port = {backend}\nbackend_bind = \"127.0.0.1\"\n\n\
         [public]\ndomain = \"lk.test\"\ntoken_domain = \"token.lk.test\"\nturn_domain = \"turn.lk.test\"\n\
         node_ip = \"127.0.0.1\"\nlan = true\nemail = \"ops@lk.test\"\nacme_ca = \"{ca}\"\nacme_ca_root = \"{root}\"\n\
         https_port = {https}\nhttp_port = {http}\ncaddy_https_port = {chttps}\ncaddy_http_port = {chttp}\n\
         turn_tls_port = {tls}\nturn_udp_port = {udp}\nrenew_interval = \"5s\"\n",
        sfu = p.sfu,
        backend = site.backend_port,
        ca = pebble.directory(),
        root = pebble.listener_ca().display(),
        https = p.https,
        http = p.http,
        chttps = p.caddy_https,
        chttp = p.caddy_http,
        tls = p.turn_tls,
        udp = p.turn_udp,
    )
}

fn caddy(home: &Path, scratch: &Path) -> Proc {
    Proc::spawn(
        Command::new("/usr/bin/caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(home.join("Caddyfile"))
            .env("HOME", scratch)
            .env("XDG_CONFIG_HOME", scratch.join("config"))
            .env("XDG_DATA_HOME", scratch.join("data")),
    )
}

fn resolve_all() -> DeployCheckParams {
    DeployCheckParams {
        resolve: ["lk.test", "token.lk.test", "turn.lk.test"]
            .iter()
            .map(|d| (d.to_string(), "127.0.0.1".to_string()))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_and_caddy_with_pebble_certificates_and_a_turn_renewal_reported() {
    for p in ["caddy", "haproxy", "pebble", "turnserver"] {
        require(p);
    }
    let pebble = Pebble::start(Duration::from_secs(90));
    let site = site();
    let home = site.home();
    let ports = Ports {
        https: free_port(),
        http: free_port(),
        caddy_https: free_port(),
        caddy_http: free_port(),
        turn_tls: free_port(),
        turn_udp: free_port(),
        sfu: free_port(),
    };
    let config = site.dir().join("server.toml");
    std::fs::write(&config, public_toml(&ports, &site, &pebble)).unwrap();
    // The real binary, so the trust store (Pebble's root) comes from its environment.
    let _server = Proc::spawn(
        server_cmd(&site)
            .arg("--config")
            .arg(&config)
            .env("SSL_CERT_FILE", pebble.issuing_root()),
    );
    wait_socket(&site.socket());
    let _sfu = StandIn::start(&home.join("livekit.yaml"), ports.sfu)
        .await
        .unwrap();
    let _backend = site.backend();
    site.wait_backend(Duration::from_secs(30));
    let scratch = site.dir().join("caddy-env");
    std::fs::create_dir_all(&scratch).unwrap();
    let _caddy = caddy(&home, &scratch);
    let _haproxy = Proc::spawn(
        Command::new("/usr/sbin/haproxy")
            .arg("-db")
            .arg("-f")
            .arg(home.join("haproxy.cfg")),
    );
    let _coturn = Proc::spawn(
        Command::new("/usr/bin/turnserver")
            .args([
                "-n",
                "--stun-only",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--simple-log",
            ])
            .args([
                "--listening-ip",
                "127.0.0.1",
                "--listening-port",
                &ports.turn_udp.to_string(),
            ])
            .arg("--pidfile")
            .arg(site.dir().join("turnserver.pid"))
            .args(["--log-file", "stdout"]),
    );

    // Caddy obtains the three certificates from Pebble; the control plane copies TURN's.
    let storage = home.join(format!("caddy/certificates/127.0.0.1-{}-dir", pebble.port));
    wait_until(
        "Caddy's three certificates",
        Duration::from_secs(60),
        || {
            ["lk.test", "token.lk.test", "turn.lk.test"]
                .iter()
                .all(|d| storage.join(d).join(format!("{d}.crt")).exists())
        },
    );
    let copy = home.join("turn/turn.crt");
    wait_until(
        "the TURN certificate copied",
        Duration::from_secs(20),
        || copy.exists(),
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(storage.join("turn.lk.test/turn.lk.test.crt")).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    for f in ["turn/turn.crt", "turn/turn.key"] {
        let mode = std::fs::metadata(home.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}: never world-readable");
    }
    let env = hero_livekit_api::env_file::parse(&site.read("backend.env")).unwrap();
    let keys: BTreeMap<String, String> = [(
        env["LIVEKIT_API_KEY"].clone(),
        env["LIVEKIT_API_SECRET"].clone(),
    )]
    .into();
    let mut turn = turn_tls(ports.turn_tls, &home, keys.clone()).await;
    let root = pebble.issuing_root();
    hero_livekit_testkit::wait_for_tcp(ports.https, Duration::from_secs(20));

    // As a user: the stand-in answers through HAProxy and Caddy, lk-backend mints a token over
    // TLS, the WebSocket upgrades.
    let host = format!("lk.test:{}", ports.https);
    let mut s = tls(&root, ports.https, "lk.test").await;
    let (status, body) = exchange(
        &mut s,
        &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    let mut s = tls(&root, ports.https, "token.lk.test").await;
    let req = r#"{"room_name":"standup","participant_identity":"alice"}"#;
    let (status, body) = exchange(
        &mut s,
        &format!(
            "POST /api/token HTTP/1.1\r\nHost: token.lk.test:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{req}",
            ports.https,
            env["TOKEN_ENDPOINT_TOKEN"],
            req.len()
        ),
    )
    .await;
    assert_eq!(
        status, 201,
        "lk-backend's token endpoint answers 201 Created: {body}"
    );
    let minted: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        minted["server_url"],
        format!("wss://lk.test:{}", ports.https)
    );
    let token = minted["participant_token"].as_str().unwrap();
    let mut s = tls(&root, ports.https, "lk.test").await;
    let (status, _) = exchange(
        &mut s,
        &format!("GET /rtc?access_token={token} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
    )
    .await;
    assert_eq!(
        status, 101,
        "the WebSocket upgrades through HAProxy and Caddy"
    );
    // The TURN name reaches the load-once listener, with the certificate on disk.
    let s = tls(&root, ports.https, "turn.lk.test").await;
    let served = certs::fingerprint(s.get_ref().1.peer_certificates().unwrap()[0].as_ref());
    assert_eq!(served, fingerprint_of(&copy));
    assert!(
        turn.peers
            .lock()
            .unwrap()
            .iter()
            .all(|p| p.ip().is_loopback())
    );

    // deploy.check: the whole path, with the names pinned to 127.0.0.1.
    let rpc = RpcClient::connect(&site.socket()).await.unwrap();
    let check = rpc.call::<DeployCheckM>(&resolve_all()).await.unwrap();
    assert!(check.configured);
    for (c, subject) in [
        ("config", None),
        ("caddy_config", Some("Caddyfile")),
        ("haproxy_config", Some("haproxy.cfg")),
        ("turn_cert_file", Some("turn.lk.test")),
        ("turn_cert_served", Some("turn.lk.test")),
        ("signalling", Some("GET /")),
        ("signalling", Some("WebSocket")),
        ("token_endpoint", Some("token.lk.test")),
    ] {
        let i = find(&check, c, subject);
        // The TURN file expires within the hour (90 s certificates): an error for its days,
        // after name, key and mode passed.
        if c == "turn_cert_file" {
            assert!(
                i.message.contains("expires") && i.message.contains("days"),
                "{i:?}"
            );
            continue;
        }
        assert_eq!(i.status, CheckStatus::Ok, "{i:?}");
    }
    let stun_check = find(&check, "stun", None);
    assert_eq!(
        stun_check.status,
        CheckStatus::Ok,
        "coturn answers the Binding: {stun_check:?}"
    );
    // Short-lived certificates: trusted and named right, but expiring — an error with the date.
    let lk = find(&check, "certificate", Some("lk.test"));
    assert_eq!(lk.status, CheckStatus::Error);
    assert!(
        lk.message.contains("lk.test: trusted, expires") && lk.message.contains("(0 days)"),
        "{lk:?}"
    );
    // TURN over TLS through HAProxy allocates, and says why Firefox would refuse it here.
    let t = find(&check, "turn_tls", None);
    assert_eq!(t.status, CheckStatus::Warn, "{t:?}");
    assert!(
        t.message.contains("relay 127.0.0.1:")
            && t.message
                .contains("XOR-MAPPED-ADDRESS is 127.0.0.1 (Firefox will reject"),
        "{t:?}"
    );
    // Ports: held by HAProxy and Caddy, named; TURN/UDP held by coturn, not LiveKit.
    let b = find(&check, "binds", Some(&format!("{}/tcp", ports.https)));
    assert!(
        b.status == CheckStatus::Ok && b.message.contains("haproxy (pid"),
        "{b:?}"
    );
    let b = find(&check, "binds", Some(&format!("{}/udp", ports.turn_udp)));
    assert!(
        b.status == CheckStatus::Error && b.message.contains("turnserver (pid"),
        "{b:?}"
    );
    let d = find(&check, "dns", Some("lk.test"));
    assert!(
        d.status == CheckStatus::Warn && d.message.contains("DNS was not consulted"),
        "{d:?}"
    );
    assert_eq!(find(&check, "outside", None).status, CheckStatus::Info);
    let status = rpc.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(
        !status.restart_reasons.iter().any(|r| r.contains("TURN")),
        "{:?}",
        status.restart_reasons
    );

    // Caddy renews (a third of 90 s before expiry); the copy follows; LiveKit still serves the
    // old certificate, so a restart is required — and the served-vs-disk check is red.
    let before = fingerprint_of(&copy);
    wait_until("Caddy's renewal copied", Duration::from_secs(120), || {
        fingerprint_of(&copy) != before
    });
    let status = rpc.call::<StatusM>(&NoParams {}).await.unwrap();
    assert!(status.restart_required);
    let reason = status
        .restart_reasons
        .iter()
        .find(|r| r.contains("TURN certificate renewed at"))
        .unwrap_or_else(|| panic!("{:?}", status.restart_reasons));
    assert!(
        reason.contains("LiveKit still serves the one from its start"),
        "{reason}"
    );
    let check = rpc.call::<DeployCheckM>(&resolve_all()).await.unwrap();
    let served = find(&check, "turn_cert_served", None);
    assert_eq!(served.status, CheckStatus::Error);
    assert!(
        served
            .message
            .contains("LiveKit still serves the one from its start"),
        "{served:?}"
    );
    assert!(
        served
            .fix
            .as_deref()
            .unwrap()
            .contains("restart livekit-server")
    );

    // The listener restarts (as LiveKit would): it serves the renewal, and all is green again.
    turn.stop().await;
    turn = turn_tls(ports.turn_tls, &home, keys).await;
    wait_until_async(
        "the restart reason gone",
        Duration::from_secs(20),
        || async {
            let s = rpc.call::<StatusM>(&NoParams {}).await.unwrap();
            !s.restart_reasons.iter().any(|r| r.contains("TURN"))
        },
    )
    .await;
    let check = rpc.call::<DeployCheckM>(&resolve_all()).await.unwrap();
    assert_eq!(
        find(&check, "turn_cert_served", None).status,
        CheckStatus::Ok
    );
    drop(turn);
}

/// Every check fails, with its message, on a setup that is wrong in every way it can be.
#[tokio::test]
async fn every_check_fails_on_a_crafted_bad_setup_with_its_message() {
    require("caddy");
    require("haproxy");
    let site = site();
    let home = site.home();
    let (https, turn_udp, turn_tls) = (free_port(), free_port(), free_port());
    let config = site.dir().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "sfu_port = {}\n[public]\ndomain = \"lk.test\"\nnode_ip = \"127.0.0.1\"\nlan = true\nemail = \"ops@lk.test\"\n\
             https_port = {https}\nhttp_port = {}\ncaddy_https_port = {}\ncaddy_http_port = {}\nturn_udp_port = {turn_udp}\n\
             turn_tls_port = {turn_tls}\nturn_upstream_ip = \"192.0.2.55\"\n",
            free_port(),
            free_port(),
            free_port(),
            free_port()
        ),
    )
    .unwrap();
    let _server = Proc::spawn(server_cmd(&site).arg("--config").arg(&config));
    wait_socket(&site.socket());
    // The files are repaired whenever the server re-renders, which it does once right after it
    // starts serving (its own instance record raises the revision): break them after that.
    wait_until("the first resync", Duration::from_secs(10), || {
        std::fs::read_to_string(home.join("livekit.yaml")).is_ok()
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Wrong files: livekit.yaml edited, Caddyfile and haproxy.cfg broken, a TURN certificate
    // for another name with another name's key.
    let yaml: String = site
        .read("livekit.yaml")
        .lines()
        .map(|l| match l.trim_start().starts_with("node_ip:") {
            true => format!("{}\n", l.replace("127.0.0.1", "127.0.0.9")),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(home.join("livekit.yaml"), yaml).unwrap();
    std::fs::write(
        home.join("Caddyfile"),
        "lk.test {\n\treverse_proxyy 127.0.0.1:7880\n}\n",
    )
    .unwrap();
    std::fs::write(
        home.join("haproxy.cfg"),
        "frontend x\n\tbind :1\n\tbogus_keyword on\n",
    )
    .unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["other.test".to_string()]).unwrap();
    let stranger = rcgen::KeyPair::generate().unwrap();
    std::fs::create_dir_all(home.join("turn")).unwrap();
    std::fs::write(home.join("turn/turn.crt"), other.cert.pem()).unwrap();
    std::fs::write(home.join("turn/turn.key"), stranger.serialize_pem()).unwrap();
    // A foreign program on the HTTPS port (this test binary).
    let squatter = std::net::TcpListener::bind(("0.0.0.0", https)).unwrap();

    let rpc = RpcClient::connect(&site.socket()).await.unwrap();
    let mut params = DeployCheckParams::default();
    params.resolve.insert("lk.test".into(), "127.0.0.2".into());
    let check = rpc.call::<DeployCheckM>(&params).await.unwrap();
    assert!(!check.ok);
    let expect = |c: &str, subject: Option<&str>, status: CheckStatus, words: &[&str]| {
        let i = find(&check, c, subject);
        assert_eq!(i.status, status, "{i:?}");
        for w in words {
            assert!(i.message.contains(w), "{c}: {w:?} not in {:?}", i.message);
        }
        if status != CheckStatus::Skip {
            assert!(
                i.fix.as_ref().is_some_and(|f| !f.is_empty()),
                "{c}: no fix: {i:?}"
            );
        }
    };
    use CheckStatus::*;
    expect(
        "config",
        None,
        Error,
        &["rtc.node_ip is \"127.0.0.9\" but [public] node_ip is 127.0.0.1"],
    );
    expect(
        "dns",
        Some("lk.test"),
        Error,
        &["lk.test resolves to 127.0.0.2, node_ip is 127.0.0.1"],
    );
    expect("dns", Some("turn.lk.test"), Error, &["does not resolve"]);
    expect(
        "node_ip",
        Some("turn_upstream"),
        Error,
        &["HAProxy dials 192.0.2.55", "not an address of this machine"],
    );
    expect(
        "binds",
        Some(&format!("{https}/tcp")),
        Error,
        &["held by", &format!("(pid {})", std::process::id())],
    );
    expect(
        "caddy_config",
        Some("Caddyfile"),
        Error,
        &["unrecognized directive: reverse_proxyy"],
    );
    expect(
        "haproxy_config",
        Some("haproxy.cfg"),
        Error,
        &["bogus_keyword"],
    );
    expect(
        "certificate",
        Some("lk.test"),
        Error,
        &["no certificate for lk.test on 127.0.0.2"],
    );
    expect(
        "turn_cert_file",
        Some("turn.lk.test"),
        Error,
        &["SAN lacks turn.lk.test", "other.test"],
    );
    expect(
        "turn_cert_served",
        Some("turn.lk.test"),
        Error,
        &["does not answer"],
    );
    expect("signalling", Some("GET /"), Error, &["https://lk.test:"]);
    expect("token_endpoint", Some("lk.test"), Error, &["/health"]);
    expect(
        "stun",
        None,
        Error,
        &[&format!("no response on {turn_udp}/udp")],
    );
    expect(
        "turn_tls",
        Some("turn.lk.test"),
        Error,
        &["TURN Allocate over TLS to turn.lk.test"],
    );
    // The right name with the wrong key.
    let turn_cert = {
        let k = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec!["turn.lk.test".to_string()])
            .unwrap()
            .self_signed(&k)
            .unwrap()
    };
    std::fs::write(home.join("turn/turn.crt"), turn_cert.pem()).unwrap();
    let check = rpc
        .call::<DeployCheckM>(&DeployCheckParams::default())
        .await
        .unwrap();
    let i = find(&check, "turn_cert_file", None);
    assert!(
        i.status == CheckStatus::Error
            && i.message.contains("private key does not match public key"),
        "{i:?}"
    );
    // A matching pair, but the key world-readable: refused with the chmod to run.
    let k = rcgen::KeyPair::generate().unwrap();
    let c = rcgen::CertificateParams::new(vec!["turn.lk.test".to_string()])
        .unwrap()
        .self_signed(&k)
        .unwrap();
    std::fs::write(home.join("turn/turn.crt"), c.pem()).unwrap();
    std::fs::write(home.join("turn/turn.key"), k.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        home.join("turn/turn.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let check = rpc
        .call::<DeployCheckM>(&DeployCheckParams::default())
        .await
        .unwrap();
    let i = find(&check, "turn_cert_file", None);
    assert!(
        i.status == CheckStatus::Error
            && i.message.contains("mode 0644")
            && i.message.contains("never be world-readable"),
        "{i:?}"
    );
    assert!(i.fix.as_deref().unwrap().starts_with("chmod 600"));
    drop(squatter);
}
