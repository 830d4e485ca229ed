//! `egress.*` params and results (design §5.7; side-services facts §4.3, §5), and LiveKit's
//! `EgressInfo` as the control plane and lk-backend's recordings catalogue both show it: one
//! conversion ([`EgressInfo::from_proto`]), so `egress.list` and `GET /api/egress` can never
//! describe one recording in two ways.
//!
//! Secrets in params are named so the one redaction rule hides them (`secret`, `account_key`,
//! `credentials`, `session_token`, stream keys inside stream URLs): the audit log and logs show
//! them redacted, and results never carry them.

use std::collections::BTreeMap;

use livekit_protocol as proto;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::redact;
use crate::timefmt::rfc3339;

/// Where one output is uploaded, replacing the configured `[egress.storage]` for this request
/// (egress replaces the credentials whole; side-services facts §1.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    S3(S3Storage),
    Gcp(GcpStorage),
    Azure(AzureStorage),
    #[serde(rename = "alioss")]
    AliOss(AliOssStorage),
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Storage {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// A secret: redacted in the audit log and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role_external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// For S3-compatible stores (MinIO, R2, …), e.g. `https://minio.example:9000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Path-style addressing, which MinIO needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_path_style: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagging: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcpStorage {
    pub bucket: String,
    /// The service account's JSON key, as text (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureStorage {
    pub account_name: String,
    /// A secret.
    pub account_key: String,
    pub container_name: String,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AliOssStorage {
    pub access_key: String,
    /// A secret.
    pub secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub endpoint: String,
    pub bucket: String,
}

/// Container of a recorded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    Mp4,
    Ogg,
    Mp3,
}

/// A recording to one file (MP4 by default; OGG when audio only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileOutput {
    /// Path template: `{room_name}`, `{room_id}`, `{time}`, `{utc}`, `{publisher_identity}`,
    /// `{track_id}`, `{track_type}`, `{track_source}`. Empty, or ending in `/`, means
    /// `{room_name}-{time}` (in that directory); the extension follows the file type.
    #[serde(default)]
    pub filepath: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<FileType>,
    /// Do not write the `.json` manifest next to the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_manifest: Option<bool>,
    /// Upload here instead of the configured storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamProtocol {
    Rtmp,
    Srt,
    Websocket,
}

/// A live stream to one or more URLs (`rtmp://`, `rtmps://`, `srt://`). The URLs carry stream
/// keys: they are redacted in the audit log, logs and every result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamOutput {
    pub urls: Vec<String>,
    /// Default: from the first URL's scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<StreamProtocol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentSuffix {
    Index,
    Timestamp,
}

/// HLS: segments plus a playlist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsOutput {
    /// Prefix of every segment file (a template, like `filepath`).
    #[serde(default)]
    pub filename_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playlist_name: Option<String>,
    /// A second playlist holding only the latest segments (for live viewing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_playlist_name: Option<String>,
    /// Seconds per segment (LiveKit's default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_duration_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename_suffix: Option<SegmentSuffix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_manifest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageSuffix {
    Index,
    Timestamp,
    NoneOverwrite,
}

/// Thumbnails every `capture_interval_s` seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagesOutput {
    pub capture_interval_s: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    #[serde(default)]
    pub filename_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename_suffix: Option<ImageSuffix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_manifest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

/// LiveKit's encoding presets (`EncodingOptionsPreset`); `h264_720p_30` is LiveKit's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EncodingPreset {
    #[serde(rename = "h264_720p_30")]
    H264720p30,
    #[serde(rename = "h264_720p_60")]
    H264720p60,
    #[serde(rename = "h264_1080p_30")]
    H2641080p30,
    #[serde(rename = "h264_1080p_60")]
    H2641080p60,
    #[serde(rename = "portrait_h264_720p_30")]
    PortraitH264720p30,
    #[serde(rename = "portrait_h264_720p_60")]
    PortraitH264720p60,
    #[serde(rename = "portrait_h264_1080p_30")]
    PortraitH2641080p30,
    #[serde(rename = "portrait_h264_1080p_60")]
    PortraitH2641080p60,
}

impl EncodingPreset {
    pub fn to_proto(self) -> proto::EncodingOptionsPreset {
        use proto::EncodingOptionsPreset as P;
        match self {
            EncodingPreset::H264720p30 => P::H264720p30,
            EncodingPreset::H264720p60 => P::H264720p60,
            EncodingPreset::H2641080p30 => P::H2641080p30,
            EncodingPreset::H2641080p60 => P::H2641080p60,
            EncodingPreset::PortraitH264720p30 => P::PortraitH264720p30,
            EncodingPreset::PortraitH264720p60 => P::PortraitH264720p60,
            EncodingPreset::PortraitH2641080p30 => P::PortraitH2641080p30,
            EncodingPreset::PortraitH2641080p60 => P::PortraitH2641080p60,
        }
    }
}

