//! The single-instance lock on `<home>/server.lock` (design §2 step 4).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Held for the life of the server; the OS releases it when the process dies, even by kill -9.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the lock or explains who holds it. The file is opened without truncation so a loser
/// can still read the winner's pid.
pub fn acquire(home: &Path) -> Result<InstanceLock> {
    let path = home.join(hero_livekit_api::paths::SERVER_LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(Error::io("open", &path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(Error::AlreadyRunning {
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.to_string()
                },
                home: home.to_path_buf(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path)(e)),
    }
    let write = |f: &mut File| -> std::io::Result<()> {
        f.set_len(0)?;
        f.seek(SeekFrom::Start(0))?;
        writeln!(f, "{}", std::process::id())?;
        f.sync_all()
    };
    write(&mut file).map_err(Error::io("write", &path))?;
    Ok(InstanceLock { _file: file })
}
