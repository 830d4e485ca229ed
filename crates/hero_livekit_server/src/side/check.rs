//! `config.check`: one consistency check over every rendered file (design §11.3; side-services
//! facts §0, §10). Each file is right on its own by construction; this checks that they agree:
//!
//! - every service file names the same Redis (address, db, credentials, sentinel) as
//!   livekit.yaml, the only channel between the services;
//! - every service file's `api_key` is one livekit.yaml gives the SFU, with the same secret;
//! - ingress.yaml's ports are the ones livekit.yaml's `ingress:` base URLs name, and
//!   `whip_base_url` has exactly one path segment (side-services facts §2.4);
//! - no two services claim the same host port (`side::ports`; the services run with host
//!   networking on one host, side-services facts §2.1, §3.1), counting each service's defaults
//!   for what a file leaves out.
//!
//! It works on file contents only, so the server runs it on what it is about to write, and
//! `doctor` on what is on disk. A problem names both files and the key; never a secret's value.

use std::collections::BTreeMap;

use hero_livekit_api::paths;
use hero_livekit_api::redact;
use hero_livekit_api::types::{ConfigCheck, ConfigProblem};
use serde_json::Value;

use super::ports::{self, Claims, get, port_of};
use crate::public::{CADDYFILE, HAPROXY_CFG};

/// Files the check reads, in the order problems are reported.
pub const FILES: &[&str] = &[
    paths::LIVEKIT_YAML,
    paths::BACKEND_ENV,
    paths::EGRESS_YAML,
    paths::INGRESS_YAML,
    paths::SIP_YAML,
    CADDYFILE,
    HAPROXY_CFG,
];

/// The side services' files: each carries a key and a Redis block of its own.
const SERVICE_FILES: &[&str] = &[paths::EGRESS_YAML, paths::INGRESS_YAML, paths::SIP_YAML];

/// What identifies a Redis (livekit.yaml may add client tuning such as `pool_size`).
const REDIS_IDENTITY: &[&str] = &[
    "address",
    "username",
    "password",
    "db",
    "use_tls",
    "tls",
    "sentinel_master_name",
    "sentinel_username",
    "sentinel_password",
    "sentinel_addresses",
    "cluster_addresses",
];

pub(super) fn problem(
    check: &str,
    file: &str,
    other: &str,
    key: &str,
    message: String,
) -> ConfigProblem {
    ConfigProblem {
        check: check.into(),
        file: file.into(),
        other_file: other.into(),
        key: key.into(),
        message,
    }
}

/// A port from a YAML value (an integer, or a string holding one).
fn redis_problems(lk: &Value, name: &str, doc: &Value, out: &mut Vec<ConfigProblem>) {
    let theirs = &doc["redis"];
    let ours = &lk["redis"];
    if !ours.is_object() {
        out.push(problem(
            "redis",
            name,
            paths::LIVEKIT_YAML,
            "redis",
            format!(
                "{name} has a redis block but livekit.yaml has none: the service and \
                 livekit-server meet only over one Redis"
            ),
        ));
        return;
    }
    if !theirs.is_object() {
        out.push(problem(
            "redis",
            name,
            paths::LIVEKIT_YAML,
            "redis",
            format!("{name} has no redis block: the service refuses to start without one"),
        ));
        return;
    }
    for key in REDIS_IDENTITY {
        let norm = |v: &Value| match (*key, v) {
            ("db", Value::Null) => Value::from(0),
            ("use_tls", Value::Null) => Value::Bool(false),
            (_, Value::Array(a)) if a.is_empty() => Value::Null,
            (_, v) => v.clone(),
        };
        let (a, b) = (norm(&theirs[key]), norm(&ours[key]));
        if a != b {
            let shown = |v: &Value| {
                if redact::is_secret_name(key) {
                    redact::REDACTED.to_string()
                } else if v.is_null() {
                    "unset".to_string()
                } else {
                    v.to_string()
                }
            };
            out.push(problem(
                "redis",
                name,
                paths::LIVEKIT_YAML,
                &format!("redis.{key}"),
                format!(
                    "{name} redis.{key} is {} but livekit.yaml's is {}: the service would not \
                     meet livekit-server (one Redis and one db for all)",
                    shown(&a),
                    shown(&b)
                ),
            ));
        }
    }
}

