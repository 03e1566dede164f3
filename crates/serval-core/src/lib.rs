//! Shared vocabulary of Serval: request context (account, region), AWS-shaped
//! errors, ids and ARNs, the clock, and the traits services use to reach each
//! other. It owns no I/O and depends on no other Serval crate.

pub mod clock;
pub mod error;
pub mod events;
pub mod ids;
pub mod invoke;
pub mod objects;
pub mod pattern;
pub mod queues;
pub mod streams;
pub mod time;

pub use clock::{Clock, ScaledClock, SystemClock};
pub use error::{AwsError, ErrorKind};
pub use events::{Delivery, EventSink};
pub use invoke::{CallFuture, FunctionUrlTarget, InvokeRequest, InvokeResponse, Invoker, LogSink};
pub use objects::Objects;
pub use queues::{
    MessageAttribute, QueueInfo, Queues, ReceiveMessages, ReceivedMessage, SendMessage, SentMessage,
};
pub use streams::{StreamReader, StreamRecord, StreamShard};

/// The account used when the access key id is not a 12-digit number.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region used when the request names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Who is calling and where: resolved by the edge from the SigV4 credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// 12-digit account id.
    pub account_id: String,
    /// Region from the credential scope, e.g. `us-east-1`.
    pub region: String,
    /// The access key id the caller signed with.
    pub access_key_id: String,
    /// Request id assigned by the edge (echoed in `x-amzn-RequestId`).
    pub request_id: String,
}

impl RequestContext {
    /// A context for the default account and region (tests, internal calls).
    pub fn default_for_tests() -> Self {
        Self {
            account_id: DEFAULT_ACCOUNT.to_string(),
            region: DEFAULT_REGION.to_string(),
            access_key_id: "test".to_string(),
            request_id: ids::request_id(),
        }
    }

    /// Maps an access key id to an account: a 12-digit key is the account.
    pub fn account_for_key(access_key_id: &str) -> String {
        if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()) {
            access_key_id.to_string()
        } else {
            DEFAULT_ACCOUNT.to_string()
        }
    }
}

/// Serval's own endpoint, as functions and services should reach it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// e.g. `http://127.0.0.1:4566`
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_key_is_the_account() {
        assert_eq!(
            RequestContext::account_for_key("123456789012"),
            "123456789012"
        );
        assert_eq!(
            RequestContext::account_for_key("AKIAEXAMPLE"),
            DEFAULT_ACCOUNT
        );
        assert_eq!(
            RequestContext::account_for_key("12345678901a"),
            DEFAULT_ACCOUNT
        );
    }
}

/// A permission AddPermission records on a queue or topic (SQS and SNS):
/// who may do what, under a label.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Permission {
    /// The label (the statement id).
    pub label: String,
    /// Accounts granted.
    pub accounts: Vec<String>,
    /// Actions granted.
    pub actions: Vec<String>,
}
