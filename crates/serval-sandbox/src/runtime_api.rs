//! The Lambda Runtime API (2018-06-01) for one environment: a loopback
//! listener the function's runtime polls for events and answers on.
//!
//! The invoke path is driven directly: a runtime's `GET /next` parks its
//! connection here, and the invoking task takes that connection, writes the
//! event and reads the runtime's answer itself. No task hand-offs sit on the
//! warm path. Requests on other connections (a runtime that answers on a new
//! connection, `init/error`) are served by a small per-connection task.

use crate::{error_body, Invocation, Outcome, MAX_RESPONSE_BYTES};
use bytes::{Buf, Bytes, BytesMut};
use serval_core::{Clock, SystemClock};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// The most header bytes a runtime may send with one request.
const MAX_HEAD: usize = 64 * 1024;
/// Connections one runtime may hold open at once; more are closed at once.
const MAX_CONNECTIONS: usize = 16;

/// State shared between the environment and its Runtime API.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Becomes true at the first `/next` (init is over).
    pub(crate) ready: watch::Sender<bool>,
    /// Set when the runtime reported an init error.
    pub(crate) init_error: watch::Sender<Option<Outcome>>,
}

#[derive(Default)]
struct State {
    /// Connections whose `GET /next` waits for an event, oldest first. A
    /// runtime normally has one; a runtime that abandons a `/next` and asks
    /// again on a new connection has two for a moment, and the two requests
    /// may be read in either order.
    parked: std::collections::VecDeque<Conn>,
    /// An invoker waiting for the runtime's next `GET /next`.
    want: Option<oneshot::Sender<Conn>>,
    /// The invocation handed out and not yet answered.
    current: Option<(String, oneshot::Sender<Outcome>)>,
    /// Whether the runtime has taken the current invocation's event.
    picked: bool,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: watch::channel(false).0,
            init_error: watch::channel(None).0,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Whether the runtime took the last event handed to [`deliver`].
    pub(crate) fn picked(&self) -> bool {
        self.state().picked
    }

    /// A connection waits for an event: hand it to the waiting invoker, or
    /// park it until one comes.
    fn offer(&self, conn: Conn) {
        self.ready.send_replace(true);
        let mut st = self.state();
        let mut conn = conn;
        if let Some(tx) = st.want.take() {
            match tx.send(conn) {
                Ok(()) => return,
                Err(back) => conn = back,
            }
        }
        st.parked.retain_mut(Conn::alive);
        st.parked.push_back(conn);
    }

    /// Delivers an answer for `id` if it is the invocation in flight.
    fn answer(&self, id: &str, outcome: Outcome) -> bool {
        let mut st = self.state();
        if st.current.as_ref().is_some_and(|(cur, _)| cur == id) {
            if let Some((_, tx)) = st.current.take() {
                let _ = tx.send(outcome);
            }
            return true;
        }
        false
    }
}

/// Binds a listener on 127.0.0.1 and serves the Runtime API on it until the
/// returned task is aborted.
/// Binds a Runtime API listener on an ephemeral loopback port.
pub(crate) fn bind() -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves the Runtime API on `listener` (non-blocking) until aborted. With
/// `peer`, only connections from the environment's own sockets are served:
/// on the host's network another environment could otherwise connect and
/// take this environment's events.
pub(crate) fn serve_listener(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    peer: Option<crate::isolation::Peer>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::from_std(listener)?;
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    Ok(tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, from)) => {
                    // A uid check is one netlink query; walking an
                    // environment's processes (user-namespace mode) runs on
                    // a blocking thread, off this accept loop.
                    if let Some(want @ crate::isolation::Peer::Uid(_)) = peer {
                        if !s
                            .local_addr()
                            .is_ok_and(|l| crate::peer::is_own(want, from, l))
                        {
                            refused(from);
                            continue;
                        }
                    }
                    (s, from)
                }
                Err(_) => {
                    // Out of descriptors or similar: do not spin.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            };
            let (stream, from) = stream;
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Some(want @ crate::isolation::Peer::Descendant(_)) = peer {
                    let Ok(to) = stream.local_addr() else { return };
                    let own =
                        tokio::task::spawn_blocking(move || crate::peer::is_own(want, from, to))
                            .await
                            .unwrap_or(false);
                    if !own {
                        refused(from);
                        return;
                    }
                }
                serve(shared, Conn::new(stream, Some(permit))).await;
            });
        }
    }))
}

