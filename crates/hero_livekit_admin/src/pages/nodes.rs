//! `/nodes`: the SFU fleet, one row per livekit-server node (`node.list`): its class the way
//! LiveKit's node selector sees it, its load, whether it runs the current livekit.yaml and
//! accepts the active key, and what is wrong with it. With Redis down the last list read stays
//! on the page, marked with when it was read. The table is the live region: `node.*` events
//! (through `/live`) and the backup timer re-fetch it.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use hero_livekit_api::methods::NodeListM;
use hero_livekit_api::types::{FleetSummary, NoParams, NodeClass, NodeInfo, NodeList};
use maud::{Markup, html};

use crate::AppState;
use crate::auth::Session;
use crate::error::Result;
use crate::html::{self, Nav, badge, error_box, opt_time, tri};

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let list = state.rpc.call::<NodeListM>(&NoParams {}).await;
    let body = html! {
        h1 { "Nodes" }
        p.sub { "Every livekit-server node registered in LiveKit's Redis, as LiveKit's own node selector sees it. The control plane probes each fresh node every 5 s: does it run the current livekit.yaml, does it accept the active key." }
        div #nodes-live data-live="5" {
            (view(&list))
        }
    };
    html::ok(html::page(&session, Nav::Nodes, "Nodes", body))
}

/// The badge class of a node class.
pub fn class_badge(class: NodeClass) -> Markup {
    let tone = match class {
        NodeClass::Live => "ok",
        NodeClass::Starting => "info",
        NodeClass::Draining | NodeClass::Suspended => "warn",
        NodeClass::Stale => "bad",
    };
    badge(tone, class.as_str())
}

/// What each class means, for the legend under the table.
const CLASSES: &[(NodeClass, &str)] = &[
    (
        NodeClass::Live,
        "SERVING with stats under 5 s old: gets new rooms.",
    ),
    (NodeClass::Starting, "STARTING_UP: not serving yet."),
    (
        NodeClass::Draining,
        "SHUTTING_DOWN: keeps its rooms, gets no new ones, leaves once they are empty.",
    ),
    (NodeClass::Suspended, "SUSPENDED: gets no new rooms."),
    (
        NodeClass::Stale,
        "No update for 5 s or more: crashed or cut off from Redis. LiveKit routes nothing to it and leaves its entry until another node starts.",
    ),
];

