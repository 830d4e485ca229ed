//! `/rooms` (live list, create, delete) and `/rooms/{name}` (participants and their tracks:
//! mute, remove, permissions; room metadata; send data).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use hero_livekit_api::methods::{
    ParticipantListM, ParticipantMuteTrack, ParticipantRemove, ParticipantUpdate, RoomCreate,
    RoomDelete, RoomListM, RoomSendData, RoomUpdateMetadata,
};
use hero_livekit_api::types::{
    DataKind, MuteTrackParams, Participant, ParticipantParams, ParticipantUpdateParams,
    PermissionPatch, Room, RoomCreateParams, RoomListParams, RoomNameParams, RoomParams,
    RoomSendDataParams, RoomUpdateMetadataParams,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::tokens::describe;
use super::{parse_pairs, parse_secs, parse_u32, seg};
use crate::AppState;
use crate::auth::Session;
use crate::error::Error;
use crate::html::{self, Nav, badge, clip, error_box, time};

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

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    max_participants: String,
    #[serde(default)]
    empty_timeout: String,
    #[serde(default)]
    departure_timeout: String,
    #[serde(default)]
    metadata: String,
}

fn to_u32(v: Option<u64>, field: &str) -> Result<Option<u32>, String> {
    v.map(|n| u32::try_from(n).map_err(|_| format!("{field} is too large")))
        .transpose()
}

fn create_params(f: &CreateForm) -> Result<RoomCreateParams, String> {
    let name = f.name.trim().to_string();
    if name.is_empty() {
        return Err("Name is required.".into());
    }
    Ok(RoomCreateParams {
        name,
        max_participants: parse_u32("Max participants", &f.max_participants)?,
        empty_timeout_s: to_u32(
            parse_secs("Empty timeout", &f.empty_timeout)?,
            "Empty timeout",
        )?,
        departure_timeout_s: to_u32(
            parse_secs("Departure timeout", &f.departure_timeout)?,
            "Departure timeout",
        )?,
        metadata: Some(f.metadata.clone()).filter(|m| !m.is_empty()),
    })
}

pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(f): Form<CreateForm>,
) -> Response {
    let at = Some("create".to_string());
    match create_params(&f) {
        Err(e) => state.sessions.set_flash_at(&session, at, false, e),
        Ok(p) => match state.rpc.call::<RoomCreate>(&p).await {
            Ok(r) => state
                .sessions
                .set_flash(&session, true, format!("Room {} is ready.", r.name)),
            Err(e) => state
                .sessions
                .set_flash_at(&session, at, false, describe(&e)),
        },
    }
    Redirect::to("/rooms").into_response()
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    match state
        .rpc
        .call::<RoomDelete>(&RoomNameParams { name: name.clone() })
        .await
    {
        Ok(_) => state
            .sessions
            .set_flash(&session, true, format!("Room {name} deleted.")),
        Err(e) => {
            state
                .sessions
                .set_flash_at(&session, Some(format!("room:{name}")), false, describe(&e))
        }
    }
    Redirect::to("/rooms").into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let list_params = RoomListParams {
        names: Some(vec![name.clone()]),
    };
    let room_params = RoomParams { room: name.clone() };
    let (rooms, participants) = tokio::join!(
        state.rpc.call::<RoomListM>(&list_params),
        state.rpc.call::<ParticipantListM>(&room_params),
    );
    let room: Result<Option<Room>, Error> =
        rooms.map(|l| l.rooms.into_iter().find(|r| r.name == name));
    let flash = state.sessions.take_flash(&session);
    let mut present = vec!["metadata".to_string(), "data".to_string()];
    if let Ok(p) = &participants {
        present.extend(p.participants.iter().map(|p| format!("p:{}", p.identity)));
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
            p.live { "Refreshes every 4 s" }
        }
        div.grid {
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
    flash: &Option<crate::auth::Flash>,
) -> Markup {
    let target = format!("p:{}", p.identity);
    let perm = p.permission.clone().unwrap_or_default();
    html! {
        tr id=(target) {
            td {
                strong { (p.identity) }
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

#[derive(Debug, Default, Deserialize)]
pub struct MetadataForm {
    #[serde(default)]
    metadata: String,
}

fn back_to(name: &str) -> Response {
    Redirect::to(&room_url(name)).into_response()
}

pub async fn metadata(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(f): Form<MetadataForm>,
) -> Response {
    let p = RoomUpdateMetadataParams {
        name: name.clone(),
        metadata: f.metadata,
    };
    match state.rpc.call::<RoomUpdateMetadata>(&p).await {
        Ok(_) => state.sessions.set_flash(&session, true, "Metadata saved."),
        Err(e) => {
            state
                .sessions
                .set_flash_at(&session, Some("metadata".into()), false, describe(&e))
        }
    }
    back_to(&name)
}

#[derive(Debug, Default, Deserialize)]
pub struct DataForm {
    #[serde(default)]
    data: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    destinations: String,
}

pub async fn send_data(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(f): Form<DataForm>,
) -> Response {
    let dest: Vec<String> = f
        .destinations
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let p = RoomSendDataParams {
        room: name.clone(),
        data: f.data,
        encoding: None,
        kind: Some(if f.kind == "lossy" {
            DataKind::Lossy
        } else {
            DataKind::Reliable
        }),
        topic: Some(f.topic.trim().to_string()).filter(|t| !t.is_empty()),
        destination_identities: (!dest.is_empty()).then_some(dest),
    };
    let at = Some("data".to_string());
    match state.rpc.call::<RoomSendData>(&p).await {
        Ok(_) => state
            .sessions
            .set_flash_at(&session, at, true, "Message sent."),
        Err(e) => state
            .sessions
            .set_flash_at(&session, at, false, describe(&e)),
    }
    back_to(&name)
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, identity)): Path<(String, String)>,
) -> Response {
    let p = ParticipantParams {
        room: name.clone(),
        identity: identity.clone(),
    };
    match state.rpc.call::<ParticipantRemove>(&p).await {
        Ok(_) => state
            .sessions
            .set_flash(&session, true, format!("{identity} was disconnected.")),
        Err(e) => state.sessions.set_flash_at(
            &session,
            Some(format!("p:{identity}")),
            false,
            describe(&e),
        ),
    }
    back_to(&name)
}

#[derive(Debug, Default, Deserialize)]
pub struct MuteForm {
    #[serde(default)]
    track_sid: String,
    #[serde(default)]
    muted: String,
}

pub async fn mute(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, identity)): Path<(String, String)>,
    Form(f): Form<MuteForm>,
) -> Response {
    let p = MuteTrackParams {
        room: name.clone(),
        identity: identity.clone(),
        track_sid: f.track_sid,
        muted: f.muted == "true",
    };
    let at = Some(format!("p:{identity}"));
    match state.rpc.call::<ParticipantMuteTrack>(&p).await {
        Ok(t) => state.sessions.set_flash_at(
            &session,
            at,
            true,
            format!(
                "{} track of {identity} {}.",
                t.track.source,
                if t.track.muted { "muted" } else { "unmuted" }
            ),
        ),
        Err(e) => state
            .sessions
            .set_flash_at(&session, at, false, describe(&e)),
    }
    back_to(&name)
}

#[derive(Debug, Default, Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    metadata: String,
    #[serde(default)]
    can_publish: Option<String>,
    #[serde(default)]
    can_subscribe: Option<String>,
    #[serde(default)]
    can_publish_data: Option<String>,
    #[serde(default)]
    can_update_metadata: Option<String>,
    #[serde(default)]
    hidden: Option<String>,
    #[serde(default)]
    attributes: String,
    /// JSON array of the attribute keys the form showed.
    #[serde(default)]
    attribute_keys: String,
}

