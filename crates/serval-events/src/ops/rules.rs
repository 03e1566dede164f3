//! PutRule, DeleteRule, DescribeRule, EnableRule, DisableRule, ListRules,
//! ListRuleNamesByTarget.

use crate::api::{ByTarget, Listing, PutRule, RuleRef};
use crate::error::{self, Result};
use crate::model::Rule;
use crate::ops::buses::bus_exists;
use crate::ops::{bus_name, page};
use crate::pattern::Pattern;
use crate::{key_rule, put_op, Events, Key4, KS_RULE};
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use serval_store::Op;

pub(crate) fn rule_key(ctx: &RequestContext, bus: &str, name: &str) -> Key4 {
    (
        ctx.account_id.clone(),
        ctx.region.clone(),
        bus.to_string(),
        name.to_string(),
    )
}

fn rule_json(r: &Rule, describe: bool) -> Json {
    let mut o = Map::new();
    o.insert("Name".into(), r.name.clone().into());
    o.insert("Arn".into(), r.arn().into());
    if let Some(p) = &r.event_pattern {
        o.insert("EventPattern".into(), p.clone().into());
    }
    if let Some(s) = &r.schedule_expression {
        o.insert("ScheduleExpression".into(), s.clone().into());
    }
    o.insert("State".into(), r.state.clone().into());
    if let Some(d) = &r.description {
        o.insert("Description".into(), d.clone().into());
    }
    if let Some(role) = &r.role_arn {
        o.insert("RoleArn".into(), role.clone().into());
    }
    if let Some(m) = &r.managed_by {
        o.insert("ManagedBy".into(), m.clone().into());
    }
    o.insert("EventBusName".into(), r.bus.clone().into());
    if describe {
        o.insert("CreatedBy".into(), r.account.clone().into());
    }
    Json::Object(o)
}

