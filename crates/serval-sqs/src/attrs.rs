//! Queue attributes: the names SQS knows, their defaults, the checks on
//! values a caller sets, and the typed view the message path reads.

use crate::error::{Kind, Result, SqsError};
use crate::names;
use std::collections::BTreeMap;

/// Attributes a caller may set (CreateQueue, SetQueueAttributes).
pub const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes GetQueueAttributes computes.
pub const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

const FIFO_ONLY: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// The attributes a new queue starts with.
pub fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "262144"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("VisibilityTimeout", "30"),
        ("SqsManagedSseEnabled", "true"),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    if fifo {
        for (k, v) in [
            ("FifoQueue", "true"),
            ("ContentBasedDeduplication", "false"),
            ("DeduplicationScope", "queue"),
            ("FifoThroughputLimit", "perQueue"),
        ] {
            m.insert(k.to_string(), v.to_string());
        }
    }
    m
}

fn bad_value(name: &str) -> SqsError {
    SqsError::new(
        Kind::InvalidAttributeValue,
        format!("Invalid value for the parameter {name}."),
    )
}

fn int_in(name: &str, v: &str, lo: i64, hi: i64) -> Result<String> {
    match v.trim().parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n.to_string()),
        _ => Err(bad_value(name)),
    }
}

fn boolean(name: &str, v: &str) -> Result<String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok("true".into()),
        "false" => Ok("false".into()),
        _ => Err(bad_value(name)),
    }
}

/// A parsed RedrivePolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    /// ARN of the dead-letter queue.
    pub dlq_arn: String,
    /// Receives after which a message moves there.
    pub max_receive_count: u32,
}

/// Reads a RedrivePolicy document (`maxReceiveCount` may be a number or a string).
pub fn parse_redrive(v: &str) -> Result<Redrive> {
    let bad = |why: &str| {
        SqsError::new(
            Kind::InvalidAttributeValue,
            format!("Value {v} for parameter RedrivePolicy is invalid. Reason: {why}"),
        )
    };
    let doc: serde_json::Value = serde_json::from_str(v).map_err(|_| bad("Invalid JSON."))?;
    let arn = doc
        .get("deadLetterTargetArn")
        .and_then(|a| a.as_str())
        .ok_or_else(|| {
            bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        })?;
    let count = match doc.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| bad("Redrive policy does not contain mandatory attribute: maxReceiveCount."))?;
    if !(1..=1000).contains(&count) {
        return Err(bad(
            "Invalid value for maxReceiveCount: must be between 1 and 1000.",
        ));
    }
    if names::parse_arn(arn).is_none() {
        return Err(bad("Invalid value for deadLetterTargetArn."));
    }
    Ok(Redrive {
        dlq_arn: arn.to_string(),
        max_receive_count: count as u32,
    })
}

