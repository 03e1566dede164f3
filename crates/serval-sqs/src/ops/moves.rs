//! Message move tasks (dead-letter queue redrive): StartMessageMoveTask,
//! ListMessageMoveTasks, CancelMessageMoveTask. A task moves the visible
//! messages of a dead-letter queue back to the queues they came from (or to
//! a destination queue) in the background, at most
//! `MaxNumberOfMessagesPerSecond` a second. Tasks live in memory: a task
//! running when Serval stops does not resume (the messages it had not moved
//! stay in the dead-letter queue).

use super::{CancelMoveIn, ListMovesIn, StartMoveIn};
use crate::error::{invalid, Kind, Result, SqsError};
use crate::queue::Message;
use crate::{names, Sqs};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use std::collections::HashMap;

/// How often the background loop runs a step, in ms (see `Sqs::spawn_background`).
const STEP_MS: u64 = 500;
/// Messages moved per step when no rate is given.
const DEFAULT_PER_STEP: usize = 500;

/// A move task.
#[derive(Debug, Clone)]
pub struct MoveTask {
    /// Opaque handle.
    pub handle: String,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED.
    pub status: &'static str,
    /// The dead-letter queue.
    pub source_arn: String,
    /// Where to, when not each message's source.
    pub destination_arn: Option<String>,
    /// Rate limit.
    pub rate: Option<u32>,
    /// Moved so far.
    pub moved: u64,
    /// Visible messages in the source when it started.
    pub to_move: u64,
    /// Why it failed.
    pub failure: Option<String>,
    /// Start, epoch ms.
    pub started_ms: u64,
}

fn not_found(what: &str) -> SqsError {
    SqsError::new(
        Kind::ResourceNotFoundException,
        format!("The resource that you specified for the {what} parameter doesn't exist."),
    )
}

fn tasks(sqs: &Sqs) -> std::sync::MutexGuard<'_, Vec<MoveTask>> {
    sqs.tasks.lock().unwrap_or_else(|p| p.into_inner())
}

/// StartMessageMoveTask.
pub fn start(sqs: &Sqs, _ctx: &RequestContext, i: StartMoveIn) -> Result<Json> {
    let src = sqs
        .by_arn(&i.source_arn)
        .ok_or_else(|| not_found("SourceArn"))?;
    let is_dlq = sqs.queues_of(&src.account, &src.region).iter().any(|q| {
        q.lock()
            .st
            .cfg
            .redrive
            .as_ref()
            .is_some_and(|r| r.dlq_arn == src.arn)
    });
    if !is_dlq {
        return Err(invalid(
            "Source queue must be configured as a Dead Letter Queue.",
        ));
    }
    if let Some(d) = &i.destination_arn {
        let dest = sqs.by_arn(d).ok_or_else(|| not_found("DestinationArn"))?;
        if dest.fifo != src.fifo {
            return Err(invalid(
                "The destination queue must be of the same type as the source queue.",
            ));
        }
    }
    let rate = match i.max_number_of_messages_per_second {
        None => None,
        Some(r) if (1..=500).contains(&r) => Some(r as u32),
        Some(r) => {
            return Err(crate::error::invalid_param(
                r,
                "MaxNumberOfMessagesPerSecond",
                "Must be between 1 and 500.",
            ))
        }
    };
    let to_move = {
        let inner = src.lock();
        let (visible, _, _) = inner.st.counts();
        visible as u64
    };
    let mut all = tasks(sqs);
    if all
        .iter()
        .any(|t| t.source_arn == src.arn && t.status == "RUNNING")
    {
        return Err(invalid("There is already a task running. Only one active task is allowed for a source queue arn at a given time."));
    }
    let handle = STANDARD
        .encode(json!({"taskId": serval_core::ids::uuid_v4(), "sourceArn": src.arn}).to_string());
    all.push(MoveTask {
        handle: handle.clone(),
        status: "RUNNING",
        source_arn: src.arn.clone(),
        destination_arn: i.destination_arn,
        rate,
        moved: 0,
        to_move,
        failure: None,
        started_ms: serval_core::Clock::now_millis(&serval_core::SystemClock),
    });
    Ok(json!({ "TaskHandle": handle }))
}

/// CancelMessageMoveTask.
pub fn cancel(sqs: &Sqs, _ctx: &RequestContext, i: CancelMoveIn) -> Result<Json> {
    let mut all = tasks(sqs);
    let t = all
        .iter_mut()
        .find(|t| t.handle == i.task_handle)
        .ok_or_else(|| SqsError::new(Kind::ResourceNotFoundException, "Task does not exist."))?;
    if t.status != "RUNNING" {
        return Err(invalid("Only active tasks can be cancelled."));
    }
    t.status = "CANCELLED";
    Ok(json!({ "ApproximateNumberOfMessagesMoved": t.moved }))
}