/// How a room composite mixes audio (`AudioMixing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudioMixing {
    Default,
    DualChannelAgent,
    DualChannelAlternate,
}

/// `egress.start_room_composite`: the whole room through a layout template (LiveKit's
/// `StartRoomCompositeEgress`). At least one output; at most one of each kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressRoomCompositeParams {
    pub room: String,
    /// `grid` (LiveKit's default), `speaker`, `speaker-dark`, `single-speaker`, `grid-dark`, or
    /// a custom template's layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_mixing: Option<AudioMixing>,
    /// A custom recording template (http/https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<EncodingPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentsOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesOutput>,
}

/// `egress.start_participant`: one participant's camera (or screen share) and microphone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressParticipantParams {
    pub room: String,
    pub identity: String,
    /// Record the screen share instead of the camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_share: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<EncodingPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentsOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesOutput>,
}

/// `egress.start_track_composite`: one audio and/or one video track, transcoded together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressTrackCompositeParams {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_track_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_track_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<EncodingPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentsOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesOutput>,
}

/// The file of a track egress: the track as published, without transcoding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectFileOutput {
    #[serde(default)]
    pub filepath: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_manifest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

/// `egress.start_track`: one track, exactly as published, to a file or a WebSocket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressTrackParams {
    pub room: String,
    pub track_sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<DirectFileOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket_url: Option<String>,
}

/// `egress.start_web`: any web page (http/https), recorded or streamed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressWebParams {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_only: Option<bool>,
    /// Wait for the page to call `startRecording()` (LiveKit's egress SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub await_start_signal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<EncodingPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentsOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesOutput>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_id: Option<String>,
    /// Only egresses still starting, active or ending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EgressList {
    /// What LiveKit still knows: it forgets a finished egress 24 h after it ends (the
    /// recordings catalogue of lk-backend keeps it).
    pub egresses: Vec<EgressInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressIdParams {
    pub egress_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressUpdateLayoutParams {
    pub egress_id: String,
    pub layout: String,
}

/// Adds or removes stream URLs of a running streaming egress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressUpdateStreamParams {
    pub egress_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_urls: Vec<String>,
}

/// What an egress records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EgressKind {
    RoomComposite,
    Web,
    Participant,
    TrackComposite,
    Track,
    /// LiveKit's unified v2 `StartEgress` with media tracks as the source.
    Media,
    Replay,
    Unknown,
}

impl EgressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EgressKind::RoomComposite => "room_composite",
            EgressKind::Web => "web",
            EgressKind::Participant => "participant",
            EgressKind::TrackComposite => "track_composite",
            EgressKind::Track => "track",
            EgressKind::Media => "media",
            EgressKind::Replay => "replay",
            EgressKind::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == s)
    }
}

const ALL_KINDS: &[EgressKind] = &[
    EgressKind::RoomComposite,
    EgressKind::Web,
    EgressKind::Participant,
    EgressKind::TrackComposite,
    EgressKind::Track,
    EgressKind::Media,
    EgressKind::Replay,
    EgressKind::Unknown,
];

/// LiveKit's `EgressStatus`, in its order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EgressStatus {
    Starting,
    Active,
    Ending,
    Complete,
    Failed,
    Aborted,
    LimitReached,
}

pub const ALL_STATUSES: &[EgressStatus] = &[
    EgressStatus::Starting,
    EgressStatus::Active,
    EgressStatus::Ending,
    EgressStatus::Complete,
    EgressStatus::Failed,
    EgressStatus::Aborted,
    EgressStatus::LimitReached,
];

