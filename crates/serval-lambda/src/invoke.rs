//! The invoke frontend: resolves the function and qualifier, admits the
//! invocation through the counting service, runs it on an environment from
//! the worker manager and answers like AWS (sync, async or dry run).

use crate::api::{InvocationType, InvokeInput};
use crate::error::{LambdaError, Result};
use crate::logs::tail_base64;
use crate::model::VersionRecord;
use crate::registry::FnKey;
use crate::workers::{AcquireError, PoolKey};
use crate::{not_found, Lambda};
use bytes::Bytes;
use serval_core::{ids, time, RequestContext};
use serval_sandbox::{EnvSpec, Invocation, Outcome, Runtime};
use serval_wire::Response;
use std::sync::Arc;
use std::time::Duration;

/// Largest synchronous request payload.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous request payload.
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;

/// A resolved invocation target.
pub(crate) struct Target {
    pub key: FnKey,
    pub record: Arc<VersionRecord>,
    /// The version that runs (`X-Amz-Executed-Version`).
    pub version: String,
    /// The ARN the caller used, qualified if they qualified it.
    pub invoked_arn: String,
}

/// Resolves name + qualifier, choosing a version by alias weights.
pub(crate) fn resolve(l: &Lambda, key: &FnKey, qualifier: Option<&str>) -> Result<Target> {
    l.registry.read(key, |f| {
        let f = f.ok_or_else(|| not_found(key, qualifier))?;
        let invoked_arn = match qualifier {
            Some(q) => format!("{}:{q}", key.arn()),
            None => key.arn(),
        };
        let version = match qualifier {
            None | Some("$LATEST") => "$LATEST".to_string(),
            Some(q) if f.version(q).is_some() => q.to_string(),
            Some(q) => {
                let a = f.aliases.get(q).ok_or_else(|| not_found(key, Some(q)))?;
                let mut chosen = a.function_version.clone();
                let mut roll = ids::random_unit();
                for (v, w) in &a.routing {
                    if roll < *w {
                        chosen = v.clone();
                        break;
                    }
                    roll -= w;
                }
                chosen
            }
        };
        let record = f
            .version(&version)
            .cloned()
            .ok_or_else(|| not_found(key, Some(&version)))?;
        Ok(Target {
            key: key.clone(),
            record,
            version,
            invoked_arn,
        })
    })
}

/// Builds environment specs for one function version (a new log stream each).
pub(crate) fn spec_factory(
    l: &Lambda,
    key: &FnKey,
    record: &Arc<VersionRecord>,
) -> impl Fn(&'static str) -> EnvSpec + Send + Sync + 'static {
    let code_dir = l.code.dir(&record.code_hex);
    let runtime = Runtime::parse(&record.runtime).unwrap_or(Runtime {
        name: "provided.al2023",
        family: serval_sandbox::RuntimeFamily::Provided,
    });
    let mut env: Vec<(String, String)> = record
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), key.account.clone()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), "serval".into()));
    env.push(("AWS_SESSION_TOKEN".into(), "serval".into()));
    if !record.environment.contains_key("AWS_ENDPOINT_URL") {
        env.push(("AWS_ENDPOINT_URL".into(), l.config.endpoint_url.clone()));
    }
    let record = record.clone();
    let region = key.region.clone();
    let now = l.clock.clone();
    move |init_type| EnvSpec {
        function_name: record.function_name.clone(),
        version: record.version.clone(),
        memory_mb: record.memory_size,
        ephemeral_mb: record.ephemeral_storage,
        handler: record.handler.clone(),
        runtime,
        code_dir: code_dir.clone(),
        region: region.clone(),
        log_group: format!("/aws/lambda/{}", record.function_name),
        log_stream: format!(
            "{}/[{}]{}",
            time::date_slashes(now.now_millis()),
            record.version,
            ids::random_hex(16)
        ),
        initialization_type: init_type,
        env: env.clone(),
    }
}

/// What one execution produced.
pub(crate) struct Execution {
    pub outcome: Outcome,
    pub log_tail: Option<String>,
}