fn key_problems(lk: &Value, name: &str, doc: &Value, out: &mut Vec<ConfigProblem>) {
    let Some(key) = doc["api_key"].as_str() else {
        out.push(problem(
            "keys",
            name,
            paths::LIVEKIT_YAML,
            "api_key",
            format!("{name} has no api_key"),
        ));
        return;
    };
    match lk["keys"].get(key) {
        None => out.push(problem(
            "keys",
            name,
            paths::LIVEKIT_YAML,
            "api_key",
            format!(
                "{name} api_key {key} is not in livekit.yaml's keys: livekit-server would \
                 refuse every token the service signs"
            ),
        )),
        Some(secret) if Some(secret) != doc.get("api_secret") => out.push(problem(
            "keys",
            name,
            paths::LIVEKIT_YAML,
            "api_secret",
            format!(
                "{name} api_secret for {key} differs from livekit.yaml's keys.{key}: \
                 livekit-server would refuse every token the service signs"
            ),
        )),
        Some(_) => {}
    }
}

/// Scheme, port (with the scheme's default) and path segments of a base URL.
fn url_parts(u: &str) -> Option<(String, Option<u16>, Vec<String>)> {
    let u = url::Url::parse(u).ok()?;
    let segs = u
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    let port = u.port().or(match u.scheme() {
        "rtmp" => Some(1935),
        "rtmps" => Some(443),
        other => url::Url::parse(&format!("{other}://x"))
            .ok()
            .and_then(|x| x.port_or_known_default()),
    });
    Some((u.scheme().to_string(), port, segs))
}

fn ingress_problems(lk: &Value, doc: &Value, out: &mut Vec<ConfigProblem>) {
    use crate::config::ingress::{RTMP_PORT, WHIP_PORT};
    let f = paths::INGRESS_YAML;
    let lkf = paths::LIVEKIT_YAML;
    for (port_key, url_key, default, schemes, exact) in [
        (
            "rtmp_port",
            "ingress.rtmp_base_url",
            RTMP_PORT,
            &["rtmp", "rtmps"][..],
            false,
        ),
        (
            "whip_port",
            "ingress.whip_base_url",
            WHIP_PORT,
            &["http", "https"][..],
            true,
        ),
    ] {
        let port = port_of(&doc[port_key]).unwrap_or(i64::from(default));
        let url = get(lk, url_key).as_str();
        let mut bad = |msg: String| out.push(problem("ingress", f, lkf, url_key, msg));
        match (port > 0, url) {
            (false, None) => {}
            (false, Some(u)) => bad(format!(
                "ingress.yaml {port_key} is off ({port}) but livekit.yaml {url_key} is {u}: \
                 clients would be given a URL nobody listens on"
            )),
            (true, None) => bad(format!(
                "ingress.yaml listens on {port_key} {port} but livekit.yaml has no {url_key}: \
                 LiveKit would hand out an empty URL without an error (side-services facts §2.4)"
            )),
            (true, Some(u)) => match url_parts(u) {
                None => bad(format!("livekit.yaml {url_key} {u:?} is not a URL")),
                Some((scheme, _, _)) if !schemes.contains(&scheme.as_str()) => bad(format!(
                    "livekit.yaml {url_key} {u} must use {}",
                    schemes.join(" or ")
                )),
                Some((_, p, _)) if p.map(i64::from) != Some(port) => bad(format!(
                    "livekit.yaml {url_key} {u} names port {} but ingress.yaml {port_key} is \
                     {port}",
                    p.map_or("none".into(), |p| p.to_string())
                )),
                Some((_, _, segs)) if exact && segs.len() != 1 => bad(format!(
                    "livekit.yaml {url_key} {u} must have exactly one path segment (ingress \
                     routes /{{app}} and /{{app}}/{{stream_key}}), it has {}",
                    segs.len()
                )),
                Some((_, _, segs)) if segs.is_empty() => bad(format!(
                    "livekit.yaml {url_key} {u} needs an app path segment (e.g. /x): the \
                     stream key goes after it"
                )),
                Some(_) => {}
            },
        }
    }
}

