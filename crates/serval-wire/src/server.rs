//! The HTTP/1.1 listener: accepts connections and hands complete requests to
//! the [`Router`].

use crate::request::{Request, RequestBody, Response};
use crate::router::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
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

/// Bodies from this size up (or of unknown length) may be streamed to a
/// service that asks for it; smaller ones always arrive complete.
pub const STREAM_THRESHOLD: u64 = 1024 * 1024;

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
) -> hyper::Response<Body> {
    let (parts, body) = req.into_parts();
    // A body of a megabyte or more, or of unknown length, may be one the
    // service wants to stream (an S3 upload); ask before reading it.
    let chunked = parts.headers.get(http::header::CONTENT_LENGTH).is_none()
        && parts.headers.contains_key(http::header::TRANSFER_ENCODING);
    let large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n >= STREAM_THRESHOLD);
    if chunked || large {
        let request = Request {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts.headers.clone(),
            body: Bytes::new(),
            remote_addr: Some(remote),
        };
        if router.wants_stream(&request) {
            let resp = router
                .dispatch_stream(request, RequestBody::incoming(body))
                .await;
            return into_hyper(resp);
        }
    }
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

/// A response body: whole (every ordinary response) or read from a stream.
type Body = Either<Full<Bytes>, ReaderBody>;

fn into_hyper(r: Response) -> hyper::Response<Body> {
    let body = match r
        .stream
        .as_ref()
        .and_then(|s| s.take().map(|rd| (rd, s.len)))
    {
        Some((reader, len)) => Either::Right(ReaderBody {
            reader,
            remaining: len,
            buf: Vec::new(),
        }),
        None => Either::Left(Full::new(r.body)),
    };
    let mut out = hyper::Response::new(body);
    *out.status_mut() = r.status;
    *out.headers_mut() = r.headers;
    out
}

/// How much of a streamed body is read at a time.
const READ_CHUNK: usize = 256 * 1024;

/// A response body read from an `AsyncRead` in pieces of up to 256 KB, so
/// memory stays flat whatever the size.
pub struct ReaderBody {
    reader: crate::request::BodyReader,
    remaining: u64,
    buf: Vec<u8>,
}

impl hyper::body::Body for ReaderBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        use std::task::Poll;
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(READ_CHUNK)
            .min(READ_CHUNK);
        if this.buf.len() < want {
            this.buf.resize(want, 0);
        }
        let mut rb = tokio::io::ReadBuf::new(&mut this.buf[..want]);
        match tokio::io::AsyncRead::poll_read(this.reader.as_mut(), cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "body ended early",
                    ))));
                }
                this.remaining -= n as u64;
                let data = Bytes::copy_from_slice(&this.buf[..n]);
                Poll::Ready(Some(Ok(hyper::body::Frame::data(data))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.remaining)
    }
}
