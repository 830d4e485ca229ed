//! livekit.Egress as livekit-server serves it (side-services facts §4, §5; LK
//! `pkg/service/egress.go`, `ioservice.go`) with a simulated egress worker behind it (the checks
//! of livekit/egress `pkg/config/pipeline.go` and `output.go`).
//!
//! - Every method needs `video.roomRecord` (Twirp `unauthenticated` otherwise).
//! - Without Redis, LiveKit still sends Start* to the (local, empty) psrpc bus after loading the
//!   room, so they answer `unavailable` "no response from servers"; the store-backed calls
//!   (List, UpdateLayout, UpdateStream, Stop) answer `internal` "egress not connected (redis
//!   required)". With Redis and no worker registered ([`Options::egress_worker`] false) the
//!   Start* calls answer "no response from servers" too — at once, not after psrpc's timeout.
//! - A started egress goes STARTING → ACTIVE → (StopEgress, or the source closing after
//!   [`Options::egress_duration`]) ENDING → COMPLETE, or STARTING → FAILED when its file output
//!   lies under [`Options::unwritable_prefix`]. Webhooks: `egress_started`, `egress_updated`
//!   (ACTIVE, ENDING), `egress_ended`. Finished egresses are forgotten after
//!   [`Options::egress_retention`] (LiveKit: 24 h).
//!
//! [`Options::egress_worker`]: crate::Options::egress_worker
//! [`Options::egress_duration`]: crate::Options::egress_duration
//! [`Options::unwritable_prefix`]: crate::Options::unwritable_prefix
//! [`Options::egress_retention`]: crate::Options::egress_retention

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::response::Response;
use livekit_protocol as proto;
use proto::EgressStatus as St;
use proto::egress_info::Request as Req;

use crate::Shared;
use crate::auth::Claims;
use crate::twirp::{Encoding, Reply, TwirpError, decode};

pub const METHODS: &[&str] = &[
    "StartEgress",
    "StartRoomCompositeEgress",
    "StartWebEgress",
    "StartParticipantEgress",
    "StartTrackCompositeEgress",
    "StartTrackEgress",
    "UpdateLayout",
    "UpdateStream",
    "ListEgress",
    "StopEgress",
];

/// One egress as the store keeps it.
#[derive(Debug, Clone)]
pub struct EgressEntry {
    pub info: proto::EgressInfo,
    /// When it reached a final status; the store forgets it `egress_retention` later.
    pub ended: Option<Instant>,
    /// Planned results, filled in as the egress ends.
    plan: Plan,
}

type R<T> = Result<T, TwirpError>;

fn not_connected() -> TwirpError {
    TwirpError::new("internal", "egress not connected (redis required)")
}

pub(crate) fn no_response() -> TwirpError {
    TwirpError::new("unavailable", "no response from servers")
}

fn invalid_input(field: &str) -> TwirpError {
    TwirpError::new(
        "invalid_argument",
        format!("request has missing or invalid field: {field}"),
    )
}

fn not_found() -> TwirpError {
    TwirpError::new("not_found", "egress does not exist")
}

pub fn call(
    shared: &Arc<Shared>,
    method: &str,
    claims: Option<&Claims>,
    enc: Encoding,
    body: &Bytes,
) -> Result<Response, TwirpError> {
    let claims = claims.cloned().unwrap_or_default();
    macro_rules! start {
        ($t:ty, $wrap:expr) => {{
            let req: $t = decode(enc, body)?;
            record(&claims)?;
            Ok(start(shared, $wrap(req))?.encode_as(enc))
        }};
    }
    match method {
        "StartEgress" => start!(proto::StartEgressRequest, Req::Egress),
        "StartRoomCompositeEgress" => start!(proto::RoomCompositeEgressRequest, Req::RoomComposite),
        "StartWebEgress" => start!(proto::WebEgressRequest, Req::Web),
        "StartParticipantEgress" => start!(proto::ParticipantEgressRequest, Req::Participant),
        "StartTrackCompositeEgress" => {
            start!(proto::TrackCompositeEgressRequest, Req::TrackComposite)
        }
        "StartTrackEgress" => start!(proto::TrackEgressRequest, Req::Track),
        "UpdateLayout" => {
            let req: proto::UpdateLayoutRequest = decode(enc, body)?;
            record(&claims)?;
            Ok(update_layout(shared, req)?.encode_as(enc))
        }
        "UpdateStream" => {
            let req: proto::UpdateStreamRequest = decode(enc, body)?;
            record(&claims)?;
            Ok(update_stream(shared, req)?.encode_as(enc))
        }
        "ListEgress" => {
            let req: proto::ListEgressRequest = decode(enc, body)?;
            record(&claims)?;
            Ok(list(shared, req)?.encode_as(enc))
        }
        "StopEgress" => {
            let req: proto::StopEgressRequest = decode(enc, body)?;
            record(&claims)?;
            Ok(stop(shared, &req.egress_id)?.encode_as(enc))
        }
        _ => unreachable!("router only passes METHODS"),
    }
}

