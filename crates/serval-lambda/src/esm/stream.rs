//! The poller of a DynamoDB Streams mapping: per shard, in order, one batch
//! at a time. A batch that fails is retried (split in two first when
//! BisectBatchOnFunctionError is on) until it succeeds, its retries run out
//! or its records get too old; then it is described to the OnFailure
//! destination and skipped. The position after each batch is stored, so a
//! restart resumes where the last acknowledged batch ended.

use super::{set_result, Mapping, KS_POS};
use crate::error::LambdaError;
use crate::invoke;
use crate::Lambda;
use bytes::Bytes;
use serde_json::{json, Value};
use serval_core::StreamRecord;
use serval_store::Op;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often an idle shard is polled (Lambda polls streams 4 times a second).
const POLL_EVERY: Duration = Duration::from_millis(250);

fn pos_key(uuid: &str, shard: &str) -> Vec<u8> {
    format!("{uuid}/{shard}").into_bytes()
}

/// Sleeps `platform` of platform time, in short real slices so a stop is
/// noticed; false when the mapping was stopped.
async fn pause(l: &Lambda, stop: &AtomicBool, platform: Duration) -> bool {
    let until = l.clock.now_millis() + platform.as_millis() as u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = l.clock.now_millis();
        if now >= until {
            return true;
        }
        let left = Duration::from_millis(until - now).min(Duration::from_millis(100));
        tokio::time::sleep(left).await;
    }
}

/// The shard's stored position, or where the mapping starts.
fn position(l: &Lambda, m: &Mapping, shard: &str) -> Option<Option<u128>> {
    if let Ok(Some(raw)) = l.store.get(KS_POS, &pos_key(&m.uuid, shard)) {
        return Some(std::str::from_utf8(&raw).ok().and_then(|s| s.parse().ok()));
    }
    let reader = l.stream_reader.get()?;
    match m.starting_position.as_deref() {
        Some("LATEST") => reader.latest(&m.source_arn, shard).ok(),
        _ => Some(None),
    }
}

async fn save_position(l: &Lambda, m: &Mapping, shard: &str, seq: u128) {
    let _ = l
        .store
        .write(vec![Op::Put {
            ks: KS_POS,
            key: pos_key(&m.uuid, shard),
            value: seq.to_string().into_bytes(),
        }])
        .await;
}

/// Runs until the mapping is stopped or Lambda goes away.
pub(super) async fn run(l: Weak<Lambda>, m: Mapping, stop: Arc<AtomicBool>) {
    // Where each shard is (`None` inside: from the start of the shard).
    let mut positions: std::collections::HashMap<String, Option<u128>> = Default::default();
    loop {
        let Some(lambda) = l.upgrade() else { return };
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(reader) = lambda.stream_reader.get().cloned() else {
            if !pause(&lambda, &stop, POLL_EVERY).await {
                return;
            }
            continue;
        };
        let shards = match reader.shards(&m.source_arn) {
            Ok(s) => s,
            Err(e) => {
                set_result(&lambda, &m.uuid, &format!("PROBLEM: {}", e.message)).await;
                if !pause(&lambda, &stop, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
        };
        let mut busy = false;
        for shard in shards {
            let pos = match positions.get(&shard.shard_id) {
                Some(p) => *p,
                None => {
                    let Some(p) = position(&lambda, &m, &shard.shard_id) else {
                        continue;
                    };
                    positions.insert(shard.shard_id.clone(), p);
                    p
                }
            };
            let limit = m.batch_size as usize;
            let records = match reader.read(&m.source_arn, &shard.shard_id, pos, limit) {
                Ok(r) => r,
                Err(_) => continue,
            };
            if records.is_empty() {
                continue;
            }
            // Gather up to the batching window while the batch is short.
            if records.len() < limit && m.window_secs > 0 {
                let first = records[0].created_secs * 1000;
                let waited = lambda.clock.now_millis().saturating_sub(first);
                if waited < u64::from(m.window_secs) * 1000 {
                    continue;
                }
            }
            busy = true;
            let last_read = records.last().map(|r| r.sequence_number);
            let filters = m.filters();
            let records: Vec<StreamRecord> = records
                .into_iter()
                .filter(|r| {
                    filters.is_empty()
                        || serde_json::from_str::<Value>(&r.json)
                            .is_ok_and(|v| super::passes(&filters, &v))
                })
                .collect();
            if !records.is_empty()
                && process(&lambda, &m, &shard.shard_id, records, &stop)
                    .await
                    .is_none()
            {
                return;
            }
            // Records the filters left out are passed over.
            if let Some(last) = last_read {
                positions.insert(shard.shard_id.clone(), Some(last));
                save_position(&lambda, &m, &shard.shard_id, last).await;
            }
        }
        if !busy && !pause(&lambda, &stop, POLL_EVERY).await {
            return;
        }
    }
}

/// Lambda's DynamoDB event for records.
fn event(m: &Mapping, records: &[StreamRecord]) -> Bytes {
    let mut out =
        String::with_capacity(64 + records.iter().map(|r| r.json.len() + 96).sum::<usize>());
    out.push_str("{\"Records\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let body = r.json.trim_end();
        let body = body.strip_suffix('}').unwrap_or(body);
        out.push_str(body);
        out.push_str(",\"eventSourceARN\":");
        out.push_str(&Value::String(m.source_arn.clone()).to_string());
        out.push('}');
    }
    out.push_str("]}");
    Bytes::from(out)
}

enum Attempt {
    /// Every record done.
    Done,
    /// Records before this sequence number succeeded; the rest failed.
    PartlyFailed(u128),
    /// The function failed (the version that ran).
    Failed(String),
    /// Lambda could not run it now (throttled, or a platform error).
    NotRun,
}

/// The sequence number of the first failed item of a partial batch response,
/// or `Err` when the response does not follow the contract (a full failure).
fn first_failure(body: &[u8], records: &[StreamRecord]) -> Result<Option<u128>, ()> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Err(()),
    };
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(()),
    };
    let mut first: Option<u128> = None;
    for f in failures {
        let id = f
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u128>().ok())
            .ok_or(())?;
        if !records.iter().any(|r| r.sequence_number == id) {
            return Err(());
        }
        first = Some(first.map_or(id, |f: u128| f.min(id)));
    }
    Ok(first)
}

