//! LiveKit's side services (design §11): the files the control plane renders for them. Each
//! service parses its YAML leniently — an unknown or deprecated key is dropped without a word
//! (side-services facts §0) — so each render is typed after the service's Go yaml tags and
//! checked against the key tree read from that Go source before it is written.

pub mod check;
pub mod egress;
pub mod ingress;
mod ports;
pub mod sip;
pub mod status;

use serde_json::Value;

/// A key tree: each key the service reads, with the keys under it (`None`: a leaf, or a map
/// whose keys are free, like `metadata`).
pub struct Keys(pub &'static [(&'static str, Option<&'static Keys>)]);

/// Every key of `doc` must be in `known`; a key in `deprecated` is named as such. Returns the
/// first offending dotted path with the reason.
pub fn check_keys(
    doc: &Value,
    known: &Keys,
    deprecated: &[(&str, &str)],
    path: &str,
) -> Result<(), String> {
    let Some(map) = doc.as_object() else {
        return Ok(());
    };
    for (k, v) in map {
        let at = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if let Some((_, instead)) = deprecated.iter().find(|(d, _)| *d == at) {
            return Err(format!("{at} is deprecated and ignored ({instead})"));
        }
        match known.0.iter().find(|(name, _)| name == k) {
            None => return Err(format!("{at} is not a key the service reads")),
            Some((_, Some(sub))) => check_keys(v, sub, deprecated, &at)?,
            Some((_, None)) => {}
        }
    }
    Ok(())
}
