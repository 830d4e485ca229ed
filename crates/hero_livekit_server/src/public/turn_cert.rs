//! The TURN certificate (production facts §2.1, §7.2): Caddy obtains and renews it under its
//! pinned storage root; LiveKit reads `turn.cert_file`/`key_file` once, at start, and never
//! again. So the control plane copies Caddy's certificate and key to the files livekit.yaml
//! names whenever Caddy has a new one (0600 in a 0700 directory: LiveKit runs as the control
//! plane's user), and reports a restart when the certificate the TURN listener serves is not
//! the one on disk. It never restarts anything.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hero_livekit_api::timefmt::rfc3339;

use super::{TURN_CERT, TURN_DIR, TURN_KEY, caddy_storage, certs, tls_probe};
use crate::config::{Config, Public, Topology};
use crate::error::{Error, Result};
use crate::files::{self, Outcome};

/// certmagic's storage key for an ACME CA (`ACMEIssuer.issuerKey` + `KeyBuilder.Safe`): the
/// URL's host and path, `/` and `:` turned into `-` (`127.0.0.1-14000-dir` for Pebble,
/// `acme-v02.api.letsencrypt.org-directory` for Let's Encrypt; production facts §5).
pub fn issuer_key(ca: &str) -> String {
    let key = match url::Url::parse(ca) {
        Ok(u) => {
            let mut k = u.host_str().unwrap_or_default().to_string();
            if let Some(port) = u.port() {
                k = format!("{k}:{port}");
            }
            let path = u.path().replace(['/', '\\'], "-");
            let path = path.trim_matches('-');
            if !path.is_empty() {
                k = format!("{k}-{path}");
            }
            k
        }
        Err(_) => ca.to_string(),
    };
    key.trim()
        .to_ascii_lowercase()
        .replace(' ', "_")
        .replace('+', "_plus_")
        .replace('*', "wildcard_")
        .replace(':', "-")
        .replace("..", "")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.' | '-'))
        .collect()
}

/// Where Caddy keeps the TURN certificate: under the pinned CA's directory, else (a CA changed
/// by hand) the newest one under any issuer.
pub fn caddy_files(home: &Path, p: &Public) -> Option<(PathBuf, PathBuf)> {
    let turn = p.turn_domain.as_deref()?;
    let certs = caddy_storage(home).join("certificates");
    let pair = |dir: PathBuf| {
        let crt = dir.join(format!("{turn}.crt"));
        let key = dir.join(format!("{turn}.key"));
        (crt.is_file() && key.is_file()).then_some((crt, key))
    };
    if let Some(found) = pair(certs.join(issuer_key(&p.acme_ca)).join(turn)) {
        return Some(found);
    }
    std::fs::read_dir(&certs)
        .ok()?
        .filter_map(|e| pair(e.ok()?.path().join(turn)))
        .max_by_key(|(crt, _)| std::fs::metadata(crt).and_then(|m| m.modified()).ok())
}

