//! Client of LiveKit's Twirp services (facts §3; side-services facts §4): the RoomService and
//! `livekit.Egress`, speaking protobuf with the SDK's own message types (`livekit_protocol`).
//!
//! Written here rather than using `livekit_api::services::RoomClient` because that client
//! (0.10) signs each call with a 6-hour token instead of a short-lived one, and decodes every
//! non-200 body as Twirp JSON, so the auth layer's plain-text 401s ("invalid API key") become
//! an opaque decode error. Key-acceptance probes (design §8) depend on exactly that 401.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, SIPGrants, VideoGrants};
use livekit_protocol as proto;
use prost::Message;

use crate::error::{Error, Result};

/// Lifetime of the token minted for one API call.
const CALL_TOKEN_TTL: Duration = Duration::from_secs(120);

/// The grant a RoomService method needs (facts §3.3), named as LiveKit names them.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone)]
pub enum Grant {
    RoomCreate,
    RoomList,
    /// roomAdmin is scoped to exactly one room.
    RoomAdmin(String),
    /// Every `livekit.Egress` method (EnsureRecordPermission; not tied to a room).
    RoomRecord,
    /// Every `livekit.Ingress` method.
    IngressAdmin,
    /// SIP trunk and dispatch-rule CRUD (`sip.admin`).
    SipAdmin,
    /// CreateSIPParticipant (`sip.call`).
    SipCall,
    /// TransferSIPParticipant: `sip.call` and roomAdmin on that room (side-services facts §4.1).
    SipCallRoomAdmin(String),
}

/// The Twirp services the control plane calls.
pub const ROOM_SERVICE: &str = "livekit.RoomService";
pub const EGRESS_SERVICE: &str = "livekit.Egress";
pub const INGRESS_SERVICE: &str = "livekit.Ingress";
pub const SIP_SERVICE: &str = "livekit.SIP";
pub const AGENT_DISPATCH_SERVICE: &str = "livekit.AgentDispatchService";

/// What the SFU said about a key (design §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    Accepted,
    /// 401 `invalid API key`: the running SFU has not loaded this key.
    NotLoaded,
    /// The SFU could not be asked, or answered something else.
    Unknown,
}

#[derive(Clone)]
pub struct LiveKit {
    base: String,
    http: reqwest::Client,
}

