//! The HTTP surface: auth middleware on every path (as LK wires it), `GET /` health, the Twirp
//! RoomService, and Go's plain 404 for everything else.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::auth::{self, Claims};
use crate::room_service;
use crate::twirp::{Encoding, TwirpError};

const ROOM_SERVICE: &str = "/twirp/livekit.RoomService/";

/// The Twirp services livekit-server registers, by path prefix.
#[derive(Clone, Copy)]
enum Service {
    Room,
    Egress,
    Ingress,
    Sip,
    Agent,
}

const SERVICES: &[(&str, Service)] = &[
    (ROOM_SERVICE, Service::Room),
    ("/twirp/livekit.Egress/", Service::Egress),
    ("/twirp/livekit.Ingress/", Service::Ingress),
    ("/twirp/livekit.SIP/", Service::Sip),
    ("/twirp/livekit.AgentDispatchService/", Service::Agent),
];

impl Service {
    fn methods(self) -> &'static [&'static str] {
        match self {
            Service::Room => room_service::METHODS,
            Service::Egress => crate::egress::METHODS,
            Service::Ingress => crate::ingress::METHODS,
            Service::Sip => crate::sip::METHODS,
            Service::Agent => crate::agent_dispatch::METHODS,
        }
    }
}

pub fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Plain-text body without trailing newline, as LK's `HandleError` writes it.
fn plain(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if req.uri().path() == "/rtc" {
        return rtc(&shared, req);
    }
    let (parts, body) = req.into_parts();
    // LK collapses a leading `//`.
    let mut path = parts.uri.path().to_string();
    while path.starts_with("//") {
        path.remove(0);
    }

    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Logged before auth, so tests can also see calls the middleware refused.
    if let Some(method) = path.strip_prefix(ROOM_SERVICE) {
        shared.log_request(method, &ct);
    }

    // Auth middleware: runs before routing, on every path.
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let claims: Option<Claims> = match auth::extract_token(header, parts.uri.query()) {
        Err(e) => return plain(StatusCode::UNAUTHORIZED, e.to_string()),
        Ok(None) => None,
        Ok(Some(token)) => match auth::verify(&token, &shared.config.keys, crate::now_f64()) {
            Ok(c) => Some(c),
            Err(e) => return plain(StatusCode::UNAUTHORIZED, e.to_string()),
        },
    };

    if path == "/" {
        return if shared.ready.load(Ordering::SeqCst) {
            plain(StatusCode::OK, "OK")
        } else {
            plain(
                StatusCode::NOT_ACCEPTABLE,
                format!("Not Ready\nNode Updated At {}", shared.started_at),
            )
        };
    }

    if let Some((method, svc)) = SERVICES
        .iter()
        .find_map(|(p, svc)| path.strip_prefix(p).map(|m| (m, *svc)))
    {
        let method = method.to_string();
        return match twirp(
            &shared,
            svc,
            &parts.method,
            &path,
            &method,
            &ct,
            claims.as_ref(),
            &parts.headers,
            body,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
    }

    // Go's http.NotFound.
    plain(StatusCode::NOT_FOUND, "404 page not found\n")
}

#[allow(clippy::too_many_arguments)]
async fn twirp(
    shared: &Arc<Shared>,
    svc: Service,
    http_method: &Method,
    path: &str,
    method: &str,
    ct: &str,
    claims: Option<&Claims>,
    headers: &axum::http::HeaderMap,
    body: Body,
) -> Result<Response, TwirpError> {
    // Order as in Twirp's generated ServeHTTP: HTTP method, then route, then Content-Type.
    if http_method != Method::POST {
        return Err(TwirpError::bad_route(
            format!(
                "unsupported method {:?} (only POST is allowed)",
                http_method.as_str()
            ),
            http_method.as_str(),
            path,
        ));
    }
    if !svc.methods().contains(&method) {
        return Err(TwirpError::bad_route(
            format!("no handler for path {path:?}"),
            http_method.as_str(),
            path,
        ));
    }
    let Some(enc) = Encoding::from_content_type(ct) else {
        return Err(TwirpError::bad_route(
            format!("unexpected Content-Type: {ct:?}"),
            http_method.as_str(),
            path,
        ));
    };

    // LK's RequestBodyLimiter refuses an announced oversize body with a plain 413; a body that
    // only turns out too large while reading fails to decode (malformed).
    let limit = shared.config.limits.max_api_request_body_size;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Ok(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        TwirpError::malformed(match enc {
            Encoding::Json => "the json request could not be decoded",
            Encoding::Protobuf => "failed to read request body",
        })
    })?;
    match svc {
        Service::Room => room_service::call(shared, method, claims, enc, &bytes),
        Service::Egress => crate::egress::call(shared, method, claims, enc, &bytes),
        Service::Ingress => crate::ingress::call(shared, method, claims, enc, &bytes),
        Service::Sip => crate::sip::call(shared, method, claims, enc, &bytes),
        Service::Agent => crate::agent_dispatch::call(shared, method, claims, enc, &bytes),
    }
}

/// `GET /rtc`: the signalling WebSocket. Like LK's `RTCService`, the token must allow joining
/// a room; then the connection is upgraded (101 with the RFC 6455 accept key). The stand-in
/// joins nobody: it closes the socket with status 1000 right away.
fn rtc(shared: &Arc<Shared>, mut req: Request) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let claims = match auth::extract_token(header, req.uri().query()) {
        Err(e) => return plain(StatusCode::UNAUTHORIZED, e.to_string()),
        Ok(None) => None,
        Ok(Some(token)) => match auth::verify(&token, &shared.config.keys, crate::now_f64()) {
            Ok(c) => Some(c),
            Err(e) => return plain(StatusCode::UNAUTHORIZED, e.to_string()),
        },
    };
    let joins = claims
        .as_ref()
        .and_then(|c| c.video.as_ref())
        .is_some_and(|v| v.room_join.unwrap_or(false));
    if !joins {
        return plain(
            StatusCode::UNAUTHORIZED,
            "no permissions to access the room",
        );
    }
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .filter(|_| upgrade)
        .map(str::to_string)
    else {
        return plain(StatusCode::BAD_REQUEST, "Bad Request");
    };
    use base64::Engine;
    use sha1::Digest;
    let accept = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ));
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(up) = on_upgrade.await {
            use tokio::io::AsyncWriteExt;
            let mut io = hyper_util::rt::TokioIo::new(up);
            let _ = io.write_all(&[0x88, 0x02, 0x03, 0xe8]).await;
        }
    });
    let mut r = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        "sec-websocket-accept",
        HeaderValue::from_str(&accept).expect("base64 is a header value"),
    );
    r
}
