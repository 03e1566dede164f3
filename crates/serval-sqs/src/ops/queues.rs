//! Queue operations: create, look up, list, delete, attributes, purge, tags,
//! permissions, dead-letter sources.

use super::{
    AddPermissionIn, CreateQueueIn, DlqSourcesIn, GetAttrsIn, GetQueueUrlIn, ListQueuesIn,
    QueueUrlIn, RemovePermissionIn, SetAttrsIn, TagIn, UntagIn,
};
use crate::attrs::{self, Config};
use crate::error::{invalid, invalid_param, no_queue, Kind, Result, SqsError};
use crate::{names, store, Permission, Queue, QueueMeta, Sqs};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most tags a queue may carry.
const MAX_TAGS: usize = 50;

fn secs(ms: u64) -> u64 {
    ms / 1000
}

/// Checks a RedrivePolicy against the queues that exist: the dead-letter
/// queue must exist and be of the same type.
fn check_redrive(sqs: &Sqs, normalized: &BTreeMap<String, String>, fifo: bool) -> Result<()> {
    let Some(policy) = normalized.get("RedrivePolicy").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let r = attrs::parse_redrive(policy)?;
    let bad = |why: &str| {
        SqsError::new(
            Kind::InvalidParameterValue,
            format!("Value {policy} for parameter RedrivePolicy is invalid. Reason: {why}"),
        )
    };
    let dlq = sqs
        .by_arn(&r.dlq_arn)
        .ok_or_else(|| bad("Dead letter target does not exist."))?;
    if dlq.fifo != fifo {
        return Err(bad(
            "Dead-letter queue must be same type of queue as the source.",
        ));
    }
    Ok(())
}

/// CreateQueue. A queue of the same name with the same attributes answers
/// with its URL; different attributes are `QueueNameExists`.
///
/// AWS makes a caller wait 60 seconds after DeleteQueue before re-creating a
/// queue of the same name (`QueueDeletedRecently`); locally that wait helps
/// no one, so a deleted name can be used again at once.
pub async fn create(sqs: &Sqs, ctx: &RequestContext, i: CreateQueueIn) -> Result<Json> {
    let fifo = i
        .attributes
        .get("FifoQueue")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    names::check_name(&i.queue_name, fifo)?;
    let given = attrs::validate(&i.attributes, fifo, true)?;
    check_redrive(sqs, &given, fifo)?;
    if i.tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "Too many tags added for queue {}.",
            i.queue_name
        )));
    }
    if let Some(existing) = sqs.by_name(&ctx.account_id, &ctx.region, &i.queue_name) {
        let inner = existing.lock();
        for (k, v) in &given {
            if inner.meta.attributes.get(k) != Some(v) {
                return Err(SqsError::new(
                    Kind::QueueNameExists,
                    format!("A queue already exists with the same name and a different value for attribute {k}"),
                ));
            }
        }
        drop(inner);
        return Ok(json!({ "QueueUrl": sqs.url_of(&existing) }));
    }
    let now = secs(sqs.now());
    let mut attributes = attrs::defaults(fifo);
    for (k, v) in given {
        if !v.is_empty() {
            attributes.insert(k, v);
        }
    }
    let meta = QueueMeta {
        v: 1,
        uid: serval_core::ids::random_hex(8),
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name: i.queue_name.clone(),
        created: now,
        modified: now,
        attributes,
        tags: i.tags,
        permissions: Vec::new(),
    };
    let op = store::put_queue(&meta);
    let q = Queue::new(meta);
    let pending = {
        let mut map = sqs.write_queues();
        let key = (q.account.clone(), q.region.clone(), q.name.clone());
        if let Some(raced) = map.get(&key) {
            return Ok(json!({ "QueueUrl": sqs.url_of(raced) }));
        }
        map.insert(key, q.clone());
        sqs.store.submit(vec![op])?
    };
    pending.wait().await?;
    Ok(json!({ "QueueUrl": sqs.url_of(&q) }))
}

