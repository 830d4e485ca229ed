//! The kit's own guarantees: children die with their guard, the private Redis and PostgreSQL
//! come up, survive what outage tests do to them and leave nothing behind, and the committed
//! test vectors are what `scripts/make-test-vectors` makes.

mod fixtures;
mod process;
mod vectors;

/// Whether a pid names a live process (a zombie, dead but not yet reaped, counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s.rsplit_once(')')?.1.split_whitespace().next()?.to_string();
            Some(state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// Whether anything accepts connections on `127.0.0.1:port`.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}