/// The attribute change a form asks for: its lines, plus an empty value (LiveKit's "delete")
/// for every key the form showed that is no longer there. `None` when nothing changes.
fn attribute_changes(f: &UpdateForm) -> Result<Option<BTreeMap<String, String>>, String> {
    let mut changes = parse_pairs("Attributes", &f.attributes)?.unwrap_or_default();
    let shown: Vec<String> = if f.attribute_keys.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&f.attribute_keys)
            .map_err(|_| "Attributes: the form was damaged; reload the page".to_string())?
    };
    for key in shown {
        changes.entry(key).or_default();
    }
    Ok((!changes.is_empty()).then_some(changes))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, identity)): Path<(String, String)>,
    Form(f): Form<UpdateForm>,
) -> Response {
    let at = Some(format!("p:{identity}"));
    let attributes = match attribute_changes(&f) {
        Ok(a) => a,
        Err(e) => {
            state.sessions.set_flash_at(&session, at, false, e);
            return back_to(&name);
        }
    };
    let p = ParticipantUpdateParams {
        room: name.clone(),
        identity: identity.clone(),
        name: Some(f.name.trim().to_string()).filter(|n| !n.is_empty()),
        metadata: Some(f.metadata),
        attributes,
        permission: Some(PermissionPatch {
            can_publish: Some(f.can_publish.is_some()),
            can_subscribe: Some(f.can_subscribe.is_some()),
            can_publish_data: Some(f.can_publish_data.is_some()),
            can_update_metadata: Some(f.can_update_metadata.is_some()),
            hidden: Some(f.hidden.is_some()),
            ..Default::default()
        }),
    };
    match state.rpc.call::<ParticipantUpdate>(&p).await {
        Ok(_) => state
            .sessions
            .set_flash_at(&session, at, true, format!("{identity} updated.")),
        Err(e) => state
            .sessions
            .set_flash_at(&session, at, false, describe(&e)),
    }
    back_to(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(attributes: &str, keys: &str) -> UpdateForm {
        UpdateForm {
            attributes: attributes.into(),
            attribute_keys: keys.into(),
            ..Default::default()
        }
    }

    #[test]
    fn removed_attribute_lines_become_deletions() {
        let changes = attribute_changes(&form("role=host\nseat = 3", r#"["role","lang"]"#))
            .unwrap()
            .unwrap();
        assert_eq!(
            changes.into_iter().collect::<Vec<_>>(),
            vec![
                ("lang".to_string(), String::new()),
                ("role".to_string(), "host".to_string()),
                ("seat".to_string(), "3".to_string()),
            ]
        );
        assert_eq!(attribute_changes(&form("", "[]")).unwrap(), None);
        assert_eq!(attribute_changes(&form("", "")).unwrap(), None);
        assert!(
            attribute_changes(&form("no equals sign", "[]"))
                .unwrap_err()
                .contains("key=value")
        );
        assert!(attribute_changes(&form("", "not json")).is_err());
    }
}