/// `EnsureRecordPermission`, wrapped by `twirpAuthError`.
fn record(claims: &Claims) -> R<()> {
    if claims.can_record() {
        Ok(())
    } else {
        Err(TwirpError::permission_denied())
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as i64
}

// ---- starting -------------------------------------------------------------------------------

/// Where an output is uploaded, as far as locations and redaction need it.
#[derive(Debug, Clone, Default)]
struct Upload {
    /// Prefix of the location URL; empty = a local file on the egress host.
    base: String,
}

macro_rules! upload_of {
    ($v:expr, $m:ident :: $e:ident) => {
        match $v {
            None => Upload::default(),
            Some(proto::$m::$e::S3(s)) => Upload {
                base: if s.endpoint.is_empty() {
                    format!("https://{}.s3.amazonaws.com/", s.bucket)
                } else {
                    format!("{}/{}/", s.endpoint.trim_end_matches('/'), s.bucket)
                },
            },
            Some(proto::$m::$e::Gcp(g)) => Upload {
                base: format!("https://storage.googleapis.com/{}/", g.bucket),
            },
            Some(proto::$m::$e::Azure(a)) => Upload {
                base: format!(
                    "https://{}.blob.core.windows.net/{}/",
                    a.account_name, a.container_name
                ),
            },
            Some(proto::$m::$e::AliOss(o)) => Upload {
                base: format!("https://{}.{}/", o.bucket, o.endpoint),
            },
        }
    };
}

/// `RedactUpload` (protocol `egress/redact.go`): credentials become placeholders.
macro_rules! redact_upload {
    ($v:expr, $m:ident :: $e:ident) => {
        match $v {
            None => {}
            Some(proto::$m::$e::S3(s)) => {
                redact(&mut s.access_key, "{access_key}");
                redact(&mut s.secret, "{secret}");
                redact(&mut s.assume_role_external_id, "{external_id}");
                redact(&mut s.session_token, "{session_token}");
            }
            Some(proto::$m::$e::Gcp(g)) => redact(&mut g.credentials, "{credentials}"),
            Some(proto::$m::$e::Azure(a)) => {
                redact(&mut a.account_name, "{account_name}");
                redact(&mut a.account_key, "{account_key}");
            }
            Some(proto::$m::$e::AliOss(o)) => {
                redact(&mut o.access_key, "{access_key}");
                redact(&mut o.secret, "{secret}");
            }
        }
    };
}

/// The v1 output lists plus the deprecated single `output`, used when the lists are empty.
macro_rules! v1_outputs {
    ($r:expr, $m:ident) => {{
        #[allow(deprecated)]
        let single = &$r.output;
        let mut o = V1Outputs {
            files: files(&$r.file_outputs),
            streams: $r.stream_outputs.iter().collect(),
            segments: segments(&$r.segment_outputs),
            images: images(&$r.image_outputs),
        };
        #[allow(deprecated)]
        match single {
            Some(proto::$m::Output::File(f)) if o.files.is_empty() => o.files.push((
                f.filepath.as_str(),
                f.file_type,
                upload_of!(&f.output, encoded_file_output::Output),
            )),
            Some(proto::$m::Output::Stream(s)) if o.streams.is_empty() => o.streams.push(s),
            Some(proto::$m::Output::Segments(s)) if o.segments.is_empty() => o
                .segments
                .push((s, upload_of!(&s.output, segmented_file_output::Output))),
            _ => {}
        }
        o
    }};
}

macro_rules! deprecated_single {
    ($x:expr, $m:ident) => {
        match &mut $x.output {
            Some(proto::$m::Output::File(f)) => {
                redact_upload!(&mut f.output, encoded_file_output::Output)
            }
            Some(proto::$m::Output::Stream(s)) => redact_stream_output(s),
            Some(proto::$m::Output::Segments(s)) => {
                redact_upload!(&mut s.output, segmented_file_output::Output)
            }
            None => {}
        }
    };
}

fn redact(s: &mut String, name: &str) {
    if !s.is_empty() {
        *s = name.to_string();
    }
}

/// `RedactIdentifier`: keeps up to 3 characters at each end.
fn redact_identifier(id: &str) -> String {
    let n = id.chars().count();
    let (mut pre, mut suf) = (String::new(), String::new());
    for i in (1..=3).rev() {
        if n >= i * 3 {
            pre = id.chars().take(i).collect();
            suf = id.chars().skip(n - i).collect();
            break;
        }
    }
    format!("{{{pre}...{suf}}}")
}

/// `RedactStreamKey`: the stream key of `rtmp(s)://host/app/KEY`, mux:// and twitch:// URLs,
/// or every query value of other URLs.
pub(crate) fn redact_stream_key(url: &str) -> String {
    for scheme in ["mux://", "twitch://"] {
        if let Some(rest) = url.strip_prefix(scheme)
            && !rest.is_empty()
            && !rest.contains(char::is_whitespace)
        {
            return format!("{scheme}{}", redact_identifier(rest));
        }
    }
    let scheme = ["rtmp://", "rtmps://"]
        .into_iter()
        .find(|s| url.starts_with(s));
    if let Some(scheme) = scheme {
        let rest = &url[scheme.len()..];
        let (body, live) = match rest.strip_suffix(" live=1") {
            Some(b) => (b, " live=1"),
            None => (rest, ""),
        };
        if let Some(last) = body.rfind('/')
            && body[..last].contains('/')
            && !body[last + 1..].contains(char::is_whitespace)
        {
            return format!(
                "{scheme}{}/{}{live}",
                &body[..last],
                redact_identifier(&body[last + 1..])
            );
        }
    }
    match url.split_once('?') {
        Some((base, q)) if !q.is_empty() => {
            let params: Vec<String> = q
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, v)) if !v.is_empty() => format!("{k}={{...}}"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        _ => url.to_string(),
    }
}

fn redact_stream_output(s: &mut proto::StreamOutput) {
    for u in &mut s.urls {
        *u = redact_stream_key(u);
    }
}

/// What the worker will write, decided at start.
#[derive(Debug, Clone, Default)]
struct Plan {
    file: Option<(String, Upload)>,
    streams: Vec<String>,
    /// (filename prefix, playlist name, live playlist name, segment seconds, upload)
    segments: Option<(String, String, String, u32, Upload)>,
    images: Vec<(String, u32, Upload)>,
    /// The file path that decides the unwritable trigger.
    filepath: Option<String>,
    audio_only: bool,
    composite: bool,
    has_stream: bool,
}

/// The outputs of a v1 request, as `updateEncodedOutputs` sees them.
struct V1Outputs<'a> {
    files: Vec<(&'a str, i32, Upload)>,
    streams: Vec<&'a proto::StreamOutput>,
    segments: Vec<(&'a proto::SegmentedFileOutput, Upload)>,
    images: Vec<(&'a proto::ImageOutput, Upload)>,
}

/// The common output checks of egress `updateEncodedOutputs`.
fn plan_encoded(o: V1Outputs<'_>, video: bool, plan: &mut Plan) -> R<()> {
    if o.files.len() > 1 {
        return Err(invalid_input("multiple file outputs"));
    }
    if let Some((path, file_type, up)) = o.files.into_iter().next() {
        let ext = if file_type == proto::EncodedFileType::Ogg as i32 {
            "ogg"
        } else if file_type == proto::EncodedFileType::Mp3 as i32 {
            "mp3"
        } else if !video {
            "ogg"
        } else {
            "mp4"
        };
        plan.filepath = Some(path.to_string());
        plan.file = Some((with_ext(path, ext), up));
    }
    if o.streams.len() > 1 {
        return Err(invalid_input("multiple stream outputs"));
    }
    let others = plan.file.is_some() || !o.segments.is_empty() || !o.images.is_empty();
    if let Some(s) = o.streams.first() {
        check_stream(s)?;
        if !others && s.urls.is_empty() {
            return Err(invalid_input("stream url"));
        }
        plan.streams = s.urls.clone();
        plan.has_stream = true;
    }
    if o.segments.len() > 1 {
        return Err(invalid_input("multiple segmented file outputs"));
    }
    if let Some((seg, up)) = o.segments.into_iter().next() {
        if !seg.live_playlist_name.is_empty() && seg.live_playlist_name == seg.playlist_name {
            return Err(invalid_input(
                "live_playlist_name cannot be identical to playlist_name",
            ));
        }
        let prefix = if seg.filename_prefix.is_empty() {
            "{room_name}-{time}".to_string()
        } else {
            seg.filename_prefix.clone()
        };
        let playlist = if seg.playlist_name.is_empty() {
            format!("{prefix}.m3u8")
        } else {
            with_ext(&seg.playlist_name, "m3u8")
        };
        let secs = if seg.segment_duration == 0 {
            4
        } else {
            seg.segment_duration
        };
        plan.segments = Some((prefix, playlist, seg.live_playlist_name.clone(), secs, up));
    }
    if !o.images.is_empty() && !video {
        return Err(invalid_input("audio_only images"));
    }
    for (img, up) in o.images {
        let prefix = if img.filename_prefix.is_empty() {
            "{room_name}-{time}".to_string()
        } else {
            img.filename_prefix.clone()
        };
        let every = if img.capture_interval == 0 {
            10
        } else {
            img.capture_interval
        };
        plan.images.push((prefix, every, up));
    }
    if plan.file.is_none()
        && plan.streams.is_empty()
        && plan.segments.is_none()
        && plan.images.is_empty()
    {
        return Err(invalid_input("output"));
    }
    plan.audio_only = !video;
    Ok(())
}

/// Stream URLs: the protocol or the first URL's scheme must be one egress can publish to.
fn check_stream(s: &proto::StreamOutput) -> R<()> {
    if s.protocol == proto::StreamProtocol::DefaultProtocol as i32 {
        let Some(first) = s.urls.first() else {
            return Err(invalid_input("stream protocol"));
        };
        let scheme = first.split_once("://").map(|(s, _)| s).unwrap_or("");
        if !matches!(
            scheme,
            "rtmp" | "rtmps" | "mux" | "twitch" | "srt" | "ws" | "wss"
        ) {
            return Err(TwirpError::new(
                "invalid_argument",
                format!("invalid url {}: invalid protocol", redact_stream_key(first)),
            ));
        }
    }
    Ok(())
}

fn with_ext(path: &str, ext: &str) -> String {
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}{{room_name}}-{{time}}")
    } else {
        path.to_string()
    };
    let name = path.rsplit('/').next().unwrap_or("");
    if name.contains('.') {
        path
    } else {
        format!("{path}.{ext}")
    }
}

fn is_http(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|h| !h.is_empty())
}

