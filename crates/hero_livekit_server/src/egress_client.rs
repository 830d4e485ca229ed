//! Driving LiveKit's egress through livekit-server's Twirp `livekit.Egress` (side-services facts
//! §4.1–§4.3): our params turned into LiveKit's v1 requests (served by every livekit-server,
//! unlike the v2 `StartEgress`), each call signed with `roomRecord` only, and LiveKit's errors
//! turned into operator messages that keep LiveKit's own code and text.

use std::time::Duration;

use hero_livekit_api::errors as codes;
use hero_livekit_api::redact;
use hero_livekit_api::types::*;
use livekit_protocol as proto;

use crate::error::{Error, Result};
use crate::livekit::{EGRESS_SERVICE, Grant};
use crate::livekit_limits::{MAX_NAME_BYTES, check_len};
use crate::state::AppState;

/// A Start* call waits for a worker to take the request: psrpc answers "no response from
/// servers" only after ~20 s, and a worker launching Chrome takes seconds (facts §4.2).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One `livekit.Egress` call, signed by the active key with `roomRecord`.
pub async fn call<Req: prost::Message, Resp: prost::Message + Default>(
    state: &AppState,
    method: &str,
    req: Req,
) -> Result<Resp> {
    let rows = state.store().keys().await?;
    let key = crate::keys::signer(&rows)?;
    let timeout = method
        .starts_with("Start")
        .then(|| START_TIMEOUT.max(state.config().livekit_timeout));
    state
        .livekit()
        .call_service(
            EGRESS_SERVICE,
            (&key.api_key, key.secret.expose()),
            method,
            Grant::RoomRecord,
            req,
            timeout,
        )
        .await
        .map_err(|e| explain(e, state.config().redis.is_some()))
}

/// LiveKit's answer as an operator reads it (facts §4.2, corrected by what livekit-server's
/// code does): without a `redis:` block the Start* calls find no worker ("no response from
/// servers") and only List/Stop/UpdateStream/UpdateLayout say "egress not connected (redis
/// required)" — both mean "no Redis" then.
pub fn explain(e: Error, redis_configured: bool) -> Error {
    let (twirp_code, msg) = match e {
        Error::LiveKit { twirp_code, msg } => (twirp_code, msg),
        Error::TwirpNotFound { msg } => ("not_found".to_string(), msg),
        other => return other,
    };
    const NO_REDIS: &str = "egress needs Redis in livekit.yaml: set [redis] in the control \
                            plane's config (the same Redis for livekit-server and egress), \
                            restart hero_livekit_server, then livekit-server and egress";
    let (code, message) = match twirp_code.as_str() {
        "internal" if msg.contains("not connected (redis required)") => {
            (codes::LIVEKIT_ERROR, NO_REDIS.to_string())
        }
        "unavailable" if !redis_configured => (codes::LIVEKIT_ERROR, NO_REDIS.to_string()),
        "unavailable" => (
            codes::LIVEKIT_ERROR,
            "no egress worker with capacity is registered: start livekit-egress on the same \
             Redis (`hero_livekit doctor` checks it), or give it room (egress.cpu_cost; a host \
             with fewer cores than a room composite costs turns it away)"
                .to_string(),
        ),
        "deadline_exceeded" => (
            codes::LIVEKIT_ERROR,
            "egress did not answer in time (a worker is registered but busy or stuck)".to_string(),
        ),
        "unauthenticated" if msg.contains("invalid API key") => (
            codes::LIVEKIT_ERROR,
            "the SFU does not accept the active key: restart livekit-server (`hero_livekit \
             status` says why)"
                .to_string(),
        ),
        "unauthenticated" | "permission_denied" => (
            codes::LIVEKIT_ERROR,
            "missing grant: LiveKit wants roomRecord for every egress call".to_string(),
        ),
        "invalid_argument" => (
            codes::LIVEKIT_ERROR,
            format!("egress refused the request: {msg}"),
        ),
        "failed_precondition" => (codes::CONFLICT, format!("cannot do that now: {msg}")),
        "not_found" if msg.contains("room") => (
            codes::NOT_FOUND,
            "no such room is open on the SFU (egress records rooms that exist: create it, or \
             join it first)"
                .to_string(),
        ),
        "not_found" if msg.contains("egress") => {
            (codes::NOT_FOUND, "no such egress (LiveKit forgets an egress 24 h after it ended; the recordings catalogue keeps it)".to_string())
        }
        "not_found" => (codes::NOT_FOUND, format!("not found: {msg}")),
        _ => {
            return Error::LiveKit { twirp_code, msg };
        }
    };
    Error::Explained {
        code,
        message: format!("{message} (LiveKit: {twirp_code} \"{msg}\")"),
        twirp_code,
        msg,
    }
}

