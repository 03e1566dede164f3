//! Asynchronous invocation settings: Put/Get/Update/Delete/
//! ListFunctionEventInvokeConfigs (retries, maximum event age, OnSuccess
//! and OnFailure destinations), kept per qualifier in the function record.

use super::{ok, page_response};
use crate::api::Page;
use crate::arn::FunctionRef;
use crate::error::{in_range, validation, LambdaError, Result};
use crate::model::EventInvokeConfig;
use crate::registry::{FnKey, Function};
use crate::{not_found, Lambda};
use serde::Deserialize;
use serde_json::{json, Value};
use serval_core::RequestContext;
use serval_wire::Response;

/// The body of Put/UpdateFunctionEventInvokeConfig.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeInput {
    maximum_retry_attempts: Option<i64>,
    maximum_event_age_in_seconds: Option<i64>,
    destination_config: Option<DestinationInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationInput {
    on_success: Option<TargetInput>,
    on_failure: Option<TargetInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetInput {
    destination: Option<String>,
}

/// The qualifier a config belongs to (`$LATEST` when none), which must exist.
fn qualifier_of(f: &Function, key: &FnKey, fref: &FunctionRef) -> Result<String> {
    let q = fref.qualifier.clone().unwrap_or_else(|| "$LATEST".into());
    if f.version(&q).is_none() && !f.aliases.contains_key(&q) {
        return Err(not_found(key, Some(&q)));
    }
    Ok(q)
}

fn missing(key: &FnKey, q: &str) -> LambdaError {
    LambdaError::NotFound(format!(
        "The function {}:{q} doesn't have an EventInvokeConfig",
        key.arn()
    ))
}

/// Checks a destination: a queue, topic, event bus or another function.
fn destination(key: &FnKey, arn: Option<String>) -> Result<Option<String>> {
    let Some(arn) = arn.filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = matches!(parts.as_slice(),
        ["arn", _, "sqs" | "sns" | "lambda" | "events", _, _, rest] if !rest.is_empty());
    if !ok {
        return Err(LambdaError::InvalidParameter(format!(
            "The destination ARN {arn} is invalid."
        )));
    }
    let own = key.arn();
    if arn == own || arn.starts_with(&format!("{own}:")) {
        return Err(LambdaError::InvalidParameter(
            "You can't specify the function as a destination for itself.".into(),
        ));
    }
    Ok(Some(arn))
}

/// Applies `input` over `base` (Put starts from nothing, Update from the
/// current config).
fn apply(
    key: &FnKey,
    base: EventInvokeConfig,
    input: EventInvokeInput,
) -> Result<EventInvokeConfig> {
    let mut cfg = base;
    if let Some(n) = input.maximum_retry_attempts {
        in_range("maximumRetryAttempts", n, 0, 2)?;
        cfg.max_retry_attempts = Some(n as u32);
    }
    if let Some(n) = input.maximum_event_age_in_seconds {
        in_range("maximumEventAgeInSeconds", n, 60, 21_600)?;
        cfg.max_event_age_secs = Some(n as u32);
    }
    if let Some(d) = input.destination_config {
        if let Some(s) = d.on_success {
            cfg.on_success = destination(key, s.destination)?;
        }
        if let Some(f) = d.on_failure {
            cfg.on_failure = destination(key, f.destination)?;
        }
    }
    Ok(cfg)
}

fn render(key: &FnKey, q: &str, cfg: &EventInvokeConfig) -> Value {
    let target = |d: &Option<String>| match d {
        Some(a) => json!({ "Destination": a }),
        None => json!({}),
    };
    let mut v = json!({
        "LastModified": cfg.last_modified,
        "FunctionArn": format!("{}:{q}", key.arn()),
        "DestinationConfig": {
            "OnSuccess": target(&cfg.on_success),
            "OnFailure": target(&cfg.on_failure),
        },
    });
    if let Some(n) = cfg.max_retry_attempts {
        v["MaximumRetryAttempts"] = json!(n);
    }
    if let Some(n) = cfg.max_event_age_secs {
        v["MaximumEventAgeInSeconds"] = json!(n);
    }
    v
}

/// PutFunctionEventInvokeConfig (`replace`) and UpdateFunctionEventInvokeConfig.
pub async fn put(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: EventInvokeInput,
    replace: bool,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let now = l.clock.now_millis() as f64 / 1000.0;
    let (q, cfg) = l
        .update_function(&key, |mut f| {
            let q = qualifier_of(&f, &key, fref)?;
            let base = match (replace, f.rec.event_invoke.get(&q)) {
                (false, Some(cur)) => cur.clone(),
                _ => EventInvokeConfig::default(),
            };
            let mut cfg = apply(&key, base, input)?;
            cfg.last_modified = now;
            f.rec.event_invoke.insert(q.clone(), cfg.clone());
            Ok((Some(f), (q, cfg)))
        })
        .await?;
    ok(200, &render(&key, &q, &cfg))
}

/// GetFunctionEventInvokeConfig.
pub fn get(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.read_function(&key, |f| {
        let q = qualifier_of(f, &key, fref)?;
        let cfg = f
            .rec
            .event_invoke
            .get(&q)
            .ok_or_else(|| missing(&key, &q))?;
        ok(200, &render(&key, &q, cfg))
    })
}

/// DeleteFunctionEventInvokeConfig.
pub async fn delete(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.update_function(&key, |mut f| {
        let q = qualifier_of(&f, &key, fref)?;
        if f.rec.event_invoke.remove(&q).is_none() {
            return Err(missing(&key, &q));
        }
        Ok((Some(f), ()))
    })
    .await?;
    Ok(Response::empty(204))
}

/// ListFunctionEventInvokeConfigs.
pub fn list(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef, page: &Page) -> Result<Response> {
    if page.max_items.is_some_and(|n| n > 50) {
        return Err(validation(
            &page.max_items.unwrap_or_default().to_string(),
            "maxItems",
            "Member must have value less than or equal to 50",
        ));
    }
    let key = l.key(ctx, fref)?;
    let all = l.read_function(&key, |f| {
        Ok(f.rec
            .event_invoke
            .iter()
            .map(|(q, c)| render(&key, q, c))
            .collect::<Vec<_>>())
    })?;
    page_response("FunctionEventInvokeConfigs", all, page)
}

/// The settings that apply to an asynchronous invocation of `qualifier`.
pub(crate) fn effective(
    l: &Lambda,
    key: &FnKey,
    qualifier: Option<&str>,
) -> Option<EventInvokeConfig> {
    let q = qualifier.unwrap_or("$LATEST");
    l.registry
        .read(key, |f| {
            Ok::<_, LambdaError>(f.and_then(|f| f.rec.event_invoke.get(q).cloned()))
        })
        .ok()
        .flatten()
}