/// Checks one request as the egress worker would and plans its outputs.
fn plan(request: &Req) -> R<(String, proto::EgressSourceType, Plan)> {
    let mut plan = Plan::default();
    use proto::EgressSourceType::{Sdk, Web};
    match request {
        Req::RoomComposite(r) => {
            if r.audio_only && r.video_only {
                return Err(invalid_input("audio_only and video_only"));
            }
            if !r.custom_base_url.is_empty() && !is_http(&r.custom_base_url) {
                return Err(invalid_input("template base url"));
            }
            plan.composite = true;
            plan_encoded(
                v1_outputs!(r, room_composite_egress_request),
                !r.audio_only,
                &mut plan,
            )?;
            Ok((r.room_name.clone(), Web, plan))
        }
        Req::Web(r) => {
            if !is_http(&r.url) {
                return Err(invalid_input("web url"));
            }
            if r.audio_only && r.video_only {
                return Err(invalid_input("audio_only and video_only"));
            }
            plan.composite = true;
            plan_encoded(v1_outputs!(r, web_egress_request), !r.audio_only, &mut plan)?;
            Ok((String::new(), Web, plan))
        }
        Req::Participant(r) => {
            if r.identity.is_empty() {
                return Err(invalid_input("identity"));
            }
            let o = V1Outputs {
                files: files(&r.file_outputs),
                streams: r.stream_outputs.iter().collect(),
                segments: segments(&r.segment_outputs),
                images: images(&r.image_outputs),
            };
            plan_encoded(o, true, &mut plan)?;
            Ok((r.room_name.clone(), Sdk, plan))
        }
        Req::TrackComposite(r) => {
            if r.audio_track_id.is_empty() && r.video_track_id.is_empty() {
                return Err(invalid_input("audio_track_id or video_track_id"));
            }
            plan_encoded(
                v1_outputs!(r, track_composite_egress_request),
                !r.video_track_id.is_empty(),
                &mut plan,
            )?;
            Ok((r.room_name.clone(), Sdk, plan))
        }
        Req::Track(r) => {
            if r.track_id.is_empty() {
                return Err(invalid_input("track_id"));
            }
            match &r.output {
                Some(proto::track_egress_request::Output::File(f)) => {
                    plan.filepath = Some(f.filepath.clone());
                    let up = upload_of!(&f.output, direct_file_output::Output);
                    // Track egress writes the track's own container (no transcoding).
                    plan.file = Some((with_ext(&f.filepath, "ogg"), up));
                }
                Some(proto::track_egress_request::Output::WebsocketUrl(u)) => {
                    if !(u.starts_with("ws://") || u.starts_with("wss://")) {
                        return Err(TwirpError::new(
                            "invalid_argument",
                            format!("invalid url {}: invalid protocol", redact_stream_key(u)),
                        ));
                    }
                    plan.streams = vec![u.clone()];
                }
                None => return Err(invalid_input("output")),
            }
            Ok((r.room_name.clone(), Sdk, plan))
        }
        Req::Egress(r) => {
            use proto::start_egress_request::Source;
            let (video, kind) = match &r.source {
                Some(Source::Template(t)) => {
                    if t.audio_only && t.video_only {
                        return Err(invalid_input("audio_only and video_only"));
                    }
                    plan.composite = true;
                    (!t.audio_only, Web)
                }
                Some(Source::Web(w)) => {
                    if !is_http(&w.url) {
                        return Err(invalid_input("web url"));
                    }
                    if w.audio_only && w.video_only {
                        return Err(invalid_input("audio_only and video_only"));
                    }
                    plan.composite = true;
                    (!w.audio_only, Web)
                }
                Some(Source::Media(m)) => {
                    if m.video.is_none() && m.audio.is_none() {
                        return Err(invalid_input("media source"));
                    }
                    (m.video.is_some(), Sdk)
                }
                None => return Err(invalid_input("source")),
            };
            if r.outputs.is_empty() {
                return Err(invalid_input("output"));
            }
            let storage = |o: &proto::Output| {
                o.storage
                    .as_ref()
                    .or(r.storage.as_ref())
                    .map(|s| upload_of!(&s.provider, storage_config::Provider))
                    .unwrap_or_default()
            };
            let mut o = V1Outputs {
                files: vec![],
                streams: vec![],
                segments: vec![],
                images: vec![],
            };
            use proto::output::Config;
            for out in &r.outputs {
                match &out.config {
                    Some(Config::File(f)) => o.files.push((&f.filepath, f.file_type, storage(out))),
                    Some(Config::Stream(s)) => o.streams.push(s),
                    Some(Config::Segments(s)) => o.segments.push((s, storage(out))),
                    Some(Config::Images(i)) => o.images.push((i, storage(out))),
                    None => return Err(invalid_input("output config")),
                }
            }
            plan_encoded(o, video, &mut plan)?;
            let room = if matches!(r.source, Some(Source::Web(_))) {
                String::new()
            } else {
                r.room_name.clone()
            };
            Ok((room, kind, plan))
        }
        Req::Replay(_) => Err(TwirpError::new(
            "invalid_argument",
            "replay is not yet supported",
        )),
    }
}