// ---- params → LiveKit's requests ------------------------------------------------------------

fn name(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::params(field, "must not be empty"));
    }
    check_len(field, value, MAX_NAME_BYTES)
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn s3(x: &S3Storage) -> proto::S3Upload {
    proto::S3Upload {
        access_key: s(&x.access_key),
        secret: s(&x.secret),
        session_token: s(&x.session_token),
        assume_role_arn: s(&x.assume_role_arn),
        assume_role_external_id: s(&x.assume_role_external_id),
        region: s(&x.region),
        endpoint: s(&x.endpoint),
        bucket: x.bucket.clone(),
        force_path_style: x.force_path_style.unwrap_or(false),
        metadata: x.metadata.clone().unwrap_or_default().into_iter().collect(),
        tagging: s(&x.tagging),
        content_disposition: s(&x.content_disposition),
        proxy: None,
    }
}

fn check_storage(field: &str, st: &Storage) -> Result<()> {
    let need = |f: &str, v: &str| {
        if v.trim().is_empty() {
            Err(Error::params(format!("{field}.{f}"), "must not be empty"))
        } else {
            Ok(())
        }
    };
    match st {
        Storage::S3(x) => {
            need("s3.bucket", &x.bucket)?;
            if x.access_key.is_some() != x.secret.is_some() {
                return Err(Error::params(
                    format!("{field}.s3.secret"),
                    "access_key and secret go together",
                ));
            }
            Ok(())
        }
        Storage::Gcp(x) => need("gcp.bucket", &x.bucket),
        Storage::Azure(x) => {
            need("azure.account_name", &x.account_name)?;
            need("azure.account_key", &x.account_key)?;
            need("azure.container_name", &x.container_name)
        }
        Storage::AliOss(x) => {
            need("alioss.bucket", &x.bucket)?;
            need("alioss.endpoint", &x.endpoint)
        }
    }
}

/// Maps a [`Storage`] onto the oneof `output` of one of LiveKit's output messages.
macro_rules! upload {
    ($st:expr, $m:ident) => {
        $st.as_ref().map(|st| match st {
            Storage::S3(x) => proto::$m::Output::S3(s3(x)),
            Storage::Gcp(x) => proto::$m::Output::Gcp(proto::GcpUpload {
                credentials: s(&x.credentials),
                bucket: x.bucket.clone(),
                proxy: None,
            }),
            Storage::Azure(x) => proto::$m::Output::Azure(proto::AzureBlobUpload {
                account_name: x.account_name.clone(),
                account_key: x.account_key.clone(),
                container_name: x.container_name.clone(),
            }),
            Storage::AliOss(x) => proto::$m::Output::AliOss(proto::AliOssUpload {
                access_key: x.access_key.clone(),
                secret: x.secret.clone(),
                region: s(&x.region),
                endpoint: x.endpoint.clone(),
                bucket: x.bucket.clone(),
            }),
        })
    };
}

/// The four output lists of a v1 request.
#[derive(Default)]
struct Outputs {
    file: Vec<proto::EncodedFileOutput>,
    stream: Vec<proto::StreamOutput>,
    segments: Vec<proto::SegmentedFileOutput>,
    images: Vec<proto::ImageOutput>,
}

/// Stream URLs must be absolute URLs egress can publish to; messages never show a stream key.
fn check_stream_url(field: &str, u: &str, protocol: Option<StreamProtocol>) -> Result<()> {
    let shown = redact::url(u);
    let parsed = url::Url::parse(u).map_err(|_| {
        Error::params(
            field,
            format!("{shown:?} is not a URL (rtmp://host/app/key)"),
        )
    })?;
    let ok: &[&str] = match protocol {
        Some(StreamProtocol::Rtmp) => &["rtmp", "rtmps"],
        Some(StreamProtocol::Srt) => &["srt"],
        Some(StreamProtocol::Websocket) => &["ws", "wss"],
        None => &["rtmp", "rtmps", "srt", "mux", "twitch"],
    };
    if !ok.contains(&parsed.scheme()) {
        return Err(Error::params(
            field,
            format!("{shown:?} must be {}", ok.join(", ")),
        ));
    }
    Ok(())
}

