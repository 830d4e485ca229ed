//! JSON-RPC error codes (design §5). Standard codes come from the spec; application codes live in
//! -32000..-32099 so clients can branch on them.

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;
/// LiveKit unreachable; `data: {url}`.
pub const LIVEKIT_UNREACHABLE: i32 = -32001;
/// LiveKit answered with an error; `data: {twirp_code, msg}`.
pub const LIVEKIT_ERROR: i32 = -32002;
pub const NOT_FOUND: i32 = -32003;
/// Conflict or failed precondition (e.g. revoking the only active key).
pub const CONFLICT: i32 = -32004;
/// Refused by policy (e.g. a TTL above the maximum).
pub const POLICY: i32 = -32005;
pub const STORAGE: i32 = -32010;