fn files(v: &[proto::EncodedFileOutput]) -> Vec<(&str, i32, Upload)> {
    v.iter()
        .map(|f| {
            (
                f.filepath.as_str(),
                f.file_type,
                upload_of!(&f.output, encoded_file_output::Output),
            )
        })
        .collect()
}

fn segments(v: &[proto::SegmentedFileOutput]) -> Vec<(&proto::SegmentedFileOutput, Upload)> {
    v.iter()
        .map(|s| (s, upload_of!(&s.output, segmented_file_output::Output)))
        .collect()
}

fn images(v: &[proto::ImageOutput]) -> Vec<(&proto::ImageOutput, Upload)> {
    v.iter()
        .map(|i| (i, upload_of!(&i.output, image_output::Output)))
        .collect()
}

/// The request as EgressInfo echoes it: credentials and stream keys redacted.
fn redacted(request: &Req) -> Req {
    let mut r = request.clone();
    macro_rules! encoded {
        ($x:expr, $m:ident) => {{
            for f in &mut $x.file_outputs {
                redact_upload!(&mut f.output, encoded_file_output::Output);
            }
            for s in &mut $x.stream_outputs {
                redact_stream_output(s);
            }
            for s in &mut $x.segment_outputs {
                redact_upload!(&mut s.output, segmented_file_output::Output);
            }
            for i in &mut $x.image_outputs {
                redact_upload!(&mut i.output, image_output::Output);
            }
        }};
    }
    #[allow(deprecated)]
    match &mut r {
        Req::RoomComposite(x) => {
            encoded!(x, room_composite_egress_request);
            deprecated_single!(x, room_composite_egress_request);
        }
        Req::Web(x) => {
            encoded!(x, web_egress_request);
            deprecated_single!(x, web_egress_request);
        }
        Req::TrackComposite(x) => {
            encoded!(x, track_composite_egress_request);
            deprecated_single!(x, track_composite_egress_request);
        }
        Req::Participant(x) => encoded!(x, participant_egress_request),
        Req::Track(x) => match &mut x.output {
            Some(proto::track_egress_request::Output::File(f)) => {
                redact_upload!(&mut f.output, direct_file_output::Output)
            }
            Some(proto::track_egress_request::Output::WebsocketUrl(u)) => {
                *u = redact_stream_key(u);
            }
            None => {}
        },
        Req::Egress(x) => {
            if let Some(s) = &mut x.storage {
                redact_upload!(&mut s.provider, storage_config::Provider);
            }
            for o in &mut x.outputs {
                if let Some(s) = &mut o.storage {
                    redact_upload!(&mut s.provider, storage_config::Provider);
                }
                if let Some(proto::output::Config::Stream(s)) = &mut o.config {
                    redact_stream_output(s);
                }
            }
        }
        Req::Replay(_) => {}
    }
    r
}

