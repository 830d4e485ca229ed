//! One conformance suite for the control plane's storage boundary, run on both engines: the
//! same operations, the same answers, on the embedded SQLite file and on a real PostgreSQL.

use hero_livekit_api::types::KeyState;
use hero_livekit_server::Store;
use hero_livekit_testkit::Postgres;

const NOW: i64 = 1_800_000_000;

async fn on_both(case: impl AsyncFn(Store)) {
    let dir = hero_livekit_testkit::temp_dir();
    case(
        Store::open(&format!(
            "sqlite://{}",
            dir.path().join("server.db").display()
        ))
        .await
        .unwrap(),
    )
    .await;
    let pg = Postgres::start();
    case(Store::open(&pg.create_database()).await.unwrap()).await;
}

async fn state_of(store: &Store, key: &str) -> KeyState {
    store.key(key).await.unwrap().unwrap().state
}

async fn first_key(store: &Store) -> String {
    store
        .ensure_active_key(NOW)
        .await
        .unwrap()
        .expect("minted on an empty store")
}

#[tokio::test]
async fn the_first_key_is_minted_once_and_every_change_raises_the_revision() {
    on_both(async |store: Store| {
        assert_eq!(store.revision().await.unwrap(), 0);
        let k = first_key(&store).await;
        assert_eq!(store.ensure_active_key(NOW).await.unwrap(), None);
        assert_eq!(store.revision().await.unwrap(), 1);
        let rows = store.keys().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].api_key.as_str(), rows[0].state),
            (k.as_str(), KeyState::Active)
        );
        assert_eq!(rows[0].activated_at, Some(NOW));
        assert!(rows[0].secret.expose().len() >= 43);
        // A generated secret is minted once: the first writer wins, a reread changes nothing.
        let a = store.ensure_secret("canary", NOW).await.unwrap();
        let b = store.ensure_secret("canary", NOW).await.unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(store.revision().await.unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_rotation_goes_pending_active_retiring_retired_revoked() {
    on_both(async |store: Store| {
        let old = first_key(&store).await;
        let new = store.insert_pending(600, NOW).await.unwrap();
        assert_eq!(state_of(&store, &new).await, KeyState::Pending);
        let err = store
            .insert_pending(600, NOW)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already in progress") && err.contains(&new),
            "{err}"
        );

        let (retiring, grace) = store
            .promote_pending(&new, NOW + 10, 3600)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((retiring, grace), (vec![old.clone()], 600));
        assert_eq!(
            store.promote_pending(&new, NOW + 11, 3600).await.unwrap(),
            None,
            "conditional"
        );
        assert_eq!(state_of(&store, &new).await, KeyState::Active);
        let o = store.key(&old).await.unwrap().unwrap();
        assert_eq!(
            (o.state, o.retire_at),
            (KeyState::Retiring, Some(NOW + 610))
        );

        assert!(store.retire_due(NOW + 609).await.unwrap().is_empty());
        assert_eq!(
            store.retire_due(NOW + 610).await.unwrap(),
            vec![old.clone()]
        );
        assert!(store.revoke_retired(&old, NOW + 700).await.unwrap());
        assert!(
            !store.revoke_retired(&old, NOW + 701).await.unwrap(),
            "conditional"
        );
        let o = store.key(&old).await.unwrap().unwrap();
        assert_eq!(
            (o.state, o.revoked_at),
            (KeyState::Revoked, Some(NOW + 700))
        );
    })
    .await;
}

