//! EventBridge Scheduler (REST-JSON): schedules and schedule groups.
//!
//! `/schedules/{Name}` (POST create, GET, PUT update, DELETE; `groupName`
//! in the query), `/schedules` (list), `/schedule-groups/{Name}`,
//! `/schedule-groups`, and `/tags/{ResourceArn}`. Path and query members
//! are folded into the body before it is checked against the botocore
//! model, so the model's constraints apply to them too. Every account and
//! region has a `default` group.

use crate::error::{self, Result};
use crate::model::{Group, Schedule};
use crate::ops::{epoch_secs, page};
use crate::schedule::{self, Expr};
use crate::{
    check_shape, key_group, key_schedule, parse_body, put_op, scheduler_model, Events, Key3, State,
    KS_GROUP, KS_SCHEDULE,
};
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use serval_store::Op;
use serval_wire::{Request, Response};

fn ok(v: Json) -> Result<Response> {
    Ok(Response::json(200, &v))
}

/// Handles one Scheduler request.
pub async fn handle(ev: &Events, ctx: RequestContext, req: Request) -> Result<Response> {
    let segs = req.path_segments();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    let q = |k: &str| req.query_param(k);
    let mut body = parse_body(&req.body)?;
    let op = match (method, seg.as_slice()) {
        ("POST", ["schedules", name]) => {
            body.insert("Name".into(), (*name).into());
            "CreateSchedule"
        }
        ("PUT", ["schedules", name]) => {
            body.insert("Name".into(), (*name).into());
            "UpdateSchedule"
        }
        ("GET", ["schedules", name]) | ("DELETE", ["schedules", name]) => {
            body.insert("Name".into(), (*name).into());
            if let Some(g) = q("groupName") {
                body.insert("GroupName".into(), g.into());
            }
            if method == "GET" {
                "GetSchedule"
            } else {
                "DeleteSchedule"
            }
        }
        ("GET", ["schedules"]) => {
            for (k, m) in [
                ("ScheduleGroup", "GroupName"),
                ("NamePrefix", "NamePrefix"),
                ("State", "State"),
                ("NextToken", "NextToken"),
            ] {
                if let Some(v) = q(k) {
                    body.insert(m.into(), v.into());
                }
            }
            if let Some(n) = q("MaxResults") {
                body.insert("MaxResults".into(), max_results(&n)?);
            }
            "ListSchedules"
        }
        ("POST", ["schedule-groups", name]) => {
            body.insert("Name".into(), (*name).into());
            "CreateScheduleGroup"
        }
        ("GET", ["schedule-groups", name]) => {
            body.insert("Name".into(), (*name).into());
            "GetScheduleGroup"
        }
        ("DELETE", ["schedule-groups", name]) => {
            body.insert("Name".into(), (*name).into());
            "DeleteScheduleGroup"
        }
        ("GET", ["schedule-groups"]) => {
            for k in ["NamePrefix", "NextToken"] {
                if let Some(v) = q(k) {
                    body.insert(k.into(), v.into());
                }
            }
            if let Some(n) = q("MaxResults") {
                body.insert("MaxResults".into(), max_results(&n)?);
            }
            "ListScheduleGroups"
        }
        (_, ["tags", arn]) => {
            body.insert("ResourceArn".into(), (*arn).into());
            match method {
                "POST" => "TagResource",
                "DELETE" => {
                    let keys: Vec<Json> = req
                        .query_pairs()
                        .into_iter()
                        .filter(|(k, _)| k == "TagKeys")
                        .map(|(_, v)| v.into())
                        .collect();
                    body.insert("TagKeys".into(), keys.into());
                    "UntagResource"
                }
                _ => "ListTagsForResource",
            }
        }
        _ => {
            return Err(error::err(
                "UnknownOperationException",
                format!("No Scheduler operation for {method} {}", req.path),
            ))
        }
    };
    check_shape(scheduler_model(), op, &body)?;
    match op {
        "CreateSchedule" => put_schedule(ev, &ctx, body, false).await,
        "UpdateSchedule" => put_schedule(ev, &ctx, body, true).await,
        "GetSchedule" => get_schedule(ev, &ctx, &body),
        "DeleteSchedule" => delete_schedule(ev, &ctx, &body).await,
        "ListSchedules" => list_schedules(ev, &ctx, &body),
        "CreateScheduleGroup" => create_group(ev, &ctx, &body).await,
        "GetScheduleGroup" => get_group(ev, &ctx, &body),
        "DeleteScheduleGroup" => delete_group(ev, &ctx, &body).await,
        "ListScheduleGroups" => list_groups(ev, &ctx, &body),
        "TagResource" | "UntagResource" | "ListTagsForResource" => tags(ev, &ctx, op, &body).await,
        _ => Err(error::internal_op(op)),
    }
}

