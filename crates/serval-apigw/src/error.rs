//! API Gateway's errors, as both management APIs name them.

use serval_core::AwsError;

/// An API Gateway management error.
#[derive(Debug, thiserror::Error)]
pub enum ApigwError {
    /// 404 `NotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// 400 `BadRequestException`.
    #[error("{0}")]
    BadRequest(String),
    /// 409 `ConflictException`.
    #[error("{0}")]
    Conflict(String),
    /// 429 `TooManyRequestsException` / `LimitExceededException`.
    #[error("{0}")]
    LimitExceeded(String),
    /// 500 from the store or another failure of Serval.
    #[error("{0}")]
    Internal(String),
}

impl ApigwError {
    /// The AWS error code.
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NotFoundException",
            Self::BadRequest(_) => "BadRequestException",
            Self::Conflict(_) => "ConflictException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::Internal(_) => "InternalFailure",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::BadRequest(_) => 400,
            Self::Conflict(_) => 409,
            Self::LimitExceeded(_) => 429,
            Self::Internal(_) => 500,
        }
    }
}

impl From<ApigwError> for AwsError {
    fn from(e: ApigwError) -> Self {
        AwsError::new(e.aws_code(), e.status(), e.to_string())
    }
}

impl From<serval_store::StoreError> for ApigwError {
    fn from(e: serval_store::StoreError) -> Self {
        Self::Internal(format!("store: {e}"))
    }
}

/// Result of API Gateway operations.
pub type Result<T, E = ApigwError> = std::result::Result<T, E>;

/// `BadRequestException` with a message.
pub fn bad(msg: impl Into<String>) -> ApigwError {
    ApigwError::BadRequest(msg.into())
}
