//! `kill -9` at random points of boot and of `keys.rotate`, 200 times (at least 100, at most
//! about 90 s). After every kill: livekit.yaml and backend.env are absent (only before the first
//! complete boot) or complete, parseable files; the next boot is ready; the active key never
//! changes (no SFU runs, so no rotation can complete); no key is ever lost or changes state
//! behind our back. A fresh home every 25 iterations, so first boots are killed too.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hero_livekit_api::env_file::{self, BackendEnv};
use serde_json::{Value, json};

use crate::common::*;

const ITERATIONS: usize = 200;
const MIN_ITERATIONS: usize = 100;
const BUDGET: Duration = Duration::from_secs(90);
const PER_HOME: usize = 25;

/// What one home has shown us so far.
#[derive(Default)]
struct Ledger {
    /// A boot reached ready: from now on both files must always exist.
    booted_once: bool,
    active: Option<String>,
    /// Every key ever listed, with the state we last saw or caused.
    seen: BTreeMap<String, String>,
}

#[derive(Default)]
struct Tally {
    boot_kills: usize,
    rotate_kills: usize,
    rotations_acknowledged: usize,
    rotations_committed_unacknowledged: usize,
    files_absent: usize,
    boots: usize,
    boot_time: Duration,
}

/// The files as a killed server left them: absent, or complete and consistent with the keys.
fn check_files(home: &Path, ledger: &Ledger, tally: &mut Tally, at: &str) {
    let read = |name: &str| match std::fs::read_to_string(home.join(name)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{at}: reading {name}: {e}"),
    };
    match read("livekit.yaml") {
        None => {
            assert!(
                !ledger.booted_once,
                "{at}: livekit.yaml vanished after a complete boot"
            );
            tally.files_absent += 1;
        }
        Some(text) => {
            let doc = hero_livekit_server::livekit_schema::check_yaml(&text)
                .unwrap_or_else(|e| panic!("{at}: partial or invalid livekit.yaml ({e}):\n{text}"));
            if let Some(active) = &ledger.active {
                assert!(
                    doc.keys.as_ref().is_some_and(|k| k.contains_key(active)),
                    "{at}: livekit.yaml lost the active key {active}"
                );
            }
        }
    }
    match read("backend.env") {
        None => assert!(
            !ledger.booted_once,
            "{at}: backend.env vanished after a complete boot"
        ),
        Some(text) => {
            let vars = env_file::parse(&text)
                .unwrap_or_else(|e| panic!("{at}: backend.env does not parse ({e})"));
            let env = BackendEnv::from_vars(&vars)
                .unwrap_or_else(|e| panic!("{at}: partial backend.env ({e})"));
            if let Some(active) = &ledger.active {
                assert_eq!(
                    &env.livekit_api_key, active,
                    "{at}: backend.env signs with another key"
                );
            }
        }
    }
}

