//! Routing a request to the service that owns it, and the [`Service`] trait.

use crate::auth::{self, Auth};
use crate::error_render;
use crate::request::{Request, RequestBody, Response};
use serval_core::{ids, AwsError, RequestContext, DEFAULT_REGION};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The wire protocol a service speaks; decides how errors are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// REST with JSON bodies (Lambda, API Gateway).
    RestJson,
    /// `application/x-amz-json-1.0` with `X-Amz-Target` (DynamoDB, SQS).
    AwsJson10,
    /// `application/x-amz-json-1.1` with `X-Amz-Target` (Cognito, Logs).
    AwsJson11,
    /// REST with XML bodies (S3).
    RestXml,
    /// Form-encoded `Action=` requests answered in XML (SNS).
    Query,
}

/// What a service handler returns.
pub type ServiceFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, AwsError>> + Send + 'a>>;

/// One AWS service behind the edge.
pub trait Service: Send + Sync + 'static {
    /// The SigV4 signing name, e.g. `lambda`.
    fn signing_name(&self) -> &'static str;
    /// The wire protocol, used to render errors.
    fn protocol(&self) -> Protocol;
    /// Whether an unsigned request with this path or target belongs here.
    fn owns(&self, req: &Request) -> bool;
    /// Whether this service takes the request whatever its signature says
    /// (data planes addressed by host name, such as `*.execute-api.localhost`).
    /// Claims are checked before any other routing.
    fn claims(&self, _req: &Request) -> bool {
        false
    }
    /// Whether the request must carry a SigV4 signature (false for public
    /// endpoints such as function URLs).
    fn requires_auth(&self, _req: &Request) -> bool {
        true
    }
    /// Handles one request.
    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a>;
    /// Whether this request's body should be handed over unread, through
    /// [`Service::call_stream`]. The edge asks only about bodies of a
    /// megabyte or more or of unknown length (`req.body` is empty then);
    /// smaller ones always arrive complete through [`Service::call`].
    fn streams_body(&self, _req: &Request) -> bool {
        false
    }
    /// Handles a request whose body is still arriving (see [`Service::streams_body`]).
    fn call_stream<'a>(
        &'a self,
        _ctx: RequestContext,
        _req: Request,
        _body: RequestBody,
    ) -> ServiceFuture<'a> {
        Box::pin(async { Err(AwsError::internal("this service does not stream bodies")) })
    }
}

/// Handler for Serval's own endpoints under `/_serval/`.
pub type InternalHandler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// Holds every registered service and dispatches requests to them.
#[derive(Clone, Default)]
pub struct Router {
    services: Vec<Arc<dyn Service>>,
    internal: Option<InternalHandler>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a service.
    pub fn register(&mut self, service: Arc<dyn Service>) {
        self.services.push(service);
    }

    /// Sets the handler for `/_serval/...`.
    pub fn internal(&mut self, handler: InternalHandler) {
        self.internal = Some(handler);
    }

