//! Integration tests: the stand-in must refuse what livekit-server refuses, in LiveKit's exact
//! shapes, and speak both Twirp encodings the way the real server does.

mod binary;
mod helpers;
mod json;
mod protobuf;
mod strictness;
mod webhooks;
