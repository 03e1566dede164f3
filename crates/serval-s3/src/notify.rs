//! Event notifications: a bucket's `NotificationConfiguration` (queues,
//! topics, Lambda functions with event patterns and prefix/suffix filters;
//! EventBridge) decides which deliveries a write produces. They are written
//! to the `s3_outbox` keyspace in the same store batch as the write itself,
//! so none is lost across a crash, and a background task hands them to the
//! [`serval_core::EventSink`], retrying with back-off.

use crate::error::{self, Result};
use crate::model::{self, BucketMeta, ObjectMeta};
use crate::xml::parse;
use serde::{Deserialize, Serialize};
use serval_core::{Delivery, RequestContext};
use serval_store::Op;
use std::sync::Arc;
use std::time::Duration;

/// One target of a notification configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Configuration id.
    pub id: String,
    /// Queue, topic or function ARN.
    pub arn: String,
    /// Event patterns (`s3:ObjectCreated:*`).
    pub events: Vec<String>,
    /// Key prefix filter.
    pub prefix: String,
    /// Key suffix filter.
    pub suffix: String,
}

/// A parsed configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Queue, topic and function targets.
    pub targets: Vec<Target>,
    /// Whether every event also goes to EventBridge.
    pub eventbridge: bool,
}

/// Parses a `NotificationConfiguration` document.
pub fn parse_config(doc: &str) -> Result<Config> {
    let root = parse(doc.as_bytes()).ok_or_else(error::malformed_xml)?;
    let mut cfg = Config {
        eventbridge: root.child("EventBridgeConfiguration").is_some(),
        ..Default::default()
    };
    for (el, arn_el) in [
        ("QueueConfiguration", "Queue"),
        ("TopicConfiguration", "Topic"),
        ("CloudFunctionConfiguration", "CloudFunction"),
    ] {
        for c in root.all(el) {
            let arn = c.text_of(arn_el).unwrap_or("").to_string();
            if arn.is_empty() {
                return Err(error::invalid_argument(
                    "The ARN is not well formed",
                    arn_el,
                    "",
                ));
            }
            let events: Vec<String> = c.all("Event").map(|e| e.text.trim().to_string()).collect();
            if events.is_empty() || events.iter().any(|e| !e.starts_with("s3:")) {
                return Err(error::invalid_argument(
                    "The event is not supported for notifications",
                    "Event",
                    events.first().map_or("", |s| s.as_str()),
                ));
            }
            let (mut prefix, mut suffix) = (String::new(), String::new());
            if let Some(key) = c.child("Filter").and_then(|f| f.child("S3Key")) {
                for r in key.all("FilterRule") {
                    let v = r.text_of("Value").unwrap_or("").to_string();
                    match r.text_of("Name").map(str::to_ascii_lowercase).as_deref() {
                        Some("prefix") => prefix = v,
                        Some("suffix") => suffix = v,
                        _ => {
                            return Err(error::invalid_argument(
                                "filter rule name must be either prefix or suffix",
                                "FilterRule",
                                "",
                            ))
                        }
                    }
                }
            }
            cfg.targets.push(Target {
                id: c
                    .text_of("Id")
                    .map_or_else(|| serval_core::ids::random_hex(8), str::to_string),
                arn,
                events,
                prefix,
                suffix,
            });
        }
    }
    Ok(cfg)
}

fn pattern_matches(pattern: &str, event: &str) -> bool {
    let p = pattern.trim_start_matches("s3:");
    match p.strip_suffix('*') {
        Some(stem) => event.starts_with(stem),
        None => p == event,
    }
}

/// A queued delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Queued {
    v: u32,
    target: String,
    body: String,
    #[serde(default)]
    eventbridge: bool,
    #[serde(default)]
    detail_type: String,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    attempts: u32,
}

fn url_key(key: &str) -> String {
    crate::ops::list::url_encode(key)
}