    /// Signing names of the registered services.
    pub fn service_names(&self) -> Vec<&'static str> {
        self.services.iter().map(|s| s.signing_name()).collect()
    }

    fn by_signing_name(&self, name: &str, req: &Request) -> Option<&Arc<dyn Service>> {
        let mut named = self.services.iter().filter(|s| s.signing_name() == name);
        let first = named.next()?;
        if first.owns(req) {
            return Some(first);
        }
        named.find(|s| s.owns(req)).or(Some(first))
    }

    /// Routes one request and always produces a response.
    pub async fn dispatch(&self, req: Request) -> Response {
        self.dispatch_body(req, None).await
    }

    /// Routes a request whose body has not been read (the edge asked
    /// [`Router::wants_stream`] first); the body goes to [`Service::call_stream`].
    pub async fn dispatch_stream(&self, req: Request, body: RequestBody) -> Response {
        self.dispatch_body(req, Some(body)).await
    }

    async fn dispatch_body(&self, req: Request, body: Option<RequestBody>) -> Response {
        let request_id = ids::request_id();
        let mut resp = self.dispatch_inner(req, body, &request_id).await;
        resp.set_header("x-amzn-RequestId", &request_id);
        resp
    }

    /// Whether the service this request goes to takes its body as a stream
    /// (`req.body` is still empty here).
    pub fn wants_stream(&self, req: &Request) -> bool {
        if req.path.starts_with("/_serval/") || req.path == "/_serval" {
            return false;
        }
        let query = req.query_pairs();
        let auth = auth::parse(req.header("authorization"), &query);
        self.select(req, &auth).is_some_and(|s| s.streams_body(req))
    }

    fn select(&self, req: &Request, auth: &Result<Auth, AwsError>) -> Option<&Arc<dyn Service>> {
        if let Some(claimed) = self.services.iter().find(|s| s.claims(req)) {
            return Some(claimed);
        }
        // A signed request goes to the first service of its signing name that
        // owns it (else the first of that name); only then do the others'
        // `owns` checks run, which can be costly (query and form parsing).
        let by_path = || self.services.iter().find(|s| s.owns(req));
        match auth {
            Ok(Auth::Signed(c)) => self.by_signing_name(&c.service, req).or_else(by_path),
            _ => by_path(),
        }
    }

    async fn dispatch_inner(
        &self,
        req: Request,
        body: Option<RequestBody>,
        request_id: &str,
    ) -> Response {
        if req.path.starts_with("/_serval/") || req.path == "/_serval" {
            if let Some(h) = &self.internal {
                return h(&req);
            }
        }
        let query = req.query_pairs();
        let auth = auth::parse(req.header("authorization"), &query);
        let service = self.select(&req, &auth);
        let Some(service) = service else {
            return unknown_operation(&req, request_id);
        };
        let protocol = service.protocol();
        let cred = match auth {
            Ok(Auth::Signed(c)) => c,
            Ok(Auth::Missing) => {
                if service.requires_auth(&req) {
                    return error_render::render(&auth::missing_token(), protocol, request_id);
                }
                auth::Credential {
                    access_key_id: String::new(),
                    region: DEFAULT_REGION.to_string(),
                    service: service.signing_name().to_string(),
                }
            }
            Err(e) => {
                if service.requires_auth(&req) {
                    return error_render::render(&e, protocol, request_id);
                }
                auth::Credential {
                    access_key_id: String::new(),
                    region: DEFAULT_REGION.to_string(),
                    service: service.signing_name().to_string(),
                }
            }
        };
        let ctx = RequestContext {
            account_id: RequestContext::account_for_key(&cred.access_key_id),
            region: cred.region,
            access_key_id: cred.access_key_id,
            request_id: request_id.to_string(),
        };
        let result = match body {
            Some(body) => service.call_stream(ctx, req, body).await,
            None => service.call(ctx, req).await,
        };
        match result {
            Ok(r) => r,
            Err(e) => {
                if e.status >= 500 {
                    tracing::warn!(code = %e.code, message = %e.message, "service error");
                }
                error_render::render(&e, protocol, request_id)
            }
        }
    }
}

/// The answer to a request no registered service owns, in the protocol the
/// request looks like it speaks.
fn unknown_operation(req: &Request, request_id: &str) -> Response {
    if let Some(target) = req.header("x-amz-target") {
        let err = AwsError::new(
            "UnknownOperationException",
            400,
            format!("Unknown operation {target}"),
        );
        return error_render::render(&err, Protocol::AwsJson11, request_id);
    }
    let is_form = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let action = req.query_param("Action").or_else(|| {
        if is_form {
            form_urlencoded::parse(&req.body)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
        } else {
            None
        }
    });
    if let Some(action) = action {
        let err = AwsError::new(
            "InvalidAction",
            400,
            format!("The action {action} is not valid for this web service."),
        );
        return error_render::render(&err, Protocol::Query, request_id);
    }
    let err = AwsError::new(
        "UnknownOperationException",
        404,
        format!("No service handles {} {}", req.method, req.path),
    );
    error_render::render(&err, Protocol::RestJson, request_id)
}