fn outputs(
    file: &Option<FileOutput>,
    stream: &Option<StreamOutput>,
    segments: &Option<SegmentsOutput>,
    images: &Option<ImagesOutput>,
    video: bool,
) -> Result<Outputs> {
    let mut o = Outputs::default();
    if let Some(f) = file {
        if let Some(st) = &f.storage {
            check_storage("file.storage", st)?;
        }
        o.file.push(proto::EncodedFileOutput {
            file_type: match f.file_type {
                None => proto::EncodedFileType::DefaultFiletype,
                Some(FileType::Mp4) => proto::EncodedFileType::Mp4,
                Some(FileType::Ogg) => proto::EncodedFileType::Ogg,
                Some(FileType::Mp3) => proto::EncodedFileType::Mp3,
            } as i32,
            filepath: f.filepath.clone(),
            disable_manifest: f.disable_manifest.unwrap_or(false),
            output: upload!(f.storage, encoded_file_output),
        });
    }
    if let Some(st) = stream {
        if st.urls.is_empty() {
            return Err(Error::params(
                "stream.urls",
                "give at least one URL (rtmp://host/app/key)",
            ));
        }
        for (i, u) in st.urls.iter().enumerate() {
            check_stream_url(&format!("stream.urls[{i}]"), u, st.protocol)?;
        }
        o.stream.push(proto::StreamOutput {
            protocol: match st.protocol {
                None => proto::StreamProtocol::DefaultProtocol,
                Some(StreamProtocol::Rtmp) => proto::StreamProtocol::Rtmp,
                Some(StreamProtocol::Srt) => proto::StreamProtocol::Srt,
                Some(StreamProtocol::Websocket) => proto::StreamProtocol::Websocket,
            } as i32,
            urls: st.urls.clone(),
        });
    }
    if let Some(sg) = segments {
        if let Some(st) = &sg.storage {
            check_storage("segments.storage", st)?;
        }
        o.segments.push(proto::SegmentedFileOutput {
            protocol: proto::SegmentedFileProtocol::HlsProtocol as i32,
            filename_prefix: sg.filename_prefix.clone(),
            playlist_name: s(&sg.playlist_name),
            live_playlist_name: s(&sg.live_playlist_name),
            segment_duration: sg.segment_duration_s.unwrap_or(0),
            filename_suffix: match sg.filename_suffix {
                Some(SegmentSuffix::Timestamp) => proto::SegmentedFileSuffix::Timestamp,
                _ => proto::SegmentedFileSuffix::Index,
            } as i32,
            disable_manifest: sg.disable_manifest.unwrap_or(false),
            output: upload!(sg.storage, segmented_file_output),
        });
    }
    if let Some(im) = images {
        if im.capture_interval_s == 0 {
            return Err(Error::params(
                "images.capture_interval_s",
                "must be at least 1 (seconds between images)",
            ));
        }
        if !video {
            return Err(Error::params(
                "images",
                "an audio-only egress has no images to capture",
            ));
        }
        if let Some(st) = &im.storage {
            check_storage("images.storage", st)?;
        }
        o.images.push(proto::ImageOutput {
            capture_interval: im.capture_interval_s,
            width: im.width.unwrap_or(0),
            height: im.height.unwrap_or(0),
            filename_prefix: im.filename_prefix.clone(),
            filename_suffix: match im.filename_suffix {
                None | Some(ImageSuffix::Index) => proto::ImageFileSuffix::ImageSuffixIndex,
                Some(ImageSuffix::Timestamp) => proto::ImageFileSuffix::ImageSuffixTimestamp,
                Some(ImageSuffix::NoneOverwrite) => {
                    proto::ImageFileSuffix::ImageSuffixNoneOverwrite
                }
            } as i32,
            image_codec: proto::ImageCodec::IcDefault as i32,
            disable_manifest: im.disable_manifest.unwrap_or(false),
            output: upload!(im.storage, image_output),
        });
    }
    if o.file.is_empty() && o.stream.is_empty() && o.segments.is_empty() && o.images.is_empty() {
        return Err(Error::params(
            "file",
            "give at least one output: file, stream, segments or images",
        ));
    }
    Ok(o)
}