/// The S3 event record Lambda, SQS and SNS receive.
pub fn record(
    b: &BucketMeta,
    event: &str,
    meta: &ObjectMeta,
    seq: u64,
    now: u64,
    ctx: &RequestContext,
    config_id: &str,
) -> serde_json::Value {
    let mut object = serde_json::json!({
        "key": url_key(&meta.key),
        "sequencer": format!("{seq:018X}"),
    });
    if event.starts_with("ObjectCreated") {
        object["size"] = meta.size.into();
        object["eTag"] = meta.etag.trim_matches('"').into();
    }
    if meta.version_id != "null" && !meta.version_id.is_empty() {
        object["versionId"] = meta.version_id.clone().into();
    }
    serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": b.region,
        "eventTime": serval_core::time::iso8601(now),
        "eventName": event,
        "userIdentity": {"principalId": format!("AWS:{}", ctx.access_key_id)},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": ctx.request_id, "x-amz-id-2": ctx.request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": config_id,
            "bucket": {"name": b.name, "ownerIdentity": {"principalId": b.account}, "arn": format!("arn:aws:s3:::{}", b.name)},
            "object": object,
        }
    }]})
}

/// The outbox entries a write produces (empty when nothing listens).
pub fn outbox_ops(
    s3: &crate::S3,
    b: &BucketMeta,
    event: &str,
    meta: &ObjectMeta,
    seq: u64,
    ctx: &RequestContext,
) -> Vec<Op> {
    let Some(doc) = b.configs.get("notification") else {
        return Vec::new();
    };
    let Ok(cfg) = parse_config(doc) else {
        return Vec::new();
    };
    let now = s3.now();
    let mut out = Vec::new();
    let mut push = |q: Queued| {
        let key = format!("{:020}", s3.next_seq()).into_bytes();
        if let Ok(value) = serde_json::to_vec(&q) {
            out.push(Op::Put {
                ks: model::KS_OUTBOX,
                key,
                value,
            });
        }
    };
    for t in &cfg.targets {
        if !t.events.iter().any(|p| pattern_matches(p, event))
            || !meta.key.starts_with(&t.prefix)
            || !meta.key.ends_with(&t.suffix)
        {
            continue;
        }
        let rec = record(b, event, meta, seq, now, ctx, &t.id).to_string();
        push(Queued {
            v: 1,
            target: t.arn.clone(),
            body: rec,
            eventbridge: false,
            detail_type: String::new(),
            resources: Vec::new(),
            attempts: 0,
        });
    }
    if cfg.eventbridge {
        let detail_type = if event.starts_with("ObjectCreated") {
            "Object Created"
        } else {
            "Object Deleted"
        };
        let reason = match event {
            "ObjectCreated:Put" => "PutObject",
            "ObjectCreated:Copy" => "CopyObject",
            "ObjectCreated:CompleteMultipartUpload" => "CompleteMultipartUpload",
            "ObjectCreated:Post" => "PostObject",
            e if e.starts_with("LifecycleExpiration") => "Lifecycle Expiration",
            _ => "DeleteObject",
        };
        let mut object = serde_json::json!({"key": meta.key, "sequencer": format!("{seq:018X}")});
        if event.starts_with("ObjectCreated") {
            object["size"] = meta.size.into();
            object["etag"] = meta.etag.trim_matches('"').into();
        }
        if meta.version_id != "null" && !meta.version_id.is_empty() {
            object["version-id"] = meta.version_id.clone().into();
        }
        let detail = serde_json::json!({
            "version": "0",
            "bucket": {"name": b.name},
            "object": object,
            "request-id": ctx.request_id,
            "requester": b.account,
            "source-ip-address": "127.0.0.1",
            "reason": reason,
        });
        push(Queued {
            v: 1,
            target: format!(
                "arn:aws:events:{}:{}:event-bus/default",
                b.region, b.account
            ),
            body: detail.to_string(),
            eventbridge: true,
            detail_type: detail_type.to_string(),
            resources: vec![format!("arn:aws:s3:::{}", b.name)],
            attempts: 0,
        });
    }
    out
}

