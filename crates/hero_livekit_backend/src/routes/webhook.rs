//! `POST /webhook`: the durable inbox. Verify, store once, then answer.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header;
use hero_livekit_api::timefmt::now_unix;
use serde_json::{Value, json};

use super::read_body;
use crate::error::{Error, Result};
use crate::recordings::{self, EgressChange};
use crate::state::{AppState, LiveEvent};
use crate::store::{NewEvent, Stored};
use crate::webhook::{EventSummary, body_sha256, verify};

pub async fn receive(State(state): State<AppState>, req: Request) -> Result<Json<Value>> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    // The content type is ignored on purpose: LiveKit sends application/webhook+json, and the
    // raw bytes are what the signature covers. A stalled body answers 503 so LiveKit retries.
    let body = read_body(headers, body, state.body_timeout, true)
        .await
        .inspect_err(|_| state.metrics.rejected("body"))?;
    let now = now_unix();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let signing_key = {
        let settings = state.settings.load();
        match verify(&body, auth, &settings.env.livekit_webhook_keys, now) {
            Ok(key) => key.to_string(),
            Err(e) => {
                tracing::warn!(reason = %e, "webhook refused");
                state.metrics.rejected(e.label());
                state.writer.forged(now);
                return Err(e.into());
            }
        }
    };
    let summary = EventSummary::parse(&body).map_err(|_| {
        state.metrics.rejected("invalid_json");
        Error::bad_request("body", "webhook body is not a JSON webhook event")
    })?;
    let event_id = if summary.id.is_empty() {
        // Without an id, identical bodies are the same event.
        format!("sha256:{}", body_sha256(&body))
    } else {
        summary.id.clone()
    };
    // Parsed in full only for egress events: every other webhook stays on the lean path.
    let recording = recordings::EVENTS
        .contains(&summary.event.as_str())
        .then(|| recordings::from_webhook(&body, now))
        .flatten();
    let event = NewEvent {
        event_id,
        event: summary.event.clone(),
        room_name: summary.room_name().map(String::from),
        room_sid: summary.room_sid().map(String::from),
        participant_identity: summary.participant_identity().map(String::from),
        participant_sid: summary.participant_sid().map(String::from),
        created_at: summary.created_at.filter(|t| *t > 0).unwrap_or(now),
        received_at: now,
        signing_key,
        body: body.to_vec(),
    };
    // Built only when someone follows the stream: the ingest path stays as lean as before.
    let live = (state.announce_locally && state.live.receiver_count() > 0).then(|| LiveEvent {
        id: event.event_id.clone(),
        event: event.event.clone(),
        room: event.room_name.clone(),
        participant: event.participant_identity.clone(),
        created_at: hero_livekit_api::timefmt::rfc3339(event.created_at),
        egress: recording.as_ref().map(EgressChange::from),
    });
    let stored = state.writer.store(event).await?;
    // The event is durable; now the recording it describes. If that fails the answer is 503,
    // LiveKit retries, and the retry (a duplicate event) keeps the recording then.
    let kept = match &recording {
        Some(r) => state.store.upsert_recording(r).await?,
        None => false,
    };
    let status = match stored {
        Stored::New => {
            state.metrics.webhooks_received.inc();
            "stored"
        }
        Stored::Duplicate => {
            state.metrics.webhooks_duplicate.inc();
            "duplicate"
        }
    };
    // Announced only once durable (the catalogue too); nobody listening is fine.
    if let Some(live) = live
        && (stored == Stored::New || kept)
    {
        let _ = state.live.send(live);
    }
    Ok(Json(json!({ "status": status })))
}