/// Runs one invocation end to end: admission, environment, logs.
pub(crate) async fn execute(
    l: &Lambda,
    target: &Target,
    request_id: String,
    payload: Bytes,
    client_context: Option<String>,
    want_tail: bool,
) -> Result<Execution> {
    let key = &target.key;
    let _slot = l.counting.acquire(&key.account, &key.region, &key.name)?;
    let pool = PoolKey {
        function: key.clone(),
        version: target.version.clone(),
    };
    let record = &target.record;
    let trace_id = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0;Lineage=1",
        l.clock.now_millis() / 1000,
        ids::random_hex(12),
        ids::random_hex(8)
    );
    let mut retried = false;
    let (lease, mut report, started) = loop {
        // Only a cold start needs a spec: build it lazily.
        let make_spec = |init_type| spec_factory(l, key, record)(init_type);
        let mut lease = match l
            .workers
            .acquire(&pool, &record.revision_id, make_spec, record.memory_size)
            .await
        {
            Ok(lease) => lease,
            Err(AcquireError::Throttled(e)) => return Err(e),
            Err(AcquireError::Start(e)) if e.error_type == "Runtime.InvalidRuntime" => {
                return Err(LambdaError::InvalidRuntime(e.message));
            }
            Err(AcquireError::Start(e)) => {
                let message = format!("RequestId: {request_id} Error: {}", e.message);
                let outcome = Outcome::Error {
                    body: serval_sandbox::error_body(&e.error_type, &message),
                    error_type: e.error_type.clone(),
                };
                let mut lines = vec![(
                    l.clock.now_millis(),
                    format!("START RequestId: {request_id} Version: {}", target.version),
                )];
                lines.push((l.clock.now_millis(), message));
                lines.push((l.clock.now_millis(), format!("END RequestId: {request_id}")));
                let group = format!("/aws/lambda/{}", key.name);
                l.logs
                    .append(&key.account, &key.region, &group, "startup", &lines);
                return Ok(Execution {
                    outcome,
                    log_tail: want_tail.then(|| tail_base64(&lines)),
                });
            }
        };
        let inv = Invocation {
            request_id: request_id.clone(),
            payload: payload.clone(),
            timeout: Duration::from_secs(u64::from(record.timeout)),
            invoked_function_arn: target.invoked_arn.clone(),
            trace_id: trace_id.clone(),
            client_context: client_context.clone(),
            cognito_identity: None,
        };
        let started = l.clock.now_millis();
        let report = lease.env.invoke(inv).await;
        // A warm environment whose runtime exited between invocations never saw
        // this event: run it once more on a fresh environment.
        if !report.delivered && !lease.cold && !retried {
            retried = true;
            l.workers.release(lease, false);
            continue;
        }
        break (lease, report, started);
    };
    let now = l.clock.now_millis();
    let mut lines = Vec::with_capacity(report.log_lines.len() + 4);
    lines.push((
        started,
        format!("START RequestId: {request_id} Version: {}", target.version),
    ));
    lines.append(&mut report.log_lines);
    if report.timed_out {
        lines.push((
            now,
            format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                time::iso8601(now),
                record.timeout as f64
            ),
        ));
    }
    lines.push((now, format!("END RequestId: {request_id}")));
    let ms = report.duration.as_secs_f64() * 1000.0;
    let mut report_line = format!(
        "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        ms.ceil().max(1.0) as u64,
        record.memory_size,
        report.max_memory_mb
    );
    if let Some(init) = report.init_duration {
        report_line.push_str(&format!(
            "Init Duration: {:.2} ms\t",
            init.as_secs_f64() * 1000.0
        ));
    }
    if report.timed_out {
        report_line.push_str("Status: timeout");
    }
    lines.push((now, report_line));
    let spec = lease.env.spec();
    l.logs.append(
        &key.account,
        &key.region,
        &spec.log_group,
        &spec.log_stream,
        &lines,
    );
    l.workers.release(lease, report.reusable);
    Ok(Execution {
        outcome: report.outcome,
        log_tail: want_tail.then(|| tail_base64(&lines)),
    })
}