fn max_results(n: &str) -> Result<Json> {
    n.parse::<u64>().map(Json::from).map_err(|_| {
        error::validation(format!(
            "Value '{n}' at 'maxResults' failed to satisfy constraint: Member must be a number"
        ))
    })
}

fn s<'a>(body: &'a Map<String, Json>, k: &str) -> Option<&'a str> {
    body.get(k).and_then(Json::as_str)
}

fn group_of(body: &Map<String, Json>) -> String {
    s(body, "GroupName").unwrap_or("default").to_string()
}

/// Makes sure the `default` group exists; the write that persists it.
fn ensure_default_group(st: &mut State, ctx: &RequestContext, now: u64) -> Option<Op> {
    let key: Key3 = (ctx.account_id.clone(), ctx.region.clone(), "default".into());
    if st.groups.contains_key(&key) {
        return None;
    }
    let g = Group {
        v: 1,
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name: "default".into(),
        created: now,
        tags: Vec::new(),
    };
    let op = put_op(KS_GROUP, key_group(&g), &g);
    st.groups.insert(key, g);
    Some(op)
}

fn validate_schedule(body: &Map<String, Json>) -> Result<()> {
    let expr_text = s(body, "ScheduleExpression").unwrap_or_default();
    let expr = schedule::parse(expr_text, true)
        .map_err(|_| error::validation(format!("Invalid Schedule Expression {expr_text}.")))?;
    let tz_name = s(body, "ScheduleExpressionTimezone");
    let tz = schedule::zone(tz_name).map_err(|_| {
        error::validation(format!(
            "Invalid Schedule Expression Timezone {}.",
            tz_name.unwrap_or_default()
        ))
    })?;
    if let Expr::At(_) = expr {
        if expr.at_instant(&tz).is_none() {
            return Err(error::validation(format!(
                "Invalid Schedule Expression {expr_text}."
            )));
        }
    }
    let window = body.get("FlexibleTimeWindow");
    let mode = window.and_then(|w| w.get("Mode")).and_then(Json::as_str);
    let minutes = window.and_then(|w| w.get("MaximumWindowInMinutes"));
    match (mode, minutes) {
        (Some("FLEXIBLE"), None) => {
            return Err(error::validation(
                "MaximumWindowInMinutes must be provided when FlexibleTimeWindow Mode is FLEXIBLE.",
            ))
        }
        (Some("OFF"), Some(_)) => {
            return Err(error::validation(
                "MaximumWindowInMinutes must not be provided when FlexibleTimeWindow Mode is OFF.",
            ))
        }
        _ => {}
    }
    let secs = |k: &str| body.get(k).and_then(Json::as_f64);
    if let (Some(a), Some(b)) = (secs("StartDate"), secs("EndDate")) {
        if b <= a {
            return Err(error::validation(
                "The EndDate must be after the StartDate.",
            ));
        }
    }
    let arn = body
        .get("Target")
        .and_then(|t| t.get("Arn"))
        .and_then(Json::as_str)
        .unwrap_or_default();
    if arn.split(':').count() < 6 || !arn.starts_with("arn:") {
        return Err(error::validation(format!("Invalid target Arn {arn}.")));
    }
    Ok(())
}

