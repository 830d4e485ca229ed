//! What the checks need to know about a certificate: its SHA-256 fingerprint, names, expiry,
//! and whether a private key belongs to it. Never reads or returns a private key's bytes
//! beyond this process.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// One parsed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Hex SHA-256 of the DER (the fingerprint browsers show).
    pub sha256: String,
    pub serial: String,
    pub dns_names: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
    pub issuer: String,
}

impl CertInfo {
    pub fn covers(&self, name: &str) -> bool {
        self.dns_names.iter().any(|n| {
            n.eq_ignore_ascii_case(name)
                || n.strip_prefix("*.").is_some_and(|w| {
                    name.split_once('.')
                        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(w))
                })
        })
    }

    /// Whole days left at `now` (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// The fingerprint as `AB:CD:…`, shortened for messages.
    pub fn short(&self) -> String {
        self.sha256[..16].to_ascii_uppercase()
    }
}

pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Parses a DER certificate.
pub fn info(der: &[u8]) -> Result<CertInfo, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                dns_names.push(d.to_string());
            }
        }
    }
    Ok(CertInfo {
        sha256: fingerprint(der),
        serial: cert.raw_serial_as_string(),
        dns_names,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        issuer: cert.issuer().to_string(),
    })
}

/// The certificates of a PEM file, leaf first.
pub fn chain_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(chain)
}

/// Whether the PEM private key `key_pem` is the key of the first certificate in `chain`
/// (the comparison Go's `tls.LoadX509KeyPair` makes when LiveKit starts).
pub fn key_matches(chain: &[CertificateDer<'static>], key_pem: &[u8]) -> Result<(), String> {
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("no private key: {e}"))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| format!("unsupported private key: {e}"))?;
    let ck = rustls::sign::CertifiedKey::new(chain.to_vec(), Arc::clone(&signer));
    ck.keys_match()
        .map_err(|_| "private key does not match public key".to_string())
}
