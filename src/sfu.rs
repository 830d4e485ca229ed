//! `hero_livekit sfu install`: fetch LiveKit's release archive, verify its SHA-256, and put
//! `livekit-server` into the bin dir atomically. Nothing partial is ever left behind: the
//! archive is checked before anything is unpacked, and the binary is renamed into place.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

const RELEASES: &str = "https://github.com/livekit/livekit/releases";
const LATEST_API: &str = "https://api.github.com/repos/livekit/livekit/releases/latest";
/// Release archives are a few tens of MiB; refuse anything absurd.
const MAX_ARCHIVE: u64 = 512 * 1024 * 1024;

/// LiveKit's name for this machine's architecture.
pub fn arch() -> Result<&'static str> {
    Ok(match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "armv7",
        other => bail!("no livekit-server release for architecture {other}"),
    })
}

pub fn archive_name(version: &str) -> Result<String> {
    Ok(format!("livekit_{version}_linux_{}.tar.gz", arch()?))
}

fn get(url: &str) -> Result<Vec<u8>> {
    let resp = ureq::get(url)
        .header(
            "user-agent",
            concat!("hero_livekit/", env!("CARGO_PKG_VERSION")),
        )
        .call()
        .with_context(|| format!("GET {url}"))?;
    let mut body = Vec::new();
    resp.into_body()
        .into_reader()
        .take(MAX_ARCHIVE + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("reading {url}"))?;
    if body.len() as u64 > MAX_ARCHIVE {
        bail!("{url} is larger than {MAX_ARCHIVE} bytes");
    }
    Ok(body)
}

fn latest() -> Result<String> {
    let body = get(LATEST_API)?;
    let v: serde_json::Value = serde_json::from_slice(&body)
        .context("the releases API answered something other than JSON")?;
    let tag = v["tag_name"]
        .as_str()
        .ok_or_else(|| anyhow!("the releases API gave no tag_name"))?;
    Ok(tag.trim_start_matches('v').to_string())
}

/// The expected digest of `name` from a `checksums.txt` (`<hex>  <file>` lines).
pub fn checksum_for(checksums: &str, name: &str) -> Option<String> {
    checksums.lines().find_map(|l| {
        let mut parts = l.split_whitespace();
        let (sum, file) = (parts.next()?, parts.next()?);
        (file.trim_start_matches('*') == name).then(|| sum.to_lowercase())
    })
}

/// Where the archive comes from.
pub enum Source {
    Release {
        version: Option<String>,
    },
    /// A mirror URL or a local file; checksums from `--sha256` or a `checksums.txt` beside it.
    From {
        location: String,
        sha256: Option<String>,
    },
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn sibling(location: &str, name: &str) -> String {
    match location.rfind('/') {
        Some(i) => format!("{}/{name}", &location[..i]),
        None => name.to_string(),
    }
}

fn fetch(location: &str) -> Result<Vec<u8>> {
    if is_url(location) {
        get(location)
    } else {
        std::fs::read(location).with_context(|| format!("reading {location}"))
    }
}

/// Downloads (or reads), verifies and installs; returns the installed path.
pub fn install(source: Source, bin_dir: &Path) -> Result<PathBuf> {
    let (archive, expected, label) = match source {
        Source::Release { version } => {
            let version = match version {
                Some(v) if v != "latest" => v.trim_start_matches('v').to_string(),
                _ => latest()?,
            };
            let name = archive_name(&version)?;
            let base = format!("{RELEASES}/download/v{version}");
            let sums = String::from_utf8(get(&format!("{base}/checksums.txt"))?)
                .context("checksums.txt is not text")?;
            let expected = checksum_for(&sums, &name)
                .ok_or_else(|| anyhow!("checksums.txt of v{version} does not list {name}"))?;
            (
                get(&format!("{base}/{name}"))?,
                expected,
                format!("{base}/{name}"),
            )
        }
        Source::From { location, sha256 } => {
            let name = location.rsplit('/').next().unwrap_or(&location).to_string();
            let expected = match sha256 {
                Some(s) => s.to_lowercase(),
                None => {
                    let sums_at = sibling(&location, "checksums.txt");
                    let sums = fetch(&sums_at).map_err(|e| {
                        anyhow!("no --sha256 given and no checksums.txt beside the archive ({e:#})")
                    })?;
                    checksum_for(&String::from_utf8_lossy(&sums), &name)
                        .ok_or_else(|| anyhow!("{sums_at} does not list {name}"))?
                }
            };
            (fetch(&location)?, expected, location)
        }
    };
    let actual = hex::encode(Sha256::digest(&archive));
    if actual != expected {
        bail!(
            "SHA-256 mismatch for {label}: expected {expected}, got {actual}; nothing was installed"
        );
    }
    std::fs::create_dir_all(bin_dir).with_context(|| format!("creating {}", bin_dir.display()))?;
    let target = bin_dir.join("livekit-server");
    let mut tmp = tempfile::Builder::new()
        .prefix(".livekit-server.")
        .tempfile_in(bin_dir)
        .with_context(|| format!("creating a temp file in {}", bin_dir.display()))?;
    let mut found = false;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    for entry in tar.entries().context("the archive is not a tar.gz")? {
        let mut entry = entry.context("corrupt archive entry")?;
        let path = entry.path().context("corrupt archive path")?.into_owned();
        if path.file_name().is_some_and(|n| n == "livekit-server")
            && entry.header().entry_type().is_file()
        {
            std::io::copy(&mut entry, tmp.as_file_mut()).context("unpacking livekit-server")?;
            found = true;
            break;
        }
    }
    if !found {
        bail!("the archive has no livekit-server binary; nothing was installed");
    }
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target)
        .map_err(|e| anyhow!("installing {}: {}", target.display(), e.error))?;
    std::fs::File::open(bin_dir).and_then(|d| d.sync_all()).ok();
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_lines_are_matched_by_file_name() {
        let sums = "aaa  livekit_1.9.0_linux_arm64.tar.gz\nBBB *livekit_1.9.0_linux_amd64.tar.gz\n";
        assert_eq!(
            checksum_for(sums, "livekit_1.9.0_linux_amd64.tar.gz").as_deref(),
            Some("bbb")
        );
        assert_eq!(checksum_for(sums, "other.tar.gz"), None);
        assert_eq!(
            sibling("http://h/x/a.tar.gz", "checksums.txt"),
            "http://h/x/checksums.txt"
        );
    }
}
