//! Prometheus metrics. Route labels come from a fixed list so cardinality stays bounded
//! whatever paths clients try.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    pub tokens_minted: Counter,
    pub webhooks_received: Counter,
    pub webhooks_rejected: Family<ReasonLabels, Counter>,
    pub webhooks_duplicate: Counter,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~1.6 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lk_backend");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let tokens_minted = Counter::default();
        let webhooks_received = Counter::default();
        let webhooks_rejected = Family::<ReasonLabels, Counter>::default();
        let webhooks_duplicate = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "tokens_minted",
            "Access tokens minted",
            tokens_minted.clone(),
        );
        registry.register(
            "webhooks_received",
            "Verified webhook events committed (new)",
            webhooks_received.clone(),
        );
        registry.register(
            "webhooks_rejected",
            "Webhook deliveries refused, by reason",
            webhooks_rejected.clone(),
        );
        registry.register(
            "webhooks_duplicate",
            "Verified webhook deliveries whose event id was already stored",
            webhooks_duplicate.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            tokens_minted,
            webhooks_received,
            webhooks_rejected,
            webhooks_duplicate,
        }
    }
}

impl Metrics {
    pub fn observe(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(elapsed.as_secs_f64());
    }

    pub fn rejected(&self, reason: &'static str) {
        self.webhooks_rejected
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The route label of a path: one of our routes, or `other`.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/health" => "/health",
        "/ready" => "/ready",
        "/metrics" => "/metrics",
        "/api/token" => "/api/token",
        "/webhook" => "/webhook",
        "/api/events" => "/api/events",
        "/api/sessions" => "/api/sessions",
        "/api/stats/participants" => "/api/stats/participants",
        "/api/stats/participant_minutes" => "/api/stats/participant_minutes",
        "/api/stats/session_durations" => "/api/stats/session_durations",
        "/api/stats/webhooks" => "/api/stats/webhooks",
        _ => "other",
    }
}