fn refused(from: std::net::SocketAddr) {
    tracing::warn!("Runtime API: refused a connection from {from} (not this environment's)");
}

/// One HTTP/1.1 connection from the runtime with its read buffer.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    sent_continue: bool,
    /// Whether the last request allows more on this connection.
    keep_alive: bool,
    /// Buffer length at the last incomplete chunked parse (to avoid
    /// re-decoding a growing chunked body on every read).
    chunked_seen: Option<usize>,
    /// Counts this connection against [`MAX_CONNECTIONS`] while it lives.
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// A parsed request with its complete body.
struct Req {
    method: Method,
    path: String,
    error_type: Option<String>,
    body: Bytes,
    trailers: Vec<(String, String)>,
    keep_alive: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Other,
}

enum ReadError {
    /// The body is larger than the Runtime API accepts (for the request at `path`).
    TooLarge { path: String },
    /// The bytes are not an HTTP request we accept.
    Bad,
    /// The connection closed.
    Closed,
}

/// Raw bytes one request may occupy in the buffer (body, framing, trailers).
const MAX_RAW: usize = MAX_RESPONSE_BYTES + 1024 * 1024;

/// What a request asks for.
enum Route<'a> {
    Next,
    InitError,
    Answer { id: &'a str, error: bool },
    NotFound,
}

