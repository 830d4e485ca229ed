//! `/rooms/{name}`: one room's details and participants (with their tracks and the forms that
//! act on them), what is recording or streaming it (with Stop), the Record / Stream form, its
//! metadata and the send-data form.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use hero_livekit_api::methods::{AgentDispatchListM, EgressListM, ParticipantListM, RoomListM};
use hero_livekit_api::types::{
    AgentDispatchListParams, EgressListParams, Participant, Room, RoomListParams, RoomParams,
};
use maud::{Markup, html};

use super::{agents, egress, participant_url, room_url};
use crate::AppState;
use crate::auth::{Flash, Session};
use crate::error::Error;
use crate::html::{self, Nav, badge, clip, error_box, time};

pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let list_params = RoomListParams {
        names: Some(vec![name.clone()]),
    };
    let room_params = RoomParams { room: name.clone() };
    let egress_params = EgressListParams {
        room: Some(name.clone()),
        active: Some(true),
        ..Default::default()
    };
    let agent_params = AgentDispatchListParams {
        room: name.clone(),
        dispatch_id: None,
    };
    let (rooms, participants, running, dispatches) = tokio::join!(
        state.rpc.call::<RoomListM>(&list_params),
        state.rpc.call::<ParticipantListM>(&room_params),
        state.rpc.call::<EgressListM>(&egress_params),
        state.rpc.call::<AgentDispatchListM>(&agent_params),
    );
    let room: Result<Option<Room>, Error> =
        rooms.map(|l| l.rooms.into_iter().find(|r| r.name == name));
    let flash = state.sessions.take_flash(&session);
    let mut present = vec![
        "metadata".to_string(),
        "data".to_string(),
        "record".to_string(),
        "agent".to_string(),
    ];
    if let Ok(l) = &dispatches {
        present.extend(l.dispatches.iter().map(|d| format!("ad:{}", d.dispatch_id)));
    }
    if let Ok(p) = &participants {
        present.extend(p.participants.iter().map(|p| format!("p:{}", p.identity)));
    }
    if let Ok(l) = &running {
        present.extend(l.egresses.iter().map(|e| format!("eg:{}", e.egress_id)));
    }
    let body = html! {
        p { a href="/rooms" { "← Rooms" } }
        h1 { "Room " (name) }
        (html::flash_top(&flash, &present))
        div #room-live data-live="4" {
            @match &room {
                Err(e) => (error_box("the room", e)),
                Ok(None) => div.banner.warn role="status" {
                    strong { "This room is not open on the SFU" }
                    "It may have closed after its empty timeout. Create it again on " a href="/rooms" { "Rooms" } ", or join it with a token."
                },
                Ok(Some(r)) => section.card aria-labelledby="h-room" {
                    div.toolbar {
                        h2 #h-room { "Details" }
                        form.inline method="post" action={ (room_url(&r.name)) "/delete" } data-confirm={ "Delete room " (r.name) " and disconnect everyone in it?" } {
                            (html::csrf(&session))
                            button.danger.small type="submit" { "Delete room" }
                        }
                    }
                    dl.kv {
                        dt { "SID" } dd { code { (r.sid) } }
                        dt { "Created" } dd { (time(&r.created_at)) }
                        dt { "Participants" } dd { (r.num_participants) " (" (r.num_publishers) " publishing)" }
                        dt { "Max participants" } dd { @if r.max_participants == 0 { "no limit" } @else { (r.max_participants) } }
                        dt { "Empty timeout" } dd { (r.empty_timeout_s) " s" }
                        dt { "Departure timeout" } dd { (r.departure_timeout_s) " s" }
                    }
                },
            }
            section.card aria-labelledby="h-participants" {
                h2 #h-participants { "Participants" }
                @match &participants {
                    Err(e) => (error_box("the participants", e)),
                    Ok(list) if list.participants.is_empty() => (html::empty("Nobody is in this room", html! {
                        "Mint a token for " code { (name) } " on " a href="/tokens" { "Tokens" } " and join with any LiveKit client."
                    })),
                    Ok(list) => {
                        table {
                            thead { tr { th { "Participant" } th { "State" } th { "Joined" } th { "Tracks" } th { "Actions" } } }
                            tbody {
                                @for p in &list.participants { (participant_row(&session, &name, p, &flash)) }
                            }
                        }
                    }
                }
            }
            (egress::running(&session, &name, &running, &flash))
            (agents::section(&session, &name, &dispatches, &flash))
            p.live { "Refreshes every 4 s" }
        }
        div.grid {
            (egress::form(&session, &name, &flash))
            (agents::form(&session, &name, &flash))
            section.card aria-labelledby="h-metadata" {
                h2 #h-metadata { "Metadata" }
                form #room-metadata method="post" action={ (room_url(&name)) "/metadata" } {
                    (html::csrf(&session))
                    div.field {
                        label for="m-metadata" { "Room metadata " span.hint { "replaces the current value" } }
                        textarea #m-metadata name="metadata" { @if let Ok(Some(r)) = &room { (r.metadata) } }
                    }
                    button type="submit" { "Save metadata" }
                }
                (html::flash_at(&flash, "metadata"))
            }
            section.card aria-labelledby="h-data" {
                h2 #h-data { "Send data" }
                form #send-data method="post" action={ (room_url(&name)) "/data" } {
                    (html::csrf(&session))
                    div.field { label for="s-data" { "Message " span.hint { "UTF-8 text" } } textarea #s-data name="data" required {} }
                    div.row {
                        div.field { label for="s-topic" { "Topic " span.hint { "optional" } } input #s-topic name="topic"; }
                        div.field {
                            label for="s-kind" { "Delivery" }
                            select #s-kind name="kind" { option value="reliable" { "reliable" } option value="lossy" { "lossy" } }
                        }
                    }
                    div.field { label for="s-dest" { "Only to " span.hint { "identities, comma-separated; empty = everyone" } } input #s-dest name="destinations"; }
                    button type="submit" { "Send" }
                }
                (html::flash_at(&flash, "data"))
            }
        }
        (html::charts(Some(&name)))
    };
    html::ok(html::page(
        &session,
        Nav::Rooms,
        &format!("Room {name}"),
        body,
    ))
}