#[tokio::test]
async fn revoking_and_importing_keep_one_signer() {
    on_both(async |store: Store| {
        let first = first_key(&store).await;
        let err = store.revoke(&first, NOW).await.unwrap_err().to_string();
        assert!(err.contains("only key that can sign"), "{err}");
        assert!(
            store
                .revoke("APInope", NOW)
                .await
                .unwrap_err()
                .to_string()
                .contains("no key APInope")
        );
        let pending = store.insert_pending(60, NOW).await.unwrap();
        assert_eq!(
            store.revoke(&first, NOW).await.unwrap(),
            hero_livekit_server::store_api::Revoked::Promoted(pending.clone())
        );
        assert_eq!(state_of(&store, &pending).await, KeyState::Active);
        assert!(
            store
                .revoke(&first, NOW)
                .await
                .unwrap_err()
                .to_string()
                .contains("already revoked")
        );

        store
            .import_active("APIimported_1", &"s".repeat(40), NOW, 100)
            .await
            .unwrap();
        assert_eq!(state_of(&store, "APIimported_1").await, KeyState::Active);
        assert_eq!(state_of(&store, &pending).await, KeyState::Retiring);
        let dup = store
            .import_active("APIimported_1", &"s".repeat(40), NOW, 100)
            .await;
        assert!(dup.unwrap_err().to_string().contains("already exists"));
        assert_eq!(
            store
                .key("APIimported_1")
                .await
                .unwrap()
                .unwrap()
                .secret
                .expose(),
            "s".repeat(40)
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_by_time_and_method_newest_first() {
    on_both(async |store: Store| {
        for (at, method) in [
            (10, "keys.rotate"),
            (20, "token.create"),
            (30, "keys.rotate"),
        ] {
            store
                .record_audit(hero_livekit_server::store_api::NewAudit {
                    at,
                    method,
                    peer_uid: Some(1000),
                    peer_pid: Some(42),
                    params: "{\"grace_s\":60}".into(),
                    outcome: "ok",
                })
                .await
                .unwrap();
        }
        let all = store.audit(i64::MIN, None, 10).await.unwrap();
        assert_eq!(
            all.iter().map(|a| a.at).collect::<Vec<_>>(),
            vec![30, 20, 10]
        );
        let rot = store.audit(15, Some("keys.rotate"), 10).await.unwrap();
        assert_eq!(rot.len(), 1);
        assert_eq!(
            (rot[0].peer_uid, rot[0].peer_pid, rot[0].outcome.as_str()),
            (Some(1000), Some(42), "ok")
        );
        assert_eq!(store.audit(i64::MIN, None, 2).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn instances_are_recorded_and_updated_in_place() {
    on_both(async |store: Store| {
        let mut i = hero_livekit_server::store_api::InstanceRecord {
            instance_id: "host-a:/var/lib/a".into(),
            host: "host-a".into(),
            home: "/var/lib/a".into(),
            node_ip: Some("10.0.0.2".into()),
            rendered_rev: 3,
            cluster_sha256: "abc".into(),
            rendered_at: NOW,
            seen_at: NOW,
        };
        store.record_instance(&i).await.unwrap();
        i.rendered_rev = 4;
        i.seen_at = NOW + 5;
        store.record_instance(&i).await.unwrap();
        assert_eq!(store.instances().await.unwrap(), vec![i]);
    })
    .await;
}

#[tokio::test]
async fn a_backup_is_a_private_copy_or_the_exact_pg_dump_command() {
    let dir = hero_livekit_testkit::temp_dir();
    let sqlite = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("server.db").display()
    ))
    .await
    .unwrap();
    let k = first_key(&sqlite).await;
    let copy = dir.path().join("copy.db");
    sqlite.backup_to(&copy).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let restored = Store::open(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    assert_eq!(
        restored.key(&k).await.unwrap().unwrap().state,
        KeyState::Active
    );

    let pg = Postgres::start();
    let url = pg.create_database();
    let store = Store::open(&url).await.unwrap();
    let err = store
        .backup_to(&dir.path().join("pg.dump"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pg_dump --format=custom") && err.contains("pg.dump"),
        "{err}"
    );
    assert!(err.contains(&format!("--port={}", pg.port())), "{err}");
}

/// Two instances racing to promote the same pending key: exactly one does it, the other sees
/// it already done; the active key is retired once.
#[tokio::test]
async fn two_instances_promoting_at_once_make_one_transition() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let (a, b) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    let old = first_key(&a).await;
    let new = a.insert_pending(60, NOW).await.unwrap();
    let (ra, rb) = tokio::join!(
        a.promote_pending(&new, NOW, 60),
        b.promote_pending(&new, NOW, 60)
    );
    let done: Vec<_> = [ra.unwrap(), rb.unwrap()].into_iter().flatten().collect();
    assert_eq!(done, vec![(vec![old.clone()], 60)]);
    let rows = b.keys().await.unwrap();
    let states: Vec<KeyState> = rows.iter().map(|k| k.state).collect();
    assert_eq!(states.iter().filter(|s| **s == KeyState::Active).count(), 1);
    assert_eq!(
        a.key(&old).await.unwrap().unwrap().state,
        KeyState::Retiring
    );
    // Two instances booting on an empty database mint one key.
    let url = pg.create_database();
    let (a, b) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    let (x, y) = tokio::join!(a.ensure_active_key(NOW), b.ensure_active_key(NOW));
    assert_eq!([x.unwrap(), y.unwrap()].iter().flatten().count(), 1);
    assert_eq!(a.keys().await.unwrap().len(), 1);
}

/// SIGTERM's path on PostgreSQL completes: the lifecycle election gives its pooled connection
/// back, so closing the pool does not wait forever (the stop fails the test after 30 s).
#[tokio::test]
async fn a_server_on_postgresql_stops_gracefully() {
    let pg = Postgres::start();
    let url = pg.create_database();
    let app = crate::helpers::spawn_with(|s| s.database_url = Some(url)).await;
    app.status().await;
    app.stop().await;
}
