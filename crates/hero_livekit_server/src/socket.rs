//! rpc.sock: directory and file hygiene, who may connect, and serving JSON-RPC on each accepted
//! connection (HTTP POST and WebSocket on the same socket).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use jsonrpsee::server::{Methods, ServerConfig, StopHandle, TowerServiceBuilder};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Caller of an RPC, from SO_PEERCRED; handlers read it from the request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
}

/// Largest request body: anything bigger is refused before it is parsed.
pub const MAX_REQUEST_BYTES: u32 = 1024 * 1024;
/// Responses can be larger (a batch of thousands of calls).
pub const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;
/// Connections served at once; more wait in the accept queue instead of exhausting memory.
pub const MAX_CONNECTIONS: usize = 1024;
/// A client must send a request's headers within this time (also closes idle keep-alive
/// connections), so trickling clients cannot hold the connection slots.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who may connect besides our own uid and root.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub own_uid: u32,
    pub group: Option<u32>,
}

impl Access {
    pub fn allows(&self, peer: &Peer) -> bool {
        if peer.uid == self.own_uid || peer.uid == 0 {
            return true;
        }
        let Some(gid) = self.group else { return false };
        peer.gid == gid
            || peer
                .pid
                .is_some_and(|pid| supplementary_groups(pid).contains(&gid))
    }
}

/// The peer's supplementary groups, from /proc (SO_PEERCRED carries only the primary gid).
fn supplementary_groups(pid: i32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Groups:")).map(|g| {
                g.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Resolves a group name (or numeric gid) from /etc/group.
pub fn resolve_group(name: &str) -> Result<u32> {
    resolve_group_for("socket_group", name)
}

/// A group name or number as a gid; an unknown name is an error about `setting`.
pub fn resolve_group_for(setting: &str, name: &str) -> Result<u32> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    let text = fs::read_to_string("/etc/group").map_err(Error::io("read", "/etc/group"))?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            let gid = f.nth(1)?.parse().ok()?;
            (n == name).then_some(gid)
        })
        .next()
        .ok_or_else(|| Error::Config {
            setting: setting.into(),
            reason: format!("no group named {name:?}"),
        })
}

/// Creates the socket dir (0700, or 0710 group-owned) and clears a stale socket file. Must be
/// called with the instance lock held, so a live server's socket is never removed.
pub async fn prepare(socket: &Path, group: Option<u32>) -> Result<()> {
    let dir = socket
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(Error::io("create the socket directory", dir))?;
    match group {
        Some(gid) => {
            rustix::fs::chown(dir, None, Some(rustix::fs::Gid::from_raw(gid)))
                .map_err(|e| Error::io("chown", dir)(e.into()))?;
            crate::files::set_mode(dir, 0o710)?;
        }
        None => crate::files::set_mode(dir, 0o700)?,
    }
    match fs::symlink_metadata(socket) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => Err(Error::Io {
            what: "use as the socket",
            path: socket.to_path_buf(),
            source: std::io::Error::other("it is a directory"),
        }),
        Ok(_) => match UnixStream::connect(socket).await {
            Ok(stream) => {
                let pid = stream
                    .peer_cred()
                    .ok()
                    .and_then(|c| c.pid())
                    .map_or("unknown".into(), |p| p.to_string());
                Err(Error::AlreadyRunning {
                    pid,
                    home: PathBuf::from(format!("unknown; it owns {}", socket.display())),
                })
            }
            Err(_) => {
                tracing::info!(socket = %socket.display(), "removing a stale socket left by a previous run");
                fs::remove_file(socket).map_err(Error::io("remove the stale socket", socket))
            }
        },
    }
}

pub fn bind(socket: &Path, group: Option<u32>) -> Result<UnixListener> {
    let listener = UnixListener::bind(socket).map_err(Error::io("bind", socket))?;
    if group.is_some() {
        let gid = group.map(rustix::fs::Gid::from_raw);
        rustix::fs::chown(socket, None, gid).map_err(|e| Error::io("chown", socket)(e.into()))?;
        fs::set_permissions(socket, fs::Permissions::from_mode(0o660))
            .map_err(Error::io("chmod", socket))?;
    }
    Ok(listener)
}

