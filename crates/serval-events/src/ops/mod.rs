//! EventBridge's operations, one file per group: buses, rules, targets,
//! events (PutEvents, TestEventPattern, delivery) and tags.

pub mod buses;
pub mod events;
pub mod rules;
pub mod tags;
pub mod targets;

use crate::api::EventsOp;
use crate::error::Result;
use crate::Events;
use serde_json::Value as Json;
use serval_core::RequestContext;

/// Runs one operation.
pub async fn dispatch(ev: &Events, ctx: &RequestContext, op: EventsOp) -> Result<Json> {
    use EventsOp::*;
    match op {
        CreateEventBus(i) => buses::create(ev, ctx, i).await,
        DeleteEventBus(i) => buses::delete(ev, ctx, i).await,
        DescribeEventBus(i) => buses::describe(ev, ctx, i).await,
        ListEventBuses(i) => buses::list(ev, ctx, i).await,
        PutRule(i) => rules::put(ev, ctx, i).await,
        DeleteRule(i) => rules::delete(ev, ctx, i).await,
        DescribeRule(i) => rules::describe(ev, ctx, i).await,
        EnableRule(i) => rules::set_state(ev, ctx, i, "ENABLED").await,
        DisableRule(i) => rules::set_state(ev, ctx, i, "DISABLED").await,
        ListRules(i) => rules::list(ev, ctx, i).await,
        ListRuleNamesByTarget(i) => rules::by_target(ev, ctx, i).await,
        PutTargets(i) => targets::put(ev, ctx, i).await,
        RemoveTargets(i) => targets::remove(ev, ctx, i).await,
        ListTargetsByRule(i) => targets::list(ev, ctx, i).await,
        PutEvents(i) => events::put_events(ev, ctx, i).await,
        TestEventPattern(i) => events::test_pattern(i),
        TagResource(i) => tags::tag(ev, ctx, i).await,
        UntagResource(i) => tags::untag(ev, ctx, i).await,
        ListTagsForResource(i) => tags::list(ev, ctx, i).await,
    }
}

/// A bus name from `EventBusName`, which may also be the bus's ARN.
pub(crate) fn bus_name(given: Option<&str>) -> String {
    match given {
        None | Some("") => "default".to_string(),
        Some(s) if s.starts_with("arn:") => s
            .split_once(":event-bus/")
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| s.to_string()),
        Some(s) => s.to_string(),
    }
}

/// A page of `items` from `NextToken` (an offset) with `Limit` (default 100).
pub(crate) fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    limit: Option<usize>,
) -> Result<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| crate::error::validation("The NextToken is not valid."))?,
    };
    let limit = limit.unwrap_or(100).clamp(1, 100);
    let end = (start + limit).min(items.len());
    let out = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((out, next))
}

/// Epoch ms as the epoch seconds AWS's JSON timestamps carry.
pub(crate) fn epoch_secs(ms: u64) -> Json {
    Json::from(ms as f64 / 1000.0)
}