/// GetQueueUrl.
pub fn get_url(sqs: &Sqs, ctx: &RequestContext, i: GetQueueUrlIn) -> Result<Json> {
    let account = i.owner.unwrap_or_else(|| ctx.account_id.clone());
    let q = sqs
        .by_name(&account, &ctx.region, &i.queue_name)
        .ok_or_else(no_queue)?;
    Ok(json!({ "QueueUrl": sqs.url_of(&q) }))
}

fn page_size(max: Option<i64>) -> Result<Option<usize>> {
    match max {
        None => Ok(None),
        Some(n) if (1..=1000).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(invalid_param(
            n,
            "MaxResults",
            "MaxResults must be an integer between 1 and 1000.",
        )),
    }
}

/// Pages a sorted list of queues: at most `max` (1,000 without MaxResults),
/// after the name in `token`.
fn paginate(
    sqs: &Sqs,
    queues: Vec<Arc<Queue>>,
    token: Option<String>,
    max: Option<usize>,
    key: &str,
) -> Result<Json> {
    let after = match token {
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("Invalid NextToken value."))?,
        ),
        None => None,
    };
    let limit = max.unwrap_or(1000);
    let rest: Vec<&Arc<Queue>> = queues
        .iter()
        .filter(|q| after.as_ref().is_none_or(|a| q.name.as_str() > a.as_str()))
        .collect();
    let page: Vec<&Arc<Queue>> = rest.iter().take(limit).copied().collect();
    let mut out = Map::new();
    if !page.is_empty() {
        out.insert(
            key.into(),
            page.iter().map(|q| Json::from(sqs.url_of(q))).collect(),
        );
    }
    if max.is_some() && rest.len() > page.len() {
        if let Some(last) = page.last() {
            out.insert(
                "NextToken".into(),
                URL_SAFE_NO_PAD.encode(last.name.as_bytes()).into(),
            );
        }
    }
    Ok(Json::Object(out))
}

/// ListQueues.
pub fn list(sqs: &Sqs, ctx: &RequestContext, i: ListQueuesIn) -> Result<Json> {
    let max = page_size(i.max_results)?;
    let prefix = i.queue_name_prefix.unwrap_or_default();
    let queues: Vec<Arc<Queue>> = sqs
        .queues_of(&ctx.account_id, &ctx.region)
        .into_iter()
        .filter(|q| q.name.starts_with(&prefix))
        .collect();
    paginate(sqs, queues, i.next_token, max, "QueueUrls")
}

/// DeleteQueue: the queue and its messages go at once; long-polling
/// receivers on it return empty.
pub async fn delete(sqs: &Sqs, ctx: &RequestContext, i: QueueUrlIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let pending = {
        let mut map = sqs.write_queues();
        let key = (q.account.clone(), q.region.clone(), q.name.clone());
        if !map.get(&key).is_some_and(|cur| Arc::ptr_eq(cur, &q)) {
            return Err(no_queue());
        }
        map.remove(&key);
        let mut inner = q.lock();
        inner.st.deleted = true;
        inner.st.purge();
        sqs.store.submit(store::delete_queue(&inner.meta))?
    };
    q.notify.notify_waiters();
    pending.wait().await?;
    Ok(json!({}))
}

/// Every attribute name GetQueueAttributes knows.
fn known(name: &str) -> bool {
    name == "All" || attrs::SETTABLE.contains(&name) || attrs::COMPUTED.contains(&name)
}

