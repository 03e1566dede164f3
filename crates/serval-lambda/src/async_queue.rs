//! The durable queue behind asynchronous invocation: an accepted event is in
//! the store before the caller gets 202, and a poller runs it, retrying
//! function errors (twice, after 1 and 2 minutes) and throttles (with
//! back-off up to the maximum event age) like Lambda.

use crate::error::{LambdaError, Result};
use crate::invoke;
use crate::Lambda;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serval_store::{Op, Store};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The keyspace queued events live in.
const KS: &str = "lambda-async";
/// Default retries of a failed async invocation.
const MAX_RETRIES: u32 = 2;
/// Default maximum event age.
const MAX_AGE_MS: u64 = 6 * 60 * 60 * 1000;
/// Asynchronous invocations running at once; the rest wait in the queue
/// (a burst does not start thousands of environments at once, nor throttle
/// itself into long back-offs).
const IN_FLIGHT: usize = 32;

/// One queued asynchronous invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsyncEvent {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub function: String,
    /// Qualifier, if any.
    pub qualifier: Option<String>,
    /// JSON payload.
    pub payload: String,
    /// Request id given to the caller.
    pub request_id: String,
    /// Attempts made so far.
    pub attempt: u32,
    /// When it was accepted, epoch ms.
    pub enqueued_at: u64,
    /// Not to be run before this time, epoch ms.
    pub not_before: u64,
    /// Throttles (and other retriable failures) so far, for back-off.
    #[serde(default)]
    pub throttles: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "schema")]
enum Stored {
    #[serde(rename = "async-event/1")]
    V1(AsyncEvent),
}

/// Pending events by store key (ordered by acceptance).
pub struct AsyncQueue {
    store: Store,
    seq: AtomicU64,
    pending: Mutex<BTreeMap<Vec<u8>, AsyncEvent>>,
    notify: Notify,
}

impl AsyncQueue {
    /// A queue over `store`; [`start`] loads what a previous run left.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            seq: AtomicU64::new(0),
            pending: Mutex::new(BTreeMap::new()),
            notify: Notify::new(),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, AsyncEvent>> {
        match self.pending.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        }
    }

    /// Accepts an event durably.
    pub async fn enqueue(&self, event: AsyncEvent) -> Result<()> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let key =
            format!("q/{:013}/{seq:010}/{}", event.enqueued_at, event.request_id).into_bytes();
        let value = serde_json::to_vec(&Stored::V1(event.clone())).unwrap_or_default();
        self.store
            .write(vec![Op::Put {
                ks: KS,
                key: key.clone(),
                value,
            }])
            .await?;
        self.pending().insert(key, event);
        self.notify.notify_one();
        Ok(())
    }

    async fn reschedule(&self, key: Vec<u8>, event: AsyncEvent) {
        let value = serde_json::to_vec(&Stored::V1(event.clone())).unwrap_or_default();
        if let Err(e) = self
            .store
            .write(vec![Op::Put {
                ks: KS,
                key: key.clone(),
                value,
            }])
            .await
        {
            tracing::error!(error = %e, "could not persist async retry");
        }
        self.pending().insert(key, event);
        self.notify.notify_one();
    }

    async fn finish(&self, key: Vec<u8>) {
        if let Err(e) = self.store.write(vec![Op::Delete { ks: KS, key }]).await {
            tracing::error!(error = %e, "could not remove finished async event");
        }
    }

    /// Takes up to `max` of the events that are due, oldest first; returns
    /// them and the next due time of the rest.
    fn due(&self, now: u64, max: usize) -> (Vec<(Vec<u8>, AsyncEvent)>, Option<u64>) {
        let mut pending = self.pending();
        let keys: Vec<Vec<u8>> = pending
            .iter()
            .filter(|(_, e)| e.not_before <= now)
            .map(|(k, _)| k.clone())
            .take(max)
            .collect();
        let due = keys
            .into_iter()
            .filter_map(|k| pending.remove(&k).map(|e| (k, e)))
            .collect();
        let next = pending.values().map(|e| e.not_before).min();
        (due, next)
    }
}

