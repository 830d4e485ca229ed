//! `/rooms` (live list, create, delete) and `/rooms/{name}` (participants and their tracks:
//! mute, remove, permissions; room metadata; send data): the two pages, and the form actions
//! that redirect back to them.

mod actions;
mod list;
mod show;

pub use actions::{create, delete, metadata, mute, remove, send_data, update};
pub use list::list;
pub use show::show;

use super::seg;

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