/// The live region: the Redis state, the counts, the table, the control planes.
pub fn view(list: &Result<NodeList>) -> Markup {
    let l = match list {
        Err(e) => return error_box("the nodes", e),
        Ok(l) => l,
    };
    let down = l.redis_reachable == Some(false);
    html! {
        @if down {
            div.banner.bad role="alert" #redis-unreachable {
                strong { "Redis unreachable" }
                div { (l.redis_error.as_deref().unwrap_or("no answer")) }
                p { "The nodes below are the last list read, as of " (opt_time(l.as_of.as_deref()))
                    ". Their state may have changed since; LiveKit nodes route rooms through Redis, so start it or fix "
                    code { "[redis]" } "." }
            }
        }
        @if l.source == "config" {
            div.banner.info #no-redis {
                strong { "One SFU, no Redis" }
                p { "Without " code { "[redis]" } " the fleet is the one SFU at " code { "livekit_url" }
                    ". Add a " code { "[redis]" } " table to run several livekit-server nodes; they then show up here." }
            }
        }
        section.card aria-labelledby="h-nodes" {
            div.toolbar {
                h2 #h-nodes { "Nodes " (counts(&summary_of(l))) }
                @if down {
                    span.badge.warn #as-of { "as of " (opt_time(l.as_of.as_deref())) }
                } @else {
                    span.muted { "read " (opt_time(l.as_of.as_deref())) }
                }
            }
            @if l.nodes.is_empty() {
                (html::empty("No node registered", html! {
                    "Start livekit-server with the livekit.yaml the control plane writes: each node registers itself in Redis."
                }))
            } @else {
                table #nodes {
                    @if down { caption.muted { "Last list read, as of " (opt_time(l.as_of.as_deref())) " — Redis is unreachable" } }
                    thead { tr {
                        th { "Node" } th { "State" } th { "Region" } th { "Load" }
                        th.num { "Rooms" } th.num { "Clients" } th.num { "Tracks in / out" }
                        th { "Runs current config" } th { "Accepts active key" } th { "Problems" }
                    } }
                    tbody { @for n in &l.nodes { (row(n)) } }
                }
                details.legend {
                    summary { "What the states mean" }
                    dl.kv { @for (c, text) in CLASSES { dt { (class_badge(*c)) } dd { (text) } } }
                }
            }
        }
        @if !l.instances.is_empty() {
            section.card aria-labelledby="h-instances" {
                h2 #h-instances { "Control planes" }
                table {
                    thead { tr { th { "Instance" } th { "Node IP" } th { "Rendered revision" } th { "Cluster config" } th { "Seen" } } }
                    tbody {
                        @for i in &l.instances {
                            tr {
                                td { code { (i.instance_id) } }
                                td { (i.node_ip.as_deref().unwrap_or("—")) }
                                td { (i.rendered_revision) " " @if i.current { (badge("ok", "current")) } @else { (badge("warn", "behind")) } }
                                td { @if i.cluster_matches { (badge("ok", "matches")) } @else { (badge("bad", "differs")) } }
                                td { (html::time(&i.seen_at)) " " @if !i.alive { (badge("bad", "silent")) } }
                            }
                        }
                    }
                }
            }
        }
        p.live { "Refreshes every 5 s" }
    }
}

fn row(n: &NodeInfo) -> Markup {
    // A node without stats is the configured SFU (no Redis): its load is unknown, not zero.
    let stats = n.updated_at.is_some();
    let num = |v: i64| if stats { v.to_string() } else { "—".into() };
    // A stale node restarts with whatever is on disk; its last probe's reasons are moot.
    let restart = n.restart_required && n.fresh;
    html! {
        tr id=(format!("node:{}", n.id)) data-class=(n.class.as_str()) {
            td {
                code { (n.id) } br;
                span.hint { @if n.ip.is_empty() { "no IP" } @else { (n.ip) } }
            }
            td {
                (class_badge(n.class))
                // A fresh node was updated under 5 s ago; only a stale one's last word matters.
                @if n.class == NodeClass::Stale {
                    @if n.state != "unknown" { br; span.hint { "last said " (n.state) } }
                    @if stats { br; span.hint { "last update " (opt_time(n.updated_at.as_deref())) } }
                }
            }
            td { @if n.region.is_empty() { span.muted { "—" } } @else { (n.region) } }
            td {
                @if stats {
                    span.nowrap { (format!("{:.0}% CPU", n.cpu_load * 100.0)) }
                    br; span.hint { "of " (n.num_cpus) " CPUs" }
                } @else { span.muted { "—" } }
            }
            td.num { (num(n.num_rooms)) }
            td.num { (num(n.num_clients)) }
            td.num { (num(n.num_tracks_in)) " / " (num(n.num_tracks_out)) }
            td { (probed(n, n.runs_current_config, "yes", "no — restart")) }
            td { (probed(n, n.accepts_active_key, "yes", "no — restart")) }
            td {
                @if restart {
                    (badge("warn", "restart required"))
                    ul.reasons { @for r in &n.restart_reasons { li { (r) } } }
                }
                @if !n.problems.is_empty() {
                    ul.reasons { @for p in &n.problems { li { (p) } } }
                }
                @if !restart && n.problems.is_empty() { span.muted { "none" } }
            }
        }
    }
}