/// InvokeWithResponseStream's answer: the function's response as one
/// `PayloadChunk` event, then `InvokeComplete` (with the error, if any).
/// The response is buffered, not streamed as it is produced.
fn event_stream_response(exec: Execution, version: &str) -> Response {
    use serval_wire::eventstream;
    let mut body = Vec::new();
    let mut complete = serde_json::Map::new();
    match exec.outcome {
        Outcome::Success(payload) => {
            if !payload.is_empty() {
                body.extend(eventstream::event(
                    "PayloadChunk",
                    "application/octet-stream",
                    &payload,
                ));
            }
        }
        Outcome::Error {
            body: error,
            error_type,
        } => {
            let details = serde_json::from_slice::<serde_json::Value>(&error)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&error).into_owned());
            complete.insert("ErrorCode".into(), error_type.into());
            complete.insert("ErrorDetails".into(), details.into());
        }
    }
    if let Some(tail) = exec.log_tail {
        complete.insert("LogResult".into(), tail.into());
    }
    let complete = serde_json::to_vec(&serde_json::Value::Object(complete)).unwrap_or_default();
    body.extend(eventstream::event(
        "InvokeComplete",
        "application/json",
        &complete,
    ));
    Response::bytes(200, "application/vnd.amazon.eventstream", Bytes::from(body))
        .with_header("X-Amz-Executed-Version", version)
}

fn check_json(payload: &[u8]) -> Result<()> {
    if payload.is_empty() {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(payload)
        .map(|_| ())
        .map_err(|e| {
            LambdaError::InvalidRequestContent(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            ))
        })
}

/// Invoke.
pub async fn invoke(l: &Arc<Lambda>, ctx: &RequestContext, input: InvokeInput) -> Result<Response> {
    let key = l.key(ctx, &input.function)?;
    let target = resolve(l, &key, input.function.qualifier.as_deref())?;
    match input.invocation_type {
        InvocationType::DryRun => Ok(Response::empty(204)),
        InvocationType::Event => {
            if input.payload.len() > MAX_ASYNC_PAYLOAD {
                return Err(LambdaError::RequestTooLarge(format!(
                    "Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for the InvokeFunction operation"
                )));
            }
            check_json(&input.payload)?;
            l.queue
                .enqueue(crate::async_queue::AsyncEvent {
                    account: key.account.clone(),
                    region: key.region.clone(),
                    function: key.name.clone(),
                    qualifier: input.function.qualifier.clone(),
                    payload: String::from_utf8_lossy(&input.payload).into_owned(),
                    request_id: ctx.request_id.clone(),
                    attempt: 0,
                    enqueued_at: l.clock.now_millis(),
                    not_before: 0,
                    throttles: 0,
                })
                .await?;
            Ok(Response::empty(202))
        }
        InvocationType::RequestResponse => {
            if input.payload.len() > MAX_SYNC_PAYLOAD {
                return Err(LambdaError::RequestTooLarge(format!(
                    "Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation"
                )));
            }
            check_json(&input.payload)?;
            let payload = if input.payload.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                input.payload
            };
            // The invocation runs in its own task: a caller that hangs up does
            // not stop the function (as on AWS), it only stops waiting.
            let l = l.clone();
            let request_id = ctx.request_id.clone();
            let (client_context, tail) = (input.client_context, input.tail);
            let input_streaming = input.streaming;
            let (exec, target) = tokio::spawn(async move {
                let exec = execute(&l, &target, request_id, payload, client_context, tail).await;
                (exec, target)
            })
            .await
            .map_err(|e| LambdaError::Internal(format!("invocation task failed: {e}")))?;
            let exec = exec?;
            if input_streaming {
                return Ok(event_stream_response(exec, &target.version));
            }
            let mut resp = match exec.outcome {
                Outcome::Success(body) => Response::bytes(200, "application/json", body),
                Outcome::Error { body, .. } => Response::bytes(200, "application/json", body)
                    .with_header("X-Amz-Function-Error", "Unhandled"),
            };
            resp.set_header("X-Amz-Executed-Version", &target.version);
            if let Some(tail) = exec.log_tail {
                resp.set_header("X-Amz-Log-Result", &tail);
            }
            Ok(resp)
        }
    }
}
