//! `hero_livekit ingress …`, `sip …` and `agent …`, through the control plane's `ingress.*`,
//! `sip.*` and `agent.dispatch.*`. Secrets given to a command (trunk passwords, rule PINs) are
//! read from environment variables, so they stay out of `ps` and the shell's history.

use hero_livekit_api::RpcClient;
use hero_livekit_api::errors as codes;
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;
use serde::de::DeserializeOwned;

use super::{
    AgentCmd, Failure, IngressCmd, Outcome, SipAuthArgs, SipCmd, SipRuleCmd, SipTrunkCmd,
    SipTrunkCreateCmd, TranscodeArgs,
};
use crate::output::{show, table};

/// A snake_case value of one of the API's enums, or a usage error listing the choices.
fn choice<T: DeserializeOwned>(flag: &str, v: &str, choices: &str) -> Result<T, Failure> {
    serde_json::from_value(serde_json::Value::String(v.to_lowercase()))
        .map_err(|_| Failure::Usage(format!("{flag} {v:?}: use {choices}")))
}

fn secret_env(flag: &str, var: &Option<String>) -> Result<Option<String>, Failure> {
    var.as_ref()
        .map(|v| {
            std::env::var(v).map_err(|_| {
                Failure::Usage(format!(
                    "{flag} {v}: the environment variable {v} is not set"
                ))
            })
        })
        .transpose()
}

type Transcode = (
    Option<bool>,
    Option<IngressAudioPreset>,
    Option<IngressVideoPreset>,
);

fn transcode(t: &TranscodeArgs) -> Result<Transcode, Failure> {
    let on = if t.transcoding {
        Some(true)
    } else if t.no_transcoding {
        Some(false)
    } else {
        None
    };
    let audio = t
        .audio_preset
        .as_deref()
        .map(|v| {
            choice(
                "--audio-preset",
                v,
                "opus_stereo_96kbps or opus_mono_64kbps",
            )
        })
        .transpose()?;
    let video = t
        .video_preset
        .as_deref()
        .map(|v| {
            choice(
                "--video-preset",
                v,
                "h264_720p_30fps_3_layers, h264_1080p_30fps_3_layers, h264_540p_25fps_2_layers, \
                 the _1_layer and the _high_motion variants",
            )
        })
        .transpose()?;
    Ok((on, audio, video))
}

fn ingress_created(i: &IngressInfo) {
    println!(
        "ingress {} created: {} into room {} as {}{}",
        i.ingress_id,
        i.input.as_str(),
        i.room,
        i.identity,
        if i.transcoding {
            " (transcoded)"
        } else {
            " (passed through)"
        }
    );
    let key = i.stream_key.as_deref().unwrap_or("");
    match i.input {
        IngressInput::Url => println!("pulling {} ({})", i.url, i.status.as_str()),
        _ if i.url.is_empty() => {
            println!(
                "LiveKit gave no publish URL: livekit.yaml has no ingress base URL for {} (set \
                 [ingress] in the control plane's config and restart livekit-server)",
                i.input.as_str()
            );
            println!("stream key: {key}");
        }
        IngressInput::Rtmp => {
            println!("OBS (Settings → Stream → Service: Custom…):");
            println!("  Server:     {}", i.url);
            println!("  Stream Key: {key}");
            if let Some(u) = &i.publish_url {
                println!("ffmpeg … -f flv {u}");
            }
        }
        IngressInput::Whip => {
            println!("WHIP (OBS: Service WHIP):");
            println!("  Server:       {}", i.url);
            println!("  Bearer Token: {key}");
        }
    }
    if i.stream_key.is_some() {
        println!("The stream key is shown only now: keep it (`ingress list` never shows it).");
    }
}

fn ingresses(list: &[IngressInfo]) {
    if list.is_empty() {
        println!(
            "no ingress (create one with `hero_livekit ingress create --rtmp --room ROOM \
             --identity ID`)"
        );
        return;
    }
    let rows = list
        .iter()
        .map(|i| {
            vec![
                i.ingress_id.clone(),
                i.input.as_str().into(),
                i.room.clone(),
                i.identity.clone(),
                if i.enabled {
                    i.status.as_str().into()
                } else {
                    "disabled".into()
                },
                if i.url.is_empty() {
                    "-".into()
                } else {
                    i.url.clone()
                },
            ]
        })
        .collect::<Vec<_>>();
    table(
        &["ingress_id", "input", "room", "identity", "status", "url"],
        &rows,
    );
    for i in list {
        if let Some(e) = &i.error {
            println!("{}: {e}", i.ingress_id);
        }
    }
}

