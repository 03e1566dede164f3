//! EventBridge's and Scheduler's errors, with the codes and messages AWS uses.

use serval_core::AwsError;

/// Result of an operation.
pub type Result<T> = std::result::Result<T, AwsError>;

/// An error with a code and status 400.
pub fn err(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(code, 400, message)
}

/// ValidationException.
pub fn validation(message: impl Into<String>) -> AwsError {
    err("ValidationException", message)
}

/// ResourceNotFoundException.
pub fn not_found(message: impl Into<String>) -> AwsError {
    err("ResourceNotFoundException", message)
}

/// ResourceNotFoundException (404, as Scheduler answers it).
pub fn sched_not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", 404, message)
}

/// ConflictException (409, Scheduler).
pub fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("ConflictException", 409, message)
}

/// ResourceAlreadyExistsException.
pub fn exists(message: impl Into<String>) -> AwsError {
    err("ResourceAlreadyExistsException", message)
}

/// InvalidEventPatternException with AWS's "Event pattern is not valid." message.
pub fn bad_pattern(reason: &str) -> AwsError {
    err(
        "InvalidEventPatternException",
        crate::pattern::invalid_message(reason),
    )
}

/// The rule does not exist on the bus.
pub fn rule_not_found(rule: &str, bus: &str) -> AwsError {
    not_found(format!("Rule {rule} does not exist on EventBus {bus}."))
}

/// The bus does not exist.
pub fn bus_not_found(bus: &str) -> AwsError {
    not_found(format!("Event bus {bus} does not exist."))
}

/// An operation the dispatcher routed but nothing handles (a bug).
pub fn internal_op(op: &str) -> AwsError {
    AwsError::internal(format!("No handler for {op}"))
}
