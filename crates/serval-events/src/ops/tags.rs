//! TagResource, UntagResource, ListTagsForResource (buses and rules).

use crate::api::{ListTags, TagResource, UntagResource};
use crate::error::{self, Result};
use crate::model::Tags;
use crate::ops::buses::ensure_default;
use crate::{key_bus, key_rule, put_op, Events, State, KS_BUS, KS_RULE};
use serde_json::{json, Value as Json};
use serval_core::RequestContext;
use serval_store::Op;

/// Applies `f` to the tags of the bus or rule an ARN names; the write that persists it.
fn with_tags<T>(
    st: &mut State,
    ctx: &RequestContext,
    arn: &str,
    f: impl FnOnce(&mut Tags) -> T,
) -> Result<(T, Op)> {
    let prefix = format!("arn:aws:events:{}:{}:", ctx.region, ctx.account_id);
    let missing = || error::not_found(format!("Resource {arn} does not exist."));
    let rest = arn.strip_prefix(&prefix).ok_or_else(missing)?;
    if let Some(name) = rest.strip_prefix("event-bus/") {
        let key = (ctx.account_id.clone(), ctx.region.clone(), name.to_string());
        let bus = st.buses.get_mut(&key).ok_or_else(missing)?;
        let out = f(&mut bus.tags);
        return Ok((out, put_op(KS_BUS, key_bus(bus), &*bus)));
    }
    if let Some(path) = rest.strip_prefix("rule/") {
        let (bus, name) = path.split_once('/').unwrap_or(("default", path));
        let key = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            bus.to_string(),
            name.to_string(),
        );
        let rule = st.rules.get_mut(&key).ok_or_else(missing)?;
        let out = f(&mut rule.tags);
        return Ok((out, put_op(KS_RULE, key_rule(rule), &*rule)));
    }
    Err(missing())
}

/// TagResource.
pub async fn tag(ev: &Events, ctx: &RequestContext, i: TagResource) -> Result<Json> {
    let pending = {
        let mut st = ev.lock();
        let mut ops: Vec<Op> = ensure_default(&mut st, &ctx.account_id, &ctx.region, ev.now())
            .into_iter()
            .collect();
        let ((), op) = with_tags(&mut st, ctx, &i.resource_arn, |tags| {
            for t in i.tags {
                match tags.iter_mut().find(|(k, _)| *k == t.key) {
                    Some(slot) => slot.1 = t.value,
                    None => tags.push((t.key, t.value)),
                }
            }
        })?;
        if tags_over_limit(&st, ctx, &i.resource_arn) {
            return Err(error::err("LimitExceededException", "Tag limit exceeded."));
        }
        ops.push(op);
        ev.submit(ops)?
    };
    pending.wait().await?;
    Ok(json!({}))
}

fn tags_over_limit(st: &State, ctx: &RequestContext, arn: &str) -> bool {
    let count = st
        .buses
        .values()
        .filter(|b| b.account == ctx.account_id && b.arn() == arn)
        .map(|b| b.tags.len())
        .chain(
            st.rules
                .values()
                .filter(|r| r.account == ctx.account_id && r.arn() == arn)
                .map(|r| r.tags.len()),
        )
        .max()
        .unwrap_or(0);
    count > 50
}

/// UntagResource.
pub async fn untag(ev: &Events, ctx: &RequestContext, i: UntagResource) -> Result<Json> {
    let pending = {
        let mut st = ev.lock();
        let mut ops: Vec<Op> = ensure_default(&mut st, &ctx.account_id, &ctx.region, ev.now())
            .into_iter()
            .collect();
        let ((), op) = with_tags(&mut st, ctx, &i.resource_arn, |tags| {
            tags.retain(|(k, _)| !i.tag_keys.contains(k))
        })?;
        ops.push(op);
        ev.submit(ops)?
    };
    pending.wait().await?;
    Ok(json!({}))
}

/// ListTagsForResource.
pub async fn list(ev: &Events, ctx: &RequestContext, i: ListTags) -> Result<Json> {
    let mut st = ev.lock();
    if let Some(op) = ensure_default(&mut st, &ctx.account_id, &ctx.region, ev.now()) {
        ev.store.write_detached(vec![op]);
    }
    let (tags, _) = with_tags(&mut st, ctx, &i.resource_arn, |t| t.clone())?;
    let tags: Vec<Json> = tags
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(json!({"Tags": tags}))
}