impl EgressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EgressStatus::Starting => "starting",
            EgressStatus::Active => "active",
            EgressStatus::Ending => "ending",
            EgressStatus::Complete => "complete",
            EgressStatus::Failed => "failed",
            EgressStatus::Aborted => "aborted",
            EgressStatus::LimitReached => "limit_reached",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL_STATUSES.iter().copied().find(|k| k.as_str() == s)
    }

    /// Still running (LiveKit's `active` filter: starting, active, ending).
    pub fn is_running(self) -> bool {
        self <= EgressStatus::Ending
    }

    /// The status in the words an operator reads on a page.
    pub fn describe(self) -> &'static str {
        match self {
            EgressStatus::Starting => "starting",
            EgressStatus::Active => "recording",
            EgressStatus::Ending => "finishing (uploading)",
            EgressStatus::Complete => "complete",
            EgressStatus::Failed => "failed",
            EgressStatus::Aborted => "aborted",
            EgressStatus::LimitReached => "stopped at a session limit",
        }
    }

    fn from_proto(v: i32) -> Self {
        use proto::EgressStatus as P;
        match P::try_from(v) {
            Ok(P::EgressStarting) => EgressStatus::Starting,
            Ok(P::EgressActive) => EgressStatus::Active,
            Ok(P::EgressEnding) => EgressStatus::Ending,
            Ok(P::EgressComplete) => EgressStatus::Complete,
            Ok(P::EgressFailed) => EgressStatus::Failed,
            Ok(P::EgressLimitReached) => EgressStatus::LimitReached,
            // ABORTED, and a status a newer LiveKit adds: not running, not a success.
            Ok(P::EgressAborted) | Err(_) => EgressStatus::Aborted,
        }
    }
}

/// One recorded file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileResult {
    pub filename: String,
    /// Where it went: the upload's URL, or a path on the egress host.
    pub location: String,
    /// Bytes.
    pub size: i64,
    pub duration_s: Option<u64>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

/// One stream URL (its stream key redacted) and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StreamResult {
    pub url: String,
    /// `active`, `finished` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_s: Option<u64>,
}

/// An HLS recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentsResult {
    pub playlist_name: String,
    pub playlist_location: String,
    pub live_playlist_name: Option<String>,
    pub live_playlist_location: Option<String>,
    pub segment_count: i64,
    /// Bytes.
    pub size: i64,
    pub duration_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImagesResult {
    pub filename_prefix: String,
    pub image_count: i64,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

/// One egress: what `egress.*` returns and what the recordings catalogue keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EgressInfo {
    pub egress_id: String,
    /// Empty for a web egress.
    pub room_name: String,
    pub room_id: String,
    pub kind: EgressKind,
    pub status: EgressStatus,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub updated_at: Option<String>,
    /// From start to end (or to now's last update while running).
    pub duration_s: Option<u64>,
    /// LiveKit's error text, when it failed.
    pub error: Option<String>,
    /// HTTP-like code (412: the template never sent its start signal).
    pub error_code: Option<i32>,
    /// e.g. "End reason: StopEgress API".
    pub details: Option<String>,
    /// The upload failed and the files went to `[egress.backup]` instead.
    pub backup_storage_used: bool,
    pub manifest_location: Option<String>,
    pub files: Vec<FileResult>,
    pub streams: Vec<StreamResult>,
    pub segments: Vec<SegmentsResult>,
    pub images: Vec<ImagesResult>,
}

fn ns_time(ns: i64) -> Option<String> {
    (ns > 0).then(|| rfc3339(ns.div_euclid(1_000_000_000)))
}

