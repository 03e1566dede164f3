//! DynamoDB's errors, with the `__type` namespace and messages DynamoDB uses.

use serval_core::AwsError;

/// Result of a DynamoDB operation.
pub type Result<T> = std::result::Result<T, AwsError>;

const NS: &str = "com.amazonaws.dynamodb.v20120810#";

/// An error with DynamoDB's namespaced `__type`.
pub fn err(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(format!("{NS}{code}"), 400, message)
}

/// ValidationException.
pub fn validation(message: impl Into<String>) -> AwsError {
    err("ValidationException", message)
}

/// SerializationException (the body is not what the operation reads).
pub fn serialization(message: impl Into<String>) -> AwsError {
    err("SerializationException", message)
}

/// ResourceNotFoundException for a table that does not exist.
pub fn table_not_found() -> AwsError {
    err("ResourceNotFoundException", "Requested resource not found")
}

/// ResourceNotFoundException naming the table (DescribeTable, DeleteTable).
pub fn table_not_found_named(name: &str) -> AwsError {
    err(
        "ResourceNotFoundException",
        format!("Requested resource not found: Table: {name} not found"),
    )
}

/// ResourceInUseException.
pub fn in_use(message: impl Into<String>) -> AwsError {
    err("ResourceInUseException", message)
}

/// ConditionalCheckFailedException.
pub fn condition_failed() -> AwsError {
    err(
        "ConditionalCheckFailedException",
        "The conditional request failed",
    )
}

/// ItemCollectionSizeLimitExceededException: an item collection of a table
/// with local secondary indexes would pass its size limit (10 GB).
pub fn collection_too_large() -> AwsError {
    err(
        "ItemCollectionSizeLimitExceededException",
        "Collection size exceeded.",
    )
}

/// InternalServerError for what should not happen.
pub fn internal(message: impl Into<String>) -> AwsError {
    let mut e = err("InternalServerError", message);
    e.status = 500;
    e.kind = serval_core::ErrorKind::Service;
    e
}
