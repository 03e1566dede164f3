//! TransactGetItems and TransactWriteItems. A write transaction locks every
//! table it touches (in one global order, so transactions never deadlock),
//! checks every condition, and only then applies every change and commits
//! them in one store batch: all or nothing, serialisable. A ClientRequestToken
//! makes a retry within 10 minutes answer as the first call did.

use crate::error::{self, Result};
use crate::ops::capacity::{read_units, Consumed};
use crate::ops::exprs::{Allowed, Prepared};
use crate::ops::items::{
    check_item, check_key, check_key_not_empty, stage, updated_item, write_capacity,
};
use crate::request::{arr_of, str_of, Body};
use crate::table::{PKey, Stored, TableState};
use crate::value::{item_from_json, item_size, item_to_json, Item, Layer};
use crate::{DynamoDb, Table};
use serde_json::{json, Map, Value as Json};
use serval_core::{AwsError, RequestContext};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

const TOKEN_WINDOW_MS: u64 = 10 * 60 * 1000;
/// Most bytes of new items one transaction writes.
const TXN_MAX_BYTES: usize = 4 * 1024 * 1024;

/// A transaction token seen recently: what the request was and what it answered.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    digest: [u8; 32],
    at_ms: u64,
    response: Json,
}

fn items_list(body: &Body) -> Result<Vec<Json>> {
    let list = arr_of(body, "TransactItems").cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(error::validation(
            "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null",
        ));
    }
    if list.len() > 100 {
        return Err(error::validation(
            "1 validation error detected: Value '[...]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"
        ));
    }
    Ok(list)
}

/// TransactGetItems. Every action's expressions and key are read first,
/// then the tables are looked up and an empty key value is refused outright;
/// a key that does not match its table's schema cancels the transaction.
pub fn transact_get(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = items_list(body)?;
    let mut gets = Vec::with_capacity(list.len());
    for entry in &list {
        let Some(get) = entry.get("Get").and_then(Json::as_object) else {
            return Err(error::validation(
                "Get must be specified for each TransactItem",
            ));
        };
        let name = get
            .get("TableName")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let exprs = Prepared::new(
            get,
            Allowed {
                projection: true,
                ..Allowed::default()
            },
            None,
            Layer::Older,
        )?;
        let key =
            item_from_json(get.get("Key").unwrap_or(&Json::Null)).map_err(|e| e.into_aws())?;
        gets.push((name, exprs, key));
    }
    let mut tables = Vec::with_capacity(gets.len());
    for (name, _, key) in &gets {
        let t = db.table(ctx, name)?;
        check_key_not_empty(&t.read().meta.keys, key)?;
        tables.push(t);
    }
    let mut responses = Vec::new();
    let mut consumed: Vec<Consumed> = Vec::new();
    let mut seen = HashSet::new();
    for (i, ((_, exprs, key), t)) in gets.iter().zip(&tables).enumerate() {
        let st = t.read();
        let pk = check_key(&st.meta, key).map_err(|e| invalid_action(list.len(), i, &e))?;
        if !seen.insert((st.meta.uid.clone(), pk.clone())) {
            return Err(error::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        let item = st.items.get(&pk).cloned();
        let units = 2.0 * read_units(item.as_deref().map_or(0, |i| i.size), true);
        add_consumed(&mut consumed, Consumed::read(&st.meta.name, units));
        responses.push(match item {
            Some(i) if exprs.has_projection() => {
                json!({ "Item": item_to_json(&exprs.project(&i)) })
            }
            Some(i) => json!({ "Item": item_to_json(&i) }),
            None => json!({}),
        });
    }
    let mut out = json!({ "Responses": responses });
    render_consumed(&mut out, body, &consumed);
    Ok(out)
}

/// The cancellation for action `i` of `count` being invalid: a
/// ValidationError reason there, None before and after it.
fn invalid_action(count: usize, i: usize, e: &AwsError) -> AwsError {
    let reasons = (0..count)
        .map(|j| match j == i {
            true => json!({"Code": "ValidationError", "Message": e.message}),
            false => json!({"Code": "None"}),
        })
        .collect::<Vec<_>>();
    let codes: Vec<&str> = (0..count)
        .map(|j| if j == i { "ValidationError" } else { "None" })
        .collect();
    canceled(&codes, reasons)
}

fn add_consumed(list: &mut Vec<Consumed>, c: Consumed) {
    match list.iter_mut().find(|x| x.table == c.table) {
        Some(x) => x.merge(&c),
        None => list.push(c),
    }
}

fn render_consumed(out: &mut Json, body: &Body, list: &[Consumed]) {
    let mode = str_of(body, "ReturnConsumedCapacity");
    if mode.is_some_and(|m| m != "NONE") {
        out["ConsumedCapacity"] = Json::Array(list.iter().filter_map(|c| c.render(mode)).collect());
    }
}

enum Action {
    Check,
    Put(Item),
    Delete,
    Update(Item),
}

struct Step {
    table: usize,
    pk: PKey,
    key: Item,
    action: Action,
    exprs: Prepared,
    spec: Map<String, Json>,
}

fn digest_of(body: &Body) -> [u8; 32] {
    let mut b = body.clone();
    b.remove("ClientRequestToken");
    b.remove("ReturnConsumedCapacity");
    b.remove("ReturnItemCollectionMetrics");
    Sha256::digest(serde_json::to_vec(&b).unwrap_or_default()).into()
}

/// TransactWriteItems.
pub async fn transact_write(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = items_list(body)?;
    let token = str_of(body, "ClientRequestToken").map(|t| format!("{}/{t}", ctx.account_id));
    let digest = digest_of(body);
    let now = db.clock.now_millis();
    if let Some(tok) = &token {
        let mut tokens = db.txn_tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, r| now.saturating_sub(r.at_ms) < TOKEN_WINDOW_MS);
        if let Some(rec) = tokens.get(tok) {
            if rec.digest != digest {
                return Err(error::err(
                    "IdempotentParameterMismatchException",
                    "Specified idempotency token was used with different request parameters within the 10 minute window",
                ));
            }
            return Ok(rec.response.clone());
        }
    }
    let (out, pending) = transact_locked(db, ctx, body, &list)?;
    pending.wait().await?;
    if let Some(tok) = token {
        db.txn_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                tok,
                TokenRecord {
                    digest,
                    at_ms: now,
                    response: out.clone(),
                },
            );
    }
    Ok(out)
}

