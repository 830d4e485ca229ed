//! Twirp v8 transport as generated for livekit.RoomService (facts §3.1, §3.2): route and
//! Content-Type checks, request decoding, response encoding in the request's encoding, and the
//! JSON error body `{"code","msg","meta"?}` with Twirp's status mapping.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livekit_protocol as proto;
use serde_json::{Value, json};

use crate::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwirpError {
    pub code: &'static str,
    pub msg: String,
    /// Omitted from the body when empty, as Twirp does.
    pub meta: Vec<(&'static str, String)>,
}

impl TwirpError {
    pub fn new(code: &'static str, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            meta: Vec::new(),
        }
    }

    /// `twirpAuthError(ErrPermissionDenied)`: grant failures are 401 unauthenticated.
    pub fn permission_denied() -> Self {
        Self::new("unauthenticated", "permissions denied")
    }

    pub fn room_not_found() -> Self {
        Self::new("not_found", "requested room does not exist")
    }

    pub fn participant_not_found() -> Self {
        Self::new("not_found", "participant does not exist")
    }

    /// `twirp.InvalidArgumentError(argument, validationMsg)`: message is both joined by a
    /// space, and `argument` goes into meta.
    pub fn invalid_argument(argument: &str, validation: impl std::fmt::Display) -> Self {
        Self {
            code: "invalid_argument",
            msg: format!("{argument} {validation}"),
            meta: vec![("argument", argument.to_string())],
        }
    }

    /// `badRouteError`: 404 with the offending `METHOD path` in meta.
    pub fn bad_route(msg: impl Into<String>, method: &str, path: &str) -> Self {
        Self {
            code: "bad_route",
            msg: msg.into(),
            meta: vec![("twirp_invalid_route", format!("{method} {path}"))],
        }
    }

    pub fn malformed(msg: impl Into<String>) -> Self {
        Self::new("malformed", msg)
    }

    pub fn status(&self) -> StatusCode {
        let code = match self.code {
            "canceled" | "deadline_exceeded" => 408,
            "invalid_argument" | "malformed" | "out_of_range" => 400,
            "not_found" | "bad_route" => 404,
            "already_exists" | "aborted" => 409,
            "permission_denied" => 403,
            "unauthenticated" => 401,
            "resource_exhausted" => 429,
            "failed_precondition" => 412,
            "unimplemented" => 501,
            "unavailable" => 503,
            _ => 500, // unknown, internal, dataloss
        };
        StatusCode::from_u16(code).expect("valid status")
    }
}

impl IntoResponse for TwirpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"code": self.code, "msg": self.msg});
        if !self.meta.is_empty() {
            body["meta"] = Value::Object(
                self.meta
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v)))
                    .collect(),
            );
        }
        json_response(status, body.to_string())
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    /// Twirp compares the media type before any `;` parameter, trimmed and lower-cased.
    pub fn from_content_type(ct: &str) -> Option<Encoding> {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" => Some(Encoding::Json),
            "application/protobuf" => Some(Encoding::Protobuf),
            _ => None,
        }
    }
}

/// Decodes a request body. JSON goes through pbjson (protojson-compatible reader); Twirp's JSON
/// path decodes one JSON value first, so an empty body is `malformed`, while an empty protobuf
/// body is a valid all-defaults message.
pub fn decode<T>(enc: Encoding, body: &Bytes) -> Result<T, TwirpError>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    match enc {
        Encoding::Protobuf => T::decode(body.as_ref())
            .map_err(|_| TwirpError::malformed("the protobuf request could not be decoded")),
        Encoding::Json => {
            let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
            let value = match stream.next() {
                Some(Ok(v)) => v,
                _ => {
                    return Err(TwirpError::malformed(
                        "the json request could not be decoded",
                    ));
                }
            };
            serde_json::from_value(strip_nulls(value))
                .map_err(|_| TwirpError::malformed("the json request could not be decoded"))
        }
    }
}

/// protojson reads `null` as "field unset"; pbjson refuses it for scalars. Dropping null members
/// makes both agree (RoomService requests have no `google.protobuf.Value` fields, where null
/// would mean something).
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Responses know both their wire forms.
pub trait Reply: prost::Message + Sized {
    fn to_json(&self) -> Value;

    fn encode_as(&self, enc: Encoding) -> Response {
        match enc {
            Encoding::Json => json_response(StatusCode::OK, self.to_json().to_string()),
            Encoding::Protobuf => {
                let mut r = (StatusCode::OK, self.encode_to_vec()).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/protobuf"),
                );
                r
            }
        }
    }
}

impl Reply for proto::Room {
    fn to_json(&self) -> Value {
        json::room(self)
    }
}
impl Reply for proto::ListRoomsResponse {
    fn to_json(&self) -> Value {
        json::list_rooms(self)
    }
}
impl Reply for proto::ParticipantInfo {
    fn to_json(&self) -> Value {
        json::participant(self)
    }
}
impl Reply for proto::ListParticipantsResponse {
    fn to_json(&self) -> Value {
        json::list_participants(self)
    }
}
impl Reply for proto::MuteRoomTrackResponse {
    fn to_json(&self) -> Value {
        json::mute_response(self)
    }
}

/// Field-less responses encode to `{}`.
macro_rules! empty_reply {
    ($($t:ty),*) => {$(
        impl Reply for $t {
            fn to_json(&self) -> Value {
                json!({})
            }
        }
    )*};
}
empty_reply!(
    proto::DeleteRoomResponse,
    proto::RemoveParticipantResponse,
    proto::SendDataResponse,
    proto::UpdateSubscriptionsResponse
);
