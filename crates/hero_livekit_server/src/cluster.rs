//! The control planes sharing one database, as `status` and `node.list` show them.

use hero_livekit_api::timefmt::{now_unix, rfc3339};
use hero_livekit_api::types::{ClusterStatus, InstanceInfo};

use crate::error::Result;
use crate::state::AppState;

/// An instance not heard of for this long is shown as not alive (three missed heartbeats).
const ALIVE_WITHIN_S: i64 = 30;

pub async fn instances(state: &AppState) -> Result<(i64, Vec<InstanceInfo>)> {
    let revision = state.store().revision().await?;
    let ours = state.canaries().cluster_sha256;
    let now = now_unix();
    let list = state
        .store()
        .instances()
        .await?
        .into_iter()
        .map(|i| InstanceInfo {
            current: i.rendered_rev == revision,
            cluster_matches: i.cluster_sha256 == ours,
            alive: now - i.seen_at <= ALIVE_WITHIN_S,
            rendered_at: rfc3339(i.rendered_at),
            seen_at: rfc3339(i.seen_at),
            rendered_revision: i.rendered_rev,
            instance_id: i.instance_id,
            host: i.host,
            home: i.home,
            node_ip: i.node_ip,
            cluster_sha256: i.cluster_sha256,
        })
        .collect();
    Ok((revision, list))
}

pub async fn status(state: &AppState) -> Result<ClusterStatus> {
    let (revision, instances) = instances(state).await?;
    Ok(ClusterStatus {
        engine: state.store().engine().to_string(),
        revision,
        instance_id: state.instance_id().to_string(),
        owns_lifecycle: state.owns_lifecycle(),
        instances,
    })
}

/// Reasons to look at the cluster, for `status.restart_reasons`: another live instance renders
/// a different cluster part (their configs disagree), or lags behind.
pub fn problems(status: &ClusterStatus) -> Vec<String> {
    let mut out = Vec::new();
    for i in status
        .instances
        .iter()
        .filter(|i| i.alive && i.instance_id != status.instance_id)
    {
        if !i.cluster_matches {
            out.push(format!(
                "control plane {} renders a different cluster config (keys, webhook, redis, room or overrides differ): every instance must use the same settings",
                i.instance_id
            ));
        }
    }
    out
}