fn audio_video(audio_only: Option<bool>, video_only: Option<bool>) -> Result<(bool, bool)> {
    let (a, v) = (audio_only.unwrap_or(false), video_only.unwrap_or(false));
    if a && v {
        return Err(Error::params(
            "video_only",
            "audio_only and video_only exclude each other",
        ));
    }
    Ok((a, v))
}

fn http_url(field: &str, u: &str) -> Result<()> {
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => Ok(()),
        _ => Err(Error::params(
            field,
            format!("{:?} must be an http:// or https:// URL", redact::url(u)),
        )),
    }
}

pub fn room_composite(p: &EgressRoomCompositeParams) -> Result<proto::RoomCompositeEgressRequest> {
    name("room", &p.room)?;
    let (audio_only, video_only) = audio_video(p.audio_only, p.video_only)?;
    if let Some(u) = &p.custom_base_url {
        http_url("custom_base_url", u)?;
    }
    let o = outputs(&p.file, &p.stream, &p.segments, &p.images, !audio_only)?;
    Ok(proto::RoomCompositeEgressRequest {
        room_name: p.room.clone(),
        layout: s(&p.layout),
        audio_only,
        video_only,
        audio_mixing: match p.audio_mixing {
            None | Some(AudioMixing::Default) => proto::AudioMixing::DefaultMixing,
            Some(AudioMixing::DualChannelAgent) => proto::AudioMixing::DualChannelAgent,
            Some(AudioMixing::DualChannelAlternate) => proto::AudioMixing::DualChannelAlternate,
        } as i32,
        custom_base_url: s(&p.custom_base_url),
        file_outputs: o.file,
        stream_outputs: o.stream,
        segment_outputs: o.segments,
        image_outputs: o.images,
        options: p
            .preset
            .map(|x| proto::room_composite_egress_request::Options::Preset(x.to_proto() as i32)),
        ..Default::default()
    })
}

pub fn participant(p: &EgressParticipantParams) -> Result<proto::ParticipantEgressRequest> {
    name("room", &p.room)?;
    name("identity", &p.identity)?;
    let o = outputs(&p.file, &p.stream, &p.segments, &p.images, true)?;
    Ok(proto::ParticipantEgressRequest {
        room_name: p.room.clone(),
        identity: p.identity.clone(),
        screen_share: p.screen_share.unwrap_or(false),
        file_outputs: o.file,
        stream_outputs: o.stream,
        segment_outputs: o.segments,
        image_outputs: o.images,
        options: p
            .preset
            .map(|x| proto::participant_egress_request::Options::Preset(x.to_proto() as i32)),
        ..Default::default()
    })
}

pub fn track_composite(
    p: &EgressTrackCompositeParams,
) -> Result<proto::TrackCompositeEgressRequest> {
    name("room", &p.room)?;
    let audio = s(&p.audio_track_sid);
    let video = s(&p.video_track_sid);
    if audio.is_empty() && video.is_empty() {
        return Err(Error::params(
            "audio_track_sid",
            "give audio_track_sid, video_track_sid or both",
        ));
    }
    let o = outputs(
        &p.file,
        &p.stream,
        &p.segments,
        &p.images,
        !video.is_empty(),
    )?;
    Ok(proto::TrackCompositeEgressRequest {
        room_name: p.room.clone(),
        audio_track_id: audio,
        video_track_id: video,
        file_outputs: o.file,
        stream_outputs: o.stream,
        segment_outputs: o.segments,
        image_outputs: o.images,
        options: p
            .preset
            .map(|x| proto::track_composite_egress_request::Options::Preset(x.to_proto() as i32)),
        ..Default::default()
    })
}

pub fn track(p: &EgressTrackParams) -> Result<proto::TrackEgressRequest> {
    name("room", &p.room)?;
    name("track_sid", &p.track_sid)?;
    let output = match (&p.file, &p.websocket_url) {
        (Some(f), None) => {
            if let Some(st) = &f.storage {
                check_storage("file.storage", st)?;
            }
            proto::track_egress_request::Output::File(proto::DirectFileOutput {
                filepath: f.filepath.clone(),
                disable_manifest: f.disable_manifest.unwrap_or(false),
                output: upload!(f.storage, direct_file_output),
            })
        }
        (None, Some(u)) => {
            check_stream_url("websocket_url", u, Some(StreamProtocol::Websocket))?;
            proto::track_egress_request::Output::WebsocketUrl(u.clone())
        }
        _ => {
            return Err(Error::params(
                "file",
                "give exactly one of file and websocket_url",
            ));
        }
    };
    Ok(proto::TrackEgressRequest {
        room_name: p.room.clone(),
        track_id: p.track_sid.clone(),
        output: Some(output),
        ..Default::default()
    })
}

