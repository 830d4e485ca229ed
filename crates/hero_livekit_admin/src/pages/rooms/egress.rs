//! Recording and streaming a room from its page: the Record / Stream form (a room composite to
//! a file or to an RTMP URL; layout; audio only), the room's running egresses with Stop, and
//! the two actions — each one `egress.*` call, whose refusal is shown as the control plane
//! words it ("no egress worker with capacity is registered: …").

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use hero_livekit_api::errors::LIVEKIT_ERROR;
use hero_livekit_api::methods::{EgressStartRoomComposite, EgressStop};
use hero_livekit_api::types::{
    EgressIdParams, EgressList, EgressRoomCompositeParams, EgressStatus, FileOutput, StreamOutput,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{back_to, room_url};
use crate::AppState;
use crate::auth::{Flash, Session};
use crate::error::Error;
use crate::html::{self, error_box, opt_time};
use crate::pages::recordings::{duration, locations, status_badge};
use crate::pages::{FormError, Success, flash_result, seg};

/// LiveKit's built-in layouts (egress's default template), its default first.
const LAYOUTS: &[(&str, &str)] = &[
    ("grid", "grid"),
    ("speaker", "speaker"),
    ("single-speaker", "single speaker"),
    ("grid-dark", "grid (dark)"),
    ("speaker-dark", "speaker (dark)"),
];

#[derive(Debug, Default, Deserialize)]
pub struct RecordForm {
    /// `file` or `rtmp`.
    #[serde(default)]
    output: String,
    #[serde(default)]
    filepath: String,
    #[serde(default)]
    rtmp_url: String,
    #[serde(default)]
    layout: String,
    #[serde(default)]
    audio_only: Option<String>,
}

fn record_params(room: &str, f: &RecordForm) -> Result<EgressRoomCompositeParams, String> {
    let layout = f.layout.trim();
    let mut p = EgressRoomCompositeParams {
        room: room.to_string(),
        layout: (!layout.is_empty()).then(|| layout.to_string()),
        audio_only: f.audio_only.is_some().then_some(true),
        ..Default::default()
    };
    match f.output.as_str() {
        "file" | "" => {
            p.file = Some(FileOutput {
                filepath: f.filepath.trim().to_string(),
                ..Default::default()
            })
        }
        "rtmp" => {
            let url = f.rtmp_url.trim();
            if url.is_empty() {
                return Err("RTMP URL: required to stream (e.g. rtmp://a.rtmp.youtube.com/live2/<stream key>).".into());
            }
            p.stream = Some(StreamOutput {
                urls: vec![url.to_string()],
                protocol: None,
            });
        }
        other => return Err(format!("Output: “{other}” is neither file nor rtmp.")),
    }
    Ok(p)
}

pub async fn record(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(f): Form<RecordForm>,
) -> Response {
    let result = async {
        let p = record_params(&name, &f)?;
        let what = if p.stream.is_some() {
            "Stream"
        } else {
            "Recording"
        };
        let info = state.rpc.call::<EgressStartRoomComposite>(&p).await?;
        Ok::<_, FormError>(format!(
            "{what} {} started ({}).",
            info.egress_id,
            info.status.describe()
        ))
    };
    flash_result(
        &state.sessions,
        &session,
        "record",
        Success::Beside,
        result.await,
    );
    back_to(&name)
}

pub async fn stop(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let p = EgressIdParams {
        egress_id: id.clone(),
    };
    let result = state
        .rpc
        .call::<EgressStop>(&p)
        .await
        .map(|info| format!("Stopping {}: {}.", info.egress_id, info.status.describe()));
    flash_result(
        &state.sessions,
        &session,
        format!("eg:{id}"),
        // At the top: the row goes away once the upload is done.
        Success::AtTop,
        result,
    );
    back_to(&name)
}

fn stop_url(room: &str, id: &str) -> String {
    format!("{}/egress/{}/stop", room_url(room), seg(id))
}

/// The room's running egresses (for the live region), each with Stop.
pub fn running(
    session: &Session,
    room: &str,
    list: &Result<EgressList, Error>,
    flash: &Option<Flash>,
) -> Markup {
    html! {
        section.card #egress aria-labelledby="h-egress" {
            h2 #h-egress { "Recording & streaming" }
            @match list {
                // LiveKit's refusal (no Redis, no worker) is why recording is unavailable, not a
                // failure of this page.
                Err(Error::Call { code: LIVEKIT_ERROR, message, .. }) => div.banner.warn role="status" {
                    strong { "Recording is not available" }
                    div { (message) }
                },
                Err(e) => (error_box("the room's recordings", e)),
                Ok(l) if l.egresses.is_empty() => (html::empty("Nothing is being recorded or streamed", html! {
                    "Use " strong { "Record / Stream" } " below. Finished recordings are on " a href="/recordings" { "Recordings" } "."
                })),
                Ok(l) => {
                    table {
                        thead { tr { th { "Egress" } th { "Status" } th { "Started" } th.num { "Duration" } th { "Output" } th { "" } } }
                        tbody {
                            @for e in &l.egresses {
                                @let target = format!("eg:{}", e.egress_id);
                                tr id=(target) data-status=(e.status.as_str()) {
                                    td { code { (e.egress_id) } br; span.hint { (e.kind.as_str().replace('_', " ")) } }
                                    td { (status_badge(e)) }
                                    td { (opt_time(e.started_at.as_deref())) }
                                    td.num { (duration(e)) }
                                    td { (locations(e)) }
                                    td {
                                        // Already stopping: LiveKit refuses a second stop.
                                        @if e.status == EgressStatus::Ending {
                                            span.muted { "stopping…" }
                                        } @else {
                                            form.inline method="post" action=(stop_url(room, &e.egress_id)) data-confirm={ "Stop " (e.egress_id) "? It finishes and uploads what it recorded." } {
                                                (html::csrf(session))
                                                button.danger.small type="submit" aria-label={ "Stop " (e.egress_id) } { "Stop" }
                                            }
                                        }
                                        (html::flash_at(flash, &target))
                                    }
                                }
                            }
                        }
                    }
                    p.hint { "Finished ones move to " a href="/recordings" { "Recordings" } "." }
                }
            }
        }
    }
}