fn ns_secs(ns: i64) -> Option<u64> {
    (ns > 0).then(|| ((ns + 500_000_000) / 1_000_000_000) as u64)
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn file_result(f: &proto::FileInfo) -> FileResult {
    FileResult {
        filename: f.filename.clone(),
        location: redact::url(&f.location),
        size: f.size,
        duration_s: ns_secs(f.duration),
        started_at: ns_time(f.started_at),
        ended_at: ns_time(f.ended_at),
    }
}

fn segments_result(s: &proto::SegmentsInfo) -> SegmentsResult {
    SegmentsResult {
        playlist_name: s.playlist_name.clone(),
        playlist_location: redact::url(&s.playlist_location),
        live_playlist_name: nonempty(&s.live_playlist_name),
        live_playlist_location: nonempty(&redact::url(&s.live_playlist_location)),
        segment_count: s.segment_count,
        size: s.size,
        duration_s: ns_secs(s.duration),
    }
}

fn stream_result(s: &proto::StreamInfo) -> StreamResult {
    use proto::stream_info::Status as S;
    StreamResult {
        // LiveKit already hides the key its own way; ours hides what it leaves.
        url: redact::url(&s.url),
        status: match S::try_from(s.status) {
            Ok(S::Active) => "active",
            Ok(S::Finished) => "finished",
            _ => "failed",
        }
        .to_string(),
        error: nonempty(&s.error),
        started_at: ns_time(s.started_at),
        ended_at: ns_time(s.ended_at),
        duration_s: ns_secs(s.duration),
    }
}

impl EgressInfo {
    /// LiveKit's `EgressInfo` (from a Twirp answer or a webhook). Results come from
    /// `file_results`, `segment_results`, `image_results` and `stream_results`, and from the
    /// deprecated `result` where the list of that kind is empty (some LiveKit versions fill
    /// only `result.file`, node-sdks#625).
    pub fn from_proto(i: &proto::EgressInfo) -> EgressInfo {
        use proto::egress_info::{Request as R, Result as Res};
        let kind = match &i.request {
            Some(R::RoomComposite(_)) => EgressKind::RoomComposite,
            Some(R::Web(_)) => EgressKind::Web,
            Some(R::Participant(_)) => EgressKind::Participant,
            Some(R::TrackComposite(_)) => EgressKind::TrackComposite,
            Some(R::Track(_)) => EgressKind::Track,
            Some(R::Replay(_)) => EgressKind::Replay,
            Some(R::Egress(e)) => {
                use proto::start_egress_request::Source;
                match &e.source {
                    Some(Source::Template(_)) => EgressKind::RoomComposite,
                    Some(Source::Web(_)) => EgressKind::Web,
                    Some(Source::Media(_)) => EgressKind::Media,
                    None => EgressKind::Unknown,
                }
            }
            None => EgressKind::Unknown,
        };
        let mut files: Vec<FileResult> = i.file_results.iter().map(file_result).collect();
        let mut segments: Vec<SegmentsResult> =
            i.segment_results.iter().map(segments_result).collect();
        let mut streams: Vec<StreamResult> = i.stream_results.iter().map(stream_result).collect();
        #[allow(deprecated)]
        match &i.result {
            Some(Res::File(f)) if files.is_empty() => files.push(file_result(f)),
            Some(Res::Segments(s)) if segments.is_empty() => segments.push(segments_result(s)),
            Some(Res::Stream(l)) if streams.is_empty() => {
                streams.extend(l.info.iter().map(stream_result))
            }
            _ => {}
        }
        let status = EgressStatus::from_proto(i.status);
        let end = if i.ended_at > 0 {
            i.ended_at
        } else if status.is_running() {
            i.updated_at
        } else {
            0
        };
        let duration_s = (i.started_at > 0 && end >= i.started_at)
            .then(|| ns_secs(end - i.started_at).unwrap_or(0));
        EgressInfo {
            egress_id: i.egress_id.clone(),
            room_name: i.room_name.clone(),
            room_id: i.room_id.clone(),
            kind,
            status,
            started_at: ns_time(i.started_at),
            ended_at: ns_time(i.ended_at),
            updated_at: ns_time(i.updated_at),
            duration_s,
            error: nonempty(&i.error),
            error_code: (i.error_code != 0).then_some(i.error_code),
            details: nonempty(&i.details),
            backup_storage_used: i.backup_storage_used,
            manifest_location: nonempty(&redact::url(&i.manifest_location)),
            files,
            streams,
            segments,
            images: i
                .image_results
                .iter()
                .map(|r| ImagesResult {
                    filename_prefix: r.filename_prefix.clone(),
                    image_count: r.image_count,
                    started_at: ns_time(r.started_at),
                    ended_at: ns_time(r.ended_at),
                })
                .collect(),
        }
    }

    /// Bytes written across files and segments.
    pub fn total_size(&self) -> i64 {
        self.files.iter().map(|f| f.size).sum::<i64>()
            + self.segments.iter().map(|s| s.size).sum::<i64>()
    }

    /// Where the output went, for a list: each file's and playlist's location, and each
    /// stream URL (redacted).
    pub fn locations(&self) -> Vec<String> {
        let mut out: Vec<String> = self.files.iter().map(|f| f.location.clone()).collect();
        out.extend(self.segments.iter().map(|s| s.playlist_location.clone()));
        out.extend(self.streams.iter().map(|s| s.url.clone()));
        out.extend(
            self.images
                .iter()
                .map(|i| format!("{}*", i.filename_prefix)),
        );
        out.retain(|l| !l.is_empty());
        out
    }

    /// Why it failed, in plain words, with LiveKit's own text (empty when it did not).
    pub fn problem(&self) -> Option<String> {
        let error = self.error.as_deref()?;
        let hint = match self.error_code {
            Some(412) => Some(
                "the recording template never started: egress could not reach LiveKit at its \
                 ws_url (check networking, and `insecure` for ws://)",
            ),
            _ if error.contains("permission denied") => Some(
                "egress could not write the file: the output directory is not writable by the \
                 user egress runs as (or configure [egress.storage])",
            ),
            _ if error.contains("invalid API key") || error.contains("signal connection") => Some(
                "egress could not join the room: its API key is not one the SFU accepts \
                 (restart egress after a key rotation)",
            ),
            _ => None,
        };
        Some(match (hint, self.error_code) {
            (Some(h), Some(c)) => format!("{h} (LiveKit: {error}, code {c})"),
            (Some(h), None) => format!("{h} (LiveKit: {error})"),
            (None, Some(c)) => format!("{error} (code {c})"),
            (None, None) => error.to_string(),
        })
    }
}

/// `GET /api/egress` of lk-backend: the recordings catalogue, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecordingList {
    pub egress: Vec<EgressInfo>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// `status.egress`: the egress service the control plane renders egress.yaml for.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EgressServiceStatus {
    /// The rendered egress.yaml.
    pub file: String,
    /// The key egress.yaml names (the active key).
    pub api_key: String,
    /// Recordings LiveKit lists as running; null when it could not be asked.
    pub active: Option<usize>,
    /// Why `active` is unknown.
    pub error: Option<String>,
    /// Retiring keys kept in livekit.yaml past their grace because a recording that started
    /// before the switch is still running (it signs with the old key).
    pub held_keys: Vec<String>,
    pub restart_required: bool,
    pub restart_reasons: Vec<String>,
}