/// Loads queued events and starts the poller.
pub(crate) fn start(l: &Arc<Lambda>) {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let batch = l
            .store
            .scan(KS, b"q/", after.as_deref(), 1000)
            .unwrap_or_default();
        let Some(last) = batch.last() else { break };
        after = Some(last.0.clone());
        let mut pending = l.queue.pending();
        for (k, v) in batch {
            if let Ok(Stored::V1(e)) = serde_json::from_slice::<Stored>(&v) {
                pending.insert(k, e);
            }
        }
    }
    let l = l.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    tokio::spawn(async move {
        loop {
            let now = l.clock.now_millis();
            let (due, next) = l.queue.due(now, slots.available_permits());
            let saturated = slots.available_permits() == 0;
            for (key, event) in due {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    l.queue.pending().insert(key, event);
                    continue;
                };
                let l = l.clone();
                tokio::spawn(async move {
                    run(&l, key, event).await;
                    drop(slot);
                    l.queue.notify.notify_one();
                });
            }
            let wait = if saturated {
                1000
            } else {
                next.map(|n| n.saturating_sub(now).clamp(1, 1000))
                    .unwrap_or(1000)
            };
            let notified = l.queue.notify.notified();
            let _ = tokio::time::timeout(std::time::Duration::from_millis(wait), notified).await;
        }
    });
}

/// Throttle back-off: 1 s doubling up to 5 min.
fn backoff_ms(attempt: u32) -> u64 {
    1000u64.saturating_mul(1 << attempt.min(9)).min(300_000)
}

/// How an asynchronous invocation ended, for its destination record.
enum Ending {
    /// The function returned this.
    Success(Bytes, String),
    /// The function failed on every attempt: its error, the version that ran.
    RetriesExhausted(Bytes, String, String),
    /// The event got older than its maximum age before it could run.
    EventAgeExceeded,
}

async fn run(l: &Lambda, key: Vec<u8>, mut event: AsyncEvent) {
    let fkey = crate::registry::FnKey {
        account: event.account.clone(),
        region: event.region.clone(),
        name: event.function.clone(),
    };
    let cfg = crate::ops::event_invoke::effective(l, &fkey, event.qualifier.as_deref())
        .unwrap_or_default();
    let max_retries = cfg.max_retry_attempts.unwrap_or(MAX_RETRIES);
    let max_age = cfg
        .max_event_age_secs
        .map_or(MAX_AGE_MS, |s| u64::from(s) * 1000);
    let now = l.clock.now_millis();
    let target = match invoke::resolve(l, &fkey, event.qualifier.as_deref()) {
        Ok(t) => t,
        Err(_) => {
            // The function is gone: nothing left to deliver to.
            l.queue.finish(key).await;
            return;
        }
    };
    if now.saturating_sub(event.enqueued_at) > max_age {
        tracing::warn!(request_id = %event.request_id, "async event expired (maximum event age)");
        conclude(l, &target, &event, &cfg, Ending::EventAgeExceeded).await;
        l.queue.finish(key).await;
        return;
    }
    let payload = if event.payload.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        Bytes::from(event.payload.clone())
    };
    match invoke::execute(l, &target, event.request_id.clone(), payload, None, false).await {
        Ok(exec) => match exec.outcome {
            serval_sandbox::Outcome::Success(body) => {
                event.attempt += 1;
                let ending = Ending::Success(body, target.version.clone());
                conclude(l, &target, &event, &cfg, ending).await;
                l.queue.finish(key).await;
            }
            serval_sandbox::Outcome::Error { body, error_type } => {
                event.attempt += 1;
                if event.attempt > max_retries {
                    let ending = Ending::RetriesExhausted(body, error_type, target.version.clone());
                    conclude(l, &target, &event, &cfg, ending).await;
                    l.queue.finish(key).await;
                } else {
                    event.not_before = l.clock.now_millis() + 60_000 * u64::from(event.attempt);
                    l.queue.reschedule(key, event).await;
                }
            }
        },
        Err(LambdaError::TooManyRequests { .. }) | Err(LambdaError::Internal(_)) => {
            event.throttles = event.throttles.saturating_add(1);
            event.not_before = l.clock.now_millis() + backoff_ms(event.throttles - 1);
            l.queue.reschedule(key, event).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, request_id = %event.request_id, "async invocation dropped");
            l.queue.finish(key).await;
        }
    }
}

