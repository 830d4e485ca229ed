//! `status.ingress` and `status.sip`: ingress and SIP read their file once, at start, and sign
//! every session's or call's token with the key in it (side-services facts §6). After a key
//! switch the file names the new key and the running service still signs with the old one
//! until it is restarted.

use hero_livekit_api::timefmt::rfc3339;
use hero_livekit_api::types::{KeyState, SideServiceStatus};

use crate::config::Config;
use crate::keys::{self, KeyRow};

/// The status of `service` ("ingress" or "sip", whose unit is `livekit-<service>`) reading
/// `file` from the home.
pub fn of(config: &Config, rows: &[KeyRow], service: &str, file: &str) -> SideServiceStatus {
    let signer = keys::signer(rows).ok();
    let previous: Vec<&str> = rows
        .iter()
        .filter(|k| matches!(k.state, KeyState::Retiring | KeyState::Retired))
        .map(|k| k.api_key.as_str())
        .collect();
    let mut restart_reasons = Vec::new();
    if let (Some(signer), false) = (signer, previous.is_empty()) {
        let since = signer
            .activated_at
            .map(rfc3339)
            .unwrap_or_else(|| "the switch".into());
        let what = if service == "sip" { "calls" } else { "streams" };
        restart_reasons.push(format!(
            "{file} names the new key {} since {since}: restart livekit-{service} (SIGTERM lets \
             running {what} finish) unless it started after that; until then it signs with {}",
            signer.api_key,
            previous.join(", ")
        ));
    }
    SideServiceStatus {
        file: config.path(file).display().to_string(),
        api_key: signer.map(|k| k.api_key.clone()).unwrap_or_default(),
        restart_required: !restart_reasons.is_empty(),
        restart_reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn key(name: &str, state: KeyState, activated: i64) -> KeyRow {
        KeyRow {
            api_key: name.into(),
            secret: Secret::new("s".repeat(32)),
            state,
            created_at: activated,
            activated_at: Some(activated),
            retire_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_key_switch_asks_for_a_restart_naming_both_keys() {
        let c = Config::from_settings(Default::default(), None).unwrap();
        let s = of(
            &c,
            &[key("APIa", KeyState::Active, 1)],
            "ingress",
            "ingress.yaml",
        );
        assert!(!s.restart_required);
        assert_eq!(s.api_key, "APIa");
        let rows = [
            key("APIa", KeyState::Retiring, 1),
            key("APIb", KeyState::Active, 2),
        ];
        let s = of(&c, &rows, "sip", "sip.yaml");
        assert!(s.restart_required);
        assert_eq!(s.api_key, "APIb");
        let r = &s.restart_reasons[0];
        assert!(
            r.contains("restart livekit-sip") && r.contains("APIb") && r.contains("APIa"),
            "{r}"
        );
        assert!(s.file.ends_with("sip.yaml"));
    }
}
