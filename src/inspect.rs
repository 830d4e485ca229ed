//! The one place that runs an external program: `livekit-server --version` and
//! `livekit-server --config FILE ports`, to inspect the SFU binary for `doctor` and
//! `sfu install`. Nothing here starts, holds or stops a service: each call runs to completion
//! under a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long an inspection may take before it is abandoned.
const TIMEOUT: Duration = Duration::from_secs(10);

fn run(bin: &Path, args: &[&str]) -> Result<String, String> {
    let bin = bin.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = Command::new(&bin).args(&args).stdin(Stdio::null()).output();
        let _ = tx.send(out);
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(o)) if o.status.success() => {
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        }
        Ok(Ok(o)) => Err(format!(
            "exited with {}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {TIMEOUT:?}")),
    }
}

/// `livekit-server --version`, e.g. "livekit-server version 1.9.0".
pub fn version(bin: &Path) -> Result<String, String> {
    run(bin, &["--version"])
}

/// `livekit-server --config FILE ports`: livekit-server parses the file strictly, so this also
/// validates it. It prints errors and still exits 0, so the output is returned for the caller.
pub fn ports(bin: &Path, config: &Path) -> Result<String, String> {
    run(bin, &["--config", &config.display().to_string(), "ports"])
}

/// Finds livekit-server in `extra` dirs, then on PATH.
pub fn find(extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    extra
        .iter()
        .cloned()
        .chain(std::env::split_paths(&path))
        .map(|d| d.join("livekit-server"))
        .find(|p| p.is_file())
}
