//! The Grafana dashboard (`config/grafana/hero_livekit.json`): it loads, picks its Prometheus
//! through a datasource variable, and every query names a metric that one of the three
//! exporters really serves — ours read from a live `/metrics` of the control plane and of
//! lk-backend, livekit-server's from its source.

use std::collections::BTreeSet;
use std::time::Duration;

use hero_livekit_testkit::http::{Request, rpc};
use hero_livekit_testkit::{Proc, Redis, Service, Site, free_port, sibling_bin, workspace_root};
use livekit_standin::{Options, StandIn};
use serde_json::Value;

/// livekit-server's own metrics, as exported (scale facts §9: LiveKit's
/// `pkg/telemetry/prometheus`, served by `promhttp.Handler()` on `prometheus.port`, whose default
/// registry also carries Go's process collector).
const LIVEKIT_SERVER: &[&str] = &[
    "livekit_room_total",
    "livekit_participant_total",
    "livekit_connection_total",
    "livekit_track_published_total",
    "livekit_track_subscribed_total",
    "livekit_participant_join_total",
    "livekit_packet_bytes",
    "livekit_packet_total",
    "process_cpu_seconds_total",
];

/// PromQL functions, aggregations and keywords: every other identifier in a query is a metric.
const PROMQL: &[&str] = &[
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "histogram_quantile",
    "by",
    "without",
    "topk",
    "bottomk",
    "label_values",
    "offset",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "clamp_min",
    "clamp_max",
    "abs",
];

/// The metric names a `/metrics` text exports: its samples, and each family's sample names
/// from its `# TYPE` line (a family with no sample yet still counts).
fn exported(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            match kind {
                "counter" => {
                    names.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for s in ["_bucket", "_sum", "_count"] {
                        names.insert(format!("{name}{s}"));
                    }
                }
                _ => {
                    names.insert(name.to_string());
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

/// The metric names a PromQL expression reads: identifiers outside label matchers, ranges,
/// strings and grouping clauses that are not PromQL's own words.
fn metrics_in(expr: &str) -> Vec<String> {
    let mut bare = String::new();
    let mut depth_brace = 0;
    let mut depth_bracket = 0;
    let mut in_string = false;
    for c in expr.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => depth_bracket += 1,
            ']' => depth_bracket -= 1,
            _ if depth_brace > 0 || depth_bracket > 0 => {}
            c => bare.push(c),
        }
    }
    // `by (a, b)` / `without (…)`: label names, not metrics.
    let mut cleaned = String::new();
    let mut rest = bare.as_str();
    while let Some(i) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        cleaned.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if word == "by" || word == "without" {
            let close = rest.find(')').expect("a closed grouping clause");
            rest = &rest[close + 1..];
            continue;
        }
        cleaned.push(' ');
        cleaned.push_str(word);
        cleaned.push(' ');
    }
    cleaned
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|w| !PROMQL.contains(w))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_query_parser_finds_metrics_and_skips_labels() {
    assert_eq!(
        metrics_in(
            r#"histogram_quantile(0.95, sum by (le, method) (rate(hero_livekit_rpc_duration_seconds_bucket{method!="x"}[$__rate_interval])))"#
        ),
        ["hero_livekit_rpc_duration_seconds_bucket"]
    );
    assert_eq!(
        metrics_in(
            r#"sum(livekit_room_total) / max by (node_id) (livekit_participant_total{job=~"$sfu_job"})"#
        ),
        ["livekit_room_total", "livekit_participant_total"]
    );
}

fn scrape(port: u16) -> String {
    let resp = Request::get("/metrics")
        .timeout(Duration::from_secs(5))
        .send_tcp(port)
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.text()
}

