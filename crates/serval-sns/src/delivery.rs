//! The delivery engine: works off the durable jobs that Publish and
//! Subscribe commit, one task per delivery (at most [`MAX_IN_FLIGHT`]),
//! in order per FIFO message group and subscription.
//!
//! A job that succeeds is deleted. A client-side failure (the queue or
//! function no longer exists) goes straight to the subscription's
//! dead-letter queue, as SNS does; a server-side failure is retried with
//! SNS's policy for the protocol (SQS and Lambda: 3 immediate retries, 2 a
//! second apart, 10 backing off to 20 s, then every 20 s, 100,015 attempts
//! in all; HTTP(S): the subscription's or topic's delivery policy, by
//! default 3 retries 20 s apart) on the platform clock, then goes to the
//! dead-letter queue or is dropped. Retries are written back to the store,
//! so a restart resumes where it stopped: at-least-once.

use crate::message::{self, Notification};
use crate::store::{self, Job, JobKind, Mail};
use crate::Sns;
use serde_json::Value as Json;
use serval_core::events::Delivery;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Deliveries running at once.
pub const MAX_IN_FLIGHT: usize = 64;

#[derive(Default)]
struct Queue {
    jobs: BTreeMap<(u64, u64), Job>,
    /// FIFO lanes: every pending or running job's seq.
    lanes: HashMap<String, BTreeSet<u64>>,
    running_lanes: HashSet<String>,
}

/// Pending deliveries in memory (mirroring the `sns_job` keyspace).
#[derive(Default)]
pub struct Engine {
    queue: Mutex<Queue>,
    notify: tokio::sync::Notify,
    in_flight: AtomicUsize,
}

impl Engine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    fn q(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jobs read from the store at start.
    pub fn load(&self, jobs: Vec<Job>) {
        for j in jobs {
            self.push(j);
        }
    }

    /// Adds a job (its record is already submitted to the store).
    pub fn push(&self, job: Job) {
        let mut q = self.q();
        if let Some(lane) = &job.lane {
            q.lanes.entry(lane.clone()).or_default().insert(job.seq);
        }
        q.jobs.insert((job.due, job.seq), job);
    }

    /// Wakes the dispatcher.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// How many jobs wait (tests, health).
    pub fn pending(&self) -> usize {
        self.q().jobs.len()
    }

    /// Due jobs that may run now (at most `max`), and the next due time.
    fn take_ready(&self, now: u64, max: usize) -> (Vec<Job>, Option<u64>) {
        let mut q = self.q();
        let mut keys = Vec::new();
        let mut next = None;
        let mut claimed: HashSet<String> = HashSet::new();
        for ((due, seq), job) in q.jobs.iter() {
            if *due > now {
                next = Some(*due);
                break;
            }
            if keys.len() >= max {
                break;
            }
            if let Some(lane) = &job.lane {
                let head = q.lanes.get(lane).and_then(|s| s.first().copied());
                if q.running_lanes.contains(lane) || claimed.contains(lane) || head != Some(*seq) {
                    continue;
                }
                claimed.insert(lane.clone());
            }
            keys.push((*due, *seq));
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(j) = q.jobs.remove(&k) {
                if let Some(lane) = &j.lane {
                    q.running_lanes.insert(lane.clone());
                }
                out.push(j);
            }
        }
        (out, next)
    }

    /// A job is finished for good (delivered, dead-lettered or dropped).
    fn finish(&self, job: &Job) {
        let mut q = self.q();
        if let Some(lane) = &job.lane {
            q.running_lanes.remove(lane);
            let empty = q.lanes.get_mut(lane).is_some_and(|s| {
                s.remove(&job.seq);
                s.is_empty()
            });
            if empty {
                q.lanes.remove(lane);
            }
        }
    }

    /// A job goes back to wait for its next attempt.
    fn reschedule(&self, job: Job) {
        let mut q = self.q();
        if let Some(lane) = &job.lane {
            q.running_lanes.remove(lane);
        }
        q.jobs.insert((job.due, job.seq), job);
    }
}

