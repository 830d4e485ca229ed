//! The `backend.env` format: written by the control plane, read by lk-backend.
//!
//! One `KEY=value` a line. Values that need it are double-quoted with `\"` and `\\` escapes;
//! nothing else is special (no `$VAR` expansion), so a secret is read back byte for byte.
//! The file is parsed into [`BackendEnv`], never into the process environment.

use std::collections::BTreeMap;
use std::fmt;

/// Everything lk-backend needs, typed.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendEnv {
    /// LiveKit API URL (server-side calls).
    pub livekit_url: String,
    /// LiveKit URL handed to clients with their tokens.
    pub livekit_public_url: String,
    /// Key that signs new tokens.
    pub livekit_api_key: String,
    pub livekit_api_secret: String,
    /// Every key that may sign webhooks, as (key, secret).
    pub livekit_webhook_keys: Vec<(String, String)>,
    pub sqlite_path: String,
    pub port: u16,
    pub bind: String,
    /// Bearer for the privileged API (`/api/events`, `/api/sessions`, tokens).
    pub backend_api_token: String,
    /// Bearer that may only mint tokens: safe to hand to an app.
    pub token_endpoint_token: String,
    pub token_ttl_s: u64,
    pub token_max_ttl_s: u64,
    /// Origins allowed by CORS on the token endpoint; empty = none.
    pub cors_allowed_origins: Vec<String>,
}

/// Secrets are never printed, not even by `{:?}`.
impl fmt::Debug for BackendEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendEnv")
            .field("livekit_url", &self.livekit_url)
            .field("livekit_public_url", &self.livekit_public_url)
            .field("livekit_api_key", &self.livekit_api_key)
            .field(
                "livekit_webhook_keys",
                &self
                    .livekit_webhook_keys
                    .iter()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>(),
            )
            .field("sqlite_path", &self.sqlite_path)
            .field("port", &self.port)
            .field("bind", &self.bind)
            .field("token_ttl_s", &self.token_ttl_s)
            .field("token_max_ttl_s", &self.token_max_ttl_s)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .finish_non_exhaustive()
    }
}

/// Variable names, in the order they are written.
pub mod vars {
    pub const LIVEKIT_URL: &str = "LIVEKIT_URL";
    pub const LIVEKIT_PUBLIC_URL: &str = "LIVEKIT_PUBLIC_URL";
    pub const LIVEKIT_API_KEY: &str = "LIVEKIT_API_KEY";
    pub const LIVEKIT_API_SECRET: &str = "LIVEKIT_API_SECRET";
    pub const LIVEKIT_WEBHOOK_KEYS: &str = "LIVEKIT_WEBHOOK_KEYS";
    pub const SQLITE_PATH: &str = "SQLITE_PATH";
    pub const PORT: &str = "PORT";
    pub const BIND: &str = "BIND";
    pub const BACKEND_API_TOKEN: &str = "BACKEND_API_TOKEN";
    pub const TOKEN_ENDPOINT_TOKEN: &str = "TOKEN_ENDPOINT_TOKEN";
    pub const TOKEN_TTL_S: &str = "TOKEN_TTL_S";
    pub const TOKEN_MAX_TTL_S: &str = "TOKEN_MAX_TTL_S";
    pub const CORS_ALLOWED_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
    /// Variables whose values are secrets (redacted in `config.files` by
    /// [`crate::redact::is_secret_name`]; a test keeps the two in step).
    pub const SECRET: &[&str] = &[
        LIVEKIT_API_SECRET,
        LIVEKIT_WEBHOOK_KEYS,
        BACKEND_API_TOKEN,
        TOKEN_ENDPOINT_TOKEN,
    ];
}

