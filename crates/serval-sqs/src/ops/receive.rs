//! ReceiveMessage: taking visible messages (and moving those past their
//! maxReceiveCount to the dead-letter queue), long polling, and the message
//! JSON with the system and message attributes asked for.

use super::ReceiveIn;
use crate::error::{invalid_param, Result};
use crate::queue::{sequence_text, Message, State};
use crate::{md5, receipt, store, Queue, Sqs};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::{MessageAttribute, RequestContext};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A received message and its receipt handle.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The message as it was when received.
    pub msg: Message,
    /// Its receipt handle.
    pub handle: String,
}

/// One attempt to receive: takes what is visible now. Returns the messages
/// and when the next delayed or in-flight message becomes visible.
fn receive_now(
    sqs: &Sqs,
    q: &Arc<Queue>,
    max: usize,
    visibility: Option<u32>,
) -> (Vec<Delivered>, Option<u64>, bool) {
    let redrive = q.lock().st.cfg.redrive.clone();
    let dlq = redrive.and_then(|r| {
        sqs.by_arn(&r.dlq_arn)
            .filter(|d| d.uid != q.uid)
            .map(|d| (d, r.max_receive_count))
    });
    let now = sqs.now();
    let (delivered, to_dlq, next_due, deleted) = {
        let mut inner = q.lock();
        if inner.st.deleted {
            return (Vec::new(), None, true);
        }
        inner.st.release(now);
        let gone = inner.st.expire(now);
        let vis = visibility.unwrap_or(inner.st.cfg.visibility);
        let taken = inner.st.take(
            now,
            max,
            u64::from(vis) * 1000,
            dlq.as_ref().map(|(_, n)| *n),
            receipt::nonce,
        );
        let mut ops = store::expiry_ops(&q.uid, &gone, &[]);
        let mut delivered = Vec::with_capacity(taken.received.len());
        for seq in &taken.received {
            if let Some(m) = inner.st.get(*seq) {
                ops.push(store::put_state(&q.uid, m));
                delivered.push(Delivered {
                    handle: receipt::encode(&q.uid, m.seq, m.nonce),
                    msg: m.clone(),
                });
            }
        }
        for m in &taken.to_dlq {
            store::delete_msg(&q.uid, m.seq, &mut ops);
        }
        if !ops.is_empty() {
            sqs.store.write_detached(ops);
        }
        (delivered, taken.to_dlq, inner.st.next_due(), false)
    };
    if let Some((dlq, _)) = dlq.filter(|_| !to_dlq.is_empty()) {
        move_messages(sqs, &dlq, to_dlq, Some(&q.arn), now);
    }
    (delivered, next_due, deleted)
}

/// Puts messages taken from another queue on `dest` (keeping their id,
/// body, attributes, sent time and receive count), recording their source
/// when they come from a redrive.
pub(crate) fn move_messages(
    sqs: &Sqs,
    dest: &Arc<Queue>,
    msgs: Vec<Message>,
    source_arn: Option<&str>,
    now: u64,
) {
    {
        let mut inner = dest.lock();
        if inner.st.deleted {
            return;
        }
        let mut ops = Vec::with_capacity(msgs.len());
        for mut m in msgs {
            m.seq = inner.st.next_seq;
            inner.st.next_seq += 1;
            m.state = State::Available;
            m.nonce = 0;
            if let Some(src) = source_arn {
                m.dlq_source = Some(src.to_string());
            } else {
                m.dlq_source = None;
                m.receive_count = 0;
                m.first_receive_ms = 0;
                m.sent_ms = now;
            }
            if !dest.fifo {
                m.group = m.group.filter(|_| false);
            }
            ops.push(store::put_msg(&dest.uid, &m));
            inner.st.insert(m);
        }
        sqs.store.write_detached(ops);
    }
    dest.notify.notify_waiters();
}

/// Receives up to `max` messages, waiting up to `wait` (real time) for the
/// first when none is visible; wakes at once when a message arrives.
pub async fn receive_from(
    sqs: &Sqs,
    q: &Arc<Queue>,
    max: usize,
    visibility: Option<u32>,
    wait: Duration,
) -> Vec<Delivered> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = q.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (got, next_due, deleted) = receive_now(sqs, q, max, visibility);
        let now = tokio::time::Instant::now();
        if !got.is_empty() || deleted || now >= deadline {
            return got;
        }
        let mut sleep = deadline - now;
        if let Some(due) = next_due {
            let platform = Duration::from_millis(due.saturating_sub(sqs.now()));
            sleep = sleep.min(sqs.clock.real_duration(platform) + Duration::from_millis(1));
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Whether a receive asked for a system attribute.
fn wants(names: &[String], name: &str) -> bool {
    names.iter().any(|n| n == "All" || n == name)
}

/// Every system attribute of a received message.
pub fn system_attributes(m: &Message, fifo: bool) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("SenderId".into(), m.sender.clone());
    a.insert("SentTimestamp".into(), m.sent_ms.to_string());
    a.insert(
        "ApproximateReceiveCount".into(),
        m.receive_count.to_string(),
    );
    a.insert(
        "ApproximateFirstReceiveTimestamp".into(),
        m.first_receive_ms.to_string(),
    );
    if let Some(g) = &m.group {
        a.insert("MessageGroupId".into(), g.clone());
    }
    if fifo {
        a.insert("SequenceNumber".into(), sequence_text(m.seq));
        if let Some(d) = &m.dedup {
            a.insert("MessageDeduplicationId".into(), d.clone());
        }
    }
    if let Some(t) = &m.trace {
        a.insert("AWSTraceHeader".into(), t.clone());
    }
    if let Some(s) = &m.dlq_source {
        a.insert("DeadLetterQueueSourceArn".into(), s.clone());
    }
    a
}