/// Checks the rendered files, given by name (missing ones are simply not there).
pub fn check(files: &BTreeMap<String, String>) -> ConfigCheck {
    let mut problems = Vec::new();
    let yaml = |name: &str, problems: &mut Vec<ConfigProblem>| -> Option<Value> {
        let text = files.get(name)?;
        match serde_saphyr::from_str::<Value>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(problem(
                    "parse",
                    name,
                    name,
                    "",
                    format!("{name} is not YAML: {e}"),
                ));
                None
            }
        }
    };
    let lk = yaml(paths::LIVEKIT_YAML, &mut problems);
    let mut claims = Claims::default();
    if let Some(lk) = &lk {
        ports::livekit_claims(&mut claims, lk);
    }
    if let Some(env) = files.get(paths::BACKEND_ENV) {
        ports::backend_claims(&mut claims, env);
    }
    for name in SERVICE_FILES {
        let Some(doc) = yaml(name, &mut problems) else {
            continue;
        };
        if let Some(lk) = &lk {
            redis_problems(lk, name, &doc, &mut problems);
            key_problems(lk, name, &doc, &mut problems);
            if *name == paths::INGRESS_YAML {
                ingress_problems(lk, &doc, &mut problems);
            }
        }
        match *name {
            paths::EGRESS_YAML => ports::egress_claims(&mut claims, &doc),
            paths::INGRESS_YAML => ports::ingress_claims(&mut claims, &doc),
            _ => ports::sip_claims(&mut claims, &doc),
        }
    }
    for name in [CADDYFILE, HAPROXY_CFG] {
        if let Some(text) = files.get(name) {
            ports::proxy_claims(&mut claims, name, text);
        }
    }
    ports::port_problems(&claims, &mut problems);
    ConfigCheck {
        ok: problems.is_empty(),
        files: FILES
            .iter()
            .filter(|f| files.contains_key(**f))
            .map(|f| f.to_string())
            .collect(),
        problems,
    }
}

/// The rendered files of a home as they are on disk.
pub fn read_home(home: &std::path::Path) -> BTreeMap<String, String> {
    FILES
        .iter()
        .filter_map(|f| {
            std::fs::read_to_string(home.join(f))
                .ok()
                .map(|t| (f.to_string(), t))
        })
        .collect()
}

