//! SQS's errors. Each knows the code of the JSON protocol (the error shape's
//! name, sent as `__type: com.amazonaws.sqs#<Shape>`), the legacy code of the
//! query protocol (the model's `awsQueryError` trait, e.g.
//! `AWS.SimpleQueueService.NonExistentQueue`), and its HTTP status. JSON
//! answers also carry `x-amzn-query-error: <legacy code>;Sender`: botocore
//! reports that legacy code as `Error.Code` (as boto3 did when SQS spoke
//! only the query protocol) and still raises the modeled exception class.

use serval_core::{AwsError, ErrorKind};

/// Result of an SQS operation.
pub type Result<T> = std::result::Result<T, SqsError>;

/// An SQS error: a kind and AWS's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", kind.shape())]
pub struct SqsError {
    /// Which error.
    pub kind: Kind,
    /// The message, in AWS's words where clients or tests depend on them.
    pub message: String,
}

/// The errors SQS answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The queue does not exist.
    QueueDoesNotExist,
    /// A queue of that name exists with other attributes.
    QueueNameExists,
    /// A parameter's value is not allowed.
    InvalidParameterValue,
    /// A required parameter is missing.
    MissingParameter,
    /// An attribute name is unknown.
    InvalidAttributeName,
    /// An attribute value is not allowed.
    InvalidAttributeValue,
    /// The body has characters SQS refuses.
    InvalidMessageContents,
    /// The receipt handle is not one SQS made.
    ReceiptHandleIsInvalid,
    /// The message is not in flight.
    MessageNotInflight,
    /// A purge of this queue ran in the last 60 seconds.
    PurgeQueueInProgress,
    /// The batch has no entries.
    EmptyBatchRequest,
    /// The batch has more than 10 entries.
    TooManyEntriesInBatchRequest,
    /// Two entries share an id.
    BatchEntryIdsNotDistinct,
    /// An entry id breaks the rules.
    InvalidBatchEntryId,
    /// The batch's messages are too large together.
    BatchRequestTooLong,
    /// A limit was reached (tags, permissions, in-flight messages).
    OverLimit,
    /// The operation does not apply (e.g. a move task on a non-DLQ).
    UnsupportedOperation,
    /// A move task or other resource does not exist.
    ResourceNotFoundException,
    /// The body could not be read as the operation's input.
    Serialization,
    /// The action is unknown.
    InvalidAction,
    /// Serval failed.
    Internal,
}

impl Kind {
    /// The JSON protocol's code (the error shape's name).
    pub fn shape(self) -> &'static str {
        match self {
            Kind::QueueDoesNotExist => "QueueDoesNotExist",
            Kind::QueueNameExists => "QueueNameExists",
            Kind::InvalidParameterValue => "InvalidParameterValueException",
            Kind::MissingParameter => "MissingRequiredParameterException",
            Kind::InvalidAttributeName => "InvalidAttributeName",
            Kind::InvalidAttributeValue => "InvalidAttributeValue",
            Kind::InvalidMessageContents => "InvalidMessageContents",
            Kind::ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            Kind::MessageNotInflight => "MessageNotInflight",
            Kind::PurgeQueueInProgress => "PurgeQueueInProgress",
            Kind::EmptyBatchRequest => "EmptyBatchRequest",
            Kind::TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            Kind::BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            Kind::InvalidBatchEntryId => "InvalidBatchEntryId",
            Kind::BatchRequestTooLong => "BatchRequestTooLong",
            Kind::OverLimit => "OverLimit",
            Kind::UnsupportedOperation => "UnsupportedOperation",
            Kind::ResourceNotFoundException => "ResourceNotFoundException",
            Kind::Serialization => "SerializationException",
            Kind::InvalidAction => "InvalidAction",
            Kind::Internal => "InternalError",
        }
    }

    /// The query protocol's code (`awsQueryError`), also sent in `x-amzn-query-error`.
    pub fn query_code(self) -> &'static str {
        match self {
            Kind::QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            Kind::QueueNameExists => "QueueAlreadyExists",
            Kind::InvalidParameterValue => "InvalidParameterValue",
            Kind::MissingParameter => "MissingParameter",
            Kind::InvalidAttributeName => "InvalidAttributeName",
            Kind::InvalidAttributeValue => "InvalidAttributeValue",
            Kind::InvalidMessageContents => "InvalidMessageContents",
            Kind::ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            Kind::MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            Kind::PurgeQueueInProgress => "AWS.SimpleQueueService.PurgeQueueInProgress",
            Kind::EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            Kind::TooManyEntriesInBatchRequest => {
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
            }
            Kind::BatchEntryIdsNotDistinct => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            Kind::InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            Kind::BatchRequestTooLong => "AWS.SimpleQueueService.BatchRequestTooLong",
            Kind::OverLimit => "OverLimit",
            Kind::UnsupportedOperation => "AWS.SimpleQueueService.UnsupportedOperation",
            Kind::ResourceNotFoundException => "ResourceNotFoundException",
            Kind::Serialization => "MalformedQueryString",
            Kind::InvalidAction => "InvalidAction",
            Kind::Internal => "InternalError",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Kind::ReceiptHandleIsInvalid | Kind::ResourceNotFoundException => 404,
            Kind::OverLimit | Kind::PurgeQueueInProgress => 403,
            Kind::Internal => 500,
            _ => 400,
        }
    }
}

