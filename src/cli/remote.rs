//! Commands answered by the control plane: one function per group, each calling the socket and
//! printing the result with [`output::show`] (text, or the RPC result with `--json`).

use std::collections::BTreeMap;
use std::time::Duration;

use hero_livekit_api::RpcClient;
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;

use super::TokenCreateArgs;
use super::{ConfigCmd, Failure, KeysCmd, NodeCmd, Outcome, ParticipantCmd, RoomCmd, TokenCmd};
use crate::output;

pub async fn status(client: &RpcClient, json: bool) -> Outcome {
    let s = client.call::<StatusM>(&NoParams {}).await?;
    output::show(json, &s, output::status);
    Ok(true)
}

pub async fn node(client: &RpcClient, cmd: &NodeCmd, json: bool) -> Outcome {
    match cmd {
        NodeCmd::List => {
            let list = client.call::<NodeListM>(&NoParams {}).await?;
            output::show(json, &list, output::nodes);
        }
    }
    Ok(true)
}

pub async fn token(client: &RpcClient, cmd: &TokenCmd, json: bool) -> Outcome {
    match cmd {
        TokenCmd::Create(a) => {
            let t = client.call::<TokenCreate>(&token_params(a)?).await?;
            output::show(json, &t, output::token_created);
            Ok(true)
        }
        TokenCmd::Decode { token } => {
            let params = TokenDecodeParams {
                token: token.clone(),
            };
            let d = client.call::<TokenDecode>(&params).await?;
            output::show(json, &d, output::token_decoded);
            // An invalid token is a "no" scripts can test.
            Ok(d.valid)
        }
    }
}

fn token_params(a: &TokenCreateArgs) -> Result<TokenCreateParams, Failure> {
    let grants = a
        .grants
        .as_deref()
        .map(serde_json::from_str::<Grants>)
        .transpose()
        .map_err(|e| Failure::Usage(format!("--grants: {e}")))?;
    let mut attributes = BTreeMap::new();
    for kv in &a.attributes {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Failure::Usage(format!("--attribute {kv:?}: expected KEY=VALUE")))?;
        attributes.insert(k.to_string(), v.to_string());
    }
    let preset = a
        .preset
        .as_deref()
        .map(|p| serde_json::from_value::<Preset>(p.into()).expect("clap checked the value"));
    Ok(TokenCreateParams {
        room: a.room.clone(),
        identity: a.identity.clone(),
        name: a.name.clone(),
        metadata: a.metadata.clone(),
        attributes: (!attributes.is_empty()).then_some(attributes),
        preset,
        grants,
        room_config: None,
        ttl_s: a.ttl.map(|d| d.as_secs()),
    })
}

pub async fn keys(client: &RpcClient, cmd: &KeysCmd, json: bool) -> Outcome {
    match cmd {
        KeysCmd::List { all } => {
            let params = KeysListParams {
                include_revoked: Some(*all),
            };
            let k = client.call::<KeysList>(&params).await?;
            output::show(json, &k, output::keys);
        }
        KeysCmd::Rotate { grace } => {
            let params = KeysRotateParams {
                grace_s: grace.map(|g| g.as_secs()),
            };
            let k = client.call::<KeysRotate>(&params).await?;
            output::show(json, &k, output::key_rotated);
        }
        KeysCmd::Revoke { api_key } => {
            let params = KeyParams {
                api_key: api_key.clone(),
            };
            let k = client.call::<KeysRevoke>(&params).await?;
            output::show(json, &k, |k| println!("{} revoked", k.api_key));
        }
    }
    Ok(true)
}

pub async fn config(client: &RpcClient, cmd: &ConfigCmd, json: bool) -> Outcome {
    match cmd {
        // The configuration is JSON in both forms.
        ConfigCmd::Show => output::print_json(&client.call::<ConfigGet>(&NoParams {}).await?),
        ConfigCmd::Files => {
            let f = client.call::<ConfigFilesM>(&NoParams {}).await?;
            output::show(json, &f, output::config_files);
        }
        ConfigCmd::Check => {
            let c = client.call::<ConfigCheckM>(&NoParams {}).await?;
            output::show(json, &c, output::config_check);
            // Disagreeing files are a "no" scripts can test.
            return Ok(c.ok);
        }
    }
    Ok(true)
}

