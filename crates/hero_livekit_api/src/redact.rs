//! The one redaction rule of the project: which names hold secrets, and how a secret is shown.
//! `config.get`, `config.files`, the audit log, the admin and every rendered-file preview go
//! through here, so a secret field added anywhere is hidden everywhere by its name.

use serde_json::Value;

/// How every hidden secret is shown.
pub const REDACTED: &str = "<redacted>";

/// Field names that are secrets wherever they appear (compared case-insensitively).
const SECRET_NAMES: &[&str] = &[
    "secret",
    "password",
    "passphrase",
    "token",
    "credential",
    "credentials",
    "credentials_json",
    "stream_key",
    "account_key",
    "private_key",
    "session_token",
    "webhook_keys",
    // An ingress's publish URL ends in its stream key; a SIP dispatch rule's PIN admits callers.
    "publish_url",
    "pin",
];

/// Suffixes that make a name a secret: `api_secret`, `sentinel_password`, `backend_api_token`,
/// `auth_password`, …
const SECRET_SUFFIXES: &[&str] = &[
    "_secret",
    "_password",
    "_token",
    "_credentials",
    "_key_file",
    "_webhook_keys",
    // S3's AssumeRole external id (`assume_role_external_id`, `s3_assume_role_external_id`):
    // LiveKit redacts it in EgressInfo like a credential.
    "_external_id",
];

/// Whether a field, variable or YAML key of this name holds a secret. LiveKit's protojson
/// (webhook bodies, Twirp JSON) names fields in camelCase, so `streamKey` is `stream_key`.
pub fn is_secret_name(name: &str) -> bool {
    let listed =
        |n: &str| SECRET_NAMES.contains(&n) || SECRET_SUFFIXES.iter().any(|s| n.ends_with(s));
    let lower = name.to_ascii_lowercase();
    listed(&lower) || (name.bytes().any(|b| b.is_ascii_lowercase()) && listed(&snake_case(name)))
}

/// `streamKey` → `stream_key`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A URL with its password (and a stream key in the path or query of an RTMP/SRT URL)
/// replaced; other text unchanged.
pub fn url(text: &str) -> String {
    let Ok(mut u) = url::Url::parse(text) else {
        return text.to_string();
    };
    let mut changed = false;
    if u.password().is_some() {
        let _ = u.set_password(Some(REDACTED));
        changed = true;
    }
    match u.scheme() {
        // rtmp://host/app/<stream key>: the last segment is the key.
        "rtmp" | "rtmps" => {
            let segs: Vec<String> = u
                .path_segments()
                .map(|s| s.map(str::to_string).collect())
                .unwrap_or_default();
            if segs.len() >= 2 && !segs.last().is_some_and(String::is_empty) {
                let mut kept = segs[..segs.len() - 1].join("/");
                kept.push('/');
                kept.push_str(REDACTED);
                u.set_path(&format!("/{kept}"));
                changed = true;
            }
        }
        // srt://host:port?streamid=…&passphrase=…
        "srt" if u.query().is_some() => {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let hide = k == "streamid" || is_secret_name(&k);
                    (
                        k.into_owned(),
                        if hide {
                            REDACTED.into()
                        } else {
                            v.into_owned()
                        },
                    )
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
            changed = true;
        }
        _ => {}
    }
    if changed {
        // Keep `<redacted>` readable instead of percent-encoded.
        u.to_string().replace("%3Credacted%3E", REDACTED)
    } else {
        text.to_string()
    }
}

/// A JSON value with every secret-named field replaced and every URL's secrets hidden.
pub fn json(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if is_secret_name(&k) && !v.is_null() {
                        (k, Value::String(REDACTED.into()))
                    } else {
                        (k, json(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(json).collect()),
        Value::String(s) => Value::String(url(&s)),
        other => other,
    }
}

/// `Debug` through this rule, for a type that carries a secret (a derived `Debug` would print
/// it): the type's name and its JSON with every secret hidden. See [`crate::redacted_debug`].
pub fn debug<T: serde::Serialize>(
    name: &str,
    value: &T,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    match serde_json::to_value(value) {
        Ok(v) => write!(f, "{name} {}", json(v)),
        Err(_) => write!(f, "{name} {{ {REDACTED} }}"),
    }
}

/// Implements `Debug` with [`debug`] for types that carry a secret.
#[macro_export]
macro_rules! redacted_debug {
    ($($t:ident),+ $(,)?) => {$(
        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::redact::debug(stringify!($t), self, f)
            }
        }
    )+};
}

