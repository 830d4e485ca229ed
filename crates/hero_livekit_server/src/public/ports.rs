//! Who holds a port: the sockets in `/proc/net/{tcp,tcp6,udp,udp6}` and the process whose
//! `/proc/<pid>/fd` links to each socket's inode (what `ss -ltnup` shows, without needing
//! `ss`). A process of another user cannot be named without root; it is then "unknown".

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A bound socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub addr: SocketAddr,
    pub pid: Option<u32>,
    pub process: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.process, self.pid) {
            (Some(name), Some(pid)) => write!(f, "{name} (pid {pid}) on {}", self.addr),
            _ => write!(
                f,
                "a process this user cannot see (run as root to name it) on {}",
                self.addr
            ),
        }
    }
}

fn parse_addr(hex_addr: &str) -> Option<SocketAddr> {
    let (ip, port) = hex_addr.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(ip, 16).ok()?.swap_bytes(),
        )),
        32 => {
            // Four host-order 32-bit words.
            let mut b = [0u8; 16];
            for w in 0..4 {
                let word = u32::from_str_radix(&ip[w * 8..w * 8 + 8], 16).ok()?;
                b[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Bound sockets of `proto` (TCP: listening only) whose port is in `ports`, by inode.
fn sockets(proto: Proto, ports: std::ops::RangeInclusive<u16>) -> Vec<(SocketAddr, u64)> {
    let files: &[&str] = match proto {
        Proto::Tcp => &["/proc/net/tcp", "/proc/net/tcp6"],
        Proto::Udp => &["/proc/net/udp", "/proc/net/udp6"],
    };
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || (proto == Proto::Tcp && cols[3] != "0A") {
                continue;
            }
            let (Some(addr), Ok(inode)) = (parse_addr(cols[1]), cols[9].parse::<u64>()) else {
                continue;
            };
            if ports.contains(&addr.port()) {
                out.push((addr, inode));
            }
        }
    }
    out
}

/// socket inode → (pid, process name), for every process this user may look into.
fn owners() -> HashMap<u64, (u32, String)> {
    let mut map = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return map;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let name = std::fs::read_to_string(p.path().join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        for fd in fds.flatten() {
            if let Some(inode) = std::fs::read_link(fd.path()).ok().and_then(|l| {
                l.to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            }) {
                map.insert(inode, (pid, name.clone()));
            }
        }
    }
    map
}

/// Who holds ports `ports` of `proto` on this machine.
pub fn holders(proto: Proto, ports: std::ops::RangeInclusive<u16>) -> Vec<Holder> {
    let found = sockets(proto, ports);
    if found.is_empty() {
        return Vec::new();
    }
    let owners = owners();
    found
        .into_iter()
        .map(|(addr, inode)| {
            let o = owners.get(&inode);
            Holder {
                addr,
                pid: o.map(|o| o.0),
                process: o.map(|o| o.1.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_of_this_process_is_named() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = holders(Proto::Tcp, port..=port);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].pid, Some(std::process::id()));
        assert_eq!(h[0].addr, l.local_addr().unwrap());
        let u = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let uport = u.local_addr().unwrap().port();
        let h = holders(Proto::Udp, uport..=uport);
        assert_eq!(h[0].addr, u.local_addr().unwrap());
        assert!(
            h[0].to_string()
                .contains(&format!("pid {}", std::process::id()))
        );
    }
}
