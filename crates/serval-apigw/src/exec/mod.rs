//! The data plane: finds the API (or function URL) a request addresses,
//! matches its route, authorizes it, runs the integration and maps the
//! answer, as API Gateway does.

pub mod access_log;
pub mod authorize;
pub mod event;
pub mod http_api;
pub mod jwt;
pub mod lambda_auth;
pub mod limits;
pub mod mapping;
pub mod proxy;
pub mod rest_api;
pub mod urls;

use crate::v2::model::Cors;
use bytes::Bytes;
use serval_core::{AwsError, InvokeRequest, InvokeResponse};
use serval_wire::{Request, Response};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A path's first segment (decoded: a stage name) and the path after it
/// (still encoded, `/` when nothing follows).
pub fn split_stage(path: &str) -> (String, String) {
    let trimmed = path.trim_start_matches('/');
    let raw_first = trimmed.split('/').next().unwrap_or("");
    let first = percent_encoding::percent_decode_str(raw_first)
        .decode_utf8_lossy()
        .into_owned();
    // Sliced by the raw (still encoded) segment: `trimmed` and `raw_first`
    // share their start, so this is a char boundary.
    let rest = &trimmed[raw_first.len()..];
    let rest = if rest.is_empty() { "/" } else { rest };
    (first, rest.to_string())
}

/// The largest request body API Gateway accepts (10 MB).
pub const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// Where a data-plane request is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// An API by id; `stage` when the address names it explicitly
    /// (`/restapis/<id>/<stage>/_user_request_/...`); `path` is the rest,
    /// still percent-encoded, starting with `/`.
    Api {
        /// API id.
        api_id: String,
        /// Explicit stage.
        stage: Option<String>,
        /// Path after the API (and explicit stage).
        path: String,
    },
    /// A Lambda function URL.
    FunctionUrl {
        /// The host label before `.lambda-url.`.
        url_id: String,
    },
}

/// The data-plane address of a request, if it has one.
pub fn address(req: &Request) -> Option<Address> {
    if let Some(host) = req.host() {
        let mut labels = host.split('.');
        if let (Some(first), Some(second)) = (labels.next(), labels.next()) {
            if second == "execute-api" && !first.is_empty() {
                return Some(Address::Api {
                    api_id: first.to_string(),
                    stage: None,
                    path: req.path.clone(),
                });
            }
            if second == "lambda-url" && !first.is_empty() {
                return Some(Address::FunctionUrl {
                    url_id: first.to_string(),
                });
            }
        }
    }
    if let Some(rest) = req.path.strip_prefix("/_aws/execute-api/") {
        let (api_id, path) = match rest.split_once('/') {
            Some((id, p)) => (id, format!("/{p}")),
            None => (rest, "/".to_string()),
        };
        if !api_id.is_empty() {
            return Some(Address::Api {
                api_id: api_id.to_string(),
                stage: None,
                path,
            });
        }
    }
    if let Some(rest) = req.path.strip_prefix("/restapis/") {
        let mut parts = rest.splitn(4, '/');
        if let (Some(id), Some(stage), Some("_user_request_")) =
            (parts.next(), parts.next(), parts.next())
        {
            let path = format!("/{}", parts.next().unwrap_or(""));
            return Some(Address::Api {
                api_id: id.to_string(),
                stage: Some(stage.to_string()),
                path,
            });
        }
    }
    None
}

/// The request's headers as an integration sees them: API Gateway adds
/// `x-forwarded-for` (the client address appended), `x-forwarded-port`,
/// `x-forwarded-proto` and an `x-amzn-trace-id`.
pub fn forwarded_headers(req: &Request, port: u16, time_ms: u64) -> http::HeaderMap {
    use http::HeaderValue;
    let mut h = req.headers.clone();
    let ip = req
        .remote_addr
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let xff = match h.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {ip}"),
        None => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        h.insert("x-forwarded-for", v);
    }
    h.insert("x-forwarded-port", HeaderValue::from(port));
    h.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if !h.contains_key("x-amzn-trace-id") {
        let trace = format!(
            "Root=1-{:08x}-{}",
            time_ms / 1000,
            serval_core::ids::random_hex(12)
        );
        if let Ok(v) = HeaderValue::from_str(&trace) {
            h.insert("x-amzn-trace-id", v);
        }
    }
    h
}