/// The control plane binary on a fleet (a private Redis, one stand-in node on 127.0.0.2) with its
/// metrics listener, and lk-backend, each driven so that every family it has shows: a family
/// with no sample yet is not in a scrape at all.
async fn live_exporters(site: &Site) -> (Vec<Proc>, StandIn, Redis, String, String) {
    let redis = Redis::start();
    let (metrics_port, sfu_port) = (free_port(), free_port());
    let mut server = Proc::spawn(
        site.command_at(sibling_bin(Service::Server.binary()))
            .args(["--livekit-url", &format!("http://127.0.0.2:{sfu_port}")])
            .args(["--sfu-port", &sfu_port.to_string()])
            .args(["--redis-address", &format!("127.0.0.1:{}", redis.port())])
            .args(["--backend-port", &site.backend_port.to_string()])
            .args(["--backend-bind", "127.0.0.1"])
            .args(["--livekit-timeout", "2s"])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]),
    );
    site.wait_ready(&mut server, Duration::from_secs(30));
    let mut doc: Value = serde_saphyr::from_str(&site.read("livekit.yaml")).unwrap();
    doc["rtc"]["node_ip"] = "127.0.0.2".into();
    let file = site.dir().join("node.yaml");
    std::fs::write(&file, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    let node = StandIn::start_with(&file, Options::port(sfu_port))
        .await
        .unwrap();
    assert!(node.node_id().is_some(), "the node registered in Redis");
    // `status` observes the fleet now (the timer would within 5 s).
    rpc(&site.socket(), "status", serde_json::json!({})).unwrap();
    let ours = scrape(metrics_port);

    let backend = site.backend();
    site.wait_backend(Duration::from_secs(20));
    let refused = Request::post("/webhook")
        .body("{}")
        .send_tcp(site.backend_port)
        .unwrap();
    assert_eq!(refused.status, 401);
    let backend_text = scrape(site.backend_port);
    (vec![server, backend], node, redis, ours, backend_text)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grafana_dashboard_loads_and_queries_only_metrics_that_exist() {
    let path = workspace_root().join("config/grafana/hero_livekit.json");
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(dash["title"], "hero_livekit");
    assert!(dash["uid"].as_str().is_some_and(|u| !u.is_empty()));
    // Importable as is: the Prometheus is a variable, never a uid of someone's Grafana.
    let vars = dash["templating"]["list"].as_array().unwrap();
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(ds["query"], "prometheus");
    let ds_ref = format!("${{{}}}", ds["name"].as_str().unwrap());

    // Ours, from live exporters: the control plane with its metrics listener, and lk-backend.
    let site = Site::new();
    let (_procs, _node, _redis, ours, backend) = live_exporters(&site).await;
    let mut known = exported(&ours);
    assert!(known.contains("hero_livekit_node_cpu_load"), "{ours}");
    let only_ours = known.len();
    known.extend(exported(&backend));
    assert!(known.len() > only_ours, "lk-backend exported nothing new");
    known.extend(LIVEKIT_SERVER.iter().map(|s| s.to_string()));

    let mut queries = Vec::new();
    let mut ids = BTreeSet::new();
    for p in dash["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_i64().unwrap()), "duplicate panel id");
        assert!(p["gridPos"]["w"].as_i64().is_some(), "{}", p["title"]);
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], ds_ref.as_str(), "{}", p["title"]);
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", p["title"]);
        for t in targets {
            assert_eq!(t["datasource"]["uid"], ds_ref.as_str(), "{}", p["title"]);
            queries.push((
                p["title"].to_string(),
                t["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    for v in vars.iter().filter(|v| v["type"] == "query") {
        // `label_values(metric, label)`: the metric is the selector before the comma.
        let q = v["query"]["query"].as_str().unwrap();
        let selector = q
            .strip_prefix("label_values(")
            .and_then(|r| r.split_once(','))
            .map_or(q, |(m, _)| m);
        queries.push((v["name"].to_string(), selector.to_string()));
    }
    let mut used = BTreeSet::new();
    for (title, expr) in &queries {
        let names = metrics_in(expr);
        assert!(!names.is_empty(), "{title}: no metric in {expr}");
        for n in names {
            assert!(
                known.contains(&n),
                "{title}: {n} is exported by neither the control plane, lk-backend nor livekit-server ({expr})"
            );
            used.insert(n);
        }
    }
    // The panels the issue asks for are there.
    for needed in [
        "lk_backend_tokens_minted_total",
        "lk_backend_webhooks_received_total",
        "lk_backend_webhooks_duplicate_total",
        "lk_backend_webhooks_rejected_total",
        "livekit_room_total",
        "livekit_participant_total",
        "hero_livekit_node_cpu_load",
        "hero_livekit_restart_required",
        "hero_livekit_rpc_duration_seconds_bucket",
    ] {
        assert!(used.contains(needed), "no panel reads {needed}");
    }
}
