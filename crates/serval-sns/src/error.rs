//! SNS's errors, with the query protocol's codes (the model's `error.code`:
//! `NotFound`, `InvalidParameter`, `AuthorizationError`, ...), HTTP statuses
//! and AWS's message texts where clients or tests depend on them.

use serval_core::AwsError;

/// Result of an SNS operation.
pub type Result<T> = std::result::Result<T, SnsError>;

/// An SNS error: a kind and AWS's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct SnsError {
    /// Which error.
    pub kind: Kind,
    /// The message.
    pub message: String,
}

/// The errors SNS answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The topic, subscription or endpoint does not exist.
    NotFound,
    /// A tagged resource does not exist.
    ResourceNotFound,
    /// A parameter is wrong (`Invalid parameter: ...`).
    InvalidParameter,
    /// A parameter value is wrong (message attributes).
    ParameterValueInvalid,
    /// The caller may not act on the resource.
    AuthorizationError,
    /// Too many tags.
    TagLimitExceeded,
    /// The batch has no entries.
    EmptyBatchRequest,
    /// The batch has more than 10 entries.
    TooManyEntriesInBatchRequest,
    /// Two entries share an id.
    BatchEntryIdsNotDistinct,
    /// An entry id breaks the rules.
    InvalidBatchEntryId,
    /// The batch is larger than 256 KB.
    BatchRequestTooLong,
    /// The request does not fit the operation's shape.
    Validation,
    /// The action is unknown.
    InvalidAction,
    /// Serval failed.
    Internal,
}

impl Kind {
    /// The query protocol's code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::NotFound => "NotFound",
            Kind::ResourceNotFound => "ResourceNotFound",
            Kind::InvalidParameter => "InvalidParameter",
            Kind::ParameterValueInvalid => "ParameterValueInvalid",
            Kind::AuthorizationError => "AuthorizationError",
            Kind::TagLimitExceeded => "TagLimitExceeded",
            Kind::EmptyBatchRequest => "EmptyBatchRequest",
            Kind::TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            Kind::BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            Kind::InvalidBatchEntryId => "InvalidBatchEntryId",
            Kind::BatchRequestTooLong => "BatchRequestTooLong",
            Kind::Validation => "ValidationError",
            Kind::InvalidAction => "InvalidAction",
            Kind::Internal => "InternalError",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Kind::NotFound | Kind::ResourceNotFound => 404,
            Kind::AuthorizationError => 403,
            Kind::Internal => 500,
            _ => 400,
        }
    }
}

impl SnsError {
    /// An error of `kind` with `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        SnsError {
            kind,
            message: message.into(),
        }
    }
}

impl From<SnsError> for AwsError {
    fn from(e: SnsError) -> AwsError {
        AwsError::new(e.kind.code(), e.kind.status(), e.message)
    }
}

impl From<serval_store::StoreError> for SnsError {
    fn from(e: serval_store::StoreError) -> Self {
        tracing::error!(error = %e, "sns store failure");
        SnsError::new(Kind::Internal, "An internal storage error occurred")
    }
}

/// `InvalidParameter` with `Invalid parameter: <what>`.
pub fn invalid(what: impl std::fmt::Display) -> SnsError {
    SnsError::new(Kind::InvalidParameter, format!("Invalid parameter: {what}"))
}

/// `NotFound: Topic does not exist`.
pub fn no_topic() -> SnsError {
    SnsError::new(Kind::NotFound, "Topic does not exist")
}

/// `NotFound: Subscription does not exist`.
pub fn no_subscription() -> SnsError {
    SnsError::new(Kind::NotFound, "Subscription does not exist")
}

/// `ResourceNotFound` for tagging operations.
pub fn no_resource() -> SnsError {
    SnsError::new(Kind::ResourceNotFound, "Resource does not exist")
}

/// `ParameterValueInvalid` (message attribute problems).
pub fn bad_value(message: impl Into<String>) -> SnsError {
    SnsError::new(Kind::ParameterValueInvalid, message)
}
