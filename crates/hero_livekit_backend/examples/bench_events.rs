//! Events store benchmark, not shipped (issue 15): loads synthetic but valid webhook events
//! (1,000 rooms, 200,000 participants, 30 days; joins and leaves as livekit-server sends them)
//! straight through the store's batch path, then serves them with lk-backend and measures,
//! at a small and a large size in the same run: `/api/events?room=R` first page and a page
//! 1,000 deep, `/api/sessions?room=R`, each `/api/stats/*` series over 30 days, the database
//! size per million events, and webhook ingest (32 senders) with and without a retention
//! prune running.
//!
//! Usage: bench_events <work dir> [large events, default 10000000] [small, default 100000]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hero_livekit_api::env_file::BackendEnv;
use hero_livekit_api::timefmt::now_unix;
use hero_livekit_backend::config::Config;
use hero_livekit_backend::store::{EventStore, NewEvent};
use hero_livekit_backend::webhook::sign;

const ROOMS: u64 = 1000;
const USERS: u64 = 200_000;
const DAYS: i64 = 30;
const KEY: &str = "APIbenchkey";
const SECRET: &str = "benchsecret0123456789abcdefghijklmnopqrstuvwxyz";
const TOKEN: &str = "benchtoken0123456789abcdefghijklmnopqrstuvwxyz";
const HOT: &str = "room-hot";
const PAGE: usize = 100;
const RUNS: usize = 200;

/// xorshift64*: deterministic and good enough to spread synthetic events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Session lengths: (shortest, longest, weight).
const LENGTHS: [(i64, i64, f64); 6] = [
    (20, 60, 3.0),
    (60, 300, 3.0),
    (300, 900, 2.0),
    (900, 3600, 1.0),
    (3600, 4 * 3600, 0.5),
    (4 * 3600, 6 * 3600, 0.1),
];

fn length(rng: &mut Rng) -> i64 {
    let total: f64 = LENGTHS.iter().map(|l| l.2).sum();
    let mut x = rng.unit() * total;
    for (lo, hi, w) in LENGTHS {
        if x < w {
            return lo + rng.below((hi - lo) as u64) as i64;
        }
        x -= w;
    }
    60
}

fn room_name(room: u64) -> String {
    if room == ROOMS {
        HOT.into()
    } else {
        format!("room-{room}")
    }
}

/// One webhook event as livekit-server sends it (protojson).
fn event(
    tag: &str,
    seq: u64,
    kind: &str,
    room: u64,
    user: Option<u64>,
    at: i64,
    joined: i64,
) -> NewEvent {
    let name = room_name(room);
    let participant = user.map(|u| {
        format!(
            r#","participant":{{"sid":"PA_{u}_{joined}","identity":"user-{u}","state":"ACTIVE","joinedAt":"{joined}","name":"User {u}"}}"#
        )
    });
    let id = format!("EV_{tag}_{seq}");
    let body = format!(
        r#"{{"event":"{kind}","room":{{"sid":"RM_{room}","name":"{name}","emptyTimeout":300,"creationTime":"{}"}}{},"id":"{id}","createdAt":"{at}"}}"#,
        at - 5,
        participant.unwrap_or_default()
    );
    NewEvent {
        event_id: id,
        event: kind.into(),
        room_name: Some(name),
        room_sid: Some(format!("RM_{room}")),
        participant_identity: user.map(|u| format!("user-{u}")),
        participant_sid: user.map(|u| format!("PA_{u}_{joined}")),
        created_at: at,
        received_at: at,
        signing_key: KEY.into(),
        body: body.into_bytes(),
    }
}

/// Loads `n` events over the 30 days before `end`, `hot` of them (about) in room R.
async fn load(store: &EventStore, tag: &str, n: u64, hot: u64, end: i64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n);
    let start = end - DAYS * 86_400;
    let interval = (end - start) as f64 / (n as f64 / 2.0);
    // Pending leaves: (time, room, user, joined).
    let mut leaves: BinaryHeap<Reverse<(i64, u64, u64, i64)>> = BinaryHeap::new();
    let mut started = vec![false; ROOMS as usize + 1];
    let mut batch: Vec<NewEvent> = Vec::with_capacity(5000);
    let (mut seq, mut k) = (0u64, 0u64);
    let t0 = Instant::now();
    let empty = Default::default();
    while seq < n {
        let at = start + (k as f64 * interval) as i64;
        k += 1;
        while let Some(Reverse((t, room, user, joined))) = leaves.peek().copied() {
            if t > at || seq >= n {
                break;
            }
            leaves.pop();
            let kind = if rng.below(10) == 0 {
                "participant_connection_aborted"
            } else {
                "participant_left"
            };
            batch.push(event(tag, seq, kind, room, Some(user), t, joined));
            seq += 1;
        }
        if seq >= n {
            break;
        }
        let room = if rng.unit() < hot as f64 / n as f64 {
            ROOMS
        } else {
            rng.below(ROOMS)
        };
        if !started[room as usize] {
            started[room as usize] = true;
            batch.push(event(tag, seq, "room_started", room, None, at, at));
            seq += 1;
        }
        let user = rng.below(USERS);
        batch.push(event(
            tag,
            seq,
            "participant_joined",
            room,
            Some(user),
            at,
            at,
        ));
        seq += 1;
        let until = at + length(&mut rng);
        if until < end {
            leaves.push(Reverse((until, room, user, at)));
        }
        if batch.len() >= 5000 {
            let refs: Vec<&NewEvent> = batch.iter().collect();
            store.insert_batch(&refs, &empty).await.unwrap();
            batch.clear();
            if seq % 1_000_000 < 5000 {
                eprintln!(
                    "  {tag}: {seq} events loaded ({:.0} s)",
                    t0.elapsed().as_secs_f64()
                );
            }
        }
    }
    let refs: Vec<&NewEvent> = batch.iter().collect();
    store.insert_batch(&refs, &empty).await.unwrap();
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

