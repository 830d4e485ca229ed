//! systemd readiness (`Type=notify`): one datagram to `$NOTIFY_SOCKET`, which may be a path or
//! an abstract socket written `@name` (the sd-notify crate handles only paths).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends `READY=1`. Returns false when not started by systemd.
pub fn ready() -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => sock.connect_addr(&SocketAddr::from_abstract_name(name)?)?,
        None => sock.connect(&path)?,
    }
    let msg = format!("READY=1\nMAINPID={}\n", std::process::id());
    sock.send(msg.as_bytes())?;
    Ok(true)
}

/// Tells systemd the service is stopping.
pub fn stopping() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_bytes();
    let connected = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name).and_then(|a| sock.connect_addr(&a)),
        None => sock.connect(&path),
    };
    if connected.is_ok() {
        let _ = sock.send(b"STOPPING=1\n");
    }
}