/// The Record / Stream form.
pub fn form(session: &Session, room: &str, flash: &Option<Flash>) -> Markup {
    html! {
        section.card aria-labelledby="h-record" {
            h2 #h-record { "Record / Stream" }
            form #record method="post" action={ (room_url(room)) "/egress" } {
                (html::csrf(session))
                fieldset.choice {
                    legend.sr-only { "Output" }
                    label.check { input type="radio" name="output" value="file" checked; "Record to a file" }
                    label.check { input type="radio" name="output" value="rtmp"; "Stream to an RTMP URL" }
                }
                div.field {
                    label for="e-file" { "File path " span.hint { "template; empty = {room_name}-{time}, uploaded to [egress.storage] if set" } }
                    input #e-file name="filepath" placeholder="recordings/{room_name}-{time}";
                }
                div.field {
                    label for="e-rtmp" { "RTMP URL " span.hint { "with the stream key; never shown again" } }
                    input #e-rtmp type="password" name="rtmp_url" autocomplete="off" placeholder="rtmp://a.rtmp.youtube.com/live2/…";
                }
                div.row {
                    div.field {
                        label for="e-layout" { "Layout" }
                        select #e-layout name="layout" {
                            @for (value, label) in LAYOUTS { option value=(value) { (label) } }
                        }
                    }
                    div.field {
                        label.check { input #e-audio type="checkbox" name="audio_only" value="on"; "Audio only" }
                    }
                }
                button type="submit" { "Record / Stream" }
            }
            (html::flash_at(flash, "record"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(output: &str, filepath: &str, url: &str) -> RecordForm {
        RecordForm {
            output: output.into(),
            filepath: filepath.into(),
            rtmp_url: url.into(),
            layout: "speaker".into(),
            audio_only: None,
        }
    }

    #[test]
    fn the_form_becomes_one_room_composite() {
        let p = record_params("standup", &form("file", " standups/{room_name} ", "")).unwrap();
        assert_eq!(p.room, "standup");
        assert_eq!(p.layout.as_deref(), Some("speaker"));
        assert_eq!(p.file.unwrap().filepath, "standups/{room_name}");
        assert_eq!(p.stream, None);
        assert_eq!(p.audio_only, None);

        let mut f = form("rtmp", "ignored", "rtmp://a.example/live/key");
        f.audio_only = Some("on".into());
        let p = record_params("standup", &f).unwrap();
        assert_eq!(p.file, None);
        assert_eq!(p.stream.unwrap().urls, vec!["rtmp://a.example/live/key"]);
        assert_eq!(p.audio_only, Some(true));
    }

    #[test]
    fn a_stream_without_a_url_is_named() {
        let e = record_params("standup", &form("rtmp", "", " ")).unwrap_err();
        assert!(e.starts_with("RTMP URL: required"), "{e}");
        let e = record_params("standup", &form("hls", "", "")).unwrap_err();
        assert_eq!(e, "Output: “hls” is neither file nor rtmp.");
    }
}
