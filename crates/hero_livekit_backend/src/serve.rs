//! The accept loop. axum's `serve` gives no header-read timeout, so a client that trickles its
//! headers would hold a connection forever; hyper's own builder with a timer bounds it.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may finish after shutdown is asked.
const DRAIN: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's accept queue, so a flood of clients
/// costs bounded memory (each connection's buffers) instead of exhausting it or the descriptors.
pub const MAX_CONNECTIONS: usize = 4096;

/// Serves `app`; every request is timed and counted here, at the outermost level, rather than
/// by a router layer that would box the inner service per request.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, metrics) = (app.clone(), metrics.clone());
        let service = hyper::service::service_fn(move |req| {
            let (app, metrics) = (app.clone(), metrics.clone());
            async move {
                let req = req.map(axum::body::Body::new);
                Ok::<_, Infallible>(crate::routes::observe(app, &metrics, req).await)
            }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "some connections were still open after {}s",
            DRAIN.as_secs()
        );
    }
}