fn route<'a>(method: &Method, path: &'a str) -> Route<'a> {
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Route::NotFound;
    };
    match (method, rest) {
        (Method::Get, "invocation/next") => Route::Next,
        (Method::Post, "init/error") => Route::InitError,
        (Method::Post, r) => match r
            .strip_prefix("invocation/")
            .and_then(|r| r.rsplit_once('/'))
        {
            Some((id, "response")) => Route::Answer { id, error: false },
            Some((id, "error")) => Route::Answer { id, error: true },
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

const ACCEPTED: &[u8] = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"OK\"}";

fn simple(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn not_found() -> Vec<u8> {
    simple(
        "404 Not Found",
        "{\"errorMessage\":\"Not found\",\"errorType\":\"NotFound\"}",
    )
}

fn invalid_id() -> Vec<u8> {
    simple(
        "400 Bad Request",
        "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}",
    )
}

fn too_large() -> Vec<u8> {
    simple(
        "413 Payload Too Large",
        "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\",\"errorType\":\"RequestEntityTooLarge\"}",
    )
}

fn too_large_outcome() -> Outcome {
    Outcome::Error {
        body: error_body(
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        ),
        error_type: "Function.ResponseSizeTooLarge".into(),
    }
}

/// A header value safe to write: control characters become spaces.
fn clean(v: &str) -> std::borrow::Cow<'_, str> {
    if v.bytes().any(|b| b < 0x20 || b == 0x7f) {
        v.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        v.into()
    }
}

/// The `GET /next` response for an event, head and body in one buffer.
fn next_response(inv: &Invocation, deadline_ms: u64) -> Vec<u8> {
    use std::fmt::Write;
    let mut head = String::with_capacity(512);
    let _ = write!(
        head,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {}\r\nlambda-runtime-deadline-ms: {deadline_ms}\r\nlambda-runtime-invoked-function-arn: {}\r\nlambda-runtime-trace-id: {}\r\n",
        clean(&inv.request_id),
        clean(&inv.invoked_function_arn),
        clean(&inv.trace_id)
    );
    if let Some(cc) = &inv.client_context {
        let _ = write!(head, "lambda-runtime-client-context: {}\r\n", clean(cc));
    }
    if let Some(ci) = &inv.cognito_identity {
        let _ = write!(head, "lambda-runtime-cognito-identity: {}\r\n", clean(ci));
    }
    let _ = write!(head, "content-length: {}\r\n\r\n", inv.payload.len());
    let mut out = Vec::with_capacity(head.len() + inv.payload.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&inv.payload);
    out
}

/// The `errorType` of an error body, or `Unhandled` when it has none.
fn body_error_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Unhandled".to_string())
}

/// A streamed response that failed midway reports its error in trailers:
/// `Lambda-Runtime-Function-Error-Type` and a base64 `-Error-Body`.
fn streamed_error(trailers: &[(String, String)]) -> Option<Outcome> {
    use base64::Engine;
    let get = |name: &str| {
        trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let error_type = get("lambda-runtime-function-error-type")?.to_string();
    let body = get("lambda-runtime-function-error-body")
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .map(Bytes::from)
        .unwrap_or_else(|| error_body(&error_type, "The function's response stream failed"));
    Some(Outcome::Error { body, error_type })
}

/// The outcome a `/response` or `/error` request reports.
fn outcome_of(req: Req, error: bool) -> Outcome {
    if error {
        let error_type = req.error_type.unwrap_or_else(|| body_error_type(&req.body));
        return Outcome::Error {
            body: req.body,
            error_type,
        };
    }
    streamed_error(&req.trailers).unwrap_or(Outcome::Success(req.body))
}

impl Conn {
    fn new(stream: TcpStream, permit: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        Self {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
            sent_continue: false,
            keep_alive: true,
            chunked_seen: None,
            _permit: permit,
        }
    }

    /// Reads one complete request. Cancel-safe: bytes read stay in the buffer.
    async fn read(&mut self) -> Result<Req, ReadError> {
        loop {
            // A chunked body is re-decoded only once it may be complete (the
            // buffer ends a message) or has grown a good deal.
            let skip = self.chunked_seen.is_some_and(|seen| {
                !self.buf.ends_with(b"\r\n\r\n") && self.buf.len() < seen + 256 * 1024
            });
            if !skip {
                match parse_request(&self.buf)? {
                    Parsed::Done(req, used) => {
                        self.buf.advance(used);
                        self.sent_continue = false;
                        self.chunked_seen = None;
                        self.keep_alive = req.keep_alive;
                        return Ok(req);
                    }
                    Parsed::NeedBody {
                        expect_continue,
                        chunked,
                        path,
                    } => {
                        if self.buf.len() > MAX_RAW {
                            return Err(ReadError::TooLarge { path });
                        }
                        self.chunked_seen = chunked.then_some(self.buf.len());
                        if expect_continue && !self.sent_continue {
                            self.sent_continue = true;
                            self.stream
                                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                                .await
                                .map_err(|_| ReadError::Closed)?;
                        }
                    }
                    Parsed::NeedHead => {}
                }
            } else if self.buf.len() > MAX_RAW {
                return Err(ReadError::TooLarge {
                    path: String::new(),
                });
            }
            self.buf.reserve(16 * 1024);
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Err(ReadError::Closed),
                Ok(_) => {}
            }
        }
    }

    /// Whether the peer is still there (a parked connection can die while
    /// it waits). Bytes that arrived meanwhile are kept.
    fn alive(&mut self) -> bool {
        let mut probe = [0u8; 4096];
        match self.stream.try_read(&mut probe) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&probe[..n]);
                true
            }
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        }
    }

    /// Refuses a request: the response, then (for 413) reading and dropping
    /// what the peer still sends, so closing does not reset the connection
    /// before the peer reads the refusal.
    async fn refuse(mut self, response: Vec<u8>, drain: bool) {
        if !self.write(&response).await || !drain {
            return;
        }
        let mut sink = vec![0u8; 64 * 1024];
        let mut left: usize = 16 * 1024 * 1024;
        let deadline = tokio::time::sleep(std::time::Duration::from_secs(2));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                r = self.stream.read(&mut sink) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        left = left.saturating_sub(n);
                        if left == 0 {
                            return;
                        }
                    }
                },
                _ = &mut deadline => return,
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> bool {
        self.stream.write_all(data).await.is_ok()
    }
}