pub fn web(p: &EgressWebParams) -> Result<proto::WebEgressRequest> {
    http_url("url", &p.url)?;
    let (audio_only, video_only) = audio_video(p.audio_only, p.video_only)?;
    let o = outputs(&p.file, &p.stream, &p.segments, &p.images, !audio_only)?;
    Ok(proto::WebEgressRequest {
        url: p.url.clone(),
        audio_only,
        video_only,
        await_start_signal: p.await_start_signal.unwrap_or(false),
        file_outputs: o.file,
        stream_outputs: o.stream,
        segment_outputs: o.segments,
        image_outputs: o.images,
        options: p
            .preset
            .map(|x| proto::web_egress_request::Options::Preset(x.to_proto() as i32)),
        ..Default::default()
    })
}

pub fn egress_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::params(field, "must not be empty"));
    }
    check_len(field, id, MAX_NAME_BYTES)
}

pub fn update_stream(p: &EgressUpdateStreamParams) -> Result<proto::UpdateStreamRequest> {
    egress_id("egress_id", &p.egress_id)?;
    if p.add_urls.is_empty() && p.remove_urls.is_empty() {
        return Err(Error::params(
            "add_urls",
            "give URLs to add or to remove (remove_urls)",
        ));
    }
    for (i, u) in p.add_urls.iter().enumerate() {
        check_stream_url(&format!("add_urls[{i}]"), u, None)?;
    }
    Ok(proto::UpdateStreamRequest {
        egress_id: p.egress_id.clone(),
        add_output_urls: p.add_urls.clone(),
        remove_output_urls: p.remove_urls.clone(),
    })
}

/// Every page of a ListEgress.
pub async fn list(
    state: &AppState,
    mut req: proto::ListEgressRequest,
) -> Result<Vec<proto::EgressInfo>> {
    let mut items = Vec::new();
    // Bounded: a server that kept handing out tokens must not hold the caller forever.
    for _ in 0..100 {
        let resp: proto::ListEgressResponse = call(state, "ListEgress", req.clone()).await?;
        items.extend(resp.items);
        match resp.next_page_token.filter(|t| !t.token.is_empty()) {
            Some(t) => req.page_token = Some(t),
            None => break,
        }
    }
    Ok(items)
}

