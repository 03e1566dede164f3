//! Publish and PublishBatch: checking a message, FIFO deduplication, and
//! the fan-out into one durable delivery job per subscription whose filter
//! policy matches, committed before the answer.

use super::{PublishBatchIn, PublishIn};
use crate::error::{invalid, no_topic, Kind, Result, SnsError};
use crate::filter::{Attr, Scope};
use crate::message::{self, MsgAttr, Notification};
use crate::store::{self, Job, JobKind, TopicRecord};
use crate::{Sns, State};
use serde_json::{json, Value as Json};
use serval_core::RequestContext;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// Largest message (body and attributes), as SNS.
pub const MAX_SIZE: usize = 262_144;
/// How long a FIFO deduplication id is remembered (platform ms).
const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

/// What Publish answers.
#[derive(Debug, Clone)]
pub struct Published {
    /// MessageId.
    pub message_id: String,
    /// FIFO topics: SequenceNumber.
    pub sequence_number: Option<String>,
}

fn check_subject(s: &str) -> Result<()> {
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(|c| c.is_control()) || !s.is_ascii()
    {
        return Err(invalid("Subject"));
    }
    Ok(())
}

/// The topic a Publish names (TopicArn or TargetArn).
fn target(i: &PublishIn) -> Result<Option<String>> {
    match (&i.topic_arn, &i.target_arn, &i.phone_number) {
        (Some(_), Some(_), _) => Err(invalid(
            "TopicArn Reason: Both TopicArn and TargetArn specified. Use only one or the other",
        )),
        (Some(t), None, _) | (None, Some(t), _) => Ok(Some(t.clone())),
        (None, None, Some(_)) => Ok(None),
        (None, None, None) => Err(invalid(
            "TopicArn or TargetArn Reason: no value for required parameter",
        )),
    }
}