async fn attempt(l: &Lambda, m: &Mapping, records: &[StreamRecord]) -> Attempt {
    let target = match invoke::resolve(l, &m.key(), m.qualifier.as_deref()) {
        Ok(t) => t,
        Err(_) => return Attempt::NotRun,
    };
    let request_id = serval_core::ids::uuid_v4();
    match invoke::execute(l, &target, request_id, event(m, records), None, false).await {
        Ok(exec) => match exec.outcome {
            serval_sandbox::Outcome::Success(body) => {
                if !m.report_item_failures {
                    return Attempt::Done;
                }
                match first_failure(&body, records) {
                    Ok(None) => Attempt::Done,
                    Ok(Some(seq)) => Attempt::PartlyFailed(seq),
                    Err(()) => Attempt::Failed(target.version.clone()),
                }
            }
            serval_sandbox::Outcome::Error { .. } => Attempt::Failed(target.version.clone()),
        },
        Err(LambdaError::TooManyRequests { .. }) | Err(LambdaError::Internal(_)) => Attempt::NotRun,
        Err(_) => Attempt::Failed(target.version.clone()),
    }
}

/// Processes one batch; returns the sequence number to continue after, or
/// `None` when the mapping was stopped.
async fn process(
    l: &Lambda,
    m: &Mapping,
    shard: &str,
    records: Vec<StreamRecord>,
    stop: &AtomicBool,
) -> Option<u128> {
    let mut batch = records;
    let mut retries: i64 = 0;
    let mut backoff = Duration::from_millis(500);
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let first_secs = batch.first().map_or(0, |r| r.created_secs);
        let age = (l.clock.now_millis() / 1000).saturating_sub(first_secs) as i64;
        if m.max_record_age_secs >= 0 && age > m.max_record_age_secs {
            discard(l, m, shard, &batch, "RecordAgeExceeded", retries, None).await;
            return batch.last().map(|r| r.sequence_number);
        }
        match attempt(l, m, &batch).await {
            Attempt::Done => {
                set_result(l, &m.uuid, "OK").await;
                return batch.last().map(|r| r.sequence_number);
            }
            Attempt::NotRun => {}
            outcome => {
                retries += 1;
                set_result(l, &m.uuid, "PROBLEM: Function call failed").await;
                let (version, keep_from) = match &outcome {
                    Attempt::PartlyFailed(seq) => (None, Some(*seq)),
                    Attempt::Failed(v) => (Some(v.clone()), None),
                    _ => (None, None),
                };
                if let Some(seq) = keep_from {
                    // Records before the first failure are done.
                    let done = batch.iter().filter(|r| r.sequence_number < seq).count();
                    if done > 0 {
                        let last_done = batch[done - 1].sequence_number;
                        batch.drain(..done);
                        save_position(l, m, shard, last_done).await;
                    }
                }
                if m.max_retry_attempts >= 0 && retries > m.max_retry_attempts {
                    discard(
                        l,
                        m,
                        shard,
                        &batch,
                        "RetryAttemptsExhausted",
                        retries,
                        version,
                    )
                    .await;
                    return batch.last().map(|r| r.sequence_number);
                }
                if m.bisect && batch.len() > 1 && keep_from.is_none() {
                    let half = batch.len() / 2;
                    batch.truncate(half);
                    // Splitting does not use up a retry.
                    retries -= 1;
                    continue;
                }
            }
        }
        if !pause(l, stop, backoff).await {
            return None;
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Describes a discarded batch to the mapping's OnFailure destination.
async fn discard(
    l: &Lambda,
    m: &Mapping,
    shard: &str,
    batch: &[StreamRecord],
    condition: &str,
    invokes: i64,
    version: Option<String>,
) {
    let Some(dest) = &m.on_failure else { return };
    let Some(sink) = l.event_sink.get() else {
        return;
    };
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return;
    };
    let iso = |secs: u64| serval_core::time::iso8601(secs * 1000);
    let mut record = json!({
        "requestContext": {
            "requestId": serval_core::ids::uuid_v4(),
            "functionArn": m.function_arn(),
            "condition": condition,
            "approximateInvokeCount": invokes,
        },
        "version": "1.0",
        "timestamp": serval_core::time::iso8601(l.clock.now_millis()),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first.sequence_number.to_string(),
            "endSequenceNumber": last.sequence_number.to_string(),
            "approximateArrivalOfFirstRecord": iso(first.created_secs),
            "approximateArrivalOfLastRecord": iso(last.created_secs),
            "batchSize": batch.len(),
            "streamArn": m.source_arn,
        },
    });
    if let Some(v) = version {
        record["responseContext"] = json!({
            "statusCode": 200,
            "executedVersion": v,
            "functionError": "Unhandled",
        });
    }
    let d = serval_core::Delivery::new(dest.clone(), record.to_string());
    if let Err(e) = sink.deliver(d).await {
        tracing::warn!(destination = %dest, error = %e.message, "could not describe a discarded batch");
    }
}
