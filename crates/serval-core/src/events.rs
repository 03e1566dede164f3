//! How services hand events to each other's resources without importing
//! each other: [`EventSink`] delivers a message to whatever an ARN names (an
//! SQS queue, an SNS topic, an EventBridge bus, a Lambda function). Lambda's
//! destinations and dead-letter queues use it; the binary implements it by
//! routing on the ARN's service.

use crate::invoke::CallFuture;

/// A message attribute: name, data type (`String` or `Number`) and value.
pub type MessageAttribute = (String, &'static str, String);

/// One message for a resource named by ARN.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The resource: `arn:aws:sqs:...`, `arn:aws:sns:...`,
    /// `arn:aws:events:...:event-bus/...` or `arn:aws:lambda:...:function:...`.
    pub target_arn: String,
    /// The message body (SQS, SNS), event detail (EventBridge) or payload
    /// (Lambda, invoked asynchronously).
    pub body: String,
    /// Message attributes (SQS and SNS only).
    pub attributes: Vec<MessageAttribute>,
    /// EventBridge only: the event's `source`.
    pub source: String,
    /// EventBridge only: the event's `detail-type`.
    pub detail_type: String,
    /// EventBridge only: the event's `resources`.
    pub resources: Vec<String>,
}

impl Delivery {
    /// A plain message for `target_arn`.
    pub fn new(target_arn: impl Into<String>, body: impl Into<String>) -> Self {
        Delivery {
            target_arn: target_arn.into(),
            body: body.into(),
            attributes: Vec::new(),
            source: String::new(),
            detail_type: String::new(),
            resources: Vec::new(),
        }
    }

    /// The service part of the target ARN (`sqs`, `sns`, `events`, `lambda`).
    pub fn service(&self) -> &str {
        self.target_arn.split(':').nth(2).unwrap_or_default()
    }
}

/// Delivers messages to resources by ARN.
pub trait EventSink: Send + Sync + 'static {
    /// Delivers one message; `Err` when the target does not exist or
    /// cannot take it (the caller decides whether to retry).
    fn deliver(&self, delivery: Delivery) -> CallFuture<'_, ()>;
}
