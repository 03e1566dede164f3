//! How other services read S3 objects without importing S3: the
//! [`Objects`] trait, implemented by `serval-s3` and handed out by the
//! binary (Lambda reads code packages named by `S3Bucket`/`S3Key`, as
//! `aws cloudformation package`, `sam deploy` and most deploy tools ship
//! code).

use crate::invoke::CallFuture;
use bytes::Bytes;

/// Reads whole objects.
pub trait Objects: Send + Sync + 'static {
    /// The body of `bucket`/`key` (a version when given) as `account` in
    /// `region` sees it, refused past `max_bytes`. Errors carry S3's codes
    /// and messages (`NoSuchBucket`, `NoSuchKey`, `NoSuchVersion`,
    /// `AccessDenied`, `EntityTooLarge`).
    fn read_object(
        &self,
        account: &str,
        region: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        max_bytes: u64,
    ) -> CallFuture<'_, Bytes>;
}
