//! Health of the SFU: livekit-server answers `GET /` with `200 OK` when ready and 406 when its
//! node stats are stale (facts §5).

use std::time::Instant;

use hero_livekit_api::types::SfuStatus;

use crate::state::AppState;

pub async fn probe(state: &AppState) -> SfuStatus {
    let url = format!("{}/", state.config().livekit_url);
    let start = Instant::now();
    let result = state.livekit().http().get(&url).send().await;
    let latency_ms = (start.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let (reachable, latency_ms, error) = match result {
        Ok(r) if r.status().is_success() => (true, Some(latency_ms), None),
        Ok(r) => (
            true,
            Some(latency_ms),
            Some(format!("GET / answered {} (not ready)", r.status())),
        ),
        Err(e) if e.is_timeout() => (
            false,
            None,
            Some(format!(
                "no answer within {:?}",
                state.config().livekit_timeout
            )),
        ),
        Err(e) => (
            false,
            None,
            Some(format!("cannot connect: {}", root_cause(&e))),
        ),
    };
    SfuStatus {
        url: state.config().livekit_url.clone(),
        reachable,
        latency_ms,
        error,
        config_loaded: None,
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
