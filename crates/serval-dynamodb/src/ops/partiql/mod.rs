//! PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction with SELECT (ORDER BY included), INSERT, UPDATE (both
//! forms), DELETE and, in transactions, EXISTS. A statement is parsed here and
//! rewritten into the equivalent item, query, scan or transaction request (its
//! WHERE clause into key conditions and condition expressions with generated
//! names and values), which then runs through the same code as every other
//! request. Refusals use DynamoDB's own words.

mod ast;
mod lex;
mod overlap;
mod parse;
mod plan;
mod statement;

use crate::error::{self, Result};
use crate::request::{arr_of, str_of, Body};
use crate::value::{item_from_json, item_to_json, Item, Value};
use crate::DynamoDb;
use ast::{Seg, Stmt};
use plan::{
    condition_check, encode_token, exists_outside_transaction, get_request, plan, project,
    read_key, Order, Plan,
};
use serde_json::{json, Map, Value as Json};
use serval_core::{AwsError, RequestContext};
use statement::parse;
use std::cmp::Ordering;

fn malformed(detail: impl AsRef<str>) -> AwsError {
    error::validation(format!(
        "Statement wasn't well formed, can't be processed: {}",
        detail.as_ref()
    ))
}

fn params_of(v: Option<&Json>) -> Result<Vec<Value>> {
    match v.and_then(Json::as_array) {
        None => Ok(Vec::new()),
        Some(list) => list
            .iter()
            .map(|p| {
                check_param(p, 0)?;
                Value::from_json(p).map_err(|e| e.into_aws())
            })
            .collect(),
    }
}

const UNCONVERTIBLE: &str = "The parameter cannot be converted to a numeric value";