async fn put_schedule(
    ev: &Events,
    ctx: &RequestContext,
    mut body: Map<String, Json>,
    update: bool,
) -> Result<Response> {
    validate_schedule(&body)?;
    let name = s(&body, "Name").unwrap_or_default().to_string();
    let group = group_of(&body);
    body.remove("ClientToken");
    body.remove("Name");
    body.remove("GroupName");
    body.entry("State").or_insert_with(|| "ENABLED".into());
    let now = ev.now();
    let (arn, pending) = {
        let mut st = ev.lock();
        let mut ops: Vec<Op> = ensure_default_group(&mut st, ctx, now)
            .into_iter()
            .collect();
        if !st
            .groups
            .contains_key(&(ctx.account_id.clone(), ctx.region.clone(), group.clone()))
        {
            return Err(error::sched_not_found(format!(
                "Schedule group {group} does not exist."
            )));
        }
        let key = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            group.clone(),
            name.clone(),
        );
        let created = match (st.schedules.get(&key), update) {
            (Some(_), false) => {
                return Err(error::conflict(format!("Schedule {name} already exists.")))
            }
            (None, true) => {
                return Err(error::sched_not_found(format!(
                    "Schedule {name} does not exist."
                )))
            }
            (Some(old), true) => old.created,
            (None, false) => now,
        };
        let sched = Schedule {
            v: 1,
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            group,
            name,
            spec: body,
            created,
            modified: now,
            done: false,
        };
        ops.push(put_op(KS_SCHEDULE, key_schedule(&sched), &sched));
        let arn = sched.arn();
        st.schedules.insert(key, sched);
        (arn, ev.submit(ops)?)
    };
    pending.wait().await?;
    ev.reschedule(&arn);
    ok(json!({"ScheduleArn": arn}))
}

fn schedule_json(sc: &Schedule) -> Json {
    let mut o = sc.spec.clone();
    o.insert("Arn".into(), sc.arn().into());
    o.insert("Name".into(), sc.name.clone().into());
    o.insert("GroupName".into(), sc.group.clone().into());
    o.insert("CreationDate".into(), epoch_secs(sc.created));
    o.insert("LastModificationDate".into(), epoch_secs(sc.modified));
    Json::Object(o)
}

fn find<'a>(st: &'a State, ctx: &RequestContext, body: &Map<String, Json>) -> Result<&'a Schedule> {
    let name = s(body, "Name").unwrap_or_default();
    let key = (
        ctx.account_id.clone(),
        ctx.region.clone(),
        group_of(body),
        name.to_string(),
    );
    st.schedules
        .get(&key)
        .ok_or_else(|| error::sched_not_found(format!("Schedule {name} does not exist.")))
}

fn get_schedule(ev: &Events, ctx: &RequestContext, body: &Map<String, Json>) -> Result<Response> {
    let st = ev.lock();
    ok(schedule_json(find(&st, ctx, body)?))
}

async fn delete_schedule(
    ev: &Events,
    ctx: &RequestContext,
    body: &Map<String, Json>,
) -> Result<Response> {
    let (arn, pending) = {
        let mut st = ev.lock();
        let sc = find(&st, ctx, body)?.clone();
        st.schedules.remove(&(
            sc.account.clone(),
            sc.region.clone(),
            sc.group.clone(),
            sc.name.clone(),
        ));
        let op = Op::Delete {
            ks: KS_SCHEDULE,
            key: key_schedule(&sc),
        };
        (sc.arn(), ev.submit(vec![op])?)
    };
    pending.wait().await?;
    ev.reschedule(&arn);
    ok(json!({}))
}

