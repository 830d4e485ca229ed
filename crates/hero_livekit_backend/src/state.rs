//! Shared state: cheap handles, cloned into every request.

use std::sync::Arc;

use arc_swap::ArcSwap;
use sqlx::SqlitePool;

use crate::config::Settings;
use crate::db::Writer;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    /// The current settings; swapped whole when backend.env changes, so a request sees either
    /// the old or the new file, never a mix.
    pub settings: Arc<ArcSwap<Settings>>,
    pub pool: SqlitePool,
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
}