/// A probe's answer. Nodes that are not fresh are not probed: what the last probe said before
/// a node went stale no longer holds (node.list keeps it until the next observation).
fn probed(n: &NodeInfo, v: Option<bool>, yes: &str, no: &str) -> Markup {
    if !n.fresh {
        return html! { span.muted title="Only fresh nodes are probed" { "not probed" } };
    }
    tri(v, yes, no)
}

/// Counts by class of a node list (the same numbers as `status.fleet`).
pub fn summary_of(l: &NodeList) -> FleetSummary {
    let count = |c: NodeClass| l.nodes.iter().filter(|n| n.class == c).count();
    FleetSummary {
        source: l.source.clone(),
        redis_reachable: l.redis_reachable,
        redis_error: l.redis_error.clone(),
        live: count(NodeClass::Live),
        starting: count(NodeClass::Starting),
        draining: count(NodeClass::Draining),
        suspended: count(NodeClass::Suspended),
        stale: count(NodeClass::Stale),
        restart_required: l
            .nodes
            .iter()
            .filter(|n| n.restart_required)
            .map(|n| n.id.clone())
            .collect(),
        stale_nodes: l
            .nodes
            .iter()
            .filter(|n| n.class == NodeClass::Stale)
            .map(|n| n.id.clone())
            .collect(),
    }
}

/// "3 live · 1 stale" as badges: live always, the other classes when present.
pub fn counts(f: &FleetSummary) -> Markup {
    let others = [
        (NodeClass::Starting, f.starting),
        (NodeClass::Draining, f.draining),
        (NodeClass::Suspended, f.suspended),
        (NodeClass::Stale, f.stale),
    ];
    html! {
        span.counts {
            (count_badge(NodeClass::Live, f.live))
            @for (c, n) in others { @if n > 0 { " " (count_badge(c, n)) } }
        }
    }
}

