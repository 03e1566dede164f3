//! Protocol-neutral request and response values that services parse.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

/// An HTTP request as the edge hands it to a service: the body is complete.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Raw path, still percent-encoded.
    pub path: String,
    /// Raw query string (without `?`), possibly empty.
    pub query: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// The full body.
    pub body: Bytes,
    /// The client's address, when the request came over TCP.
    pub remote_addr: Option<std::net::SocketAddr>,
}

impl Request {
    /// The `Host` header without its port, lower-cased.
    pub fn host(&self) -> Option<String> {
        let h = self.header("host")?;
        let h = match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        };
        Some(h.to_ascii_lowercase())
    }

    /// A header as UTF-8 text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decoded query parameters in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Path segments, percent-decoded.
    pub fn path_segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect()
    }
}

/// A response a service produces; the edge writes it in one go, unless it
/// carries a [`StreamBody`], which the edge copies out as the client reads.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The full body (empty when `stream` is set).
    pub body: Bytes,
    /// A body too large to hold in memory (an S3 object), sent in pieces.
    pub stream: Option<StreamBody>,
}

/// A reader the edge sends as a response body of a known length.
pub type BodyReader = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// A streamed response body: `len` bytes read from a reader. Cloning a
/// response shares the reader; only the first writer takes it.
#[derive(Clone)]
pub struct StreamBody {
    reader: std::sync::Arc<std::sync::Mutex<Option<BodyReader>>>,
    /// The number of bytes the reader yields (the `Content-Length`).
    pub len: u64,
}

impl StreamBody {
    /// A body of `len` bytes read from `reader`.
    pub fn new(reader: BodyReader, len: u64) -> Self {
        Self {
            reader: std::sync::Arc::new(std::sync::Mutex::new(Some(reader))),
            len,
        }
    }

    /// Takes the reader (once).
    pub fn take(&self) -> Option<BodyReader> {
        self.reader.lock().ok().and_then(|mut r| r.take())
    }
}

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamBody({} bytes)", self.len)
    }
}

impl Response {
    /// An empty response with the given status.
    pub fn empty(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            stream: None,
        }
    }

    /// A JSON response from a serializable value.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self::bytes(status, "application/json", body.into())
    }

    /// A response with a body and content type.
    pub fn bytes(status: u16, content_type: &str, body: Bytes) -> Self {
        let mut r = Self::empty(status);
        if let Ok(v) = HeaderValue::from_str(content_type) {
            r.headers.insert(http::header::CONTENT_TYPE, v);
        }
        r.body = body;
        r
    }

    /// A response whose body is streamed from `body`.
    pub fn streaming(status: u16, body: StreamBody) -> Self {
        let mut r = Self::empty(status);
        r.stream = Some(body);
        r
    }

    /// Adds a header; invalid names or values are dropped.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.set_header(name, value);
        self
    }

    /// Sets a header; invalid names or values are dropped.
    pub fn set_header(&mut self, name: &str, value: &str) {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.insert(n, v);
        }
    }
}

/// A request body the edge has not read: the service pulls it in pieces
/// (S3 object uploads), so nothing holds it whole in memory.
pub struct RequestBody {
    inner: BodyInner,
}

enum BodyInner {
    Incoming(hyper::body::Incoming),
    Bytes(Option<Bytes>),
}

/// How long the edge waits for the next piece of a streamed body.
const CHUNK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl RequestBody {
    /// A body still arriving on the connection.
    pub fn incoming(body: hyper::body::Incoming) -> Self {
        Self {
            inner: BodyInner::Incoming(body),
        }
    }

    /// A body already in memory (tests; buffered requests).
    pub fn from_bytes(body: Bytes) -> Self {
        Self {
            inner: BodyInner::Bytes(Some(body)),
        }
    }

    /// The next piece of the body; `None` at its end. A client that stalls
    /// for a minute or breaks the connection gets S3's `IncompleteBody`.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, serval_core::AwsError> {
        use http_body_util::BodyExt;
        match &mut self.inner {
            BodyInner::Bytes(b) => Ok(b.take().filter(|b| !b.is_empty())),
            BodyInner::Incoming(body) => loop {
                let frame = tokio::time::timeout(CHUNK_TIMEOUT, body.frame()).await;
                let Ok(frame) = frame else {
                    return Err(serval_core::AwsError::new(
                        "RequestTimeout",
                        400,
                        "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
                    ));
                };
                match frame {
                    None => return Ok(None),
                    Some(Err(_)) => {
                        return Err(serval_core::AwsError::new(
                            "IncompleteBody",
                            400,
                            "You did not provide the number of bytes specified by the Content-Length HTTP header",
                        ))
                    }
                    Some(Ok(f)) => {
                        if let Ok(data) = f.into_data() {
                            if !data.is_empty() {
                                return Ok(Some(data));
                            }
                        }
                    }
                }
            },
        }
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestBody")
    }
}