/// ListMessageMoveTasks: the most recent tasks of a source, newest first.
pub fn list(sqs: &Sqs, _ctx: &RequestContext, i: ListMovesIn) -> Result<Json> {
    let max = match i.max_results {
        None => 1,
        Some(n) if (1..=10).contains(&n) => n as usize,
        Some(n) => {
            return Err(crate::error::invalid_param(
                n,
                "MaxResults",
                "Must be between 1 and 10.",
            ))
        }
    };
    if names::parse_arn(&i.source_arn).is_none() || sqs.by_arn(&i.source_arn).is_none() {
        return Err(not_found("SourceArn"));
    }
    let all = tasks(sqs);
    let results: Vec<Json> = all
        .iter()
        .rev()
        .filter(|t| t.source_arn == i.source_arn)
        .take(max)
        .map(|t| {
            let mut m = Map::new();
            if t.status == "RUNNING" {
                m.insert("TaskHandle".into(), t.handle.clone().into());
            }
            m.insert("Status".into(), t.status.into());
            m.insert("SourceArn".into(), t.source_arn.clone().into());
            if let Some(d) = &t.destination_arn {
                m.insert("DestinationArn".into(), d.clone().into());
            }
            if let Some(r) = t.rate {
                m.insert("MaxNumberOfMessagesPerSecond".into(), r.into());
            }
            m.insert("ApproximateNumberOfMessagesMoved".into(), t.moved.into());
            m.insert("ApproximateNumberOfMessagesToMove".into(), t.to_move.into());
            if let Some(f) = &t.failure {
                m.insert("FailureReason".into(), f.clone().into());
            }
            m.insert("StartedTimestamp".into(), t.started_ms.into());
            Json::Object(m)
        })
        .collect();
    Ok(json!({ "Results": results }))
}

/// Runs one step of every running task.
pub async fn step(sqs: &Sqs) {
    let running: Vec<MoveTask> = tasks(sqs)
        .iter()
        .filter(|t| t.status == "RUNNING")
        .cloned()
        .collect();
    for t in running {
        let (moved, done, failure) = run_step(sqs, &t);
        let mut all = tasks(sqs);
        if let Some(cur) = all.iter_mut().find(|c| c.handle == t.handle) {
            cur.moved += moved;
            if cur.status == "RUNNING" {
                if let Some(f) = failure {
                    cur.status = "FAILED";
                    cur.failure = Some(f);
                } else if done {
                    cur.status = "COMPLETED";
                }
            }
        }
    }
}

/// Moves one step's worth of messages: `(moved, finished, failure)`.
fn run_step(sqs: &Sqs, t: &MoveTask) -> (u64, bool, Option<String>) {
    let Some(src) = sqs.by_arn(&t.source_arn) else {
        return (
            0,
            true,
            Some("AWS.SimpleQueueService.NonExistentQueue".into()),
        );
    };
    let per_step = match t.rate {
        Some(r) => ((u64::from(r) * STEP_MS).div_ceil(1000)).max(1) as usize,
        None => DEFAULT_PER_STEP,
    };
    let left = t.to_move.saturating_sub(t.moved) as usize;
    let now = sqs.now();
    let msgs: Vec<Message> = {
        let mut inner = src.lock();
        inner.st.release(now);
        let taken = inner.st.drain_available(per_step.min(left));
        let mut ops = Vec::new();
        for m in &taken {
            crate::store::delete_msg(&src.uid, m.seq, &mut ops);
        }
        if !ops.is_empty() {
            sqs.store.write_detached(ops);
        }
        taken
    };
    let moved = msgs.len() as u64;
    // Group by destination: the task's, or each message's source queue.
    let mut by_dest: HashMap<String, Vec<Message>> = HashMap::new();
    for m in msgs {
        let dest = t
            .destination_arn
            .clone()
            .or_else(|| m.dlq_source.clone())
            .unwrap_or_default();
        by_dest.entry(dest).or_default().push(m);
    }
    let mut failure = None;
    for (arn, batch) in by_dest {
        match sqs.by_arn(&arn) {
            Some(dest) => crate::ops::messages::move_messages(sqs, &dest, batch, None, now),
            None => {
                // Nowhere to go: the messages stay in the dead-letter queue.
                crate::ops::messages::move_messages(
                    sqs,
                    &src,
                    batch,
                    Some(&arn).filter(|a| !a.is_empty()).map(|a| a.as_str()),
                    now,
                );
                failure = Some("AWS.SimpleQueueService.NonExistentQueue".to_string());
            }
        }
    }
    let finished = moved as usize >= left || moved == 0;
    (moved, finished, failure)
}