struct Figures {
    rows: Vec<(String, f64, f64)>,
    mb_per_million: f64,
    ingest: f64,
    ingest_pruning: f64,
    pruned: u64,
    prune_s: f64,
}

async fn time_get(client: &reqwest::Client, url: &str) -> (f64, f64) {
    let mut d = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let r = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        r.bytes().await.unwrap();
        d.push(t.elapsed());
    }
    (pct(&mut d, 0.5), pct(&mut d, 0.99))
}

/// Posts signed participant joins with 32 senders until `stop`; returns events/s.
async fn ingest(base: String, tag: String, stop: Arc<AtomicBool>, min: Duration) -> f64 {
    let client = reqwest::Client::new();
    let ok = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = vec![];
    for _ in 0..32 {
        let (client, ok, next, stop) = (client.clone(), ok.clone(), next.clone(), stop.clone());
        let (url, tag) = (format!("{base}/webhook"), tag.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) || t0.elapsed() < min {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let now = now_unix();
                let body = format!(
                    r#"{{"event":"participant_joined","room":{{"sid":"RM_live{}","name":"live-{}"}},"participant":{{"sid":"PA_{tag}_{i}","identity":"live-{i}","joinedAt":"{now}"}},"id":"EV_{tag}_{i}","createdAt":"{now}"}}"#,
                    i % 100,
                    i % 100
                );
                let auth = sign(body.as_bytes(), KEY, SECRET, now);
                let r = client
                    .post(&url)
                    .header("content-type", "application/webhook+json")
                    .header("authorization", auth)
                    .body(body)
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status() == 200) {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    ok.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64()
}

async fn measure(dir: &Path, tag: &str, n: u64, hot: u64) -> Figures {
    let db = dir.join(format!("{tag}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite://{}", db.display());
    let end = now_unix() - 120;
    let store = EventStore::open(&url).await.unwrap();
    let t = Instant::now();
    load(&store, tag, n, hot, end).await;
    eprintln!(
        "{tag}: {n} events loaded in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    // Size with the WAL folded in.
    store.checkpoint().await.unwrap();
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    let count = store.count().await.unwrap();
    let mb_per_million = bytes as f64 / 1e6 / (count as f64 / 1e6);

    // lk-backend on this database.
    let home = dir.join(format!("{tag}-home"));
    std::fs::create_dir_all(&home).unwrap();
    let env = BackendEnv {
        livekit_url: "http://127.0.0.1:9".into(),
        livekit_public_url: "ws://127.0.0.1:7880".into(),
        livekit_api_key: KEY.into(),
        livekit_api_secret: SECRET.into(),
        livekit_webhook_keys: vec![(KEY.into(), SECRET.into())],
        database_url: url.clone(),
        port: 8081,
        bind: "127.0.0.1".into(),
        backend_api_token: TOKEN.into(),
        token_endpoint_token: TOKEN.into(),
        token_ttl_s: 3600,
        token_max_ttl_s: 86400,
        cors_allowed_origins: vec![],
    };
    let env_path = home.join("backend.env");
    std::fs::write(&env_path, env.render()).unwrap();
    let mut config = Config::from_file(env_path, Default::default()).unwrap();
    // The benchmark prunes on purpose, below.
    config.prune_interval = Duration::from_secs(86_400 * 365);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hero_livekit_backend::run(config, listener, async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    while client.get(format!("{base}/health")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut rows = vec![];
    let range = format!("from={}&to={end}", end - DAYS * 86_400);
    // The cursor of the page 1,000 deep, walked as a client would (the small database has
    // fewer pages: its deepest one).
    let (mut cursor, mut depth) = (None::<String>, 0);
    while depth < 1000 {
        let q = cursor
            .as_ref()
            .map(|c| format!("&before={c}"))
            .unwrap_or_default();
        let v: serde_json::Value = client
            .get(format!("{base}/api/events?room={HOT}&limit={PAGE}{q}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match v["next"].as_str() {
            Some(n) => {
                cursor = Some(n.to_string());
                depth += 1;
            }
            None => break,
        }
    }
    let deep = (
        format!(
            "/api/events?room={HOT}&before={}",
            cursor.unwrap_or_default()
        ),
        if depth == 1000 {
            "1,000 pages deep".to_string()
        } else {
            format!("deepest page ({})", depth + 1)
        },
    );
    let queries = [
        (
            "GET /api/events?room=R, first page".to_string(),
            format!("/api/events?room={HOT}"),
        ),
        (format!("GET /api/events?room=R, {}", deep.1), deep.0),
        (
            "GET /api/sessions?room=R".into(),
            format!("/api/sessions?room={HOT}"),
        ),
        (
            "stats: participants, 30 d".into(),
            format!("/api/stats/participants?{range}"),
        ),
        (
            "stats: participants of R, 30 d".into(),
            format!("/api/stats/participants?{range}&room={HOT}"),
        ),
        (
            "stats: participant_minutes, 30 d".into(),
            format!("/api/stats/participant_minutes?{range}"),
        ),
        (
            "stats: session_durations, 30 d".into(),
            format!("/api/stats/session_durations?{range}"),
        ),
        (
            "stats: webhooks, 30 d".into(),
            format!("/api/stats/webhooks?{range}"),
        ),
    ];
    for (label, path) in queries {
        let (p50, p99) = time_get(&client, &format!("{base}{path}")).await;
        rows.push((label, p50, p99));
    }

    // Ingest without, then during, a prune of the oldest tenth (1 million rows at 10 M).
    let stop = Arc::new(AtomicBool::new(true));
    let ingest_plain = ingest(
        base.clone(),
        format!("{tag}a"),
        stop,
        Duration::from_secs(10),
    )
    .await;
    let to_prune = (n / 10).min(1_000_000) as i64;
    let cutoff = store
        .nth_oldest_received(to_prune)
        .await
        .unwrap()
        .expect("events to prune");
    let stop = Arc::new(AtomicBool::new(false));
    let sending = tokio::spawn(ingest(
        base.clone(),
        format!("{tag}b"),
        stop.clone(),
        Duration::ZERO,
    ));
    let t = Instant::now();
    let pruned = store.prune(cutoff).await.unwrap();
    let prune_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let ingest_pruning = sending.await.unwrap();

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    store.close().await;
    Figures {
        rows,
        mb_per_million,
        ingest: ingest_plain,
        ingest_pruning,
        pruned,
        prune_s,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("work dir"));
    let large: u64 = args
        .get(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000);
    let small: u64 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    std::fs::create_dir_all(&dir).unwrap();
    hero_livekit_api::tls::install_crypto_provider();
    // Room R holds 10 % of the small database and 1 % (100,000 events at 10 M) of the large.
    let s = measure(&dir, "small", small, small / 10).await;
    let l = measure(&dir, "large", large, large / 100).await;
    let (sn, ln) = (human(small), human(large));
    println!(
        "\n== events store: {sn} vs {ln} events (SQLite, release build, {} cores) ==",
        cores()
    );
    println!(
        "| query | p50 at {sn} | p99 at {sn} | p50 at {ln} | p99 at {ln} | p99 ratio | aim p99 < 20 ms, ratio < 3× |"
    );
    println!("|---|---|---|---|---|---|---|");
    for ((small_label, sp50, sp99), (large_label, lp50, lp99)) in s.rows.iter().zip(&l.rows) {
        // The deep page's label says how deep each size could go.
        let label = if small_label == large_label {
            small_label.clone()
        } else {
            format!("{small_label} / {large_label}")
        };
        let ratio = lp99 / sp99;
        let met = if *lp99 < 20.0 && ratio < 3.0 {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "| {label} | {sp50:.2} ms | {sp99:.2} ms | {lp50:.2} ms | {lp99:.2} ms | {ratio:.2}× | {met} |"
        );
    }
    println!(
        "| database size per million events | {:.0} MB | | {:.0} MB | | | |",
        s.mb_per_million, l.mb_per_million
    );
    for (f, n) in [(&s, &sn), (&l, &ln)] {
        let share = f.ingest_pruning / f.ingest * 100.0;
        println!(
            "| webhook ingest at {n}, 32 senders | {:.0} events/s | | during a prune of {} rows ({:.1} s): {:.0} events/s | | {share:.0} % | {} (aim ≥ 80 %) |",
            f.ingest,
            f.pruned,
            f.prune_s,
            f.ingest_pruning,
            if share >= 80.0 { "met" } else { "MISSED" }
        );
    }
}

fn human(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{} M", n / 1_000_000)
    } else {
        format!("{} k", n / 1000)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
