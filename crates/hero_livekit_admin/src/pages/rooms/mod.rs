//! `/rooms` (live list, create, delete) and `/rooms/{name}` (participants and their tracks:
//! mute, remove, permissions; room metadata; send data): the two pages, and the form actions
//! that redirect back to them; recording and streaming a room (`egress`).

mod actions;
mod agents;
mod egress;
mod list;
mod show;

pub use actions::{create, delete, metadata, mute, remove, send_data, update};
pub use agents::{delete as delete_agent, dispatch as dispatch_agent};
pub use egress::{record, stop as stop_egress};
pub use list::list;
pub use show::show;

use axum::response::{IntoResponse, Redirect, Response};

use super::seg;

fn back_to(name: &str) -> Response {
    Redirect::to(&room_url(name)).into_response()
}

fn room_url(name: &str) -> String {
    format!("/rooms/{}", seg(name))
}

fn participant_url(room: &str, identity: &str, action: &str) -> String {
    format!(
        "/rooms/{}/participants/{}/{action}",
        seg(room),
        seg(identity)
    )
}