/// GetQueueAttributes.
pub fn get_attributes(sqs: &Sqs, ctx: &RequestContext, i: GetAttrsIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    for n in &i.attribute_names {
        if !known(n) {
            return Err(SqsError::new(
                Kind::InvalidAttributeName,
                format!("Unknown Attribute {n}."),
            ));
        }
    }
    let all = i.attribute_names.iter().any(|n| n == "All");
    let wanted = |n: &str| all || i.attribute_names.iter().any(|a| a == n);
    let now = sqs.now();
    let mut out = Map::new();
    let mut inner = q.lock();
    inner.st.release(now);
    let gone = inner.st.expire(now);
    if !gone.is_empty() {
        sqs.store
            .write_detached(store::expiry_ops(&q.uid, &gone, &[]));
    }
    let (visible, inflight, delayed) = inner.st.counts();
    for (k, v) in &inner.meta.attributes {
        if wanted(k) {
            out.insert(k.clone(), v.clone().into());
        }
    }
    let computed = [
        ("ApproximateNumberOfMessages", visible.to_string()),
        (
            "ApproximateNumberOfMessagesNotVisible",
            inflight.to_string(),
        ),
        ("ApproximateNumberOfMessagesDelayed", delayed.to_string()),
        ("CreatedTimestamp", inner.meta.created.to_string()),
        ("LastModifiedTimestamp", inner.meta.modified.to_string()),
        ("QueueArn", q.arn.clone()),
    ];
    for (k, v) in computed {
        if wanted(k) {
            out.insert(k.into(), v.into());
        }
    }
    drop(inner);
    if out.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Attributes": out }))
}