fn participant_row(
    session: &Session,
    room: &str,
    p: &Participant,
    flash: &Option<Flash>,
) -> Markup {
    let target = format!("p:{}", p.identity);
    let perm = p.permission.clone().unwrap_or_default();
    html! {
        tr id=(target) {
            td {
                strong { (p.identity) }
                @if p.kind != "participant" { " " (badge("", &p.kind)) }
                @if !p.name.is_empty() && p.name != p.identity { br; span.muted { (p.name) } }
                @if !p.metadata.is_empty() { br; span.hint { "metadata: " (clip(&p.metadata, 40)) } }
                @for (k, v) in &p.attributes { br; span.hint.attr { (k) "=" (clip(v, 40)) } }
            }
            td { (badge(if p.state == "active" || p.state == "joined" { "ok" } else { "" }, &p.state)) }
            td { (time(&p.joined_at)) }
            td {
                @if p.tracks.is_empty() { span.muted { "none" } }
                ul.tracks {
                    @for t in &p.tracks {
                        li {
                            (badge("info", &t.kind)) " " (t.source)
                            @if !t.name.is_empty() { " · " (t.name) }
                            @if t.muted { " " (badge("warn", "muted")) }
                            form.inline method="post" action=(participant_url(room, &p.identity, "mute")) {
                                (html::csrf(session))
                                input type="hidden" name="track_sid" value=(t.sid);
                                input type="hidden" name="muted" value=(if t.muted { "false" } else { "true" });
                                button.secondary.small type="submit" aria-label={ (if t.muted { "Unmute " } else { "Mute " }) (t.source) " of " (p.identity) } {
                                    @if t.muted { "Unmute" } @else { "Mute" }
                                }
                            }
                        }
                    }
                }
            }
            td {
                form.inline method="post" action=(participant_url(room, &p.identity, "remove")) data-confirm={ "Disconnect " (p.identity) "?" } {
                    (html::csrf(session))
                    button.danger.small type="submit" aria-label={ "Remove " (p.identity) } { "Remove" }
                }
                details {
                    summary { "Edit…" }
                    form method="post" action=(participant_url(room, &p.identity, "update")) {
                        (html::csrf(session))
                        input type="hidden" name="perm" value="1";
                        @for (field, label, on) in [
                            ("can_publish", "Publish", perm.can_publish),
                            ("can_subscribe", "Subscribe", perm.can_subscribe),
                            ("can_publish_data", "Send data", perm.can_publish_data),
                            ("can_update_metadata", "Update own metadata", perm.can_update_metadata),
                            ("hidden", "Hidden", perm.hidden),
                        ] {
                            label.check { input type="checkbox" name=(field) value="on" checked[on]; (label) }
                        }
                        div.field { label for={ "n-" (p.sid) } { "Name" } input id={ "n-" (p.sid) } name="name" value=(p.name); }
                        div.field { label for={ "md-" (p.sid) } { "Metadata" } textarea id={ "md-" (p.sid) } name="metadata" { (p.metadata) } }
                        div.field {
                            label for={ "at-" (p.sid) } { "Attributes " span.hint { "one key=value per line; remove a line to delete the key" } }
                            textarea id={ "at-" (p.sid) } name="attributes" {
                                @for (k, v) in &p.attributes { (k) "=" (v) "\n" }
                            }
                            // The keys shown, so a removed line deletes exactly what the operator saw.
                            input type="hidden" name="attribute_keys" value=(serde_json::to_string(&p.attributes.keys().collect::<Vec<_>>()).unwrap_or_default());
                        }
                        button.small type="submit" { "Update" }
                    }
                }
                (html::flash_at(flash, &target))
            }
        }
    }
}