fn count_badge(class: NodeClass, n: usize) -> Markup {
    let tone = match class {
        NodeClass::Live if n == 0 => "bad",
        NodeClass::Live => "ok",
        NodeClass::Starting => "info",
        NodeClass::Draining | NodeClass::Suspended => "warn",
        NodeClass::Stale => "bad",
    };
    badge(tone, &format!("{n} {}", class.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn node(id: &str, class: NodeClass) -> NodeInfo {
        let fresh = class != NodeClass::Stale;
        NodeInfo {
            id: id.into(),
            ip: "10.0.0.7".into(),
            region: "eu-west".into(),
            state: "serving".into(),
            class,
            fresh,
            updated_at: Some("2026-11-26T13:00:00Z".into()),
            started_at: Some("2026-11-26T12:00:00Z".into()),
            num_rooms: 3,
            num_clients: 12,
            num_tracks_in: 7,
            num_tracks_out: 30,
            cpu_load: 0.25,
            num_cpus: 4,
            url: "http://10.0.0.7:7880".into(),
            runs_current_config: fresh.then_some(true),
            accepts_active_key: fresh.then_some(true),
            restart_required: false,
            restart_reasons: vec![],
            problems: vec![],
            instance_id: None,
            rendered_revision: None,
        }
    }

    fn list(nodes: Vec<NodeInfo>) -> NodeList {
        NodeList {
            source: "redis".into(),
            redis_reachable: Some(true),
            redis_error: None,
            as_of: Some("2026-11-26T13:00:01Z".into()),
            nodes,
            instances: vec![],
        }
    }

    /// The text of the row of `id`, tags stripped.
    fn row_text(html: &str, id: &str) -> String {
        let at = html
            .find(&format!("id=\"node:{id}\""))
            .unwrap_or_else(|| panic!("no row {id}: {html}"));
        let start = at + html[at..].find('>').unwrap();
        let end = start + html[start..].find("</tr>").unwrap();
        let mut text = String::new();
        let mut tag = false;
        for c in html[start..end].chars() {
            match c {
                '<' => tag = true,
                '>' => {
                    tag = false;
                    text.push(' ')
                }
                c if !tag => text.push(c),
                _ => {}
            }
        }
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn one_row_per_node_with_class_load_checks_and_problems() {
        let mut lagging = node("ND_lag", NodeClass::Live);
        lagging.runs_current_config = Some(false);
        lagging.accepts_active_key = Some(false);
        lagging.restart_required = true;
        lagging.restart_reasons = vec!["active key K2 is not loaded by it".into()];
        let mut stale = node("ND_dead", NodeClass::Stale);
        stale.problems = vec!["stale: no update for 42 s".into()];
        // What its last probe said before it went stale is not shown as if it still held.
        stale.runs_current_config = Some(false);
        stale.restart_required = true;
        stale.restart_reasons = vec!["new key K3 is not loaded by the SFU yet".into()];
        let html = view(&Ok(list(vec![
            node("ND_ok", NodeClass::Live),
            lagging,
            stale,
        ])))
        .into_string();

        let ok = row_text(&html, "ND_ok");
        assert_eq!(
            ok,
            "ND_ok 10.0.0.7 live eu-west 25% CPU of 4 CPUs 3 12 7 / 30 yes yes none"
        );
        let lag = row_text(&html, "ND_lag");
        assert!(
            lag.contains(
                "no — restart no — restart restart required active key K2 is not loaded by it"
            ),
            "{lag}"
        );
        let dead = row_text(&html, "ND_dead");
        assert!(
            dead.contains("stale last said serving last update 2026-11-26 13:00:00 UTC"),
            "{dead}"
        );
        assert!(
            dead.ends_with("not probed not probed stale: no update for 42 s"),
            "{dead}"
        );
        assert!(html.contains(r#"data-class="stale""#));
        // The counts: live always, the others when present.
        let counts = &html[html.find("class=\"counts\"").unwrap()..];
        let counts = &counts[..counts.find("</h2>").unwrap()];
        assert_eq!(
            counts,
            r#"class="counts"><span class="badge ok">2 live</span> <span class="badge bad">1 stale</span></span>"#
        );
        assert!(!html.contains("Redis unreachable"));
    }

    #[test]
    fn redis_down_keeps_the_last_list_marked_as_of_when_it_was_read() {
        let mut l = list(vec![node("ND_a", NodeClass::Live)]);
        l.redis_reachable = Some(false);
        l.redis_error = Some("Redis at 127.0.0.1:6390: connection refused".into());
        l.as_of = Some("2026-11-26T12:59:00Z".into());
        let html = view(&Ok(l)).into_string();
        assert!(html.contains("Redis unreachable"), "{html}");
        assert!(html.contains("Redis at 127.0.0.1:6390: connection refused"));
        assert!(html.contains(
            r#"as of <time datetime="2026-11-26T12:59:00Z">2026-11-26 12:59:00 UTC</time>"#
        ));
        assert!(html.contains("Last list read, as of"), "{html}");
        assert!(row_text(&html, "ND_a").contains("live"));
    }

    #[test]
    fn without_redis_the_one_sfu_is_shown_without_made_up_load() {
        let mut one = node("config", NodeClass::Live);
        one.updated_at = None;
        one.region = String::new();
        let mut l = list(vec![one]);
        l.source = "config".into();
        l.redis_reachable = None;
        let html = view(&Ok(l)).into_string();
        assert!(html.contains("One SFU, no Redis"), "{html}");
        assert_eq!(
            row_text(&html, "config"),
            "config 10.0.0.7 live — — — — — / — yes yes none"
        );
    }

    #[test]
    fn a_failed_call_is_an_error_box_and_text_is_escaped() {
        let html = view(&Err(Error::MethodMissing {
            method: "node.list",
        }))
        .into_string();
        assert!(html.contains("Not available on this server"), "{html}");
        let mut evil = node("ND_<b>", NodeClass::Live);
        evil.problems = vec!["<script>alert(1)</script>".into()];
        let html = view(&Ok(list(vec![evil]))).into_string();
        assert!(!html.contains("<script>alert"), "{html}");
    }
}