/// One line per problem, for an error or a log.
pub fn summary(c: &ConfigCheck) -> String {
    c.problems
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Settings};
    use crate::keys::KeyRow;
    use crate::secrets::Secret;
    use hero_livekit_api::types::KeyState;

    fn rows() -> Vec<KeyRow> {
        vec![KeyRow {
            api_key: "APIactive".into(),
            secret: Secret::new(format!("active-secret-{}", "x".repeat(32))),
            state: KeyState::Active,
            created_at: 1,
            activated_at: Some(1),
            retire_at: None,
            revoked_at: None,
        }]
    }

    /// All three side services; `ingress` goes into `[ingress]`, `tail` after `[sip]`.
    fn config_with(ingress: &str, tail: &str) -> Config {
        let mut s: Settings = toml::from_str(&format!(
            "node_ip = \"203.0.113.5\"\n[redis]\naddress = \"10.0.0.7:6379\"\npassword = \"redis-pw\"\ndb = 3\n\
             [egress]\nenabled = true\n[ingress]\nenabled = true\n{ingress}\n[sip]\nenabled = true\n{tail}"
        ))
        .unwrap();
        s.home = Some("/tmp/hero-check-test".into());
        Config::from_settings(s, None).unwrap()
    }

    fn config(tail: &str) -> Config {
        config_with("", tail)
    }

    /// Every file a deployment with all three side services renders.
    fn rendered(c: &Config) -> BTreeMap<String, String> {
        let rows = rows();
        let canary = Secret::new("c".repeat(40));
        let env = crate::render::backend_env(
            c,
            &rows,
            &Secret::new("t".repeat(40)),
            &Secret::new("u".repeat(40)),
        )
        .unwrap()
        .render();
        let mut f: BTreeMap<String, String> = [
            (
                paths::LIVEKIT_YAML,
                crate::render::livekit_yaml(c, &rows, &canary).unwrap().text,
            ),
            (paths::BACKEND_ENV, env),
            (
                paths::EGRESS_YAML,
                super::super::egress::render(c, &rows, 8).unwrap(),
            ),
            (
                paths::INGRESS_YAML,
                super::super::ingress::render(c, &rows).unwrap(),
            ),
            (
                paths::SIP_YAML,
                super::super::sip::render(c, &rows).unwrap(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        f.extend(crate::public::files::renders(c));
        f
    }

    /// `files` with `name` edited as YAML by `edit`.
    fn edited(
        files: &BTreeMap<String, String>,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> BTreeMap<String, String> {
        let mut doc: Value = serde_saphyr::from_str(&files[name]).unwrap();
        edit(&mut doc);
        let mut out = files.clone();
        out.insert(name.into(), serde_saphyr::to_string(&doc).unwrap());
        out
    }

    fn only_problem(c: &ConfigCheck) -> &ConfigProblem {
        assert!(!c.ok, "expected a problem");
        assert_eq!(c.problems.len(), 1, "{:#?}", c.problems);
        &c.problems[0]
    }

    #[test]
    fn what_the_control_plane_renders_agrees() {
        let files = rendered(&config(""));
        let c = check(&files);
        assert!(c.ok, "{:#?}", c.problems);
        assert_eq!(c.files.len(), 5);
        // livekit.yaml's ingress block comes from the same value as ingress.yaml's ports.
        let lk: Value = serde_saphyr::from_str(&files[paths::LIVEKIT_YAML]).unwrap();
        assert_eq!(lk["ingress"]["rtmp_base_url"], "rtmp://203.0.113.5:1935/x");
        assert_eq!(lk["ingress"]["whip_base_url"], "http://203.0.113.5:8080/w");
        crate::livekit_schema::check(&lk).unwrap();
        // Off ports: no URL, and still in agreement.
        let files = rendered(&config_with("rtmp_port = -1\nwhip_port = -1", ""));
        let c = check(&files);
        assert!(c.ok, "{:#?}", c.problems);
        let lk: Value = serde_saphyr::from_str(&files[paths::LIVEKIT_YAML]).unwrap();
        assert_eq!(lk["ingress"], serde_json::json!({}));
    }

    #[test]
    fn a_different_redis_names_both_files_and_the_key() {
        let files = rendered(&config(""));
        for (key, value, shown) in [
            ("db", Value::from(4), "is 4"),
            ("address", Value::from("10.0.0.8:6379"), "10.0.0.8:6379"),
            ("password", Value::from("other-pw"), "<redacted>"),
        ] {
            let bad = edited(&files, paths::SIP_YAML, |d| d["redis"][key] = value.clone());
            let c = check(&bad);
            let p = only_problem(&c);
            assert_eq!(
                (p.check.as_str(), p.file.as_str(), p.other_file.as_str()),
                ("redis", "sip.yaml", "livekit.yaml")
            );
            assert_eq!(p.key, format!("redis.{key}"));
            assert!(
                p.message.contains(shown) && p.message.contains("livekit.yaml"),
                "{}",
                p.message
            );
            assert!(!p.message.contains("other-pw") && !p.message.contains("redis-pw"));
        }
        let bad = edited(&files, paths::EGRESS_YAML, |d| {
            d.as_object_mut().unwrap().remove("redis");
        });
        assert_eq!(only_problem(&check(&bad)).file, "egress.yaml");
    }

    #[test]
    fn a_key_the_sfu_does_not_have_or_another_secret_is_named() {
        let files = rendered(&config(""));
        let bad = edited(&files, paths::INGRESS_YAML, |d| {
            d["api_key"] = "APIunknown".into()
        });
        let c = check(&bad);
        let p = only_problem(&c);
        assert_eq!((p.check.as_str(), p.key.as_str()), ("keys", "api_key"));
        assert!(p.message.contains("APIunknown") && p.message.contains("ingress.yaml"));
        let bad = edited(&files, paths::EGRESS_YAML, |d| {
            d["api_secret"] = "another-secret-value-of-some-length".into()
        });
        let c = check(&bad);
        let p = only_problem(&c);
        assert_eq!(
            (p.file.as_str(), p.key.as_str()),
            ("egress.yaml", "api_secret")
        );
        assert!(!p.message.contains("another-secret"), "{}", p.message);
    }

    #[test]
    fn ingress_ports_must_match_livekit_yamls_base_urls() {
        let files = rendered(&config(""));
        // A port that differs from the URL's.
        let bad = edited(&files, paths::INGRESS_YAML, |d| {
            d["rtmp_port"] = 1936.into()
        });
        let p = only_problem(&check(&bad)).clone();
        assert_eq!(
            (p.check.as_str(), p.key.as_str(), p.other_file.as_str()),
            ("ingress", "ingress.rtmp_base_url", "livekit.yaml")
        );
        assert!(
            p.message.contains("1935") && p.message.contains("1936"),
            "{}",
            p.message
        );
        // WHIP with two path segments, or none.
        for url in ["http://203.0.113.5:8080/w/x", "http://203.0.113.5:8080"] {
            let bad = edited(&files, paths::LIVEKIT_YAML, |d| {
                d["ingress"]["whip_base_url"] = url.into()
            });
            let p = only_problem(&check(&bad)).clone();
            assert!(
                p.message.contains("exactly one path segment"),
                "{}",
                p.message
            );
        }
        // A listener without a URL (LiveKit hands out an empty one), and a URL without one.
        let bad = edited(&files, paths::LIVEKIT_YAML, |d| {
            d["ingress"]
                .as_object_mut()
                .unwrap()
                .remove("rtmp_base_url");
        });
        assert!(only_problem(&check(&bad)).message.contains("empty URL"));
        let bad = edited(&files, paths::INGRESS_YAML, |d| {
            d["whip_port"] = (-1).into()
        });
        let c = check(&bad);
        assert!(
            c.problems
                .iter()
                .any(|p| p.message.contains("nobody listens")),
            "{:#?}",
            c.problems
        );
        // An RTMP URL without its app segment.
        let bad = edited(&files, paths::LIVEKIT_YAML, |d| {
            d["ingress"]["rtmp_base_url"] = "rtmp://203.0.113.5:1935".into()
        });
        assert!(
            only_problem(&check(&bad))
                .message
                .contains("app path segment")
        );
    }

    #[test]
    fn two_services_on_one_host_port_are_named() {
        let files = rendered(&config(""));
        let cases: Vec<(&str, &str, Value, &str, &str)> = vec![
            // (file, key, value, other file, other key)
            (
                paths::INGRESS_YAML,
                "whip_port",
                7880.into(),
                "livekit.yaml",
                "port",
            ),
            (
                paths::INGRESS_YAML,
                "rtmp_port",
                7881.into(),
                "livekit.yaml",
                "rtc.tcp_port",
            ),
            (
                paths::SIP_YAML,
                "sip_port",
                7882.into(),
                "livekit.yaml",
                "rtc.udp_port",
            ),
            (
                paths::SIP_YAML,
                "health_port",
                1935.into(),
                "ingress.yaml",
                "rtmp_port",
            ),
            (
                paths::EGRESS_YAML,
                "health_port",
                9090.into(),
                "ingress.yaml",
                "http_relay_port",
            ),
            (
                paths::EGRESS_YAML,
                "prometheus_port",
                8081.into(),
                "backend.env",
                "PORT",
            ),
            (
                paths::SIP_YAML,
                "rtp_port",
                "7884-7890".into(),
                "ingress.yaml",
                "rtc_config.udp_port",
            ),
            (
                paths::INGRESS_YAML,
                "health_port",
                5060.into(),
                "sip.yaml",
                "sip_port",
            ),
            (
                paths::INGRESS_YAML,
                "prometheus_port",
                9100.into(),
                "egress.yaml",
                "health_port",
            ),
            (
                paths::SIP_YAML,
                "prometheus_port",
                9103.into(),
                "sip.yaml",
                "health_port",
            ),
        ];
        for (file, key, value, other, other_key) in cases {
            let bad = edited(&files, file, |d| d[key] = value.clone());
            let c = check(&bad);
            assert!(!c.ok, "{file} {key}");
            let p = c
                .problems
                .iter()
                .find(|p| p.check == "ports")
                .unwrap_or_else(|| panic!("{file} {key}: {:#?}", c.problems));
            let names = format!("{} {}", p.file, p.other_file);
            assert!(
                names.contains(file) && names.contains(other),
                "{file} {key}: {}",
                p.message
            );
            assert!(
                p.message.contains(&format!("{file} {key}"))
                    && p.message.contains(&format!("{other} {other_key}")),
                "{}",
                p.message
            );
        }
        // Egress's template server keeps 7980 even though egress.yaml does not say so.
        let bad = edited(&files, paths::SIP_YAML, |d| d["health_port"] = 7980.into());
        assert!(only_problem(&check(&bad)).message.contains("template_port"));
    }

    #[test]
    fn the_proxies_ports_count_too() {
        // topology sni: Caddy behind HAProxy on 8080, which is also ingress's WHIP default.
        let c = config(
            "[public]\ndomain = \"lk.example.com\"\nnode_ip = \"203.0.113.5\"\nemail = \"ops@example.com\"",
        );
        let files = rendered(&c);
        assert!(files.contains_key(CADDYFILE) && files.contains_key(HAPROXY_CFG));
        let r = check(&files);
        let p = r
            .problems
            .iter()
            .find(|p| p.file == "ingress.yaml" || p.other_file == "ingress.yaml")
            .unwrap_or_else(|| panic!("{:#?}", r.problems));
        assert!(p.message.contains("Caddyfile http_port"), "{}", p.message);
    }

    #[test]
    fn every_public_topology_renders_files_that_agree() {
        for extra in [
            "topology = \"sni\"",
            "topology = \"caddy-only\"",
            "topology = \"two-ips\"\nturn_ip = \"203.0.113.6\"",
        ] {
            let c = config_with(
                "whip_port = 8088",
                &format!(
                    "[public]\ndomain = \"lk.example.com\"\nnode_ip = \"203.0.113.5\"\n\
                     email = \"ops@example.com\"\n{extra}"
                ),
            );
            let r = check(&rendered(&c));
            assert!(r.ok, "{extra}: {:#?}", r.problems);
        }
    }

    #[test]
    fn a_file_that_is_not_yaml_is_named() {
        let mut files = rendered(&config(""));
        files.insert(paths::SIP_YAML.into(), "redis: [".into());
        let c = check(&files);
        assert_eq!(only_problem(&c).check, "parse");
    }
}
