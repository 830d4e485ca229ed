//! Logs of in-process services: silent unless the developer asks.

use std::sync::Once;

/// Installs a crate's tracing subscriber once per test binary, when `TEST_LOG` is set
/// (`TEST_LOG=1 cargo test …`); otherwise the tests stay quiet.
pub fn init_logs(init: fn()) {
    static ONCE: Once = Once::new();
    if std::env::var_os("TEST_LOG").is_some() {
        ONCE.call_once(init);
    }
}