/// Parses one request from the start of `buf`: complete (with its length),
/// or what is still missing. Never panics, whatever the bytes.
fn parse_request(buf: &[u8]) -> Result<Parsed, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > MAX_HEAD {
                return Err(ReadError::Bad);
            }
            return Ok(Parsed::NeedHead);
        }
        Err(_) => return Err(ReadError::Bad),
    };
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("POST") => Method::Post,
        _ => Method::Other,
    };
    let path = req.path.unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path).to_string();
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut expect_continue = false;
    let mut error_type = None;
    let mut keep_alive = req.version == Some(1);
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse().map_err(|_| ReadError::Bad)?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if h.name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        } else if h
            .name
            .eq_ignore_ascii_case("lambda-runtime-function-error-type")
        {
            if !value.is_empty() {
                error_type = Some(value.to_string());
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let rest = &buf[head_len..];
    let (body, trailers, used) = if chunked {
        match decode_chunked(rest) {
            Ok(Some((body, trailers, used))) => (body, trailers, used),
            Ok(None) => {
                return Ok(Parsed::NeedBody {
                    expect_continue,
                    chunked,
                    path,
                })
            }
            Err(ChunkError::TooLarge) => return Err(ReadError::TooLarge { path }),
            Err(ChunkError::Bad) => return Err(ReadError::Bad),
        }
    } else {
        let len = content_length.unwrap_or(0);
        if len > MAX_RESPONSE_BYTES {
            return Err(ReadError::TooLarge { path });
        }
        if rest.len() < len {
            return Ok(Parsed::NeedBody {
                expect_continue,
                chunked,
                path,
            });
        }
        (Bytes::copy_from_slice(&rest[..len]), Vec::new(), len)
    };
    Ok(Parsed::Done(
        Req {
            method,
            path,
            error_type,
            body,
            trailers,
            keep_alive,
        },
        head_len + used,
    ))
}

enum Parsed {
    Done(Req, usize),
    NeedHead,
    NeedBody {
        expect_continue: bool,
        chunked: bool,
        path: String,
    },
}

/// Why a chunked body cannot be decoded.
#[derive(Debug)]
enum ChunkError {
    TooLarge,
    Bad,
}

type Chunked = (Bytes, Vec<(String, String)>, usize);

/// Decodes a complete chunked body with its trailers; `None` if incomplete.
fn decode_chunked(data: &[u8]) -> Result<Option<Chunked>, ChunkError> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some(eol) = find_crlf(&data[pos..]) else {
            return Ok(None);
        };
        if eol > 1024 {
            return Err(ChunkError::Bad);
        }
        let line = std::str::from_utf8(&data[pos..pos + eol]).map_err(|_| ChunkError::Bad)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ChunkError::Bad)?;
        pos += eol + 2;
        if size == 0 {
            // Trailers, then an empty line.
            let mut trailers = Vec::new();
            loop {
                let Some(eol) = find_crlf(&data[pos..]) else {
                    return Ok(None);
                };
                if trailers.len() >= 64 || eol > 64 * 1024 {
                    return Err(ChunkError::Bad);
                }
                if eol == 0 {
                    return Ok(Some((Bytes::from(body), trailers, pos + 2)));
                }
                let line = String::from_utf8_lossy(&data[pos..pos + eol]);
                if let Some((k, v)) = line.split_once(':') {
                    trailers.push((k.trim().to_string(), v.trim().to_string()));
                }
                pos += eol + 2;
            }
        }
        if body.len().saturating_add(size) > MAX_RESPONSE_BYTES {
            return Err(ChunkError::TooLarge);
        }
        if data.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[pos..pos + size]);
        pos += size + 2;
    }
}

fn find_crlf(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\r\n")
}

/// The answer for the invocation at `path`, if it is one, when its body was
/// refused as too large.
fn refuse_too_large(shared: &Shared, path: &str) {
    if let Route::Answer { id, .. } = route(&Method::Post, path) {
        shared.answer(id, too_large_outcome());
    }
}