impl LiveKit {
    pub fn new(base: &str, timeout: Duration) -> Self {
        hero_livekit_api::tls::install_crypto_provider();
        // `https://` URLs are verified against the system's trust store (SSL_CERT_FILE /
        // SSL_CERT_DIR are honoured), for an SFU behind a TLS-terminating proxy.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .expect("building the HTTP client (the crypto provider is installed above)");
        LiveKit {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The same client (connection pool, timeouts) aimed at another node's API.
    pub fn at(&self, base: &str) -> LiveKit {
        LiveKit {
            base: base.trim_end_matches('/').to_string(),
            http: self.http.clone(),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn token(key: &str, secret: &str, grant: &Grant) -> Result<String> {
        let grants = match grant {
            Grant::RoomCreate => VideoGrants {
                room_create: true,
                ..Default::default()
            },
            Grant::RoomList => VideoGrants {
                room_list: true,
                ..Default::default()
            },
            Grant::RoomAdmin(room) => VideoGrants {
                room_admin: true,
                room: room.clone(),
                ..Default::default()
            },
            Grant::RoomRecord => VideoGrants {
                room_record: true,
                ..Default::default()
            },
            Grant::IngressAdmin => VideoGrants {
                ingress_admin: true,
                ..Default::default()
            },
            Grant::SipCallRoomAdmin(room) => VideoGrants {
                room_admin: true,
                room: room.clone(),
                ..Default::default()
            },
            Grant::SipAdmin | Grant::SipCall => VideoGrants::default(),
        };
        let sip = match grant {
            Grant::SipAdmin => SIPGrants {
                admin: true,
                call: false,
            },
            Grant::SipCall | Grant::SipCallRoomAdmin(_) => SIPGrants {
                admin: false,
                call: true,
            },
            _ => SIPGrants::default(),
        };
        AccessToken::with_api_key(key, secret)
            .with_ttl(CALL_TOKEN_TTL)
            .with_grants(grants)
            .with_sip_grants(sip)
            .to_jwt()
            .map_err(|e| Error::Internal(format!("cannot sign an API token: {e}")))
    }

    /// One RoomService call signed by `key`.
    pub async fn call<Req: Message, Resp: Message + Default>(
        &self,
        key: (&str, &str),
        method: &str,
        grant: Grant,
        req: Req,
    ) -> Result<Resp> {
        self.call_service(ROOM_SERVICE, key, method, grant, req, None)
            .await
    }

    /// One call of `service` (`livekit.RoomService`, `livekit.Egress`) signed by `key`;
    /// `timeout` replaces the client's for calls LiveKit answers slowly by design.
    pub async fn call_service<Req: Message, Resp: Message + Default>(
        &self,
        service: &str,
        key: (&str, &str),
        method: &str,
        grant: Grant,
        req: Req,
        timeout: Option<Duration>,
    ) -> Result<Resp> {
        let token = Self::token(key.0, key.1, &grant)?;
        let url = format!("{}/twirp/{service}/{method}", self.base);
        let unreachable = |reason: String| Error::LiveKitUnreachable {
            url: self.base.clone(),
            reason,
        };
        let mut post = self
            .http
            .post(&url)
            .header("content-type", "application/protobuf")
            .bearer_auth(token)
            .body(req.encode_to_vec());
        if let Some(t) = timeout {
            post = post.timeout(t);
        }
        let resp = post.send().await.map_err(|e| unreachable(describe(&e)))?;
        let status = resp.status();
        let is_json = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = resp.bytes().await.map_err(|e| unreachable(describe(&e)))?;
        if status.is_success() {
            return Resp::decode(body).map_err(|e| Error::LiveKit {
                twirp_code: "malformed".into(),
                msg: format!("undecodable {method} response: {e}"),
            });
        }
        // Twirp errors are JSON; the auth layer answers plain text (facts §2.3, §3.2).
        #[derive(serde::Deserialize)]
        struct Twirp {
            code: String,
            msg: String,
        }
        match serde_json::from_slice::<Twirp>(&body) {
            Ok(t) if is_json || !t.code.is_empty() => Err(twirp_error(t.code, t.msg)),
            _ => {
                let text = String::from_utf8_lossy(&body).trim().to_string();
                let code = if status.as_u16() == 401 {
                    "unauthenticated"
                } else {
                    "unknown"
                };
                Err(twirp_error(
                    code.into(),
                    if text.is_empty() {
                        status.to_string()
                    } else {
                        text
                    },
                ))
            }
        }
    }

    /// Whether the SFU accepts tokens signed by this key: a cheap ListRooms with a name that
    /// cannot exist.
    pub async fn accepts(&self, key: &str, secret: &str) -> Acceptance {
        let req = proto::ListRoomsRequest {
            names: vec!["hero-livekit-key-probe".into()],
        };
        match self
            .call::<_, proto::ListRoomsResponse>((key, secret), "ListRooms", Grant::RoomList, req)
            .await
        {
            Ok(_) => Acceptance::Accepted,
            Err(Error::LiveKit { twirp_code, msg })
                if twirp_code == "unauthenticated" && msg.contains("invalid API key") =>
            {
                Acceptance::NotLoaded
            }
            Err(_) => Acceptance::Unknown,
        }
    }
}

fn twirp_error(code: String, msg: String) -> Error {
    if code == "not_found" {
        return Error::TwirpNotFound { msg };
    }
    Error::LiveKit {
        twirp_code: code,
        msg,
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if e.is_connect() {
        format!("cannot connect: {cur}")
    } else {
        cur.to_string()
    }
}

#[cfg(test)]
mod tests {
    use livekit_api::access_token::TokenVerifier;

    use super::*;

    /// (video grants, sip grants) of the token one call is signed with.
    fn grants(g: Grant) -> (VideoGrants, SIPGrants) {
        let secret = "s".repeat(32);
        let token = LiveKit::token("APIkey", &secret, &g).unwrap();
        let c = TokenVerifier::with_api_key("APIkey", &secret)
            .verify(&token)
            .unwrap();
        (c.video, c.sip)
    }

    #[test]
    fn each_side_service_call_carries_exactly_its_grant() {
        let none = SIPGrants::default();
        let (v, s) = grants(Grant::IngressAdmin);
        assert_eq!(
            (v, s),
            (
                VideoGrants {
                    ingress_admin: true,
                    ..Default::default()
                },
                none.clone()
            )
        );
        let (v, s) = grants(Grant::SipAdmin);
        assert_eq!(v, VideoGrants::default());
        assert_eq!(
            s,
            SIPGrants {
                admin: true,
                call: false
            }
        );
        let (v, s) = grants(Grant::SipCall);
        assert_eq!(v, VideoGrants::default());
        assert_eq!(
            s,
            SIPGrants {
                admin: false,
                call: true
            }
        );
        // A transfer: sip.call and roomAdmin on that one room (side-services facts §4.1).
        let (v, s) = grants(Grant::SipCallRoomAdmin("support".into()));
        assert_eq!(
            v,
            VideoGrants {
                room_admin: true,
                room: "support".into(),
                ..Default::default()
            }
        );
        assert!(s.call && !s.admin);
        // Agent dispatch: roomAdmin on the request's room, nothing else.
        let (v, s) = grants(Grant::RoomAdmin("lobby".into()));
        assert_eq!(
            (v, s),
            (
                VideoGrants {
                    room_admin: true,
                    room: "lobby".into(),
                    ..Default::default()
                },
                none
            )
        );
    }
}
