//! PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction with SELECT, INSERT, UPDATE and DELETE. A statement is
//! parsed here and rewritten into the equivalent item, query or scan request
//! (its WHERE clause into a condition expression with generated names and
//! values), which then runs through the same code as every other request.

mod lex;
mod parse;
mod plan;

use crate::error::{self, Result};
use crate::request::{arr_of, str_of, Body};
use crate::value::{item_to_json, Value};
use crate::DynamoDb;
use base64::Engine;
use parse::{parse, Stmt};
use plan::{key_and_rest, plan, Names, Plan};
use serde_json::{json, Map, Value as Json};
use serval_core::{AwsError, RequestContext};

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
            .map(|p| Value::from_json(p).map_err(|e| e.into_aws()))
            .collect(),
    }
}

fn duplicate() -> AwsError {
    error::err(
        "DuplicateItemException",
        "Duplicate primary key exists in table",
    )
}

async fn run(db: &DynamoDb, ctx: &RequestContext, plan: Plan) -> Result<Json> {
    use crate::ops::{items, read};
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
        Err(e) => return Err(e),
    };
    let resp: Json = serde_json::from_slice(&raw).unwrap_or_default();
    let mut out = Map::new();
    match plan.op {
        "Query" | "Scan" => {
            out.insert("Items".into(), resp["Items"].clone());
            if let Some(k) = resp.get("LastEvaluatedKey") {
                out.insert(
                    "NextToken".into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(k.to_string())),
                );
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

fn batch_error(e: &AwsError) -> Json {
    let code = e.code.rsplit('#').next().unwrap_or(&e.code);
    let code = match code {
        "ConditionalCheckFailedException" => "ConditionalCheckFailed",
        "DuplicateItemException" => "DuplicateItem",
        "ResourceNotFoundException" => "ResourceNotFound",
        "ValidationException" => "ValidationError",
        _ => "InternalServerError",
    };
    json!({ "Code": code, "Message": e.message })
}

/// BatchExecuteStatement: up to 25 single-item statements, each answered on its own.
pub async fn batch_execute(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = arr_of(body, "Statements").cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 25 {
        return Err(error::validation(format!(
            "1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length {} 25",
            if list.is_empty() { "greater than or equal to 1, and less than or equal to" } else { "less than or equal to" }
        )));
    }
    let mut responses = Vec::new();
    for s in &list {
        let req = s.as_object().cloned().unwrap_or_default();
        let statement = str_of(&req, "Statement").unwrap_or_default();
        let outcome = async {
            let params = params_of(req.get("Parameters"))?;
            let stmt = parse(statement, &params)?;
            let table = match &stmt {
                Stmt::Select { table, cond, .. } => {
                    let cond = cond.as_ref().ok_or_else(|| {
                        error::validation("Batch SELECT statements must name the full primary key")
                    })?;
                    key_and_rest(db, ctx, table, cond)?;
                    table.clone()
                }
                Stmt::Insert { table, .. }
                | Stmt::Update { table, .. }
                | Stmt::Delete { table, .. } => table.clone(),
            };
            let plan = plan(db, ctx, &stmt, &req)?;
            let out = run(db, ctx, plan).await?;
            Ok::<_, AwsError>((table, out))
        }
        .await;
        responses.push(match outcome {
            Ok((table, out)) => {
                let mut r = json!({ "TableName": table });
                if let Some(item) = out["Items"].as_array().and_then(|a| a.first()) {
                    r["Item"] = item.clone();
                }
                r
            }
            Err(e) => json!({ "Error": batch_error(&e) }),
        });
    }
    Ok(json!({ "Responses": responses }))
}

/// ExecuteTransaction: all reads (TransactGetItems) or all writes (TransactWriteItems).
pub async fn execute_transaction(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let list = arr_of(body, "TransactStatements")
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(error::validation(
            "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    let mut gets = Vec::new();
    let mut writes = Vec::new();
    for s in &list {
        let req = s.as_object().cloned().unwrap_or_default();
        let params = params_of(req.get("Parameters"))?;
        let stmt = parse(str_of(&req, "Statement").unwrap_or_default(), &params)?;
        if let Stmt::Select {
            table, cond, proj, ..
        } = &stmt
        {
            let cond = cond.as_ref().ok_or_else(|| {
                error::validation("Transaction SELECT statements must name the full primary key")
            })?;
            let (key, _) = key_and_rest(db, ctx, table, cond)?;
            let mut get = json!({ "TableName": table, "Key": item_to_json(&key) });
            if let Some(list) = proj {
                let mut names = Names::default();
                let p: Vec<String> = list.iter().map(|segs| names.path(segs)).collect();
                get["ProjectionExpression"] = json!(p.join(", "));
                get["ExpressionAttributeNames"] = Json::Object(names.names);
            }
            gets.push(json!({ "Get": get }));
            continue;
        }
        let plan = plan(db, ctx, &stmt, &req)?;
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
    if !gets.is_empty() && !writes.is_empty() {
        return Err(error::validation(
            "Transactions must contain only reads or only writes",
        ));
    }
    let mut tx = Body::new();
    if let Some(v) = body.get("ReturnConsumedCapacity") {
        tx.insert("ReturnConsumedCapacity".into(), v.clone());
    }
    if !gets.is_empty() {
        tx.insert("TransactItems".into(), Json::Array(gets));
        return crate::ops::txn::transact_get(db, ctx, &tx);
    }
    if let Some(v) = body.get("ClientRequestToken") {
        tx.insert("ClientRequestToken".into(), v.clone());
    }
    tx.insert("TransactItems".into(), Json::Array(writes));
    crate::ops::txn::transact_write(db, ctx, &tx).await
}
