//! The pollers of an SQS mapping: a few concurrent workers (up to
//! ScalingConfig.MaximumConcurrency) that each receive a batch (gathering
//! up to BatchSize within the batching window), invoke the function with
//! Lambda's SQS event and delete what succeeded. What failed stays on the
//! queue and comes back after its visibility timeout, so the queue's
//! redrive policy moves it to the dead-letter queue after maxReceiveCount.

use super::{passes, set_result, Mapping};
use crate::error::LambdaError;
use crate::invoke;
use crate::Lambda;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use serval_core::{Queues, ReceiveMessages, ReceivedMessage};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Concurrent batches when ScalingConfig does not say (Lambda starts with 5).
const DEFAULT_WORKERS: u32 = 5;
/// The longest a worker's receive waits, so a stop is noticed.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);

/// Starts the workers of a mapping.
pub(super) fn start(l: Weak<Lambda>, m: Mapping, stop: Arc<AtomicBool>) {
    let workers = m.max_concurrency.unwrap_or(DEFAULT_WORKERS).clamp(1, 1000);
    for _ in 0..workers {
        tokio::spawn(worker(l.clone(), m.clone(), stop.clone()));
    }
}

async fn worker(l: Weak<Lambda>, m: Mapping, stop: Arc<AtomicBool>) {
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(lambda) = l.upgrade() else { return };
        let Some(queues) = lambda.queues.get().cloned() else {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        let batch = gather(&lambda, &*queues, &m, &stop).await;
        if batch.is_empty() {
            continue;
        }
        handle(&lambda, &*queues, &m, batch).await;
    }
}

/// Receives up to BatchSize messages within the batching window.
async fn gather(
    l: &Lambda,
    queues: &dyn Queues,
    m: &Mapping,
    stop: &AtomicBool,
) -> Vec<ReceivedMessage> {
    let mut batch: Vec<ReceivedMessage> = Vec::new();
    let window_ms = u64::from(m.window_secs) * 1000;
    let mut first_at: Option<u64> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return batch;
        }
        let want = (m.batch_size as usize).saturating_sub(batch.len()).min(10);
        if want == 0 {
            return batch;
        }
        let waited = first_at.map_or(0, |t| l.clock.now_millis().saturating_sub(t));
        if first_at.is_some() && waited >= window_ms {
            return batch;
        }
        let wait = if first_at.is_some() {
            l.clock
                .real_duration(Duration::from_millis(window_ms - waited))
                .min(RECEIVE_WAIT)
        } else {
            RECEIVE_WAIT
        };
        let got = queues
            .receive(ReceiveMessages {
                queue_arn: m.source_arn.clone(),
                max_messages: want as u32,
                visibility_timeout: None,
                wait,
            })
            .await;
        match got {
            Ok(msgs) if msgs.is_empty() => {
                if first_at.is_some() && window_ms == 0 {
                    return batch;
                }
            }
            Ok(msgs) => {
                first_at.get_or_insert_with(|| l.clock.now_millis());
                batch.extend(msgs);
                if window_ms == 0 && batch.len() < m.batch_size as usize {
                    // No window: take what one more immediate receive adds.
                    continue;
                }
            }
            Err(e) => {
                set_result(l, &m.uuid, &format!("PROBLEM: {}", e.message)).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                return batch;
            }
        }
        if first_at.is_none() {
            return batch;
        }
    }
}

/// One record of Lambda's SQS event.
fn record(m: &Mapping, msg: &ReceivedMessage) -> Value {
    let mut attrs = Map::new();
    for (k, v) in &msg.message_attributes {
        let mut a = json!({
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": v.data_type,
        });
        if let Some(s) = &v.string_value {
            a["stringValue"] = json!(s);
        }
        if let Some(b) = &v.binary_value {
            a["binaryValue"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
        }
        attrs.insert(k.clone(), a);
    }
    let mut r = json!({
        "messageId": msg.message_id,
        "receiptHandle": msg.receipt_handle,
        "body": msg.body,
        "attributes": msg.attributes,
        "messageAttributes": attrs,
        "md5OfBody": msg.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": m.source_arn,
        "awsRegion": m.region,
    });
    if let Some(md5) = &msg.md5_of_message_attributes {
        r["md5OfMessageAttributes"] = json!(md5);
    }
    r
}

/// The message ids a partial batch response reports as failed, or `None`
/// when the response breaks the contract (the whole batch failed).
fn failed_ids(body: &[u8], batch: &[ReceivedMessage]) -> Option<HashSet<String>> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || text == "null" {
        return Some(HashSet::new());
    }
    let v: Value = serde_json::from_str(text).ok()?;
    let list = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(HashSet::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return None,
    };
    let mut out = HashSet::new();
    for f in list {
        let id = f.get("itemIdentifier").and_then(Value::as_str)?;
        if id.is_empty() || !batch.iter().any(|m| m.message_id == id) {
            return None;
        }
        out.insert(id.to_string());
    }
    Some(out)
}

/// The record as filters see it: a JSON body is matched as JSON.
fn filter_view(record: &Value) -> Value {
    let mut v = record.clone();
    if let Some(parsed) = record["body"]
        .as_str()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
    {
        v["body"] = parsed;
    }
    v
}

async fn handle(l: &Lambda, queues: &dyn Queues, m: &Mapping, batch: Vec<ReceivedMessage>) {
    let filters = m.filters();
    let (batch, dropped): (Vec<ReceivedMessage>, Vec<ReceivedMessage>) = batch
        .into_iter()
        .partition(|msg| passes(&filters, &filter_view(&record(m, msg))));
    // Lambda deletes the messages its filters leave out.
    for msg in dropped {
        let _ = queues
            .delete(m.source_arn.clone(), msg.receipt_handle.clone())
            .await;
    }
    if batch.is_empty() {
        return;
    }
    let records: Vec<Value> = batch.iter().map(|msg| record(m, msg)).collect();
    let payload = Bytes::from(json!({ "Records": records }).to_string());
    let target = match invoke::resolve(l, &m.key(), m.qualifier.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            set_result(l, &m.uuid, &format!("PROBLEM: {e}")).await;
            return;
        }
    };
    let request_id = serval_core::ids::uuid_v4();
    let done: Vec<&ReceivedMessage> =
        match invoke::execute(l, &target, request_id, payload, None, false).await {
            Ok(exec) => match exec.outcome {
                serval_sandbox::Outcome::Success(body) if m.report_item_failures => {
                    match failed_ids(&body, &batch) {
                        Some(failed) => {
                            let fifo = m.source_arn.ends_with(".fifo");
                            // On FIFO queues everything after the first failure fails too.
                            let cut = if fifo {
                                batch
                                    .iter()
                                    .position(|msg| failed.contains(&msg.message_id))
                                    .unwrap_or(batch.len())
                            } else {
                                batch.len()
                            };
                            batch[..cut]
                                .iter()
                                .filter(|msg| !failed.contains(&msg.message_id))
                                .collect()
                        }
                        None => Vec::new(),
                    }
                }
                serval_sandbox::Outcome::Success(_) => batch.iter().collect(),
                serval_sandbox::Outcome::Error { .. } => Vec::new(),
            },
            Err(LambdaError::TooManyRequests { .. }) => Vec::new(),
            Err(_) => Vec::new(),
        };
    let all_done = done.len() == batch.len();
    for msg in done {
        let _ = queues
            .delete(m.source_arn.clone(), msg.receipt_handle.clone())
            .await;
    }
    let result = if all_done {
        "OK"
    } else {
        "PROBLEM: Function call failed"
    };
    set_result(l, &m.uuid, result).await;
}