/// Egresses LiveKit lists as running (starting, active or ending).
pub async fn running(state: &AppState) -> Result<Vec<proto::EgressInfo>> {
    let req = proto::ListEgressRequest {
        active: true,
        ..Default::default()
    };
    list(state, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lk(code: &str, msg: &str) -> Error {
        Error::LiveKit {
            twirp_code: code.into(),
            msg: msg.into(),
        }
    }

    fn shown(e: Error) -> (i32, String) {
        match e {
            Error::Explained { code, message, .. } => (code, message),
            other => panic!("not explained: {other:?}"),
        }
    }

    #[test]
    fn livekits_errors_become_operator_messages_with_livekits_text() {
        let cases = [
            (
                lk("internal", "egress not connected (redis required)"),
                true,
                codes::LIVEKIT_ERROR,
                "egress needs Redis in livekit.yaml",
            ),
            (
                lk("unavailable", "no response from servers"),
                false,
                codes::LIVEKIT_ERROR,
                "egress needs Redis in livekit.yaml",
            ),
            (
                lk("unavailable", "no response from servers"),
                true,
                codes::LIVEKIT_ERROR,
                "no egress worker with capacity is registered",
            ),
            (
                lk("unauthenticated", "permissions denied"),
                true,
                codes::LIVEKIT_ERROR,
                "missing grant",
            ),
            (
                lk("unauthenticated", "invalid API key: APIx"),
                true,
                codes::LIVEKIT_ERROR,
                "does not accept the active key",
            ),
            (
                lk(
                    "failed_precondition",
                    "egress with status EGRESS_COMPLETE cannot be stopped",
                ),
                true,
                codes::CONFLICT,
                "cannot do that now",
            ),
            (
                Error::TwirpNotFound {
                    msg: "requested room does not exist".into(),
                },
                true,
                codes::NOT_FOUND,
                "no such room",
            ),
            (
                lk("not_found", "egress does not exist"),
                true,
                codes::NOT_FOUND,
                "no such egress",
            ),
            (
                lk(
                    "invalid_argument",
                    "request has missing or invalid field: output",
                ),
                true,
                codes::LIVEKIT_ERROR,
                "egress refused the request",
            ),
            (
                lk("deadline_exceeded", "request timed out"),
                true,
                codes::LIVEKIT_ERROR,
                "did not answer in time",
            ),
        ];
        for (e, redis, code, words) in cases {
            let original = e.to_string();
            let (c, m) = shown(explain(e, redis));
            assert_eq!(c, code, "{m}");
            assert!(m.contains(words), "{m}");
            // LiveKit's own text is always there.
            let livekit_text = original.rsplit(": ").next().unwrap();
            assert!(m.contains(livekit_text), "{m} lacks {livekit_text}");
        }
        // Anything else is passed through untouched.
        assert!(matches!(
            explain(
                Error::LiveKitUnreachable {
                    url: "u".into(),
                    reason: "r".into()
                },
                true,
            ),
            Error::LiveKitUnreachable { .. }
        ));
    }

    #[test]
    fn params_become_livekits_requests() {
        let p = EgressRoomCompositeParams {
            room: "standup".into(),
            layout: Some("grid".into()),
            audio_only: Some(true),
            preset: Some(EncodingPreset::H2641080p30),
            file: Some(FileOutput {
                filepath: "rec/{room_name}-{time}".into(),
                storage: Some(Storage::S3(S3Storage {
                    bucket: "b".into(),
                    access_key: Some("AK".into()),
                    secret: Some("SK".into()),
                    ..Default::default()
                })),
                ..Default::default()
            }),
            stream: Some(StreamOutput {
                urls: vec!["rtmp://a.rtmp.youtube.com/live2/key-1".into()],
                protocol: None,
            }),
            ..Default::default()
        };
        let r = room_composite(&p).unwrap();
        assert_eq!(r.room_name, "standup");
        assert!(r.audio_only);
        assert_eq!(r.file_outputs[0].filepath, "rec/{room_name}-{time}");
        match &r.file_outputs[0].output {
            Some(proto::encoded_file_output::Output::S3(s)) => {
                assert_eq!((s.bucket.as_str(), s.secret.as_str()), ("b", "SK"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.stream_outputs[0].urls.len(), 1);
        assert_eq!(
            r.options,
            Some(proto::room_composite_egress_request::Options::Preset(
                proto::EncodingOptionsPreset::H2641080p30 as i32
            ))
        );
    }

    #[test]
    fn bad_params_name_the_field_and_never_show_a_stream_key() {
        let no_output = EgressRoomCompositeParams {
            room: "r".into(),
            ..Default::default()
        };
        assert!(
            room_composite(&no_output)
                .unwrap_err()
                .to_string()
                .contains("at least one output")
        );
        let bad_url = EgressRoomCompositeParams {
            room: "r".into(),
            stream: Some(StreamOutput {
                urls: vec!["http://example.com/app/SECRETKEY".into()],
                protocol: None,
            }),
            ..Default::default()
        };
        let e = room_composite(&bad_url).unwrap_err().to_string();
        assert!(e.contains("stream.urls[0]"), "{e}");
        let rtmp_bad = EgressRoomCompositeParams {
            room: "r".into(),
            stream: Some(StreamOutput {
                urls: vec!["rtmp://h/app/SECRETKEY".into()],
                protocol: Some(StreamProtocol::Srt),
            }),
            ..Default::default()
        };
        let e = room_composite(&rtmp_bad).unwrap_err().to_string();
        assert!(!e.contains("SECRETKEY"), "{e}");
        let both = EgressTrackParams {
            room: "r".into(),
            track_sid: "TR_1".into(),
            ..Default::default()
        };
        assert!(
            track(&both)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let av = EgressWebParams {
            url: "https://example.com".into(),
            audio_only: Some(true),
            video_only: Some(true),
            ..Default::default()
        };
        assert!(web(&av).unwrap_err().to_string().contains("exclude"));
    }
}