fn list_schedules(ev: &Events, ctx: &RequestContext, body: &Map<String, Json>) -> Result<Response> {
    let group = s(body, "GroupName");
    let prefix = s(body, "NamePrefix").unwrap_or_default();
    let state = s(body, "State");
    let all: Vec<Json> = {
        let st = ev.lock();
        st.schedules
            .values()
            .filter(|sc| sc.account == ctx.account_id && sc.region == ctx.region)
            .filter(|sc| group.is_none_or(|g| sc.group == g))
            .filter(|sc| sc.name.starts_with(prefix))
            .filter(|sc| state.is_none_or(|x| sc.get("State") == Some(x)))
            .map(|sc| {
                json!({
                    "Arn": sc.arn(), "Name": sc.name, "GroupName": sc.group,
                    "State": sc.get("State").unwrap_or("ENABLED"),
                    "CreationDate": epoch_secs(sc.created),
                    "LastModificationDate": epoch_secs(sc.modified),
                    "Target": {"Arn": sc.spec.get("Target").and_then(|t| t.get("Arn")).cloned().unwrap_or(Json::Null)},
                })
            })
            .collect()
    };
    let limit = body
        .get("MaxResults")
        .and_then(Json::as_u64)
        .map(|n| n as usize);
    let (items, next) = page(&all, s(body, "NextToken"), limit)?;
    let mut out = json!({"Schedules": items});
    if let Some(n) = next {
        out["NextToken"] = n.into();
    }
    ok(out)
}

fn group_json(g: &Group) -> Json {
    json!({"Arn": g.arn(), "Name": g.name, "State": "ACTIVE",
           "CreationDate": epoch_secs(g.created), "LastModificationDate": epoch_secs(g.created)})
}