pub async fn ingress(client: &RpcClient, cmd: &IngressCmd, json: bool) -> Outcome {
    match cmd {
        IngressCmd::Create {
            rtmp: _,
            whip,
            url,
            room,
            identity,
            name,
            ingress_name,
            transcode: t,
            disabled,
        } => {
            let (transcoding, audio_preset, video_preset) = transcode(t)?;
            let input = match (whip, url) {
                (_, Some(_)) => IngressInput::Url,
                (true, None) => IngressInput::Whip,
                (false, None) => IngressInput::Rtmp,
            };
            let params = IngressCreateParams {
                input,
                url: url.clone(),
                room: room.clone(),
                identity: identity.clone(),
                name: name.clone(),
                ingress_name: ingress_name.clone(),
                transcoding,
                audio_preset,
                video_preset,
                enabled: disabled.then_some(false),
                metadata: None,
            };
            let i = client.call::<IngressCreate>(&params).await?;
            show(json, &i, ingress_created);
        }
        IngressCmd::List { room, id } => {
            let params = IngressListParams {
                room: room.clone(),
                ingress_id: id.clone(),
            };
            let l = client.call::<IngressListM>(&params).await?;
            show(json, &l, |l| ingresses(&l.ingresses));
        }
        IngressCmd::Update {
            ingress_id,
            room,
            identity,
            name,
            transcode: t,
            enable,
            disable,
        } => {
            let (transcoding, audio_preset, video_preset) = transcode(t)?;
            let params = IngressUpdateParams {
                ingress_id: ingress_id.clone(),
                room: room.clone(),
                identity: identity.clone(),
                name: name.clone(),
                transcoding,
                audio_preset,
                video_preset,
                enabled: if *enable {
                    Some(true)
                } else if *disable {
                    Some(false)
                } else {
                    None
                },
                ..Default::default()
            };
            let i = client.call::<IngressUpdate>(&params).await?;
            show(json, &i, |i| ingresses(std::slice::from_ref(i)));
        }
        IngressCmd::Delete { ingress_id } => {
            let params = IngressIdParams {
                ingress_id: ingress_id.clone(),
            };
            let i = client.call::<IngressDelete>(&params).await?;
            show(json, &i, |i| println!("ingress {} deleted", i.ingress_id));
        }
    }
    Ok(true)
}