/// A line of the file that is not `KEY=value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// A variable that is missing or has a value the backend cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("variable {0} is missing")]
    Missing(&'static str),
    #[error("variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

fn needs_quotes(v: &str) -> bool {
    v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/,@+%=".contains(&b))
}

fn quote(v: &str) -> String {
    if !needs_quotes(v) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses the file into its variables. Later duplicates win, like a shell would.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        let Some((k, v)) = l.split_once('=') else {
            return Err(ParseError {
                line,
                reason: "expected KEY=value".into(),
            });
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ParseError {
                line,
                reason: format!("invalid variable name {k:?}"),
            });
        }
        let v = v.trim();
        let value = if let Some(body) = v.strip_prefix('"') {
            let mut val = String::new();
            let mut chars = body.chars();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('"') => val.push('"'),
                        Some('\\') => val.push('\\'),
                        Some('n') => val.push('\n'),
                        Some(o) => {
                            return Err(ParseError {
                                line,
                                reason: format!("{k}: unknown escape \\{o}"),
                            });
                        }
                        None => break,
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => val.push(c),
                }
            }
            if !closed {
                return Err(ParseError {
                    line,
                    reason: format!("{k}: unterminated quoted value"),
                });
            }
            let rest = chars.as_str().trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(ParseError {
                    line,
                    reason: format!("{k}: unexpected text after the closing quote"),
                });
            }
            val
        } else {
            v.to_string()
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl BackendEnv {
    /// Renders the file. The header says who owns it; the order is fixed so renders are
    /// byte-identical for identical inputs.
    pub fn render(&self) -> String {
        use vars::*;
        let webhook_keys = self
            .livekit_webhook_keys
            .iter()
            .map(|(k, s)| format!("{k}:{s}"))
            .collect::<Vec<_>>()
            .join(",");
        let rows: [(&str, String); 13] = [
            (LIVEKIT_URL, self.livekit_url.clone()),
            (LIVEKIT_PUBLIC_URL, self.livekit_public_url.clone()),
            (LIVEKIT_API_KEY, self.livekit_api_key.clone()),
            (LIVEKIT_API_SECRET, self.livekit_api_secret.clone()),
            (LIVEKIT_WEBHOOK_KEYS, webhook_keys),
            (SQLITE_PATH, self.sqlite_path.clone()),
            (PORT, self.port.to_string()),
            (BIND, self.bind.clone()),
            (BACKEND_API_TOKEN, self.backend_api_token.clone()),
            (TOKEN_ENDPOINT_TOKEN, self.token_endpoint_token.clone()),
            (TOKEN_TTL_S, self.token_ttl_s.to_string()),
            (TOKEN_MAX_TTL_S, self.token_max_ttl_s.to_string()),
            (CORS_ALLOWED_ORIGINS, self.cors_allowed_origins.join(",")),
        ];
        let mut out = String::from(
            "# Generated by hero_livekit_server; edits are overwritten at its next start.\n\
             # Source of truth: server.db in this directory (see `hero_livekit status`).\n",
        );
        for (k, v) in rows {
            out.push_str(k);
            out.push('=');
            out.push_str(&quote(&v));
            out.push('\n');
        }
        out
    }

    /// Builds the typed config from parsed variables, naming the variable that is wrong.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, VarError> {
        use vars::*;
        let get = |name: &'static str| -> Result<&str, VarError> {
            vars.get(name)
                .map(String::as_str)
                .ok_or(VarError::Missing(name))
        };
        let nonempty = |name: &'static str| -> Result<String, VarError> {
            let v = get(name)?;
            if v.is_empty() {
                return Err(VarError::Invalid {
                    var: name,
                    reason: "must not be empty".into(),
                });
            }
            Ok(v.to_string())
        };
        let number = |name: &'static str| -> Result<u64, VarError> {
            get(name)?.parse::<u64>().map_err(|_| VarError::Invalid {
                var: name,
                reason: format!("{:?} is not a whole number", get(name).unwrap_or_default()),
            })
        };
        let port_raw = get(PORT)?;
        let port = match port_raw.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                return Err(VarError::Invalid {
                    var: PORT,
                    reason: format!("{port_raw:?} is not a TCP port (1-65535)"),
                });
            }
        };
        let mut webhook_keys = Vec::new();
        for pair in list(get(LIVEKIT_WEBHOOK_KEYS)?) {
            match pair.split_once(':') {
                Some((k, s)) if !k.is_empty() && !s.is_empty() => {
                    webhook_keys.push((k.to_string(), s.to_string()))
                }
                _ => {
                    return Err(VarError::Invalid {
                        var: LIVEKIT_WEBHOOK_KEYS,
                        reason: "expected comma-separated key:secret pairs".into(),
                    });
                }
            }
        }
        let token_ttl_s = number(TOKEN_TTL_S)?;
        let token_max_ttl_s = number(TOKEN_MAX_TTL_S)?;
        if token_ttl_s == 0 || token_ttl_s > token_max_ttl_s {
            return Err(VarError::Invalid {
                var: TOKEN_TTL_S,
                reason: format!("must be between 1 and TOKEN_MAX_TTL_S ({token_max_ttl_s})"),
            });
        }
        Ok(Self {
            livekit_url: nonempty(LIVEKIT_URL)?,
            livekit_public_url: nonempty(LIVEKIT_PUBLIC_URL)?,
            livekit_api_key: nonempty(LIVEKIT_API_KEY)?,
            livekit_api_secret: nonempty(LIVEKIT_API_SECRET)?,
            livekit_webhook_keys: webhook_keys,
            sqlite_path: nonempty(SQLITE_PATH)?,
            port,
            bind: nonempty(BIND)?,
            backend_api_token: nonempty(BACKEND_API_TOKEN)?,
            token_endpoint_token: nonempty(TOKEN_ENDPOINT_TOKEN)?,
            token_ttl_s,
            token_max_ttl_s,
            cors_allowed_origins: list(vars.get(CORS_ALLOWED_ORIGINS).map_or("", |s| s)),
        })
    }

    /// The file with every secret replaced by `<redacted>`, for `config.files` and the admin UI.
    pub fn render_redacted(&self) -> String {
        redact(&self.render())
    }
}

