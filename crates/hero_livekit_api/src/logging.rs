//! The log filter every binary uses. Third-party crates log request and response bodies at
//! debug/trace level (jsonrpsee's client prints every frame it receives), and those bodies carry
//! tokens and bearers, so their targets are capped whatever `RUST_LOG` asks for.

/// Targets (prefixes) capped at `info`, and at `warn` for sqlx's statement logging.
pub const CAPPED: &[(&str, &str)] = &[
    ("jsonrpsee", "info"),
    ("hyper", "info"),
    ("hyper_util", "info"),
    ("h2", "info"),
    ("soketto", "info"),
    ("reqwest", "info"),
    ("tower", "info"),
    ("tower_http", "info"),
    ("axum", "info"),
    ("fantoccini", "info"),
    ("ureq", "info"),
    ("rustls", "info"),
    ("sqlx", "warn"),
];

/// `RUST_LOG` (default `info`) with the caps appended: later directives for the same target
/// win, so an operator's `RUST_LOG=trace` still cannot make these crates print bodies.
pub fn directives(rust_log: Option<&str>) -> String {
    let mut out = rust_log
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("info")
        .to_string();
    for (target, level) in CAPPED {
        out.push_str(&format!(",{target}={level}"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn caps_follow_the_operator_setting() {
        let d = super::directives(Some("trace"));
        assert!(
            d.starts_with("trace,") && d.contains(",jsonrpsee=info") && d.contains(",sqlx=warn")
        );
        assert!(super::directives(None).starts_with("info,"));
    }
}
