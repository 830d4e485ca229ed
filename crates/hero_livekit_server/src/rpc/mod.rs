//! The JSON-RPC module: every method registered by its marker type from `hero_livekit_api`,
//! params decoded by name with errors that name the field, and `rpc.discover` generated from
//! the same registrations.

mod handlers;

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
    handlers::register(&mut r);
    let specs = r.specs.clone();
    let _ = state.specs.set(specs);
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
                        let p = parse::<M::Params>(&params)?;
                        let call = Call {
                            state: (*state).clone(),
                            peer: ext.get::<Peer>().copied(),
                        };
                        handler(call, p).await.map_err(ErrorObjectOwned::from)
                    }
                },
            )
            .expect("method names are unique");
    }
}

/// Decodes params given by name. No params (or null) means `{}`; positional arrays are refused
/// with a message saying to send an object. Errors name the offending field.
pub fn parse<T: DeserializeOwned>(params: &Params<'_>) -> std::result::Result<T, ErrorObjectOwned> {
    let raw = params
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "null")
        .unwrap_or("{}");
    if raw.starts_with('[') {
        return Err(Error::params("params", "send params by name, as one JSON object").into());
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
        Error::params(field, reason).into()
    })
}

/// The OpenRPC document of the registered methods.
pub fn discover(state: &AppState) -> serde_json::Value {
    let specs = state.specs.get().map(Vec::as_slice).unwrap_or_default();
    methods::openrpc_document(env!("CARGO_PKG_VERSION"), specs)
}
