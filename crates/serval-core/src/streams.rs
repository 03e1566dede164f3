//! How Lambda's event source mappings read change streams (DynamoDB
//! Streams) without importing the service that owns them: the
//! [`StreamReader`] trait, implemented by `serval-dynamodb` and handed to
//! Lambda by the binary. Streams are named by ARN; the account and region
//! come from the ARN.

use crate::AwsError;

/// One shard of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamShard {
    /// The shard id.
    pub shard_id: String,
    /// Whether the shard takes no more records (the stream was disabled or
    /// its table deleted).
    pub closed: bool,
}

/// One record, as GetRecords returns it.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    /// Its sequence number (decimal digits; later records have larger ones).
    pub sequence_number: u128,
    /// The record's JSON object (`eventID`, `eventName`, `dynamodb`, ...).
    pub json: String,
    /// When it was written, epoch seconds.
    pub created_secs: u64,
}

/// Reads change streams for event source mappings.
pub trait StreamReader: Send + Sync + 'static {
    /// The shards of the stream; `ResourceNotFoundException` when there is
    /// no such stream.
    fn shards(&self, stream_arn: &str) -> Result<Vec<StreamShard>, AwsError>;

    /// Up to `limit` records of a shard with sequence numbers above `after`
    /// (all of them when `after` is `None`), oldest first.
    fn read(
        &self,
        stream_arn: &str,
        shard_id: &str,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Vec<StreamRecord>, AwsError>;

    /// The sequence number of the newest record of a shard (`None` when it
    /// has none): where a mapping that starts at `LATEST` begins.
    fn latest(&self, stream_arn: &str, shard_id: &str) -> Result<Option<u128>, AwsError>;
}
