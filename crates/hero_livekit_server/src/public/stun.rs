//! STUN Binding (RFC 5389) and TURN Allocate (RFC 5766) as `deploy.check` uses them: a Binding
//! on `node_ip:3478/udp`, and an Allocate over TLS on the TURN name with credentials minted the
//! way LiveKit checks them (production facts §2.3; LK `pkg/service/turn.go`): username =
//! base62("apiKey|participantID|expiry"), password = base62(sha256("secret|participantID|expiry")),
//! realm `livekit`, long-term credentials (key = MD5(username:realm:password)).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const MAGIC: u32 = 0x2112_A442;
pub const BINDING: u16 = 0x0001;
pub const ALLOCATE: u16 = 0x0003;
pub const REFRESH: u16 = 0x0004;
pub const SUCCESS: u16 = 0x0100;
pub const ERROR: u16 = 0x0110;

pub const ATTR_USERNAME: u16 = 0x0006;
pub const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
pub const ATTR_ERROR_CODE: u16 = 0x0009;
pub const ATTR_LIFETIME: u16 = 0x000D;
pub const ATTR_REALM: u16 = 0x0014;
pub const ATTR_NONCE: u16 = 0x0015;
pub const ATTR_XOR_RELAYED_ADDRESS: u16 = 0x0016;
pub const ATTR_REQUESTED_TRANSPORT: u16 = 0x0019;
pub const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;

/// LiveKit's TURN realm.
pub const REALM: &str = "livekit";

/// A STUN message: type, transaction id and attributes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: u16,
    pub txid: [u8; 12],
    pub attrs: Vec<(u16, Vec<u8>)>,
}

impl Message {
    pub fn new(kind: u16) -> Message {
        let mut txid = [0u8; 12];
        getrandom::fill(&mut txid).expect("OS random");
        Message {
            kind,
            txid,
            attrs: Vec::new(),
        }
    }

    pub fn attr(&self, t: u16) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, v)| v.as_slice())
    }

    pub fn with(mut self, t: u16, v: impl Into<Vec<u8>>) -> Message {
        self.attrs.push((t, v.into()));
        self
    }

    /// Encodes; with `key`, appends MESSAGE-INTEGRITY over everything before it.
    pub fn encode(&self, key: Option<&[u8]>) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in &self.attrs {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mi_len = if key.is_some() { 24 } else { 0 };
        let mut out = Vec::with_capacity(20 + body.len() + mi_len);
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&((body.len() + mi_len) as u16).to_be_bytes());
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&self.txid);
        out.extend_from_slice(&body);
        if let Some(key) = key {
            let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("any key length");
            mac.update(&out);
            let tag = mac.finalize().into_bytes();
            out.extend_from_slice(&ATTR_MESSAGE_INTEGRITY.to_be_bytes());
            out.extend_from_slice(&20u16.to_be_bytes());
            out.extend_from_slice(&tag);
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<Message, String> {
        if b.len() < 20 || u32::from_be_bytes([b[4], b[5], b[6], b[7]]) != MAGIC {
            return Err("not a STUN message".into());
        }
        let kind = u16::from_be_bytes([b[0], b[1]]);
        let len = u16::from_be_bytes([b[2], b[3]]) as usize;
        if b.len() < 20 + len {
            return Err("truncated STUN message".into());
        }
        let mut txid = [0u8; 12];
        txid.copy_from_slice(&b[8..20]);
        let mut attrs = Vec::new();
        let mut at = 20;
        while at + 4 <= 20 + len {
            let t = u16::from_be_bytes([b[at], b[at + 1]]);
            let l = u16::from_be_bytes([b[at + 2], b[at + 3]]) as usize;
            let v = b
                .get(at + 4..at + 4 + l)
                .ok_or("truncated STUN attribute")?
                .to_vec();
            attrs.push((t, v));
            at += 4 + l.div_ceil(4) * 4;
        }
        Ok(Message { kind, txid, attrs })
    }

    /// An XOR-*-ADDRESS attribute, decoded.
    pub fn xor_address(&self, t: u16) -> Option<SocketAddr> {
        let v = self.attr(t)?;
        if v.len() < 8 {
            return None;
        }
        let port = u16::from_be_bytes([v[2], v[3]]) ^ (MAGIC >> 16) as u16;
        match v[1] {
            1 => {
                let x = u32::from_be_bytes([v[4], v[5], v[6], v[7]]) ^ MAGIC;
                Some(SocketAddr::new(IpAddr::from(x.to_be_bytes()), port))
            }
            2 if v.len() >= 20 => {
                let mut mask = [0u8; 16];
                mask[..4].copy_from_slice(&MAGIC.to_be_bytes());
                mask[4..].copy_from_slice(&self.txid);
                let mut ip = [0u8; 16];
                for i in 0..16 {
                    ip[i] = v[4 + i] ^ mask[i];
                }
                Some(SocketAddr::new(IpAddr::from(ip), port))
            }
            _ => None,
        }
    }

    /// ERROR-CODE as (code, reason).
    pub fn error(&self) -> Option<(u16, String)> {
        let v = self.attr(ATTR_ERROR_CODE)?;
        if v.len() < 4 {
            return None;
        }
        let code = u16::from(v[2] & 0x7) * 100 + u16::from(v[3]);
        Some((code, String::from_utf8_lossy(&v[4..]).into_owned()))
    }
}