pub fn server_config() -> ServerConfig {
    ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        // jsonrpsee's batch limit answers with -32010, our storage code; the 1 MiB body cap
        // bounds batches instead.
        .set_batch_request_config(jsonrpsee::server::BatchRequestConfig::Unlimited)
        .build()
}

/// Accepts connections until `stop` fires, checking each peer and serving it.
pub async fn serve(listener: UnixListener, methods: Methods, access: Access, stop: StopHandle) {
    let builder: TowerServiceBuilder<_, _> = jsonrpsee::server::Server::builder()
        .set_config(server_config())
        .to_service_builder();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stopped = stop.clone().shutdown();
    tokio::pin!(stopped);
    loop {
        let permit = tokio::select! {
            _ = &mut stopped => break,
            p = slots.clone().acquire_owned() => p.expect("semaphore is never closed"),
        };
        let (stream, _) = tokio::select! {
            _ = &mut stopped => break,
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let peer = match stream.peer_cred() {
            Ok(c) => Peer {
                uid: c.uid(),
                gid: c.gid(),
                pid: c.pid(),
            },
            Err(e) => {
                tracing::warn!(error = %e, "no peer credentials; closing");
                continue;
            }
        };
        if !access.allows(&peer) {
            tracing::warn!(uid = peer.uid, pid = ?peer.pid, "refused a connection from a user that may not use this socket");
            continue;
        }
        let svc = builder
            .clone()
            .set_http_middleware(
                tower::ServiceBuilder::new()
                    .layer(tower_http::add_extension::AddExtensionLayer::new(peer))
                    // 413 for any body over the cap, chunked ones included (jsonrpsee alone
                    // answers a chunked oversize body with 500).
                    .layer(tower_http::limit::RequestBodyLimitLayer::new(
                        MAX_REQUEST_BYTES as usize,
                    )),
            )
            .build(methods.clone(), stop.clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = serve_connection(stream, svc, stop).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// Serves one connection: HTTP/1.1 (JSON-RPC POSTs) and the WebSocket upgrade, with a header
/// read timeout, and a graceful close when the server stops. (jsonrpsee's own
/// `serve_with_graceful_shutdown` has no header timeout: a client sending one byte a second
/// would hold its slot for 30 s.)
/// Reads the whole body, up to [`MAX_REQUEST_BYTES`], before the JSON-RPC service sees it, so
/// an oversize body is a 413 whether or not it declared its length (jsonrpsee alone answers a
/// chunked one with 500). Request bodies are small JSON documents, so buffering costs nothing.
async fn limit_body<S, B>(
    svc: S,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<UnsyncBoxBody<Bytes, BoxError>>, BoxError>
where
    S: tower::Service<hyper::Request<Full<Bytes>>, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_REQUEST_BYTES as usize)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let body = Full::new(Bytes::from_static(
                b"request body too large (at most 1 MiB)\n",
            ));
            let resp = hyper::Response::builder()
                .status(hyper::StatusCode::PAYLOAD_TOO_LARGE)
                .header("content-type", "text/plain")
                .body(body.map_err(|never| match never {}).boxed_unsync())
                .expect("a static response is valid");
            return Ok(resp);
        }
        Err(e) => return Err(e),
    };
    let resp = tower::ServiceExt::oneshot(svc, hyper::Request::from_parts(parts, Full::new(bytes)))
        .await
        .map_err(Into::into)?;
    Ok(resp.map(|b| b.map_err(Into::into).boxed_unsync()))
}

async fn serve_connection<S, B>(
    stream: UnixStream,
    svc: S,
    stop: StopHandle,
) -> Result<(), BoxError>
where
    S: tower::Service<hyper::Request<Full<Bytes>>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let svc = tower::service_fn(move |req| limit_body(svc.clone(), req));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection_with_upgrades(
        TokioIo::new(stream),
        hyper_util::service::TowerToHyperService::new(svc),
    );
    tokio::pin!(conn);
    let stopped = stop.shutdown();
    tokio::pin!(stopped);
    tokio::select! {
        r = conn.as_mut() => r,
        _ = &mut stopped => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    }
}