/// Serves one connection until it parks at `GET /next` or closes.
async fn serve(shared: Arc<Shared>, mut conn: Conn) {
    loop {
        let req = match conn.read().await {
            Ok(r) => r,
            Err(ReadError::TooLarge { path }) => {
                refuse_too_large(&shared, &path);
                conn.refuse(too_large(), true).await;
                return;
            }
            Err(ReadError::Bad) => {
                conn.refuse(bad_request(), false).await;
                return;
            }
            Err(ReadError::Closed) => return,
        };
        let keep_alive = req.keep_alive;
        let reply = match route(&req.method, &req.path) {
            Route::Next => {
                shared.offer(conn);
                return;
            }
            Route::InitError => {
                record_init_error(&shared, req);
                ACCEPTED.to_vec()
            }
            Route::Answer { id, error } => {
                let id = id.to_string();
                if shared.answer(&id, outcome_of(req, error)) {
                    ACCEPTED.to_vec()
                } else {
                    invalid_id()
                }
            }
            Route::NotFound => not_found(),
        };
        if !conn.write(&reply).await || !keep_alive {
            return;
        }
    }
}

fn record_init_error(shared: &Shared, req: Req) {
    let error_type = req
        .error_type
        .clone()
        .unwrap_or_else(|| body_error_type(&req.body));
    let body = if req.body.is_empty() {
        error_body(&error_type, "Runtime failed to initialize")
    } else {
        req.body
    };
    shared
        .init_error
        .send_replace(Some(Outcome::Error { body, error_type }));
}

fn bad_request() -> Vec<u8> {
    let mut r = simple(
        "400 Bad Request",
        "{\"errorMessage\":\"Malformed request\",\"errorType\":\"InvalidRequest\"}",
    );
    // Close after this answer: the connection's framing cannot be trusted.
    if let Some(pos) = r.windows(4).position(|w| w == b"\r\n\r\n") {
        r.splice(pos + 2..pos + 2, b"connection: close\r\n".iter().copied());
    }
    r
}

/// What became of driving one connection through an invocation.
enum Driven {
    /// The runtime answered (on this connection or another).
    Answer(Outcome),
    /// This connection is gone before an answer; wait for another.
    Lost,
}

/// Hands `inv` to the runtime and waits for its answer. Returns the outcome
/// and when the runtime picked the event up; `None` if no answer can come
/// (the caller also watches the process and the timeout, and drops this
/// future when either ends the invocation).
pub(crate) async fn deliver(shared: &Arc<Shared>, inv: Invocation) -> Option<(Outcome, Instant)> {
    let (reply_tx, mut reply_rx) = oneshot::channel();
    {
        let mut st = shared.state();
        st.current = Some((inv.request_id.clone(), reply_tx));
        st.picked = false;
    }
    let mut picked = Instant::now();
    loop {
        // A connection waiting at /next, or an answer from elsewhere.
        let waiting = {
            let mut st = shared.state();
            match st.parked.pop_front() {
                Some(conn) => Ok(conn),
                None => {
                    let (tx, rx) = oneshot::channel();
                    st.want = Some(tx);
                    Err(rx)
                }
            }
        };
        let mut conn = match waiting {
            Ok(conn) => conn,
            Err(rx) => tokio::select! {
                c = rx => match c {
                    Ok(conn) => conn,
                    Err(_) => return (&mut reply_rx).await.ok().map(|o| (o, picked)),
                },
                r = &mut reply_rx => return r.ok().map(|o| (o, picked)),
            },
        };
        if !conn.alive() {
            continue;
        }
        picked = Instant::now();
        let deadline = SystemClock.now_millis() + inv.timeout.as_millis() as u64;
        if !conn.write(&next_response(&inv, deadline)).await {
            continue;
        }
        shared.state().picked = true;
        if !conn.keep_alive {
            // The runtime asked to close after /next: it answers on a new
            // connection.
            let _ = conn.stream.shutdown().await;
            drop(conn);
            return reply_rx.await.ok().map(|o| (o, picked));
        }
        match drive(shared, conn, &inv.request_id, &mut reply_rx).await {
            Driven::Answer(outcome) => return Some((outcome, picked)),
            Driven::Lost => {}
        }
    }
}

