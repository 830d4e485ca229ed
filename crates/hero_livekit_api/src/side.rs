//! `ingress.*`, `sip.*` and `agent.dispatch.*` params and results (design §5.7; side-services
//! facts §4.4–§4.6), and one conversion from each of LiveKit's messages.
//!
//! Secrets are named so the one redaction rule hides them: an ingress's `stream_key` (and the
//! `publish_url` that embeds it), a trunk's `auth_password`, a dispatch rule's `pin`. Only the
//! result of `ingress.create` carries the stream key, to the caller that created it; lists and
//! every other result leave it out, and a trunk's password is never given back at all.

use livekit_protocol as proto;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::timefmt::rfc3339;

// ---- ingress ---------------------------------------------------------------------------------

/// What an ingress takes in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngressInput {
    /// OBS and most encoders: publish to `rtmp://…/x/<stream key>`.
    #[default]
    Rtmp,
    /// WebRTC-HTTP ingestion: `POST <whip url>` with `Authorization: Bearer <stream key>`.
    Whip,
    /// Pulls an `http(s)://` or `srt://` source at once.
    Url,
}

impl IngressInput {
    pub fn to_proto(self) -> proto::IngressInput {
        match self {
            IngressInput::Rtmp => proto::IngressInput::RtmpInput,
            IngressInput::Whip => proto::IngressInput::WhipInput,
            IngressInput::Url => proto::IngressInput::UrlInput,
        }
    }

    pub fn from_proto(v: i32) -> IngressInput {
        match proto::IngressInput::try_from(v) {
            Ok(proto::IngressInput::WhipInput) => IngressInput::Whip,
            Ok(proto::IngressInput::UrlInput) => IngressInput::Url,
            _ => IngressInput::Rtmp,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IngressInput::Rtmp => "rtmp",
            IngressInput::Whip => "whip",
            IngressInput::Url => "url",
        }
    }
}

/// LiveKit's audio transcoding presets (ingress proto `IngressAudioEncodingPreset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngressAudioPreset {
    OpusStereo96kbps,
    OpusMono64kbps,
}

impl IngressAudioPreset {
    pub fn to_proto(self) -> proto::IngressAudioEncodingPreset {
        match self {
            IngressAudioPreset::OpusStereo96kbps => {
                proto::IngressAudioEncodingPreset::OpusStereo96kbps
            }
            IngressAudioPreset::OpusMono64kbps => proto::IngressAudioEncodingPreset::OpusMono64kbs,
        }
    }
}

/// LiveKit's video transcoding presets (ingress proto `IngressVideoEncodingPreset`); LiveKit's
/// default is `h264_720p_30fps_3_layers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngressVideoPreset {
    #[serde(rename = "h264_720p_30fps_3_layers")]
    H264720p30fps3Layers,
    #[serde(rename = "h264_1080p_30fps_3_layers")]
    H2641080p30fps3Layers,
    #[serde(rename = "h264_540p_25fps_2_layers")]
    H264540p25fps2Layers,
    #[serde(rename = "h264_720p_30fps_1_layer")]
    H264720p30fps1Layer,
    #[serde(rename = "h264_1080p_30fps_1_layer")]
    H2641080p30fps1Layer,
    #[serde(rename = "h264_720p_30fps_3_layers_high_motion")]
    H264720p30fps3LayersHighMotion,
    #[serde(rename = "h264_1080p_30fps_3_layers_high_motion")]
    H2641080p30fps3LayersHighMotion,
    #[serde(rename = "h264_540p_25fps_2_layers_high_motion")]
    H264540p25fps2LayersHighMotion,
    #[serde(rename = "h264_720p_30fps_1_layer_high_motion")]
    H264720p30fps1LayerHighMotion,
    #[serde(rename = "h264_1080p_30fps_1_layer_high_motion")]
    H2641080p30fps1LayerHighMotion,
}