/// `{room_name}`, `{room_id}`, `{time}`, `{utc}` in a filename template.
fn expand(template: &str, room_name: &str, room_id: &str) -> String {
    let now = crate::state::unix_now().0;
    let (y, mo, d, h, mi, s) = civil(now);
    template
        .replace("{room_name}", room_name)
        .replace("{room_id}", room_id)
        .replace(
            "{time}",
            &format!("{y:04}-{mo:02}-{d:02}T{h:02}{mi:02}{s:02}"),
        )
        .replace("{utc}", &format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}"))
}

/// Unix seconds → UTC calendar fields (Howard Hinnant's days-from-civil inverse).
fn civil(t: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

fn start(shared: &Arc<Shared>, request: Req) -> R<proto::EgressInfo> {
    let room_name = match &request {
        Req::RoomComposite(r) => r.room_name.clone(),
        Req::Participant(r) => r.room_name.clone(),
        Req::TrackComposite(r) => r.room_name.clone(),
        Req::Track(r) => r.room_name.clone(),
        Req::Egress(r) => r.room_name.clone(),
        Req::Web(_) | Req::Replay(_) => String::new(),
    };
    // The launcher loads the room before asking a worker.
    let room_id = if room_name.is_empty() {
        String::new()
    } else {
        shared
            .state()
            .room(&room_name)
            .map(|r| r.room.sid.clone())
            .ok_or_else(TwirpError::room_not_found)?
    };
    if shared.config.redis.is_none() || !shared.options.egress_worker {
        return Err(no_response());
    }
    let (info_room, source_type, mut plan) = plan(&request)?;
    // The worker checks what the request names inside the room.
    {
        let mut state = shared.state();
        let room = state.room(&room_name);
        let participants = room.map(|r| r.participants.clone()).unwrap_or_default();
        let has_track = |sid: &str| {
            participants
                .iter()
                .any(|p| p.tracks.iter().any(|t| t.sid == sid))
        };
        match &request {
            Req::Participant(r) if !participants.iter().any(|p| p.identity == r.identity) => {
                return Err(TwirpError::new(
                    "not_found",
                    format!("participant {} not found", r.identity),
                ));
            }
            Req::TrackComposite(r) => {
                for t in [&r.audio_track_id, &r.video_track_id] {
                    if !t.is_empty() && !has_track(t) {
                        return Err(TwirpError::new("not_found", format!("track {t} not found")));
                    }
                }
            }
            Req::Track(r) if !has_track(&r.track_id) => {
                return Err(TwirpError::new(
                    "not_found",
                    format!("track {} not found", r.track_id),
                ));
            }
            _ => {}
        }
    }
    // Filename templates are resolved when the worker starts.
    if let Some((name, up)) = plan.file.take() {
        plan.file = Some((expand(&name, &info_room, &room_id), up));
    }
    if let Some(seg) = plan.segments.as_mut() {
        seg.0 = expand(&seg.0, &info_room, &room_id);
        seg.1 = expand(&seg.1, &info_room, &room_id);
    }
    for img in &mut plan.images {
        img.0 = expand(&img.0, &info_room, &room_id);
    }
    let now = now_ns();
    let mut info = proto::EgressInfo {
        egress_id: crate::state::new_id("EG_"),
        room_id: room_id.clone(),
        room_name: info_room,
        source_type: source_type as i32,
        status: St::EgressStarting as i32,
        updated_at: now,
        request: Some(redacted(&request)),
        ..Default::default()
    };
    info.stream_results = plan
        .streams
        .iter()
        .map(|u| proto::StreamInfo {
            url: redact_stream_key(u),
            status: proto::stream_info::Status::Active as i32,
            ..Default::default()
        })
        .collect();
    let id = info.egress_id.clone();
    {
        let mut state = shared.state();
        state.egress.insert(
            id.clone(),
            EgressEntry {
                info: info.clone(),
                ended: None,
                plan: plan.clone(),
            },
        );
        state.emit_egress("egress_started", &info);
    }
    let fails = match (&plan.filepath, &shared.options.unwritable_prefix) {
        (Some(path), Some(prefix)) => !prefix.is_empty() && path.starts_with(prefix.as_str()),
        _ => false,
    };
    tokio::spawn(lifecycle(shared.clone(), id, fails));
    Ok(info)
}

/// The worker's side: STARTING → ACTIVE (or FAILED), then ENDING → COMPLETE after the
/// configured duration unless StopEgress got there first.
async fn lifecycle(shared: Arc<Shared>, id: String, fails: bool) {
    let o = shared.options.clone();
    tokio::time::sleep(o.egress_start_delay).await;
    {
        let mut state = shared.state();
        let Some(e) = state.egress.get_mut(&id) else {
            return;
        };
        if e.info.status != St::EgressStarting as i32 {
            return;
        }
        let now = now_ns();
        if fails {
            let path = e.plan.filepath.clone().unwrap_or_default();
            e.info.status = St::EgressFailed as i32;
            e.info.error = format!("open {path}: permission denied");
            e.info.error_code = 500;
            e.info.details = "End reason: Failure".into();
            e.info.updated_at = now;
            e.info.ended_at = now;
            e.info.stream_results.clear();
            e.ended = Some(Instant::now());
            let info = e.info.clone();
            state.emit_egress("egress_ended", &info);
            return;
        }
        e.info.status = St::EgressActive as i32;
        e.info.started_at = now;
        e.info.updated_at = now;
        for s in &mut e.info.stream_results {
            s.started_at = now;
        }
        let info = e.info.clone();
        state.emit_egress("egress_updated", &info);
    }
    if let Some(d) = o.egress_duration {
        tokio::time::sleep(d).await;
        end(&shared, &id, "Source closed");
    }
}

/// ENDING now (webhook), COMPLETE after `egress_end_delay`. Returns the ENDING info, or None
/// when the egress is not running.
fn end(shared: &Arc<Shared>, id: &str, reason: &str) -> Option<proto::EgressInfo> {
    let ending = {
        let mut state = shared.state();
        let e = state.egress.get_mut(id)?;
        if e.info.status > St::EgressActive as i32 {
            return None;
        }
        let now = now_ns();
        if e.info.started_at == 0 {
            e.info.started_at = now;
        }
        e.info.status = St::EgressEnding as i32;
        e.info.updated_at = now;
        e.info.details = format!("End reason: {reason}");
        let info = e.info.clone();
        state.emit_egress("egress_updated", &info);
        info
    };
    let shared2 = shared.clone();
    let id = id.to_string();
    let delay = shared.options.egress_end_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut state = shared2.state();
        let Some(e) = state.egress.get_mut(&id) else {
            return;
        };
        complete(e);
        let info = e.info.clone();
        state.emit_egress("egress_ended", &info);
    });
    Some(ending)
}