fn attr_json(v: &MessageAttribute) -> Json {
    let mut m = Map::new();
    if let Some(s) = &v.string_value {
        m.insert("StringValue".into(), s.clone().into());
    }
    if let Some(b) = &v.binary_value {
        m.insert("BinaryValue".into(), STANDARD.encode(b).into());
    }
    m.insert("DataType".into(), v.data_type.clone().into());
    Json::Object(m)
}

/// Whether a message attribute name matches the names asked for
/// (`All`, `.*`, `prefix.*` or the exact name).
pub(super) fn attr_selected(names: &[String], name: &str) -> bool {
    names.iter().any(|n| {
        n == "All"
            || n == ".*"
            || n == name
            || n.strip_suffix(".*")
                .is_some_and(|p| name.starts_with(p) && name[p.len()..].starts_with('.'))
    })
}

fn message_json(d: &Delivered, fifo: bool, sys_names: &[String], attr_names: &[String]) -> Json {
    let m = &d.msg;
    let mut out = Map::new();
    out.insert("MessageId".into(), m.id.clone().into());
    out.insert("ReceiptHandle".into(), d.handle.clone().into());
    out.insert("MD5OfBody".into(), m.md5_body.clone().into());
    out.insert("Body".into(), m.body.clone().into());
    if !sys_names.is_empty() {
        let attrs: Map<String, Json> = system_attributes(m, fifo)
            .into_iter()
            .filter(|(k, _)| wants(sys_names, k))
            .map(|(k, v)| (k, v.into()))
            .collect();
        if !attrs.is_empty() {
            out.insert("Attributes".into(), Json::Object(attrs));
        }
    }
    if !attr_names.is_empty() && !m.attrs.is_empty() {
        let chosen: BTreeMap<String, MessageAttribute> = m
            .attrs
            .iter()
            .filter(|(k, _)| attr_selected(attr_names, k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(md5) = md5::of_attributes(&chosen) {
            out.insert("MD5OfMessageAttributes".into(), md5.into());
            out.insert(
                "MessageAttributes".into(),
                Json::Object(
                    chosen
                        .iter()
                        .map(|(k, v)| (k.clone(), attr_json(v)))
                        .collect(),
                ),
            );
        }
    }
    Json::Object(out)
}

/// ReceiveMessage.
pub async fn receive(sqs: &Sqs, ctx: &RequestContext, i: ReceiveIn) -> Result<Json> {
    let q = sqs.by_url(ctx, &i.queue_url)?;
    let max = match i.max_number_of_messages {
        None => 1,
        Some(n) if (1..=10).contains(&n) => n as usize,
        Some(n) => {
            return Err(invalid_param(
                n,
                "MaxNumberOfMessages",
                "Must be between 1 and 10, if provided.",
            ))
        }
    };
    let visibility = match i.visibility_timeout {
        None => None,
        Some(v) if (0..=43_200).contains(&v) => Some(v as u32),
        Some(v) => {
            return Err(invalid_param(
                v,
                "VisibilityTimeout",
                "Must be between 0 and 43200, if provided.",
            ))
        }
    };
    let wait = match i.wait_time_seconds {
        None => q.lock().st.cfg.wait,
        Some(w) if (0..=20).contains(&w) => w as u32,
        Some(w) => {
            return Err(invalid_param(
                w,
                "WaitTimeSeconds",
                "Must be >= 0 and <= 20, if provided.",
            ))
        }
    };
    let got = receive_from(
        sqs,
        &q,
        max,
        visibility,
        Duration::from_secs(u64::from(wait)),
    )
    .await;
    if got.is_empty() {
        return Ok(json!({}));
    }
    let mut sys_names = i.attribute_names;
    sys_names.extend(i.message_system_attribute_names);
    let messages: Vec<Json> = got
        .iter()
        .map(|d| message_json(d, q.fifo, &sys_names, &i.message_attribute_names))
        .collect();
    Ok(json!({ "Messages": messages }))
}
