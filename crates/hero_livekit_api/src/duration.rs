//! The one duration grammar of hero_livekit, for flags, TOML, the CLI and the admin's forms.
//!
//! A duration is a bare whole number of seconds (`0`, `90`) or number-unit groups such as
//! `90s`, `15m`, `1h`, `1h30m`, `500ms`, `2d` (humantime's units, so every value one of the
//! former per-process grammars accepted is still accepted). [`Dur`] prints the canonical short
//! form (`1h30m`, `0s`), which parses back to the same value.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A value that is not a duration; the message names it and shows what is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a duration (examples: 90s, 15m, 1h, 1h30m, or a whole number of seconds such as 90 or 0)"
)]
pub struct DurationError {
    pub value: String,
}

/// Parses a duration in the grammar of this module; surrounding spaces are ignored.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|_| DurationError {
        value: s.to_string(),
    })
}

/// A duration for settings: parsed from the grammar above (flags, env, form fields),
/// deserialized from an integer of seconds or such a string (TOML), displayed canonically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn from_secs(secs: u64) -> Dur {
        Dur(Duration::from_secs(secs))
    }

    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl FromStr for Dur {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, DurationError> {
        parse_duration(s).map(Dur)
    }
}

impl From<Duration> for Dur {
    fn from(d: Duration) -> Self {
        Dur(d)
    }
}

impl From<Dur> for Duration {
    fn from(d: Dur) -> Self {
        d.0
    }
}

/// The canonical short form: largest units first, no spaces, zero units left out (`1h30m`,
/// `1d2s`, `1s500ms`); zero is `0s`.
impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        let secs = self.0.as_secs();
        let nanos = u64::from(self.0.subsec_nanos());
        let parts = [
            (secs / 86_400, "d"),
            (secs % 86_400 / 3_600, "h"),
            (secs % 3_600 / 60, "m"),
            (secs % 60, "s"),
            (nanos / 1_000_000, "ms"),
            (nanos % 1_000_000 / 1_000, "us"),
            (nanos % 1_000, "ns"),
        ];
        for (n, unit) in parts {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// Serialized in the same short form it is written in (`1h30m`), so a layered config round-trips.
impl serde::Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration such as \"90s\", \"15m\", \"1h30m\" or a whole number of seconds",
                )
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur::from_secs(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v).map(Dur::from_secs).map_err(|_| {
                    E::custom(DurationError {
                        value: v.to_string(),
                    })
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> u64 {
        parse_duration(s).unwrap().as_secs()
    }

    #[test]
    fn accepts_units_groups_bare_seconds_and_zero() {
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("1h"), 3600);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("1h 30m"), 5400);
        assert_eq!(secs("2d"), 172_800);
        assert_eq!(secs("90"), 90);
        assert_eq!(secs(" 90 "), 90);
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("300ms").unwrap(), Duration::from_millis(300));
    }

    #[test]
    fn refuses_what_is_not_a_duration_naming_it_with_examples() {
        for bad in ["", "soon", "-1", "-1s", "h", "1h-", "1 fortnight", "90 s x"] {
            let e = parse_duration(bad).unwrap_err();
            assert_eq!(e.value, bad);
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("{bad:?} is not a duration")),
                "{msg}"
            );
            assert!(msg.contains("90s, 15m, 1h, 1h30m"), "{msg}");
            assert!(msg.contains("whole number of seconds"), "{msg}");
        }
        assert_eq!(
            "soon".parse::<Dur>().unwrap_err().to_string(),
            "\"soon\" is not a duration (examples: 90s, 15m, 1h, 1h30m, or a whole number of seconds such as 90 or 0)"
        );
    }

    #[test]
    fn displays_the_canonical_short_form_which_parses_back() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(86_400), "1d"),
            (Duration::from_secs(86_402), "1d2s"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::from_nanos(1_001_001), "1ms1us1ns"),
        ] {
            assert_eq!(Dur(d).to_string(), text);
            assert_eq!(text.parse::<Dur>().unwrap(), Dur(d), "{text}");
        }
    }

    #[test]
    fn deserializes_from_an_integer_of_seconds_or_a_string() {
        #[derive(Deserialize)]
        struct T {
            d: Dur,
        }
        let t: T = serde_json::from_str(r#"{"d": 90}"#).unwrap();
        assert_eq!(t.d, Dur::from_secs(90));
        let t: T = serde_json::from_str(r#"{"d": "1h30m"}"#).unwrap();
        assert_eq!(t.d.as_secs(), 5400);
        let t: T = serde_json::from_str(r#"{"d": "0"}"#).unwrap();
        assert_eq!(t.d, Dur::default());
        let e = serde_json::from_str::<T>(r#"{"d": "soon"}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("\"soon\" is not a duration (examples:"), "{e}");
        let e = serde_json::from_str::<T>(r#"{"d": -5}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("\"-5\" is not a duration"), "{e}");
        let e = serde_json::from_str::<T>(r#"{"d": true}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("a duration such as \"90s\""), "{e}");
    }
}
