//! Connects to a TLS listener with a given SNI and reports what it serves: the chain as sent
//! (accepted whatever it is, so a bad certificate can be described rather than just refused),
//! then judged separately against the trust store (the system's; `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` replace it, as for every TLS client of the control plane).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Records the chain and accepts it (verification happens afterwards, in [`trusted`]).
#[derive(Debug)]
struct Capture(
    Mutex<Vec<CertificateDer<'static>>>,
    Arc<rustls::crypto::CryptoProvider>,
);

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.0.lock().expect("capture lock") = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS connection and the chain the server sent.
pub struct Served {
    pub stream: TlsStream<TcpStream>,
    pub chain: Vec<CertificateDer<'static>>,
}

/// Connects to `addr` with SNI `name`, offering `alpn`.
pub async fn connect(addr: SocketAddr, name: &str, alpn: &[&str]) -> Result<Served, String> {
    let capture = Arc::new(Capture(Mutex::new(Vec::new()), provider()));
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
    let server = ServerName::try_from(name.to_string()).map_err(|e| format!("{name}: {e}"))?;
    let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("no answer from {addr} within {TIMEOUT:?}"))?
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let stream = tokio::time::timeout(
        TIMEOUT,
        TlsConnector::from(Arc::new(cfg)).connect(server, tcp),
    )
    .await
    .map_err(|_| format!("TLS handshake with {addr} (SNI {name}) timed out"))?
    .map_err(|e| format!("TLS handshake with {addr} (SNI {name}) failed: {e}"))?;
    let chain = capture.0.lock().expect("capture lock").clone();
    Ok(Served { stream, chain })
}

/// The chain served on `addr` for `name`.
pub async fn served_chain(
    addr: SocketAddr,
    name: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    Ok(connect(addr, name, &[]).await?.chain)
}

/// The trust store: the system's roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`).
pub fn roots() -> rustls::RootCertStore {
    let mut store = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for c in found.certs {
        let _ = store.add(c);
    }
    store
}

/// Whether `chain` is trusted for `name` now; the error says why not.
pub fn trusted(chain: &[CertificateDer<'static>], name: &str) -> Result<(), String> {
    let Some((leaf, rest)) = chain.split_first() else {
        return Err("no certificate served".into());
    };
    let roots = roots();
    if roots.is_empty() {
        return Err("no trusted roots on this machine (install ca-certificates)".into());
    }
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| e.to_string())?;
    let server = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(leaf, rest, &server, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| match e {
            rustls::Error::InvalidCertificate(c) => format!("{c:?}"),
            other => other.to_string(),
        })
}