/// Starts the dispatcher.
pub fn spawn(sns: &Arc<Sns>) {
    let sns = sns.clone();
    tokio::spawn(async move {
        loop {
            let now = sns.now();
            let running = sns.engine.in_flight.load(Ordering::Relaxed);
            let (ready, next) = sns
                .engine
                .take_ready(now, MAX_IN_FLIGHT.saturating_sub(running));
            for job in ready {
                sns.engine.in_flight.fetch_add(1, Ordering::Relaxed);
                let s = sns.clone();
                tokio::spawn(async move {
                    run(&s, job).await;
                    s.engine.in_flight.fetch_sub(1, Ordering::Relaxed);
                    s.engine.wake();
                });
            }
            let wait = next
                .map(|due| {
                    sns.clock
                        .real_duration(Duration::from_millis(due.saturating_sub(now)))
                })
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(1), Duration::from_secs(1));
            tokio::select! {
                _ = sns.engine.notify.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
}

/// Why a delivery failed.
#[derive(Debug)]
enum Failure {
    /// The endpoint is gone or refuses for good: no retries.
    Client(String),
    /// Worth retrying.
    Server(String),
}

/// Runs one job to its next state.
async fn run(sns: &Arc<Sns>, mut job: Job) {
    let sub = sns.lock().subs.get(&job.sub).map(|s| s.rec.clone());
    let Some(sub) = sub else {
        // Unsubscribed (or the topic deleted) since: nothing to deliver to.
        drop_job(sns, &job);
        return;
    };
    let topic_policy = sns
        .lock()
        .topics
        .get(&job.topic)
        .and_then(|t| t.attributes.get("DeliveryPolicy").cloned());
    let raw = sub
        .attributes
        .get("RawMessageDelivery")
        .is_some_and(|v| v == "true");
    let result = attempt(sns, &job, raw).await;
    match result {
        Ok(()) => drop_job(sns, &job),
        Err(failure) => {
            job.attempts += 1;
            let delay = match &failure {
                Failure::Client(_) => None,
                Failure::Server(_) => match job.protocol.as_str() {
                    "http" | "https" => HttpRetry::of(
                        sub.attributes.get("DeliveryPolicy").map(String::as_str),
                        topic_policy.as_deref(),
                    )
                    .delay(job.attempts),
                    _ => managed_delay(job.attempts),
                },
            };
            let why = match &failure {
                Failure::Client(m) | Failure::Server(m) => m.clone(),
            };
            match delay {
                Some(d) => {
                    tracing::debug!(sub = %job.sub, attempt = job.attempts, error = %why, "sns delivery failed; retrying");
                    job.due = sns.now() + d.as_millis() as u64;
                    sns.store.write_detached(vec![store::put_job(&job)]);
                    sns.engine.reschedule(job);
                }
                None => {
                    tracing::info!(sub = %job.sub, attempts = job.attempts, error = %why, "sns delivery failed for good");
                    if let JobKind::Notify { n } = &job.kind {
                        if let Some(dlq) = sub
                            .attributes
                            .get("RedrivePolicy")
                            .and_then(|p| serde_json::from_str::<Json>(p).ok())
                            .and_then(|p| {
                                p.get("deadLetterTargetArn")?.as_str().map(str::to_string)
                            })
                        {
                            dead_letter(sns, &dlq, &job, n, raw).await;
                        }
                    }
                    drop_job(sns, &job);
                }
            }
        }
    }
}

fn drop_job(sns: &Sns, job: &Job) {
    sns.store.write_detached(vec![store::delete_job(job.seq)]);
    sns.engine.finish(job);
}

/// SNS's policy for AWS-managed endpoints (SQS, Lambda): the delay before
/// attempt `attempts + 1`, or None after 100,015 attempts.
fn managed_delay(attempts: u32) -> Option<Duration> {
    let secs = match attempts {
        0..=3 => 0.0,
        4..=5 => 1.0,
        6..=15 => {
            let k = f64::from(attempts - 5);
            20f64.powf(k / 10.0)
        }
        16..=100_014 => 20.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// An HTTP(S) retry policy (`healthyRetryPolicy`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRetry {
    min_delay: f64,
    max_delay: f64,
    num_retries: u32,
    no_delay: u32,
    min_delay_retries: u32,
    max_delay_retries: u32,
    backoff: String,
}

impl Default for HttpRetry {
    fn default() -> Self {
        HttpRetry {
            min_delay: 20.0,
            max_delay: 20.0,
            num_retries: 3,
            no_delay: 0,
            min_delay_retries: 0,
            max_delay_retries: 0,
            backoff: "linear".into(),
        }
    }
}

impl HttpRetry {
    /// The policy from a subscription's DeliveryPolicy (`healthyRetryPolicy`)
    /// over its topic's (`http.defaultHealthyRetryPolicy`) over the default.
    pub fn of(sub: Option<&str>, topic: Option<&str>) -> HttpRetry {
        let mut p = HttpRetry::default();
        let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Json>(s).ok());
        if let Some(t) = parse(topic) {
            p.apply(&t["http"]["defaultHealthyRetryPolicy"]);
        }
        if let Some(s) = parse(sub) {
            p.apply(&s["healthyRetryPolicy"]);
        }
        p
    }

    fn apply(&mut self, v: &Json) {
        let n = |k: &str| v.get(k).and_then(Json::as_f64);
        if let Some(x) = n("minDelayTarget") {
            self.min_delay = x.max(0.0);
        }
        if let Some(x) = n("maxDelayTarget") {
            self.max_delay = x.max(0.0);
        }
        if let Some(x) = n("numRetries") {
            self.num_retries = x.clamp(0.0, 100.0) as u32;
        }
        if let Some(x) = n("numNoDelayRetries") {
            self.no_delay = x.max(0.0) as u32;
        }
        if let Some(x) = n("numMinDelayRetries") {
            self.min_delay_retries = x.max(0.0) as u32;
        }
        if let Some(x) = n("numMaxDelayRetries") {
            self.max_delay_retries = x.max(0.0) as u32;
        }
        if let Some(b) = v.get("backoffFunction").and_then(Json::as_str) {
            self.backoff = b.to_string();
        }
    }

    /// The delay before retry number `retry` (1-based), None when the policy is exhausted.
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry > self.num_retries {
            return None;
        }
        let (min, max) = (self.min_delay, self.max_delay.max(self.min_delay));
        let backoff_n = self
            .num_retries
            .saturating_sub(self.no_delay + self.min_delay_retries + self.max_delay_retries);
        let secs = if retry <= self.no_delay {
            0.0
        } else if retry <= self.no_delay + self.min_delay_retries {
            min
        } else if retry <= self.no_delay + self.min_delay_retries + backoff_n {
            let k = f64::from(retry - self.no_delay - self.min_delay_retries);
            let f = k / f64::from(backoff_n.max(1));
            match self.backoff.as_str() {
                "exponential" if min > 0.0 => min * (max / min).powf(f),
                "geometric" => min + (max - min) * f * f * f,
                "arithmetic" => min + (max - min) * f * f,
                _ => min + (max - min) * f,
            }
        } else {
            max
        };
        Some(Duration::from_secs_f64(secs))
    }
}

/// Whether an error from another service means the endpoint is gone.
fn is_client_error(code: &str) -> bool {
    code.contains("NotFound")
        || code.contains("QueueDoesNotExist")
        || code.contains("NonExistentQueue")
        || code.contains("AccessDenied")
        || code.contains("InvalidParameter")
        || code.contains("Validation")
}

/// SQS message attributes from SNS's.
fn sqs_attributes(n: &Notification) -> BTreeMap<String, serval_core::MessageAttribute> {
    use base64::Engine;
    n.attributes
        .iter()
        .map(|(k, a)| {
            let binary = a
                .binary_value
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
            let data_type = if a.data_type == "String.Array" {
                "String".to_string()
            } else {
                a.data_type.clone()
            };
            (
                k.clone(),
                serval_core::MessageAttribute {
                    data_type,
                    string_value: a.string_value.clone(),
                    binary_value: binary,
                },
            )
        })
        .collect()
}

/// One attempt at a job.
async fn attempt(sns: &Arc<Sns>, job: &Job, raw: bool) -> Result<(), Failure> {
    match (&job.kind, job.protocol.as_str()) {
        (JobKind::Notify { n }, "sqs") => {
            let Some(queues) = sns.queues() else {
                return Err(Failure::Server("SQS is not wired".into()));
            };
            let fifo_queue = queues.queue(&job.endpoint).map(|q| q.fifo);
            let Some(fifo_queue) = fifo_queue else {
                return Err(Failure::Client(format!(
                    "the queue {} does not exist",
                    job.endpoint
                )));
            };
            let (body, attrs) = if raw {
                (n.message.clone(), sqs_attributes(n))
            } else {
                (message::envelope(n, &job.sub, &sns.links), BTreeMap::new())
            };
            let (group_id, dedup_id) = if fifo_queue {
                (
                    Some(n.group_id.clone().unwrap_or_else(|| "default".into())),
                    Some(n.dedup_id.clone().unwrap_or_else(|| n.id.clone())),
                )
            } else {
                (None, None)
            };
            queues
                .send(serval_core::SendMessage {
                    queue_arn: job.endpoint.clone(),
                    body,
                    message_attributes: attrs,
                    group_id,
                    dedup_id,
                    ..Default::default()
                })
                .await
                .map(|_| ())
                .map_err(|e| classify(&e.code, e.message))
        }
        (JobKind::Notify { n }, "lambda") => {
            let Some(sink) = sns.sink() else {
                return Err(Failure::Server("Lambda is not wired".into()));
            };
            let event = message::lambda_event(n, &job.sub, &sns.links);
            sink.deliver(Delivery::new(job.endpoint.clone(), event))
                .await
                .map_err(|e| classify(&e.code, e.message))
        }
        (JobKind::Notify { n }, "http" | "https") => {
            let body = if raw {
                n.message.clone()
            } else {
                message::envelope(n, &job.sub, &sns.links)
            };
            let mut headers = vec![
                ("x-amz-sns-message-type", "Notification".to_string()),
                ("x-amz-sns-message-id", n.id.clone()),
                ("x-amz-sns-topic-arn", n.topic_arn.clone()),
                ("x-amz-sns-subscription-arn", job.sub.clone()),
                ("content-type", "text/plain; charset=UTF-8".to_string()),
                (
                    "user-agent",
                    "Amazon Simple Notification Service Agent".to_string(),
                ),
            ];
            if raw {
                headers.push(("x-amz-sns-rawdelivery", "true".to_string()));
            }
            post(sns, &job.endpoint, &headers, body).await
        }
        (JobKind::Confirm { id, token, ts }, "http" | "https") => {
            let body = message::confirmation(id, &job.topic, token, *ts, &sns.links);
            let headers = vec![
                (
                    "x-amz-sns-message-type",
                    "SubscriptionConfirmation".to_string(),
                ),
                ("x-amz-sns-message-id", id.clone()),
                ("x-amz-sns-topic-arn", job.topic.clone()),
                ("content-type", "text/plain; charset=UTF-8".to_string()),
                (
                    "user-agent",
                    "Amazon Simple Notification Service Agent".to_string(),
                ),
            ];
            post(sns, &job.endpoint, &headers, body).await
        }
        (JobKind::Notify { n }, "email" | "email-json") => {
            let display = sns
                .lock()
                .topics
                .get(&job.topic)
                .and_then(|t| t.attributes.get("DisplayName").cloned());
            let body = if job.protocol == "email-json" {
                message::envelope(n, &job.sub, &sns.links)
            } else {
                format!(
                    "{}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n{}\n\nPlease do not reply directly to this email. If you have any questions or comments regarding this email, please contact us at https://aws.amazon.com/support",
                    n.message,
                    sns.links.unsubscribe_url(&job.sub)
                )
            };
            let mail = Mail {
                v: 1,
                seq: job.seq,
                message_id: n.id.clone(),
                timestamp: n.timestamp,
                from: crate::ops::subscriptions::mail_from(display.as_deref()),
                to: job.endpoint.clone(),
                subject: n
                    .subject
                    .clone()
                    .unwrap_or_else(|| "AWS Notification Message".into()),
                body,
                kind: "notification".into(),
                topic_arn: n.topic_arn.clone(),
                subscription_arn: job.sub.clone(),
                confirm_url: None,
                token: None,
            };
            // The mail and the end of the job in one commit: exactly once.
            sns.store
                .write(vec![store::put_mail(&mail), store::delete_job(job.seq)])
                .await
                .map_err(|e| Failure::Server(e.to_string()))
        }
        (_, other) => {
            tracing::debug!(
                protocol = other,
                "sns: protocol not delivered by Serval; dropped"
            );
            Ok(())
        }
    }
}

fn classify(code: &str, message: String) -> Failure {
    if is_client_error(code) {
        Failure::Client(format!("{code}: {message}"))
    } else {
        Failure::Server(format!("{code}: {message}"))
    }
}

async fn post(
    sns: &Sns,
    url: &str,
    headers: &[(&str, String)],
    body: String,
) -> Result<(), Failure> {
    match sns.http.post(url, headers, body).await {
        Ok(status) if (200..300).contains(&status) => Ok(()),
        Ok(status) => Err(Failure::Server(format!("HTTP status {status}"))),
        Err(e) => Err(Failure::Server(e)),
    }
}

/// Sends an undeliverable message to the subscription's dead-letter queue:
/// the body that was to be delivered (the JSON envelope, or the raw
/// message with raw delivery) and the message attributes.
async fn dead_letter(sns: &Sns, dlq: &str, job: &Job, n: &Notification, raw: bool) {
    let Some(queues) = sns.queues() else { return };
    let Some(info) = queues.queue(dlq) else {
        tracing::warn!(dlq, sub = %job.sub, "the subscription's dead-letter queue does not exist; message dropped");
        return;
    };
    let body = if raw {
        n.message.clone()
    } else {
        message::envelope(n, &job.sub, &sns.links)
    };
    let (group_id, dedup_id) = if info.fifo {
        (
            Some(n.group_id.clone().unwrap_or_else(|| "default".into())),
            Some(n.dedup_id.clone().unwrap_or_else(|| n.id.clone())),
        )
    } else {
        (None, None)
    };
    let r = queues
        .send(serval_core::SendMessage {
            queue_arn: dlq.to_string(),
            body,
            message_attributes: sqs_attributes(n),
            group_id,
            dedup_id,
            ..Default::default()
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(dlq, error = %e, "sending to the subscription's dead-letter queue failed; message dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_http_policy_is_three_retries_twenty_seconds_apart() {
        let p = HttpRetry::of(None, None);
        assert_eq!(p.delay(1), Some(Duration::from_secs(20)));
        assert_eq!(p.delay(3), Some(Duration::from_secs(20)));
        assert_eq!(p.delay(4), None);
    }

    #[test]
    fn subscription_policy_overrides_topic_policy() {
        let topic = r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":5,"minDelayTarget":1,"maxDelayTarget":1}}}"#;
        let sub = r#"{"healthyRetryPolicy":{"numRetries":4,"numNoDelayRetries":1,"minDelayTarget":2,"maxDelayTarget":10,"backoffFunction":"linear"}}"#;
        let t = HttpRetry::of(None, Some(topic));
        assert_eq!(t.delay(5), Some(Duration::from_secs(1)));
        assert_eq!(t.delay(6), None);
        let s = HttpRetry::of(Some(sub), Some(topic));
        assert_eq!(s.delay(1), Some(Duration::ZERO));
        // 3 backoff retries from 2 s to 10 s, linear.
        let d2 = s.delay(2).unwrap().as_secs_f64();
        let d4 = s.delay(4).unwrap().as_secs_f64();
        assert!((d2 - (2.0 + 8.0 / 3.0)).abs() < 1e-6, "{d2}");
        assert!((d4 - 10.0).abs() < 1e-6, "{d4}");
        assert_eq!(s.delay(5), None);
    }

    #[test]
    fn managed_policy_phases() {
        assert_eq!(managed_delay(1), Some(Duration::ZERO));
        assert_eq!(managed_delay(3), Some(Duration::ZERO));
        assert_eq!(managed_delay(4), Some(Duration::from_secs(1)));
        assert!(managed_delay(15).unwrap().as_secs_f64() > 19.0);
        assert_eq!(managed_delay(16), Some(Duration::from_secs(20)));
        assert_eq!(managed_delay(100_015), None);
    }

    fn job(seq: u64, due: u64, lane: Option<&str>) -> Job {
        Job {
            v: 1,
            seq,
            sub: "s".into(),
            topic: "t".into(),
            protocol: "sqs".into(),
            endpoint: "e".into(),
            attempts: 0,
            due,
            lane: lane.map(str::to_string),
            kind: JobKind::Confirm {
                id: "i".into(),
                token: "t".into(),
                ts: 0,
            },
        }
    }

    #[test]
    fn fifo_lanes_run_one_at_a_time_in_order() {
        let e = Engine::new();
        e.push(job(1, 0, Some("a")));
        e.push(job(2, 0, Some("a")));
        e.push(job(3, 0, Some("b")));
        e.push(job(4, 0, None));
        e.push(job(5, 100, None));
        let (ready, next) = e.take_ready(10, 10);
        let seqs: Vec<u64> = ready.iter().map(|j| j.seq).collect();
        assert_eq!(seqs, vec![1, 3, 4]);
        assert_eq!(next, Some(100));
        // Lane a waits for job 1; a retry of 1 keeps 2 behind it.
        let mut first = ready.into_iter().next().unwrap();
        first.due = 50;
        e.reschedule(first);
        let (ready, _) = e.take_ready(20, 10);
        assert!(
            ready.is_empty(),
            "{:?}",
            ready.iter().map(|j| j.seq).collect::<Vec<_>>()
        );
        let (ready, _) = e.take_ready(60, 10);
        assert_eq!(ready.iter().map(|j| j.seq).collect::<Vec<_>>(), vec![1]);
        e.finish(&ready[0]);
        let (ready, _) = e.take_ready(60, 10);
        assert_eq!(ready.iter().map(|j| j.seq).collect::<Vec<_>>(), vec![2]);
    }
}
