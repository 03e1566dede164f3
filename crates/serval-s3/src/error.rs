//! S3's errors: exact codes, statuses and messages, with the detail elements
//! S3 puts in its error XML. The edge renders them (REST-XML).

use serval_core::AwsError;

/// Result of S3 operations.
pub type Result<T> = std::result::Result<T, AwsError>;

fn err(code: &str, status: u16, message: &str) -> AwsError {
    AwsError::new(code, status, message)
}

fn field(e: AwsError, k: &str, v: &str) -> AwsError {
    e.with_field(k, v.into())
}

/// 404 NoSuchBucket.
pub fn no_such_bucket(bucket: &str) -> AwsError {
    field(
        err("NoSuchBucket", 404, "The specified bucket does not exist"),
        "BucketName",
        bucket,
    )
}

/// 404 NoSuchKey.
pub fn no_such_key(key: &str) -> AwsError {
    field(
        err("NoSuchKey", 404, "The specified key does not exist."),
        "Key",
        key,
    )
}

/// 404 NoSuchVersion.
pub fn no_such_version(key: &str, version: &str) -> AwsError {
    field(
        field(
            err(
                "NoSuchVersion",
                404,
                "The specified version does not exist.",
            ),
            "Key",
            key,
        ),
        "VersionId",
        version,
    )
}

/// 404 NoSuchUpload.
pub fn no_such_upload(upload_id: &str) -> AwsError {
    field(
        err(
            "NoSuchUpload",
            404,
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        ),
        "UploadId",
        upload_id,
    )
}

/// 409 BucketAlreadyOwnedByYou.
pub fn already_owned(bucket: &str) -> AwsError {
    field(
        err(
            "BucketAlreadyOwnedByYou",
            409,
            "Your previous request to create the named bucket succeeded and you already own it.",
        ),
        "BucketName",
        bucket,
    )
}

/// 409 BucketAlreadyExists (another account owns the name).
pub fn already_exists(bucket: &str) -> AwsError {
    field(
        err(
            "BucketAlreadyExists",
            409,
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
        ),
        "BucketName",
        bucket,
    )
}

/// 409 BucketNotEmpty.
pub fn not_empty(bucket: &str) -> AwsError {
    field(
        err(
            "BucketNotEmpty",
            409,
            "The bucket you tried to delete is not empty",
        ),
        "BucketName",
        bucket,
    )
}

/// 400 InvalidBucketName.
pub fn invalid_bucket_name(bucket: &str) -> AwsError {
    field(
        err(
            "InvalidBucketName",
            400,
            "The specified bucket is not valid.",
        ),
        "BucketName",
        bucket,
    )
}

/// 412 PreconditionFailed.
pub fn precondition_failed(condition: &str) -> AwsError {
    field(
        err(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        ),
        "Condition",
        condition,
    )
}

/// 416 InvalidRange.
pub fn invalid_range(size: u64) -> AwsError {
    field(
        field(
            err(
                "InvalidRange",
                416,
                "The requested range is not satisfiable",
            ),
            "RangeRequested",
            "",
        ),
        "ActualObjectSize",
        &size.to_string(),
    )
    .with_header("Content-Range", format!("bytes */{size}"))
}

/// 400 BadDigest (Content-MD5 mismatch).
pub fn bad_digest() -> AwsError {
    err(
        "BadDigest",
        400,
        "The Content-MD5 you specified did not match what we received.",
    )
}

/// 400 InvalidDigest (Content-MD5 not base64 of 16 bytes).
pub fn invalid_digest() -> AwsError {
    err(
        "InvalidDigest",
        400,
        "The Content-MD5 you specified was invalid.",
    )
}

/// 400 BadDigest for an `x-amz-checksum-*` mismatch.
pub fn checksum_mismatch(algorithm: &str) -> AwsError {
    err(
        "BadDigest",
        400,
        &format!("The {algorithm} you specified did not match the calculated checksum."),
    )
}

/// 400 InvalidRequest with a message.
pub fn invalid_request(message: &str) -> AwsError {
    err("InvalidRequest", 400, message)
}

/// 400 InvalidArgument with a message and the offending argument.
pub fn invalid_argument(message: &str, name: &str, value: &str) -> AwsError {
    field(
        field(err("InvalidArgument", 400, message), "ArgumentName", name),
        "ArgumentValue",
        value,
    )
}

/// 400 MalformedXML.
pub fn malformed_xml() -> AwsError {
    err(
        "MalformedXML",
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

/// 400 EntityTooSmall.
pub fn entity_too_small(size: u64) -> AwsError {
    field(
        field(
            err(
                "EntityTooSmall",
                400,
                "Your proposed upload is smaller than the minimum allowed object size.",
            ),
            "ProposedSize",
            &size.to_string(),
        ),
        "MinSizeAllowed",
        "5242880",
    )
}

/// 400 EntityTooLarge.
pub fn entity_too_large(size: u64, max: u64) -> AwsError {
    field(
        field(
            err(
                "EntityTooLarge",
                400,
                "Your proposed upload exceeds the maximum allowed size",
            ),
            "ProposedSize",
            &size.to_string(),
        ),
        "MaxSizeAllowed",
        &max.to_string(),
    )
}

/// 400 InvalidPart.
pub fn invalid_part(part: u32, etag: &str) -> AwsError {
    field(
        field(
            err(
                "InvalidPart",
                400,
                "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            ),
            "PartNumber",
            &part.to_string(),
        ),
        "ETag",
        etag,
    )
}

/// 400 InvalidPartOrder.
pub fn invalid_part_order() -> AwsError {
    err(
        "InvalidPartOrder",
        400,
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
    )
}

/// 403 AccessDenied for an expired presigned URL, with S3's detail fields.
pub fn expired(expires: &str, now: &str) -> AwsError {
    field(
        field(
            err("AccessDenied", 403, "Request has expired"),
            "Expires",
            expires,
        ),
        "ServerTime",
        now,
    )
}

/// 403 AccessDenied.
pub fn access_denied(message: &str) -> AwsError {
    err("AccessDenied", 403, message)
}

/// 400 IncompleteBody.
pub fn incomplete_body() -> AwsError {
    err(
        "IncompleteBody",
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    )
}

/// 404 NoSuchTagSet and friends: a configuration that is not set.
pub fn no_such_config(code: &str, message: &str, bucket: &str) -> AwsError {
    field(err(code, 404, message), "BucketName", bucket)
}

/// 405 MethodNotAllowed.
pub fn method_not_allowed(method: &str) -> AwsError {
    field(
        field(
            err(
                "MethodNotAllowed",
                405,
                "The specified method is not allowed against this resource.",
            ),
            "Method",
            method,
        ),
        "ResourceType",
        "OBJECT",
    )
}

/// 501 NotImplemented.
pub fn not_implemented(what: &str) -> AwsError {
    err(
        "NotImplemented",
        501,
        &format!(
            "A header or query you provided implies functionality that is not implemented: {what}"
        ),
    )
}

/// 500 InternalError (S3's spelling), logged.
pub fn internal(cause: impl std::fmt::Display) -> AwsError {
    tracing::error!(error = %cause, "s3 internal error");
    err(
        "InternalError",
        500,
        "We encountered an internal error. Please try again.",
    )
}