/// Encodes an XOR-*-ADDRESS value (for fixtures and tests).
pub fn xor_address_value(addr: SocketAddr, txid: &[u8; 12]) -> Vec<u8> {
    let mut v = vec![0u8];
    let port = addr.port() ^ (MAGIC >> 16) as u16;
    match addr.ip() {
        IpAddr::V4(ip) => {
            v.push(1);
            v.extend_from_slice(&port.to_be_bytes());
            v.extend_from_slice(&(u32::from(ip) ^ MAGIC).to_be_bytes());
        }
        IpAddr::V6(ip) => {
            v.push(2);
            v.extend_from_slice(&port.to_be_bytes());
            let mut mask = [0u8; 16];
            mask[..4].copy_from_slice(&MAGIC.to_be_bytes());
            mask[4..].copy_from_slice(txid);
            v.extend(ip.octets().iter().zip(mask).map(|(a, b)| a ^ b));
        }
    }
    v
}

/// The long-term credential key: MD5(username:realm:password).
pub fn long_term_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    Md5::digest(format!("{username}:{realm}:{password}")).to_vec()
}

/// LiveKit's TURN credentials for a participant, valid until `expiry` (unix seconds).
pub fn livekit_credentials(
    api_key: &str,
    secret: &str,
    participant: &str,
    expiry: i64,
) -> (String, String) {
    let username = base62::encode(format!("{api_key}|{participant}|{expiry}").as_bytes());
    let password = base62::encode(&Sha256::digest(format!("{secret}|{participant}|{expiry}")));
    (username, password)
}

/// One STUN Binding over UDP: the XOR-MAPPED-ADDRESS the server saw. Three tries, 1 s each.
pub async fn binding_udp(server: SocketAddr) -> Result<SocketAddr, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("addr")
    } else {
        "[::]:0".parse().expect("addr")
    };
    let sock = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    let req = Message::new(BINDING);
    let bytes = req.encode(None);
    let mut buf = [0u8; 1500];
    for _ in 0..3 {
        sock.send_to(&bytes, server)
            .await
            .map_err(|e| format!("cannot send to {server}: {e}"))?;
        match tokio::time::timeout(Duration::from_secs(1), sock.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => {
                let m = Message::decode(&buf[..n])?;
                if m.txid != req.txid || m.kind != BINDING | SUCCESS {
                    return Err(format!("unexpected answer (type {:#06x})", m.kind));
                }
                return m
                    .xor_address(ATTR_XOR_MAPPED_ADDRESS)
                    .ok_or_else(|| "answer without XOR-MAPPED-ADDRESS".to_string());
            }
            Ok(Err(e)) => return Err(format!("receive failed: {e}")),
            Err(_) => continue,
        }
    }
    Err(format!("no response on {}/udp", server.port()))
}