impl SqsError {
    /// An error of `kind` with `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        SqsError {
            kind,
            message: message.into(),
        }
    }

    /// The AwsError for the JSON protocol: namespaced `__type` and the query-error header.
    pub fn to_json_error(&self) -> AwsError {
        let ns = match self.kind {
            Kind::InvalidParameterValue | Kind::MissingParameter => "com.amazon.coral.validate#",
            Kind::Serialization => "com.amazon.coral.service#",
            _ => "com.amazonaws.sqs#",
        };
        let fault = if self.kind == Kind::Internal {
            "Receiver"
        } else {
            "Sender"
        };
        AwsError::new(
            format!("{ns}{}", self.kind.shape()),
            self.kind.status(),
            self.message.clone(),
        )
        .with_header(
            "x-amzn-query-error",
            format!("{};{fault}", self.kind.query_code()),
        )
    }

    /// The AwsError for the query protocol (legacy code).
    pub fn to_query_error(&self) -> AwsError {
        AwsError::new(
            self.kind.query_code(),
            self.kind.status(),
            self.message.clone(),
        )
    }
}

impl From<SqsError> for AwsError {
    /// For other services (the `Queues` trait): the JSON protocol's code, unprefixed.
    fn from(e: SqsError) -> AwsError {
        let mut a = AwsError::new(e.kind.shape(), e.kind.status(), e.message);
        if e.kind == Kind::Internal {
            a.kind = ErrorKind::Service;
        }
        a
    }
}

impl From<serval_store::StoreError> for SqsError {
    fn from(e: serval_store::StoreError) -> Self {
        tracing::error!(error = %e, "sqs store failure");
        SqsError::new(Kind::Internal, "An internal storage error occurred")
    }
}

/// QueueDoesNotExist with AWS's text.
pub fn no_queue() -> SqsError {
    SqsError::new(
        Kind::QueueDoesNotExist,
        "The specified queue does not exist.",
    )
}

/// InvalidParameterValue.
pub fn invalid(message: impl Into<String>) -> SqsError {
    SqsError::new(Kind::InvalidParameterValue, message)
}

/// `Value X for parameter P is invalid. Reason: R`.
pub fn invalid_param(value: impl std::fmt::Display, param: &str, reason: &str) -> SqsError {
    invalid(format!(
        "Value {value} for parameter {param} is invalid. Reason: {reason}"
    ))
}

/// MissingParameter: `The request must contain the parameter P.`
pub fn missing(param: &str) -> SqsError {
    SqsError::new(
        Kind::MissingParameter,
        format!("The request must contain the parameter {param}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_carries_shape_and_legacy_code() {
        let e = no_queue().to_json_error();
        assert_eq!(e.code, "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.headers,
            vec![(
                "x-amzn-query-error".to_string(),
                "AWS.SimpleQueueService.NonExistentQueue;Sender".to_string()
            )]
        );
        let q = SqsError::new(Kind::PurgeQueueInProgress, "x").to_query_error();
        assert_eq!(q.code, "AWS.SimpleQueueService.PurgeQueueInProgress");
        assert_eq!(q.status, 403);
    }
}
