//! Integration tests of the admin UI: an in-process hero_livekit_server on a temp home, the
//! admin on 127.0.0.1:0, HTTP from reqwest (auth, CSRF) and headless Chromium (browser).

mod auth;
mod binary;
mod browser;
mod charts;
mod deployment;
mod helpers;
mod nodes;
mod recordings;
mod side;
mod side_files;
