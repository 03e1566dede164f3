//! `rust-echo`: a Lambda test function built with the official `lambda_runtime` client.
//!
//! Packaged as `bootstrap` for the `provided.al2023` runtime. Behaviour is driven by the event:
//! - `{"fail": "msg"}`: return an error whose message is `msg` (errorType `EchoError`);
//! - `{"sleep_ms": N}`: sleep N milliseconds before answering;
//! - `{"counter": true}`: answer `{"counter": n}`, n counting invokes in this environment;
//! - `{"env": true}`: answer `{"env": {...}}` with every `AWS_LAMBDA_*` variable (plus a few others);
//! - `{"context": true}`: answer `{"context": {request_id, invoked_function_arn, deadline, ...}}`;
//! - anything else: echo the event back unchanged.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Invocations served by this execution environment (warm-state probe).
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn env_snapshot() -> Value {
    let mut out = Map::new();
    for (key, value) in std::env::vars() {
        let keep = key.starts_with("AWS_LAMBDA_")
            || matches!(
                key.as_str(),
                "AWS_REGION"
                    | "AWS_DEFAULT_REGION"
                    | "AWS_EXECUTION_ENV"
                    | "LAMBDA_TASK_ROOT"
                    | "LAMBDA_RUNTIME_DIR"
                    | "_HANDLER"
                    | "AWS_ENDPOINT_URL"
                    | "TZ"
            )
            || key.starts_with("USER_");
        if keep {
            out.insert(key, Value::String(value));
        }
    }
    Value::Object(out)
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, ctx) = event.into_parts();
    let count = COUNTER.fetch_add(1, Ordering::SeqCst) + 1;

    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    if let Some(fail) = payload.get("fail") {
        let message = match fail {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        return Err(Diagnostic {
            error_type: "EchoError".to_owned(),
            error_message: message,
        });
    }

    if payload.get("counter").and_then(Value::as_bool) == Some(true) {
        return Ok(json!({ "counter": count }));
    }

    if payload.get("env").and_then(Value::as_bool) == Some(true) {
        return Ok(json!({ "env": env_snapshot() }));
    }

    if payload.get("context").and_then(Value::as_bool) == Some(true) {
        return Ok(json!({
            "context": {
                "request_id": ctx.request_id,
                "invoked_function_arn": ctx.invoked_function_arn,
                "deadline": ctx.deadline,
                "function_name": ctx.env_config.function_name,
                "memory": ctx.env_config.memory,
                "version": ctx.env_config.version,
            }
        }));
    }

    Ok(payload)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
