//! PutTargets, RemoveTargets, ListTargetsByRule.

use crate::api::{ListTargets, PutTargets, RemoveTargets};
use crate::error::{self, Result};
use crate::ops::rules::rule_key;
use crate::ops::{bus_name, page};
use crate::{key_rule, put_op, Events, KS_RULE};
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;

/// Targets a rule may have.
pub const MAX_TARGETS: usize = 5;

fn arn_ok(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6 && parts[0] == "arn" && !parts[2].is_empty() && !parts[5].is_empty()
}

/// Checks one target's input settings (AWS refuses the whole request).
fn check_target(t: &Map<String, Json>) -> Result<()> {
    let arn = t.get("Arn").and_then(Json::as_str).unwrap_or_default();
    if !arn_ok(arn) {
        return Err(error::validation(format!(
            "Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
        )));
    }
    let given = ["Input", "InputPath", "InputTransformer"]
        .iter()
        .filter(|k| t.get(**k).is_some_and(|v| !v.is_null()))
        .count();
    if given > 1 {
        return Err(error::validation(
            "Only one of Input, InputPath, or InputTransformer must be provided.",
        ));
    }
    if let Some(input) = t.get("Input").and_then(Json::as_str) {
        if serde_json::from_str::<Json>(input).is_err() {
            return Err(error::validation("Input is not a valid JSON text."));
        }
    }
    if let Some(p) = t.get("InputPath").and_then(Json::as_str) {
        if !crate::transform::valid_path(p) {
            return Err(error::validation(format!("Invalid InputPath: {p}")));
        }
    }
    if let Some(tr) = t.get("InputTransformer") {
        for (name, path) in tr
            .get("InputPathsMap")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            let p = path.as_str().unwrap_or_default();
            if !crate::transform::valid_path(p) {
                return Err(error::validation(format!(
                    "Invalid InputPathsMap value for key {name}: {p}"
                )));
            }
            if name.starts_with("aws.events") {
                return Err(error::validation(format!(
                    "InputPathsMap key {name} is reserved."
                )));
            }
        }
    }
    Ok(())
}

/// PutTargets: adds or replaces targets by Id (at most five per rule).
pub async fn put(ev: &Events, ctx: &RequestContext, i: PutTargets) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    for t in &i.targets {
        check_target(t)?;
    }
    let pending = {
        let mut st = ev.lock();
        let Some(rule) = st.rules.get_mut(&rule_key(ctx, &bus, &i.rule)) else {
            return Err(error::rule_not_found(&i.rule, &bus));
        };
        if let Some(m) = &rule.managed_by {
            return Err(error::err(
                "ManagedRuleException",
                format!(
                    "Rule {} is managed by {m} and cannot be changed.",
                    rule.name
                ),
            ));
        }
        let mut targets = rule.targets.clone();
        for t in &i.targets {
            let id = t.get("Id").and_then(Json::as_str).unwrap_or_default();
            match targets
                .iter_mut()
                .find(|x| x.get("Id").and_then(Json::as_str) == Some(id))
            {
                Some(slot) => *slot = t.clone(),
                None => targets.push(t.clone()),
            }
        }
        if targets.len() > MAX_TARGETS {
            return Err(error::err(
                "LimitExceededException",
                "The requested resource exceeds the maximum number allowed.",
            ));
        }
        rule.targets = targets;
        let op = put_op(KS_RULE, key_rule(rule), &*rule);
        ev.submit(vec![op])?
    };
    pending.wait().await?;
    Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}

/// RemoveTargets: Ids the rule does not have come back as failed entries.
pub async fn remove(ev: &Events, ctx: &RequestContext, i: RemoveTargets) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let (failed, pending) = {
        let mut st = ev.lock();
        let Some(rule) = st.rules.get_mut(&rule_key(ctx, &bus, &i.rule)) else {
            return Err(error::rule_not_found(&i.rule, &bus));
        };
        if rule.managed_by.is_some() && !i.force {
            return Err(error::err(
                "ManagedRuleException",
                format!(
                    "Rule {} is managed by another service and cannot be changed.",
                    rule.name
                ),
            ));
        }
        let mut failed = Vec::new();
        for id in &i.ids {
            let before = rule.targets.len();
            rule.targets
                .retain(|t| t.get("Id").and_then(Json::as_str) != Some(id.as_str()));
            if rule.targets.len() == before {
                failed.push(json!({
                    "TargetId": id,
                    "ErrorCode": "ResourceNotFoundException",
                    "ErrorMessage": format!("Target {id} does not exist on rule {}.", rule.name),
                }));
            }
        }
        let op = put_op(KS_RULE, key_rule(rule), &*rule);
        (failed, ev.submit(vec![op])?)
    };
    pending.wait().await?;
    Ok(json!({"FailedEntryCount": failed.len(), "FailedEntries": failed}))
}

/// ListTargetsByRule.
pub async fn list(ev: &Events, ctx: &RequestContext, i: ListTargets) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let targets = {
        let st = ev.lock();
        st.rules
            .get(&rule_key(ctx, &bus, &i.rule))
            .map(|r| r.targets.clone())
            .ok_or_else(|| error::rule_not_found(&i.rule, &bus))?
    };
    let (items, next) = page(&targets, i.next_token.as_deref(), i.limit)?;
    let mut out = json!({"Targets": items});
    if let Some(n) = next {
        out["NextToken"] = n.into();
    }
    Ok(out)
}