/// Results of a finished recording: sizes at the preset's ~3.1 Mbit/s (audio only ~128 kbit/s).
fn complete(e: &mut EgressEntry) {
    let now = now_ns();
    let started = e.info.started_at;
    let dur = (now - started).max(0);
    let secs = dur as f64 / 1e9;
    let rate = if e.plan.audio_only {
        16_000.0
    } else {
        391_000.0
    };
    let size = (secs * rate) as i64 + 1024;
    e.info.status = St::EgressComplete as i32;
    e.info.updated_at = now;
    e.info.ended_at = now;
    let loc = |up: &Upload, name: &str| format!("{}{}", up.base, name);
    e.info.file_results = e
        .plan
        .file
        .iter()
        .map(|(name, up)| proto::FileInfo {
            filename: name.clone(),
            started_at: started,
            ended_at: now,
            duration: dur,
            size,
            location: loc(up, name),
        })
        .collect();
    e.info.segment_results = e
        .plan
        .segments
        .iter()
        .map(
            |(_prefix, playlist, live, secs_per, up)| proto::SegmentsInfo {
                playlist_name: playlist.clone(),
                live_playlist_name: live.clone(),
                duration: dur,
                size,
                playlist_location: loc(up, playlist),
                live_playlist_location: if live.is_empty() {
                    String::new()
                } else {
                    loc(up, live)
                },
                segment_count: (secs / f64::from(*secs_per)).ceil().max(1.0) as i64,
                started_at: started,
                ended_at: now,
            },
        )
        .collect();
    e.info.image_results = e
        .plan
        .images
        .iter()
        .map(|(prefix, every, _)| proto::ImagesInfo {
            filename_prefix: prefix.clone(),
            image_count: (secs / f64::from(*every)).floor() as i64 + 1,
            started_at: started,
            ended_at: now,
        })
        .collect();
    for s in &mut e.info.stream_results {
        if s.status == proto::stream_info::Status::Active as i32 {
            s.status = proto::stream_info::Status::Finished as i32;
            s.ended_at = now;
            s.duration = now - s.started_at;
        }
    }
    // The deprecated single result, set when there is exactly one kind of output.
    #[allow(deprecated)]
    {
        use proto::egress_info::Result as Res;
        let kinds = usize::from(!e.info.file_results.is_empty())
            + usize::from(!e.info.stream_results.is_empty())
            + usize::from(!e.info.segment_results.is_empty())
            + usize::from(!e.info.image_results.is_empty());
        e.info.result = if kinds != 1 {
            None
        } else if let Some(f) = e.info.file_results.first() {
            Some(Res::File(f.clone()))
        } else if let Some(s) = e.info.segment_results.first() {
            Some(Res::Segments(s.clone()))
        } else if !e.info.stream_results.is_empty() {
            Some(Res::Stream(proto::StreamInfoList {
                info: e.info.stream_results.clone(),
            }))
        } else {
            None
        };
    }
    e.ended = Some(Instant::now());
}

