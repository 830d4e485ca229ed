//! Shared state: one `Arc`, so the per-request clone is a single atomic increment.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use sqlx::SqlitePool;

use crate::config::Settings;
use crate::db::Writer;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The current settings; swapped whole when backend.env changes, so a request sees either
    /// the old or the new file, never a mix.
    pub settings: Arc<ArcSwap<Settings>>,
    pub pool: SqlitePool,
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
    /// Longest time a client may take to send a request body.
    pub body_timeout: Duration,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
