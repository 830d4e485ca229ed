//! The JSON-RPC module: every method registered by its marker type from `hero_livekit_api`,
//! params decoded by name with errors that name the field, and `rpc.discover` generated from
//! the same registrations.

mod agent;
mod audit;
mod config;
mod deploy;
mod egress;
mod ingress;
mod keys;
mod meta;
mod nodes;
mod rooms;
mod sip;
mod tokens;

use std::future::Future;

use hero_livekit_api::methods::{self, Method, MethodSpec};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{Extensions, RpcModule};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::socket::Peer;
use crate::state::AppState;

/// Builds the module with every method.
pub fn module(state: AppState) -> RpcModule<AppState> {
    let mut r = Registry {
        module: RpcModule::new(state.clone()),
        specs: Vec::new(),
    };
    meta::register(&mut r);
    config::register(&mut r);
    keys::register(&mut r);
    tokens::register(&mut r);
    audit::register(&mut r);
    nodes::register(&mut r);
    rooms::register(&mut r);
    egress::register(&mut r);
    ingress::register(&mut r);
    sip::register(&mut r);
    agent::register(&mut r);
    deploy::register(&mut r);
    subscribe_events(&mut r.module);
    r.specs.push(MethodSpec::of::<methods::EventsSubscribe>());
    r.specs.push(MethodSpec::of::<methods::EventsUnsubscribe>());
    state.set_specs(r.specs.clone());
    r.module
}

pub struct Registry {
    module: RpcModule<AppState>,
    specs: Vec<MethodSpec>,
}

/// Context handed to every handler.
pub struct Call {
    pub state: AppState,
    pub peer: Option<Peer>,
}

impl Call {
    /// One LiveKit RoomService call, signed by the active key (which the SFU has loaded).
    pub async fn sfu<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        method: &str,
        grant: crate::livekit::Grant,
        req: Req,
    ) -> Result<Resp> {
        let rows = self.state.store().keys().await?;
        let key = crate::keys::signer(&rows)?;
        self.state
            .livekit()
            .call((&key.api_key, key.secret.expose()), method, grant, req)
            .await
    }
}

impl Registry {
    pub fn add<M, F, Fut>(&mut self, handler: F)
    where
        M: Method,
        M::Result: Clone,
        F: Fn(Call, M::Params) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<M::Result>> + Send + 'static,
    {
        self.specs.push(MethodSpec::of::<M>());
        self.module
            .register_async_method(
                M::NAME,
                move |params: Params<'static>, state, ext: Extensions| {
                    let handler = handler.clone();
                    async move {
                        // Timed here rather than in a jsonrpsee RPC middleware: this sees every
                        // call, the ones inside a batch included, and its typed outcome.
                        let started = std::time::Instant::now();
                        let result = match parse_typed::<M::Params>(&params) {
                            Ok(p) => {
                                let call = Call {
                                    state: (*state).clone(),
                                    peer: ext.get::<Peer>().copied(),
                                };
                                handler(call, p).await
                            }
                            Err(e) => Err(e),
                        };
                        state.metrics().rpc_call(
                            M::NAME,
                            crate::metrics::outcome(&result),
                            started.elapsed(),
                        );
                        result.map_err(ErrorObjectOwned::from)
                    }
                },
            )
            .expect("method names are unique");
    }

    /// Like [`Registry::add`], and records the call in the audit log with its redacted params,
    /// the caller and the outcome. Every mutating method is registered this way.
    pub fn add_audited<M, F, Fut>(&mut self, handler: F)
    where
        M: Method,
        M::Result: Clone,
        F: Fn(Call, M::Params) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<M::Result>> + Send + 'static,
    {
        self.add::<M, _, _>(move |call: Call, params: M::Params| {
            let handler = handler.clone();
            async move {
                let state = call.state.clone();
                let peer = call.peer;
                let logged = serde_json::to_value(&params).unwrap_or_default();
                let result = handler(call, params).await;
                let outcome = match &result {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("error: {e}"),
                };
                if let Err(e) =
                    crate::audit::record(state.store(), M::NAME, peer, logged, &outcome).await
                {
                    state.metrics().audit_write_failed();
                    tracing::error!(error = %e, method = M::NAME, "could not write the audit log");
                }
                result
            }
        });
    }
}

/// `events.subscribe`: control-plane events as `events` notifications. A subscriber that
/// falls behind, or a server that stops, ends the stream with an `error` item, never silently.
fn subscribe_events(module: &mut RpcModule<AppState>) {
    use hero_livekit_api::methods::{EVENTS_NOTIFICATION, EVENTS_SUBSCRIBE, EVENTS_UNSUBSCRIBE};
    use jsonrpsee::SubscriptionMessage;
    module
        .register_subscription(
            EVENTS_SUBSCRIBE,
            EVENTS_NOTIFICATION,
            EVENTS_UNSUBSCRIBE,
            |_params, pending, state, _| async move {
                let mut rx = state.events().subscribe();
                let sink = pending.accept().await?;
                loop {
                    let received = tokio::select! {
                        r = rx.recv() => r,
                        _ = sink.closed() => return Ok(()),
                    };
                    let item = match received {
                        Ok(item) => item,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            crate::events::error_item(&format!(
                                "subscriber fell {n} events behind; resubscribe and reread status"
                            ))
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            crate::events::error_item("the server is stopping")
                        }
                    };
                    let last = item.kind == "error";
                    let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&item)?);
                    if sink.send(msg).await.is_err() || last {
                        return Ok(());
                    }
                }
            },
        )
        .expect("subscription names are unique");
}

/// Decodes params given by name. No params (or null) means `{}`; positional arrays are refused
/// with a message saying to send an object. Errors name the offending field.
pub fn parse<T: DeserializeOwned>(params: &Params<'_>) -> std::result::Result<T, ErrorObjectOwned> {
    parse_typed(params).map_err(ErrorObjectOwned::from)
}

fn parse_typed<T: DeserializeOwned>(params: &Params<'_>) -> Result<T> {
    let raw = params
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "null")
        .unwrap_or("{}");
    if raw.starts_with('[') {
        return Err(Error::params(
            "params",
            "send params by name, as one JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let reason = e.inner().to_string();
        let field = crate::error::serde_field(&e.path().to_string(), &reason);
        // Drop serde's position suffix: it points into the params, not the request.
        let reason = reason
            .split(" at line ")
            .next()
            .unwrap_or(&reason)
            .to_string();
        Error::params(field, reason)
    })
}

/// The OpenRPC document of the registered methods.
pub fn discover(state: &AppState) -> serde_json::Value {
    methods::openrpc_document(env!("CARGO_PKG_VERSION"), state.specs())
}
