//! How SNS sits in the store, and loading it at start.
//!
//! - `sns_topic`: topic ARN -> [`TopicRecord`] JSON
//! - `sns_sub`: subscription ARN -> [`SubRecord`] JSON
//! - `sns_job`: `<seq, 16 hex>` -> [`Job`] JSON (a delivery not yet done)
//! - `sns_mail`: `<seq, 16 hex>` -> [`Mail`] JSON (the local mailbox)

use crate::message::Notification;
use serde::{Deserialize, Serialize};
use serval_store::{Op, Store, StoreError};
use std::collections::BTreeMap;

/// Topics.
pub const KS_TOPICS: &str = "sns_topic";
/// Subscriptions.
pub const KS_SUBS: &str = "sns_sub";
/// Pending deliveries.
pub const KS_JOBS: &str = "sns_job";
/// The mailbox.
pub const KS_MAIL: &str = "sns_mail";

pub use serval_core::Permission;

/// A topic, version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicRecord {
    /// Record version (1).
    pub v: u32,
    /// ARN.
    pub arn: String,
    /// Owner.
    pub account: String,
    /// Region.
    pub region: String,
    /// Name.
    pub name: String,
    /// Creation, epoch ms.
    pub created: u64,
    /// Settable attributes as set.
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// AddPermission records.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// SubscriptionsDeleted.
    #[serde(default)]
    pub deleted_subs: u64,
}

impl TopicRecord {
    /// Whether it is a FIFO topic.
    pub fn fifo(&self) -> bool {
        self.attributes
            .get("FifoTopic")
            .is_some_and(|v| v == "true")
    }

    /// Whether content-based deduplication is on.
    pub fn content_dedup(&self) -> bool {
        self.attributes
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true")
    }
}

/// A subscription, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubRecord {
    /// Record version (1).
    pub v: u32,
    /// ARN (`<topic arn>:<uuid>`).
    pub arn: String,
    /// The topic.
    pub topic_arn: String,
    /// Owner account (the subscriber).
    pub owner: String,
    /// Region.
    pub region: String,
    /// Protocol.
    pub protocol: String,
    /// Endpoint.
    pub endpoint: String,
    /// Settable attributes as set.
    pub attributes: BTreeMap<String, String>,
    /// Whether it is confirmed.
    pub confirmed: bool,
    /// Confirmation token.
    pub token: String,
    /// Creation, epoch ms.
    pub created: u64,
}

/// What a job delivers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "k")]
pub enum JobKind {
    /// A published message.
    Notify {
        /// The message.
        n: Notification,
    },
    /// A SubscriptionConfirmation for an HTTP(S) endpoint.
    Confirm {
        /// Message id.
        id: String,
        /// The token.
        token: String,
        /// When asked, platform ms.
        ts: u64,
    },
}

/// A delivery to one subscription, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// Record version (1).
    pub v: u32,
    /// Sequence (key; delivery order).
    pub seq: u64,
    /// The subscription.
    pub sub: String,
    /// Its topic.
    pub topic: String,
    /// Protocol (at publish).
    pub protocol: String,
    /// Endpoint (at publish).
    pub endpoint: String,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before, platform ms.
    #[serde(default)]
    pub due: u64,
    /// FIFO: order lane (`<sub>|<group>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<String>,
    /// What to deliver.
    pub kind: JobKind,
}

/// One mail in the local mailbox, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mail {
    /// Record version (1).
    pub v: u32,
    /// Id (sequence).
    pub seq: u64,
    /// The message id.
    pub message_id: String,
    /// When, epoch ms.
    pub timestamp: u64,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// `confirmation` or `notification`.
    pub kind: String,
    /// The topic.
    pub topic_arn: String,
    /// The subscription.
    pub subscription_arn: String,
    /// Confirmation mails: the link that confirms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
    /// Confirmation mails: the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn seq_key(seq: u64) -> Vec<u8> {
    format!("{seq:016x}").into_bytes()
}

/// Writes a topic.
pub fn put_topic(t: &TopicRecord) -> Op {
    Op::Put {
        ks: KS_TOPICS,
        key: t.arn.clone().into_bytes(),
        value: serde_json::to_vec(t).unwrap_or_default(),
    }
}

/// Deletes a topic.
pub fn delete_topic(arn: &str) -> Op {
    Op::Delete {
        ks: KS_TOPICS,
        key: arn.as_bytes().to_vec(),
    }
}

/// Writes a subscription.
pub fn put_sub(s: &SubRecord) -> Op {
    Op::Put {
        ks: KS_SUBS,
        key: s.arn.clone().into_bytes(),
        value: serde_json::to_vec(s).unwrap_or_default(),
    }
}

/// Deletes a subscription.
pub fn delete_sub(arn: &str) -> Op {
    Op::Delete {
        ks: KS_SUBS,
        key: arn.as_bytes().to_vec(),
    }
}

/// Writes a job.
pub fn put_job(j: &Job) -> Op {
    Op::Put {
        ks: KS_JOBS,
        key: seq_key(j.seq),
        value: serde_json::to_vec(j).unwrap_or_default(),
    }
}

/// Deletes a job.
pub fn delete_job(seq: u64) -> Op {
    Op::Delete {
        ks: KS_JOBS,
        key: seq_key(seq),
    }
}

/// Writes a mail.
pub fn put_mail(m: &Mail) -> Op {
    Op::Put {
        ks: KS_MAIL,
        key: seq_key(m.seq),
        value: serde_json::to_vec(m).unwrap_or_default(),
    }
}

/// Every record of a keyspace, decoded (undecodable ones are logged and skipped).
pub fn load_all<T: serde::de::DeserializeOwned>(
    store: &Store,
    ks: &'static str,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(ks, b"", after.as_deref(), 1000)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, v) in &page {
            match serde_json::from_slice::<T>(v) {
                Ok(t) => out.push(t),
                Err(e) => tracing::warn!(
                    keyspace = ks,
                    key = %String::from_utf8_lossy(k),
                    error = %e,
                    "skipping an unreadable SNS record"
                ),
            }
        }
        if page.len() < 1000 {
            break;
        }
    }
    Ok(out)
}