pub async fn room(client: &RpcClient, cmd: &RoomCmd, json: bool) -> Outcome {
    match cmd {
        RoomCmd::List => {
            let r = client.call::<RoomListM>(&RoomListParams::default()).await?;
            output::show(json, &r, |r| output::rooms(&r.rooms));
        }
        RoomCmd::Create {
            name,
            empty_timeout,
            departure_timeout,
            max_participants,
            metadata,
        } => {
            let secs = |d: &Option<Duration>| d.map(|d| d.as_secs().min(u32::MAX as u64) as u32);
            let params = RoomCreateParams {
                name: name.clone(),
                empty_timeout_s: secs(empty_timeout),
                departure_timeout_s: secs(departure_timeout),
                max_participants: *max_participants,
                metadata: metadata.clone(),
            };
            let r = client.call::<RoomCreate>(&params).await?;
            output::show(json, &r, |r| output::rooms(std::slice::from_ref(r)));
        }
        RoomCmd::Delete { name } => {
            let params = RoomNameParams { name: name.clone() };
            client.call::<RoomDelete>(&params).await?;
            output::show(json, &Empty {}, |_| println!("room {name} deleted"));
        }
    }
    Ok(true)
}

pub async fn participant(client: &RpcClient, cmd: &ParticipantCmd, json: bool) -> Outcome {
    match cmd {
        ParticipantCmd::List { room } => {
            let params = RoomParams { room: room.clone() };
            let p = client.call::<ParticipantListM>(&params).await?;
            output::show(json, &p, |p| output::participants(&p.participants));
        }
        ParticipantCmd::Remove { room, identity } => {
            let params = ParticipantParams {
                room: room.clone(),
                identity: identity.clone(),
            };
            client.call::<ParticipantRemove>(&params).await?;
            output::show(json, &Empty {}, |_| {
                println!("{identity} removed from {room}")
            });
        }
        ParticipantCmd::Mute {
            room,
            identity,
            track_sid,
            unmute,
        } => {
            let params = MuteTrackParams {
                room: room.clone(),
                identity: identity.clone(),
                track_sid: track_sid.clone(),
                muted: !unmute,
            };
            let t = client.call::<ParticipantMuteTrack>(&params).await?;
            output::show(json, &t, output::track_muted);
        }
    }
    Ok(true)
}

pub async fn audit(
    client: &RpcClient,
    method: &Option<String>,
    since: &Option<String>,
    limit: u32,
    json: bool,
) -> Outcome {
    let params = AuditListParams {
        since: since.clone(),
        method: method.clone(),
        limit: Some(limit),
    };
    let a = client.call::<AuditListM>(&params).await?;
    output::show(json, &a, |a| output::audit(&a.entries));
    Ok(true)
}

/// Any method with JSON params; the result is always printed as JSON.
pub async fn rpc(client: &RpcClient, method: &str, params: Option<&str>) -> Outcome {
    let params: serde_json::Value = match params {
        Some(p) => serde_json::from_str(p)
            .map_err(|e| Failure::Usage(format!("params are not JSON: {e}")))?,
        None => serde_json::json!({}),
    };
    output::print_json(&client.call_raw(method, params).await?);
    Ok(true)
}

/// `deploy check`: exit 1 when a check failed.
pub async fn deploy_check(client: &RpcClient, resolve: &[String], json: bool) -> Outcome {
    let mut params = DeployCheckParams::default();
    for r in resolve {
        let (name, ip) = r
            .split_once('=')
            .ok_or_else(|| Failure::Usage(format!("--resolve {r:?}: expected NAME=IP")))?;
        params.resolve.insert(name.to_string(), ip.to_string());
    }
    let c = client.call::<DeployCheckM>(&params).await?;
    output::show(json, &c, output::deploy_check);
    Ok(c.ok)
}
