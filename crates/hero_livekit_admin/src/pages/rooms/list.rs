//! `/rooms`: the live rooms of the SFU, refreshed in place, and the form to create one.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use hero_livekit_api::methods::RoomListM;
use hero_livekit_api::types::RoomListParams;
use maud::html;

use super::room_url;
use crate::AppState;
use crate::auth::Session;
use crate::html::{self, Nav, clip, error_box, time};

pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let rooms = state
        .rpc
        .call::<RoomListM>(&RoomListParams::default())
        .await;
    let flash = state.sessions.take_flash(&session);
    let mut present = vec!["create".to_string()];
    if let Ok(r) = &rooms {
        present.extend(r.rooms.iter().map(|r| format!("room:{}", r.name)));
    }
    let body = html! {
        h1 { "Rooms" }
        p.sub { "Rooms live on the SFU: they appear when someone joins (or you create one) and close after their empty timeout." }
        (html::flash_top(&flash, &present))
        section.card #rooms data-live="5" aria-labelledby="h-rooms" {
            h2 #h-rooms { "Live rooms" }
            @match &rooms {
                Err(e) => (error_box("the rooms", e)),
                Ok(list) if list.rooms.is_empty() => (html::empty("No rooms right now", html! {
                    "Create one below, or mint a token on " a href="/tokens" { "Tokens" } " and join — LiveKit creates the room on first join."
                })),
                Ok(list) => {
                    table {
                        thead { tr { th { "Name" } th.num { "Participants" } th.num { "Publishers" } th { "Created" } th.num { "Max" } th { "Metadata" } th { "" } } }
                        tbody {
                            @for r in &list.rooms {
                                @let target = format!("room:{}", r.name);
                                tr id=(target) {
                                    td { a href=(room_url(&r.name)) { (r.name) } }
                                    td.num { (r.num_participants) }
                                    td.num { (r.num_publishers) }
                                    td { (time(&r.created_at)) }
                                    td.num { @if r.max_participants == 0 { span.muted { "—" } } @else { (r.max_participants) } }
                                    td { (clip(&r.metadata, 60)) }
                                    td {
                                        form.inline method="post" action={ (room_url(&r.name)) "/delete" } data-confirm={ "Delete room " (r.name) " and disconnect everyone in it?" } {
                                            (html::csrf(&session))
                                            button.danger.small type="submit" aria-label={ "Delete room " (r.name) } { "Delete" }
                                        }
                                        (html::flash_at(&flash, &target))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.live { "Refreshes every 5 s" }
        }
        section.card aria-labelledby="h-create" {
            h2 #h-create { "Create a room" }
            form #create-room method="post" action="/rooms" {
                (html::csrf(&session))
                div.row {
                    div.field { label for="r-name" { "Name" } input #r-name name="name" required maxlength="256" placeholder="standup"; }
                    div.field { label for="r-max" { "Max participants " span.hint { "empty = no limit" } } input #r-max name="max_participants" inputmode="numeric"; }
                    div.field { label for="r-empty" { "Empty timeout " span.hint { "e.g. 5m" } } input #r-empty name="empty_timeout"; }
                    div.field { label for="r-departure" { "Departure timeout " span.hint { "e.g. 20s" } } input #r-departure name="departure_timeout"; }
                }
                div.field { label for="r-metadata" { "Metadata " span.hint { "optional, any text (often JSON)" } } textarea #r-metadata name="metadata" {} }
                button type="submit" { "Create room" }
            }
            (html::flash_at(&flash, "create"))
        }
    };
    html::ok(html::page(&session, Nav::Rooms, "Rooms", body))
}
