//! Message operations: send (single and batch), receive with long polling,
//! delete and visibility changes (single and batch), and the moves of
//! messages past maxReceiveCount to their dead-letter queue. The `*_to` /
//! `*_from` / `*_in` functions are the cores shared with the `Queues` trait.

use super::{AttrIn, HandleBatchIn, HandleIn, SendBatchIn, SendIn};
use crate::error::{invalid, invalid_param, missing, Kind, Result, SqsError};
use crate::queue::{sequence_text, Dedup, Message, State};
use crate::{md5, names, receipt, store, Queue, Sqs};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::{MessageAttribute, RequestContext};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most entries in a batch.
const MAX_BATCH: usize = 10;
/// Most message attributes.
const MAX_ATTRS: usize = 10;
/// FIFO deduplication window, platform ms.
const DEDUP_MS: u64 = 5 * 60 * 1000;
/// Largest batch of messages, in bytes, whatever the queue's message size.
const MAX_BATCH_BYTES: usize = 262_144;

/// A message checked and ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Body.
    pub body: String,
    /// Attributes.
    pub attrs: BTreeMap<String, MessageAttribute>,
    /// Trace header.
    pub trace: Option<String>,
    /// Per-message delay.
    pub delay: Option<u32>,
    /// FIFO group.
    pub group: Option<String>,
    /// FIFO dedup id.
    pub dedup: Option<String>,
    /// Bytes counted against the size limit.
    pub size: usize,
}

/// What a send answers.
#[derive(Debug, Clone)]
pub struct SentOut {
    /// Message id.
    pub id: String,
    /// FIFO sequence number.
    pub sequence: Option<String>,
    /// MD5 of the body.
    pub md5_body: String,
    /// MD5 of the attributes.
    pub md5_attrs: Option<String>,
    /// MD5 of the system attributes.
    pub md5_sys: Option<String>,
}

/// MD5 of the system attributes of a message carrying a trace header.
pub fn md5_of_trace(trace: &str) -> String {
    let mut m = BTreeMap::new();
    m.insert(
        "AWSTraceHeader".to_string(),
        MessageAttribute {
            data_type: "String".into(),
            string_value: Some(trace.to_string()),
            binary_value: None,
        },
    );
    md5::of_attributes(&m).unwrap_or_default()
}

