//! Runs the real validators on a rendered proxy config before it replaces a file:
//! `caddy validate --config F --adapter caddyfile` and `haproxy -c -f F` (production facts §5,
//! §6.5). Like `src/inspect.rs` in the CLI, this runs a program to completion under a timeout
//! and reads its output; it never starts, holds or signals a service — a validator that does
//! not answer in time is abandoned, and its verdict is "not validated".

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);

/// Which validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    Caddy,
    Haproxy,
}

impl Validator {
    pub fn program(self) -> &'static str {
        match self {
            Validator::Caddy => "caddy",
            Validator::Haproxy => "haproxy",
        }
    }

    fn args(self, file: &Path) -> Vec<String> {
        let f = file.display().to_string();
        match self {
            Validator::Caddy => vec![
                "validate".into(),
                "--config".into(),
                f,
                "--adapter".into(),
                "caddyfile".into(),
            ],
            Validator::Haproxy => vec!["-c".into(), "-f".into(), f],
        }
    }
}

/// The verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// The validator's own text (its error lines).
    Invalid(String),
    /// The program is not installed (or did not answer): nothing was checked.
    Unchecked(String),
}

/// Finds a program on PATH (and in /usr/sbin, where Debian puts haproxy).
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Validates the file at `file` as it is.
pub fn file(v: Validator, file: &Path) -> Verdict {
    let Some(bin) = find(v.program()) else {
        return Verdict::Unchecked(format!("{} is not installed", v.program()));
    };
    let args = v.args(file);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = Command::new(&bin).args(&args).stdin(Stdio::null()).output();
        let _ = tx.send(out);
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(o)) if o.status.success() => Verdict::Valid,
        Ok(Ok(o)) => {
            let text = format!(
                "{}\n{}",
                String::from_utf8_lossy(&o.stderr),
                String::from_utf8_lossy(&o.stdout)
            );
            Verdict::Invalid(error_lines(v, &text))
        }
        Ok(Err(e)) => Verdict::Unchecked(format!("{} did not run: {e}", v.program())),
        Err(_) => Verdict::Unchecked(format!("{} gave no answer within {TIMEOUT:?}", v.program())),
    }
}

/// Validates `content` as it would be written to `target`: a temp file beside it (relative
/// paths inside resolve the same), removed afterwards.
pub fn content(v: Validator, target: &Path, content: &str) -> Verdict {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    // The `.tmp-` mark lets boot remove it if we crash in between.
    let tmp = dir.join(format!(".{name}.tmp-validate-{}", std::process::id()));
    if let Err(e) = crate::files::write_atomic(&tmp, content.as_bytes()) {
        return Verdict::Unchecked(format!("cannot write {}: {e}", tmp.display()));
    }
    let verdict = file(v, &tmp);
    let _ = std::fs::remove_file(&tmp);
    // Messages name the file being validated, not its temp copy.
    match verdict {
        Verdict::Invalid(t) => {
            Verdict::Invalid(t.replace(&tmp.display().to_string(), &target.display().to_string()))
        }
        other => other,
    }
}

/// The lines that say what is wrong: Caddy logs JSON lines before its `Error:` line; HAProxy
/// prints `[ALERT]`/`[WARNING]` lines and a summary.
fn error_lines(v: Validator, text: &str) -> String {
    let keep: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| match v {
            Validator::Caddy => l.starts_with("Error") || !l.starts_with('{'),
            Validator::Haproxy => l.contains("ALERT") || l.contains("Fatal") || l.contains("error"),
        })
        .collect();
    if keep.is_empty() {
        text.trim().to_string()
    } else {
        keep.join("\n")
    }
}
