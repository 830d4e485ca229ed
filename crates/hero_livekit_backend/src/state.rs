//! Shared state: one `Arc`, so the per-request clone is a single atomic increment.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::{EventStore, Writer};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The current settings; swapped whole when backend.env changes, so a request sees either
    /// the old or the new file, never a mix.
    pub settings: Arc<ArcSwap<Settings>>,
    pub store: EventStore,
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
    /// Longest time a client may take to send a request body.
    pub body_timeout: Duration,
    /// Every newly stored webhook event, for `GET /api/events/stream`.
    pub live: tokio::sync::broadcast::Sender<LiveEvent>,
    /// Whether the webhook handler announces what it stores (one process, SQLite); with
    /// replicas on PostgreSQL the feed announces what any replica stored.
    pub announce_locally: bool,
    /// Becomes true when the service stops, ending the live streams so the drain is quick.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// A stored webhook event as the live stream announces it (the full body is in `/api/events`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveEvent {
    pub id: String,
    pub event: String,
    pub room: Option<String>,
    pub participant: Option<String>,
    pub created_at: String,
    /// For egress events: the recording whose catalogue row changed (`GET /api/egress/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress: Option<crate::recordings::EgressChange>,
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