/// The function an integration URI names, with `${stageVariables.x}`
/// replaced by the stage's values (as REST and HTTP APIs both allow).
pub fn lambda_function(
    uri: Option<&str>,
    vars: &std::collections::BTreeMap<String, String>,
) -> String {
    let Some(uri) = uri else {
        return String::new();
    };
    let mut out = uri.to_string();
    if out.contains("${stageVariables.") {
        for (k, v) in vars {
            out = out.replace(&format!("${{stageVariables.{k}}}"), v);
        }
    }
    crate::v2::apply::lambda_target(&out)
        .map(str::to_string)
        .unwrap_or_default()
}

/// A `{"message": ...}` answer, as the gateway gives its own errors.
pub fn message(status: u16, text: &str) -> Response {
    Response::json(status, &serde_json::json!({ "message": text }))
}

/// How a Lambda integration failed before the function answered.
pub enum CallFailure {
    /// No answer within the integration timeout.
    Timeout,
    /// Lambda throttled the invocation.
    Throttled,
    /// The event is larger than Lambda accepts.
    TooLarge,
    /// Anything else (function missing, Serval failure).
    Failed(AwsError),
}

/// How an API type words the failures of its integrations.
pub struct ProxyErrors {
    /// The function failed or answered something unmappable.
    pub function: fn() -> Response,
    /// No answer within the integration timeout.
    pub timeout: fn() -> Response,
    /// The integration could not be reached or refused (function missing,
    /// connection failed, Serval failure).
    pub failed: fn() -> Response,
}

/// The data plane's caches.
#[derive(Default)]
pub struct Exec {
    /// Authorizer results.
    pub auth_cache: limits::AuthCache,
    /// Stage, route and usage-plan buckets.
    pub throttles: limits::Throttles,
    /// Compiled REST resources by `api/stage`, with their deployment.
    pub(crate) rest_compiled: RwLock<HashMap<String, (String, Arc<rest_api::RestCompiled>)>>,
    /// Compiled routes by `api/stage`, with the deployment they were compiled from.
    pub(crate) compiled: RwLock<HashMap<String, (String, Arc<http_api::Compiled>)>>,
    /// Client for HTTP integrations and JWKS.
    pub http: proxy::HttpClient,
    /// JWT issuers' keys.
    pub jwks: jwt::JwksCache,
    /// Usage plan quota counters.
    pub quotas: limits::Quotas,
    /// REST API stage caches.
    pub rest_cache: limits::ResponseCache,
}

impl Exec {
    /// Empty caches.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what is cached about an API.
    pub fn forget_api(&self, api_id: &str) {
        let prefix = format!("{api_id}/");
        self.compiled
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| !k.starts_with(&prefix));
        self.rest_compiled
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| !k.starts_with(&prefix));
        self.throttles.forget(&prefix);
        self.auth_cache.clear_api(api_id);
        self.rest_cache.forget_api(api_id);
    }

    /// Forgets a stage's throttling state.
    pub fn forget_stage(&self, api_id: &str, stage: &str) {
        self.throttles.forget(&format!("{api_id}/{stage}/"));
    }
}