/// Checks and normalizes attributes being set on a queue that is (`fifo`)
/// or is not FIFO; `creating` allows `FifoQueue`.
pub fn validate(
    input: &BTreeMap<String, String>,
    fifo: bool,
    creating: bool,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, value) in input {
        if !SETTABLE.contains(&name.as_str()) || (!fifo && FIFO_ONLY.contains(&name.as_str())) {
            return Err(SqsError::new(
                Kind::InvalidAttributeName,
                format!("Unknown Attribute {name}."),
            ));
        }
        let v = value.as_str();
        let norm = match name.as_str() {
            "DelaySeconds" => int_in(name, v, 0, 900)?,
            "MaximumMessageSize" => int_in(name, v, 1024, 1_048_576)?,
            "MessageRetentionPeriod" => int_in(name, v, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => int_in(name, v, 0, 20)?,
            "VisibilityTimeout" => int_in(name, v, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => int_in(name, v, 60, 86_400)?,
            "SqsManagedSseEnabled" | "ContentBasedDeduplication" => boolean(name, v)?,
            "FifoQueue" => {
                let b = boolean(name, v)?;
                // FifoQueue is fixed at creation; a standard queue may say false.
                if !creating && b == "true" && !fifo {
                    return Err(bad_value(name));
                }
                if b == "false" && fifo {
                    return Err(bad_value(name));
                }
                if b == "false" {
                    continue;
                }
                b
            }
            "DeduplicationScope" => match v {
                "messageGroup" | "queue" => v.to_string(),
                _ => return Err(bad_value(name)),
            },
            "FifoThroughputLimit" => match v {
                "perQueue" | "perMessageGroupId" => v.to_string(),
                _ => return Err(bad_value(name)),
            },
            "RedrivePolicy" => {
                if v.is_empty() {
                    String::new()
                } else {
                    let r = parse_redrive(v)?;
                    serde_json::json!({
                        "deadLetterTargetArn": r.dlq_arn,
                        "maxReceiveCount": r.max_receive_count,
                    })
                    .to_string()
                }
            }
            "RedriveAllowPolicy" => {
                if !v.is_empty() {
                    let doc: serde_json::Value =
                        serde_json::from_str(v).map_err(|_| bad_value(name))?;
                    let perm = doc.get("redrivePermission").and_then(|p| p.as_str());
                    if !matches!(perm, Some("allowAll" | "denyAll" | "byQueue")) {
                        return Err(bad_value(name));
                    }
                }
                v.to_string()
            }
            "Policy" => {
                if !v.is_empty() && serde_json::from_str::<serde_json::Value>(v).is_err() {
                    return Err(bad_value(name));
                }
                v.to_string()
            }
            _ => v.to_string(),
        };
        out.insert(name.clone(), norm);
    }
    if out.get("FifoThroughputLimit").map(String::as_str) == Some("perMessageGroupId")
        && out.get("DeduplicationScope").map(String::as_str) == Some("queue")
    {
        return Err(SqsError::new(
            Kind::InvalidAttributeValue,
            "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is allowed only when the value for DeduplicationScope is messageGroup.",
        ));
    }
    Ok(out)
}

/// The attributes the message path reads, parsed once per change.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// DelaySeconds.
    pub delay: u32,
    /// MaximumMessageSize.
    pub max_size: u32,
    /// MessageRetentionPeriod.
    pub retention: u32,
    /// ReceiveMessageWaitTimeSeconds.
    pub wait: u32,
    /// VisibilityTimeout.
    pub visibility: u32,
    /// FifoQueue.
    pub fifo: bool,
    /// ContentBasedDeduplication.
    pub content_dedup: bool,
    /// DeduplicationScope is messageGroup.
    pub dedup_per_group: bool,
    /// RedrivePolicy.
    pub redrive: Option<Redrive>,
}

impl Config {
    /// The typed view of an attribute map.
    pub fn of(attrs: &BTreeMap<String, String>) -> Config {
        let int = |k: &str, d: u32| {
            attrs
                .get(k)
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(d)
        };
        Config {
            delay: int("DelaySeconds", 0),
            max_size: int("MaximumMessageSize", 262_144),
            retention: int("MessageRetentionPeriod", 345_600),
            wait: int("ReceiveMessageWaitTimeSeconds", 0),
            visibility: int("VisibilityTimeout", 30),
            fifo: attrs.get("FifoQueue").map(String::as_str) == Some("true"),
            content_dedup: attrs.get("ContentBasedDeduplication").map(String::as_str)
                == Some("true"),
            dedup_per_group: attrs.get("DeduplicationScope").map(String::as_str)
                == Some("messageGroup"),
            redrive: attrs
                .get("RedrivePolicy")
                .filter(|v| !v.is_empty())
                .and_then(|v| parse_redrive(v).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn validates_ranges_and_names() {
        assert!(validate(&m(&[("DelaySeconds", "900")]), false, true).is_ok());
        assert_eq!(
            validate(&m(&[("DelaySeconds", "901")]), false, true)
                .unwrap_err()
                .kind,
            Kind::InvalidAttributeValue
        );
        assert_eq!(
            validate(&m(&[("Bogus", "1")]), false, true)
                .unwrap_err()
                .kind,
            Kind::InvalidAttributeName
        );
        assert_eq!(
            validate(&m(&[("ContentBasedDeduplication", "true")]), false, true)
                .unwrap_err()
                .kind,
            Kind::InvalidAttributeName
        );
        assert!(validate(&m(&[("ContentBasedDeduplication", "true")]), true, true).is_ok());
        let r = validate(
            &m(&[(
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":"3"}"#,
            )]),
            false,
            true,
        )
        .unwrap();
        assert_eq!(
            r["RedrivePolicy"],
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":3}"#
        );
        let c = Config::of(&r);
        assert_eq!(c.redrive.unwrap().max_receive_count, 3);
    }

    #[test]
    fn defaults_are_aws_defaults() {
        let d = defaults(false);
        let c = Config::of(&d);
        assert_eq!(
            (c.visibility, c.retention, c.max_size, c.delay),
            (30, 345_600, 262_144, 0)
        );
        assert!(!c.fifo);
        assert!(Config::of(&defaults(true)).fifo);
    }
}