/// SetQueueAttributes.
pub async fn set_attributes(sqs: &Sqs, ctx: &RequestContext, i: SetAttrsIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let given = attrs::validate(&i.attributes, q.fifo, false)?;
    check_redrive(sqs, &given, q.fifo)?;
    let now = secs(sqs.now());
    let pending = {
        let mut inner = q.lock();
        for (k, v) in given {
            if v.is_empty()
                && matches!(
                    k.as_str(),
                    "RedrivePolicy" | "Policy" | "RedriveAllowPolicy" | "KmsMasterKeyId"
                )
            {
                inner.meta.attributes.remove(&k);
            } else {
                inner.meta.attributes.insert(k, v);
            }
        }
        inner.meta.modified = now;
        let cfg = Config::of(&inner.meta.attributes);
        inner.st.cfg = cfg;
        sqs.store.submit(vec![store::put_queue(&inner.meta)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// PurgeQueue: every message goes; a second purge within 60 s (platform
/// time) is `PurgeQueueInProgress`.
pub async fn purge(sqs: &Sqs, ctx: &RequestContext, i: QueueUrlIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let now = sqs.now();
    let pending = {
        let mut inner = q.lock();
        if let Some(t) = inner.st.last_purge_ms {
            if now < t + 60_000 {
                return Err(SqsError::new(
                    Kind::PurgeQueueInProgress,
                    format!(
                        "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                        q.name
                    ),
                ));
            }
        }
        inner.st.last_purge_ms = Some(now);
        inner.st.purge();
        sqs.store.submit(store::purge_ops(&q.uid))?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// ListQueueTags.
pub fn list_tags(sqs: &Sqs, ctx: &RequestContext, i: QueueUrlIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let tags = q.lock().meta.tags.clone();
    if tags.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Tags": tags }))
}

async fn update_meta(
    sqs: &Sqs,
    q: &Queue,
    change: impl FnOnce(&mut QueueMeta) -> Result<()>,
) -> Result<Json> {
    let pending = {
        let mut inner = q.lock();
        let mut meta = inner.meta.clone();
        change(&mut meta)?;
        inner.meta = meta;
        sqs.store.submit(vec![store::put_queue(&inner.meta)])?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// TagQueue.
pub async fn tag(sqs: &Sqs, ctx: &RequestContext, i: TagIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    if i.tags.is_empty() {
        return Err(missing_tags());
    }
    let name = q.name.clone();
    update_meta(sqs, &q, |m| {
        m.tags.extend(i.tags);
        if m.tags.len() > MAX_TAGS {
            return Err(invalid(format!("Too many tags added for queue {name}.")));
        }
        Ok(())
    })
    .await
}

fn missing_tags() -> SqsError {
    crate::error::missing("Tags")
}

/// UntagQueue.
pub async fn untag(sqs: &Sqs, ctx: &RequestContext, i: UntagIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    if i.tag_keys.is_empty() {
        return Err(crate::error::missing("TagKeys"));
    }
    update_meta(sqs, &q, |m| {
        for k in &i.tag_keys {
            m.tags.remove(k);
        }
        Ok(())
    })
    .await
}

/// The queue policy that the recorded permissions amount to.
fn policy_of(q: &Queue, perms: &[Permission]) -> String {
    let statements: Vec<Json> = perms
        .iter()
        .map(|p| {
            json!({
                "Sid": p.label,
                "Effect": "Allow",
                "Principal": {"AWS": p.accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect::<Vec<_>>()},
                "Action": p.actions.iter().map(|a| format!("SQS:{a}")).collect::<Vec<_>>(),
                "Resource": q.arn,
            })
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Id": format!("{}/SQSDefaultPolicy", q.arn),
        "Statement": statements,
    })
    .to_string()
}

/// AddPermission: recorded (and shown as the queue's Policy), not enforced.
pub async fn add_permission(sqs: &Sqs, ctx: &RequestContext, i: AddPermissionIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    if i.accounts.is_empty() {
        return Err(crate::error::missing("AWSAccountIds"));
    }
    if i.actions.is_empty() {
        return Err(crate::error::missing("Actions"));
    }
    if !names::valid_batch_id(&i.label) {
        return Err(invalid_param(
            &i.label,
            "Label",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let qref = q.clone();
    update_meta(sqs, &q, move |m| {
        if m.permissions.iter().any(|p| p.label == i.label) {
            return Err(invalid_param(&i.label, "Label", "Already exists."));
        }
        if m.permissions.len() >= 7 {
            return Err(SqsError::new(
                Kind::OverLimit,
                "7 Actions were found, maximum allowed is 7.",
            ));
        }
        m.permissions.push(Permission {
            label: i.label,
            accounts: i.accounts,
            actions: i.actions,
        });
        m.attributes
            .insert("Policy".into(), policy_of(&qref, &m.permissions));
        Ok(())
    })
    .await
}

/// RemovePermission.
pub async fn remove_permission(
    sqs: &Sqs,
    ctx: &RequestContext,
    i: RemovePermissionIn,
) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let qref = q.clone();
    update_meta(sqs, &q, move |m| {
        let before = m.permissions.len();
        m.permissions.retain(|p| p.label != i.label);
        if m.permissions.len() == before {
            return Err(invalid_param(
                &i.label,
                "Label",
                "can't find label on existing policy.",
            ));
        }
        if m.permissions.is_empty() {
            m.attributes.remove("Policy");
        } else {
            m.attributes
                .insert("Policy".into(), policy_of(&qref, &m.permissions));
        }
        Ok(())
    })
    .await
}

/// ListDeadLetterSourceQueues: queues whose RedrivePolicy targets this one.
pub fn dead_letter_sources(sqs: &Sqs, ctx: &RequestContext, i: DlqSourcesIn) -> Result<Json> {
    let dlq = sqs.by_url(ctx, &i.queue_url)?;
    let max = page_size(i.max_results)?;
    let sources: Vec<Arc<Queue>> = sqs
        .queues_of(&dlq.account, &dlq.region)
        .into_iter()
        .filter(|q| {
            q.lock()
                .st
                .cfg
                .redrive
                .as_ref()
                .is_some_and(|r| r.dlq_arn == dlq.arn)
        })
        .collect();
    let out = paginate(sqs, sources, i.next_token, max, "queueUrls")?;
    if out.get("queueUrls").is_none() {
        // The member is required in the output.
        let mut m = out.as_object().cloned().unwrap_or_default();
        m.insert("queueUrls".into(), Json::Array(Vec::new()));
        return Ok(Json::Object(m));
    }
    Ok(out)
}