/// Replaces the values of secret variables in a rendered file with `<redacted>`.
pub fn redact(text: &str) -> String {
    text.lines()
        .map(|l| match l.split_once('=') {
            Some((k, _)) if crate::redact::is_secret_name(k) => {
                format!("{k}={}", crate::redact::REDACTED)
            }
            Some((k, v)) if k.ends_with("_URL") => format!("{k}={}", crate::redact::url(v)),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redaction_rule_knows_every_secret_variable() {
        for v in vars::SECRET {
            assert!(crate::redact::is_secret_name(v), "{v}");
        }
        assert!(!crate::redact::is_secret_name(vars::LIVEKIT_API_KEY));
    }

    fn sample() -> BackendEnv {
        BackendEnv {
            livekit_url: "http://127.0.0.1:7880".into(),
            livekit_public_url: "ws://127.0.0.1:7880".into(),
            livekit_api_key: "APIabcdefghijkl".into(),
            livekit_api_secret: "s3cr3t".repeat(8),
            livekit_webhook_keys: vec![
                ("APIabcdefghijkl".into(), "s3cr3t".repeat(8)),
                ("APIold".into(), "old".repeat(12)),
            ],
            sqlite_path: "/var/lib/hero livekit/\"odd\"\\dir/backend.db".into(),
            port: 8081,
            bind: "0.0.0.0".into(),
            backend_api_token: "a".repeat(43),
            token_endpoint_token: "b".repeat(43),
            token_ttl_s: 3600,
            token_max_ttl_s: 86400,
            cors_allowed_origins: vec![
                "https://app.example".into(),
                "http://localhost:3000".into(),
            ],
        }
    }

    #[test]
    fn render_then_parse_round_trips_odd_values() {
        let env = sample();
        let text = env.render();
        assert!(
            text.contains("SQLITE_PATH=\"/var/lib/hero livekit/\\\"odd\\\"\\\\dir/backend.db\"\n")
        );
        let back = BackendEnv::from_vars(&parse(&text).unwrap()).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn debug_and_redaction_hide_secrets() {
        let env = sample();
        let dbg = format!("{env:?}");
        assert!(!dbg.contains("s3cr3t") && !dbg.contains(&"a".repeat(43)));
        let red = env.render_redacted();
        assert!(!red.contains("s3cr3t") && !red.contains(&"b".repeat(43)));
        assert!(red.contains("LIVEKIT_API_KEY=APIabcdefghijkl"));
        assert!(red.contains("LIVEKIT_API_SECRET=<redacted>"));
    }

    #[test]
    fn errors_name_the_line_and_the_variable() {
        assert_eq!(parse("A=1\nnonsense\n").unwrap_err().line, 2);
        assert_eq!(parse("A=\"open\n").unwrap_err().line, 1);
        let mut vars = parse(&sample().render()).unwrap();
        vars.remove("BACKEND_API_TOKEN");
        assert_eq!(
            BackendEnv::from_vars(&vars).unwrap_err().to_string(),
            "variable BACKEND_API_TOKEN is missing"
        );
        vars.insert("BACKEND_API_TOKEN".into(), "x".into());
        vars.insert("PORT".into(), "80801".into());
        assert!(
            BackendEnv::from_vars(&vars)
                .unwrap_err()
                .to_string()
                .contains("PORT")
        );
    }

    #[test]
    fn dollar_signs_are_not_expanded() {
        let vars = parse("LIVEKIT_API_SECRET=\"a$HOME\"\n").unwrap();
        assert_eq!(vars["LIVEKIT_API_SECRET"], "a$HOME");
    }
}
