//! How services reach Lambda without importing it: the [`Invoker`] trait,
//! implemented by `serval-lambda` and handed to other services by the binary.

use crate::AwsError;
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;

/// A synchronous invocation asked for by another service.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Account that owns the function.
    pub account_id: String,
    /// Region of the function.
    pub region: String,
    /// Function name, partial ARN or full ARN (an ARN may carry a qualifier).
    pub function: String,
    /// Version or alias, when not part of `function`.
    pub qualifier: Option<String>,
    /// The event (JSON).
    pub payload: Bytes,
    /// Who calls, as a resource policy would name it (e.g. `apigateway.amazonaws.com`).
    pub principal: &'static str,
    /// ARN of the calling resource, as a resource policy's `SourceArn` would match it.
    pub source_arn: Option<String>,
}

/// What the function answered.
#[derive(Debug, Clone)]
pub struct InvokeResponse {
    /// The response payload (or the error document when `function_error` is set).
    pub payload: Bytes,
    /// `Unhandled` or `Handled` when the function failed.
    pub function_error: Option<String>,
    /// The version that ran.
    pub executed_version: String,
}

/// A boxed future of a cross-service call.
pub type CallFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AwsError>> + Send + 'a>>;

/// A function URL as the gateway serves it.
#[derive(Debug, Clone)]
pub struct FunctionUrlTarget {
    /// Account that owns the function.
    pub account_id: String,
    /// Region of the function.
    pub region: String,
    /// Function name.
    pub function_name: String,
    /// Alias the URL points at, if any.
    pub qualifier: Option<String>,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    /// The URL's `Cors` object as the Lambda API returns it (PascalCase keys).
    pub cors: Option<serde_json::Value>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
    /// The function URL's ARN (the function ARN, qualified when the URL is).
    pub function_arn: String,
}

/// Runs Lambda functions for other services (API Gateway, event sources).
pub trait Invoker: Send + Sync + 'static {
    /// Invokes a function synchronously (RequestResponse). Lambda's own
    /// errors (not found, throttled: 429 `TooManyRequestsException`) come
    /// back as `Err`; a function error is an `Ok` with `function_error` set.
    fn invoke(&self, req: InvokeRequest) -> CallFuture<'_, InvokeResponse>;

    /// The function URL with this id (the host label before `.lambda-url.`).
    fn function_url(&self, url_id: &str) -> Option<FunctionUrlTarget>;
}

/// Where services write log events (CloudWatch Logs groups and streams);
/// implemented by the service that owns logs, handed out by the binary.
pub trait LogSink: Send + Sync + 'static {
    /// Appends `(epoch millis, message)` events to a stream of a group.
    fn append(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: &str,
        events: &[(u64, String)],
    );
}