impl crate::ApiGateway {
    /// Serves one data-plane request.
    pub(crate) async fn execute(&self, ctx: serval_core::RequestContext, req: Request) -> Response {
        if req.body.len() > MAX_PAYLOAD {
            return message(413, "Request Entity Too Large");
        }
        match address(&req) {
            Some(Address::Api {
                api_id,
                stage,
                path,
            }) => {
                if let Some(api) = self.http_apis.get(&api_id) {
                    return self.serve_http_api(api, stage, path, &ctx, req).await;
                }
                if let Some(api) = self.rest_apis.get(&api_id) {
                    return self.serve_rest_api(api, stage, path, req).await;
                }
                message(404, "Not Found")
            }
            Some(Address::FunctionUrl { url_id }) => self.serve_function_url(&url_id, req).await,
            None => message(404, "Not Found"),
        }
    }

    /// A Lambda proxy integration: invokes the function with the event and
    /// maps its answer (`v2`: payload format 2.0's rules), noting latency,
    /// status and errors for the access log.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn lambda_proxy(
        &self,
        trace: &mut access_log::Trace,
        account_id: &str,
        region: &str,
        function: &str,
        payload: Bytes,
        timeout: Duration,
        source_arn: String,
        v2: bool,
        errors: &ProxyErrors,
    ) -> Response {
        let called = std::time::Instant::now();
        let result = self
            .call_lambda(account_id, region, function, payload, timeout, source_arn)
            .await;
        trace.integration_latency = Some(called.elapsed().as_millis() as u64);
        match result {
            Ok(out) if out.function_error.is_none() => {
                trace.integration_status = Some(200);
                event::map_response(&out.payload, v2).unwrap_or_else(|_| {
                    trace.error = Some("Malformed Lambda proxy response".into());
                    (errors.function)()
                })
            }
            Ok(_) => {
                trace.integration_status = Some(200);
                trace.error = Some("The Lambda function returned an error".into());
                (errors.function)()
            }
            Err(CallFailure::Timeout) => {
                trace.error = Some("Integration timeout".into());
                (errors.timeout)()
            }
            Err(CallFailure::TooLarge) => {
                trace.error = Some("Request payload is too large for Lambda".into());
                message(413, "Request Entity Too Large")
            }
            Err(CallFailure::Throttled) => {
                trace.integration_status = Some(429);
                trace.error = Some("Lambda throttled the invocation".into());
                message(429, "Too Many Requests")
            }
            Err(CallFailure::Failed(e)) => {
                tracing::debug!(error = %e, "lambda integration failed");
                trace.error = Some(e.message);
                (errors.failed)()
            }
        }
    }

    /// Sends an HTTP integration's request; a failure comes back as the
    /// response the API type answers with.
    pub(crate) async fn forward(
        &self,
        method: http::Method,
        url: &str,
        headers: &http::HeaderMap,
        body: Bytes,
        timeout: Duration,
        errors: &ProxyErrors,
    ) -> Result<proxy::Upstream, Response> {
        match self
            .exec
            .http
            .send(method, url, headers, body, timeout)
            .await
        {
            Ok(up) => Ok(up),
            Err(proxy::ProxyError::Timeout) => Err((errors.timeout)()),
            Err(proxy::ProxyError::Failed(e)) => {
                tracing::debug!(error = %e, "http integration failed");
                Err((errors.failed)())
            }
        }
    }

    /// Invokes a function for an integration or authorizer, within `timeout`.
    pub(crate) async fn call_lambda(
        &self,
        account_id: &str,
        region: &str,
        function: &str,
        payload: Bytes,
        timeout: Duration,
        source_arn: String,
    ) -> Result<InvokeResponse, CallFailure> {
        let req = InvokeRequest {
            account_id: account_id.to_string(),
            region: region.to_string(),
            function: function.to_string(),
            qualifier: None,
            payload,
            principal: "apigateway.amazonaws.com",
            source_arn: Some(source_arn),
        };
        match tokio::time::timeout(timeout, self.invoker.invoke(req)).await {
            Err(_) => Err(CallFailure::Timeout),
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) if e.status == 429 => Err(CallFailure::Throttled),
            Ok(Err(e)) if e.status == 413 => Err(CallFailure::TooLarge),
            Ok(Err(e)) => Err(CallFailure::Failed(e)),
        }
    }
}

