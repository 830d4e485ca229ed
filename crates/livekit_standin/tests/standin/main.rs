//! Integration tests: the stand-in must refuse what livekit-server refuses, in LiveKit's exact
//! shapes, and speak both Twirp encodings the way the real server does.

mod binary;
mod egress;
mod fleet;
mod helpers;
mod json;
mod protobuf;
mod redis_server;
mod side;
mod side_services;
mod strictness;
mod webhooks;
