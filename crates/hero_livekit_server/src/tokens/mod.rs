//! LiveKit access tokens: minting (`token.create`) and explaining (`token.decode`).

mod explain;
mod mint;

pub use explain::decode;
pub use mint::create;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use hero_livekit_api::timefmt::now_unix;
    use hero_livekit_api::types::{Grants, KeyState, Preset, TokenCreateParams};
    use serde_json::Value;

    use super::explain::payload;
    use super::*;
    use crate::error::Error;
    use crate::keys::KeyRow;
    use crate::secrets::Secret;

    fn key(k: &str, s: &str, state: KeyState) -> KeyRow {
        KeyRow {
            api_key: k.into(),
            secret: Secret::new(s.into()),
            state,
            created_at: 0,
            activated_at: None,
            retire_at: None,
            revoked_at: None,
        }
    }

    fn vectors() -> (Value, Vec<KeyRow>) {
        let v: Value = hero_livekit_testkit::vectors::json("tokens.json");
        let keys = v["keys"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| key(k, s.as_str().unwrap(), KeyState::Active))
            .collect();
        (v, keys)
    }

    #[test]
    fn official_sdk_tokens_decode_and_explain() {
        let (v, keys) = vectors();
        let now = 1_795_702_000;
        let d = decode(v["python"]["participant"].as_str().unwrap(), &keys, now);
        assert!(d.valid, "{:?}", d.problems);
        assert_eq!(d.api_key.as_deref(), Some("APIvectors0001"));
        assert!(
            d.grants_explained
                .iter()
                .any(|g| g.contains("join room \"standup\" as identity \"alice\""))
        );
        let d = decode(v["python"]["viewer"].as_str().unwrap(), &keys, now);
        assert!(
            d.grants_explained
                .contains(&"may not publish audio or video".to_string())
        );
        let d = decode(
            v["node"]["participant_with_sources_metadata_attributes"]
                .as_str()
                .unwrap(),
            &keys,
            now,
        );
        assert!(d.valid, "{:?}", d.problems);
        assert!(
            d.grants_explained
                .contains(&"may publish only from: camera, microphone".to_string())
        );
        let d = decode(v["python"]["expired"].as_str().unwrap(), &keys, now);
        assert!(
            !d.valid && d.problems.iter().any(|p| p.starts_with("expired at")),
            "{:?}",
            d.problems
        );
        // Signed by APIvectors0002 but we only know 0001: unknown key.
        let d = decode(
            v["python"]["signed_by_other_key"].as_str().unwrap(),
            &keys[..1],
            now,
        );
        assert!(!d.valid && d.problems[0].contains("unknown to this control plane"));
        // Known key, wrong secret: forged.
        let forged = [key(
            "APIvectors0002",
            "not-the-secret-0123456789abcdefghijklmn",
            KeyState::Active,
        )];
        let d = decode(
            v["python"]["signed_by_other_key"].as_str().unwrap(),
            &forged,
            now,
        );
        assert!(
            d.problems
                .iter()
                .any(|p| p.contains("signature does not match")),
            "{:?}",
            d.problems
        );
        let d = decode("garbage", &keys, now);
        assert!(!d.valid && d.claims.is_null());
        // Extreme times from a hostile token never overflow.
        for (exp, nbf) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN)] {
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                r#"{{"iss":"APIvectors0001","exp":{exp},"nbf":{nbf}}}"#
            ));
            let d = decode(&format!("eyJhbGciOiJIUzI1NiJ9.{body}.sig"), &keys, now);
            assert!(!d.valid);
        }
    }

    #[test]
    fn minted_tokens_carry_presets_and_round_trip() {
        let k = key("APItest", &"s".repeat(44), KeyState::Active);
        let p = TokenCreateParams {
            room: "r1".into(),
            identity: "bob".into(),
            preset: Some(Preset::Viewer),
            grants: Some(Grants {
                can_publish_sources: Some(vec!["camera".into()]),
                ..Default::default()
            }),
            attributes: Some([("a".to_string(), "b".to_string())].into()),
            room_config: Some(serde_json::json!({"empty_timeout": 30, "maxParticipants": 5})),
            ..Default::default()
        };
        let t = create(
            &p,
            &k,
            "ws://x",
            Duration::from_secs(3600),
            Duration::from_secs(86400),
        )
        .unwrap();
        let c = payload(&t.token).unwrap();
        assert_eq!(c["sub"], "bob");
        assert_eq!(c["video"]["canPublish"], false);
        assert_eq!(c["video"]["canPublishSources"][0], "camera");
        assert_eq!(c["roomConfig"]["emptyTimeout"], 30);
        assert_eq!(c["roomConfig"]["maxParticipants"], 5);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["nbf"].as_i64().unwrap(),
            3600
        );
        let d = decode(&t.token, std::slice::from_ref(&k), now_unix());
        assert!(d.valid, "{:?}", d.problems);

        let too_long = TokenCreateParams {
            room: "r".repeat(257),
            identity: "i".into(),
            ..Default::default()
        };
        assert!(
            matches!(create(&too_long, &k, "", Duration::from_secs(1), Duration::from_secs(2)), Err(Error::InvalidParams { field, .. }) if field == "room")
        );
        let ttl = TokenCreateParams {
            room: "r".into(),
            identity: "i".into(),
            ttl_s: Some(3),
            ..Default::default()
        };
        assert!(matches!(
            create(&ttl, &k, "", Duration::from_secs(1), Duration::from_secs(2)),
            Err(Error::Policy(_))
        ));
        let bad_source = TokenCreateParams {
            room: "r".into(),
            identity: "i".into(),
            grants: Some(Grants {
                can_publish_sources: Some(vec!["webcam".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(
            matches!(create(&bad_source, &k, "", Duration::from_secs(1), Duration::from_secs(2)), Err(Error::InvalidParams { field, .. }) if field == "grants.canPublishSources[0]")
        );
    }
}
