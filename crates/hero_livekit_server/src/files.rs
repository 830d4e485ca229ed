//! Files with secrets: written atomically (temp file in the same dir, fsync, rename, fsync the
//! dir), mode 0600 (or 0640 with a chosen group, for a side service that runs as another user),
//! and only when their content, mode or group is wrong, so an unchanged render never touches
//! the file (no mtime churn for watchers).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// What [`ensure_file`] had to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already exactly right.
    Unchanged,
    /// Did not exist.
    Created,
    /// Existed but was wrong: the reason says how (never the content).
    Rewritten(String),
}

const TMP_MARK: &str = ".tmp-";

pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(Error::io("set the mode of", path))
}

/// Makes `path` hold exactly `content` with mode 0600.
pub fn ensure_file(path: &Path, content: &[u8]) -> Result<Outcome> {
    ensure_file_as(path, content, 0o600, None)
}

/// Makes `path` hold exactly `content` with `mode` (0600 or 0640) and, when given, group `gid`.
pub fn ensure_file_as(path: &Path, content: &[u8], want: u32, gid: Option<u32>) -> Result<Outcome> {
    let reason = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("inspect", path)(e)),
        Ok(meta) if !meta.is_file() => Some("not a regular file".to_string()),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            let current = fs::read(path).map_err(Error::io("read", path))?;
            if current != content {
                Some(
                    if current.len() < content.len() && content.starts_with(&current) {
                        "truncated".to_string()
                    } else {
                        "content differs from the render (edited)".to_string()
                    },
                )
            } else if mode != want {
                Some(format!("mode {mode:04o}, expected {want:04o}"))
            } else if let Some(g) = gid.filter(|g| *g != meta.gid()) {
                Some(format!("group {}, expected {g}", meta.gid()))
            } else {
                return Ok(Outcome::Unchanged);
            }
        }
    };
    write_atomic_as(path, content, want, gid)?;
    Ok(match reason {
        None => Outcome::Created,
        Some(r) => Outcome::Rewritten(r),
    })
}

/// [`write_atomic_as`] with mode 0600 and the process's group: for secrets only we read.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    write_atomic_as(path, content, 0o600, None)
}

/// Temp file in the same dir, fsync, rename over `path`, fsync the dir. The temp file is created
/// 0600 and gets its group and mode before any content is written, so the secret is never
/// readable by anyone else.
pub fn write_atomic_as(path: &Path, content: &[u8], mode: u32, gid: Option<u32>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    // Unique per write, so two writers in one process never share a temp file.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}{TMP_MARK}{}-{seq}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // An existing temp file keeps its old mode through open(); force it.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        if let Some(g) = gid {
            rustix::fs::fchown(&f, None, Some(rustix::fs::Gid::from_raw(g)))
                .map_err(std::io::Error::from)?;
        }
        if mode != 0o600 {
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", path)(e));
    }
    Ok(())
}

/// Removes temp files that a crash between write and rename left in `dir`.
pub fn remove_stale_temp_files(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(Error::io("list", dir))? {
        let entry = entry.map_err(Error::io("list", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(TMP_MARK) {
            fs::remove_file(entry.path()).map_err(Error::io("remove", entry.path()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_leaves_alone_then_repairs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.env");
        assert_eq!(ensure_file(&p, b"A=1\nB=2\n").unwrap(), Outcome::Created);
        let mtime = fs::metadata(&p).unwrap().modified().unwrap();
        assert_eq!(ensure_file(&p, b"A=1\nB=2\n").unwrap(), Outcome::Unchanged);
        assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), mtime);
        fs::write(&p, b"A=1\n").unwrap();
        assert_eq!(
            ensure_file(&p, b"A=1\nB=2\n").unwrap(),
            Outcome::Rewritten("truncated".into())
        );
        set_mode(&p, 0o644).unwrap();
        assert!(
            matches!(ensure_file(&p, b"A=1\nB=2\n").unwrap(), Outcome::Rewritten(r) if r.contains("0644"))
        );
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&p).unwrap(), b"A=1\nB=2\n");
    }

    #[test]
    fn a_group_readable_file_gets_its_mode_and_group() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("egress.yaml");
        let own = rustix::process::getgid().as_raw();
        assert_eq!(
            ensure_file_as(&p, b"a: 1\n", 0o640, Some(own)).unwrap(),
            Outcome::Created
        );
        let meta = fs::metadata(&p).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        assert_eq!(meta.gid(), own);
        assert_eq!(
            ensure_file_as(&p, b"a: 1\n", 0o640, Some(own)).unwrap(),
            Outcome::Unchanged
        );
        // Back to private: rewritten 0600.
        assert!(matches!(
            ensure_file(&p, b"a: 1\n").unwrap(),
            Outcome::Rewritten(r) if r.contains("expected 0600")
        ));
    }

    #[test]
    fn stale_temp_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".livekit.yaml.tmp-123"), "partial").unwrap();
        fs::write(dir.path().join("livekit.yaml"), "whole").unwrap();
        assert_eq!(remove_stale_temp_files(dir.path()).unwrap(), 1);
        assert!(dir.path().join("livekit.yaml").exists());
    }
}
