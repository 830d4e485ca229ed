//! Random identifiers and secrets from the OS CSPRNG, and a wrapper that never prints them.

use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` base62 characters, each uniform: bytes ≥ 248 are rejected so `% 62` has no bias.
pub fn base62(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).expect("the OS CSPRNG is unavailable");
        for &b in &buf {
            if b < 248 && out.len() < n {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// A new API key: `API` + 12 base62 characters, like `livekit-server generate-keys`.
pub fn new_api_key() -> String {
    format!("API{}", base62(12))
}

/// 44 base62 characters: 261 bits, above LiveKit's 32-character minimum and 256 bits.
pub fn new_secret() -> Secret {
    Secret(base62(44))
}

/// A secret string. `Debug` and `Display` print `<redacted>`; use [`Secret::expose`] to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Serialized (in `config.get`, audit, any response) as `<redacted>`: a secret reaches a file
/// or a caller only through [`Secret::expose`].
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(hero_livekit_api::redact::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_uniqueness() {
        let k = new_api_key();
        assert_eq!(k.len(), 15);
        assert!(k.starts_with("API") && k.bytes().all(|b| b.is_ascii_alphanumeric()));
        let s = new_secret();
        assert_eq!(s.expose().len(), 44);
        assert_ne!(s, new_secret());
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    }
}