fn transact_locked(
    db: &DynamoDb,
    ctx: &RequestContext,
    body: &Body,
    list: &[Json],
) -> Result<(Json, serval_store::Pending)> {
    // Parse every action (its expressions, item and key) before looking any
    // table up: a malformed or unused expression anywhere comes first.
    let mut names = Vec::with_capacity(list.len());
    let mut steps = Vec::new();
    for entry in list {
        let obj = entry.as_object().cloned().unwrap_or_default();
        let kinds: Vec<&String> = obj.keys().filter(|k| !obj[*k].is_null()).collect();
        if kinds.len() != 1 {
            return Err(error::validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        }
        let kind = kinds[0].clone();
        let spec = obj[&kind].as_object().cloned().unwrap_or_default();
        names.push(
            spec.get("TableName")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
        );
        let allowed = Allowed {
            condition: true,
            update: kind == "Update",
            ..Allowed::default()
        };
        let exprs = Prepared::new(&spec, allowed, None, Layer::Older)?;
        let (action, key) = match kind.as_str() {
            "ConditionCheck" => {
                if spec.get("ConditionExpression").is_none() {
                    return Err(error::validation(
                        "The ConditionCheck operation requires a ConditionExpression",
                    ));
                }
                (
                    Action::Check,
                    item_from_json(spec.get("Key").unwrap_or(&Json::Null)),
                )
            }
            "Put" => {
                let item = item_from_json(spec.get("Item").unwrap_or(&Json::Null))
                    .map_err(|e| e.into_aws())?;
                (Action::Put(item.clone()), Ok(item))
            }
            "Delete" => (
                Action::Delete,
                item_from_json(spec.get("Key").unwrap_or(&Json::Null)),
            ),
            "Update" => {
                let key = item_from_json(spec.get("Key").unwrap_or(&Json::Null))
                    .map_err(|e| e.into_aws())?;
                (Action::Update(key.clone()), Ok(key))
            }
            other => {
                return Err(error::validation(format!(
                    "Unsupported transaction operation: {other}"
                )))
            }
        };
        let key = key.map_err(|e| e.into_aws())?;
        steps.push(Step {
            table: 0,
            pk: PKey {
                hash: crate::table::KeyPart::S(String::new()),
                range: None,
            },
            key,
            action,
            exprs,
            spec,
        });
    }
    let mut tables: Vec<Arc<Table>> = Vec::new();
    for (step, name) in steps.iter_mut().zip(&names) {
        let t = db.table(ctx, name)?;
        step.table = match tables.iter().position(|x| Arc::ptr_eq(x, &t)) {
            Some(i) => i,
            None => {
                tables.push(t);
                tables.len() - 1
            }
        };
    }
    let put_bytes: usize = steps
        .iter()
        .map(|s| match &s.action {
            Action::Put(item) => item_size(item),
            _ => 0,
        })
        .sum();
    if put_bytes > TXN_MAX_BYTES {
        return Err(error::validation(
            "Transaction request size cannot exceed 4 MB: the aggregate size of the items in the transaction is too large",
        ));
    }
    // lock every table in one global order
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by_key(|&i| Arc::as_ptr(&tables[i]) as usize);
    let mut guards: Vec<Option<std::sync::RwLockWriteGuard<'_, TableState>>> =
        (0..tables.len()).map(|_| None).collect();
    for &i in &order {
        guards[i] = Some(tables[i].write());
    }
    // An empty key value anywhere is refused outright, before any action runs.
    for step in &steps {
        let st = guards[step.table]
            .as_ref()
            .ok_or_else(|| error::internal("lock missing"))?;
        check_key_not_empty(&st.meta.keys, &step.key)?;
    }
    let mut seen = HashSet::new();
    let count = steps.len();
    for (i, step) in steps.iter_mut().enumerate() {
        let st = guards[step.table]
            .as_ref()
            .ok_or_else(|| error::internal("lock missing"))?;
        let checked = match &step.action {
            Action::Put(item) => check_item(&st.meta, item),
            _ => check_key(&st.meta, &step.key),
        };
        // An invalid key or item cancels the transaction there: the
        // actions after it are not looked at.
        step.pk = checked.map_err(|e| invalid_action(count, i, &e))?;
        if !seen.insert((step.table, step.pk.clone())) {
            return Err(error::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
    }
    // evaluate every condition and compute the new items
    let mut reasons = Vec::new();
    let mut failed = false;
    let mut results: Vec<Option<Option<Item>>> = Vec::new();
    for step in &steps {
        let st = guards[step.table]
            .as_ref()
            .ok_or_else(|| error::internal("lock missing"))?;
        let current = st.items.get(&step.pk).cloned();
        let outcome: std::result::Result<Option<Option<Item>>, (String, String, bool)> = match step
            .exprs
            .condition_holds(current.as_deref().map(Stored::item))
        {
            Ok(false) => Err((
                "ConditionalCheckFailed".into(),
                "The conditional request failed".into(),
                true,
            )),
            Err(e) => Err(("ValidationError".into(), e.message.clone(), false)),
            Ok(true) => match &step.action {
                Action::Check => Ok(None),
                Action::Put(item) => Ok(Some(Some(item.clone()))),
                Action::Delete => Ok(Some(None)),
                Action::Update(key) => {
                    match updated_item(
                        &st.meta,
                        &step.exprs,
                        key,
                        current.as_deref().map(Stored::item),
                    )
                    .map(|(n, _)| n)
                    .and_then(|n| match n {
                        Some(n) => check_item(&st.meta, &n).map(|_| Some(n)),
                        None => Ok(None),
                    }) {
                        Ok(n) => Ok(Some(n)),
                        Err(e) => Err(("ValidationError".into(), e.message.clone(), false)),
                    }
                }
            },
        };
        let outcome = outcome.and_then(|r| match &r {
            Some(Some(new)) if st.has_local_indexes() => db
                .check_collection(st, &step.pk, Some(&Stored::new(new.clone())))
                .map(|_| r)
                .map_err(|e| ("ItemCollectionSizeLimitExceeded".into(), e.message, false)),
            _ => Ok(r),
        });
        match outcome {
            Ok(r) => {
                reasons.push(json!({ "Code": "None" }));
                results.push(r);
            }
            Err((code, message, with_item)) => {
                failed = true;
                let mut r = json!({ "Code": code, "Message": message });
                if with_item
                    && step
                        .spec
                        .get("ReturnValuesOnConditionCheckFailure")
                        .and_then(Json::as_str)
                        == Some("ALL_OLD")
                {
                    if let Some(c) = &current {
                        r["Item"] = item_to_json(c);
                    }
                }
                reasons.push(r);
                results.push(None);
            }
        }
    }
    if failed {
        let codes: Vec<&str> = reasons
            .iter()
            .map(|r| r["Code"].as_str().unwrap_or("None"))
            .collect();
        return Err(canceled(&codes, reasons.clone()));
    }
    // apply everything and commit in one batch
    let mut ops = Vec::new();
    let mut consumed: Vec<Consumed> = Vec::new();
    for (step, result) in steps.iter().zip(results) {
        let st = guards[step.table]
            .as_mut()
            .ok_or_else(|| error::internal("lock missing"))?;
        match result {
            None => {
                let size = st.items.get(&step.pk).map(|i| item_size(i)).unwrap_or(0);
                add_consumed(
                    &mut consumed,
                    Consumed::read(&st.meta.name, 2.0 * read_units(size, true)),
                );
            }
            Some(new) => {
                let new = new.map(Stored::new);
                let old = st.items.get(&step.pk).cloned();
                let mut c = write_capacity(
                    &st.meta,
                    old.as_deref().map(Stored::item),
                    new.as_ref().map(|s| s.item()),
                );
                let (_, o) = stage(db, st, &step.pk, new, None);
                c.scale(2.0);
                add_consumed(&mut consumed, c);
                ops.extend(o);
            }
        }
    }
    let pending = db.store.submit(ops)?;
    let mut out = json!({});
    render_consumed(&mut out, body, &consumed);
    Ok((out, pending))
}

/// TransactionCanceledException with its reasons in request order.
pub fn canceled(codes: &[&str], reasons: Vec<Json>) -> AwsError {
    error::err(
        "TransactionCanceledException",
        format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
    )
    .with_field("CancellationReasons", Json::Array(reasons))
}
