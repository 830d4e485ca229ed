//! A typed JSON-RPC client for rpc.sock (WebSocket over the Unix socket).

use std::path::{Path, PathBuf};

use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{ClientBuilder, ClientT, Error as JsonRpcError};
use jsonrpsee::core::traits::ToRpcParams;
use serde_json::value::RawValue;
use tokio::net::UnixStream;

use crate::methods::Method;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {path}: {source} (is hero_livekit_server running?)")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("WebSocket handshake on {path} failed: {reason}")]
    Handshake { path: PathBuf, reason: String },
    /// The server answered with a JSON-RPC error.
    #[error("{message} (code {code})")]
    Rpc {
        code: i32,
        message: String,
        data: Option<serde_json::Value>,
    },
    #[error("{0}")]
    Transport(String),
    #[error("cannot encode params: {0}")]
    Encode(#[from] serde_json::Error),
}

impl ClientError {
    /// The JSON-RPC error code, when the server answered with an error.
    pub fn code(&self) -> Option<i32> {
        match self {
            ClientError::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<JsonRpcError> for ClientError {
    fn from(e: JsonRpcError) -> Self {
        match e {
            JsonRpcError::Call(obj) => ClientError::Rpc {
                code: obj.code(),
                message: obj.message().to_string(),
                data: obj.data().and_then(|d| serde_json::from_str(d.get()).ok()),
            },
            other => ClientError::Transport(other.to_string()),
        }
    }
}

/// Params already encoded as a JSON object.
struct Raw(Option<Box<RawValue>>);

impl ToRpcParams for Raw {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        Ok(self.0)
    }
}

/// A connection to the server socket.
pub struct RpcClient {
    inner: jsonrpsee::core::client::Client,
}

impl RpcClient {
    /// Connects to rpc.sock and upgrades to WebSocket.
    pub async fn connect(socket: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|source| ClientError::Connect {
                path: socket.to_path_buf(),
                source,
            })?;
        // The host is irrelevant on a Unix socket; the path is what the server routes on.
        let url = Url::parse("ws://localhost/").expect("static URL");
        let (tx, rx) = WsTransportClientBuilder::default()
            .max_request_size(16 * 1024 * 1024)
            .max_response_size(64 * 1024 * 1024)
            .build_with_stream(url, stream)
            .await
            .map_err(|e| ClientError::Handshake {
                path: socket.to_path_buf(),
                reason: e.to_string(),
            })?;
        let inner = ClientBuilder::default().build_with_tokio(tx, rx);
        Ok(Self { inner })
    }

    /// Calls a method with typed params and result.
    pub async fn call<M: Method>(&self, params: &M::Params) -> Result<M::Result, ClientError> {
        let raw = serde_json::value::to_raw_value(params)?;
        Ok(self.inner.request(M::NAME, Raw(Some(raw))).await?)
    }

    /// Calls any method with raw JSON params (an object, an array, or null for none).
    pub async fn call_raw(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, ClientError> {
        let raw = if params.is_null() {
            None
        } else {
            Some(serde_json::value::to_raw_value(&params)?)
        };
        Ok(self.inner.request(method, Raw(raw)).await?)
    }

    /// Subscribes to control-plane events (`events.subscribe`); the stream's last item is of
    /// type `error` when the server ends it.
    pub async fn subscribe_events(
        &self,
    ) -> Result<jsonrpsee::core::client::Subscription<crate::types::EventItem>, ClientError> {
        use crate::methods::{EVENTS_SUBSCRIBE, EVENTS_UNSUBSCRIBE};
        use jsonrpsee::core::client::SubscriptionClientT;
        Ok(self
            .inner
            .subscribe(EVENTS_SUBSCRIBE, Raw(None), EVENTS_UNSUBSCRIBE)
            .await?)
    }

    /// The underlying jsonrpsee client.
    pub fn inner(&self) -> &jsonrpsee::core::client::Client {
        &self.inner
    }
}