/// Attempts before a delivery is dropped (with a warning): about a day of back-off.
const MAX_ATTEMPTS: u32 = 20;

/// Starts the deliverer: it drains the outbox whenever a write wakes it
/// (and every second, for retries and entries left by a previous run).
pub fn spawn(s3: &Arc<crate::S3>) {
    let me = Arc::downgrade(s3);
    tokio::spawn(async move {
        let mut not_before: std::collections::HashMap<Vec<u8>, std::time::Instant> =
            Default::default();
        loop {
            let Some(s3) = me.upgrade() else { return };
            let Some(sink) = s3.sink.get().cloned() else {
                drop(s3);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let rows = s3
                .store
                .scan(model::KS_OUTBOX, b"", None, 256)
                .unwrap_or_default();
            for (key, value) in rows {
                if not_before
                    .get(&key)
                    .is_some_and(|t| *t > std::time::Instant::now())
                {
                    continue;
                }
                let Ok(mut q) = serde_json::from_slice::<Queued>(&value) else {
                    s3.store.write_detached(vec![Op::Delete {
                        ks: model::KS_OUTBOX,
                        key,
                    }]);
                    continue;
                };
                let mut d = Delivery::new(q.target.clone(), q.body.clone());
                if q.eventbridge {
                    d.source = "aws.s3".into();
                    d.detail_type = q.detail_type.clone();
                    d.resources = q.resources.clone();
                } else if d.service() == "sns" {
                    d.source = "Amazon S3 Notification".into();
                }
                match sink.deliver(d).await {
                    Ok(()) => {
                        not_before.remove(&key);
                        let _ = s3
                            .store
                            .write(vec![Op::Delete {
                                ks: model::KS_OUTBOX,
                                key,
                            }])
                            .await;
                    }
                    Err(e) => {
                        q.attempts += 1;
                        if q.attempts >= MAX_ATTEMPTS {
                            tracing::warn!(target = %q.target, error = %e, "s3: dropping notification after retries");
                            not_before.remove(&key);
                            let _ = s3
                                .store
                                .write(vec![Op::Delete {
                                    ks: model::KS_OUTBOX,
                                    key,
                                }])
                                .await;
                        } else {
                            let wait = Duration::from_secs(1u64 << q.attempts.min(12));
                            tracing::debug!(target = %q.target, error = %e, "s3: notification failed; retrying");
                            not_before.insert(key.clone(), std::time::Instant::now() + wait);
                            if let Ok(v) = serde_json::to_vec(&q) {
                                let _ = s3
                                    .store
                                    .write(vec![Op::Put {
                                        ks: model::KS_OUTBOX,
                                        key,
                                        value: v,
                                    }])
                                    .await;
                            }
                        }
                    }
                }
            }
            let s3b = s3.clone();
            drop(s3);
            let _ = tokio::time::timeout(Duration::from_secs(1), s3b.outbox_wake.notified()).await;
            drop(s3b);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_configuration_and_matches() {
        let doc = r#"<NotificationConfiguration><QueueConfiguration><Id>q</Id><Queue>arn:aws:sqs:us-east-1:000000000000:q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule><FilterRule><Name>Suffix</Name><Value>.txt</Value></FilterRule></S3Key></Filter></QueueConfiguration><EventBridgeConfiguration/></NotificationConfiguration>"#;
        let c = parse_config(doc).expect("parses");
        assert!(c.eventbridge);
        assert_eq!(c.targets[0].prefix, "in/");
        assert_eq!(c.targets[0].suffix, ".txt");
        assert!(pattern_matches("s3:ObjectCreated:*", "ObjectCreated:Put"));
        assert!(!pattern_matches("s3:ObjectRemoved:*", "ObjectCreated:Put"));
        assert!(pattern_matches(
            "s3:ObjectRemoved:Delete",
            "ObjectRemoved:Delete"
        ));
    }
}