crate::redacted_debug!(S3Storage, GcpStorage, AzureStorage, AliOssStorage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_from_the_lists_and_from_the_deprecated_result() {
        let file = proto::FileInfo {
            filename: "standup.mp4".into(),
            location: "https://b.s3.amazonaws.com/standup.mp4".into(),
            size: 1000,
            duration: 61_400_000_000,
            started_at: 1_800_000_000_000_000_000,
            ended_at: 1_800_000_061_400_000_000,
        };
        #[allow(deprecated)]
        let only_result = proto::EgressInfo {
            egress_id: "EG_1".into(),
            status: proto::EgressStatus::EgressComplete as i32,
            started_at: 1_800_000_000_000_000_000,
            ended_at: 1_800_000_062_000_000_000,
            result: Some(proto::egress_info::Result::File(file.clone())),
            request: Some(proto::egress_info::Request::RoomComposite(
                Default::default(),
            )),
            ..Default::default()
        };
        let e = EgressInfo::from_proto(&only_result);
        assert_eq!(e.kind, EgressKind::RoomComposite);
        assert_eq!(e.status, EgressStatus::Complete);
        assert_eq!(e.files.len(), 1);
        assert_eq!(e.files[0].duration_s, Some(61));
        assert_eq!(e.duration_s, Some(62));
        assert_eq!(e.started_at.as_deref(), Some("2027-01-15T08:00:00Z"));
        // Both filled: the list wins, nothing is counted twice.
        let mut both = only_result.clone();
        both.file_results = vec![file];
        assert_eq!(EgressInfo::from_proto(&both).files.len(), 1);
    }

    #[test]
    fn stream_keys_never_reach_a_result() {
        let i = proto::EgressInfo {
            stream_results: vec![proto::StreamInfo {
                url: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl".into(),
                status: proto::stream_info::Status::Active as i32,
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = EgressInfo::from_proto(&i);
        assert_eq!(
            e.streams[0].url,
            "rtmp://a.rtmp.youtube.com/live2/<redacted>"
        );
        assert_eq!(e.status, EgressStatus::Starting);
    }

    #[test]
    fn failures_read_as_plain_words_with_livekits_text() {
        let mut e = EgressInfo::from_proto(&proto::EgressInfo {
            status: proto::EgressStatus::EgressFailed as i32,
            error: "open /out/x.mp4: permission denied".into(),
            error_code: 500,
            ..Default::default()
        });
        let p = e.problem().unwrap();
        assert!(p.starts_with("egress could not write the file"), "{p}");
        assert!(p.contains("permission denied, code 500"), "{p}");
        e.error_code = Some(412);
        e.error = Some("Start signal not received".into());
        assert!(e.problem().unwrap().contains("never started"));
        e.error = None;
        assert_eq!(e.problem(), None);
    }

    #[test]
    fn names_round_trip() {
        for s in ALL_STATUSES {
            assert_eq!(EgressStatus::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for k in ALL_KINDS {
            assert_eq!(EgressKind::parse(k.as_str()), Some(*k));
        }
        let p: EgressRoomCompositeParams = serde_json::from_value(serde_json::json!({
            "room": "r", "preset": "h264_1080p_30",
            "file": {"filepath": "a/", "storage": {"s3": {"bucket": "b", "secret": "x"}}}
        }))
        .unwrap();
        assert_eq!(p.preset, Some(EncodingPreset::H2641080p30));
        assert!(matches!(p.file.unwrap().storage, Some(Storage::S3(_))));
    }
}
