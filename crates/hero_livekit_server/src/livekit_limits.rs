//! LiveKit's limits on names, metadata and attributes (facts §1.9, §2.3), checked before a
//! request reaches the SFU so a value refused there is refused here first, naming the field.

use crate::error::{Error, Result};

/// Room names, identities and participant names, in bytes as LiveKit counts them.
pub const MAX_NAME_BYTES: usize = 256;
pub const MAX_METADATA_BYTES: usize = 512 * 1024;
/// All attribute keys and values together.
pub const MAX_ATTRIBUTES_BYTES: usize = 64 * 1024;
/// LiveKit verifies exp/nbf with one minute of leeway.
pub const LEEWAY_S: i64 = 60;
/// Track sources a `canPublishSources` grant may list.
pub const SOURCES: &[&str] = &["camera", "microphone", "screen_share", "screen_share_audio"];

/// Refuses a value longer (in bytes, as LiveKit counts) than LiveKit allows.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::params(
            field,
            format!("is {} bytes; LiveKit allows at most {max}", value.len()),
        ));
    }
    Ok(())
}

/// Total bytes of attribute keys and values, refused above LiveKit's limit.
pub fn check_attributes<'a>(
    field: &str,
    attributes: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<()> {
    let bytes: usize = attributes.into_iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_ATTRIBUTES_BYTES {
        return Err(Error::params(
            field,
            format!(
                "total {bytes} bytes of keys and values; LiveKit allows at most {MAX_ATTRIBUTES_BYTES}"
            ),
        ));
    }
    Ok(())
}
