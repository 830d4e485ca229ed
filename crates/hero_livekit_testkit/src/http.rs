//! Raw HTTP/1.1 over TCP and Unix sockets, and JSON-RPC over `rpc.sock`.
//!
//! Raw on purpose: one request per connection (`connection: close`), the bytes exactly as
//! written, so tests can also send what no well-behaved client would. The async variants run
//! the same code on tokio's blocking pool, so an in-process service keeps being served while a
//! test waits for its answer.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// A request to send: method, path, headers and body.
#[derive(Clone, Debug)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
}

/// What came back: the status, the head (status line and headers) and the de-chunked body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test showing the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("HTTP {}: not JSON ({e}): {}", self.status, self.text()))
    }

    /// The first value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

impl Request {
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    pub fn get(path: &str) -> Request {
        Request::new("GET", path)
    }

    pub fn post(path: &str) -> Request {
        Request::new("POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// How long reads and writes may block (10 s unless set).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = timeout;
        self
    }

    /// The request as it goes on the wire.
    pub fn to_bytes(&self, host: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.method,
            self.path,
            self.body.len()
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// Sends to `127.0.0.1:port`.
    pub fn send_tcp(&self, port: u16) -> io::Result<Response> {
        let s = std::net::TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        exchange(s, &self.to_bytes(&format!("127.0.0.1:{port}")))
    }

    /// Sends over a Unix socket.
    pub fn send_unix(&self, socket: &Path) -> io::Result<Response> {
        let s = UnixStream::connect(socket)?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        exchange(s, &self.to_bytes("localhost"))
    }

    pub async fn send_tcp_async(&self, port: u16) -> io::Result<Response> {
        let req = self.clone();
        blocking(move || req.send_tcp(port)).await
    }

    pub async fn send_unix_async(&self, socket: &Path) -> io::Result<Response> {
        let (req, socket) = (self.clone(), socket.to_path_buf());
        blocking(move || req.send_unix(&socket)).await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("the request thread panicked")
}

/// Sends bytes exactly as given to `127.0.0.1:port` (for requests no builder would make).
pub fn send_raw_tcp(port: u16, raw: &[u8], timeout: Duration) -> io::Result<Response> {
    let s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    exchange(s, raw)
}

/// Writes the request and reads the answer to the end. A server may answer and hang up before
/// it has read a large body (413): the answer still counts when the write fails.
fn exchange(mut s: impl Read + Write, request: &[u8]) -> io::Result<Response> {
    let written = s.write_all(request);
    let mut raw = Vec::new();
    let read = s.read_to_end(&mut raw);
    match parse(&raw) {
        Some(response) => Ok(response),
        None => {
            written?;
            read?;
            Err(io::Error::other(format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&raw)
            )))
        }
    }
}

/// Splits a raw HTTP/1.1 response into status, head and body, undoing chunked encoding.
fn parse(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Some(Response { status, head, body })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&rest[..nl]).ok()?;
        let size = usize::from_str_radix(size_field.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(nl + 2..nl + 2 + size)?);
        rest = rest.get(nl + 4 + size..)?;
    }
}

/// One JSON-RPC request body posted to `rpc.sock` as plain HTTP; returns the whole response
/// object (`result` or `error`), or the batch array.
pub fn rpc_raw(socket: &Path, body: &str) -> Value {
    Request::post("/")
        .header("content-type", "application/json")
        .body(body)
        .send_unix(socket)
        .unwrap_or_else(|e| panic!("POST to {}: {e}", socket.display()))
        .json()
}

/// [`rpc_raw`] from async code.
pub async fn rpc_raw_async(socket: &Path, body: &str) -> Value {
    let (socket, body) = (socket.to_path_buf(), body.to_string());
    blocking(move || rpc_raw(&socket, &body)).await
}

/// A JSON-RPC call over `rpc.sock`: the `result`, or the `error` object (as text) as `Err`;
/// also `Err` when the socket does not answer.
pub fn rpc(socket: &Path, method: &str, params: Value) -> Result<Value, String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = Request::post("/")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send_unix(socket)
        .map_err(|e| format!("{method}: {e}"))?;
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("{method}: HTTP {}, not JSON ({e})", r.status))?;
    match v.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(v["error"].to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_reassembled_and_headers_found() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let r = parse(raw).unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "abcde"));
        assert_eq!(r.header("x-a").as_deref(), Some("b"));
        assert_eq!(r.header("missing"), None);
        assert!(parse(b"HTTP/1.1 200 OK\r\n").is_none(), "no end of head");
    }

    #[test]
    fn requests_carry_their_length_and_headers() {
        let bytes = Request::post("/p")
            .header("a", "1")
            .body("xy")
            .to_bytes("h");
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "POST /p HTTP/1.1\r\nhost: h\r\nconnection: close\r\ncontent-length: 2\r\na: 1\r\n\r\nxy"
        );
    }
}
