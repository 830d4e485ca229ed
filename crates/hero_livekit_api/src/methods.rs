//! The JSON-RPC methods, one marker type each.
//!
//! A method is its name, its params type and its result type. The server registers handlers by
//! marker type, the clients call by marker type, and `rpc.discover` describes exactly the
//! registered markers, so the three can never drift apart.

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

use crate::types::*;

/// One JSON-RPC method: its dotted name, a one-line summary, and its params and result types.
/// Params are sent by name: one JSON object whose fields are the params struct's fields.
pub trait Method: Send + Sync + 'static {
    const NAME: &'static str;
    const SUMMARY: &'static str;
    type Params: Serialize + DeserializeOwned + JsonSchema + Default + Send + Sync + 'static;
    type Result: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;
}

macro_rules! methods {
    ($( $(#[$doc:meta])* $ty:ident = $name:literal ($params:ty) -> $result:ty, $summary:literal; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $ty;
            impl Method for $ty {
                const NAME: &'static str = $name;
                const SUMMARY: &'static str = $summary;
                type Params = $params;
                type Result = $result;
            }
        )*
    };
}

methods! {
    Discover = "rpc.discover" (NoParams) -> serde_json::Value,
        "This OpenRPC document.";
    HealthM = "health" (NoParams) -> Health,
        "Liveness: version and uptime.";
    StatusM = "status" (NoParams) -> Status,
        "Server, files, keys and SFU status, with whether livekit-server must be restarted.";
    ConfigGet = "config.get" (NoParams) -> serde_json::Value,
        "The effective configuration (the config file's names; durations as whole seconds in `*_s` fields), secrets redacted.";
    ConfigFilesM = "config.files" (NoParams) -> ConfigFiles,
        "The rendered livekit.yaml and backend.env, secrets redacted.";
    ConfigCheckM = "config.check" (NoParams) -> ConfigCheck,
        "Whether the rendered files agree: one Redis, keys the SFU accepts, ingress URLs on ingress's ports, no host port claimed twice.";
    KeysList = "keys.list" (KeysListParams) -> KeyList,
        "API keys and their lifecycle states; never a secret.";
    TokenCreate = "token.create" (TokenCreateParams) -> TokenCreated,
        "Mint a LiveKit access token signed by the active key.";
    TokenDecode = "token.decode" (TokenDecodeParams) -> TokenDecoded,
        "Verify and explain a LiveKit access token.";
    BackendInfoM = "backend.info" (NoParams) -> BackendInfo,
        "Where lk-backend listens and its bearer tokens.";
    KeysRotate = "keys.rotate" (KeysRotateParams) -> KeyChange,
        "Mint a pending key; it becomes active once the SFU is seen accepting it.";
    KeysRevoke = "keys.revoke" (KeyParams) -> KeyChange,
        "Emergency: remove a key from every file at once.";
    KeysImport = "keys.import" (KeysImportParams) -> KeyChange,
        "Adopt an existing deployment's key; it becomes the active key.";
    RoomListM = "room.list" (RoomListParams) -> RoomList,
        "Live rooms on the SFU.";
    RoomCreate = "room.create" (RoomCreateParams) -> Room,
        "Create a room (or return the existing one, as LiveKit does).";
    RoomDelete = "room.delete" (RoomNameParams) -> Empty,
        "Close a room, disconnecting everyone in it.";
    RoomUpdateMetadata = "room.update_metadata" (RoomUpdateMetadataParams) -> Room,
        "Replace a room's metadata.";
    RoomSendData = "room.send_data" (RoomSendDataParams) -> Empty,
        "Send a data message to a room's participants.";
    ParticipantListM = "participant.list" (RoomParams) -> ParticipantList,
        "Participants of a room.";
    ParticipantGet = "participant.get" (ParticipantParams) -> Participant,
        "One participant of a room.";
    ParticipantRemove = "participant.remove" (ParticipantParams) -> Empty,
        "Disconnect a participant.";
    ParticipantMuteTrack = "participant.mute_track" (MuteTrackParams) -> MutedTrack,
        "Mute or unmute a participant's published track.";
    ParticipantUpdate = "participant.update" (ParticipantUpdateParams) -> Participant,
        "Change a participant's name, metadata, attributes or permission.";
    AuditListM = "audit.list" (AuditListParams) -> AuditList,
        "The audit log of mutating calls, newest first.";
    DeployCheckM = "deploy.check" (DeployCheckParams) -> DeployCheck,
        "The production checks of a public deployment ([public]): config, DNS, node IP, ports and who holds them, Caddy and HAProxy configs, certificates, the TURN certificate LiveKit serves, signalling through the proxy, STUN and TURN/TLS; each failure with its cause and fix.";
    NodeListM = "node.list" (NoParams) -> NodeList,
        "The SFU nodes: read from Redis (classified like LiveKit's node selector) with what each was last seen to accept, or the one configured SFU.";
    EgressStartRoomComposite = "egress.start_room_composite" (EgressRoomCompositeParams) -> EgressInfo,
        "Record or stream a whole room through a layout template (LiveKit's StartRoomCompositeEgress).";
    EgressStartParticipant = "egress.start_participant" (EgressParticipantParams) -> EgressInfo,
        "Record or stream one participant's camera (or screen share) and microphone.";
    EgressStartTrackComposite = "egress.start_track_composite" (EgressTrackCompositeParams) -> EgressInfo,
        "Record or stream one audio and/or one video track, transcoded together.";
    EgressStartTrack = "egress.start_track" (EgressTrackParams) -> EgressInfo,
        "Export one track as published (no transcoding) to a file or a WebSocket.";
    EgressStartWeb = "egress.start_web" (EgressWebParams) -> EgressInfo,
        "Record or stream any web page.";
    EgressListM = "egress.list" (EgressListParams) -> EgressList,
        "Egresses LiveKit knows (running, or ended less than 24 h ago), by room, id or running only.";
    EgressStop = "egress.stop" (EgressIdParams) -> EgressInfo,
        "Stop an egress: it finishes and uploads what it recorded.";
    EgressUpdateLayout = "egress.update_layout" (EgressUpdateLayoutParams) -> EgressInfo,
        "Change the layout of a running room composite or web egress.";
    EgressUpdateStream = "egress.update_stream" (EgressUpdateStreamParams) -> EgressInfo,
        "Add or remove stream URLs of a running streaming egress.";
}

// Ingress, SIP and agent dispatch (design §5.7), each signed with the one grant it needs.
methods! {
    IngressCreate = "ingress.create" (IngressCreateParams) -> IngressInfo,
        "Take a stream in (RTMP, WHIP or a pulled URL) as a participant of a room; the result alone shows the publish URL and stream key.";
    IngressListM = "ingress.list" (IngressListParams) -> IngressList,
        "Ingresses and their state (publishing or not), by room or id; stream keys are never listed.";
    IngressUpdate = "ingress.update" (IngressUpdateParams) -> IngressInfo,
        "Change a reusable (RTMP or WHIP) ingress: room, participant, transcoding, enabled.";
    IngressDelete = "ingress.delete" (IngressIdParams) -> IngressInfo,
        "Delete an ingress; a stream being published through it stops.";
    SipInboundTrunkCreate = "sip.inbound_trunk.create" (SipInboundTrunkCreateParams) -> SipTrunk,
        "Accept calls from a SIP provider: numbers, allowed addresses and numbers, optional digest auth.";
    SipInboundTrunkList = "sip.inbound_trunk.list" (SipTrunkListParams) -> SipTrunkList,
        "Inbound trunks (never their passwords).";
    SipInboundTrunkDelete = "sip.inbound_trunk.delete" (SipTrunkIdParams) -> SipTrunk,
        "Delete an inbound trunk.";
    SipOutboundTrunkCreate = "sip.outbound_trunk.create" (SipOutboundTrunkCreateParams) -> SipTrunk,
        "Dial out through a SIP provider: its address, transport, numbers and credentials.";
    SipOutboundTrunkList = "sip.outbound_trunk.list" (SipTrunkListParams) -> SipTrunkList,
        "Outbound trunks (never their passwords).";
    SipOutboundTrunkDelete = "sip.outbound_trunk.delete" (SipTrunkIdParams) -> SipTrunk,
        "Delete an outbound trunk.";
    SipDispatchRuleCreate = "sip.dispatch_rule.create" (SipDispatchRuleCreateParams) -> SipDispatchRule,
        "Where incoming calls go: one room (direct), a room per caller (individual) or per dialled number (callee).";
    SipDispatchRuleListM = "sip.dispatch_rule.list" (SipDispatchRuleListParams) -> SipDispatchRuleList,
        "Dispatch rules (never their PINs).";
    SipDispatchRuleDelete = "sip.dispatch_rule.delete" (SipDispatchRuleIdParams) -> SipDispatchRule,
        "Delete a dispatch rule.";
    SipCallM = "sip.call" (SipCallParams) -> SipCall,
        "Dial a number into a room through an outbound trunk (LiveKit's CreateSIPParticipant).";
    SipTransfer = "sip.transfer" (SipTransferParams) -> Empty,
        "Transfer a phone participant's call to another number (SIP REFER); it leaves the room.";
    AgentDispatchCreate = "agent.dispatch.create" (AgentDispatchCreateParams) -> AgentDispatch,
        "Send an agent into a room (creating the room when LiveKit auto-creates rooms).";
    AgentDispatchListM = "agent.dispatch.list" (AgentDispatchListParams) -> AgentDispatchList,
        "The agent dispatches of a room and their jobs.";
    AgentDispatchDelete = "agent.dispatch.delete" (AgentDispatchDeleteParams) -> AgentDispatch,
        "Cancel an agent dispatch of a room.";
}

/// Params of `events.unsubscribe`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct UnsubscribeParams {
    /// The subscription id `events.subscribe` returned (jsonrpsee clients send it positionally).
    pub subscription: String,
}

