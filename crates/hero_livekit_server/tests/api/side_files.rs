//! Ingress and SIP configuration (issue 14): ingress.yaml, sip.yaml and livekit.yaml's
//! `ingress:` block rendered from one value, following the active key; `config.check` over
//! every rendered file; what boot refuses, with the reason.

use std::os::unix::fs::PermissionsExt;

use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_testkit::Redis;
use serde_json::Value;

use crate::helpers::*;

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

async fn app(redis: &Redis) -> TestApp {
    let port = redis.port();
    spawn_with(|s| {
        s.redis.address = Some(format!("127.0.0.1:{port}"));
        s.redis.db = Some(2);
        s.node_ip = Some("203.0.113.7".into());
        s.ingress = toml::from_str("enabled = true\npublic_host = \"obs.example.com\"").unwrap();
        s.sip = toml::from_str("enabled = true").unwrap();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_and_sip_follow_the_key_and_redis_and_the_files_agree() {
    let redis = Redis::start();
    let app = app(&redis).await;
    let key = app.status().await.keys[0].api_key.clone();
    let lk = yaml(&app.read("livekit.yaml"));
    // livekit.yaml's base URLs and ingress.yaml's ports are one value.
    assert_eq!(
        lk["ingress"]["rtmp_base_url"],
        "rtmp://obs.example.com:1935/x"
    );
    assert_eq!(
        lk["ingress"]["whip_base_url"],
        "http://obs.example.com:8080/w"
    );
    for name in ["ingress.yaml", "sip.yaml"] {
        let doc = yaml(&app.read(name));
        assert_eq!(doc["api_key"], key, "{name}");
        assert_eq!(doc["api_secret"], lk["keys"][&key], "{name}");
        assert_eq!(doc["redis"]["address"], lk["redis"]["address"], "{name}");
        assert_eq!(doc["redis"]["db"], 2, "{name}");
        let mode = std::fs::metadata(app.home.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let ingress = yaml(&app.read("ingress.yaml"));
    assert_eq!(
        (ingress["rtmp_port"].clone(), ingress["whip_port"].clone()),
        (1935.into(), 8080.into())
    );
    assert_eq!(yaml(&app.read("sip.yaml"))["nat_1_to_1_ip"], "203.0.113.7");

    // Shown, the files are redacted; status lists them.
    let files = app.call::<ConfigFilesM>(&NoParams {}).await.unwrap();
    let secret = lk["keys"][&key].as_str().unwrap().to_string();
    for shown in [files.ingress_yaml.unwrap(), files.sip_yaml.unwrap()] {
        assert!(shown.contains("api_secret: <redacted>"), "{shown}");
        assert!(!shown.contains(&secret));
    }
    let status = app.status().await;
    assert!(status.files.ingress_yaml.is_some() && status.files.sip_yaml.is_some());
    assert!(!status.ingress.as_ref().unwrap().restart_required);
    let got = app.call::<ConfigGet>(&NoParams {}).await.unwrap();
    assert_eq!(got["ingress"]["public_host"], "obs.example.com");
    assert_eq!(got["sip"]["rtp_port"], "10000-20000");

    // The strict stand-in for livekit-server takes livekit.yaml with its `ingress:` block.
    let sfu = livekit_standin::StandIn::start_with(
        &app.home.join("livekit.yaml"),
        livekit_standin::Options::port(hero_livekit_testkit::free_port()),
    )
    .await
    .expect("livekit.yaml with ingress: accepted");
    sfu.stop().await;

    let check = app.call::<ConfigCheckM>(&NoParams {}).await.unwrap();
    assert!(check.ok, "{:#?}", check.problems);
    assert_eq!(
        check.files,
        ["livekit.yaml", "backend.env", "ingress.yaml", "sip.yaml"]
    );

    // A switch to another key: both files follow at once, and status says both must restart.
    let new_key = "APIimported00001";
    app.call::<KeysImport>(&KeysImportParams {
        api_key: new_key.into(),
        secret: "i".repeat(44),
    })
    .await
    .unwrap();
    for name in ["ingress.yaml", "sip.yaml"] {
        assert_eq!(yaml(&app.read(name))["api_key"], new_key, "{name}");
    }
    let status = app.status().await;
    for (svc, s) in [
        ("ingress", status.ingress.unwrap()),
        ("sip", status.sip.unwrap()),
    ] {
        assert!(s.restart_required, "{svc}");
        assert!(
            s.restart_reasons[0].contains(&format!("restart livekit-{svc}"))
                && s.restart_reasons[0].contains(new_key),
            "{s:?}"
        );
    }
    assert!(app.call::<ConfigCheckM>(&NoParams {}).await.unwrap().ok);

    // A file edited by hand is caught, naming both files and the key.
    let mut sip = yaml(&app.read("sip.yaml"));
    sip["redis"]["db"] = 5.into();
    std::fs::write(
        app.home.join("sip.yaml"),
        serde_saphyr::to_string(&sip).unwrap(),
    )
    .unwrap();
    let check = app.call::<ConfigCheckM>(&NoParams {}).await.unwrap();
    assert!(!check.ok);
    let p = &check.problems[0];
    assert_eq!(
        (p.file.as_str(), p.other_file.as_str(), p.key.as_str()),
        ("sip.yaml", "livekit.yaml", "redis.db")
    );
    app.stop().await;
}

/// What the server refuses at boot, with the setting and the reason, before writing anything.
#[test]
fn boot_refuses_what_ingress_and_sip_would_fail_on() {
    let cases = [
        (
            "[ingress]\nenabled = true\n",
            "invalid setting ingress.enabled: ingress needs Redis",
        ),
        (
            "[sip]\nenabled = true\nnat_1_to_1_ip = \"203.0.113.1\"\n",
            "invalid setting sip.enabled: SIP needs Redis",
        ),
        (
            "[redis]\naddress = \"127.0.0.1:1\"\n[sip]\nenabled = true\nuse_external_ip = true\nnat_1_to_1_ip = \"203.0.113.1\"\n",
            "invalid setting sip.use_external_ip: cannot be combined with sip.nat_1_to_1_ip",
        ),
        // Two services on one host port: the cross-file check refuses the render.
        (
            "backend_port = 8080\n[redis]\naddress = \"127.0.0.1:1\"\n[ingress]\nenabled = true\n",
            "backend.env PORT (8080/tcp) and ingress.yaml whip_port (8080/tcp) claim the same host port",
        ),
    ];
    for (toml, want) in cases {
        let site = site();
        let config = site.dir().join("side.toml");
        std::fs::write(&config, toml).unwrap();
        let out = server_cmd(&site)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{toml}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{toml}: {stderr}");
        assert!(!site.home().join("ingress.yaml").exists());
        assert!(!site.home().join("sip.yaml").exists());
    }
}
