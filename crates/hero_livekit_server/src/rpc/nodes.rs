//! `node.list`: the fleet read now (decoded and classified, no probes), joined with what each
//! node was last seen to run by the observation that probes them.

use hero_livekit_api::methods::NodeListM;
use hero_livekit_api::timefmt::now_unix;
use hero_livekit_api::types::{NoParams, NodeInfo, NodeList};

use super::{Call, Registry};
use crate::fleet::at;

pub fn register(r: &mut Registry) {
    r.add::<NodeListM, _, _>(|c: Call, _: NoParams| async move {
        let snap = c.state.fleet().read(now_unix()).await;
        let views = c.state.node_views();
        let nodes = snap
            .nodes
            .into_iter()
            .map(|n| {
                let view = views.get(&n.id).cloned().unwrap_or_default();
                NodeInfo {
                    restart_required: !view.restart_reasons.is_empty(),
                    runs_current_config: view.runs_current_config,
                    accepts_active_key: view.accepts_active_key,
                    restart_reasons: view.restart_reasons,
                    updated_at: at(n.updated_at),
                    started_at: at(n.started_at),
                    id: n.id,
                    ip: n.ip,
                    region: n.region,
                    state: n.state,
                    class: n.class,
                    fresh: n.fresh,
                    num_rooms: n.num_rooms,
                    num_clients: n.num_clients,
                    num_tracks_in: n.num_tracks_in,
                    num_tracks_out: n.num_tracks_out,
                    cpu_load: n.cpu_load,
                    num_cpus: n.num_cpus,
                    url: n.url,
                    problems: n.problems,
                }
            })
            .collect();
        Ok(NodeList {
            source: snap.source.to_string(),
            redis_reachable: snap.redis_reachable,
            redis_error: snap.redis_error,
            as_of: at(snap.as_of),
            nodes,
        })
    });
}