async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    m: &Message,
    key: Option<&[u8]>,
) -> Result<Message, String> {
    s.write_all(&m.encode(key))
        .await
        .map_err(|e| format!("write failed: {e}"))?;
    let mut head = [0u8; 20];
    s.read_exact(&mut head)
        .await
        .map_err(|e| format!("no STUN answer: {e}"))?;
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    let mut msg = head.to_vec();
    msg.resize(20 + len, 0);
    s.read_exact(&mut msg[20..])
        .await
        .map_err(|e| format!("truncated STUN answer: {e}"))?;
    let r = Message::decode(&msg)?;
    if r.txid != m.txid {
        return Err("answer to another transaction".into());
    }
    Ok(r)
}

/// What a TURN allocation gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub relayed: SocketAddr,
    /// The client address the server saw (what Firefox checks, production facts §1.5).
    pub mapped: Option<SocketAddr>,
}

/// A TURN Allocate (UDP relay) on an established stream, authenticated with long-term
/// credentials after the server's 401 challenge; the allocation is released right away.
pub async fn allocate<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    username: &str,
    password: &str,
) -> Result<Allocation, String> {
    let transport = vec![17u8, 0, 0, 0];
    let first = Message::new(ALLOCATE).with(ATTR_REQUESTED_TRANSPORT, transport.clone());
    let challenge = roundtrip(s, &first, None).await?;
    if challenge.kind != ALLOCATE | ERROR {
        return Err(format!(
            "unexpected answer to Allocate (type {:#06x})",
            challenge.kind
        ));
    }
    let realm = challenge
        .attr(ATTR_REALM)
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .ok_or_else(|| format!("no realm in the challenge ({:?})", challenge.error()))?;
    let nonce = challenge
        .attr(ATTR_NONCE)
        .ok_or("no nonce in the challenge")?
        .to_vec();
    let key = long_term_key(username, &realm, password);
    let auth = |m: Message| {
        m.with(ATTR_USERNAME, username.as_bytes().to_vec())
            .with(ATTR_REALM, realm.as_bytes().to_vec())
            .with(ATTR_NONCE, nonce.clone())
    };
    let req = auth(Message::new(ALLOCATE).with(ATTR_REQUESTED_TRANSPORT, transport));
    let ans = roundtrip(s, &req, Some(&key)).await?;
    if ans.kind != ALLOCATE | SUCCESS {
        let (code, reason) = ans.error().unwrap_or((0, String::new()));
        return Err(format!("Allocate refused: {code} {reason}"));
    }
    let relayed = ans
        .xor_address(ATTR_XOR_RELAYED_ADDRESS)
        .ok_or("allocation without XOR-RELAYED-ADDRESS")?;
    let mapped = ans.xor_address(ATTR_XOR_MAPPED_ADDRESS);
    // Release it: lifetime 0.
    let refresh = auth(Message::new(REFRESH).with(ATTR_LIFETIME, 0u32.to_be_bytes().to_vec()));
    let _ = tokio::time::timeout(Duration::from_secs(2), roundtrip(s, &refresh, Some(&key))).await;
    Ok(Allocation { relayed, mapped })
}

/// Checks MESSAGE-INTEGRITY of a raw message with `key` (for fixtures).
pub fn integrity_ok(raw: &[u8], key: &[u8]) -> bool {
    let Ok(m) = Message::decode(raw) else {
        return false;
    };
    let Some(tag) = m.attr(ATTR_MESSAGE_INTEGRITY) else {
        return false;
    };
    let before: Vec<(u16, Vec<u8>)> = m
        .attrs
        .iter()
        .take_while(|(t, _)| *t != ATTR_MESSAGE_INTEGRITY)
        .cloned()
        .collect();
    let expect = Message {
        kind: m.kind,
        txid: m.txid,
        attrs: before,
    }
    .encode(Some(key));
    expect[expect.len() - 20..] == *tag
}

/// jxskiss/base62 as LiveKit uses it (`base62.EncodeToString` / `DecodeString`, standard
/// alphabet): 6 bits at a time from the end, a value whose bits 1-4 are all set takes only 5.
pub mod base62 {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const COMPACT_MASK: u8 = 0x1E;
    const MASK5: u8 = 0x1F;
    const MASK6: u8 = 0x3F;