/// The CORS headers of a preflight answer, or `None` when the request is not
/// a preflight this configuration answers.
pub fn preflight(cors: &Cors, req: &Request) -> Option<Response> {
    if req.method != http::Method::OPTIONS {
        return None;
    }
    let origin = req.header("origin")?;
    let method = req.header("access-control-request-method")?;
    let mut r = Response::empty(204);
    if !origin_allowed(cors, origin) {
        return Some(r);
    }
    let methods = cors.allow_methods.clone().unwrap_or_default();
    let method_ok = methods
        .iter()
        .any(|m| m == "*" || m.eq_ignore_ascii_case(method));
    if !method_ok {
        return Some(r);
    }
    set_origin(&mut r, cors, origin);
    r.set_header("access-control-allow-methods", &methods.join(","));
    if let Some(h) = &cors.allow_headers {
        let requested = req.header("access-control-request-headers").unwrap_or("");
        let value = if h.iter().any(|x| x == "*") && !requested.is_empty() {
            requested.to_string()
        } else {
            h.join(",")
        };
        if !value.is_empty() {
            r.set_header("access-control-allow-headers", &value);
        }
    }
    if let Some(age) = cors.max_age {
        r.set_header("access-control-max-age", &age.to_string());
    }
    Some(r)
}

fn origin_allowed(cors: &Cors, origin: &str) -> bool {
    cors.allow_origins
        .as_ref()
        .is_some_and(|o| o.iter().any(|x| x == "*" || x.eq_ignore_ascii_case(origin)))
}

fn set_origin(r: &mut Response, cors: &Cors, origin: &str) {
    let wildcard = cors
        .allow_origins
        .as_ref()
        .is_some_and(|o| o.iter().any(|x| x == "*"));
    let credentials = cors.allow_credentials == Some(true);
    let value = if wildcard && !credentials {
        "*"
    } else {
        origin
    };
    r.set_header("access-control-allow-origin", value);
    if credentials {
        r.set_header("access-control-allow-credentials", "true");
    }
}

/// Adds the CORS headers of an actual (non-preflight) response.
pub fn cors_headers(cors: &Cors, req: &Request, r: &mut Response) {
    let Some(origin) = req.header("origin") else {
        return;
    };
    if !origin_allowed(cors, origin) {
        return;
    }
    set_origin(r, cors, origin);
    if let Some(e) = cors.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        r.set_header("access-control-expose-headers", &e.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str, path: &str) -> Request {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", host.parse().unwrap());
        Request {
            method: http::Method::GET,
            path: path.to_string(),
            query: String::new(),
            headers,
            body: Bytes::new(),
            remote_addr: None,
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address(&req("abc123.execute-api.localhost:4566", "/prod/x")),
            Some(Address::Api {
                api_id: "abc123".into(),
                stage: None,
                path: "/prod/x".into()
            })
        );
        assert_eq!(
            address(&req("localhost:4566", "/_aws/execute-api/abc/prod/x")),
            Some(Address::Api {
                api_id: "abc".into(),
                stage: None,
                path: "/prod/x".into()
            })
        );
        assert_eq!(
            address(&req(
                "localhost:4566",
                "/restapis/abc/dev/_user_request_/a/b"
            )),
            Some(Address::Api {
                api_id: "abc".into(),
                stage: Some("dev".into()),
                path: "/a/b".into()
            })
        );
        assert_eq!(
            address(&req("u1.lambda-url.us-east-1.localhost", "/")),
            Some(Address::FunctionUrl {
                url_id: "u1".into()
            })
        );
        assert_eq!(address(&req("localhost", "/restapis/abc/resources")), None);
        assert_eq!(address(&req("localhost", "/2015-03-31/functions")), None);
    }
}
