//! The AWS-shaped error every service returns and the edge renders.

use std::fmt;

/// Who is at fault, as AWS reports it (`Type` in Lambda error bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something wrong (4xx).
    User,
    /// Serval failed (5xx).
    Service,
}

/// An error with its AWS code, message and HTTP status. The edge renders it in
/// the wire protocol of the request (JSON `__type`, REST-XML, query XML).
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    /// AWS error code, e.g. `ResourceNotFoundException`.
    pub code: String,
    /// Human-readable message, matching AWS's text where clients depend on it.
    pub message: String,
    /// HTTP status code.
    pub status: u16,
    /// User or Service fault.
    pub kind: ErrorKind,
    /// Extra top-level fields of the JSON error body (e.g. Lambda's `Reason`).
    pub extra: Vec<(String, serde_json::Value)>,
    /// Extra response headers (e.g. `Retry-After`).
    pub headers: Vec<(String, String)>,
}

impl AwsError {
    /// A new error with the given code, status and message.
    pub fn new(code: impl Into<String>, status: u16, message: impl Into<String>) -> Self {
        let kind = if status >= 500 {
            ErrorKind::Service
        } else {
            ErrorKind::User
        };
        Self {
            code: code.into(),
            message: message.into(),
            status,
            kind,
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a top-level field to the JSON error body.
    pub fn with_field(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra.push((key.to_string(), value));
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, key: &str, value: impl Into<String>) -> Self {
        self.headers.push((key.to_string(), value.into()));
        self
    }

    /// 500 InternalFailure; the cause should be logged by the caller.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", 500, message)
    }

    /// 400 ValidationException.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", 400, message)
    }

    /// 400 SerializationException: the body could not be parsed.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", 400, message)
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}