fn body_char_ok(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn attr_name_ok(n: &str) -> bool {
    let lower = n.to_ascii_lowercase();
    !n.is_empty()
        && n.len() <= 256
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !n.starts_with('.')
        && !n.ends_with('.')
        && !n.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
}

fn is_number(s: &str) -> bool {
    let t = s.trim();
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    digits > 0 && digits <= 38 && t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Checks message attributes and decodes binary values.
fn attributes(
    input: &BTreeMap<String, AttrIn>,
    system: bool,
) -> Result<BTreeMap<String, MessageAttribute>> {
    let who = if system { "system" } else { "user" };
    if input.len() > MAX_ATTRS {
        return Err(invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRS}].",
            input.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (name, v) in input {
        if system {
            if name != "AWSTraceHeader" {
                return Err(invalid(format!(
                    "Message system attribute name '{name}' is invalid."
                )));
            }
        } else if !attr_name_ok(name) {
            return Err(invalid(format!(
                "Message ({who}) attribute name '{name}' is invalid. The attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-) and period (.), must not start or end with a period, must not contain successive periods, must not start with AWS. or Amazon., and can be up to 256 characters long."
            )));
        }
        let dt = v.data_type.clone().unwrap_or_default();
        if dt.is_empty() {
            return Err(invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute type."
            )));
        }
        let base = dt.split('.').next().unwrap_or_default();
        if system && base != "String" {
            return Err(invalid(format!(
                "The message system attribute '{name}' must be of type String."
            )));
        }
        let value = match base {
            "String" | "Number" => {
                let s = v.string_value.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
                    invalid(format!("The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."))
                })?;
                if base == "Number" && !is_number(&s) {
                    return Err(invalid(format!(
                        "Can't cast the value of message ({who}) attribute '{name}' to a number."
                    )));
                }
                if !s.chars().all(body_char_ok) {
                    return Err(invalid(format!(
                        "The message attribute '{name}' contains characters that are not allowed."
                    )));
                }
                MessageAttribute {
                    data_type: dt.clone(),
                    string_value: Some(s),
                    binary_value: None,
                }
            }
            "Binary" => {
                let raw = v.binary_value.clone().unwrap_or_default();
                let bytes = STANDARD.decode(raw.trim().as_bytes()).map_err(|_| {
                    invalid(format!("The message attribute '{name}' has an invalid binary value."))
                })?;
                if bytes.is_empty() {
                    return Err(invalid(format!("The message attribute '{name}' must contain non-empty message attribute value for message attribute type 'Binary'.")));
                }
                MessageAttribute {
                    data_type: dt.clone(),
                    string_value: None,
                    binary_value: Some(bytes),
                }
            }
            _ => {
                return Err(invalid(format!("The type of message ({who}) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")))
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Checks the queue-independent parts of a send.
pub fn prepare(i: &SendIn) -> Result<Prepared> {
    let body = i.message_body.clone().unwrap_or_default();
    if body.is_empty() {
        return Err(missing("MessageBody"));
    }
    if let Some(bad) = body.chars().find(|c| !body_char_ok(*c)) {
        return Err(SqsError::new(
            Kind::InvalidMessageContents,
            format!("Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", bad as u32),
        ));
    }
    let delay = match i.delay_seconds {
        None => None,
        Some(d) if (0..=900).contains(&d) => Some(d as u32),
        Some(d) => {
            return Err(invalid_param(
                d,
                "DelaySeconds",
                "DelaySeconds must be >= 0 and <= 900.",
            ))
        }
    };
    let attrs = attributes(&i.message_attributes, false)?;
    let sys = attributes(&i.message_system_attributes, true)?;
    let trace = sys
        .get("AWSTraceHeader")
        .and_then(|a| a.string_value.clone());
    let size = body.len()
        + attrs
            .iter()
            .map(|(k, v)| {
                k.len()
                    + v.data_type.len()
                    + v.string_value.as_ref().map_or(0, String::len)
                    + v.binary_value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>();
    let printable =
        |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
    for (field, v) in [
        ("MessageGroupId", &i.message_group_id),
        ("MessageDeduplicationId", &i.message_deduplication_id),
    ] {
        if let Some(v) = v {
            if !printable(v) {
                return Err(invalid_param(
                    v,
                    field,
                    &format!("{field} can only include alphanumeric and punctuation characters. 1 to 128 in length."),
                ));
            }
        }
    }
    Ok(Prepared {
        body,
        attrs,
        trace,
        delay,
        group: i.message_group_id.clone(),
        dedup: i.message_deduplication_id.clone(),
        size,
    })
}

/// Checks a prepared message against the queue's type and limits.
fn check_for_queue(p: &mut Prepared, q: &Queue, max_size: u32, content_dedup: bool) -> Result<()> {
    if p.size > max_size as usize {
        return Err(invalid(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max_size} bytes."
        )));
    }
    let wrong_type = "The request include parameter that is not valid for this queue type.";
    if q.fifo {
        if let Some(d) = p.delay.filter(|d| *d != 0) {
            return Err(invalid_param(d, "DelaySeconds", wrong_type));
        }
        p.delay = None;
        if p.group.is_none() {
            return Err(missing("MessageGroupId"));
        }
        if p.dedup.is_none() {
            if !content_dedup {
                return Err(invalid("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"));
            }
            use sha2::Digest;
            p.dedup = Some(serval_core::ids::hex(&sha2::Sha256::digest(
                p.body.as_bytes(),
            )));
        }
    } else if let Some(d) = &p.dedup {
        return Err(invalid_param(d, "MessageDeduplicationId", wrong_type));
    }
    Ok(())
}

/// Stores prepared messages on a queue (one store commit for all); each
/// entry is the message's result or its error (FIFO duplicates answer with
/// the first send's id).
pub async fn send_to(
    sqs: &Sqs,
    q: &Arc<Queue>,
    mut batch: Vec<Prepared>,
    sender: &str,
) -> Result<Vec<Result<SentOut>>> {
    let now = sqs.now();
    let mut results: Vec<Option<Result<SentOut>>> = Vec::with_capacity(batch.len());
    let pending = {
        let mut inner = q.lock();
        if inner.st.deleted {
            return Err(crate::error::no_queue());
        }
        let cfg = inner.st.cfg.clone();
        let mut ops = Vec::with_capacity(batch.len() + 1);
        let gone = inner.st.expire_dedup(now);
        if !gone.is_empty() {
            ops.extend(store::expiry_ops(&q.uid, &[], &gone));
        }
        for p in batch.iter_mut() {
            if let Err(e) = check_for_queue(p, q, cfg.max_size, cfg.content_dedup) {
                results.push(Some(Err(e)));
                continue;
            }
            let md5_body = md5::of_body(&p.body);
            let md5_attrs = md5::of_attributes(&p.attrs);
            let md5_sys = p.trace.as_deref().map(md5_of_trace);
            let dedup_key = match (&p.dedup, &p.group) {
                (Some(d), Some(g)) if q.fifo => Some(if cfg.dedup_per_group {
                    format!("{g}\u{1f}{d}")
                } else {
                    d.clone()
                }),
                _ => None,
            };
            if let Some(k) = &dedup_key {
                if let Some(hit) = inner.st.dedup_hit(k, now) {
                    results.push(Some(Ok(SentOut {
                        id: hit.message_id,
                        sequence: Some(hit.sequence),
                        md5_body,
                        md5_attrs,
                        md5_sys,
                    })));
                    continue;
                }
            }
            let seq = inner.st.next_seq;
            inner.st.next_seq += 1;
            let delay = if q.fifo {
                cfg.delay
            } else {
                p.delay.unwrap_or(cfg.delay)
            };
            let id = serval_core::ids::uuid_v4();
            let sequence = q.fifo.then(|| sequence_text(seq));
            let m = Message {
                seq,
                id: id.clone(),
                body: std::mem::take(&mut p.body),
                attrs: std::mem::take(&mut p.attrs),
                md5_body: md5_body.clone(),
                md5_attrs: md5_attrs.clone(),
                trace: p.trace.clone(),
                md5_sys: md5_sys.clone(),
                sent_ms: now,
                sender: sender.to_string(),
                group: p.group.clone(),
                dedup: p.dedup.clone(),
                dlq_source: None,
                receive_count: 0,
                first_receive_ms: 0,
                nonce: 0,
                state: if delay > 0 {
                    State::Delayed(now + u64::from(delay) * 1000)
                } else {
                    State::Available
                },
            };
            ops.push(store::put_msg(&q.uid, &m));
            if let Some(k) = dedup_key {
                let d = Dedup {
                    expires: now + DEDUP_MS,
                    message_id: id.clone(),
                    sequence: sequence.clone().unwrap_or_default(),
                };
                ops.push(store::put_dedup(&q.uid, &k, &d));
                inner.st.dedup_put(k, d);
            }
            inner.st.insert(m);
            results.push(Some(Ok(SentOut {
                id,
                sequence,
                md5_body,
                md5_attrs,
                md5_sys,
            })));
        }
        if ops.is_empty() {
            None
        } else {
            Some(sqs.store.submit(ops)?)
        }
    };
    q.notify.notify_waiters();
    if let Some(p) = pending {
        p.wait().await?;
    }
    Ok(results.into_iter().flatten().collect())
}

fn sent_json(s: &SentOut) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("MD5OfMessageBody".into(), s.md5_body.clone().into());
    if let Some(a) = &s.md5_attrs {
        m.insert("MD5OfMessageAttributes".into(), a.clone().into());
    }
    if let Some(a) = &s.md5_sys {
        m.insert("MD5OfMessageSystemAttributes".into(), a.clone().into());
    }
    m.insert("MessageId".into(), s.id.clone().into());
    if let Some(seq) = &s.sequence {
        m.insert("SequenceNumber".into(), seq.clone().into());
    }
    m
}

/// SendMessage.
pub async fn send(sqs: &Sqs, ctx: &RequestContext, i: SendIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let p = prepare(&i)?;
    let mut out = send_to(sqs, &q, vec![p], &ctx.access_key_id).await?;
    match out.pop() {
        Some(Ok(s)) => Ok(Json::Object(sent_json(&s))),
        Some(Err(e)) => Err(e),
        None => Err(SqsError::new(Kind::Internal, "no result")),
    }
}

/// The checks every batch gets: not empty, at most 10, distinct valid ids.
fn check_batch<'a>(ids: impl Iterator<Item = Option<&'a str>>, entry: &str) -> Result<()> {
    let ids: Vec<Option<&str>> = ids.collect();
    if ids.is_empty() {
        return Err(SqsError::new(
            Kind::EmptyBatchRequest,
            format!("There should be at least one {entry} in the request."),
        ));
    }
    if ids.len() > MAX_BATCH {
        return Err(SqsError::new(
            Kind::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {MAX_BATCH}. You have sent {}.",
                ids.len()
            ),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for id in &ids {
        let id = id.ok_or_else(|| missing(&format!("{entry}.Id")))?;
        if seen.contains(&id) {
            return Err(SqsError::new(
                Kind::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
        seen.push(id);
    }
    for id in seen {
        if !names::valid_batch_id(id) {
            return Err(SqsError::new(
                Kind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
    }
    Ok(())
}

fn failed(id: &str, e: &SqsError) -> Json {
    json!({
        "Id": id,
        "SenderFault": e.kind != Kind::Internal,
        "Code": e.kind.query_code(),
        "Message": e.message,
    })
}

/// SendMessageBatch.
pub async fn send_batch(sqs: &Sqs, ctx: &RequestContext, i: SendBatchIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    check_batch(
        i.entries.iter().map(|e| e.id.as_deref()),
        "SendMessageBatchRequestEntry",
    )?;
    let total: usize = i
        .entries
        .iter()
        .map(|e| {
            e.message_body.as_ref().map_or(0, String::len)
                + e.message_attributes
                    .iter()
                    .map(|(k, v)| {
                        k.len()
                            + v.data_type.as_ref().map_or(0, String::len)
                            + v.string_value.as_ref().map_or(0, String::len)
                            + v.binary_value.as_ref().map_or(0, |b| b.len() * 3 / 4)
                    })
                    .sum::<usize>()
        })
        .sum();
    let limit = MAX_BATCH_BYTES.max(q.lock().st.cfg.max_size as usize);
    if total > limit {
        return Err(SqsError::new(
            Kind::BatchRequestTooLong,
            format!(
                "Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes."
            ),
        ));
    }
    let mut failures = Vec::new();
    let mut ok_ids = Vec::new();
    let mut prepared = Vec::new();
    for e in &i.entries {
        let id = e.id.clone().unwrap_or_default();
        match prepare(e) {
            Ok(p) => {
                ok_ids.push(id);
                prepared.push(p);
            }
            Err(err) => failures.push(failed(&id, &err)),
        }
    }
    let results = send_to(sqs, &q, prepared, &ctx.access_key_id).await?;
    let mut successful = Vec::new();
    for (id, r) in ok_ids.iter().zip(results) {
        match r {
            Ok(s) => {
                let mut m = sent_json(&s);
                m.insert("Id".into(), id.clone().into());
                successful.push(Json::Object(m));
            }
            Err(e) => failures.push(failed(id, &e)),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failures }))
}

pub(crate) use super::receive::move_messages;
pub use super::receive::{receive, receive_from, system_attributes, Delivered};

fn bad_handle(h: &str) -> SqsError {
    SqsError::new(
        Kind::ReceiptHandleIsInvalid,
        format!("The input receipt handle \"{h}\" is not a valid receipt handle."),
    )
}

/// Deletes the message a receipt handle names. An already deleted message
/// is no error; a handle of an earlier receive deletes nothing (as SQS
/// documents: only the latest receive's handle deletes).
///
/// The delete is answered without waiting for its commit (it is ordered
/// after everything before it, so the store never holds a half-done
/// state): a crash in the next few microseconds may deliver the message
/// once more, which SQS's at-least-once delivery allows. Sends, which must
/// never be lost, do wait.
pub async fn delete_in(sqs: &Sqs, q: &Queue, handle: &str) -> Result<()> {
    let r = receipt::decode(handle).ok_or_else(|| bad_handle(handle))?;
    if r.uid != q.uid {
        return Err(bad_handle(handle));
    }
    {
        let mut inner = q.lock();
        let current = inner.st.get(r.seq).is_some_and(|m| m.nonce == r.nonce);
        if !current {
            return Ok(());
        }
        inner.st.remove(r.seq);
        let mut ops = Vec::with_capacity(2);
        store::delete_msg(&q.uid, r.seq, &mut ops);
        sqs.store.write_detached(ops);
    }
    // A FIFO group may deliver again.
    if q.fifo {
        q.notify.notify_waiters();
    }
    Ok(())
}

/// DeleteMessage.
pub async fn delete(sqs: &Sqs, ctx: &RequestContext, i: HandleIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let h = i.receipt_handle.ok_or_else(|| missing("ReceiptHandle"))?;
    delete_in(sqs, &q, &h).await?;
    Ok(json!({}))
}

/// DeleteMessageBatch.
pub async fn delete_batch(sqs: &Sqs, ctx: &RequestContext, i: HandleBatchIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    check_batch(
        i.entries.iter().map(|e| e.id.as_deref()),
        "DeleteMessageBatchRequestEntry",
    )?;
    let mut successful = Vec::new();
    let mut failures = Vec::new();
    for e in &i.entries {
        let id = e.id.clone().unwrap_or_default();
        let r = match &e.receipt_handle {
            Some(h) => delete_in(sqs, &q, h).await,
            None => Err(missing("ReceiptHandle")),
        };
        match r {
            Ok(()) => successful.push(json!({ "Id": id })),
            Err(err) => failures.push(failed(&id, &err)),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failures }))
}

/// Changes the visibility of the message a receipt handle names.
pub fn change_visibility_in(sqs: &Sqs, q: &Queue, handle: &str, timeout: i64) -> Result<()> {
    if !(0..=43_200).contains(&timeout) {
        return Err(invalid_param(
            timeout,
            "VisibilityTimeout",
            "Must be between 0 and 43200.",
        ));
    }
    let r = receipt::decode(handle).ok_or_else(|| bad_handle(handle))?;
    if r.uid != q.uid {
        return Err(bad_handle(handle));
    }
    let now = sqs.now();
    {
        let mut inner = q.lock();
        inner.st.release(now);
        let state = match inner.st.get(r.seq) {
            Some(m) if m.nonce == r.nonce => m.state,
            _ => {
                return Err(invalid_param(
                    handle,
                    "ReceiptHandle",
                    "Message does not exist or is not available for visibility timeout change.",
                ))
            }
        };
        if !matches!(state, State::InFlight(_)) {
            return Err(SqsError::new(
                Kind::MessageNotInflight,
                "The message referred to isn't in flight.",
            ));
        }
        inner.st.set_visibility(r.seq, now, timeout as u64 * 1000);
        if let Some(m) = inner.st.get(r.seq) {
            sqs.store.write_detached(vec![store::put_state(&q.uid, m)]);
        }
    }
    if timeout == 0 {
        q.notify.notify_waiters();
    }
    Ok(())
}

/// ChangeMessageVisibility.
pub fn change_visibility(sqs: &Sqs, ctx: &RequestContext, i: HandleIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let h = i.receipt_handle.ok_or_else(|| missing("ReceiptHandle"))?;
    let t = i
        .visibility_timeout
        .ok_or_else(|| missing("VisibilityTimeout"))?;
    change_visibility_in(sqs, &q, &h, t)?;
    Ok(json!({}))
}

/// ChangeMessageVisibilityBatch.
pub fn change_visibility_batch(sqs: &Sqs, ctx: &RequestContext, i: HandleBatchIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    check_batch(
        i.entries.iter().map(|e| e.id.as_deref()),
        "ChangeMessageVisibilityBatchRequestEntry",
    )?;
    let mut successful = Vec::new();
    let mut failures = Vec::new();
    for e in &i.entries {
        let id = e.id.clone().unwrap_or_default();
        let r = match (&e.receipt_handle, e.visibility_timeout) {
            (Some(h), Some(t)) => change_visibility_in(sqs, &q, h, t),
            (None, _) => Err(missing("ReceiptHandle")),
            (_, None) => Err(missing("VisibilityTimeout")),
        };
        match r {
            Ok(()) => successful.push(json!({ "Id": id })),
            Err(err) => failures.push(failed(&id, &err)),
        }
    }
    Ok(json!({ "Successful": successful, "Failed": failures }))
}

#[cfg(test)]
mod tests {
    use super::super::receive::attr_selected;
    use super::*;

    #[test]
    fn attribute_names_and_filters() {
        assert!(attr_name_ok("a.b-c_1"));
        assert!(!attr_name_ok("AWS.x"));
        assert!(!attr_name_ok("a..b"));
        assert!(!attr_name_ok(".a"));
        let names = vec!["foo.*".to_string()];
        assert!(attr_selected(&names, "foo.bar"));
        assert!(!attr_selected(&names, "foobar"));
        assert!(attr_selected(&["All".to_string()], "x"));
        assert!(is_number("-12.5e3"));
        assert!(!is_number("abc"));
    }

    #[test]
    fn prepare_checks_body_and_attributes() {
        let mut i = SendIn {
            message_body: Some("hi".into()),
            ..Default::default()
        };
        assert!(prepare(&i).is_ok());
        i.message_body = Some("bad\u{1}".into());
        assert_eq!(prepare(&i).unwrap_err().kind, Kind::InvalidMessageContents);
        i.message_body = Some(String::new());
        assert_eq!(prepare(&i).unwrap_err().kind, Kind::MissingParameter);
        i.message_body = Some("x".into());
        i.message_attributes.insert(
            "n".into(),
            AttrIn {
                data_type: Some("Number".into()),
                string_value: Some("x".into()),
                ..Default::default()
            },
        );
        assert_eq!(prepare(&i).unwrap_err().kind, Kind::InvalidParameterValue);
    }

    #[test]
    fn trace_md5_is_the_attribute_algorithm() {
        assert_eq!(md5_of_trace("Root=1").len(), 32);
    }
}
