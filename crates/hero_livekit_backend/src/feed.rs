//! The live stream's source when replicas share one PostgreSQL: every replica announces every
//! event any replica stored, after it is durable. A NOTIFY in each committed batch wakes the
//! feed, which reads the new rows; a short timer backs the notification up (one sent while the
//! listener reconnects is lost). On SQLite the one process announces what it stores itself.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::state::LiveEvent;
use crate::store::{EventRow, EventStore};

/// How far back each read looks: sequence numbers are handed out at insert and committed in
/// any order across replicas, so a lower one can become visible after a higher one.
const LOOK_BACK: i64 = 512;
const BACKSTOP: Duration = Duration::from_secs(2);
const BATCH: i64 = 1000;

fn live(row: &EventRow) -> LiveEvent {
    LiveEvent {
        id: row.event_id.clone(),
        event: row.event.clone(),
        room: row.room_name.clone(),
        participant: row.participant_identity.clone(),
        created_at: hero_livekit_api::timefmt::rfc3339(row.created_at),
        egress: crate::recordings::EVENTS
            .contains(&row.event.as_str())
            .then(|| crate::recordings::from_webhook(&row.body, row.received_at))
            .flatten()
            .as_ref()
            .map(crate::recordings::EgressChange::from),
    }
}

/// Takes the starting point now — what is stored before the service serves is history, not
/// news — then follows in a task.
pub async fn start(
    store: EventStore,
    out: broadcast::Sender<LiveEvent>,
    wake: mpsc::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let last = store.last_seq().await.unwrap_or(0);
    let announced: BTreeSet<i64> = store
        .events_after(last - LOOK_BACK, BATCH)
        .await
        .map(|rows| rows.iter().map(|r| r.seq).collect())
        .unwrap_or_default();
    tokio::spawn(follow(store, out, wake, last, announced))
}

async fn follow(
    store: EventStore,
    out: broadcast::Sender<LiveEvent>,
    mut wake: mpsc::Receiver<()>,
    mut last: i64,
    mut announced: BTreeSet<i64>,
) {
    loop {
        tokio::select! {
            w = wake.recv() => if w.is_none() { return },
            _ = tokio::time::sleep(BACKSTOP) => {}
        }
        if let Err(e) = catch_up(&store, &out, &mut last, &mut announced).await {
            tracing::warn!(error = %e, "cannot read new events for the live stream");
        }
    }
}

/// Announces every stored row not announced yet. Reading the look-back window's bodies on every
/// wake cost more than storing the events (each replica woke once per committed batch), so the
/// window is read as numbers only: rows above `last` come in one range read, and a row below it
/// (committed late by another replica, which is rare) alone.
async fn catch_up(
    store: &EventStore,
    out: &broadcast::Sender<LiveEvent>,
    last: &mut i64,
    announced: &mut BTreeSet<i64>,
) -> crate::error::Result<()> {
    loop {
        let late: Vec<i64> = store
            .seqs_after(*last - LOOK_BACK, LOOK_BACK)
            .await?
            .into_iter()
            .filter(|s| *s <= *last && !announced.contains(s))
            .collect();
        for seq in late {
            if let Some(row) = store.event_at(seq).await? {
                announce(out, announced, &row);
            }
        }
        let rows = store.events_after(*last, BATCH).await?;
        for row in &rows {
            announce(out, announced, row);
            *last = (*last).max(row.seq);
        }
        *announced = announced.split_off(&(*last - LOOK_BACK));
        if (rows.len() as i64) < BATCH {
            return Ok(());
        }
    }
}

fn announce(out: &broadcast::Sender<LiveEvent>, announced: &mut BTreeSet<i64>, row: &EventRow) {
    if announced.insert(row.seq) && out.receiver_count() > 0 {
        let _ = out.send(live(row));
    }
}
