//! The process-wide TLS crypto provider.
//!
//! reqwest is built with `rustls-no-provider` so that the workspace compiles one crypto
//! library (ring, which ureq already needs) instead of adding aws-lc. The price is that a
//! provider must be installed before the first `reqwest::Client` is built, or building it
//! panics. Every binary and test that builds a client calls [`install_crypto_provider`] first.

/// Installs ring as the process's default rustls provider. Idempotent and thread-safe: a
/// provider installed earlier (by us or anyone else) is kept.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