/// A rendered YAML file with every secret hidden: values of secret-named keys, every entry of a
/// top-level `keys:` map (key → secret), and URL secrets.
pub fn yaml_text(text: &str) -> String {
    let mut in_keys = false;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let indented = line.len() != trimmed.len();
            if !indented {
                in_keys = trimmed.starts_with("keys:");
            }
            let Some((k, v)) = line.split_once(':') else {
                return line.to_string();
            };
            let name = k.trim().trim_start_matches("- ").trim_matches(['"', '\'']);
            let value = v.trim();
            if value.is_empty() || value.starts_with('#') {
                return line.to_string();
            }
            if (in_keys && indented) || is_secret_name(name) {
                return format!("{k}: {REDACTED}");
            }
            let shown = url(value.trim_matches(['"', '\'']));
            if shown != value.trim_matches(['"', '\'']) {
                return format!("{k}: {shown}");
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_hold_secrets() {
        for n in [
            "secret",
            "api_secret",
            "Password",
            "sentinel_password",
            "auth_password",
            "token",
            "backend_api_token",
            "LIVEKIT_API_SECRET",
            "LIVEKIT_WEBHOOK_KEYS",
            "stream_key",
            "credentials_json",
            "account_key",
            "assume_role_external_id",
            "s3_assume_role_external_id",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "api_key",
            "address",
            "username",
            "access_key",
            "token_ttl_s",
            "url",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn urls_lose_passwords_and_stream_keys() {
        assert_eq!(
            url("postgres://lk:hunter2@db.example:5432/hero"),
            "postgres://lk:<redacted>@db.example:5432/hero"
        );
        assert_eq!(
            url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"),
            "rtmp://a.rtmp.youtube.com/live2/<redacted>"
        );
        assert_eq!(
            url("srt://host:9000?streamid=publish:key&latency=120"),
            "srt://host:9000?streamid=<redacted>&latency=120"
        );
        assert_eq!(
            url("http://127.0.0.1:8081/webhook"),
            "http://127.0.0.1:8081/webhook"
        );
        assert_eq!(url("not a url"), "not a url");
    }

    #[test]
    fn json_and_yaml_hide_every_secret() {
        let v = json(json!({
            "api_key": "APIx",
            "redis": {"address": "r:6379", "password": "p4ss", "sentinel_password": "q"},
            "outputs": [{"urls": ["rtmp://h/app/KEY"]}],
            "ttl": 3,
        }));
        let text = v.to_string();
        assert!(
            !text.contains("p4ss") && !text.contains("KEY") && !text.contains("\"q\""),
            "{text}"
        );
        assert_eq!(v["api_key"], "APIx");
        let y = yaml_text(
            "port: 7880\nkeys:\n  APIa: s3cret\nredis:\n  address: r:6379\n  password: p4ss\n",
        );
        assert_eq!(
            y,
            "port: 7880\nkeys:\n  APIa: <redacted>\nredis:\n  address: r:6379\n  password: <redacted>\n"
        );
    }

    #[test]
    fn debug_output_of_a_type_with_a_secret_hides_it() {
        let p = crate::types::KeysImportParams {
            api_key: "APIimported".into(),
            secret: "s3cr3t-that-must-not-show-0123456789abcdef".into(),
        };
        let shown = format!("{p:?}");
        assert!(shown.contains("APIimported"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
    }

    #[test]
    fn protojson_camel_case_names_are_secrets_like_their_snake_case_names() {
        for name in ["streamKey", "authPassword", "publishUrl", "apiSecret"] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["ingressId", "roomName", "url"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
