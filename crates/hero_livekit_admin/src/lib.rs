//! hero_livekit admin UI: server-rendered pages over the control plane's rpc.sock.
//!
//! The admin holds no LiveKit secret: every action is a JSON-RPC call to hero_livekit_server,
//! and events come from lk-backend with the bearer `backend.info` hands out per request.

mod auth;
pub mod config;
mod error;
mod html;
mod pages;
mod rpc;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use config::Config;
pub use error::{Error, Result};
pub use hero_livekit_api::service::{Shutdown, init_tracing, shutdown_signal};

/// Cheap handles shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub login: auth::LoginToken,
    pub sessions: Arc<auth::Sessions>,
    pub rpc: rpc::Rpc,
    /// For lk-backend's events API.
    pub http: reqwest::Client,
    /// For lk-backend's event stream: no overall timeout, since the response never ends.
    pub live_http: reqwest::Client,
    /// Set when the service stops, ending the `/live` streams (a graceful shutdown waits for
    /// every connection, and those would otherwise never finish).
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Reads (or creates) the login token; returns the state and the token text.
    pub fn new(config: Config) -> Result<(Self, String)> {
        let token = auth::load_or_create_token(&config.token_path())?;
        hero_livekit_api::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.call_timeout)
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| Error::Backend(e.to_string()))?;
        let live_http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| Error::Backend(e.to_string()))?;
        let state = AppState {
            login: auth::LoginToken::new(&token),
            sessions: Arc::new(auth::Sessions::new(config.session_ttl)),
            rpc: rpc::Rpc::new(config.socket.clone(), config.call_timeout),
            http,
            live_http,
            stopping: Arc::new(tokio::sync::watch::channel(false).0),
            config: Arc::new(config),
        };
        Ok((state, token))
    }
}

/// Every route. Only `/login` and `/favicon.ico` are reachable without a session.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/", get(pages::overview::page))
        .route("/nodes", get(pages::nodes::page))
        .route("/rooms", get(pages::rooms::list).post(pages::rooms::create))
        .route("/rooms/{name}", get(pages::rooms::show))
        .route("/rooms/{name}/delete", post(pages::rooms::delete))
        .route("/rooms/{name}/metadata", post(pages::rooms::metadata))
        .route("/rooms/{name}/data", post(pages::rooms::send_data))
        .route("/rooms/{name}/egress", post(pages::rooms::record))
        .route("/rooms/{name}/agents", post(pages::rooms::dispatch_agent))
        .route(
            "/rooms/{name}/agents/{id}/delete",
            post(pages::rooms::delete_agent),
        )
        .route(
            "/rooms/{name}/egress/{id}/stop",
            post(pages::rooms::stop_egress),
        )
        .route(
            "/rooms/{name}/participants/{identity}/remove",
            post(pages::rooms::remove),
        )
        .route(
            "/rooms/{name}/participants/{identity}/mute",
            post(pages::rooms::mute),
        )
        .route(
            "/rooms/{name}/participants/{identity}/update",
            post(pages::rooms::update),
        )
        .route(
            "/tokens",
            get(pages::tokens::page).post(pages::tokens::mint),
        )
        .route("/tokens/decode", post(pages::tokens::decode))
        .route("/keys", get(pages::keys::page))
        .route("/keys/rotate", post(pages::keys::rotate))
        .route("/keys/revoke", post(pages::keys::revoke))
        .route("/keys/import", post(pages::keys::import))
        .route("/recordings", get(pages::recordings::page))
        .route(
            "/ingress",
            get(pages::ingress::page).post(pages::ingress::create),
        )
        .route("/ingress/{id}/delete", post(pages::ingress::delete))
        .route("/telephony", get(pages::telephony::page))
        .route("/telephony/trunks", post(pages::telephony::create_trunk))
        .route(
            "/telephony/trunks/{direction}/{id}/delete",
            post(pages::telephony::delete_trunk),
        )
        .route("/telephony/rules", post(pages::telephony::create_rule))
        .route(
            "/telephony/rules/{id}/delete",
            post(pages::telephony::delete_rule),
        )
        .route("/telephony/call", post(pages::telephony::call))
        .route("/events", get(pages::events::page))
        .route("/audit", get(pages::audit::page))
        .route("/config", get(pages::config::page))
        .route("/deployment", get(pages::deployment::page))
        .route(
            "/logout",
            get(pages::login::logout_page).post(pages::login::logout),
        )
        .route("/live", get(pages::live::stream))
        .route("/api/status", get(pages::api::status))
        .route("/api/stats/{series}", get(pages::api::stats))
        .route("/assets/{*name}", get(pages::api::asset))
        .route("/api/nodes", get(pages::api::nodes))
        .route("/api/rooms", get(pages::api::rooms))
        .route(
            "/api/rooms/{name}/participants",
            get(pages::api::participants),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ));
    Router::new()
        .route(
            "/login",
            get(pages::login::login_get).post(pages::login::login_post),
        )
        .route("/favicon.ico", get(pages::favicon))
        .merge(protected)
        .layer(axum::middleware::map_response(html::security_headers))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(30),
        ))
        .with_state(state)
}

/// The URL an operator opens to log in, for the address actually bound.
pub fn login_url(addr: SocketAddr, token: &str) -> String {
    let host = match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("[::1]:{}", a.port()),
        other => other.to_string(),
    };
    format!("http://{host}/login?token={token}")
}

/// Serves the UI on `listener` until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let print = config.print_login_url;
    let (state, token) = AppState::new(config)?;
    let addr = listener.local_addr().map_err(Error::Serve)?;
    if print {
        // stdout, outside the log stream (stderr): the one place the token is shown.
        println!("hero_livekit admin: open {}", login_url(addr, &token));
    }
    drop(token);
    serve(state, listener, shutdown).await
}

/// Serves an already-built state (tests build it to learn the login token).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().map_err(Error::Serve)?;
    tracing::info!(%addr, socket = %state.config.socket.display(), "hero_livekit_admin listening");
    let stopping = state.stopping.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.send_replace(true);
    };
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Serve)
}

/// Waits (bounded; zero skips) for the server socket, as every dependent does at start, and
/// ends at once when `shutdown` is requested.
pub async fn wait_for_server(
    config: &Config,
    waited: std::time::Duration,
    shutdown: &hero_livekit_api::service::Shutdown,
) -> Result<()> {
    hero_livekit_api::wait::wait_for_server(&config.socket, waited, shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_url_uses_the_bound_address() {
        let a: SocketAddr = "127.0.0.1:8082".parse().unwrap();
        assert_eq!(login_url(a, "T"), "http://127.0.0.1:8082/login?token=T");
        let a: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(login_url(a, "T"), "http://127.0.0.1:9000/login?token=T");
    }
}
