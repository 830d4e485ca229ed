//! Every timestamp in every API is RFC 3339 UTC with second precision (`2026-11-26T13:00:00Z`).

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Parses an RFC 3339 timestamp into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z() {
        assert_eq!(rfc3339(1_795_700_000), "2026-11-26T13:33:20Z");
        assert_eq!(parse_rfc3339("2026-11-26T13:33:20Z"), Some(1_795_700_000));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