impl IngressVideoPreset {
    pub fn to_proto(self) -> proto::IngressVideoEncodingPreset {
        use proto::IngressVideoEncodingPreset as P;
        match self {
            IngressVideoPreset::H264720p30fps3Layers => P::H264720p30fps3Layers,
            IngressVideoPreset::H2641080p30fps3Layers => P::H2641080p30fps3Layers,
            IngressVideoPreset::H264540p25fps2Layers => P::H264540p25fps2Layers,
            IngressVideoPreset::H264720p30fps1Layer => P::H264720p30fps1Layer,
            IngressVideoPreset::H2641080p30fps1Layer => P::H2641080p30fps1Layer,
            IngressVideoPreset::H264720p30fps3LayersHighMotion => P::H264720p30fps3LayersHighMotion,
            IngressVideoPreset::H2641080p30fps3LayersHighMotion => {
                P::H2641080p30fps3LayersHighMotion
            }
            IngressVideoPreset::H264540p25fps2LayersHighMotion => P::H264540p25fps2LayersHighMotion,
            IngressVideoPreset::H264720p30fps1LayerHighMotion => P::H264720p30fps1LayerHighMotion,
            IngressVideoPreset::H2641080p30fps1LayerHighMotion => P::H2641080p30fps1LayerHighMotion,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressCreateParams {
    pub input: IngressInput,
    /// The source to pull (`url` input only): `http(s)://` or `srt://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The room the stream is published into.
    pub room: String,
    /// The identity of the participant that publishes the stream.
    pub identity: String,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// A label for the ingress itself (shown in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_name: Option<String>,
    /// Transcode into simulcast layers. LiveKit's default: on for RTMP and URL, off for WHIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcoding: Option<bool>,
    /// Needs transcoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_preset: Option<IngressAudioPreset>,
    /// Needs transcoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_preset: Option<IngressVideoPreset>,
    /// A disabled ingress refuses publishers (default enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Changes a reusable (RTMP or WHIP) ingress; a live one takes the change at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressUpdateParams {
    pub ingress_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcoding: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_preset: Option<IngressAudioPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_preset: Option<IngressVideoPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressIdParams {
    pub ingress_id: String,
}

/// Where an ingress is (IngressState.Status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngressStatus {
    /// Waiting for a publisher.
    Inactive,
    Buffering,
    Publishing,
    Error,
    /// A URL pull that ended.
    Complete,
}

impl IngressStatus {
    pub fn from_proto(v: i32) -> IngressStatus {
        use proto::ingress_state::Status as S;
        match S::try_from(v) {
            Ok(S::EndpointBuffering) => IngressStatus::Buffering,
            Ok(S::EndpointPublishing) => IngressStatus::Publishing,
            Ok(S::EndpointError) => IngressStatus::Error,
            Ok(S::EndpointComplete) => IngressStatus::Complete,
            _ => IngressStatus::Inactive,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IngressStatus::Inactive => "inactive",
            IngressStatus::Buffering => "buffering",
            IngressStatus::Publishing => "publishing",
            IngressStatus::Error => "error",
            IngressStatus::Complete => "complete",
        }
    }

    /// A publisher is connected (buffering or publishing).
    pub fn is_live(self) -> bool {
        matches!(self, IngressStatus::Buffering | IngressStatus::Publishing)
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngressInfo {
    pub ingress_id: String,
    pub ingress_name: String,
    pub input: IngressInput,
    /// The server URL to publish to (RTMP: OBS's "Server"; WHIP: the endpoint), or the pulled
    /// source of a URL ingress. Empty when livekit.yaml has no `ingress:` base URL for this input.
    pub url: String,
    /// The stream key: only in `ingress.create`'s result, to the caller that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_key: Option<String>,
    /// `url/stream_key` for RTMP (what ffmpeg takes); only in `ingress.create`'s result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_url: Option<String>,
    pub room: String,
    pub identity: String,
    pub name: String,
    pub transcoding: bool,
    pub reusable: bool,
    pub enabled: bool,
    pub status: IngressStatus,
    pub error: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

fn ns_time(ns: i64) -> Option<String> {
    (ns > 0).then(|| rfc3339(ns.div_euclid(1_000_000_000)))
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl IngressInfo {
    /// LiveKit's IngressInfo without its stream key (every place but the create result).
    pub fn from_proto(i: &proto::IngressInfo) -> IngressInfo {
        let st = i.state.clone().unwrap_or_default();
        let url = if IngressInput::from_proto(i.input_type) == IngressInput::Url {
            crate::redact::url(&i.url)
        } else {
            i.url.clone()
        };
        IngressInfo {
            ingress_id: i.ingress_id.clone(),
            ingress_name: i.name.clone(),
            input: IngressInput::from_proto(i.input_type),
            url,
            stream_key: None,
            publish_url: None,
            room: i.room_name.clone(),
            identity: i.participant_identity.clone(),
            name: i.participant_name.clone(),
            transcoding: i.enable_transcoding.unwrap_or(true),
            reusable: i.reusable,
            enabled: i.enabled.unwrap_or(true),
            status: IngressStatus::from_proto(st.status),
            error: opt(&st.error),
            started_at: ns_time(st.started_at),
            ended_at: ns_time(st.ended_at),
        }
    }

    /// The create result: with the stream key and, for RTMP, the full publish URL.
    pub fn created(i: &proto::IngressInfo) -> IngressInfo {
        let mut info = IngressInfo::from_proto(i);
        if !i.stream_key.is_empty() {
            info.stream_key = Some(i.stream_key.clone());
            if !i.url.is_empty() {
                info.publish_url =
                    Some(format!("{}/{}", i.url.trim_end_matches('/'), i.stream_key));
            }
        }
        info
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct IngressList {
    pub ingresses: Vec<IngressInfo>,
}

// ---- SIP -------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SipTransport {
    Auto,
    Udp,
    Tcp,
    Tls,
}

impl SipTransport {
    pub fn to_proto(self) -> proto::SipTransport {
        match self {
            SipTransport::Auto => proto::SipTransport::Auto,
            SipTransport::Udp => proto::SipTransport::Udp,
            SipTransport::Tcp => proto::SipTransport::Tcp,
            SipTransport::Tls => proto::SipTransport::Tls,
        }
    }

    pub fn from_proto(v: i32) -> SipTransport {
        match proto::SipTransport::try_from(v) {
            Ok(proto::SipTransport::Udp) => SipTransport::Udp,
            Ok(proto::SipTransport::Tcp) => SipTransport::Tcp,
            Ok(proto::SipTransport::Tls) => SipTransport::Tls,
            _ => SipTransport::Auto,
        }
    }
}

/// A trunk that accepts calls from a provider.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipInboundTrunkCreateParams {
    pub name: String,
    /// The numbers this trunk answers (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    /// Provider addresses (IP or CIDR) calls are accepted from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_addresses: Vec<String>,
    /// Caller numbers accepted (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// A secret: never shown again, redacted in the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// A trunk to dial out through a provider.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipOutboundTrunkCreateParams {
    pub name: String,
    /// The provider's SIP host (e.g. `sip.telnyx.com`), without `sip:`.
    pub address: String,
    /// Numbers calls go out from; the first is the default caller id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<SipTransport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// A secret: never shown again, redacted in the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<String>,
    /// Two-letter country of the destination numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipTrunkListParams {
    /// Only trunks serving one of these numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipTrunkIdParams {
    pub trunk_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SipDirection {
    Inbound,
    Outbound,
}

/// A trunk as listed: never its password, only whether it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SipTrunk {
    pub trunk_id: String,
    pub direction: SipDirection,
    pub name: String,
    pub numbers: Vec<String>,
    /// Outbound: the provider's host.
    pub address: Option<String>,
    pub transport: Option<SipTransport>,
    /// Inbound: provider addresses accepted.
    pub allowed_addresses: Vec<String>,
    pub allowed_numbers: Vec<String>,
    pub auth_username: Option<String>,
    pub has_password: bool,
}

impl SipTrunk {
    pub fn inbound(t: &proto::SipInboundTrunkInfo) -> SipTrunk {
        SipTrunk {
            trunk_id: t.sip_trunk_id.clone(),
            direction: SipDirection::Inbound,
            name: t.name.clone(),
            numbers: t.numbers.clone(),
            address: None,
            transport: None,
            allowed_addresses: t.allowed_addresses.clone(),
            allowed_numbers: t.allowed_numbers.clone(),
            auth_username: opt(&t.auth_username),
            has_password: !t.auth_password.is_empty(),
        }
    }

    pub fn outbound(t: &proto::SipOutboundTrunkInfo) -> SipTrunk {
        SipTrunk {
            trunk_id: t.sip_trunk_id.clone(),
            direction: SipDirection::Outbound,
            name: t.name.clone(),
            numbers: t.numbers.clone(),
            address: opt(&t.address),
            transport: Some(SipTransport::from_proto(t.transport)),
            allowed_addresses: Vec::new(),
            allowed_numbers: Vec::new(),
            auth_username: opt(&t.auth_username),
            has_password: !t.auth_password.is_empty(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SipTrunkList {
    pub trunks: Vec<SipTrunk>,
}

/// How a dispatch rule places an incoming call (side-services facts §4.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SipRuleKind {
    /// Every caller into one room (`room`).
    #[default]
    Direct,
    /// Each caller into a new room named `room_prefix` + caller.
    Individual,
    /// Callers into a room named `room_prefix` + the number they dialled.
    Callee,
}

impl SipRuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SipRuleKind::Direct => "direct",
            SipRuleKind::Individual => "individual",
            SipRuleKind::Callee => "callee",
        }
    }
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipDispatchRuleCreateParams {
    pub kind: SipRuleKind,
    /// `direct`: the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// `individual` and `callee`: the start of the room names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_prefix: Option<String>,
    /// A PIN callers must enter (a secret: redacted in the audit log, never shown again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// `individual`: no random suffix; `callee`: add one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomize: Option<bool>,
    /// The trunks the rule applies to (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trunk_ids: Vec<String>,
    /// Only calls to these numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    /// Only calls from these numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbound_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The caller's number is not shown to the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_phone_number: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipDispatchRuleListParams {
    /// Only rules applying to these trunks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trunk_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipDispatchRuleIdParams {
    pub rule_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SipDispatchRule {
    pub rule_id: String,
    pub name: String,
    pub kind: SipRuleKind,
    /// `direct`: the room; otherwise the room prefix.
    pub room: String,
    pub has_pin: bool,
    pub randomize: bool,
    pub trunk_ids: Vec<String>,
    pub numbers: Vec<String>,
    pub inbound_numbers: Vec<String>,
    pub hide_phone_number: bool,
}

impl SipDispatchRule {
    pub fn from_proto(r: &proto::SipDispatchRuleInfo) -> SipDispatchRule {
        use proto::sip_dispatch_rule::Rule;
        let (kind, room, pin, randomize) = match r.rule.as_ref().and_then(|x| x.rule.as_ref()) {
            Some(Rule::DispatchRuleDirect(d)) => (
                SipRuleKind::Direct,
                d.room_name.clone(),
                !d.pin.is_empty(),
                false,
            ),
            Some(Rule::DispatchRuleIndividual(d)) => (
                SipRuleKind::Individual,
                d.room_prefix.clone(),
                !d.pin.is_empty(),
                !d.no_randomness,
            ),
            Some(Rule::DispatchRuleCallee(d)) => (
                SipRuleKind::Callee,
                d.room_prefix.clone(),
                !d.pin.is_empty(),
                d.randomize,
            ),
            None => (SipRuleKind::Direct, String::new(), false, false),
        };
        SipDispatchRule {
            rule_id: r.sip_dispatch_rule_id.clone(),
            name: r.name.clone(),
            kind,
            room,
            has_pin: pin,
            randomize,
            trunk_ids: r.trunk_ids.clone(),
            numbers: r.numbers.clone(),
            inbound_numbers: r.inbound_numbers.clone(),
            hide_phone_number: r.hide_phone_number,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SipDispatchRuleList {
    pub rules: Vec<SipDispatchRule>,
}

/// Dial a number into a room through an outbound trunk (LiveKit's CreateSIPParticipant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipCallParams {
    pub room: String,
    /// The number to call.
    pub number: String,
    /// The outbound trunk.
    pub trunk_id: String,
    /// The caller id (default: the trunk's first number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_number: Option<String>,
    /// The phone participant's identity (LiveKit's default: `sip_<number>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Digits to send once answered (`w` waits 0.5 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtmf: Option<String>,
    /// Play a dial tone in the room while it rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_dialtone: Option<bool>,
    /// Answer only once the callee picked up (errors such as "busy" then come back here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_until_answered: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SipCall {
    pub participant_id: String,
    pub identity: String,
    pub room: String,
    pub sip_call_id: String,
}

/// Hand a phone participant's call over to another number or SIP URI (SIP REFER).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipTransferParams {
    pub room: String,
    pub identity: String,
    /// `tel:+15105550100` or `sip:+15105550100@provider`.
    pub transfer_to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_dialtone: Option<bool>,
}

// ---- agent dispatch --------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDispatchCreateParams {
    pub room: String,
    /// The agent's name, as its workers registered it.
    pub agent_name: String,
    /// Handed to the agent's job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDispatchListParams {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDispatchDeleteParams {
    pub room: String,
    pub dispatch_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentJob {
    pub job_id: String,
    /// pending, running, success or failed.
    pub status: String,
    pub participant_identity: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentDispatch {
    pub dispatch_id: String,
    pub agent_name: String,
    pub room: String,
    pub metadata: String,
    pub created_at: Option<String>,
    pub deleted_at: Option<String>,
    pub jobs: Vec<AgentJob>,
}

impl AgentDispatch {
    pub fn from_proto(d: &proto::AgentDispatch) -> AgentDispatch {
        let st = d.state.clone().unwrap_or_default();
        AgentDispatch {
            dispatch_id: d.id.clone(),
            agent_name: d.agent_name.clone(),
            room: d.room.clone(),
            metadata: d.metadata.clone(),
            created_at: ns_time(st.created_at),
            deleted_at: ns_time(st.deleted_at),
            jobs: st
                .jobs
                .iter()
                .map(|j| {
                    let js = j.state.clone().unwrap_or_default();
                    AgentJob {
                        job_id: j.id.clone(),
                        status: match proto::JobStatus::try_from(js.status) {
                            Ok(proto::JobStatus::JsRunning) => "running",
                            Ok(proto::JobStatus::JsSuccess) => "success",
                            Ok(proto::JobStatus::JsFailed) => "failed",
                            _ => "pending",
                        }
                        .to_string(),
                        participant_identity: opt(&js.participant_identity),
                        error: opt(&js.error),
                    }
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AgentDispatchList {
    pub dispatches: Vec<AgentDispatch>,
}

crate::redacted_debug!(
    IngressInfo,
    SipInboundTrunkCreateParams,
    SipOutboundTrunkCreateParams,
    SipDispatchRuleCreateParams
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_create_result_carries_the_stream_key() {
        let i = proto::IngressInfo {
            ingress_id: "IN_1".into(),
            stream_key: "k3y".into(),
            url: "rtmp://media.example:1935/x".into(),
            input_type: proto::IngressInput::RtmpInput as i32,
            ..Default::default()
        };
        let listed = serde_json::to_string(&IngressInfo::from_proto(&i)).unwrap();
        assert!(!listed.contains("k3y"), "{listed}");
        let created = IngressInfo::created(&i);
        assert_eq!(created.stream_key.as_deref(), Some("k3y"));
        assert_eq!(
            created.publish_url.as_deref(),
            Some("rtmp://media.example:1935/x/k3y")
        );
        // Shown anywhere else (audit, logs), the one rule hides both.
        let v = crate::redact::json(serde_json::to_value(&created).unwrap());
        assert!(!v.to_string().contains("k3y"), "{v}");
    }

    #[test]
    fn a_trunk_never_shows_its_password() {
        let t = proto::SipOutboundTrunkInfo {
            sip_trunk_id: "ST_1".into(),
            auth_username: "u".into(),
            auth_password: "hunter2".into(),
            ..Default::default()
        };
        let s = serde_json::to_string(&SipTrunk::outbound(&t)).unwrap();
        assert!(
            !s.contains("hunter2") && s.contains("\"has_password\":true"),
            "{s}"
        );
    }
}
