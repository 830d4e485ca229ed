//! Pebble, Let's Encrypt's test ACME server (Debian's `pebble` 2.4), as a private CA on loopback
//! (production facts §6): its HTTPS listener gets a certificate made here with rcgen (the
//! Debian package ships none), `PEBBLE_VA_ALWAYS_VALID=1` skips challenges, and the root it
//! issues under — generated afresh at each start — is fetched from its management port.

use std::io::{Read, Write};

use rustls::pki_types::pem::PemObject;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::{Proc, free_port, wait_for_tcp};

pub struct Pebble {
    _proc: Proc,
    dir: tempfile::TempDir,
    pub port: u16,
    pub management_port: u16,
}

impl Pebble {
    /// Starts Pebble issuing certificates valid for `validity` (a short one lets a test watch
    /// Caddy renew).
    pub fn start(validity: Duration) -> Pebble {
        assert!(
            Path::new("/usr/bin/pebble").exists(),
            "pebble is required (Debian package `pebble`): run ./scripts/test, which installs it"
        );
        let dir = crate::temp_dir();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "pebble test listener CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join("listener-ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("pebble.crt"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("pebble.key"), key.serialize_pem()).unwrap();
        let (port, management_port) = (free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{management_port}"),
            "certificate": dir.path().join("pebble.crt"),
            "privateKey": dir.path().join("pebble.key"),
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity.as_secs(),
        }});
        let config_file = dir.path().join("pebble-config.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let proc = Proc::spawn(
            Command::new("/usr/bin/pebble")
                .arg("-config")
                .arg(&config_file)
                .current_dir(dir.path())
                .env("PEBBLE_VA_ALWAYS_VALID", "1")
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env("PEBBLE_WFE_NONCEREJECT", "0"),
        );
        wait_for_tcp(port, Duration::from_secs(20));
        wait_for_tcp(management_port, Duration::from_secs(20));
        let p = Pebble {
            _proc: proc,
            dir,
            port,
            management_port,
        };
        let root = p.get_management("/roots/0");
        std::fs::write(p.issuing_root(), root).unwrap();
        p
    }

    /// The ACME directory URL.
    pub fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// The CA of Pebble's own HTTPS listener (Caddy's `acme_ca_root`).
    pub fn listener_ca(&self) -> PathBuf {
        self.dir.path().join("listener-ca.pem")
    }

    /// The root the issued certificates chain to (a client's trust store).
    pub fn issuing_root(&self) -> PathBuf {
        self.dir.path().join("issuing-root.pem")
    }

    /// `GET https://127.0.0.1:<management>/<path>` over TLS, trusting the listener CA.
    fn get_management(&self, path: &str) -> String {
        let pem = std::fs::read(self.listener_ca()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", self.management_port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).to_string();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "pebble {path}: {head}");
        body.to_string()
    }
}
