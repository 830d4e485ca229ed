//! The control-plane client: one WebSocket connection to rpc.sock, shared by all requests,
//! re-established on the next call once it breaks. A restarted server is therefore picked up
//! without restarting the admin, and a stopped one shows as "control plane unreachable".

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hero_livekit_api::errors::{LIVEKIT_UNREACHABLE, METHOD_NOT_FOUND};
use hero_livekit_api::{ClientError, Method, RpcClient};
use tokio::sync::Mutex;

use crate::error::{Error, Result};

#[derive(Clone)]
pub struct Rpc {
    socket: Arc<PathBuf>,
    client: Arc<Mutex<Option<Arc<RpcClient>>>>,
    timeout: Duration,
}

impl Rpc {
    pub fn new(socket: PathBuf, timeout: Duration) -> Self {
        Rpc {
            socket: Arc::new(socket),
            client: Arc::new(Mutex::new(None)),
            timeout,
        }
    }

    /// The live connection, or a new one.
    async fn client(&self) -> Result<Arc<RpcClient>> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref()
            && c.inner().is_connected()
        {
            return Ok(c.clone());
        }
        *slot = None;
        let connect = RpcClient::connect(&self.socket);
        let client = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(c)) => Arc::new(c),
            Ok(Err(e)) => return Err(self.unreachable(e.to_string())),
            Err(_) => return Err(self.unreachable("no answer (timed out)".into())),
        };
        *slot = Some(client.clone());
        Ok(client)
    }

    fn unreachable(&self, reason: String) -> Error {
        Error::Unreachable {
            socket: self.socket.as_ref().clone(),
            reason,
        }
    }

    /// Forgets the connection so the next call reconnects.
    async fn reset(&self) {
        *self.client.lock().await = None;
    }

    /// Calls `M`. A call is never retried: a mutating method must not run twice.
    pub async fn call<M: Method>(&self, params: &M::Params) -> Result<M::Result> {
        let client = self.client().await?;
        let result = match tokio::time::timeout(self.timeout, client.call::<M>(params)).await {
            Ok(r) => r,
            Err(_) => {
                self.reset().await;
                return Err(Error::Timeout {
                    method: M::NAME,
                    waited: self.timeout,
                });
            }
        };
        match result {
            Ok(r) => Ok(r),
            Err(ClientError::Rpc {
                code,
                message,
                data,
            }) => Err(match code {
                METHOD_NOT_FOUND => Error::MethodMissing { method: M::NAME },
                LIVEKIT_UNREACHABLE => Error::LiveKitUnreachable {
                    url: data
                        .as_ref()
                        .and_then(|d| d.get("url"))
                        .and_then(|u| u.as_str())
                        .map(str::to_string),
                    message,
                },
                _ => Error::Call {
                    method: M::NAME,
                    code,
                    message,
                    data,
                },
            }),
            Err(other) => {
                self.reset().await;
                Err(self.unreachable(other.to_string()))
            }
        }
    }
}