// ---- control ---------------------------------------------------------------------------------

fn load(shared: &Shared, id: &str) -> R<proto::EgressInfo> {
    if shared.config.redis.is_none() {
        return Err(not_connected());
    }
    shared
        .state()
        .egress_entry(id, shared.options.egress_retention)
        .map(|e| e.info.clone())
        .ok_or_else(not_found)
}

fn list(shared: &Shared, req: proto::ListEgressRequest) -> R<proto::ListEgressResponse> {
    if shared.config.redis.is_none() {
        return Err(not_connected());
    }
    if !req.egress_id.is_empty() {
        return Ok(proto::ListEgressResponse {
            items: vec![load(shared, &req.egress_id)?],
            next_page_token: None,
        });
    }
    let mut state = shared.state();
    state.forget_egress(shared.options.egress_retention);
    let mut items: Vec<proto::EgressInfo> = state
        .egress
        .values()
        .map(|e| &e.info)
        .filter(|i| req.room_name.is_empty() || i.room_name == req.room_name)
        .filter(|i| !req.active || i.status < St::EgressComplete as i32)
        .cloned()
        .collect();
    items.sort_by_key(|i| (i.updated_at, i.egress_id.clone()));
    Ok(proto::ListEgressResponse {
        items,
        next_page_token: None,
    })
}

