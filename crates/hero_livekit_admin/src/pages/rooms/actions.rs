//! The form actions of the room pages: create and delete rooms, set metadata, send data, and
//! remove, mute or update a participant. Each flashes its outcome and redirects back.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use hero_livekit_api::methods::{
    ParticipantMuteTrack, ParticipantRemove, ParticipantUpdate, RoomCreate, RoomDelete,
    RoomSendData, RoomUpdateMetadata,
};
use hero_livekit_api::types::{
    DataKind, MuteTrackParams, ParticipantParams, ParticipantUpdateParams, PermissionPatch,
    RoomCreateParams, RoomNameParams, RoomSendDataParams, RoomUpdateMetadataParams,
};
use serde::Deserialize;

use super::back_to;
use crate::AppState;
use crate::auth::Session;
use crate::pages::{FormError, Success, flash_result, parse_pairs, parse_secs, parse_u32};

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
    let result = async {
        let r = state.rpc.call::<RoomCreate>(&create_params(&f)?).await?;
        Ok::<_, FormError>(format!("Room {} is ready.", r.name))
    };
    flash_result(
        &state.sessions,
        &session,
        "create",
        Success::AtTop,
        result.await,
    );
    Redirect::to("/rooms").into_response()
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let result = state
        .rpc
        .call::<RoomDelete>(&RoomNameParams { name: name.clone() })
        .await;
    let result = result.map(|_| format!("Room {name} deleted."));
    flash_result(
        &state.sessions,
        &session,
        format!("room:{name}"),
        Success::AtTop,
        result,
    );
    Redirect::to("/rooms").into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct MetadataForm {
    #[serde(default)]
    metadata: String,
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
    let result = state.rpc.call::<RoomUpdateMetadata>(&p).await;
    let result = result.map(|_| "Metadata saved.");
    flash_result(
        &state.sessions,
        &session,
        "metadata",
        Success::AtTop,
        result,
    );
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
    let result = state.rpc.call::<RoomSendData>(&p).await;
    let result = result.map(|_| "Message sent.");
    flash_result(&state.sessions, &session, "data", Success::Beside, result);
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
    let result = state.rpc.call::<ParticipantRemove>(&p).await;
    let result = result.map(|_| format!("{identity} was disconnected."));
    flash_result(
        &state.sessions,
        &session,
        format!("p:{identity}"),
        Success::AtTop,
        result,
    );
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
    let result = state.rpc.call::<ParticipantMuteTrack>(&p).await.map(|t| {
        format!(
            "{} track of {identity} {}.",
            t.track.source,
            if t.track.muted { "muted" } else { "unmuted" }
        )
    });
    flash_result(
        &state.sessions,
        &session,
        format!("p:{identity}"),
        Success::Beside,
        result,
    );
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
    let result = async {
        let p = update_params(&name, &identity, f)?;
        state.rpc.call::<ParticipantUpdate>(&p).await?;
        Ok::<_, FormError>(format!("{identity} updated."))
    };
    flash_result(
        &state.sessions,
        &session,
        format!("p:{identity}"),
        Success::Beside,
        result.await,
    );
    back_to(&name)
}

/// The update a form asks for: every permission the form shows (unticked = denied), the name
/// (empty = unchanged), the metadata, and the attribute changes.
fn update_params(
    name: &str,
    identity: &str,
    f: UpdateForm,
) -> Result<ParticipantUpdateParams, String> {
    Ok(ParticipantUpdateParams {
        attributes: attribute_changes(&f)?,
        room: name.to_string(),
        identity: identity.to_string(),
        name: Some(f.name.trim().to_string()).filter(|n| !n.is_empty()),
        metadata: Some(f.metadata),
        permission: Some(PermissionPatch {
            can_publish: Some(f.can_publish.is_some()),
            can_subscribe: Some(f.can_subscribe.is_some()),
            can_publish_data: Some(f.can_publish_data.is_some()),
            can_update_metadata: Some(f.can_update_metadata.is_some()),
            hidden: Some(f.hidden.is_some()),
            ..Default::default()
        }),
    })
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