/// Checks one message against its topic and turns it into jobs (under the
/// state lock, so the subscriptions seen are those of this instant).
fn accept(
    sns: &Sns,
    st: &State,
    topic: &TopicRecord,
    i: &PublishIn,
    now: u64,
) -> Result<(Published, Vec<Job>)> {
    if i.message.is_empty() {
        return Err(invalid("Empty message"));
    }
    if let Some(s) = &i.subject {
        check_subject(s)?;
    }
    let structure = match i.message_structure.as_deref() {
        None | Some("") => None,
        Some("json") => Some(message::parse_structure(&i.message)?),
        Some(_) => return Err(invalid("MessageStructure")),
    };
    let attrs = message::check_attributes(&i.message_attributes)?;
    if message::size_of(&i.message, &attrs) > MAX_SIZE {
        return Err(invalid("Message too long"));
    }
    let fifo = topic.fifo();
    let mut dedup_id = None;
    if fifo {
        let Some(g) = i.message_group_id.as_deref().filter(|g| !g.is_empty()) else {
            return Err(invalid(
                "The MessageGroupId parameter is required for FIFO topics",
            ));
        };
        if g.len() > 128 {
            return Err(invalid("MessageGroupId"));
        }
        dedup_id = match i.message_deduplication_id.as_deref() {
            Some(d) if !d.is_empty() => {
                if d.len() > 128 {
                    return Err(invalid("MessageDeduplicationId"));
                }
                Some(d.to_string())
            }
            _ if topic.content_dedup() => {
                Some(serval_core::ids::hex(&Sha256::digest(i.message.as_bytes())))
            }
            _ => {
                return Err(invalid(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ))
            }
        };
    } else {
        if i.message_group_id.is_some() {
            return Err(invalid(
                "MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type",
            ));
        }
        if i.message_deduplication_id.is_some() {
            return Err(invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
    }
    if let Some(d) = &dedup_id {
        let mut dedup = sns.dedup.lock().unwrap_or_else(|p| p.into_inner());
        let key = (topic.arn.clone(), d.clone());
        if let Some((expires, id, seq)) = dedup.get(&key) {
            if *expires > now {
                return Ok((
                    Published {
                        message_id: id.clone(),
                        sequence_number: Some(seq.clone()),
                    },
                    Vec::new(),
                ));
            }
        }
        if dedup.len() > 10_000 {
            dedup.retain(|_, (e, _, _)| *e > now);
        }
        let id = serval_core::ids::uuid_v4();
        let seq = format!("{:020}", sns.next_seq());
        dedup.insert(key, (now + DEDUP_WINDOW_MS, id.clone(), seq.clone()));
        drop(dedup);
        return fan_out(
            sns,
            st,
            topic,
            i,
            &attrs,
            structure.as_ref(),
            now,
            id,
            Some(seq),
            dedup_id,
        );
    }
    fan_out(
        sns,
        st,
        topic,
        i,
        &attrs,
        structure.as_ref(),
        now,
        serval_core::ids::uuid_v4(),
        None,
        None,
    )
}

#[allow(clippy::too_many_arguments)]
fn fan_out(
    sns: &Sns,
    st: &State,
    topic: &TopicRecord,
    i: &PublishIn,
    attrs: &BTreeMap<String, MsgAttr>,
    structure: Option<&serde_json::Map<String, Json>>,
    now: u64,
    id: String,
    sequence_number: Option<String>,
    dedup_id: Option<String>,
) -> Result<(Published, Vec<Job>)> {
    let view: BTreeMap<String, Attr<'_>> = attrs
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                Attr {
                    data_type: &a.data_type,
                    value: a.string_value.as_deref(),
                },
            )
        })
        .collect();
    let mut jobs = Vec::new();
    for sub in st
        .subs
        .values()
        .filter(|s| s.rec.topic_arn == topic.arn && s.rec.confirmed)
    {
        let text = match structure {
            Some(s) => message::for_protocol(s, &sub.rec.protocol),
            None => i.message.clone(),
        };
        if let Some((policy, scope)) = &sub.filter {
            let ok = match scope {
                Scope::MessageAttributes => policy.matches_attributes(&view),
                Scope::MessageBody => policy.matches_body(&text),
            };
            if !ok {
                continue;
            }
        }
        let lane = topic.fifo().then(|| {
            format!(
                "{}|{}",
                sub.rec.arn,
                i.message_group_id.as_deref().unwrap_or_default()
            )
        });
        jobs.push(Job {
            v: 1,
            seq: sns.next_seq(),
            sub: sub.rec.arn.clone(),
            topic: topic.arn.clone(),
            protocol: sub.rec.protocol.clone(),
            endpoint: sub.rec.endpoint.clone(),
            attempts: 0,
            due: now,
            lane,
            kind: JobKind::Notify {
                n: Notification {
                    id: id.clone(),
                    topic_arn: topic.arn.clone(),
                    subject: i.subject.clone(),
                    message: text,
                    timestamp: now,
                    attributes: attrs.clone(),
                    group_id: i.message_group_id.clone(),
                    dedup_id: dedup_id.clone(),
                    sequence_number: sequence_number.clone(),
                },
            },
        });
    }
    Ok((
        Published {
            message_id: id,
            sequence_number,
        },
        jobs,
    ))
}

