//! CreateEventBus, DeleteEventBus, DescribeEventBus, ListEventBuses.

use crate::api::{BusName, CreateEventBus, Listing};
use crate::error::{self, Result};
use crate::model::Bus;
use crate::ops::{bus_name, epoch_secs, page};
use crate::{key_bus, key_rule, put_op, Events, State, KS_BUS, KS_RULE};
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use serval_store::Op;

/// Makes sure the account's `default` bus exists in memory; the write to
/// persist it (when it was missing).
pub(crate) fn ensure_default(st: &mut State, account: &str, region: &str, now: u64) -> Option<Op> {
    let key = (
        account.to_string(),
        region.to_string(),
        "default".to_string(),
    );
    if st.buses.contains_key(&key) {
        return None;
    }
    let bus = Bus {
        v: 1,
        account: account.to_string(),
        region: region.to_string(),
        name: "default".into(),
        description: None,
        created: now,
        modified: now,
        tags: Vec::new(),
        extra: Map::new(),
    };
    let op = put_op(KS_BUS, key_bus(&bus), &bus);
    st.buses.insert(key, bus);
    Some(op)
}

/// Whether a bus exists (creating `default` when needed); the write that persists it.
pub(crate) fn bus_exists(
    ev: &Events,
    st: &mut State,
    ctx: &RequestContext,
    name: &str,
) -> (bool, Vec<Op>) {
    let ops: Vec<Op> = ensure_default(st, &ctx.account_id, &ctx.region, ev.now())
        .into_iter()
        .collect();
    let key = (ctx.account_id.clone(), ctx.region.clone(), name.to_string());
    (st.buses.contains_key(&key), ops)
}

fn describe_json(b: &Bus, full: bool) -> Json {
    let mut o = Map::new();
    o.insert("Name".into(), b.name.clone().into());
    o.insert("Arn".into(), b.arn().into());
    if let Some(d) = &b.description {
        o.insert("Description".into(), d.clone().into());
    }
    if full {
        for (k, v) in &b.extra {
            o.insert(k.clone(), v.clone());
        }
    }
    o.insert("CreationTime".into(), epoch_secs(b.created));
    o.insert("LastModifiedTime".into(), epoch_secs(b.modified));
    Json::Object(o)
}

/// CreateEventBus.
pub async fn create(ev: &Events, ctx: &RequestContext, i: CreateEventBus) -> Result<Json> {
    if i.name.contains('/') && i.event_source_name.is_none() {
        return Err(error::validation("Event bus name must not contain '/'."));
    }
    if i.name == "default" {
        return Err(error::exists("Event bus default already exists."));
    }
    let now = ev.now();
    let mut extra = Map::new();
    if let Some(k) = &i.kms_key_identifier {
        extra.insert("KmsKeyIdentifier".into(), k.clone().into());
    }
    if let Some(d) = &i.dead_letter_config {
        extra.insert("DeadLetterConfig".into(), d.clone());
    }
    let bus = Bus {
        v: 1,
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name: i.name.clone(),
        description: i.description.clone(),
        created: now,
        modified: now,
        tags: i.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        extra,
    };
    let pending = {
        let mut st = ev.lock();
        let (exists, mut ops) = bus_exists(ev, &mut st, ctx, &i.name);
        if exists {
            return Err(error::exists(format!(
                "Event bus {} already exists.",
                i.name
            )));
        }
        ops.push(put_op(KS_BUS, key_bus(&bus), &bus));
        st.buses.insert(
            (bus.account.clone(), bus.region.clone(), bus.name.clone()),
            bus.clone(),
        );
        ev.submit(ops)?
    };
    pending.wait().await?;
    let mut out = json!({"EventBusArn": bus.arn()});
    if let Some(d) = &bus.description {
        out["Description"] = d.clone().into();
    }
    for (k, v) in &bus.extra {
        out[k] = v.clone();
    }
    Ok(out)
}

/// DeleteEventBus (also deletes the bus's rules; a missing bus is no error).
pub async fn delete(ev: &Events, ctx: &RequestContext, i: BusName) -> Result<Json> {
    let name = bus_name(i.name.as_deref());
    if name == "default" {
        return Err(error::validation("Cannot delete event bus default."));
    }
    let (pending, gone) = {
        let mut st = ev.lock();
        let key = (ctx.account_id.clone(), ctx.region.clone(), name.clone());
        let Some(bus) = st.buses.remove(&key) else {
            return Ok(json!({}));
        };
        let mut ops = vec![Op::Delete {
            ks: KS_BUS,
            key: key_bus(&bus),
        }];
        let doomed: Vec<_> = st
            .rules
            .keys()
            .filter(|(a, r, b, _)| *a == ctx.account_id && *r == ctx.region && *b == name)
            .cloned()
            .collect();
        let mut gone = Vec::new();
        for k in doomed {
            if let Some(rule) = st.rules.remove(&k) {
                ops.push(Op::Delete {
                    ks: KS_RULE,
                    key: key_rule(&rule),
                });
                gone.push(rule.arn());
            }
        }
        (ev.submit(ops)?, gone)
    };
    pending.wait().await?;
    for arn in gone {
        ev.reschedule(&arn);
    }
    Ok(json!({}))
}

/// DescribeEventBus.
pub async fn describe(ev: &Events, ctx: &RequestContext, i: BusName) -> Result<Json> {
    let name = bus_name(i.name.as_deref());
    let (out, pending) = {
        let mut st = ev.lock();
        let (exists, ops) = bus_exists(ev, &mut st, ctx, &name);
        if !exists {
            return Err(error::bus_not_found(&name));
        }
        let key = (ctx.account_id.clone(), ctx.region.clone(), name);
        let out = st.buses.get(&key).map(|b| describe_json(b, true));
        (out, (!ops.is_empty()).then(|| ev.submit(ops)).transpose()?)
    };
    if let Some(p) = pending {
        p.wait().await?;
    }
    Ok(out.unwrap_or_default())
}

/// ListEventBuses.
pub async fn list(ev: &Events, ctx: &RequestContext, i: Listing) -> Result<Json> {
    let (all, pending) = {
        let mut st = ev.lock();
        let ops: Vec<Op> = ensure_default(&mut st, &ctx.account_id, &ctx.region, ev.now())
            .into_iter()
            .collect();
        let prefix = i.name_prefix.clone().unwrap_or_default();
        let all: Vec<Json> = st
            .buses
            .values()
            .filter(|b| b.account == ctx.account_id && b.region == ctx.region)
            .filter(|b| b.name.starts_with(&prefix))
            .map(|b| describe_json(b, false))
            .collect();
        (all, (!ops.is_empty()).then(|| ev.submit(ops)).transpose()?)
    };
    if let Some(p) = pending {
        p.wait().await?;
    }
    let (items, next) = page(&all, i.next_token.as_deref(), i.limit)?;
    let mut out = json!({"EventBuses": items});
    if let Some(n) = next {
        out["NextToken"] = n.into();
    }
    Ok(out)
}