methods! {
    EventsSubscribe = "events.subscribe" (NoParams) -> EventItem,
        "Subscribe (WebSocket only) to control-plane events, delivered as `events` notifications carrying this item; a stream that ends sends a final item of type `error`.";
    EventsUnsubscribe = "events.unsubscribe" (UnsubscribeParams) -> bool,
        "End an events subscription.";
}

/// Subscription to control-plane events over the socket's WebSocket: `events.subscribe`
/// yields notifications named `events` carrying [`EventItem`]s; `events.unsubscribe` ends it.
pub const EVENTS_SUBSCRIBE: &str = "events.subscribe";
pub const EVENTS_NOTIFICATION: &str = "events";
pub const EVENTS_UNSUBSCRIBE: &str = "events.unsubscribe";

/// Description of a method for the OpenRPC document.
#[derive(Clone, Copy)]
pub struct MethodSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub params: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
    pub result: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

impl MethodSpec {
    pub fn of<M: Method>() -> Self {
        MethodSpec {
            name: M::NAME,
            summary: M::SUMMARY,
            params: |g| g.root_schema_for::<M::Params>(),
            result: |g| g.subschema_for::<M::Result>(),
        }
    }
}

/// Builds an OpenRPC 1.3 document for the given methods.
pub fn openrpc_document(version: &str, specs: &[MethodSpec]) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut methods = Vec::new();
    for spec in specs {
        let params_schema = Value::from((spec.params)(&mut generator));
        let required: Vec<&str> = params_schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut params = Vec::new();
        if let Some(props) = params_schema["properties"].as_object() {
            for (name, schema) in props {
                let mut schema = schema.clone();
                let description = schema.as_object_mut().and_then(|o| o.remove("description"));
                let mut p = json!({
                    "name": name,
                    "required": required.contains(&name.as_str()),
                    "schema": schema,
                });
                if let Some(d) = description {
                    p["description"] = d;
                }
                params.push(p);
            }
        }
        let result = Value::from((spec.result)(&mut generator));
        methods.push(json!({
            "name": spec.name,
            "summary": spec.summary,
            "paramStructure": "by-name",
            "params": params,
            "result": {"name": "result", "schema": result},
        }));
    }
    json!({
        "openrpc": "1.3.2",
        "info": {
            "title": "hero_livekit_server",
            "version": version,
            "description": "Control plane for a self-hosted LiveKit SFU (JSON-RPC 2.0 on rpc.sock)",
        },
        "methods": methods,
        "components": {"schemas": generator.definitions().clone()},
    })
}