/// Publish.
pub async fn publish(sns: &Sns, ctx: &RequestContext, i: PublishIn) -> Result<Published> {
    let Some(topic_arn) = target(&i)? else {
        // SMS to a phone number: accepted, not delivered (Serval sends no SMS).
        if i.message.is_empty() {
            return Err(invalid("Empty message"));
        }
        return Ok(Published {
            message_id: serval_core::ids::uuid_v4(),
            sequence_number: None,
        });
    };
    let now = sns.now();
    let (out, pending) = {
        let st = sns.lock();
        if i.target_arn.is_some()
            && crate::parse_topic_arn(&topic_arn).is_some_and(|p| p.name.contains('/'))
        {
            return Err(SnsError::new(Kind::NotFound, "Endpoint does not exist"));
        }
        sns.check_topic_arn(
            &st,
            ctx,
            &topic_arn,
            "Publish",
            if i.target_arn.is_some() {
                "TargetArn"
            } else {
                "TopicArn"
            },
        )?;
        let topic = st.topics.get(&topic_arn).ok_or_else(no_topic)?;
        let (out, jobs) = accept(sns, &st, topic, &i, now)?;
        let pending = if jobs.is_empty() {
            None
        } else {
            let ops = jobs.iter().map(store::put_job).collect();
            let p = sns.store.submit(ops)?;
            for j in jobs {
                sns.engine.push(j);
            }
            Some(p)
        };
        (out, pending)
    };
    if let Some(p) = pending {
        p.wait().await?;
        sns.engine.wake();
    }
    Ok(out)
}

fn valid_entry_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// PublishBatch: up to 10 entries, each succeeding or failing on its own.
pub async fn publish_batch(sns: &Sns, ctx: &RequestContext, i: PublishBatchIn) -> Result<Json> {
    let entries = &i.publish_batch_request_entries;
    if entries.is_empty() {
        return Err(SnsError::new(
            Kind::EmptyBatchRequest,
            "The batch request doesn't contain any entries.",
        ));
    }
    if entries.len() > 10 {
        return Err(SnsError::new(
            Kind::TooManyEntriesInBatchRequest,
            "The batch request contains more entries than permissible.",
        ));
    }
    let mut seen = HashSet::new();
    for e in entries {
        let id = e.id.clone().unwrap_or_default();
        if !seen.insert(id.clone()) {
            return Err(SnsError::new(
                Kind::BatchEntryIdsNotDistinct,
                "Two or more batch entries in the request have the same Id.",
            ));
        }
        if !valid_entry_id(&id) {
            return Err(SnsError::new(
                Kind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
    }
    let total: usize = entries
        .iter()
        .map(|e| {
            e.message.len()
                + e.message_attributes
                    .iter()
                    .map(|(k, a)| {
                        k.len()
                            + a.data_type.len()
                            + a.string_value.as_deref().map_or(0, str::len)
                            + a.binary_value.as_deref().map_or(0, str::len)
                    })
                    .sum::<usize>()
        })
        .sum();
    if total > MAX_SIZE {
        return Err(SnsError::new(
            Kind::BatchRequestTooLong,
            "The length of all the messages put together is more than the limit.",
        ));
    }
    let now = sns.now();
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    let pending = {
        let st = sns.lock();
        sns.check_topic_arn(&st, ctx, &i.topic_arn, "Publish", "TopicArn")?;
        let topic = st.topics.get(&i.topic_arn).ok_or_else(no_topic)?;
        let mut all_jobs = Vec::new();
        for e in entries {
            let id = e.id.clone().unwrap_or_default();
            match accept(sns, &st, topic, e, now) {
                Ok((out, jobs)) => {
                    let mut m = serde_json::Map::new();
                    m.insert("Id".into(), id.into());
                    m.insert("MessageId".into(), out.message_id.into());
                    if let Some(s) = out.sequence_number {
                        m.insert("SequenceNumber".into(), s.into());
                    }
                    successful.push(Json::Object(m));
                    all_jobs.extend(jobs);
                }
                Err(err) => failed.push(json!({
                    "Id": id,
                    "Code": err.kind.code(),
                    "Message": err.message,
                    "SenderFault": err.kind != Kind::Internal,
                })),
            }
        }
        if all_jobs.is_empty() {
            None
        } else {
            let ops = all_jobs.iter().map(store::put_job).collect();
            let p = sns.store.submit(ops)?;
            for j in all_jobs {
                sns.engine.push(j);
            }
            Some(p)
        }
    };
    if let Some(p) = pending {
        p.wait().await?;
        sns.engine.wake();
    }
    Ok(json!({ "Successful": successful, "Failed": failed }))
}
