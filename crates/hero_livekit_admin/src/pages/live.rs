//! `/live`: Server-Sent Events telling open pages that something changed, so they refresh
//! when it happens rather than on a timer. Each browser connection follows two sources for as
//! long as it is open: the control plane's `events.subscribe` (keys, files, SFU reachability,
//! restart required) on its own socket connection, and lk-backend's `/api/events/stream`
//! (LiveKit's webhooks: rooms started and finished, participants joining and leaving, tracks).
//!
//! Every item goes out as a `change` event `{source, type, room}` (and `egress`: the id and
//! status of the recording an egress webhook changed); the page script re-fetches
//! its live regions. A source that is down is simply not followed; when both are gone the
//! stream ends and the browser reconnects after `retry`, while the script polls meanwhile.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use hero_livekit_api::RpcClient;
use hero_livekit_api::methods::BackendInfoM;
use hero_livekit_api::types::NoParams;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::AppState;

/// How long the browser waits before reconnecting a stream that ended.
const RETRY: Duration = Duration::from_secs(5);

/// Aborts the followers when the browser goes away (the stream is dropped).
struct Followers(Vec<JoinHandle<()>>);

impl Drop for Followers {
    fn drop(&mut self) {
        for f in &self.0 {
            f.abort();
        }
    }
}

pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut stopping = state.stopping.subscribe();
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let (tx, rx) = mpsc::channel::<Value>(64);
    let followers = Followers(vec![
        tokio::spawn(follow_control_plane(state.clone(), tx.clone())),
        tokio::spawn(follow_backend(state, tx)),
    ]);
    let hello = futures_util::stream::once(async {
        Ok(Event::default().retry(RETRY).comment("subscribed"))
    });
    let changes = futures_util::stream::unfold((rx, followers), |(mut rx, f)| async move {
        let change = rx.recv().await?;
        let event = Event::default().event("change").data(change.to_string());
        Some((Ok(event), (rx, f)))
    });
    Sse::new(hello.chain(changes).take_until(Box::pin(stopped))).keep_alive(KeepAlive::default())
}

async fn follow_control_plane(state: AppState, tx: mpsc::Sender<Value>) {
    let client = match RpcClient::connect(&state.config.socket).await {
        Ok(c) => c,
        Err(e) => return tracing::debug!(error = %e, "live: control plane not followed"),
    };
    let mut events = match client.subscribe_events().await {
        Ok(s) => s,
        Err(e) => return tracing::debug!(error = %e, "live: control plane not followed"),
    };
    while let Some(Ok(item)) = events.next().await {
        if item.kind == "error" {
            break;
        }
        let change = json!({ "source": "control-plane", "type": item.kind, "room": null });
        if tx.send(change).await.is_err() {
            break;
        }
    }
}

async fn follow_backend(state: AppState, tx: mpsc::Sender<Value>) {
    let info = match state.rpc.call::<BackendInfoM>(&NoParams {}).await {
        Ok(i) => i,
        Err(e) => return tracing::debug!(error = %e, "live: backend not followed"),
    };
    let url = format!("{}/api/events/stream", info.url.trim_end_matches('/'));
    let resp = state
        .live_http
        .get(&url)
        .bearer_auth(&info.api_token)
        .send()
        .await;
    let mut resp = match resp {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return tracing::debug!(status = %r.status(), "live: backend not followed"),
        Err(e) => return tracing::debug!(error = %e, "live: backend not followed"),
    };
    let mut buf = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        for change in take_events(&mut buf) {
            if tx.send(change).await.is_err() {
                return;
            }
        }
    }
}

/// Takes the complete SSE events out of `buf` (leaving a partial one) and turns lk-backend's
/// `webhook` and `lagged` events into changes; comments and keep-alives are dropped.
fn take_events(buf: &mut String) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(end) = buf.find("\n\n") {
        let block: String = buf.drain(..end + 2).collect();
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.strip_prefix(' ').unwrap_or(v).to_string())
        };
        match field("event:").as_deref() {
            Some("webhook") => {
                let data: Value = field("data:")
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or_default();
                let mut change =
                    json!({ "source": "backend", "type": data["event"], "room": data["room"] });
                // An egress event names the recording whose catalogue row changed.
                if data["egress"].is_object() {
                    change["egress"] = data["egress"].clone();
                }
                out.push(change);
            }
            Some("lagged") => {
                out.push(json!({ "source": "backend", "type": "lagged", "room": null }))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_events_become_changes_and_partial_ones_wait() {
        let mut buf = String::from(
            ": subscribed\n\nevent: webhook\ndata: {\"id\":\"EV_1\",\"event\":\"participant_joined\",\
             \"room\":\"standup\",\"participant\":\"alice\"}\n\n:\n\nevent: lagged\ndata: {\"missed\":3}\n\n\
             event: webhook\ndata: {\"id\":\"EV_2\",\"event\":\"egress_ended\",\"room\":\"standup\",\
             \"egress\":{\"egress_id\":\"EG_1\",\"status\":\"complete\"}}\n\nevent: web",
        );
        let changes = take_events(&mut buf);
        assert_eq!(
            changes,
            vec![
                json!({"source": "backend", "type": "participant_joined", "room": "standup"}),
                json!({"source": "backend", "type": "lagged", "room": null}),
                json!({"source": "backend", "type": "egress_ended", "room": "standup",
                       "egress": {"egress_id": "EG_1", "status": "complete"}}),
            ]
        );
        assert_eq!(buf, "event: web");
    }
}