/// Boots the server after a kill and checks the key ledger against `keys.list`.
fn verify_boot(site: &Site, ledger: &mut Ledger, tally: &mut Tally, at: &str) -> Proc {
    let start = Instant::now();
    let mut server = site.server();
    site.wait_ready(&mut server, Duration::from_secs(30));
    tally.boots += 1;
    tally.boot_time += start.elapsed();
    ledger.booted_once = true;
    let list = rpc(
        &site.socket(),
        "keys.list",
        json!({"include_revoked": true}),
    )
    .unwrap_or_else(|e| panic!("{at}: keys.list: {e}"));
    let listed: BTreeMap<String, String> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["api_key"].as_str().unwrap().to_string(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let active: Vec<&String> = listed
        .iter()
        .filter(|(_, s)| *s == "active")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(active.len(), 1, "{at}: exactly one active key: {listed:?}");
    match &ledger.active {
        Some(a) => assert_eq!(
            a, active[0],
            "{at}: the active key changed without a rotation"
        ),
        None => ledger.active = Some(active[0].clone()),
    }
    for (key, state) in &ledger.seen {
        assert_eq!(
            listed.get(key),
            Some(state),
            "{at}: key {key} was {state}, now {:?}",
            listed.get(key)
        );
    }
    for (key, state) in &listed {
        if !ledger.seen.contains_key(key) {
            // Only a rotation whose answer the kill swallowed may add a key (or the first boot).
            if state == "pending" {
                tally.rotations_committed_unacknowledged += 1;
            } else {
                assert_eq!(
                    Some(key),
                    ledger.active.as_ref(),
                    "{at}: unexpected new key {key} ({state})"
                );
            }
            ledger.seen.insert(key.clone(), state.clone());
        }
    }
    // The live files agree with the database.
    check_files(&site.home(), ledger, tally, at);
    server
}

#[test]
fn kill_9_during_boot_and_rotation_never_leaves_a_partial_file_or_loses_a_key() {
    let mut rng = Rng::from_env("crash safety");
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut site = Site::new();
    let mut ledger = Ledger::default();
    let mut running: Option<Proc> = None;
    let mut i = 0;
    while i < ITERATIONS && (i < MIN_ITERATIONS || started.elapsed() < BUDGET) {
        if i > 0 && i % PER_HOME == 0 {
            if let Some(mut s) = running.take() {
                s.kill();
            }
            site = Site::new();
            ledger = Ledger::default();
        }
        let at = format!("iteration {i}");
        // The first iteration of a home kills a first boot; then boot and rotation kills mix.
        let during_boot = running.is_none() || rng.upto(1) == 0;
        if during_boot {
            if let Some(mut s) = running.take() {
                s.kill();
                check_files(&site.home(), &ledger, &mut tally, &at);
            }
            // Anywhere from spawn to a little past the typical boot.
            let typical = match tally.boots {
                0 => 150,
                n => (tally.boot_time.as_millis() as u64 / n as u64).max(20),
            };
            let delay = rng.upto(typical * 3 / 2);
            let mut server = site.server();
            std::thread::sleep(Duration::from_millis(delay));
            server.kill();
            tally.boot_kills += 1;
        } else {
            let mut server = running.take().unwrap();
            let socket = site.socket();
            // Only one rotation may be pending: revoke the previous one (which rewrites both
            // files too) so the next rotation has work to do.
            let pending: Vec<String> = ledger
                .seen
                .iter()
                .filter(|(_, s)| *s == "pending")
                .map(|(k, _)| k.clone())
                .collect();
            for key in pending {
                let r = rpc(&socket, "keys.revoke", json!({"api_key": key}))
                    .unwrap_or_else(|e| panic!("{at}: keys.revoke: {e}"));
                assert_eq!(r["state"], "revoked", "{at}");
                ledger.seen.insert(key, "revoked".into());
            }
            let (tx, rx) = mpsc::channel();
            let sock = socket.clone();
            let caller = std::thread::spawn(move || {
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "keys.rotate", "params": {"grace_s": 3600}});
                let answer = Request::post("/")
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send_unix(&sock)
                    .ok()
                    .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok());
                let _ = tx.send(answer);
            });
            std::thread::sleep(Duration::from_millis(rng.upto(30)));
            server.kill();
            caller.join().unwrap();
            if let Some(answer) = rx.recv().unwrap() {
                let key = answer["result"]["api_key"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: keys.rotate answered {answer}"));
                assert_eq!(answer["result"]["state"], "pending");
                ledger.seen.insert(key.to_string(), "pending".into());
                tally.rotations_acknowledged += 1;
            }
            tally.rotate_kills += 1;
        }
        check_files(&site.home(), &ledger, &mut tally, &at);
        running = Some(verify_boot(&site, &mut ledger, &mut tally, &at));
        i += 1;
    }
    if let Some(mut s) = running.take() {
        s.kill();
    }
    let t = &tally;
    println!(
        "crash safety: {i} iterations in {:.1}s: {} kills during boot, {} during keys.rotate \
         ({} rotations answered before the kill, {} committed but unanswered); files absent after \
         {} kills (all before a first complete boot); {} boots to ready, {:.0} ms each on average",
        started.elapsed().as_secs_f64(),
        t.boot_kills,
        t.rotate_kills,
        t.rotations_acknowledged,
        t.rotations_committed_unacknowledged,
        t.files_absent,
        t.boots,
        t.boot_time.as_millis() as f64 / t.boots.max(1) as f64,
    );
    assert!(i >= MIN_ITERATIONS, "only {i} iterations");
    assert!(t.boot_kills > 0 && t.rotate_kills > 0);
}
