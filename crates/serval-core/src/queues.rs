//! How services reach SQS without importing it: the [`Queues`] trait,
//! implemented by `serval-sqs` and handed to other services by the binary
//! (SNS delivery, Lambda dead-letter queues and destinations, event source
//! mappings that poll queues). Queues are named by ARN
//! (`arn:aws:sqs:<region>:<account>:<name>`); the account and region come
//! from the ARN, so a caller acts on behalf of whoever configured it.

use crate::invoke::CallFuture;
use std::collections::BTreeMap;
use std::time::Duration;

/// A message attribute as SQS carries it (`DataType` is `String`, `Number`
/// or `Binary`, optionally with a `.label`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    /// `String`, `Number`, `Binary`, or one of them with a custom label.
    pub data_type: String,
    /// The value of a `String` or `Number` attribute.
    pub string_value: Option<String>,
    /// The value of a `Binary` attribute (raw bytes, not base64).
    pub binary_value: Option<Vec<u8>>,
}

/// A message to put on a queue.
#[derive(Debug, Clone, Default)]
pub struct SendMessage {
    /// The queue's ARN.
    pub queue_arn: String,
    /// The body (1 byte to the queue's MaximumMessageSize, with attributes).
    pub body: String,
    /// Message attributes (at most 10).
    pub message_attributes: BTreeMap<String, MessageAttribute>,
    /// The X-Ray trace header (`AWSTraceHeader` system attribute), if any.
    pub trace_header: Option<String>,
    /// FIFO queues: the message group (required there, refused elsewhere).
    pub group_id: Option<String>,
    /// FIFO queues: the deduplication id (else content-based, when enabled).
    pub dedup_id: Option<String>,
    /// Seconds before the message becomes visible (standard queues only);
    /// `None` takes the queue's DelaySeconds.
    pub delay_seconds: Option<u32>,
}

/// What SQS answered to a send.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The message id (a UUID), the same one a duplicate FIFO send gets.
    pub message_id: String,
    /// FIFO queues: the message's sequence number.
    pub sequence_number: Option<String>,
    /// Hex MD5 of the body.
    pub md5_of_body: String,
    /// Hex MD5 of the message attributes (SQS's algorithm), when there are any.
    pub md5_of_message_attributes: Option<String>,
}

/// A receive on behalf of another service (an event source mapping's poll).
#[derive(Debug, Clone)]
pub struct ReceiveMessages {
    /// The queue's ARN.
    pub queue_arn: String,
    /// 1 to 10.
    pub max_messages: u32,
    /// Seconds the received messages stay invisible; `None` takes the queue's.
    pub visibility_timeout: Option<u32>,
    /// How long to wait for a first message when none is there (real time,
    /// like ReceiveMessage's WaitTimeSeconds; at most 20 s).
    pub wait: Duration,
}

/// A received message: enough to build Lambda's SQS event record.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// The message id.
    pub message_id: String,
    /// The receipt handle of this receive (for delete / change visibility).
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// Every system attribute (`ApproximateReceiveCount`, `SentTimestamp`,
    /// `SenderId`, `ApproximateFirstReceiveTimestamp`, and on FIFO queues
    /// `SequenceNumber`, `MessageGroupId`, `MessageDeduplicationId`; plus
    /// `AWSTraceHeader` and `DeadLetterQueueSourceArn` when set).
    pub attributes: BTreeMap<String, String>,
    /// The message attributes.
    pub message_attributes: BTreeMap<String, MessageAttribute>,
    /// Hex MD5 of the body.
    pub md5_of_body: String,
    /// Hex MD5 of the message attributes, when there are any.
    pub md5_of_message_attributes: Option<String>,
}

/// What other services need to know about a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// `arn:aws:sqs:<region>:<account>:<name>`.
    pub arn: String,
    /// The queue URL in the form this server hands out.
    pub url: String,
    /// The queue name.
    pub name: String,
    /// Owning account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Whether it is a FIFO queue.
    pub fifo: bool,
    /// The queue's VisibilityTimeout in seconds.
    pub visibility_timeout: u32,
    /// The queue's MaximumMessageSize in bytes.
    pub maximum_message_size: u32,
}

/// SQS for other services. Errors are SQS's own (`QueueDoesNotExist`,
/// `InvalidParameterValue`, `ReceiptHandleIsInvalid`, ...), with the code of
/// the JSON protocol's `__type` (without namespace).
pub trait Queues: Send + Sync + 'static {
    /// Sends one message; returns once it is durable.
    fn send(&self, msg: SendMessage) -> CallFuture<'_, SentMessage>;

    /// Receives up to `max_messages` messages, waiting up to `wait` for the first.
    fn receive(&self, req: ReceiveMessages) -> CallFuture<'_, Vec<ReceivedMessage>>;

    /// Deletes a received message by its receipt handle.
    fn delete(&self, queue_arn: String, receipt_handle: String) -> CallFuture<'_, ()>;

    /// Changes the visibility timeout of a received message (0 makes it visible now).
    fn change_visibility(
        &self,
        queue_arn: String,
        receipt_handle: String,
        visibility_timeout: u32,
    ) -> CallFuture<'_, ()>;

    /// The queue with this ARN, if it exists.
    fn queue(&self, queue_arn: &str) -> Option<QueueInfo>;
}