fn cannot(info: &proto::EgressInfo, what: &str) -> TwirpError {
    let status = St::try_from(info.status).map_or("UNKNOWN", |s| s.as_str_name());
    TwirpError::new(
        "failed_precondition",
        format!("egress with status {status} cannot be {what}"),
    )
}

fn stop(shared: &Arc<Shared>, id: &str) -> R<proto::EgressInfo> {
    match end(shared, id, "StopEgress API") {
        Some(info) => Ok(info),
        None => {
            // No worker holds it: what the store says decides the error.
            let info = load(shared, id)?;
            Err(cannot(&info, "stopped"))
        }
    }
}

fn update_stream(shared: &Shared, req: proto::UpdateStreamRequest) -> R<proto::EgressInfo> {
    let info = load(shared, &req.egress_id)?;
    if info.status > St::EgressActive as i32 {
        return Err(cannot(&info, "updated"));
    }
    let mut state = shared.state();
    let Some(e) = state.egress.get_mut(&req.egress_id) else {
        return Err(not_found());
    };
    if !e.plan.has_stream {
        return Err(TwirpError::new(
            "invalid_argument",
            "UpdateStream called on non-streaming egress",
        ));
    }
    for u in &req.add_output_urls {
        check_stream(&proto::StreamOutput {
            protocol: 0,
            urls: vec![u.clone()],
        })?;
    }
    for u in &req.remove_output_urls {
        if !e.plan.streams.contains(u) {
            return Err(TwirpError::new(
                "not_found",
                format!("stream {} not found", redact_stream_key(u)),
            ));
        }
    }
    let now = now_ns();
    for u in req.add_output_urls {
        if !e.plan.streams.contains(&u) {
            e.info.stream_results.push(proto::StreamInfo {
                url: redact_stream_key(&u),
                started_at: if e.info.status == St::EgressActive as i32 {
                    now
                } else {
                    0
                },
                status: proto::stream_info::Status::Active as i32,
                ..Default::default()
            });
            e.plan.streams.push(u);
        }
    }
    for u in req.remove_output_urls {
        e.plan.streams.retain(|s| *s != u);
        let shown = redact_stream_key(&u);
        if let Some(s) = e
            .info
            .stream_results
            .iter_mut()
            .find(|s| s.url == shown && s.status == proto::stream_info::Status::Active as i32)
        {
            s.status = proto::stream_info::Status::Finished as i32;
            s.ended_at = now;
            s.duration = now - s.started_at;
        }
    }
    e.info.updated_at = now;
    Ok(e.info.clone())
}

fn update_layout(shared: &Shared, req: proto::UpdateLayoutRequest) -> R<proto::EgressInfo> {
    let info = load(shared, &req.egress_id)?;
    // The server updates the metadata of the recorder's participant (identity = egress id),
    // which exists only while a composite egress is running.
    let mut state = shared.state();
    let e = state.egress.get_mut(&req.egress_id).ok_or_else(not_found)?;
    if !e.plan.composite || e.info.status != St::EgressActive as i32 {
        return Err(TwirpError::participant_not_found());
    }
    match &mut e.info.request {
        Some(Req::RoomComposite(r)) => r.layout = req.layout,
        Some(Req::Egress(r)) => {
            if let Some(proto::start_egress_request::Source::Template(t)) = &mut r.source {
                t.layout = req.layout;
            }
        }
        _ => {}
    }
    Ok(info)
}

impl Reply for proto::EgressInfo {
    fn to_json(&self) -> serde_json::Value {
        crate::json::proto_names(self)
    }
}
impl Reply for proto::ListEgressResponse {
    fn to_json(&self) -> serde_json::Value {
        crate::json::proto_names(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_are_redacted_like_livekit() {
        assert_eq!(
            redact_stream_key("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"),
            "rtmp://a.rtmp.youtube.com/live2/{abc...jkl}"
        );
        assert_eq!(redact_stream_key("twitch://key12345"), "twitch://{ke...45}");
        assert_eq!(
            redact_stream_key("srt://host:1?streamid=secret&x="),
            "srt://host:1?streamid={...}&x="
        );
        assert_eq!(redact_stream_key("rtmp://host/key"), "rtmp://host/key");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    }
}
