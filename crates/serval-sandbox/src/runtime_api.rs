//! The Lambda Runtime API (2018-06-01) for one environment: a loopback
//! listener the function's runtime polls for events and answers on.

use crate::{error_body, Invocation, Outcome, MAX_RESPONSE_BYTES};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serval_core::{Clock, SystemClock};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

/// What the runtime said about the invocation in flight.
pub(crate) type Reply = Outcome;

/// State shared between the environment and its Runtime API listener.
pub(crate) struct Shared {
    /// Events waiting for the runtime's next `/next`.
    pub(crate) events: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// The invocation handed out and not yet answered.
    pub(crate) current: Mutex<Option<(String, oneshot::Sender<Reply>)>>,
    /// Becomes true at the first `/next` (init is over).
    pub(crate) ready: watch::Sender<bool>,
    /// Set when the runtime reported an init error.
    pub(crate) init_error: watch::Sender<Option<Outcome>>,
    /// Epoch ms at which the current invocation was picked up.
    pub(crate) picked_up_at: Mutex<Option<std::time::Instant>>,
}

impl Shared {
    pub(crate) fn new(events: mpsc::Receiver<Invocation>) -> Self {
        Self {
            events: tokio::sync::Mutex::new(events),
            current: Mutex::new(None),
            ready: watch::channel(false).0,
            init_error: watch::channel(None).0,
            picked_up_at: Mutex::new(None),
        }
    }
}

/// Binds a listener on 127.0.0.1 and serves the Runtime API on it until the
/// returned task is aborted.
pub(crate) async fn start(
    shared: Arc<Shared>,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            conns.spawn(async move {
                let svc = service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
            // Reap finished connection tasks; aborting this task aborts them all.
            while conns.try_join_next().is_some() {}
        }
    });
    Ok((addr, task))
}

fn reply(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

const ACCEPTED: &str = "{\"status\":\"OK\"}";

async fn handle(shared: &Shared, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return reply(
            404,
            "{\"errorMessage\":\"Not found\",\"errorType\":\"NotFound\"}",
        );
    };
    match (req.method(), rest) {
        (&Method::GET, "invocation/next") => next(shared).await,
        (&Method::POST, "init/error") => {
            let error_type = header_error_type(&req);
            let body = read_body(req).await.unwrap_or_default();
            let error_type = error_type.unwrap_or_else(|| body_error_type(&body));
            let body = if body.is_empty() {
                error_body(&error_type, "Runtime failed to initialize")
            } else {
                body
            };
            shared
                .init_error
                .send_replace(Some(Outcome::Error { body, error_type }));
            reply(202, ACCEPTED)
        }
        (&Method::POST, _) => {
            let Some(rest) = rest.strip_prefix("invocation/") else {
                return reply(
                    404,
                    "{\"errorMessage\":\"Not found\",\"errorType\":\"NotFound\"}",
                );
            };
            let (id, kind) = match rest.rsplit_once('/') {
                Some((id, kind @ ("response" | "error"))) => (id.to_string(), kind),
                _ => {
                    return reply(
                        404,
                        "{\"errorMessage\":\"Not found\",\"errorType\":\"NotFound\"}",
                    )
                }
            };
            let is_current = shared
                .current
                .lock()
                .ok()
                .is_some_and(|c| c.as_ref().is_some_and(|(cur, _)| *cur == id));
            if !is_current {
                return reply(
                    400,
                    "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}",
                );
            }
            let error_type = header_error_type(&req);
            let (outcome, status, text) = match read_body_and_trailers(req).await {
                Ok((body, trailers)) if kind == "response" => {
                    (streamed_error(trailers.as_ref()).unwrap_or(Outcome::Success(body)), 202, ACCEPTED)
                }
                Ok((body, _)) => {
                    let error_type = error_type.unwrap_or_else(|| body_error_type(&body));
                    (Outcome::Error { body, error_type }, 202, ACCEPTED)
                }
                Err(BodyError::TooLarge) => (
                    Outcome::Error {
                        body: error_body(
                            "Function.ResponseSizeTooLarge",
                            "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                        ),
                        error_type: "Function.ResponseSizeTooLarge".into(),
                    },
                    413,
                    "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\",\"errorType\":\"RequestEntityTooLarge\"}",
                ),
                Err(BodyError::Broken) => return reply(400, "{\"errorMessage\":\"Bad body\",\"errorType\":\"InvalidRequest\"}"),
            };
            let sender = shared.current.lock().ok().and_then(|mut c| c.take());
            if let Some((_, tx)) = sender {
                let _ = tx.send(outcome);
            }
            reply(status, text)
        }
        _ => reply(
            405,
            "{\"errorMessage\":\"Method not allowed\",\"errorType\":\"MethodNotAllowed\"}",
        ),
    }
}

async fn next(shared: &Shared) -> hyper::Response<Full<Bytes>> {
    shared.ready.send_replace(true);
    let inv = {
        let mut events = shared.events.lock().await;
        events.recv().await
    };
    let Some(inv) = inv else {
        // The environment is shutting down: tell the runtime to exit.
        return reply(
            500,
            "{\"errorMessage\":\"Environment shutting down\",\"errorType\":\"Runtime.ExitError\"}",
        );
    };
    let deadline = SystemClock.now_millis() + inv.timeout.as_millis() as u64;
    if let Ok(mut p) = shared.picked_up_at.lock() {
        *p = Some(std::time::Instant::now());
    }
    let mut r = hyper::Response::new(Full::new(inv.payload));
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &inv.request_id);
    set("lambda-runtime-deadline-ms", &deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        &inv.invoked_function_arn,
    );
    set("lambda-runtime-trace-id", &inv.trace_id);
    if let Some(cc) = &inv.client_context {
        set("lambda-runtime-client-context", cc);
    }
    if let Some(ci) = &inv.cognito_identity {
        set("lambda-runtime-cognito-identity", ci);
    }
    r
}

enum BodyError {
    TooLarge,
    Broken,
}

async fn read_body(req: hyper::Request<Incoming>) -> Result<Bytes, BodyError> {
    read_body_and_trailers(req).await.map(|(b, _)| b)
}

/// The body and, for streamed (chunked) responses, its trailers.
async fn read_body_and_trailers(
    req: hyper::Request<Incoming>,
) -> Result<(Bytes, Option<http::HeaderMap>), BodyError> {
    match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(b) => {
            let trailers = b.trailers().cloned();
            Ok((b.to_bytes(), trailers))
        }
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge)
        }
        Err(_) => Err(BodyError::Broken),
    }
}

/// A streamed response that failed midway reports its error in trailers:
/// `Lambda-Runtime-Function-Error-Type` and a base64 `-Error-Body`.
fn streamed_error(trailers: Option<&http::HeaderMap>) -> Option<Outcome> {
    use base64::Engine;
    let t = trailers?;
    let error_type = t
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())?
        .to_string();
    let body = t
        .get("lambda-runtime-function-error-body")
        .and_then(|v| v.to_str().ok())
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .map(Bytes::from)
        .unwrap_or_else(|| error_body(&error_type, "The function's response stream failed"));
    Some(Outcome::Error { body, error_type })
}

fn header_error_type(req: &hyper::Request<Incoming>) -> Option<String> {
    req.headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
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