/// PutRule: creates or updates a rule (targets and tags of an existing rule are kept).
pub async fn put(ev: &Events, ctx: &RequestContext, i: PutRule) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    if i.event_pattern.is_none() && i.schedule_expression.is_none() {
        return Err(error::validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    if let Some(p) = &i.event_pattern {
        Pattern::parse(p).map_err(|r| error::bad_pattern(&r))?;
    }
    if let Some(s) = &i.schedule_expression {
        if bus != "default" {
            return Err(error::validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        crate::schedule::parse(s, false)
            .map_err(|_| error::validation("Parameter ScheduleExpression is not valid."))?;
    }
    let now = ev.now();
    let (arn, pending) = {
        let mut st = ev.lock();
        let (exists, mut ops) = bus_exists(ev, &mut st, ctx, &bus);
        if !exists {
            return Err(error::bus_not_found(&bus));
        }
        let key = rule_key(ctx, &bus, &i.name);
        let rule = match st.rules.get(&key) {
            Some(old) => {
                if let Some(m) = &old.managed_by {
                    return Err(error::err(
                        "ManagedRuleException",
                        format!("Rule {} is managed by {m} and cannot be changed.", old.name),
                    ));
                }
                Rule {
                    event_pattern: i.event_pattern,
                    schedule_expression: i.schedule_expression,
                    state: i.state.unwrap_or_else(|| "ENABLED".into()),
                    description: i.description,
                    role_arn: i.role_arn,
                    ..old.clone()
                }
            }
            None => Rule {
                v: 1,
                account: ctx.account_id.clone(),
                region: ctx.region.clone(),
                bus: bus.clone(),
                name: i.name.clone(),
                event_pattern: i.event_pattern,
                schedule_expression: i.schedule_expression,
                state: i.state.unwrap_or_else(|| "ENABLED".into()),
                description: i.description,
                role_arn: i.role_arn,
                managed_by: None,
                created: now,
                targets: Vec::new(),
                tags: i.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            },
        };
        ops.push(put_op(KS_RULE, key_rule(&rule), &rule));
        let arn = rule.arn();
        st.rules.insert(key, rule);
        (arn, ev.submit(ops)?)
    };
    pending.wait().await?;
    ev.reschedule(&arn);
    Ok(json!({"RuleArn": arn}))
}

/// DeleteRule (refused while the rule has targets; a missing rule is no error).
pub async fn delete(ev: &Events, ctx: &RequestContext, i: RuleRef) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let key = rule_key(ctx, &bus, &i.name);
    let (arn, pending) = {
        let mut st = ev.lock();
        let Some(rule) = st.rules.get(&key) else {
            return Ok(json!({}));
        };
        if rule.managed_by.is_some() && !i.force {
            return Err(error::err(
                "ManagedRuleException",
                format!(
                    "Rule {} is managed by {} and cannot be deleted.",
                    rule.name,
                    rule.managed_by.clone().unwrap_or_default()
                ),
            ));
        }
        if !rule.targets.is_empty() {
            return Err(error::validation(
                "Rule can't be deleted since it has targets.",
            ));
        }
        let arn = rule.arn();
        let op = Op::Delete {
            ks: KS_RULE,
            key: key_rule(rule),
        };
        st.rules.remove(&key);
        (arn, ev.submit(vec![op])?)
    };
    pending.wait().await?;
    ev.reschedule(&arn);
    Ok(json!({}))
}

/// DescribeRule.
pub async fn describe(ev: &Events, ctx: &RequestContext, i: RuleRef) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let st = ev.lock();
    st.rules
        .get(&rule_key(ctx, &bus, &i.name))
        .map(|r| rule_json(r, true))
        .ok_or_else(|| error::rule_not_found(&i.name, &bus))
}

/// EnableRule / DisableRule.
pub async fn set_state(ev: &Events, ctx: &RequestContext, i: RuleRef, state: &str) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let (arn, pending) = {
        let mut st = ev.lock();
        let Some(rule) = st.rules.get_mut(&rule_key(ctx, &bus, &i.name)) else {
            return Err(error::rule_not_found(&i.name, &bus));
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
        rule.state = state.to_string();
        let op = put_op(KS_RULE, key_rule(rule), &*rule);
        (rule.arn(), ev.submit(vec![op])?)
    };
    pending.wait().await?;
    ev.reschedule(&arn);
    Ok(json!({}))
}

/// ListRules.
pub async fn list(ev: &Events, ctx: &RequestContext, i: Listing) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let all: Vec<Json> = {
        let mut st = ev.lock();
        let (exists, ops) = bus_exists(ev, &mut st, ctx, &bus);
        if !ops.is_empty() {
            ev.store.write_detached(ops);
        }
        if !exists {
            return Err(error::bus_not_found(&bus));
        }
        let prefix = i.name_prefix.clone().unwrap_or_default();
        st.rules
            .values()
            .filter(|r| r.account == ctx.account_id && r.region == ctx.region && r.bus == bus)
            .filter(|r| r.name.starts_with(&prefix))
            .map(|r| rule_json(r, false))
            .collect()
    };
    let (items, next) = page(&all, i.next_token.as_deref(), i.limit)?;
    let mut out = json!({"Rules": items});
    if let Some(n) = next {
        out["NextToken"] = n.into();
    }
    Ok(out)
}

/// ListRuleNamesByTarget.
pub async fn by_target(ev: &Events, ctx: &RequestContext, i: ByTarget) -> Result<Json> {
    let bus = bus_name(i.event_bus_name.as_deref());
    let names: Vec<String> = {
        let st = ev.lock();
        st.rules
            .values()
            .filter(|r| r.account == ctx.account_id && r.region == ctx.region && r.bus == bus)
            .filter(|r| {
                r.targets
                    .iter()
                    .any(|t| t.get("Arn").and_then(Json::as_str) == Some(i.target_arn.as_str()))
            })
            .map(|r| r.name.clone())
            .collect()
    };
    let (items, next) = page(&names, i.next_token.as_deref(), i.limit)?;
    let mut out = json!({"RuleNames": items});
    if let Some(n) = next {
        out["NextToken"] = n.into();
    }
    Ok(out)
}
