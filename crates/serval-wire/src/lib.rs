//! Serval's edge: one HTTP listener for every service. It parses requests,
//! resolves the caller's account and region from the SigV4 credential, routes
//! each request to the [`Service`] that owns it and renders [`AwsError`]s in
//! the wire protocol of that service. It owns no service logic.

pub mod auth;
pub mod error_render;
pub mod eventstream;
pub mod query;
pub mod request;
pub mod router;
pub mod server;
pub mod shapes;

pub use request::{BodyReader, Request, RequestBody, Response, StreamBody};
pub use router::{Protocol, Router, Service, ServiceFuture};
pub use serval_core::{AwsError, RequestContext};
