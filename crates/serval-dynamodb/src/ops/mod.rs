//! The `DynamoDB_20120810.*` operations.

pub mod batch;
pub mod capacity;
pub mod exprs;
pub mod items;
pub mod partiql;
pub mod read;
pub mod schema;
pub mod tables;
pub mod ttl;
pub mod txn;

use crate::error::Result;
use crate::request::Body;
use crate::DynamoDb;
use serval_core::RequestContext;

/// A response body; `null` is an empty body (TagResource, UntagResource).
fn json(v: serde_json::Value) -> Vec<u8> {
    if v.is_null() {
        return Vec::new();
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Routes one operation; returns the response body.
pub async fn dispatch(
    db: &DynamoDb,
    ctx: &RequestContext,
    op: &str,
    body: &Body,
) -> Result<Vec<u8>> {
    Ok(match op {
        "PutItem" => items::put_item(db, ctx, body).await?,
        "GetItem" => items::get_item(db, ctx, body)?,
        "UpdateItem" => items::update_item(db, ctx, body).await?,
        "DeleteItem" => items::delete_item(db, ctx, body).await?,
        "Query" => read::query(db, ctx, body)?,
        "Scan" => read::scan(db, ctx, body)?,
        "BatchGetItem" => json(batch::batch_get(db, ctx, body)?),
        "BatchWriteItem" => json(batch::batch_write(db, ctx, body).await?),
        "TransactGetItems" => json(txn::transact_get(db, ctx, body)?),
        "TransactWriteItems" => json(txn::transact_write(db, ctx, body).await?),
        "ExecuteStatement" => json(partiql::execute_statement(db, ctx, body).await?),
        "BatchExecuteStatement" => json(partiql::batch_execute(db, ctx, body).await?),
        "ExecuteTransaction" => json(partiql::execute_transaction(db, ctx, body).await?),
        "CreateTable" => json(tables::create_table(db, ctx, body).await?),
        "DescribeTable" => json(tables::describe_table(db, ctx, body)?),
        "ListTables" => json(tables::list_tables(db, ctx, body)?),
        "DeleteTable" => json(tables::delete_table(db, ctx, body).await?),
        "UpdateTable" => json(tables::update_table(db, ctx, body).await?),
        "UpdateTimeToLive" => json(tables::update_ttl(db, ctx, body).await?),
        "DescribeTimeToLive" => json(tables::describe_ttl(db, ctx, body)?),
        "TagResource" => json(tables::tag_resource(db, ctx, body).await?),
        "UntagResource" => json(tables::untag_resource(db, ctx, body).await?),
        "ListTagsOfResource" => json(tables::list_tags(db, ctx, body)?),
        "DescribeLimits" => json(tables::describe_limits()),
        "DescribeContinuousBackups" => json(tables::describe_continuous_backups(db, ctx, body)?),
        "UpdateContinuousBackups" => json(tables::update_continuous_backups(db, ctx, body).await?),
        _ => return Err(crate::unknown_operation(&format!("DynamoDB_20120810.{op}"))),
    })
}
