//! livekit.yaml's `rtc` and `turn` per topology (production facts §7.2, facts §1.3, §1.6):
//! `use_external_ip: false` with the configured `node_ip` (STUN discovery would override it and
//! fail offline, production facts §2.4), the ICE range in place of the UDP mux port, and TURN
//! with an explicit relay range. Field names are LiveKit's yaml tags (`TURNConfig` in LK
//! `pkg/config/config.go`); the whole document still goes through the strict schema.

use std::path::Path;

use serde::Serialize;

use super::{TURN_CERT, TURN_KEY};
use crate::config::{Public, Topology};

/// The `turn:` block.
#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub udp_port: u16,
    /// Absent with caddy-only: a `tls_port` makes LiveKit advertise `turns:<domain>:443`,
    /// which would reach Caddy and fail (production facts §7.1 B).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    /// false: LiveKit terminates TLS itself with the copied certificate (HAProxy only routes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_tls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    pub relay_range_start: u16,
    pub relay_range_end: u16,
    /// two-ips: TURN listens on the second IP only (Caddy keeps 443 on node_ip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_addresses: Option<Vec<String>>,
}

/// The `turn:` block for a public deployment.
pub fn turn(p: &Public, home: &Path) -> Turn {
    let tls = p.topology.has_turn_tls();
    Turn {
        enabled: true,
        domain: p.turn_domain.clone().filter(|_| tls),
        udp_port: p.turn_udp_port,
        tls_port: p.turn_tls_port,
        external_tls: tls.then_some(false),
        cert_file: tls.then(|| home.join(TURN_CERT).display().to_string()),
        key_file: tls.then(|| home.join(TURN_KEY).display().to_string()),
        relay_range_start: p.relay_ports.start,
        relay_range_end: p.relay_ports.end,
        bind_addresses: match (p.topology, p.turn_ip) {
            (Topology::TwoIps, Some(ip)) => Some(vec![ip.to_string()]),
            _ => None,
        },
    }
}

/// `rtc.port_range_start`/`end` for a public deployment (the UDP mux port is left out: LiveKit
/// uses the range only when no `udp_port` is set, facts §1.3).
pub fn port_range(p: &Public) -> (u16, u16) {
    (p.udp_ports.start, p.udp_ports.end)
}
