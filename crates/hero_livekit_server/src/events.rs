//! Control-plane events for `events.subscribe` (design §5): key lifecycle, file rewrites, SFU
//! reachability and restart-required changes.

use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::EventItem;
use serde_json::Value;
use tokio::sync::broadcast;

/// Items buffered per subscriber; a subscriber that falls further behind is ended with an
/// `error` item instead of silently missing events.
pub const BUFFER: usize = 256;

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<EventItem>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(BUFFER).0,
        }
    }
}

impl Events {
    pub fn emit(&self, kind: &str, data: Value) {
        tracing::info!(event = kind, "event");
        let _ = self.tx.send(EventItem {
            kind: kind.to_string(),
            at: rfc3339(now_unix()),
            data,
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EventItem> {
        self.tx.subscribe()
    }

    /// Open subscriptions.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// The terminal item of a subscription that ends.
pub fn error_item(reason: &str) -> EventItem {
    EventItem {
        kind: "error".into(),
        at: rfc3339(now_unix()),
        data: serde_json::json!({ "reason": reason }),
    }
}
