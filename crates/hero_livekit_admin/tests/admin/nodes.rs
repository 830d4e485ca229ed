//! The Nodes page and the overview's fleet summary over plain HTTP (the no-JS fallback: every
//! table is rendered by the server), against a control plane on a private Redis with stand-in
//! nodes on 127.0.0.2 and 127.0.0.3.

use std::time::Duration;

use hero_livekit_api::methods::{KeysRotate, NodeListM, StatusM};
use hero_livekit_api::types::{KeysRotateParams, NoParams, NodeClass, NodeList};
use hero_livekit_testkit::{Redis, free_port, wait_until_async};

use crate::helpers::{
    get, http, init_logs, login, node_ip, spawn_app, start_admin, start_fleet_server, start_node,
};

/// The `<tr>` of node `id`, as served.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<tr id=\"node:{id}\""))
        .unwrap_or_else(|| panic!("no row for {id}:\n{html}"));
    let end = start + html[start..].find("</tr>").unwrap();
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_page_and_the_overview_show_the_fleet() {
    init_logs();
    let dir = hero_livekit_testkit::temp_dir();
    let mut redis = Redis::start();
    let port = free_port();
    let server = start_fleet_server(dir.path(), &redis, port).await;
    let a = start_node(&server, 0, port).await;
    let b = start_node(&server, 1, port).await;
    let (id_a, id_b) = (a.node_id().unwrap(), b.node_id().unwrap());
    let admin = start_admin(&server.home, &server.socket).await;
    let cookie = login(&admin).await;
    let client = server.client().await;
    client.call::<StatusM>(&NoParams {}).await.unwrap();

    // Every node, server-side: class, region, load, both probes, no problems.
    let (status, html) = get(&admin, &cookie, "/nodes").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<a href="/nodes" aria-current="page">Nodes</a>"#));
    assert!(
        html.contains(r#"id="nodes-live" data-live="5""#),
        "a live region"
    );
    for (i, id) in [(0, &id_a), (1, &id_b)] {
        let r = row(&html, id);
        assert!(r.contains(r#"data-class="live""#), "{r}");
        assert!(r.contains(&node_ip(i)), "{r}");
        assert!(r.contains(r#"<span class="badge ok">live</span>"#), "{r}");
        assert_eq!(
            r.matches(r#"<span class="badge ok">yes</span>"#).count(),
            2,
            "runs the current config and accepts the active key: {r}"
        );
        assert!(r.contains("% CPU"), "{r}");
        assert!(r.contains(r#"<span class="muted">none</span>"#), "{r}");
    }
    assert!(html.contains(">2 live<"), "{html}");
    assert!(!html.contains("Redis unreachable"));
    // The same list for scripts, behind the session.
    let resp = http()
        .get(admin.url("/api/nodes"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list: NodeList = resp.json().await.unwrap();
    assert_eq!(list.nodes.len(), 2);

    let (_, html) = get(&admin, &cookie, "/").await;
    assert!(html.contains(r#"id="fleet""#), "{html}");
    assert!(html.contains(">2 live<"), "{html}");
    assert!(html.contains("No node needs a restart."), "{html}");

    // A rotation: both nodes must restart; the overview names them, the page says why.
    let pending = client
        .call::<KeysRotate>(&KeysRotateParams::default())
        .await
        .unwrap()
        .api_key;
    let (_, html) = get(&admin, &cookie, "/").await;
    let restart = &html[html.find(r#"id="fleet-restart""#).expect(&html)..];
    let restart = &restart[..restart.find("</div>").unwrap()];
    for id in [&id_a, &id_b] {
        assert!(restart.contains(&format!("<code>{id}</code>")), "{restart}");
    }
    assert!(
        html.contains("livekit-server must be restarted on 2 node(s)"),
        "{html}"
    );
    assert!(html.contains("Restart one node at a time"), "{html}");
    let (_, html) = get(&admin, &cookie, "/nodes").await;
    let r = row(&html, &id_a);
    assert!(r.contains("restart required"), "{r}");
    assert!(
        r.contains(&format!("new key {pending} is not loaded")),
        "{r}"
    );
    assert!(
        r.contains(r#"<span class="badge bad">no — restart</span>"#),
        "{r}"
    );

    // Node b crashes: its row turns stale and is no longer probed; the overview lists it.
    b.kill().await;
    wait_until_async("node b is stale", Duration::from_secs(15), || async {
        let l = client.call::<NodeListM>(&NoParams {}).await.unwrap();
        l.nodes
            .iter()
            .any(|n| n.id == id_b && n.class == NodeClass::Stale)
    })
    .await;
    let (_, html) = get(&admin, &cookie, "/nodes").await;
    let r = row(&html, &id_b);
    assert!(r.contains(r#"data-class="stale""#), "{r}");
    assert!(r.contains("last said serving"), "{r}");
    assert!(r.contains("not probed"), "{r}");
    assert!(r.contains("stale: no update for"), "{r}");
    assert!(
        html.contains(">1 live<") && html.contains(">1 stale<"),
        "{html}"
    );
    client.call::<StatusM>(&NoParams {}).await.unwrap();
    let (_, html) = get(&admin, &cookie, "/").await;
    let stale = &html[html.find(r#"id="fleet-stale""#).expect(&html)..];
    assert!(stale.contains(&format!("<code>{id_b}</code>")), "{stale}");
    assert!(stale.contains("until another node starts"), "{stale}");

    // Redis dies: said plainly, and the last list stays, marked with when it was read.
    redis.kill();
    let (status, html) = get(&admin, &cookie, "/nodes").await;
    assert_eq!(status, 200);
    assert!(html.contains("Redis unreachable"), "{html}");
    assert!(
        html.contains(&format!("Redis at 127.0.0.1:{}", redis.port())),
        "the error names the address: {html}"
    );
    assert!(html.contains(r#"id="as-of""#), "{html}");
    assert!(
        html.contains("Last list read, as of <time datetime="),
        "{html}"
    );
    row(&html, &id_a);
    row(&html, &id_b);
    let (_, html) = get(&admin, &cookie, "/").await;
    assert!(
        html.contains("Redis unreachable: Redis at 127.0.0.1"),
        "{html}"
    );

    a.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn without_redis_the_nodes_page_shows_the_one_sfu() {
    let app = spawn_app().await;
    let cookie = login(&app.admin).await;
    let (status, html) = get(&app.admin, &cookie, "/nodes").await;
    assert_eq!(status, 200);
    assert!(html.contains("One SFU, no Redis"), "{html}");
    let r = row(&html, "config");
    assert!(r.contains("127.0.0.1"), "{r}");
    let (_, html) = get(&app.admin, &cookie, "/").await;
    assert!(html.contains("(no <code>[redis]</code>)"), "{html}");
    app.server.stop().await;
}