/// The JSON of a payload, or the payload as a string when it is not JSON.
fn json_or_string(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(b).into_owned()))
}

/// Lambda's destination record (version 1.0) for an ending.
fn record(
    target: &invoke::Target,
    event: &AsyncEvent,
    ending: &Ending,
    now_ms: u64,
) -> serde_json::Value {
    use serde_json::json;
    let condition = match ending {
        Ending::Success(..) => "Success",
        Ending::RetriesExhausted(..) => "RetriesExhausted",
        Ending::EventAgeExceeded => "EventAgeExceeded",
    };
    let function_arn = match &event.qualifier {
        Some(q) => format!("{}:{q}", target.key.arn()),
        None => format!("{}:$LATEST", target.key.arn()),
    };
    let mut r = json!({
        "version": "1.0",
        "timestamp": serval_core::time::iso8601(now_ms),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": event.attempt,
        },
        "requestPayload": json_or_string(event.payload.as_bytes()),
    });
    match ending {
        Ending::Success(body, version) => {
            r["responseContext"] = json!({"statusCode": 200, "executedVersion": version});
            r["responsePayload"] = json_or_string(body);
        }
        Ending::RetriesExhausted(body, _, version) => {
            r["responseContext"] = json!({
                "statusCode": 200,
                "executedVersion": version,
                "functionError": "Unhandled",
            });
            r["responsePayload"] = json_or_string(body);
        }
        Ending::EventAgeExceeded => {}
    }
    r
}

/// Sends an ending to its destination and, for failures, to the
/// function's dead-letter queue.
async fn conclude(
    l: &Lambda,
    target: &invoke::Target,
    event: &AsyncEvent,
    cfg: &crate::model::EventInvokeConfig,
    ending: Ending,
) {
    let Some(sink) = l.event_sink.get() else {
        return;
    };
    let success = matches!(ending, Ending::Success(..));
    let dest = if success {
        &cfg.on_success
    } else {
        &cfg.on_failure
    };
    if let Some(arn) = dest {
        let body = record(target, event, &ending, l.clock.now_millis()).to_string();
        let mut d = serval_core::Delivery::new(arn.clone(), body);
        d.source = "lambda".into();
        d.detail_type = if success {
            "Lambda Function Invocation Result - Success"
        } else {
            "Lambda Function Invocation Result - Failure"
        }
        .into();
        d.resources = vec![target.invoked_arn.clone()];
        if let Err(e) = sink.deliver(d).await {
            tracing::warn!(destination = %arn, error = %e.message, "could not deliver an async invocation record");
        }
    }
    if success {
        return;
    }
    let Some(dlq) = target.record.dead_letter_target.clone() else {
        return;
    };
    let (code, message) = match &ending {
        Ending::RetriesExhausted(body, error_type, _) => {
            let msg = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| error_type.clone());
            ("200".to_string(), msg)
        }
        _ => ("200".to_string(), "Event age exceeded".to_string()),
    };
    let mut d = serval_core::Delivery::new(dlq.clone(), event.payload.clone());
    d.attributes = vec![
        ("RequestID".into(), "String", event.request_id.clone()),
        ("ErrorCode".into(), "Number", code),
        ("ErrorMessage".into(), "String", message),
    ];
    if let Err(e) = sink.deliver(d).await {
        tracing::warn!(dlq = %dlq, error = %e.message, "could not deliver to the dead-letter queue");
    }
}