fn tags_of(body: &Map<String, Json>) -> Vec<(String, String)> {
    body.get("Tags")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t.get("Key")?.as_str()?.to_string(),
                t.get("Value")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

async fn create_group(
    ev: &Events,
    ctx: &RequestContext,
    body: &Map<String, Json>,
) -> Result<Response> {
    let name = s(body, "Name").unwrap_or_default().to_string();
    let now = ev.now();
    let (arn, pending) = {
        let mut st = ev.lock();
        let mut ops: Vec<Op> = ensure_default_group(&mut st, ctx, now)
            .into_iter()
            .collect();
        let key = (ctx.account_id.clone(), ctx.region.clone(), name.clone());
        if st.groups.contains_key(&key) {
            return Err(error::conflict(format!(
                "Schedule group {name} already exists."
            )));
        }
        let g = Group {
            v: 1,
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name,
            created: now,
            tags: tags_of(body),
        };
        ops.push(put_op(KS_GROUP, key_group(&g), &g));
        let arn = g.arn();
        st.groups.insert(key, g);
        (arn, ev.submit(ops)?)
    };
    pending.wait().await?;
    ok(json!({"ScheduleGroupArn": arn}))
}

fn get_group(ev: &Events, ctx: &RequestContext, body: &Map<String, Json>) -> Result<Response> {
    let name = s(body, "Name").unwrap_or_default().to_string();
    let mut st = ev.lock();
    if let Some(op) = ensure_default_group(&mut st, ctx, ev.now()) {
        ev.store.write_detached(vec![op]);
    }
    st.groups
        .get(&(ctx.account_id.clone(), ctx.region.clone(), name.clone()))
        .map(group_json)
        .ok_or_else(|| error::sched_not_found(format!("Schedule group {name} does not exist.")))
        .and_then(ok)
}

async fn delete_group(
    ev: &Events,
    ctx: &RequestContext,
    body: &Map<String, Json>,
) -> Result<Response> {
    let name = s(body, "Name").unwrap_or_default().to_string();
    if name == "default" {
        return Err(error::validation(
            "Cannot delete the default schedule group.",
        ));
    }
    let (gone, pending) = {
        let mut st = ev.lock();
        let key = (ctx.account_id.clone(), ctx.region.clone(), name.clone());
        let Some(g) = st.groups.remove(&key) else {
            return Err(error::sched_not_found(format!(
                "Schedule group {name} does not exist."
            )));
        };
        let mut ops = vec![Op::Delete {
            ks: KS_GROUP,
            key: key_group(&g),
        }];
        let doomed: Vec<_> = st
            .schedules
            .keys()
            .filter(|(a, r, gr, _)| *a == ctx.account_id && *r == ctx.region && *gr == name)
            .cloned()
            .collect();
        let mut gone = Vec::new();
        for k in doomed {
            if let Some(sc) = st.schedules.remove(&k) {
                ops.push(Op::Delete {
                    ks: KS_SCHEDULE,
                    key: key_schedule(&sc),
                });
                gone.push(sc.arn());
            }
        }
        (gone, ev.submit(ops)?)
    };
    pending.wait().await?;
    for arn in gone {
        ev.reschedule(&arn);
    }
    ok(json!({}))
}

fn list_groups(ev: &Events, ctx: &RequestContext, body: &Map<String, Json>) -> Result<Response> {
    let prefix = s(body, "NamePrefix").unwrap_or_default();
    let all: Vec<Json> = {
        let mut st = ev.lock();
        if let Some(op) = ensure_default_group(&mut st, ctx, ev.now()) {
            ev.store.write_detached(vec![op]);
        }
        st.groups
            .values()
            .filter(|g| g.account == ctx.account_id && g.region == ctx.region)
            .filter(|g| g.name.starts_with(prefix))
            .map(group_json)
            .collect()
    };
    let limit = body
        .get("MaxResults")
        .and_then(Json::as_u64)
        .map(|n| n as usize);
    let (items, next) = page(&all, s(body, "NextToken"), limit)?;
    let mut out = json!({"ScheduleGroups": items});
    if let Some(n) = next {
        out["NextToken"] = n.into();
    }
    ok(out)
}

/// Tags of schedule groups (Scheduler tags groups only).
async fn tags(
    ev: &Events,
    ctx: &RequestContext,
    op: &str,
    body: &Map<String, Json>,
) -> Result<Response> {
    let arn = s(body, "ResourceArn").unwrap_or_default().to_string();
    let prefix = format!(
        "arn:aws:scheduler:{}:{}:schedule-group/",
        ctx.region, ctx.account_id
    );
    let missing = || error::sched_not_found(format!("Resource {arn} does not exist."));
    let name = arn.strip_prefix(&prefix).ok_or_else(missing)?.to_string();
    let (out, pending) = {
        let mut st = ev.lock();
        let mut ops: Vec<Op> = ensure_default_group(&mut st, ctx, ev.now())
            .into_iter()
            .collect();
        let g = st
            .groups
            .get_mut(&(ctx.account_id.clone(), ctx.region.clone(), name))
            .ok_or_else(missing)?;
        match op {
            "TagResource" => {
                for (k, v) in tags_of(body) {
                    match g.tags.iter_mut().find(|(x, _)| *x == k) {
                        Some(slot) => slot.1 = v,
                        None => g.tags.push((k, v)),
                    }
                }
            }
            "UntagResource" => {
                let keys: Vec<&str> = body
                    .get("TagKeys")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .collect();
                g.tags.retain(|(k, _)| !keys.contains(&k.as_str()));
            }
            _ => {
                let tags: Vec<Json> = g
                    .tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect();
                if !ops.is_empty() {
                    ev.store.write_detached(ops);
                }
                return ok(json!({"Tags": tags}));
            }
        }
        ops.push(put_op(KS_GROUP, key_group(g), &*g));
        (json!({}), ev.submit(ops)?)
    };
    pending.wait().await?;
    ok(out)
}

/// After a one-time schedule fired: deleted when its ActionAfterCompletion
/// is DELETE, else kept and marked done (it will not fire again).
pub(crate) async fn complete_one_time(ev: &Events, sc: &Schedule) {
    let key = (
        sc.account.clone(),
        sc.region.clone(),
        sc.group.clone(),
        sc.name.clone(),
    );
    let pending = {
        let mut st = ev.lock();
        let Some(cur) = st.schedules.get_mut(&key) else {
            return;
        };
        if cur.modified != sc.modified {
            return; // changed meanwhile: the new definition decides
        }
        if cur.get("ActionAfterCompletion") == Some("DELETE") {
            let op = Op::Delete {
                ks: KS_SCHEDULE,
                key: key_schedule(cur),
            };
            st.schedules.remove(&key);
            ev.submit(vec![op])
        } else {
            cur.done = true;
            let op = put_op(KS_SCHEDULE, key_schedule(cur), &*cur);
            ev.submit(vec![op])
        }
    };
    match pending {
        Ok(p) => {
            if let Err(e) = p.wait().await {
                tracing::error!(error = %e, "could not record a fired one-time schedule");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not record a fired one-time schedule"),
    }
}
