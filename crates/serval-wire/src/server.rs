//! The HTTP/1.1 listener: accepts connections and hands complete requests to
//! the [`Router`].

use crate::request::{Request, Response};
use crate::router::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serval_core::AwsError;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The largest request body the edge reads (a 50 MB zip, base64-encoded).
pub const MAX_BODY: usize = 80 * 1024 * 1024;
/// How long a client may take to send a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Megabytes of request bodies held in memory at once, across connections.
const BODY_BUDGET_MB: u32 = 1024;

/// Memory for request bodies, in megabytes, shared by every connection.
fn body_budget() -> &'static tokio::sync::Semaphore {
    static BUDGET: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    BUDGET.get_or_init(|| tokio::sync::Semaphore::new(BODY_BUDGET_MB as usize))
}

/// Connections served at once; more are closed as they arrive, so a flood
/// of idle connections cannot use up the process's descriptors.
const MAX_CONNECTIONS: usize = 4096;

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (stream, remote) = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| {
                let router = router.clone();
                async move { Ok::<_, Infallible>(handle(&router, req, remote).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(
    router: &Router,
    req: hyper::Request<Incoming>,
    remote: std::net::SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // Bodies of a megabyte or more wait for memory; small ones (most
    // requests, chunked ones are capped by MAX_BODY) go straight through.
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let _budget = if declared >= 1024 * 1024 {
        let mb = u32::try_from(declared.div_ceil(1024 * 1024)).unwrap_or(BODY_BUDGET_MB);
        match tokio::time::timeout(BODY_TIMEOUT, body_budget().acquire_many(mb)).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                let err = AwsError::new(
                    "ServiceUnavailableException",
                    503,
                    "Serval is busy receiving other large requests; retry later",
                )
                .with_header("Retry-After", "1");
                return into_hyper(crate::error_render::render(
                    &err,
                    crate::Protocol::RestJson,
                    "",
                ));
            }
        }
    } else {
        None
    };
    let collected =
        tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await;
    let Ok(collected) = collected else {
        let err = AwsError::new(
            "RequestTimeoutException",
            408,
            "The request body was not received in time",
        );
        return into_hyper(crate::error_render::render(
            &err,
            crate::Protocol::RestJson,
            "",
        ));
    };
    let body = match collected {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let err = if too_large {
                AwsError::new(
                    "RequestEntityTooLargeException",
                    413,
                    "Request must be smaller than 83886080 bytes",
                )
            } else {
                AwsError::new("IncompleteBody", 400, "The request body could not be read")
            };
            let r = crate::error_render::render(&err, crate::Protocol::RestJson, "");
            return into_hyper(r);
        }
    };
    let request = Request {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        remote_addr: Some(remote),
    };
    into_hyper(router.dispatch(request).await)
}

fn into_hyper(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(r.body));
    *out.status_mut() = r.status;
    *out.headers_mut() = r.headers;
    out
}
