//! `/config`: the effective configuration and the rendered files, secrets redacted by the server.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use hero_livekit_api::methods::{ConfigFilesM, ConfigGet};
use hero_livekit_api::types::NoParams;
use maud::html;

use crate::AppState;
use crate::auth::Session;
use crate::html::{self, Nav, error_box};

pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let (cfg, files) = tokio::join!(
        state.rpc.call::<ConfigGet>(&NoParams {}),
        state.rpc.call::<ConfigFilesM>(&NoParams {}),
    );
    let body = html! {
        h1 { "Configuration" }
        p.sub { "What the control plane runs with, and the files it renders. Secrets show as "
            code { "<redacted>" } "." }
        section.card aria-labelledby="h-effective" {
            h2 #h-effective { "Effective configuration" }
            @match &cfg {
                Ok(c) => {
                    @let v = serde_json::to_value(c).unwrap_or_default();
                    dl.kv {
                        @for (k, val) in v.as_object().into_iter().flatten() {
                            dt { code { (k) } }
                            dd { @match val {
                                serde_json::Value::String(s) => code { (s) },
                                serde_json::Value::Null => span.muted { "unset" },
                                other => code { (other.to_string()) },
                            } }
                        }
                    }
                }
                Err(e) => (error_box("the configuration", e)),
            }
        }
        @match &files {
            Ok(f) => {
                @let side = [
                    ("egress-yaml", "egress.yaml", f.egress_yaml.as_ref()),
                    ("ingress-yaml", "ingress.yaml", f.ingress_yaml.as_ref()),
                    ("sip-yaml", "sip.yaml", f.sip_yaml.as_ref()),
                ];
                @let shown = [("livekit-yaml", "livekit.yaml", Some(&f.livekit_yaml)), ("backend-env", "backend.env", Some(&f.backend_env))]
                    .into_iter()
                    .chain(side)
                    .filter_map(|(id, name, text)| Some((id, name, text?)));
                @for (id, name, text) in shown {
                    section.card aria-labelledby={ "h-" (id) } {
                        div.toolbar {
                            h2 id={ "h-" (id) } { code { (name) } }
                            button.secondary.small type="button" data-copy=(id) { "Copy" }
                        }
                        pre id=(id) { (text) }
                    }
                }
            }
            Err(e) => section.card { h2 { "Rendered files" } (error_box("the rendered files", e)) },
        }
    };
    html::ok(html::page(&session, Nav::Config, "Config", body))
}
