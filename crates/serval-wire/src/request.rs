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

/// A response a service produces; the edge writes it in one go.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The full body.
    pub body: Bytes,
}

impl Response {
    /// An empty response with the given status.
    pub fn empty(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: Bytes::new(),
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