    fn get6bits(src: &[u8], pos: usize) -> u8 {
        let mut r = pos & 7;
        let mut i = pos >> 3;
        if r == 0 {
            i -= 1;
            r = 8;
        }
        let mut b = src[i] >> (8 - r);
        if r < 6 && i > 0 {
            b |= src[i - 1] << r;
        }
        b & MASK6
    }

    pub fn encode(src: &[u8]) -> String {
        let mut out = String::with_capacity(src.len() * 9 / 5);
        let mut pos = src.len() * 8;
        while pos > 0 {
            let mut size = 6;
            let mut b = get6bits(src, pos);
            if b & COMPACT_MASK == COMPACT_MASK {
                if pos > 6 || b > MASK5 {
                    size = 5;
                }
                b &= MASK5;
            }
            out.push(ALPHABET[b as usize] as char);
            pos = pos.saturating_sub(size);
        }
        out
    }

    pub fn decode(src: &str) -> Option<Vec<u8>> {
        let src = src.as_bytes();
        if src.is_empty() {
            return Some(Vec::new());
        }
        let mut dst = vec![0u8; src.len() * 6 / 8 + 1];
        let mut idx = dst.len();
        let mut pos: u32 = 0;
        let mut b: u64 = 0;
        for (i, c) in src.iter().enumerate() {
            let x = ALPHABET.iter().position(|a| a == c)? as u64;
            b |= x << pos;
            if i == src.len() - 1 {
                pos += 8 - (x as u8).leading_zeros();
            } else if (x as u8) & COMPACT_MASK == COMPACT_MASK {
                pos += 5;
            } else {
                pos += 6;
            }
            if pos >= 8 {
                idx -= 1;
                dst[idx] = b as u8;
                pos %= 8;
                b >>= 8;
            }
        }
        if pos > 0 {
            idx -= 1;
            dst[idx] = b as u8;
        }
        Some(dst[idx..].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_round_trips_like_jxskiss() {
        // Hand-worked from the Go code: 0xFF → bits 111111|11 from the end: 0x3F has bits 1-4
        // set and pos 8 > 6, so 5 bits (0x1F = 'f') are taken, then 111 = 7 ('H').
        assert_eq!(base62::encode(&[0xFF]), "fH");
        assert_eq!(base62::encode(&[0x00]), "AA");
        assert_eq!(base62::decode("fH").unwrap(), vec![0xFF]);
        let mut seed = 7u32;
        for len in 0..200usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let e = base62::encode(&data);
            assert!(e.bytes().all(|c| c.is_ascii_alphanumeric()));
            assert_eq!(base62::decode(&e).unwrap(), data, "len {len}");
        }
        for len in 0..100 {
            for fill in [0u8, 0xff, 0x1e, 0x3c] {
                let data = vec![fill; len];
                assert_eq!(base62::decode(&base62::encode(&data)).unwrap(), data);
            }
        }
    }

    #[test]
    fn messages_round_trip_with_integrity() {
        let key = long_term_key("u", REALM, "p");
        let m = Message::new(ALLOCATE)
            .with(ATTR_REQUESTED_TRANSPORT, vec![17, 0, 0, 0])
            .with(ATTR_USERNAME, b"user".to_vec());
        let raw = m.encode(Some(&key));
        assert!(integrity_ok(&raw, &key));
        assert!(!integrity_ok(&raw, &long_term_key("u", REALM, "q")));
        let back = Message::decode(&raw).unwrap();
        assert_eq!(back.attr(ATTR_USERNAME), Some(&b"user"[..]));
        let addr: SocketAddr = "203.0.113.7:40000".parse().unwrap();
        let with = Message::new(BINDING | SUCCESS);
        let v = xor_address_value(addr, &with.txid);
        let with = with.with(ATTR_XOR_MAPPED_ADDRESS, v);
        assert_eq!(
            Message::decode(&with.encode(None))
                .unwrap()
                .xor_address(ATTR_XOR_MAPPED_ADDRESS),
            Some(addr)
        );
        let (user, _) = livekit_credentials("APIx", "s", "PA_1", 1_900_000_000);
        assert_eq!(
            base62::decode(&user).unwrap(),
            b"APIx|PA_1|1900000000".to_vec()
        );
    }
}
