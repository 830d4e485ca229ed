//! Ingress, SIP and agent dispatch (issue 14) through `ingress.*`, `sip.*` and
//! `agent.dispatch.*` against the strict stand-in (LiveKit's grants, its Redis rule and errors)
//! on a real Redis: every method, LiveKit's refusals as operator messages, params refused with
//! the field named, and no stream key, trunk password or PIN in any answer but the create result
//! or in any audit row.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hero_livekit_api::errors as codes;
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use hero_livekit_api::{ClientError, Method};
use hero_livekit_testkit::{Redis, free_port, wait_until_async};
use livekit_standin::{Options, StandIn};

use crate::helpers::*;

const TRUNK_PASSWORD: &str = "trunk-pw-5c1e9a7b";
const PIN: &str = "480213";

/// livekit.yaml as rendered, with an `ingress:` block giving the base URLs publishers use (the
/// control plane renders it from `[ingress]`; here it is added when the render has none).
pub fn with_ingress_urls(livekit_yaml: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(livekit_yaml).unwrap();
    if !text.lines().any(|l| l.starts_with("ingress:")) {
        text.push_str(
            "ingress:\n  rtmp_base_url: rtmp://media.example:1935/x\n  whip_base_url: \
             http://media.example:8080/w\n",
        );
    }
    let path = livekit_yaml.with_file_name("livekit-standin.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Stack {
    app: TestApp,
    sfu: StandIn,
    _redis: Option<Redis>,
}

async fn stack(redis: bool, options: Options) -> Stack {
    stack_with(redis, options, |_| {}).await
}

async fn stack_with(
    redis: bool,
    options: Options,
    tweak: impl FnOnce(&mut hero_livekit_server::config::Settings),
) -> Stack {
    let redis = redis.then(Redis::start);
    let port = free_port();
    let app = spawn_with(|s| {
        s.livekit_url = Some(format!("http://127.0.0.1:{port}"));
        s.livekit_timeout = Some("2s".parse().unwrap());
        if let Some(r) = &redis {
            s.redis.address = Some(format!("127.0.0.1:{}", r.port()));
            s.node_ip = Some("127.0.0.1".into());
            s.sfu_port = Some(port);
        }
        tweak(s);
    })
    .await;
    let sfu = StandIn::start_with(
        &with_ingress_urls(&app.home.join("livekit.yaml")),
        Options { port, ..options },
    )
    .await
    .unwrap();
    Stack {
        app,
        sfu,
        _redis: redis,
    }
}

/// (code, message) of a refused call.
async fn refused<M: Method>(app: &TestApp, p: &M::Params) -> (i32, String) {
    match app.call::<M>(p).await {
        Err(ClientError::Rpc { code, message, .. }) => (code, message),
        Err(other) => panic!("{}: {other}", M::NAME),
        Ok(_) => panic!("{} succeeded", M::NAME),
    }
}

fn rtmp(room: &str, identity: &str) -> IngressCreateParams {
    IngressCreateParams {
        input: IngressInput::Rtmp,
        room: room.into(),
        identity: identity.into(),
        name: Some("OBS".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_create_shows_the_key_once_and_lists_never() {
    let s = stack(true, Options::default()).await;
    let app = &s.app;
    app.create_room("stage").await;
    let created = app
        .call::<IngressCreate>(&rtmp("stage", "obs"))
        .await
        .unwrap();
    let key = created
        .stream_key
        .clone()
        .expect("the creator sees the key");
    assert_eq!(created.url, "rtmp://media.example:1935/x");
    assert_eq!(
        created.publish_url.as_deref(),
        Some(format!("rtmp://media.example:1935/x/{key}").as_str())
    );
    assert!(created.transcoding, "RTMP transcodes by default");
    assert_eq!(created.status, IngressStatus::Inactive);
    let whip = app
        .call::<IngressCreate>(&IngressCreateParams {
            input: IngressInput::Whip,
            ..rtmp("stage", "browser")
        })
        .await
        .unwrap();
    assert_eq!(whip.url, "http://media.example:8080/w");
    assert!(!whip.transcoding, "WHIP passes through by default");

    // An encoder connects: publishing, and its participant is in the room.
    s.sfu.ingress_publish(&created.ingress_id).unwrap();
    let listed = app
        .call::<IngressListM>(&IngressListParams {
            room: Some("stage".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.ingresses.len(), 2);
    let one = listed
        .ingresses
        .iter()
        .find(|i| i.ingress_id == created.ingress_id)
        .unwrap();
    assert_eq!(one.status, IngressStatus::Publishing);
    assert!(one.stream_key.is_none() && one.publish_url.is_none());
    assert!(!serde_json::to_string(&listed).unwrap().contains(&key));
    assert!(app.participant("stage", "obs").await.is_ok());

    let updated = app
        .call::<IngressUpdate>(&IngressUpdateParams {
            ingress_id: whip.ingress_id.clone(),
            name: Some("Browser".into()),
            enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!updated.enabled && updated.stream_key.is_none());

    // A URL ingress pulls at once; its source's password never comes back.
    let pulled = app
        .call::<IngressCreate>(&IngressCreateParams {
            input: IngressInput::Url,
            url: Some("https://cam:campw@cams.example/live.m3u8".into()),
            ..rtmp("stage", "camera")
        })
        .await
        .unwrap();
    assert_eq!(pulled.status, IngressStatus::Publishing);
    assert!(!pulled.url.contains("campw"), "{}", pulled.url);
    // LiveKit refuses to update a pull.
    let (code, msg) = refused::<IngressUpdate>(
        app,
        &IngressUpdateParams {
            ingress_id: pulled.ingress_id.clone(),
            name: Some("x".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code, codes::INVALID_PARAMS, "{msg}");
    assert!(msg.contains("not reusable"), "{msg}");

    // Bad params name the field; LiveKit never sees them.
    let (code, msg) = refused::<IngressCreate>(
        app,
        &IngressCreateParams {
            input: IngressInput::Url,
            url: Some("ftp://h/x".into()),
            ..rtmp("stage", "x")
        },
    )
    .await;
    assert_eq!(code, codes::INVALID_PARAMS);
    assert!(msg.contains("url"), "{msg}");

    let deleted = app
        .call::<IngressDelete>(&IngressIdParams {
            ingress_id: created.ingress_id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(deleted.ingress_id, created.ingress_id);
    assert!(
        app.participant("stage", "obs").await.is_err(),
        "the stream stopped"
    );
    let (code, msg) = refused::<IngressDelete>(
        app,
        &IngressIdParams {
            ingress_id: created.ingress_id.clone(),
        },
    )
    .await;
    assert_eq!(code, codes::NOT_FOUND);
    assert!(msg.contains("no such ingress"), "{msg}");

    // The audit log has every change, with the source's password hidden.
    let audit = serde_json::to_string(&app.audit(AuditListParams::default()).await).unwrap();
    assert!(audit.contains("ingress.create") && audit.contains("ingress.delete"));
    assert!(!audit.contains(&key) && !audit.contains("campw"), "{audit}");
    s.sfu.stop().await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_rules_calls_and_transfers() {
    let s = stack(
        true,
        Options {
            unreachable_numbers: vec!["+15105550199".into()],
            ..Options::default()
        },
    )
    .await;
    let app = &s.app;
    app.create_room("support").await;
    let inbound = app
        .call::<SipInboundTrunkCreate>(&SipInboundTrunkCreateParams {
            name: "office".into(),
            numbers: vec!["+15105550100".into()],
            allowed_addresses: vec!["203.0.113.0/24".into()],
            auth_username: Some("office".into()),
            auth_password: Some(TRUNK_PASSWORD.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(inbound.direction, SipDirection::Inbound);
    assert!(inbound.has_password);
    let outbound = app
        .call::<SipOutboundTrunkCreate>(&SipOutboundTrunkCreateParams {
            name: "provider".into(),
            address: "sip.provider.example".into(),
            numbers: vec!["+15105550100".into()],
            transport: Some(SipTransport::Tls),
            auth_username: Some("acct".into()),
            auth_password: Some(TRUNK_PASSWORD.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(outbound.transport, Some(SipTransport::Tls));
    let ins = app
        .call::<SipInboundTrunkList>(&SipTrunkListParams::default())
        .await
        .unwrap();
    let outs = app
        .call::<SipOutboundTrunkList>(&SipTrunkListParams::default())
        .await
        .unwrap();
    assert_eq!((ins.trunks.len(), outs.trunks.len()), (1, 1));

    let rule = app
        .call::<SipDispatchRuleCreate>(&SipDispatchRuleCreateParams {
            kind: SipRuleKind::Direct,
            room: Some("support".into()),
            pin: Some(PIN.into()),
            trunk_ids: vec![inbound.trunk_id.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(rule.has_pin && rule.kind == SipRuleKind::Direct);
    for (kind, prefix) in [
        (SipRuleKind::Individual, "call-"),
        (SipRuleKind::Callee, "line-"),
    ] {
        let r = app
            .call::<SipDispatchRuleCreate>(&SipDispatchRuleCreateParams {
                kind,
                room_prefix: Some(prefix.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!((r.kind, r.room.as_str()), (kind, prefix));
    }
    let rules = app
        .call::<SipDispatchRuleListM>(&SipDispatchRuleListParams::default())
        .await
        .unwrap();
    assert_eq!(rules.rules.len(), 3);

    // Dial out: the callee joins the room as a phone participant.
    let call = app
        .call::<SipCallM>(&SipCallParams {
            room: "support".into(),
            number: "+15105550111".into(),
            trunk_id: outbound.trunk_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let p = app.participant("support", &call.identity).await.unwrap();
    assert_eq!(p.attributes["sip.phoneNumber"], "+15105550111");
    let (code, msg) = refused::<SipCallM>(
        app,
        &SipCallParams {
            room: "support".into(),
            number: "+15105550199".into(),
            trunk_id: outbound.trunk_id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code, codes::LIVEKIT_ERROR);
    assert!(
        msg.contains("did not go through") && msg.contains("480"),
        "{msg}"
    );
    let (code, msg) = refused::<SipCallM>(
        app,
        &SipCallParams {
            room: "support".into(),
            number: "+15105550111".into(),
            trunk_id: "ST_nope".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code, codes::NOT_FOUND);
    assert!(msg.contains("no such SIP trunk"), "{msg}");

    // Transfer: the call is handed over and leaves the room.
    app.call::<SipTransfer>(&SipTransferParams {
        room: "support".into(),
        identity: call.identity.clone(),
        transfer_to: "tel:+15105550122".into(),
        play_dialtone: None,
    })
    .await
    .unwrap();
    assert!(app.participant("support", &call.identity).await.is_err());

    // A trunk is deleted through its own kind only.
    let (code, msg) = refused::<SipInboundTrunkDelete>(
        app,
        &SipTrunkIdParams {
            trunk_id: outbound.trunk_id.clone(),
        },
    )
    .await;
    assert_eq!(code, codes::NOT_FOUND);
    assert!(msg.contains("no inbound SIP trunk"), "{msg}");
    app.call::<SipOutboundTrunkDelete>(&SipTrunkIdParams {
        trunk_id: outbound.trunk_id.clone(),
    })
    .await
    .unwrap();
    app.call::<SipInboundTrunkDelete>(&SipTrunkIdParams {
        trunk_id: inbound.trunk_id.clone(),
    })
    .await
    .unwrap();
    app.call::<SipDispatchRuleDelete>(&SipDispatchRuleIdParams {
        rule_id: rule.rule_id.clone(),
    })
    .await
    .unwrap();
    let (code, msg) = refused::<SipDispatchRuleDelete>(
        app,
        &SipDispatchRuleIdParams {
            rule_id: rule.rule_id.clone(),
        },
    )
    .await;
    assert_eq!(code, codes::NOT_FOUND);
    assert!(msg.contains("no such SIP dispatch rule"), "{msg}");

    // Passwords and PINs: in no answer and no audit row.
    let seen = format!(
        "{}{}{}{}",
        serde_json::to_string(&ins).unwrap(),
        serde_json::to_string(&outs).unwrap(),
        serde_json::to_string(&rules).unwrap(),
        serde_json::to_string(&app.audit(AuditListParams::default()).await).unwrap()
    );
    assert!(seen.contains("sip.outbound_trunk.create") && seen.contains("sip.call"));
    assert!(
        !seen.contains(TRUNK_PASSWORD) && !seen.contains(PIN),
        "{seen}"
    );
    s.sfu.stop().await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_dispatched_per_room() {
    let s = stack(true, Options::default()).await;
    let app = &s.app;
    app.create_room("lobby").await;
    let d = app
        .call::<AgentDispatchCreate>(&AgentDispatchCreateParams {
            room: "lobby".into(),
            agent_name: "receptionist".into(),
            metadata: Some("{\"lang\":\"nl\"}".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        (d.room.as_str(), d.agent_name.as_str()),
        ("lobby", "receptionist")
    );
    let l = app
        .call::<AgentDispatchListM>(&AgentDispatchListParams {
            room: "lobby".into(),
            dispatch_id: None,
        })
        .await
        .unwrap();
    assert!(l.dispatches.iter().any(|x| x.dispatch_id == d.dispatch_id));
    app.call::<AgentDispatchDelete>(&AgentDispatchDeleteParams {
        room: "lobby".into(),
        dispatch_id: d.dispatch_id.clone(),
    })
    .await
    .unwrap();
    let (code, msg) = refused::<AgentDispatchDelete>(
        app,
        &AgentDispatchDeleteParams {
            room: "lobby".into(),
            dispatch_id: d.dispatch_id.clone(),
        },
    )
    .await;
    assert_eq!(code, codes::NOT_FOUND);
    assert!(msg.contains("no such agent dispatch"), "{msg}");
    let (code, msg) = refused::<AgentDispatchCreate>(
        app,
        &AgentDispatchCreateParams {
            room: "lobby".into(),
            agent_name: " ".into(),
            metadata: None,
        },
    )
    .await;
    assert_eq!(code, codes::INVALID_PARAMS);
    assert!(msg.contains("agent_name"), "{msg}");
    s.sfu.stop().await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_ingress_and_sip_say_what_is_missing() {
    let s = stack(false, Options::default()).await;
    let app = &s.app;
    app.create_room("stage").await;
    let (code, msg) = refused::<IngressCreate>(app, &rtmp("stage", "obs")).await;
    assert_eq!(code, codes::LIVEKIT_ERROR);
    assert!(msg.contains("ingress needs Redis in livekit.yaml"), "{msg}");
    assert!(msg.contains("not connected (redis required)"), "{msg}");
    // UpdateIngress panics on LiveKit's nil store; it still reads as "no Redis".
    let (_, msg) = refused::<IngressDelete>(
        app,
        &IngressIdParams {
            ingress_id: "IN_x".into(),
        },
    )
    .await;
    assert!(msg.contains("ingress needs Redis"), "{msg}");
    let (_, msg) = refused::<SipOutboundTrunkList>(app, &SipTrunkListParams::default()).await;
    assert!(msg.contains("SIP needs Redis"), "{msg}");
    // Agent dispatch needs no Redis.
    app.call::<AgentDispatchCreate>(&AgentDispatchCreateParams {
        room: "stage".into(),
        agent_name: "a".into(),
        metadata: None,
    })
    .await
    .unwrap();
    s.sfu.stop().await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_worker_on_the_bus_is_said_in_plain_words() {
    let s = stack(
        true,
        Options {
            ingress_worker: false,
            sip_worker: false,
            ..Options::default()
        },
    )
    .await;
    let app = &s.app;
    app.create_room("stage").await;
    let (_, msg) = refused::<IngressCreate>(
        app,
        &IngressCreateParams {
            input: IngressInput::Url,
            url: Some("https://cams.example/live.m3u8".into()),
            ..rtmp("stage", "camera")
        },
    )
    .await;
    assert!(
        msg.contains("no ingress worker with capacity is registered: start livekit-ingress"),
        "{msg}"
    );
    let trunk = app
        .call::<SipOutboundTrunkCreate>(&SipOutboundTrunkCreateParams {
            name: "p".into(),
            address: "sip.provider.example".into(),
            numbers: vec!["+15105550100".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, msg) = refused::<SipCallM>(
        app,
        &SipCallParams {
            room: "stage".into(),
            number: "+15105550111".into(),
            trunk_id: trunk.trunk_id,
            ..Default::default()
        },
    )
    .await;
    assert!(msg.contains("no SIP worker with capacity"), "{msg}");
    s.sfu.stop().await;
    s.app.stop().await;
}

/// The key lifecycle keeps a retiring key in livekit.yaml past its grace while an ingress
/// stream or a phone call that began before the switch is still live (side-services facts §6),
/// and retires it once both are over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_never_breaks_a_live_stream_or_call() {
    let new_key = "APInewkey0000002";
    let new_secret = "m".repeat(44);
    let s = stack_with(true, Options::default(), |s| {
        s.token_ttl = Some("1s".parse().unwrap());
        s.token_max_ttl = Some("2s".parse().unwrap());
    })
    .await;
    let port = s.sfu.port();
    let old_key = s.app.status().await.keys[0].api_key.clone();
    s.sfu.stop().await;
    // The SFU already has the new key loaded, as after a restart that read it.
    let both = with_ingress_urls(&s.app.home.join("livekit.yaml"));
    let text = std::fs::read_to_string(&both).unwrap().replacen(
        "keys:\n",
        &format!("keys:\n  {new_key}: {new_secret}\n"),
        1,
    );
    std::fs::write(&both, text).unwrap();
    let sfu = StandIn::start_with(&both, Options::port(port))
        .await
        .unwrap();
    let s = Stack { sfu, ..s };
    let app = &s.app;
    app.create_room("stage").await;
    let ingress = app
        .call::<IngressCreate>(&rtmp("stage", "obs"))
        .await
        .unwrap();
    s.sfu.ingress_publish(&ingress.ingress_id).unwrap();
    let trunk = app
        .call::<SipOutboundTrunkCreate>(&SipOutboundTrunkCreateParams {
            name: "p".into(),
            address: "sip.provider.example".into(),
            numbers: vec!["+15105550100".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let call = app
        .call::<SipCallM>(&SipCallParams {
            room: "stage".into(),
            number: "+15105550111".into(),
            trunk_id: trunk.trunk_id,
            ..Default::default()
        })
        .await
        .unwrap();
    // The switch happens a whole second after both began.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.call::<KeysImport>(&KeysImportParams {
        api_key: new_key.into(),
        secret: new_secret.clone(),
    })
    .await
    .unwrap();
    let retired = || async {
        app.status().await;
        app.keys(true)
            .await
            .iter()
            .any(|k| k.api_key == old_key && k.state == KeyState::Retired)
    };
    // The grace (2 s) runs out while both are live: the old key stays.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!retired().await);
    assert!(app.read("livekit.yaml").contains(&old_key));
    // The stream ends; the call still holds it.
    assert!(s.sfu.ingress_unpublish(&ingress.ingress_id));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !retired().await,
        "a phone call from before the switch is still live"
    );
    // The call is transferred away: nothing live is older than the switch.
    app.call::<SipTransfer>(&SipTransferParams {
        room: "stage".into(),
        identity: call.identity.clone(),
        transfer_to: "tel:+15105550122".into(),
        play_dialtone: None,
    })
    .await
    .unwrap();
    wait_until_async("the old key retired", Duration::from_secs(10), retired).await;
    assert!(!app.read("livekit.yaml").contains(&old_key));
    s.sfu.stop().await;
    s.app.stop().await;
}
