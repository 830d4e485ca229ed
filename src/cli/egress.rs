//! `hero_livekit egress …` (through the control plane's `egress.*`) and `hero_livekit
//! recordings` (lk-backend's catalogue, reached through `backend.info`).

use hero_livekit_api::RpcClient;
use hero_livekit_api::methods::*;
use hero_livekit_api::types::*;

use super::{EgressCmd, EgressStartCmd, Failure, Outcome, OutputArgs};
use crate::output;

fn preset(p: &Option<String>) -> Result<Option<EncodingPreset>, Failure> {
    p.as_deref()
        .map(|p| {
            serde_json::from_value(serde_json::Value::String(p.to_lowercase())).map_err(|_| {
                Failure::Usage(format!(
                    "--preset {p:?}: use h264_720p_30, h264_720p_60, h264_1080p_30, \
                     h264_1080p_60 or portrait_… of those"
                ))
            })
        })
        .transpose()
}

/// (file, stream, segments) from the output flags.
fn outputs(
    o: &OutputArgs,
) -> (
    Option<FileOutput>,
    Option<StreamOutput>,
    Option<SegmentsOutput>,
) {
    let file = o.file.as_ref().map(|f| FileOutput {
        filepath: f.clone(),
        ..Default::default()
    });
    let stream = (!o.rtmp.is_empty()).then(|| StreamOutput {
        urls: o.rtmp.clone(),
        protocol: None,
    });
    let segments = o.hls.as_ref().map(|prefix| SegmentsOutput {
        filename_prefix: prefix.clone(),
        playlist_name: Some(format!(
            "{}.m3u8",
            prefix
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("playlist")
        )),
        ..Default::default()
    });
    (file, stream, segments)
}

pub async fn egress(client: &RpcClient, cmd: &EgressCmd, json: bool) -> Outcome {
    let started = match cmd {
        EgressCmd::Start(start) => start_one(client, start).await?,
        EgressCmd::List { room, active, id } => {
            let params = EgressListParams {
                room: room.clone(),
                egress_id: id.clone(),
                active: active.then_some(true),
            };
            let l = client.call::<EgressListM>(&params).await?;
            output::show(json, &l, |l| output::egresses(&l.egresses));
            return Ok(true);
        }
        EgressCmd::Stop { egress_id } => {
            let params = EgressIdParams {
                egress_id: egress_id.clone(),
            };
            let e = client.call::<EgressStop>(&params).await?;
            output::show(json, &e, |e| {
                println!(
                    "{} is {}: it finishes and uploads what it recorded (see `hero_livekit recordings`)",
                    e.egress_id,
                    e.status.describe()
                )
            });
            return Ok(true);
        }
        EgressCmd::UpdateLayout { egress_id, layout } => {
            let params = EgressUpdateLayoutParams {
                egress_id: egress_id.clone(),
                layout: layout.clone(),
            };
            client.call::<EgressUpdateLayout>(&params).await?
        }
        EgressCmd::UpdateStream {
            egress_id,
            add,
            remove,
        } => {
            let params = EgressUpdateStreamParams {
                egress_id: egress_id.clone(),
                add_urls: add.clone(),
                remove_urls: remove.clone(),
            };
            client.call::<EgressUpdateStream>(&params).await?
        }
    };
    output::show(json, &started, |e| {
        output::egresses(std::slice::from_ref(e))
    });
    Ok(true)
}

async fn start_one(client: &RpcClient, cmd: &EgressStartCmd) -> Result<EgressInfo, Failure> {
    Ok(match cmd {
        EgressStartCmd::RoomComposite {
            room,
            outputs: o,
            layout,
            audio_only,
            video_only,
        } => {
            let (file, stream, segments) = outputs(o);
            let params = EgressRoomCompositeParams {
                room: room.clone(),
                layout: layout.clone(),
                audio_only: audio_only.then_some(true),
                video_only: video_only.then_some(true),
                preset: preset(&o.preset)?,
                file,
                stream,
                segments,
                ..Default::default()
            };
            client.call::<EgressStartRoomComposite>(&params).await?
        }
        EgressStartCmd::Participant {
            room,
            identity,
            outputs: o,
            screen_share,
        } => {
            let (file, stream, segments) = outputs(o);
            let params = EgressParticipantParams {
                room: room.clone(),
                identity: identity.clone(),
                screen_share: screen_share.then_some(true),
                preset: preset(&o.preset)?,
                file,
                stream,
                segments,
                images: None,
            };
            client.call::<EgressStartParticipant>(&params).await?
        }
        EgressStartCmd::TrackComposite {
            room,
            outputs: o,
            audio,
            video,
        } => {
            let (file, stream, segments) = outputs(o);
            let params = EgressTrackCompositeParams {
                room: room.clone(),
                audio_track_sid: audio.clone(),
                video_track_sid: video.clone(),
                preset: preset(&o.preset)?,
                file,
                stream,
                segments,
                images: None,
            };
            client.call::<EgressStartTrackComposite>(&params).await?
        }
        EgressStartCmd::Track {
            room,
            track_sid,
            file,
        } => {
            let params = EgressTrackParams {
                room: room.clone(),
                track_sid: track_sid.clone(),
                file: Some(DirectFileOutput {
                    filepath: file.clone(),
                    ..Default::default()
                }),
                websocket_url: None,
            };
            client.call::<EgressStartTrack>(&params).await?
        }
        EgressStartCmd::Web {
            url,
            outputs: o,
            audio_only,
        } => {
            let (file, stream, segments) = outputs(o);
            let params = EgressWebParams {
                url: url.clone(),
                audio_only: audio_only.then_some(true),
                preset: preset(&o.preset)?,
                file,
                stream,
                segments,
                ..Default::default()
            };
            client.call::<EgressStartWeb>(&params).await?
        }
    })
}

/// GET `path` on lk-backend's privileged API, with the bearer `backend.info` hands out.
fn backend_get(base: &str, bearer: &str, path_and_query: &str) -> Result<String, Failure> {
    let url = format!("{}{path_and_query}", base.trim_end_matches('/'));
    let resp = ureq::get(&url)
        .config()
        .http_status_as_error(false)
        .build()
        .header("authorization", &format!("Bearer {bearer}"))
        .call()
        .map_err(|e| Failure::Unreachable(format!("lk-backend at {base} is unreachable: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .read_to_string()
        .map_err(|e| Failure::Failed(format!("lk-backend at {base}: {e}")))?;
    if status != 200 {
        let msg = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(body);
        return Err(Failure::Failed(format!(
            "lk-backend answered {status}: {msg}"
        )));
    }
    Ok(body)
}

pub async fn recordings(
    client: &RpcClient,
    room: &Option<String>,
    status: &Option<String>,
    limit: u32,
    json: bool,
) -> Outcome {
    let info = client.call::<BackendInfoM>(&NoParams {}).await?;
    let mut query = url_query(&[
        ("room", room.clone().unwrap_or_default()),
        ("status", status.clone().unwrap_or_default()),
        ("limit", limit.to_string()),
    ]);
    query.insert_str(0, "/api/egress");
    let body = tokio::task::spawn_blocking(move || backend_get(&info.url, &info.api_token, &query))
        .await
        .map_err(|e| Failure::Failed(e.to_string()))??;
    let list: RecordingList = serde_json::from_str(&body)
        .map_err(|e| Failure::Failed(format!("lk-backend sent an unreadable catalogue: {e}")))?;
    output::show(json, &list, |l| output::recordings(&l.egress));
    Ok(true)
}

fn url_query(pairs: &[(&str, String)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// Percent-encodes a query value (room names may hold anything).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