/// Copies a new certificate from Caddy. `None`: nothing to do (no TURN/TLS, Caddy has none
/// yet, or the copy is current).
pub fn sync(config: &Config, p: &Public) -> Result<Option<Outcome>> {
    if !p.topology.has_turn_tls() {
        return Ok(None);
    }
    let Some((crt, key)) = caddy_files(&config.home, p) else {
        return Ok(None);
    };
    let cert_pem = std::fs::read(&crt).map_err(Error::io("read", &crt))?;
    let key_pem = std::fs::read(&key).map_err(Error::io("read", &key))?;
    let dest_crt = config.path(TURN_CERT);
    let dest_key = config.path(TURN_KEY);
    if std::fs::read(&dest_crt).is_ok_and(|c| c == cert_pem)
        && std::fs::read(&dest_key).is_ok_and(|k| k == key_pem)
    {
        files::ensure_file(&dest_key, &key_pem)?;
        return Ok(
            Some(files::ensure_file(&dest_crt, &cert_pem)?).filter(|o| *o != Outcome::Unchanged)
        );
    }
    // Caddy writes .crt and .key one after the other: copy only a consistent pair, else the
    // next pass will.
    let chain = match certs::chain_from_pem(&cert_pem)
        .and_then(|c| certs::key_matches(&c, &key_pem).map(|_| c))
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(file = %crt.display(), error = %e, "Caddy's TURN certificate is not usable yet");
            return Ok(None);
        }
    };
    let dir = config.path(TURN_DIR);
    std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    files::set_mode(&dir, 0o700)?;
    let existed = dest_crt.exists();
    // Key first: a LiveKit that starts in between fails on a mismatch (and is restarted by
    // its supervisor) instead of serving a certificate with the wrong key.
    files::write_atomic(&dest_key, &key_pem)?;
    files::write_atomic(&dest_crt, &cert_pem)?;
    let leaf = certs::info(&chain[0]).map_err(Error::Internal)?;
    tracing::info!(
        domain = p.turn_domain.as_deref().unwrap_or_default(),
        serial = %leaf.serial,
        not_after = %rfc3339(leaf.not_after),
        "copied Caddy's TURN certificate for LiveKit"
    );
    Ok(Some(if existed {
        Outcome::Rewritten("renewed by Caddy".into())
    } else {
        Outcome::Created
    }))
}

/// Where this machine reaches LiveKit's TURN/TLS listener directly (not through HAProxy).
pub fn listener(p: &Public) -> Option<SocketAddr> {
    let port = p.turn_tls_port?;
    let ip = match (p.topology, p.turn_ip) {
        (Topology::TwoIps, Some(ip)) => ip,
        _ => std::net::IpAddr::from([127, 0, 0, 1]),
    };
    Some(SocketAddr::new(ip, port))
}

/// The leaf of the copy on disk and when it was written.
pub fn on_disk(config: &Config) -> Option<(certs::CertInfo, i64)> {
    let path = config.path(TURN_CERT);
    let pem = std::fs::read(&path).ok()?;
    let chain = certs::chain_from_pem(&pem).ok()?;
    let when = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some((certs::info(&chain[0]).ok()?, when))
}

/// The leaf the TURN listener serves now.
pub async fn served(p: &Public) -> Result<certs::CertInfo, String> {
    let addr = listener(p).ok_or("no TURN/TLS listener in this topology")?;
    let name = p.turn_domain.as_deref().unwrap_or_default();
    let chain = tokio::time::timeout(Duration::from_secs(3), tls_probe::served_chain(addr, name))
        .await
        .map_err(|_| format!("no TLS answer from {addr}"))??;
    certs::info(chain.first().ok_or("no certificate served")?)
}

/// Why LiveKit must restart for its TURN certificate, if it must: the listener answers with
/// another certificate than the copy on disk. Unknown (not answering) is not a reason.
pub async fn restart_reason(config: &Config) -> Option<String> {
    let p = config
        .public
        .as_ref()
        .filter(|p| p.topology.has_turn_tls())?;
    let (disk, written) = on_disk(config)?;
    let live = served(p).await.ok()?;
    (live.sha256 != disk.sha256).then(|| {
        format!(
            "TURN certificate renewed at {}; LiveKit still serves the one from its start \
             (serial {}, expires {}): restart livekit-server to load {}",
            rfc3339(written),
            live.serial,
            rfc3339(live.not_after),
            config.path(TURN_CERT).display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_keys_are_certmagics() {
        assert_eq!(
            issuer_key("https://127.0.0.1:14000/dir"),
            "127.0.0.1-14000-dir"
        );
        assert_eq!(
            issuer_key(crate::config::public::LETS_ENCRYPT),
            "acme-v02.api.letsencrypt.org-directory"
        );
        assert_eq!(
            issuer_key("https://acme-staging-v02.api.letsencrypt.org/directory"),
            "acme-staging-v02.api.letsencrypt.org-directory"
        );
    }
}