fn trunks(list: &[SipTrunk]) {
    if list.is_empty() {
        println!(
            "no SIP trunk (create one with `hero_livekit sip trunk create inbound|outbound …`)"
        );
        return;
    }
    let rows = list
        .iter()
        .map(|t| {
            vec![
                t.trunk_id.clone(),
                match t.direction {
                    SipDirection::Inbound => "inbound".into(),
                    SipDirection::Outbound => "outbound".into(),
                },
                t.name.clone(),
                if t.numbers.is_empty() {
                    "any".into()
                } else {
                    t.numbers.join(" ")
                },
                t.address
                    .clone()
                    .unwrap_or_else(|| t.allowed_addresses.join(" ")),
                match (&t.auth_username, t.has_password) {
                    (Some(u), true) => format!("{u} (password set)"),
                    (Some(u), false) => u.clone(),
                    (None, _) => "-".into(),
                },
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "trunk_id",
            "direction",
            "name",
            "numbers",
            "address",
            "auth",
        ],
        &rows,
    );
}

fn rules(list: &[SipDispatchRule]) {
    if list.is_empty() {
        println!(
            "no dispatch rule (create one with `hero_livekit sip rule create direct --room ROOM`)"
        );
        return;
    }
    let rows = list
        .iter()
        .map(|r| {
            vec![
                r.rule_id.clone(),
                r.kind.as_str().into(),
                match r.kind {
                    SipRuleKind::Direct => r.room.clone(),
                    _ => format!("{}…", r.room),
                },
                if r.trunk_ids.is_empty() {
                    "all".into()
                } else {
                    r.trunk_ids.join(" ")
                },
                if r.has_pin { "yes" } else { "no" }.into(),
                r.name.clone(),
            ]
        })
        .collect::<Vec<_>>();
    table(&["rule_id", "kind", "room", "trunks", "pin", "name"], &rows);
}

fn auth(a: &SipAuthArgs) -> Result<(Option<String>, Option<String>), Failure> {
    Ok((
        a.username.clone(),
        secret_env("--password-env", &a.password_env)?,
    ))
}

pub async fn sip(client: &RpcClient, cmd: &SipCmd, json: bool) -> Outcome {
    match cmd {
        SipCmd::Trunk(SipTrunkCmd::Create(SipTrunkCreateCmd::Inbound {
            name,
            numbers,
            allowed_addresses,
            allowed_numbers,
            auth: a,
        })) => {
            let (auth_username, auth_password) = auth(a)?;
            let params = SipInboundTrunkCreateParams {
                name: name.clone(),
                numbers: numbers.clone(),
                allowed_addresses: allowed_addresses.clone(),
                allowed_numbers: allowed_numbers.clone(),
                auth_username,
                auth_password,
                metadata: None,
            };
            let t = client.call::<SipInboundTrunkCreate>(&params).await?;
            show(json, &t, |t| trunks(std::slice::from_ref(t)));
        }
        SipCmd::Trunk(SipTrunkCmd::Create(SipTrunkCreateCmd::Outbound {
            name,
            address,
            numbers,
            transport,
            auth: a,
        })) => {
            let (auth_username, auth_password) = auth(a)?;
            let transport = transport
                .as_deref()
                .map(|t| choice("--transport", t, "auto, udp, tcp or tls"))
                .transpose()?;
            let params = SipOutboundTrunkCreateParams {
                name: name.clone(),
                address: address.clone(),
                numbers: numbers.clone(),
                transport,
                auth_username,
                auth_password,
                ..Default::default()
            };
            let t = client.call::<SipOutboundTrunkCreate>(&params).await?;
            show(json, &t, |t| trunks(std::slice::from_ref(t)));
        }
        SipCmd::Trunk(SipTrunkCmd::List { inbound, outbound }) => {
            let p = SipTrunkListParams::default();
            let mut all = Vec::new();
            if !outbound {
                all.extend(client.call::<SipInboundTrunkList>(&p).await?.trunks);
            }
            if !inbound {
                all.extend(client.call::<SipOutboundTrunkList>(&p).await?.trunks);
            }
            let l = SipTrunkList { trunks: all };
            show(json, &l, |l| trunks(&l.trunks));
        }
        SipCmd::Trunk(SipTrunkCmd::Delete { trunk_id }) => {
            let p = SipTrunkIdParams {
                trunk_id: trunk_id.clone(),
            };
            // Either kind: the inbound one first, then the outbound one.
            let t = match client.call::<SipInboundTrunkDelete>(&p).await {
                Err(hero_livekit_api::ClientError::Rpc { code, .. })
                    if code == codes::NOT_FOUND =>
                {
                    client
                        .call::<SipOutboundTrunkDelete>(&p)
                        .await
                        .map_err(|e| match e {
                            hero_livekit_api::ClientError::Rpc { code, .. }
                                if code == codes::NOT_FOUND =>
                            {
                                Failure::Failed(format!("no SIP trunk {trunk_id}"))
                            }
                            other => other.into(),
                        })?
                }
                other => other?,
            };
            show(json, &t, |t| {
                println!("SIP trunk {} ({}) deleted", t.trunk_id, t.name)
            });
        }
        SipCmd::Rule(SipRuleCmd::Create {
            kind,
            room,
            prefix,
            pin_env,
            trunk_ids,
            numbers,
            name,
            hide_number,
        }) => {
            let params = SipDispatchRuleCreateParams {
                kind: choice("KIND", kind, "direct, individual or callee")?,
                room: room.clone(),
                room_prefix: prefix.clone(),
                pin: secret_env("--pin-env", pin_env)?,
                trunk_ids: trunk_ids.clone(),
                numbers: numbers.clone(),
                name: name.clone(),
                hide_phone_number: hide_number.then_some(true),
                ..Default::default()
            };
            let r = client.call::<SipDispatchRuleCreate>(&params).await?;
            show(json, &r, |r| rules(std::slice::from_ref(r)));
        }
        SipCmd::Rule(SipRuleCmd::List) => {
            let l = client
                .call::<SipDispatchRuleListM>(&SipDispatchRuleListParams::default())
                .await?;
            show(json, &l, |l| rules(&l.rules));
        }
        SipCmd::Rule(SipRuleCmd::Delete { rule_id }) => {
            let p = SipDispatchRuleIdParams {
                rule_id: rule_id.clone(),
            };
            let r = client.call::<SipDispatchRuleDelete>(&p).await?;
            show(json, &r, |r| {
                println!("dispatch rule {} deleted", r.rule_id)
            });
        }
        SipCmd::Call {
            room,
            number,
            trunk,
            from,
            identity,
            name,
            dtmf,
            wait,
        } => {
            let params = SipCallParams {
                room: room.clone(),
                number: number.clone(),
                trunk_id: trunk.clone(),
                from_number: from.clone(),
                identity: identity.clone(),
                name: name.clone(),
                dtmf: dtmf.clone(),
                wait_until_answered: wait.then_some(true),
                ..Default::default()
            };
            let c = client.call::<SipCallM>(&params).await?;
            show(json, &c, |c| {
                println!(
                    "calling {number}: joins room {} as {} (call {})",
                    c.room, c.identity, c.sip_call_id
                )
            });
        }
        SipCmd::Transfer { room, identity, to } => {
            let params = SipTransferParams {
                room: room.clone(),
                identity: identity.clone(),
                transfer_to: to.clone(),
                play_dialtone: None,
            };
            let e = client.call::<SipTransfer>(&params).await?;
            show(json, &e, |_| {
                println!("{identity}'s call is transferred to {to}; it left room {room}")
            });
        }
    }
    Ok(true)
}

fn dispatches(list: &[AgentDispatch]) {
    if list.is_empty() {
        println!("no agent dispatch (send one with `hero_livekit agent dispatch ROOM AGENT`)");
        return;
    }
    let rows = list
        .iter()
        .map(|d| {
            vec![
                d.dispatch_id.clone(),
                d.agent_name.clone(),
                d.room.clone(),
                d.created_at.clone().unwrap_or_else(|| "-".into()),
                if d.jobs.is_empty() {
                    "waiting for a worker".into()
                } else {
                    d.jobs
                        .iter()
                        .map(|j| format!("{} {}", j.job_id, j.status))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ]
        })
        .collect::<Vec<_>>();
    table(&["dispatch_id", "agent", "room", "created", "jobs"], &rows);
}

pub async fn agent(client: &RpcClient, cmd: &AgentCmd, json: bool) -> Outcome {
    match cmd {
        AgentCmd::Dispatch {
            room,
            agent,
            metadata,
        } => {
            let params = AgentDispatchCreateParams {
                room: room.clone(),
                agent_name: agent.clone(),
                metadata: metadata.clone(),
            };
            let d = client.call::<AgentDispatchCreate>(&params).await?;
            show(json, &d, |d| dispatches(std::slice::from_ref(d)));
        }
        AgentCmd::List { room } => {
            let params = AgentDispatchListParams {
                room: room.clone(),
                dispatch_id: None,
            };
            let l = client.call::<AgentDispatchListM>(&params).await?;
            show(json, &l, |l| dispatches(&l.dispatches));
        }
        AgentCmd::Delete { room, dispatch_id } => {
            let params = AgentDispatchDeleteParams {
                room: room.clone(),
                dispatch_id: dispatch_id.clone(),
            };
            let d = client.call::<AgentDispatchDelete>(&params).await?;
            show(json, &d, |d| {
                println!(
                    "agent dispatch {} of room {} deleted",
                    d.dispatch_id, d.room
                )
            });
        }
    }
    Ok(true)
}
