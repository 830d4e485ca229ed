//! API keys and the rules about them (design §8). The database is the source of truth; the
//! files are rendered from the rows, so every transition is committed before any file changes.
//! Which key signs tokens and which signs webhooks is decided here and only here.

use hero_livekit_api::timefmt::rfc3339;
use hero_livekit_api::types::{KeyInfo, KeyState};

use crate::error::{Error, Result};
use crate::render::CANARY_PREFIX;
use crate::secrets::Secret;

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub api_key: String,
    pub secret: Secret,
    pub state: KeyState,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retire_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl KeyRow {
    /// Whether livekit-server must accept this key (it is in livekit.yaml `keys`).
    pub fn in_livekit_yaml(&self) -> bool {
        matches!(
            self.state,
            KeyState::Pending | KeyState::Active | KeyState::Retiring
        )
    }

    /// Whether the SFU may still sign webhooks with it (it is in LIVEKIT_WEBHOOK_KEYS).
    pub fn may_sign_webhooks(&self) -> bool {
        self.state != KeyState::Revoked
    }

    pub fn info(&self, sfu_accepts: Option<bool>) -> KeyInfo {
        KeyInfo {
            api_key: self.api_key.clone(),
            state: self.state,
            created_at: rfc3339(self.created_at),
            activated_at: self.activated_at.map(rfc3339),
            retire_at: self.retire_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
            sfu_accepts,
        }
    }
}

/// The key that signs new tokens: the active key activated last (exactly one is active unless
/// something went wrong; the rule still picks the same key everywhere). Used by minting and by
/// the backend.env render alike.
pub fn signer(keys: &[KeyRow]) -> Result<&KeyRow> {
    keys.iter()
        .filter(|k| k.state == KeyState::Active)
        .max_by_key(|k| (k.activated_at, k.created_at))
        .ok_or_else(|| Error::Internal("no active key: nothing can sign tokens".into()))
}

/// The key that signs webhooks: a pending key as soon as it exists (it is in `keys`, so the SFU
/// can use it once restarted), else the signer.
pub fn webhook_signer(keys: &[KeyRow]) -> Result<&KeyRow> {
    match keys
        .iter()
        .filter(|k| k.state == KeyState::Pending)
        .max_by_key(|k| k.created_at)
    {
        Some(p) => Ok(p),
        None => signer(keys),
    }
}

/// Validates a key and secret an operator imports from an existing deployment.
pub fn check_import(api_key: &str, secret: &str) -> Result<()> {
    if api_key.is_empty()
        || api_key.len() > 64
        || !api_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::params(
            "api_key",
            "must be 1-64 characters of A-Z, a-z, 0-9, _ or -",
        ));
    }
    if api_key.starts_with(CANARY_PREFIX) {
        return Err(Error::params(
            "api_key",
            format!("the {CANARY_PREFIX} prefix is reserved"),
        ));
    }
    if secret.len() < 32 {
        return Err(Error::params(
            "secret",
            "must be at least 32 characters (LiveKit's minimum)",
        ));
    }
    if !secret
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',' && b != b'"' && b != b'\\')
    {
        return Err(Error::params(
            "secret",
            "must be printable ASCII without spaces, commas, quotes or backslashes",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, state: KeyState, created: i64, activated: Option<i64>) -> KeyRow {
        KeyRow {
            api_key: name.into(),
            secret: Secret::new("s".repeat(40)),
            state,
            created_at: created,
            activated_at: activated,
            retire_at: None,
            revoked_at: None,
        }
    }

    /// Minting and the backend.env render use this one rule, so they can never disagree, even
    /// if a crash left two active rows: the one activated last signs, whatever the row order.
    #[test]
    fn the_key_activated_last_signs_whatever_the_row_order() {
        let mut rows = vec![
            key("APIolder", KeyState::Active, 100, Some(500)),
            key("APInewer", KeyState::Active, 200, Some(300)),
            key("APIpend", KeyState::Pending, 300, None),
        ];
        assert_eq!(signer(&rows).unwrap().api_key, "APIolder");
        rows.reverse();
        assert_eq!(signer(&rows).unwrap().api_key, "APIolder");
        assert_eq!(webhook_signer(&rows).unwrap().api_key, "APIpend");
        rows.retain(|k| k.state != KeyState::Pending);
        assert_eq!(webhook_signer(&rows).unwrap().api_key, "APIolder");
        rows.clear();
        assert!(
            signer(&rows)
                .unwrap_err()
                .to_string()
                .contains("no active key")
        );
    }

    #[test]
    fn imports_are_checked_like_livekit_checks_keys() {
        assert!(check_import("APIok_1-2", &"x".repeat(32)).is_ok());
        assert!(check_import("", &"x".repeat(32)).is_err());
        assert!(check_import("APIcanary123", &"x".repeat(32)).is_err());
        assert!(check_import("APIok", &"x".repeat(31)).is_err());
        assert!(check_import("APIok", &format!("{},", "x".repeat(32))).is_err());
    }
}
