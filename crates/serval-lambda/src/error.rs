//! Lambda's errors, each knowing its AWS code and HTTP status.

use serval_core::AwsError;

/// Why a Lambda API call failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// 404: function, version or alias does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: already exists or in a conflicting state.
    #[error("{0}")]
    Conflict(String),
    /// 400: a parameter has a value Lambda rejects.
    #[error("{0}")]
    InvalidParameter(String),
    /// 400: a value breaks a model constraint.
    #[error("{0}")]
    Validation(String),
    /// 400: the request body is not valid JSON or has wrong types.
    #[error("{0}")]
    InvalidRequestContent(String),
    /// 403: the caller may not touch another account's resource.
    #[error("{0}")]
    AccessDenied(String),
    /// 412: the RevisionId does not match.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: payload over the limit.
    #[error("{0}")]
    RequestTooLarge(String),
    /// 429 with Lambda's `Reason`.
    #[error("{message}")]
    TooManyRequests {
        /// Message text.
        message: String,
        /// `Reason` field.
        reason: &'static str,
    },
    /// 404: no provisioned-concurrency config for the qualifier.
    #[error("{0}")]
    ProvisionedConfigNotFound(String),
    /// 400: code storage limit reached.
    #[error("{0}")]
    CodeStorageExceeded(String),
    /// 502: the runtime cannot be provided.
    #[error("{0}")]
    InvalidRuntime(String),
    /// 400: an operation Serval does not implement yet.
    #[error("{0}")]
    Unsupported(String),
    /// 500: something broke inside Serval.
    #[error("{0}")]
    Internal(String),
}

impl LambdaError {
    /// The AWS error code.
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "ResourceNotFoundException",
            Self::Conflict(_) => "ResourceConflictException",
            Self::InvalidParameter(_) => "InvalidParameterValueException",
            Self::Validation(_) => "ValidationException",
            Self::InvalidRequestContent(_) => "InvalidRequestContentException",
            Self::PreconditionFailed(_) => "PreconditionFailedException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::RequestTooLarge(_) => "RequestTooLargeException",
            Self::TooManyRequests { .. } => "TooManyRequestsException",
            Self::CodeStorageExceeded(_) => "CodeStorageExceededException",
            Self::ProvisionedConfigNotFound(_) => "ProvisionedConcurrencyConfigNotFoundException",
            Self::InvalidRuntime(_) => "InvalidRuntimeException",
            Self::Unsupported(_) => "UnknownOperationException",
            Self::Internal(_) => "ServiceException",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) | Self::Unsupported(_) | Self::ProvisionedConfigNotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::AccessDenied(_) => 403,
            Self::PreconditionFailed(_) => 412,
            Self::RequestTooLarge(_) => 413,
            Self::TooManyRequests { .. } => 429,
            Self::InvalidRuntime(_) => 502,
            Self::Internal(_) => 500,
            _ => 400,
        }
    }
}

impl From<LambdaError> for AwsError {
    fn from(e: LambdaError) -> Self {
        let mut err = AwsError::new(e.aws_code(), e.status(), e.to_string());
        if let LambdaError::TooManyRequests { reason, .. } = &e {
            err = err
                .with_field("Reason", (*reason).into())
                .with_field("retryAfterSeconds", "1".into())
                .with_header("Retry-After", "1");
        }
        if let LambdaError::Internal(m) = &e {
            tracing::error!(message = %m, "lambda internal failure");
        }
        err
    }
}

impl From<serval_store::StoreError> for LambdaError {
    fn from(e: serval_store::StoreError) -> Self {
        LambdaError::Internal(e.to_string())
    }
}

/// Lambda's "1 validation error detected" message.
pub fn validation(value: &str, field: &str, constraint: &str) -> LambdaError {
    LambdaError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// A validation error unless `lo <= v <= hi`, worded as the model's range
/// constraint.
pub fn in_range(field: &str, v: i64, lo: i64, hi: i64) -> Result<()> {
    if v < lo {
        return Err(validation(
            &v.to_string(),
            field,
            &format!("Member must have value greater than or equal to {lo}"),
        ));
    }
    if v > hi {
        return Err(validation(
            &v.to_string(),
            field,
            &format!("Member must have value less than or equal to {hi}"),
        ));
    }
    Ok(())
}

/// 412 for a `RevisionId` that is no longer current; `getter` names the
/// API that returns the current one (`GetFunction/GetAlias`, `GetPolicy`).
pub fn stale_revision(getter: &str) -> LambdaError {
    LambdaError::PreconditionFailed(format!(
        "The Revision Id provided does not match the latest Revision Id. Call the {getter} API to retrieve the latest Revision Id"
    ))
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, LambdaError>;
