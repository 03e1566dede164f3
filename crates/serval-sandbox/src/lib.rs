//! Execution environments for Lambda functions. An [`Environment`] is one
//! sandboxed process running a function's runtime, with its own Runtime API
//! (2018-06-01) listener on loopback; it handles one invocation at a time and
//! reports each invocation's outcome, duration, memory and log output. This
//! crate also ships the built-in bootstraps for the managed runtimes. It owns
//! no pools, limits or accounting: that is the Lambda crate's worker manager.

mod env;
pub mod isolation;
mod logs;
mod peer;
mod runtime_api;
pub mod runtimes;

pub use env::{EnvSpec, Environment, StartError};
pub use isolation::{IsolationConfig, IsolationMode, IsolationReport, NetworkMode, Sandbox};
pub use runtimes::{Runtime, RuntimeFamily, Runtimes};

use bytes::Bytes;
use std::time::Duration;

/// The largest response payload a runtime may post (AWS: 6,291,556 bytes).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// One event handed to a function.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// The event payload.
    pub payload: Bytes,
    /// The function's configured timeout; the deadline is set when the
    /// runtime picks the event up.
    pub timeout: Duration,
    /// The ARN the caller invoked, with qualifier if any.
    pub invoked_function_arn: String,
    /// X-Ray trace header value.
    pub trace_id: String,
    /// `X-Amz-Client-Context`, base64-decoded JSON.
    pub client_context: Option<String>,
    /// Cognito identity JSON.
    pub cognito_identity: Option<String>,
}

/// What became of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The runtime posted a response.
    Success(Bytes),
    /// The runtime posted an error, or the platform reports one (timeout,
    /// crash, init failure). `body` is AWS's `{errorMessage, errorType, ...}`.
    Error {
        /// The JSON error body returned to the caller.
        body: Bytes,
        /// The error type (e.g. `Runtime.ImportModuleError`, `Sandbox.Timedout`).
        error_type: String,
    },
}

/// The full report of an invocation.
#[derive(Debug, Clone)]
pub struct InvokeReport {
    /// Response or error.
    pub outcome: Outcome,
    /// Time from the runtime picking the event up to its answer.
    pub duration: Duration,
    /// Set when this invocation paid for the environment's init.
    pub init_duration: Option<Duration>,
    /// Peak resident memory of the environment, in MB.
    pub max_memory_mb: u64,
    /// Lines the function printed during this invocation (and init).
    pub log_lines: Vec<(u64, String)>,
    /// False when the environment must be discarded (timeout, crash).
    pub reusable: bool,
    /// True when the invocation ended by timing out.
    pub timed_out: bool,
    /// False when the runtime never took the event (it exited first): the
    /// invocation may be retried on another environment.
    pub delivered: bool,
}

/// Builds AWS's JSON error body for platform-reported errors.
pub fn error_body(error_type: &str, message: &str) -> Bytes {
    let v = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}