/// A parameter's nesting and numbers, in the order DynamoDB meets them.
fn check_param(v: &Json, depth: usize) -> Result<()> {
    if depth >= 32 {
        return Err(error::validation(
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
        ));
    }
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    for (k, inner) in obj {
        match (k.as_str(), inner) {
            ("N", Json::String(s)) => param_number(s)?,
            ("NS", Json::Array(list)) => {
                for s in list.iter().filter_map(Json::as_str) {
                    param_number(s)?;
                }
            }
            ("L", Json::Array(list)) => {
                for i in list {
                    check_param(i, depth + 1)?;
                }
            }
            ("M", Json::Object(m)) => {
                for i in m.values() {
                    check_param(i, depth + 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A number parameter is read as Java's BigDecimal reads text: an exponent
/// or a scale outside a 32-bit integer cannot be converted, and the
/// magnitude check works on precision less scale in 32-bit arithmetic, which
/// wraps (so 1e2147483647 is an underflow), as DynamoDB answers.
fn param_number(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(error::validation(UNCONVERTIBLE));
    }
    let bad = || error::validation(format!("{UNCONVERTIBLE}: {s}"));
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(bad());
    }
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits_ok(digits) {
                return Err(bad());
            }
            e.parse().map_err(|_| bad())?
        }
    };
    let scale = frac.len() as i64 - exp;
    let (Ok(_), Ok(scale)) = (i32::try_from(exp), i32::try_from(scale)) else {
        return Err(bad());
    };
    let all = format!("{int}{frac}");
    let significant = all.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(());
    }
    let magnitude = (significant.len() as i32).wrapping_sub(scale);
    if magnitude > 126 {
        return Err(error::validation(
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ));
    }
    if magnitude < -129 {
        return Err(error::validation(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range",
        ));
    }
    Ok(())
}

fn duplicate() -> AwsError {
    error::err(
        "DuplicateItemException",
        "Duplicate primary key exists in table",
    )
}

/// The expression a statement became is not the user's: DynamoDB reports
/// its errors without naming which expression parameter held them.
fn unwrapped(mut e: AwsError) -> AwsError {
    const PREFIXES: &[&str] = &[
        "Invalid ConditionExpression: ",
        "Invalid FilterExpression: ",
        "Invalid KeyConditionExpression: ",
        "Invalid UpdateExpression: ",
        "Invalid ProjectionExpression: ",
    ];
    if let Some(p) = PREFIXES.iter().find(|p| e.message.starts_with(**p)) {
        e.message = e.message[p.len()..].to_string();
    }
    e
}

/// Re-keys the items of a SELECT with a projection list.
fn project_items(items: &Json, proj: &[Vec<Seg>]) -> Json {
    let list = items.as_array().cloned().unwrap_or_default();
    Json::Array(
        list.iter()
            .map(|i| match item_from_json(i) {
                Ok(item) => item_to_json(&project(&item, proj)),
                Err(_) => i.clone(),
            })
            .collect(),
    )
}

fn add_capacity(total: &mut Option<Json>, more: Option<&Json>) {
    let Some(more) = more else { return };
    match total {
        None => *total = Some(more.clone()),
        Some(t) => {
            let sum = t["CapacityUnits"].as_f64().unwrap_or(0.0)
                + more["CapacityUnits"].as_f64().unwrap_or(0.0);
            t["CapacityUnits"] = json!(sum);
        }
    }
}

/// A read with ORDER BY: every matching item, sorted, then the page asked for.
fn run_ordered(db: &DynamoDb, ctx: &RequestContext, plan: Plan, order: Order) -> Result<Json> {
    use crate::ops::read;
    let mut body = plan.body;
    let mut items: Vec<Item> = Vec::new();
    let mut capacity = None;
    loop {
        let raw = match plan.op {
            "Query" => read::query(db, ctx, &body),
            _ => read::scan(db, ctx, &body),
        }
        .map_err(unwrapped)?;
        let resp: Json = serde_json::from_slice(&raw).unwrap_or_default();
        for i in resp["Items"].as_array().into_iter().flatten() {
            items.push(item_from_json(i).map_err(|e| e.into_aws())?);
        }
        add_capacity(&mut capacity, resp.get("ConsumedCapacity"));
        match resp.get("LastEvaluatedKey") {
            Some(k) => body.insert("ExclusiveStartKey".into(), k.clone()),
            None => break,
        };
    }
    let cmp = |a: &Item, b: &Item| {
        for (name, desc) in &order.keys {
            let o = match (a.get(name), b.get(name)) {
                (Some(x), Some(y)) => x.compare(y).unwrap_or(Ordering::Equal),
                _ => Ordering::Equal,
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    };
    items.sort_by(cmp);
    let start = match &order.after {
        Some(after) => items.partition_point(|i| cmp(i, after) != Ordering::Greater),
        None => 0,
    };
    let end = order
        .limit
        .map_or(items.len(), |l| items.len().min(start + l));
    let page = &items[start.min(end)..end];
    let mut out = Map::new();
    let rendered: Vec<Json> = page
        .iter()
        .map(|i| match &plan.proj {
            Some(p) => item_to_json(&project(i, p)),
            None => item_to_json(i),
        })
        .collect();
    out.insert("Items".into(), Json::Array(rendered));
    if let (true, Some(last)) = (end < items.len(), page.last()) {
        let key: Item = order
            .keys
            .iter()
            .filter_map(|(n, _)| Some((n.clone(), last.get(n)?.clone())))
            .collect();
        out.insert("NextToken".into(), json!(encode_token(&item_to_json(&key))));
    }
    if let Some(c) = capacity {
        out.insert("ConsumedCapacity".into(), c);
    }
    Ok(Json::Object(out))
}

async fn run(db: &DynamoDb, ctx: &RequestContext, mut plan: Plan) -> Result<Json> {
    use crate::ops::{items, read};
    if let Some(order) = plan.order.take() {
        return run_ordered(db, ctx, plan, order);
    }
    let done = match plan.op {
        "Query" => read::query(db, ctx, &plan.body),
        "Scan" => read::scan(db, ctx, &plan.body),
        "PutItem" => items::put_item(db, ctx, &plan.body).await,
        "UpdateItem" => items::update_item(db, ctx, &plan.body).await,
        _ => items::delete_item(db, ctx, &plan.body).await,
    };
    let raw = match done {
        Ok(r) => r,
        Err(e) if plan.insert && e.code.ends_with("ConditionalCheckFailedException") => {
            return Err(duplicate())
        }
        Err(e) => return Err(unwrapped(e)),
    };
    let resp: Json = serde_json::from_slice(&raw).unwrap_or_default();
    let mut out = Map::new();
    match plan.op {
        "Query" | "Scan" => {
            let items = match &plan.proj {
                Some(p) => project_items(&resp["Items"], p),
                None => resp["Items"].clone(),
            };
            out.insert("Items".into(), items);
            if let Some(k) = resp.get("LastEvaluatedKey") {
                out.insert("NextToken".into(), json!(encode_token(k)));
                out.insert("LastEvaluatedKey".into(), k.clone());
            }
        }
        _ => {
            let items = match resp.get("Attributes") {
                Some(a) => vec![a.clone()],
                None => Vec::new(),
            };
            out.insert("Items".into(), Json::Array(items));
        }
    }
    if let Some(c) = resp.get("ConsumedCapacity") {
        out.insert("ConsumedCapacity".into(), c.clone());
    }
    Ok(Json::Object(out))
}

/// Reads a statement as ExecuteStatement does, without a table: parses it
/// with its parameters, checks its OR branches against `keys` and projects
/// `item` through its SELECT list. For fuzzing: any text must come back as
/// `Ok` or a DynamoDB error, never a panic.
pub fn check_statement(
    statement: &str,
    params: &[Value],
    keys: &crate::model::KeySchema,
    item: &Item,
) -> Result<()> {
    match parse(statement, params)? {
        Stmt::Select { cond, proj, .. } => {
            overlap::check(keys, cond.as_ref())?;
            if let Some(p) = proj {
                project(item, &p);
            }
        }
        Stmt::Exists { cond, .. } => overlap::check(keys, cond.as_ref())?,
        _ => {}
    }
    Ok(())
}

/// ExecuteStatement.
pub async fn execute_statement(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let statement = str_of(body, "Statement").ok_or_else(|| {
        error::validation(
            "1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let params = params_of(body.get("Parameters"))?;
    let stmt = parse(statement, &params)?;
    let plan = plan(db, ctx, &stmt, body)?;
    run(db, ctx, plan).await
}

fn batch_code(e: &AwsError) -> &'static str {
    match e.code.rsplit('#').next().unwrap_or(&e.code) {
        "ConditionalCheckFailedException" => "ConditionalCheckFailed",
        "DuplicateItemException" => "DuplicateItem",
        "ResourceNotFoundException" => "ResourceNotFound",
        "ValidationException" => "ValidationError",
        "ProvisionedThroughputExceededException" => "ProvisionedThroughputExceeded",
        "ItemCollectionSizeLimitExceededException" => "ItemCollectionSizeLimitExceeded",
        "ThrottlingException" => "ThrottlingError",
        _ => "InternalServerError",
    }
}

/// One statement of a batch: run it, or say why not.
async fn batch_one(
    db: &DynamoDb,
    ctx: &RequestContext,
    stmt: &Stmt,
    req: &Body,
) -> Result<Option<Json>> {
    if let Stmt::Select {
        table,
        index,
        proj,
        cond,
        ..
    } = stmt
    {
        let t = db.table(ctx, table)?;
        let key = {
            let st = t.read();
            read_key(&st.meta, cond.as_ref())?.filter(|_| index.is_none())
        };
        let Some(key) = key else {
            return Err(error::validation(
                "Select statements within BatchExecuteStatement must specify the primary key in the where clause.",
            ));
        };
        let mut get = get_request(table, &key);
        if let Some(v) = req.get("ConsistentRead") {
            get["ConsistentRead"] = v.clone();
        }
        let get = get.as_object().cloned().unwrap_or_default();
        let raw = crate::ops::items::get_item(db, ctx, &get)?;
        let resp: Json = serde_json::from_slice(&raw).unwrap_or_default();
        return Ok(resp.get("Item").map(|i| match proj {
            Some(p) => project_items(&json!([i]), p)[0].clone(),
            None => i.clone(),
        }));
    }
    let plan = plan(db, ctx, stmt, req)?;
    let out = run(db, ctx, plan).await?;
    Ok(out["Items"].as_array().and_then(|a| a.first()).cloned())
}

/// BatchExecuteStatement: up to 25 single-item statements, all reads or all
/// writes, each answered on its own.
pub async fn batch_execute(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = arr_of(body, "Statements").cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 25 {
        return Err(error::validation(format!(
            "1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length {} 25",
            if list.is_empty() { "greater than or equal to 1, and less than or equal to" } else { "less than or equal to" }
        )));
    }
    // Parse everything first: a statement that does not parse, or an EXISTS,
    // is that statement's error; the rest must be all reads or all writes.
    let mut parsed = Vec::new();
    let mut reads: Option<bool> = None;
    for s in &list {
        let req = s.as_object().cloned().unwrap_or_default();
        let statement = str_of(&req, "Statement").unwrap_or_default();
        let stmt = params_of(req.get("Parameters")).and_then(|p| parse(statement, &p));
        if let Ok(st) = &stmt {
            if !matches!(st, Stmt::Exists { .. }) {
                match reads {
                    None => reads = Some(st.is_read()),
                    Some(r) if r != st.is_read() => {
                        return Err(error::validation(
                            "Read and write requests together in the same batch is not supported.",
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        parsed.push((req, stmt));
    }
    let mut responses = Vec::new();
    for (req, stmt) in &parsed {
        let outcome = match stmt {
            Err(e) => Err(e.clone()),
            Ok(Stmt::Exists { .. }) => Err(exists_outside_transaction()),
            Ok(st) => batch_one(db, ctx, st, req).await,
        };
        let table = stmt.as_ref().ok().map(Stmt::table);
        responses.push(match outcome {
            Ok(item) => {
                let mut r = json!({ "TableName": table });
                if let Some(item) = item {
                    r["Item"] = item;
                }
                r
            }
            Err(e) => {
                let code = batch_code(&e);
                let mut r = json!({ "Error": { "Code": code, "Message": e.message } });
                // the table is named beside any error but a validation one
                if let (Some(t), false) = (table, code == "ValidationError") {
                    r["TableName"] = json!(t);
                }
                r
            }
        });
    }
    Ok(json!({ "Responses": responses }))
}

/// "Validation failed in TransactStatements[i]: ..." for a statement's own
/// validation errors.
fn in_member(i: usize) -> impl Fn(AwsError) -> AwsError {
    move |mut e| {
        if e.code.ends_with("ValidationException") {
            e.message = format!(
                "Validation failed in TransactStatements[{i}]: {}",
                e.message
            );
        }
        e
    }
}

/// ExecuteTransaction: all reads (TransactGetItems) or all writes
/// (TransactWriteItems, with EXISTS as a ConditionCheck).
pub async fn execute_transaction(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = arr_of(body, "TransactStatements")
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(error::validation(
            "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    let mut parsed = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let req = s.as_object().cloned().unwrap_or_default();
        let params = params_of(req.get("Parameters"))?;
        let stmt =
            parse(str_of(&req, "Statement").unwrap_or_default(), &params).map_err(in_member(i))?;
        if stmt.returning().is_some() {
            return Err(in_member(i)(error::validation(
                "RETURNING clause is not supported in ExecuteTransaction.",
            )));
        }
        if matches!(&stmt, Stmt::Select { index: Some(_), .. }) {
            return Err(in_member(i)(error::validation(
                "Reads on indices are not supported within transactions.",
            )));
        }
        parsed.push((req, stmt));
    }
    let reads = parsed.iter().filter(|(_, s)| s.is_read()).count();
    if reads > 0 && reads < parsed.len() {
        return Err(error::validation(
            "ExecuteTransaction API does not support both read and write operations in the same request.",
        ));
    }
    let mut tx = Body::new();
    if let Some(v) = body.get("ReturnConsumedCapacity") {
        tx.insert("ReturnConsumedCapacity".into(), v.clone());
    }
    if reads > 0 {
        let mut gets = Vec::new();
        for (i, (_, stmt)) in parsed.iter().enumerate() {
            let Stmt::Select { table, cond, .. } = stmt else {
                continue;
            };
            let t = db.table(ctx, table)?;
            let key = read_key(&t.read().meta, cond.as_ref())
                .map_err(in_member(i))?
                .ok_or_else(|| {
                in_member(i)(error::validation(
                    "Select statements within ExecuteTransaction must specify the primary key in the where clause.",
                ))
            })?;
            gets.push(json!({ "Get": get_request(table, &key) }));
        }
        tx.insert("TransactItems".into(), Json::Array(gets));
        let mut out = crate::ops::txn::transact_get(db, ctx, &tx)?;
        if let Some(responses) = out["Responses"].as_array_mut() {
            for (r, (_, stmt)) in responses.iter_mut().zip(&parsed) {
                if let (Stmt::Select { proj: Some(p), .. }, Some(item)) = (stmt, r.get("Item")) {
                    r["Item"] = project_items(&json!([item]), p)[0].clone();
                }
            }
        }
        return Ok(out);
    }
    let mut writes = Vec::new();
    for (i, (req, stmt)) in parsed.iter().enumerate() {
        if let Stmt::Exists { .. } = stmt {
            let check = condition_check(db, ctx, stmt).map_err(in_member(i))?;
            writes.push(json!({ "ConditionCheck": check }));
            continue;
        }
        let plan = plan(db, ctx, stmt, req).map_err(in_member(i))?;
        let kind = match plan.op {
            "PutItem" => "Put",
            "UpdateItem" => "Update",
            _ => "Delete",
        };
        let mut spec = plan.body;
        spec.remove("ReturnValues");
        spec.remove("ReturnConsumedCapacity");
        writes.push(json!({ kind: spec }));
    }
    if let Some(v) = body.get("ClientRequestToken") {
        tx.insert("ClientRequestToken".into(), v.clone());
    }
    tx.insert("TransactItems".into(), Json::Array(writes));
    let mut out = crate::ops::txn::transact_write(db, ctx, &tx)
        .await
        .map_err(unwrapped)?;
    // a transaction of writes answers with an empty list of responses
    out["Responses"] = json!([]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> String {
        match param_number(s) {
            Ok(()) => "ok".into(),
            Err(e) => e.message,
        }
    }

    #[test]
    fn reads_number_parameters_as_dynamodb_does() {
        for ok in [
            "1",
            "-1.5e3",
            ".5",
            "5.",
            "9.99e125",
            "1e-130",
            "0e99999",
            "0.0001e-126",
        ] {
            assert_eq!(msg(ok), "ok", "{ok}");
        }
        assert_eq!(msg(""), UNCONVERTIBLE);
        for bad in [
            "abc",
            "1e99999999999",
            "-1e99999999999",
            "1e2147483648",
            "1e-2147483648",
            "1.5e-2147483647",
            "1e",
            ".",
        ] {
            assert_eq!(msg(bad), format!("{UNCONVERTIBLE}: {bad}"), "{bad}");
        }
        assert!(msg("1e2147483647").starts_with("Number underflow"));
        assert!(msg("1e126").starts_with("Number overflow"));
        assert!(msg("1e-131").starts_with("Number underflow"));
    }
}
