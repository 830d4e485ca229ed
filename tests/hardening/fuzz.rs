//! Fuzzing on stable Rust with proptest: the parsers that take bytes from the outside world.
//!
//! Each target first replays its committed seed corpus (`tests/hardening/corpus/<target>/`),
//! then runs proptest for a bounded number of cases so the whole module takes a few seconds.
//! `PROPTEST_CASES=100000 cargo test --test hardening fuzz` runs every target much longer.
//! Failures are reported with proptest's minimal input; nothing is written to the tree.

use std::path::PathBuf;
use std::time::Duration;

use hero_livekit_api::env_file::{self, BackendEnv};
use hero_livekit_api::types::{
    KeyState, ParticipantUpdateParams, RoomSendDataParams, TokenCreateParams,
};
use hero_livekit_backend::webhook::{self, EventSummary, WebhookError};
use hero_livekit_server::KeyRow;
use hero_livekit_server::Secret;
use jsonrpsee::types::Params;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// Cases per target unless `PROPTEST_CASES` says otherwise.
fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value)) {
    runner(cases)
        .run(&strategy, |v| {
            test(v);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The corpus files of one target, sorted, as (name, bytes).
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hardening/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} is empty", dir.display());
    out
}

/// Any JSON value, nested a few levels, with the field names the params types use so the
/// decoder gets past the first field.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("room".to_string()),
        Just("identity".to_string()),
        Just("data".to_string()),
        Just("encoding".to_string()),
        Just("kind".to_string()),
        Just("grants".to_string()),
        Just("canPublishSources".to_string()),
        Just("attributes".to_string()),
        Just("permission".to_string()),
        Just("ttl_s".to_string()),
        Just("preset".to_string()),
        Just("destination_identities".to_string()),
        Just("room_config".to_string()),
        "\\PC{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("viewer"),
            Just("admin"),
            Just("base64"),
            Just("lossy"),
            Just("utf8"),
            Just("camera")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Decodes `raw` as each params type: never a panic; an error is -32602 naming a field.
fn check_params(raw: &str) {
    fn one<T: serde::de::DeserializeOwned>(raw: &str) {
        if let Err(e) = hero_livekit_server::parse_params::<T>(&Params::new(Some(raw))) {
            assert_eq!(e.code(), -32602, "{raw:?}: {e:?}");
            let data: Value = serde_json::from_str(e.data().expect("error data").get()).unwrap();
            let field = data["field"].as_str().expect("a field");
            // Empty only when the offending key is itself "" (`{"": 1}`).
            assert!(
                !field.is_empty()
                    || data["reason"]
                        .as_str()
                        .unwrap()
                        .starts_with("unknown field ``"),
                "{raw:?}: error without a field: {data}"
            );
            assert!(data["reason"].is_string(), "{raw:?}: {data}");
        }
    }
    one::<TokenCreateParams>(raw);
    one::<RoomSendDataParams>(raw);
    one::<ParticipantUpdateParams>(raw);
}

#[test]
fn fuzz_rpc_params_decoding() {
    for (_, bytes) in corpus("rpc_params") {
        check_params(&String::from_utf8_lossy(&bytes));
    }
    run(1000, json_value(), |v| check_params(&v.to_string()));
    run(1000, prop::collection::vec(any::<u8>(), 0..256), |b| {
        check_params(&String::from_utf8_lossy(&b))
    });
    // Objects with the required fields present, so optional fields get decoded too.
    let wrapped = (json_value(), json_value()).prop_map(|(a, b)| {
        let mut m = serde_json::Map::new();
        m.insert("room".into(), "r".into());
        m.insert("identity".into(), "i".into());
        m.insert("data".into(), "d".into());
        if let Value::Object(a) = a {
            m.extend(a);
        }
        m.insert("grants".into(), b.clone());
        m.insert("permission".into(), b);
        Value::Object(m).to_string()
    });
    run(500, wrapped, |s| check_params(&s));
}

/// Parses `text` as backend.env and types it: never a panic.
fn check_env(text: &str) {
    if let Ok(vars) = env_file::parse(text) {
        let _ = BackendEnv::from_vars(&vars);
    }
}

fn backend_env() -> impl Strategy<Value = BackendEnv> {
    // Printable (no control characters), non-empty. List items cannot hold their separators
    // or start/end with whitespace, since the lists are comma-separated and trimmed.
    let text = "\\PC{1,40}";
    let item = "[^,:\\s\\p{C}]{1,20}";
    let secret = "[^,\\s\\p{C}]{1,40}";
    let origin = "[^,\\s\\p{C}]{1,30}";
    (
        (text, text, text, text, text, text),
        prop::collection::vec((item, secret), 0..4),
        (1u16..=65535, text, text, 1u64..=u64::MAX),
        prop::collection::vec(origin, 0..4),
    )
        .prop_flat_map(|(s, wk, (port, b1, b2, max), origins)| {
            (Just((s, wk, port, b1, b2, max, origins)), 1..=max)
        })
        .prop_map(|((s, wk, port, b1, b2, max, origins), ttl)| BackendEnv {
            livekit_url: s.0,
            livekit_public_url: s.1,
            livekit_api_key: s.2,
            livekit_api_secret: s.3,
            livekit_webhook_keys: wk,
            sqlite_path: s.4,
            port,
            bind: s.5,
            backend_api_token: b1,
            token_endpoint_token: b2,
            token_ttl_s: ttl,
            token_max_ttl_s: max,
            cors_allowed_origins: origins,
        })
}

#[test]
fn fuzz_backend_env_parser_and_round_trip() {
    for (_, bytes) in corpus("backend_env") {
        check_env(&String::from_utf8_lossy(&bytes));
    }
    run(500, "(\\PC|\n|\"|\\\\|=|#){0,200}", |s| check_env(&s));
    run(1000, prop::collection::vec(any::<u8>(), 0..400), |b| {
        check_env(&String::from_utf8_lossy(&b))
    });
    // Lines that look like the real file, with mangled values.
    let line = (
        prop::sample::select(
            env_file::vars::SECRET
                .iter()
                .copied()
                .chain(["PORT", "TOKEN_TTL_S", "LIVEKIT_URL", "X"])
                .collect::<Vec<_>>(),
        ),
        "(\\PC|\"|\\\\){0,30}",
    )
        .prop_map(|(k, v)| format!("{k}={v}\n"));
    run(500, prop::collection::vec(line, 0..16), |lines| {
        check_env(&lines.concat())
    });
    run(400, backend_env(), |env| {
        let text = env.render();
        let vars = env_file::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let back = BackendEnv::from_vars(&vars).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(back == env, "round trip changed the config:\n{text}");
    });
}

const NOW: i64 = 1_795_700_000;

fn check_webhook(body: &[u8], auth: Option<&str>) {
    let keys = vec![
        ("APIfuzzkey1".to_string(), "s".repeat(44)),
        ("APIfuzzkey2".to_string(), "t".repeat(44)),
    ];
    let _ = webhook::verify(body, auth, &keys, NOW);
    if let Ok(s) = EventSummary::parse(body) {
        let _ = (
            s.room_name(),
            s.room_sid(),
            s.participant_identity(),
            s.participant_sid(),
        );
    }
}

#[test]
fn fuzz_webhook_verifier_and_event_decoder() {
    let cases = corpus("webhook");
    for (name, body) in &cases {
        let Some(stem) = name.strip_suffix(".body") else {
            continue;
        };
        let auth = cases
            .iter()
            .find(|(n, _)| *n == format!("{stem}.auth"))
            .map(|(_, a)| {
                String::from_utf8_lossy(a)
                    .trim_end_matches('\n')
                    .to_string()
            });
        check_webhook(body, auth.as_deref());
        // The corpus's correctly signed vectors verify, so the replay reaches the decoder.
        if stem == "valid" || stem == "bearer" {
            let keys = [
                ("APIfuzzkey1".to_string(), "s".repeat(44)),
                ("APIfuzzkey2".to_string(), "t".repeat(44)),
            ];
            assert!(
                webhook::verify(body, auth.as_deref(), &keys, NOW).is_ok(),
                "{name}"
            );
        }
    }
    let bytes = prop::collection::vec(any::<u8>(), 0..512);
    run(
        1000,
        (bytes.clone(), prop::option::of("\\PC{0,300}")),
        |(b, a)| check_webhook(&b, a.as_deref()),
    );
    // Authorization values shaped like JWTs: three base64url-ish parts, sometimes signed.
    let part = "[A-Za-z0-9_=-]{0,80}";
    run(
        1000,
        (bytes.clone(), part, part, part, any::<bool>()),
        |(b, h, c, s, bearer)| {
            let t = format!("{}{h}.{c}.{s}", if bearer { "Bearer " } else { "" });
            check_webhook(&b, Some(&t));
        },
    );
    // A valid signature over any body verifies; any single-byte change to the body fails.
    let key = "API[A-Za-z0-9]{1,12}";
    let secret = "\\PC{1,64}";
    let events = prop_oneof![
        bytes.clone(),
        json_value().prop_map(|v| v.to_string().into_bytes()),
    ];
    run(
        1000,
        (events, key, secret, any::<prop::sample::Index>(), 1u8..=255),
        |(body, key, secret, at, flip)| {
            let keys = vec![
                ("APIother".to_string(), "o".repeat(44)),
                (key.clone(), secret.clone()),
            ];
            let t = webhook::sign(&body, &key, &secret, NOW);
            assert_eq!(
                webhook::verify(&body, Some(&t), &keys, NOW),
                Ok(key.as_str())
            );
            assert_eq!(
                webhook::verify(&body, Some(&format!("Bearer {t}")), &keys, NOW),
                Ok(key.as_str())
            );
            if !body.is_empty() {
                let mut changed = body.clone();
                changed[at.index(body.len())] ^= flip;
                assert_eq!(
                    webhook::verify(&changed, Some(&t), &keys, NOW),
                    Err(WebhookError::Checksum)
                );
            }
            let mut longer = body.clone();
            longer.push(b' ');
            assert_eq!(
                webhook::verify(&longer, Some(&t), &keys, NOW),
                Err(WebhookError::Checksum)
            );
            // Any single changed character of the token fails too.
            let mut token = t.clone().into_bytes();
            let i = at.index(token.len());
            token[i] = if token[i] == b'A' { b'B' } else { b'A' };
            let token = String::from_utf8(token).unwrap();
            assert!(
                webhook::verify(&body, Some(&token), &keys, NOW).is_err(),
                "{token}"
            );
        },
    );
}

fn key_rows() -> Vec<KeyRow> {
    let row = |k: &str, s: &str, state| KeyRow {
        api_key: k.into(),
        secret: Secret::new(s.into()),
        state,
        created_at: 0,
        activated_at: Some(0),
        retire_at: None,
        revoked_at: None,
    };
    vec![
        row("APIfuzzactive", &"a".repeat(44), KeyState::Active),
        row("APIfuzzrevoked", &"r".repeat(44), KeyState::Revoked),
    ]
}

fn now() -> i64 {
    hero_livekit_api::timefmt::now_unix()
}

/// A real token minted by `token.create`'s code path with the active key.
fn real_token(room: &str, identity: &str) -> String {
    let keys = key_rows();
    let p = TokenCreateParams {
        room: room.into(),
        identity: identity.into(),
        ..Default::default()
    };
    hero_livekit_server::tokens::create(
        &p,
        &keys[0],
        "ws://127.0.0.1:7880",
        Duration::from_secs(3600),
        Duration::from_secs(86400),
    )
    .unwrap()
    .token
}

fn b64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// HMAC-SHA256 (RFC 2104) from sha2 alone, to sign claims no SDK would write.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Correctly signed HS256 tokens with arbitrary claims: the key (known, revoked, unknown, none),
/// `exp` and `nbf` from `times`, and a video grant.
fn signed_claims(times: impl Strategy<Value = i64> + Clone) -> impl Strategy<Value = String> {
    let iss = prop::sample::select(vec!["APIfuzzactive", "APIfuzzrevoked", "APIunknown", ""]);
    (
        iss,
        prop::option::of(times.clone()),
        prop::option::of(times),
        any::<bool>(),
        "\\PC{0,10}",
        "\\PC{0,300}",
    )
        .prop_map(|(iss, exp, nbf, join, room, sub)| {
            let mut claims =
                serde_json::json!({"sub": sub, "video": {"roomJoin": join, "room": room}});
            if !iss.is_empty() {
                claims["iss"] = iss.into();
            }
            if let Some(e) = exp {
                claims["exp"] = e.into();
            }
            if let Some(n) = nbf {
                claims["nbf"] = n.into();
            }
            let head = format!(
                "{}.{}",
                b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
                b64url(claims.to_string().as_bytes())
            );
            let secret = key_rows()
                .into_iter()
                .find(|k| k.api_key == iss)
                .map_or("x".repeat(44), |k| k.secret.expose().to_string());
            let sig = b64url(&hmac_sha256(secret.as_bytes(), head.as_bytes()));
            format!("{head}.{sig}")
        })
}

#[test]
fn fuzz_token_decode() {
    let keys = key_rows();
    for (_, bytes) in corpus("token") {
        let _ = hero_livekit_server::tokens::decode(&String::from_utf8_lossy(&bytes), &keys, now());
    }
    let good = real_token("standup", "alice");
    assert!(
        hero_livekit_server::tokens::decode(&good, &keys, now()).valid,
        "the unmutated token is valid"
    );
    run(2000, "\\PC{0,300}", |s| {
        let _ = hero_livekit_server::tokens::decode(&s, &keys, now());
    });
    let part = "[A-Za-z0-9_=-]{0,120}";
    run(1000, (part, part, part), |(h, c, s)| {
        let d = hero_livekit_server::tokens::decode(&format!("{h}.{c}.{s}"), &keys, now());
        assert!(!d.valid, "a made-up token is valid: {h}.{c}.{s}");
    });
    // Signed tokens with any claims: only a live, known, unrevoked key's token can be valid.
    let now_s = now();
    let times = (now_s - 10 * 86400..now_s + 10 * 86400).boxed();
    let far = (-(1i64 << 62)..(1i64 << 62)).boxed();
    run(1000, signed_claims(prop_oneof![times, far]), |t| {
        let d = hero_livekit_server::tokens::decode(&t, &keys, now());
        if d.valid {
            assert_eq!(d.api_key.as_deref(), Some("APIfuzzactive"), "{t}");
            assert!(d.skew_s.is_some_and(|s| s >= -60), "{t}");
        }
    });
    // Mutated real tokens: one character of the signature, or of anything, changed.
    let room = "[a-z0-9-]{1,20}";
    let c = prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=. "
            .chars()
            .collect::<Vec<_>>(),
    );
    run(
        500,
        (room, room, any::<prop::sample::Index>(), c, any::<bool>()),
        |(room, who, at, ch, sig_only)| {
            let token = real_token(&room, &who);
            let sig_start = token.rfind('.').unwrap() + 1;
            let mut chars: Vec<char> = token.chars().collect();
            let i = if sig_only {
                sig_start + at.index(chars.len() - sig_start)
            } else {
                at.index(chars.len())
            };
            if chars[i] == ch {
                return;
            }
            chars[i] = ch;
            let mutated: String = chars.into_iter().collect();
            let d = hero_livekit_server::tokens::decode(&mutated, &keys, now());
            assert!(
                !d.valid,
                "a mutated token is valid: {mutated} (from {token})"
            );
        },
    );
}

/// Inputs that once broke the service, replayed forever: `tokens::decode` used to overflow on a
/// token's extreme `exp`/`nbf` (a panic in debug builds, wrapped numbers in release builds).
#[test]
fn fuzz_known_failures_token_decode_extreme_times() {
    let keys = key_rows();
    for (_, bytes) in corpus("known_failures") {
        let _ = hero_livekit_server::tokens::decode(&String::from_utf8_lossy(&bytes), &keys, now());
    }
    run(1000, signed_claims(any::<i64>()), |t| {
        let _ = hero_livekit_server::tokens::decode(&t, &keys, now());
    });
}