/// Reads what the runtime sends on `conn` after it got the event, until the
/// answer for `id` arrives here or on another connection.
async fn drive(
    shared: &Arc<Shared>,
    mut conn: Conn,
    id: &str,
    reply_rx: &mut oneshot::Receiver<Outcome>,
) -> Driven {
    loop {
        tokio::select! {
            r = &mut *reply_rx => {
                // Answered on another connection; this one goes back to serving.
                tokio::spawn(serve(shared.clone(), conn));
                return match r {
                    Ok(o) => Driven::Answer(o),
                    Err(_) => Driven::Lost,
                };
            }
            req = conn.read() => {
                let req = match req {
                    Ok(req) => req,
                    Err(ReadError::TooLarge { path }) => {
                        let ours = matches!(route(&Method::Post, &path), Route::Answer { id: a, .. } if a == id);
                        tokio::spawn(conn.refuse(too_large(), true));
                        if ours {
                            shared.state().current = None;
                            return Driven::Answer(too_large_outcome());
                        }
                        return Driven::Lost;
                    }
                    Err(ReadError::Bad) => {
                        tokio::spawn(conn.refuse(bad_request(), false));
                        return Driven::Lost;
                    }
                    Err(ReadError::Closed) => return Driven::Lost,
                };
                let keep_alive = req.keep_alive;
                let reply = match route(&req.method, &req.path) {
                    Route::Answer { id: a, error } if a == id => {
                        shared.state().current = None;
                        let outcome = outcome_of(req, error);
                        if conn.write(ACCEPTED).await && keep_alive {
                            tokio::spawn(serve(shared.clone(), conn));
                        }
                        return Driven::Answer(outcome);
                    }
                    Route::Answer { .. } => invalid_id(),
                    Route::Next => {
                        // Asked for the next event without answering this
                        // one: park the connection and wait for an answer.
                        shared.offer(conn);
                        return match (&mut *reply_rx).await {
                            Ok(o) => Driven::Answer(o),
                            Err(_) => Driven::Lost,
                        };
                    }
                    Route::InitError => {
                        record_init_error(shared, req);
                        ACCEPTED.to_vec()
                    }
                    Route::NotFound => not_found(),
                };
                if !conn.write(&reply).await || !keep_alive {
                    return Driven::Lost;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunked_with_trailers() {
        let data = b"7\r\npartial\r\n3;ext=1\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: Error\r\n\r\nNEXT";
        let Ok(Some((body, trailers, used))) = decode_chunked(data) else {
            panic!("not decoded");
        };
        assert_eq!(&body[..], b"partialabc");
        assert_eq!(trailers[0].0, "Lambda-Runtime-Function-Error-Type");
        assert_eq!(&data[used..], b"NEXT");
        assert!(matches!(decode_chunked(b"7\r\npart"), Ok(None)));
        assert!(decode_chunked(b"zz\r\n").is_err());
    }

    #[test]
    fn routes() {
        assert!(matches!(
            route(&Method::Get, "/2018-06-01/runtime/invocation/next"),
            Route::Next
        ));
        assert!(matches!(
            route(&Method::Post, "/2018-06-01/runtime/invocation/abc/response"),
            Route::Answer {
                id: "abc",
                error: false
            }
        ));
        assert!(matches!(
            route(&Method::Post, "/2018-06-01/runtime/invocation/abc/error"),
            Route::Answer {
                id: "abc",
                error: true
            }
        ));
        assert!(matches!(
            route(&Method::Post, "/2018-06-01/runtime/init/error"),
            Route::InitError
        ));
        assert!(matches!(route(&Method::Get, "/other"), Route::NotFound));
    }

    /// A tiny deterministic generator for the robustness test below.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn parser_survives_garbage_and_mutations() {
        let seeds: [&[u8]; 3] = [
            b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n",
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
        ];
        for seed in seeds {
            assert!(matches!(parse_request(seed), Ok(Parsed::Done(_, n)) if n == seed.len()));
        }
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for i in 0..20_000 {
            let mut data = seeds[i % seeds.len()].to_vec();
            for _ in 0..(rng.next() % 6) {
                let pos = (rng.next() as usize) % data.len();
                match rng.next() % 3 {
                    0 => data[pos] = rng.next() as u8,
                    1 => data.truncate(pos),
                    _ => data.insert(pos, rng.next() as u8),
                }
                if data.is_empty() {
                    break;
                }
            }
            // Must not panic; any answer is fine.
            let _ = parse_request(&data);
        }
    }

    #[test]
    fn header_values_are_cleaned() {
        assert_eq!(clean("a\r\nb"), "a  b");
        assert_eq!(clean("plain"), "plain");
    }
}
