use hero_livekit_testkit::{Postgres, Redis};

use crate::{alive, listening};

#[test]
fn redis_answers_on_its_own_port_and_writes_its_pidfile() {
    let (a, b) = (Redis::start(), Redis::start());
    assert_ne!(a.port(), b.port());
    a.ping().unwrap();
    b.ping().unwrap();
    assert_eq!(a.url(), format!("redis://127.0.0.1:{}/", a.port()));
    let pidfile = std::fs::read_to_string(a.pidfile()).unwrap();
    assert_eq!(pidfile.trim().parse::<u32>().unwrap(), a.pid().unwrap());
    // Independent servers: what one holds the other does not.
    assert_eq!(a.query(&["SET", "k", "v"]).unwrap(), "+OK");
    assert_eq!(a.query(&["GET", "k"]).unwrap(), "v");
    assert_eq!(b.query(&["GET", "k"]).unwrap(), "$-1");
}

#[test]
fn a_killed_redis_is_gone_and_restarts_empty_on_the_same_port() {
    let mut redis = Redis::start();
    let (port, pid) = (redis.port(), redis.pid().unwrap());
    assert_eq!(redis.query(&["SET", "k", "v"]).unwrap(), "+OK");
    redis.kill();
    assert!(!alive(pid) && !listening(port) && !redis.is_running());
    assert!(redis.ping().is_err());
    redis.restart();
    assert_eq!(redis.port(), port);
    assert_ne!(redis.pid(), Some(pid));
    redis.ping().unwrap();
    assert_eq!(
        redis.query(&["GET", "k"]).unwrap(),
        "$-1",
        "nothing persisted"
    );
    let files: Vec<String> = std::fs::read_dir(redis.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        vec!["redis.pid".to_string()],
        "no dump or append-only file"
    );
}

#[test]
fn a_dropped_redis_leaves_no_process_port_or_file() {
    let redis = Redis::start();
    let (port, pid, dir) = (
        redis.port(),
        redis.pid().unwrap(),
        redis.dir().to_path_buf(),
    );
    drop(redis);
    assert!(!alive(pid), "redis-server {pid} outlived its fixture");
    assert!(!listening(port));
    assert!(!dir.exists());
}

#[test]
fn postgres_gives_every_test_a_fresh_database() {
    let pg = Postgres::start();
    assert!(pg.is_ready());
    assert!(listening(pg.port()));
    assert!(
        pg.socket_dir()
            .join(format!(".s.PGSQL.{}", pg.port()))
            .exists(),
        "the socket is in the cluster's own dir"
    );
    let (one, two) = (pg.create_database(), pg.create_database());
    assert_ne!(one, two);
    assert!(
        one.starts_with(&format!("postgres://lk@127.0.0.1:{}/", pg.port())),
        "{one}"
    );
    for url in [&one, &two] {
        let name = url.rsplit('/').next().unwrap();
        assert!(pg.has_database(name).unwrap(), "{name}");
    }
    assert!(!pg.has_database("never_created").unwrap());
}

#[test]
fn a_stopped_postgres_refuses_and_resumes_with_its_data() {
    let mut pg = Postgres::start();
    let url = pg.create_database();
    let name = url.rsplit('/').next().unwrap().to_string();
    let pid = pg.pid().unwrap();
    pg.stop();
    assert!(!pg.is_ready() && !listening(pg.port()) && !alive(pid));
    assert!(pg.has_database(&name).is_err());
    pg.resume();
    assert!(pg.is_ready());
    assert!(
        pg.has_database(&name).unwrap(),
        "the database survived the outage"
    );
}

#[test]
fn a_dropped_postgres_leaves_no_process_port_or_file() {
    let pg = Postgres::start();
    let (port, pid, dir) = (pg.port(), pg.pid().unwrap(), pg.socket_dir());
    assert!(dir.join("data/PG_VERSION").exists());
    drop(pg);
    assert!(!alive(pid), "postgres {pid} outlived its fixture");
    assert!(!listening(port));
    assert!(!dir.exists());
}
