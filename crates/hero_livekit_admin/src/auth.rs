//! Who may use the UI: the login token file, in-memory sessions, and CSRF/origin checks.
//!
//! - The login token (43 base62 characters from the OS CSPRNG, ≥ 256 bits) is created once and
//!   kept 0600 in `<home>/admin.token`; it is compared in constant time and never logged.
//! - A login creates a random session id (another 256 bits) handed out as an HttpOnly,
//!   SameSite=Strict cookie. Sessions live in memory only: restarting the admin logs everyone
//!   out, which is the safe default for a single-operator tool.
//! - Every state-changing request must carry the session's CSRF token (form field `_csrf` or
//!   header `x-csrf-token`, compared in constant time) and must not come from another origin.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::{Error, Result};

pub const COOKIE: &str = "hl_admin_session";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Length of generated tokens: 43 base62 characters ≈ 256 bits.
pub const TOKEN_LEN: usize = 43;
/// A session never outlives this, however active.
const MAX_SESSION_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Oldest sessions are dropped beyond this many (a login flood cannot grow memory forever).
const MAX_SESSIONS: usize = 1000;
/// Largest form body read for the CSRF check.
const MAX_FORM_BYTES: usize = 1024 * 1024;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` base62 characters from the OS CSPRNG (rejection sampling, so no modulo bias).
pub fn random_token(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the OS random number generator failed");
        for b in buf {
            // 248 = 4 * 62: values at or above it would bias the low characters.
            if b < 248 && out.len() < len {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    out
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// The login token, held as its SHA-256 so the comparison is constant-time and fixed-length.
#[derive(Clone)]
pub struct LoginToken([u8; 32]);

impl LoginToken {
    pub fn new(token: &str) -> Self {
        LoginToken(digest(token.trim()))
    }

    pub fn matches(&self, candidate: &str) -> bool {
        bool::from(self.0.ct_eq(&digest(candidate.trim())))
    }
}

impl std::fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginToken(<redacted>)")
    }
}

fn acceptable(token: &str) -> bool {
    token.len() >= 32 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads `<home>/admin.token`, creating it (0600, atomically) when missing or unusable.
/// Returns the token text, which only `main` prints.
pub fn load_or_create_token(path: &Path) -> Result<String> {
    let io = |source| Error::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().ok_or_else(|| Error::TokenInvalid {
        path: path.to_path_buf(),
        reason: "has no parent directory".into(),
    })?;
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim();
            if acceptable(token) {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
                if mode != 0o600 {
                    tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "login token file had a loose mode; set to 0600");
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io)?;
                }
                return Ok(token.to_string());
            }
            tracing::warn!(path = %path.display(), "login token file is empty or malformed; writing a new token");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let token = random_token(TOKEN_LEN);
    write_atomic(path, format!("{token}\n").as_bytes()).map_err(io)?;
    tracing::info!(path = %path.display(), "created a new login token");
    Ok(token)
}

/// Temp file in the same dir (0600), fsync, rename over, fsync the dir.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", random_token(8)));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A message shown once on the next page (after a redirect).
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
    /// Where on the page it belongs (a form or a row); `None` = top of the page.
    pub target: Option<String>,
}

struct SessionData {
    csrf: String,
    created: Instant,
    last_seen: Instant,
    flash: Option<Flash>,
}

/// The session of the current request (in the request extensions behind [`require_session`]).
#[derive(Debug, Clone)]
pub struct Session {
    key: [u8; 32],
    pub csrf: String,
}

/// Live sessions, keyed by the SHA-256 of their id (the id itself is only in the cookie).
pub struct Sessions {
    inner: Mutex<HashMap<[u8; 32], SessionData>>,
    ttl: Duration,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Self {
        Sessions {
            inner: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], SessionData>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a session; returns its id (for the cookie).
    pub fn create(&self) -> String {
        let id = random_token(TOKEN_LEN);
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, s| self.alive(s, now));
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            digest(&id),
            SessionData {
                csrf: random_token(TOKEN_LEN),
                created: now,
                last_seen: now,
                flash: None,
            },
        );
        id
    }

    fn alive(&self, s: &SessionData, now: Instant) -> bool {
        now.duration_since(s.last_seen) < self.ttl
            && now.duration_since(s.created) < MAX_SESSION_AGE
    }

    /// The live session with this id, refreshing its idle timer.
    pub fn get(&self, id: &str) -> Option<Session> {
        let key = digest(id);
        let now = Instant::now();
        let mut map = self.lock();
        let data = map.get_mut(&key)?;
        if !self.alive(data, now) {
            map.remove(&key);
            return None;
        }
        data.last_seen = now;
        Some(Session {
            key,
            csrf: data.csrf.clone(),
        })
    }

    pub fn remove(&self, session: &Session) {
        self.lock().remove(&session.key);
    }

    pub fn set_flash(&self, session: &Session, ok: bool, text: impl Into<String>) {
        self.set_flash_at(session, None, ok, text);
    }

    /// A message shown next to `target` (a form or a row id) on the next page.
    pub fn set_flash_at(
        &self,
        session: &Session,
        target: Option<String>,
        ok: bool,
        text: impl Into<String>,
    ) {
        if let Some(s) = self.lock().get_mut(&session.key) {
            s.flash = Some(Flash {
                ok,
                text: text.into(),
                target,
            });
        }
    }

    pub fn take_flash(&self, session: &Session) -> Option<Flash> {
        self.lock().get_mut(&session.key)?.flash.take()
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached us over TLS (a proxy says so) or the operator asked for Secure.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

pub fn session_cookie(state: &AppState, headers: &HeaderMap, id: &str) -> String {
    let secure = if secure(state, headers) {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

pub fn clear_cookie(state: &AppState, headers: &HeaderMap) -> String {
    let secure = if secure(state, headers) {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The session the request's cookie names, if it is live.
pub fn current(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    state.sessions.get(cookie_value(headers, COOKIE)?)
}

/// Refuses requests that a browser marks as coming from another site or origin.
pub fn same_origin(headers: &HeaderMap) -> Result<()> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(Error::Forbidden("cross-site request refused"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    // Privacy settings can make a browser send `Origin: null` on its own forms; its
    // Sec-Fetch-Site (which pages cannot forge) still tells.
    if origin == "null"
        && headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("same-origin")
    {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .and_then(|u| {
            let h = u.host_str()?.to_string();
            Some(match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h,
            })
        });
    match origin_host {
        Some(h) if !host.is_empty() && h.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(Error::Forbidden("cross-origin request refused")),
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/assets/")
}

/// Guards every route except `/login`: no session → `/login` (pages) or 401 (JSON, assets);
/// unsafe methods additionally need a matching CSRF token and a same-origin request.
pub async fn require_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(session) = current(&state, request.headers()) else {
        return if is_api(request.uri().path()) {
            Error::Unauthorized.into_response()
        } else {
            Redirect::to("/login").into_response()
        };
    };
    let mut request = request;
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        if let Err(e) = same_origin(request.headers()) {
            return e.into_response();
        }
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request too large").into_response(),
        };
        let given = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                url::form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == CSRF_FIELD)
                    .map(|(_, v)| v.into_owned())
            });
        let ok = given.is_some_and(|g| bool::from(digest(&g).ct_eq(&digest(&session.csrf))));
        if !ok {
            tracing::warn!(path = %parts.uri.path(), "refused a request without a valid CSRF token");
            return Error::Forbidden(
                "missing or invalid CSRF token: reload the page and try again",
            )
            .into_response();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base62_of_the_requested_length() {
        let t = random_token(TOKEN_LEN);
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(t, random_token(TOKEN_LEN));
    }

    #[test]
    fn token_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home/admin.token");
        let t = load_or_create_token(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(load_or_create_token(&path).unwrap(), t);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create_token(&path).unwrap(), t);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, "weak").unwrap();
        assert_ne!(load_or_create_token(&path).unwrap(), "weak");
    }

    #[test]
    fn login_token_compares_by_value() {
        let t = LoginToken(digest("abc"));
        assert!(t.matches("abc"));
        assert!(t.matches(" abc\n"));
        assert!(!t.matches("abd"));
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[test]
    fn sessions_expire_and_carry_flash() {
        let s = Sessions::new(Duration::from_secs(60));
        let id = s.create();
        let sess = s.get(&id).unwrap();
        assert!(s.get("nope").is_none());
        s.set_flash(&sess, true, "done");
        assert_eq!(s.take_flash(&sess).unwrap().text, "done");
        assert!(s.take_flash(&sess).is_none());
        s.remove(&sess);
        assert!(s.get(&id).is_none());
        let short = Sessions::new(Duration::ZERO);
        let id = short.create();
        assert!(short.get(&id).is_none());
    }

    #[test]
    fn origin_checks() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8082".parse().unwrap());
        assert!(same_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://127.0.0.1:8082".parse().unwrap());
        assert!(same_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(same_origin(&h).is_err());
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(same_origin(&h).is_err());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&h).is_ok());
        h.remove(header::ORIGIN);
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(same_origin(&h).is_err());
    }
}
