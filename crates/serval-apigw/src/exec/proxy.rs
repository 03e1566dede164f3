//! HTTP proxy integrations: the request forwarded to a URL, its response
//! returned as it came. The same client fetches JWKS for JWT authorizers.

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Headers a proxy does not pass on.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// What a forwarded request came back with.
pub struct Upstream {
    /// Status code.
    pub status: u16,
    /// Response headers (hop-by-hop ones removed).
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// Why a forwarded request failed.
#[derive(Debug)]
pub enum ProxyError {
    /// No answer within the integration timeout.
    Timeout,
    /// The URL is unusable or the connection failed.
    Failed(String),
}

/// The integration URI with `{name}` and `{name+}` replaced by path
/// parameters, and whether any was.
pub fn substitute_params(uri: &str, params: &[(String, String)]) -> (String, bool) {
    let mut url = uri.to_string();
    let mut substituted = false;
    for (k, v) in params {
        let pat = format!("{{{k}}}");
        let pat_greedy = format!("{{{k}+}}");
        if url.contains(&pat) || url.contains(&pat_greedy) {
            url = url.replace(&pat_greedy, v).replace(&pat, v);
            substituted = true;
        }
    }
    (url, substituted)
}

/// Appends an encoded query string to a URL that may already have one.
pub fn append_query(url: &mut String, query: &str) {
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
}

/// The method an HTTP integration calls with: its own, or the request's
/// when it says `ANY` (or nothing usable).
pub fn integration_method(configured: Option<&str>, requested: &Method) -> Method {
    match configured {
        None | Some("ANY") => requested.clone(),
        Some(m) => Method::from_bytes(m.as_bytes()).unwrap_or_else(|_| requested.clone()),
    }
}

impl Upstream {
    /// The upstream's answer as the gateway's response.
    pub fn into_response(self) -> serval_wire::Response {
        let mut r = serval_wire::Response::empty(self.status);
        r.headers = self.headers;
        r.body = self.body;
        r
    }
}

/// A pooled HTTP/1.1 client for `http://` and `https://` URLs (rustls; the
/// host's CA certificates, else the Mozilla roots).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// A new client.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        connector.enforce_http(false);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let https = match builder.with_native_roots() {
            Ok(b) => b.https_or_http().enable_http1().wrap_connector(connector),
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new()
                .with_webpki_roots()
                .https_or_http()
                .enable_http1()
                .wrap_connector(connector),
        };
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// Sends one request and reads the whole answer within `timeout`.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Upstream, ProxyError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| ProxyError::Failed(format!("invalid URL {url}: {e}")))?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| ProxyError::Failed(e.to_string()))?;
        for (k, v) in headers {
            if !HOP_BY_HOP.contains(&k.as_str()) {
                req.headers_mut().append(k.clone(), v.clone());
            }
        }
        let fut = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| ProxyError::Failed(e.to_string()))?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| ProxyError::Failed(e.to_string()))?
                .to_bytes();
            let mut headers = parts.headers;
            for h in HOP_BY_HOP {
                headers.remove(*h);
            }
            Ok(Upstream {
                status: parts.status.as_u16(),
                headers,
                body,
            })
        };
        tokio::time::timeout(timeout, fut)
            .await
            .unwrap_or(Err(ProxyError::Timeout))
    }
}
