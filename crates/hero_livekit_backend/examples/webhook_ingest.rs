//! Webhook ingest benchmark, not shipped: 32 concurrent senders post distinct, pre-signed
//! events (signed as livekit-server signs them) to a running lk-backend and count the ones
//! answered 200, i.e. committed with synchronous=FULL.
//!
//! Usage: webhook_ingest <base-url>[,<base-url>...] <api-key> <secret> [events] [senders]
//!
//! With several base URLs (replicas behind a load balancer), the senders take turns: sender `n`
//! posts to URL `n mod count`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hero_livekit_api::timefmt::now_unix;
use hero_livekit_backend::webhook::sign;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bases: Vec<String> = args
        .get(1)
        .expect("base url")
        .split(',')
        .map(String::from)
        .collect();
    let (key, secret) = (args.get(2).expect("api key"), args.get(3).expect("secret"));
    let total: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(50_000);
    let senders: usize = args.get(5).and_then(|n| n.parse().ok()).unwrap_or(32);
    let run = now_unix();
    // Signed up front so the measurement is the backend, not the sender.
    let events: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..total)
            .map(|i| {
                let body = format!(
                    r#"{{"event":"participant_joined","room":{{"sid":"RM_bench{}","name":"bench-{}"}},"participant":{{"sid":"PA_{i}","identity":"user-{i}","joinedAt":"{run}"}},"id":"EV_{run}_{i}","createdAt":"{run}"}}"#,
                    i % 100,
                    i % 100
                )
                .into_bytes();
                let auth = sign(&body, key, secret, now_unix());
                (body, auth)
            })
            .collect(),
    );
    hero_livekit_api::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = vec![];
    for n in 0..senders {
        let (events, next, ok, client) = (events.clone(), next.clone(), ok.clone(), client.clone());
        let url = format!("{}/webhook", bases[n % bases.len()]);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, auth)) = events.get(i) else {
                    break;
                };
                let r = client
                    .post(&url)
                    .header("content-type", "application/webhook+json")
                    .header("authorization", auth)
                    .body(body.clone())
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
    let secs = start.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "webhook ingest: {ok}/{total} events committed in {secs:.2} s with {senders} senders \
         to {} replica(s) = {:.0} events/s",
        bases.len(),
        ok as f64 / secs
    );
}
