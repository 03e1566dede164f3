//! Table operations: Create/Describe/List/Update/DeleteTable, TTL settings,
//! tags, DescribeLimits and DescribeEndpoints.

use super::schema::*;
use crate::error::{self, Result};
use crate::model::{Index, KeyAttr, TableMeta, Throughput};
use crate::request::{arr_of, bool_of, str_of, Body, Checks};
use crate::table::TableState;
use crate::{DynamoDb, KS_ITEMS, KS_TABLES};
use serde_json::{json, Value as Json};
use serval_core::RequestContext;
use serval_store::Op;

const MAX_TAGS: usize = 50;

/// Tags from a `Tags` list, with their characters checked: letters,
/// digits, spaces and `_ . : / = + - @`.
fn tags_of(v: Option<&Json>) -> Result<Vec<(String, String)>> {
    let tags: Vec<(String, String)> = v
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t["Key"].as_str().unwrap_or_default().to_string(),
                        t["Value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    for (k, v) in &tags {
        if !allowed(k) || !allowed(v) {
            return Err(invalid(format!(
                "Tag keys and values may only contain letters, digits, spaces and _ . : / = + - @ (key: {k})"
            )));
        }
    }
    Ok(tags)
}

fn too_many_tags() -> serval_core::AwsError {
    error::validation(format!(
        "One or more parameter values were invalid: The number of tags exceeds the limit of {MAX_TAGS}."
    ))
}

/// CreateTable.
pub async fn create_table(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let mut c = Checks::new();
    c.table_name(body, "TableName");
    let defs = attribute_definitions(&mut c, body);
    check_key_schema_shape(&mut c, body.get("KeySchema"), "keySchema");
    c.enum_field(body, "BillingMode", &["PROVISIONED", "PAY_PER_REQUEST"]);
    c.enum_field(
        body,
        "TableClass",
        &["STANDARD", "STANDARD_INFREQUENT_ACCESS"],
    );
    c.finish()?;
    let name = str_of(body, "TableName").unwrap_or_default().to_string();
    let billing = str_of(body, "BillingMode")
        .unwrap_or("PROVISIONED")
        .to_string();
    let pt = body.get("ProvisionedThroughput").unwrap_or(&Json::Null);
    let table_throughput = if billing == "PAY_PER_REQUEST" {
        if !pt.is_null() {
            return Err(invalid("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"));
        }
        Throughput::default()
    } else {
        throughput(pt, "")?.ok_or_else(|| {
            invalid("ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
        })?
    };
    let ks_list = arr_of(body, "KeySchema").cloned().unwrap_or_default();
    if ks_list.len() > defs.len() {
        return Err(error::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    let keys = key_schema(&ks_list, &defs, false)?;
    let mut seen = std::collections::HashSet::new();
    for d in &defs {
        if !seen.insert(d.name.as_str()) {
            return Err(invalid(format!(
                "Duplicate AttributeName in AttributeDefinitions: {}",
                d.name
            )));
        }
    }
    let mut indexes = Vec::new();
    if let Some(lsis) = body.get("LocalSecondaryIndexes").filter(|v| !v.is_null()) {
        let list = lsis.as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return Err(invalid("List of LocalSecondaryIndexes is empty"));
        }
        if keys.range.is_none() {
            return Err(invalid("Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"));
        }
        for v in &list {
            let ix = parse_index(v, &defs, false, &billing)?;
            if ix.keys.range.is_none() {
                return Err(invalid(format!(
                    "Index KeySchema does not have a range key for index: {}",
                    ix.name
                )));
            }
            if ix.keys.hash.name != keys.hash.name {
                return Err(invalid(format!(
                    "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                    ix.name, ix.keys.hash.name, keys.hash.name
                )));
            }
            indexes.push(ix);
        }
        if list.len() > 5 {
            return Err(invalid(
                "Number of LocalSecondaryIndexes exceeds per-table limit of 5",
            ));
        }
    }
    if let Some(gsis) = body.get("GlobalSecondaryIndexes").filter(|v| !v.is_null()) {
        let list = gsis.as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return Err(invalid("List of GlobalSecondaryIndexes is empty"));
        }
        for v in &list {
            indexes.push(parse_index(v, &defs, true, &billing)?);
        }
        if list.len() > 20 {
            return Err(invalid(
                "GlobalSecondaryIndex count exceeds the per-table limit of 20",
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for ix in &indexes {
        if !names.insert(ix.name.clone()) {
            return Err(invalid(format!("Duplicate index name: {}", ix.name)));
        }
    }
    let used: Vec<&str> = std::iter::once(&keys)
        .chain(indexes.iter().map(|i| &i.keys))
        .flat_map(|k| k.attrs())
        .map(|a| a.name.as_str())
        .collect();
    if defs.iter().any(|d| !used.contains(&d.name.as_str())) {
        if indexes.is_empty() {
            return Err(invalid("Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"));
        }
        let mut used_sorted: Vec<&str> = used.clone();
        used_sorted.sort();
        used_sorted.dedup();
        return Err(invalid(format!(
            "Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
            defs.iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            used_sorted.join(", ")
        )));
    }
    let tags = tags_of(body.get("Tags"))?;
    if tags.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    let now_ms = db.clock.now_millis();
    let stream = stream_spec(
        body.get("StreamSpecification").unwrap_or(&Json::Null),
        now_ms,
    )?;
    let meta = TableMeta {
        name,
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        uid: serval_core::ids::random_hex(16),
        table_id: serval_core::ids::uuid_v4(),
        keys,
        attrs: defs,
        billing,
        throughput: table_throughput,
        indexes,
        stream,
        old_streams: Vec::new(),
        ttl_attr: None,
        tags,
        created: now_ms as f64 / 1000.0,
        billing_changed: 0.0,
        class: str_of(body, "TableClass").unwrap_or("STANDARD").to_string(),
        deletion_protection: bool_of(body, "DeletionProtectionEnabled").unwrap_or(false),
        pitr: None,
    };
    let state = TableState::new(meta.clone());
    let desc = state.describe();
    db.insert_table(&meta, state)?;
    if let Err(e) = db.store.write(vec![DynamoDb::meta_op(&meta)]).await {
        db.remove_table(&meta);
        return Err(e.into());
    }
    Ok(json!({ "TableDescription": desc }))
}

/// DescribeTable.
pub fn describe_table(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let name = crate::request::table_name(body)?;
    let t = db.table_named(ctx, name)?;
    let state = t.read();
    Ok(json!({ "Table": state.describe() }))
}

/// ListTables.
pub fn list_tables(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let mut c = Checks::new();
    c.int_range(body, "Limit", 1, 100);
    if let Some(v) = body.get("ExclusiveStartTableName").filter(|v| !v.is_null()) {
        c.name_value(v, v.as_str().unwrap_or_default(), "exclusiveStartTableName");
    }
    c.finish()?;
    let limit = body.get("Limit").and_then(Json::as_u64).unwrap_or(100) as usize;
    let start = str_of(body, "ExclusiveStartTableName");
    let names: Vec<String> = db
        .table_names(ctx)
        .into_iter()
        .filter(|n| start.is_none_or(|s| n.as_str() > s))
        .collect();
    let page: Vec<&String> = names.iter().take(limit).collect();
    let mut out = json!({ "TableNames": page });
    if names.len() > limit {
        if let Some(last) = page.last() {
            out["LastEvaluatedTableName"] = json!(last);
        }
    }
    Ok(out)
}

/// DeleteTable.
pub async fn delete_table(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let name = crate::request::table_name(body)?;
    let t = db.table_named(ctx, name)?;
    let (meta, desc, last_seq) = {
        let mut state = t.write();
        if state.meta.deletion_protection {
            return Err(error::validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."
            ));
        }
        state.status = crate::table::Status::Deleting;
        // DeleteTable describes the table without its schema.
        let mut desc = state.describe();
        if let Some(d) = desc.as_object_mut() {
            for field in [
                "CreationDateTime",
                "KeySchema",
                "AttributeDefinitions",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
            ] {
                d.remove(field);
            }
        }
        (state.meta.clone(), desc, state.stream_seq)
    };
    db.remove_table(&meta);
    let mut ops = vec![
        Op::Delete {
            ks: KS_TABLES,
            key: crate::meta_key(&meta),
        },
        Op::DeletePrefix {
            ks: KS_ITEMS,
            prefix: format!("{}/", meta.uid).into_bytes(),
        },
    ];
    // The table's streams outlive it, disabled, for 24 hours.
    let dead = crate::streams::retire(db, &meta, last_seq);
    ops.extend(dead.iter().map(crate::streams::DeadStream::put_op));
    db.store.write(ops).await?;
    db.dead_streams
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .extend(dead);
    Ok(json!({ "TableDescription": desc }))
}

/// UpdateTable.
pub async fn update_table(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let (out, pending) = update_table_locked(db, ctx, body)?;
    pending.wait().await?;
    Ok(out)
}

fn update_table_locked(
    db: &DynamoDb,
    ctx: &RequestContext,
    body: &Body,
) -> Result<(Json, serval_store::Pending)> {
    let mut c = Checks::new();
    c.table_name(body, "TableName");
    c.enum_field(body, "BillingMode", &["PROVISIONED", "PAY_PER_REQUEST"]);
    c.finish()?;
    let name = str_of(body, "TableName").unwrap_or_default();
    let t = db.table_named(ctx, name)?;
    let now_ms = db.clock.now_millis();
    let now = now_ms as f64 / 1000.0;
    let mut state = t.write();
    let mut meta = state.meta.clone();
    let mut changed = false;
    let billing_before = meta.billing.clone();
    let new_defs: Vec<KeyAttr> = {
        let mut c = Checks::new();
        let d = if body.get("AttributeDefinitions").is_some() {
            attribute_definitions(&mut c, body)
        } else {
            Vec::new()
        };
        c.finish()?;
        d
    };
    if let Some(b) = str_of(body, "BillingMode") {
        if b != meta.billing {
            meta.billing = b.to_string();
            meta.billing_changed = now;
            if b == "PAY_PER_REQUEST" {
                meta.throughput = Throughput::default();
                for ix in &mut meta.indexes {
                    if ix.global {
                        ix.throughput = None;
                    }
                }
            }
        }
        changed = true;
    }
    if let Some(pt) = body.get("ProvisionedThroughput").filter(|v| !v.is_null()) {
        if meta.billing == "PAY_PER_REQUEST" {
            return Err(invalid("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"));
        }
        let new = throughput(pt, "")?.unwrap_or_default();
        let old = meta.throughput;
        // Restating the billing mode the table already has changes nothing either.
        if new.read == old.read && new.write == old.write && meta.billing == billing_before {
            return Err(error::validation(format!(
                "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {}. Requested ReadCapacityUnits: {}. Current WriteCapacityUnits provisioned for the table: {}. Requested WriteCapacityUnits: {}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
                old.read, new.read, old.write, new.write
            )));
        }
        let mut tp = Throughput {
            read: new.read,
            write: new.write,
            last_increase: old.last_increase,
            last_decrease: old.last_decrease,
        };
        if new.read > old.read || new.write > old.write {
            tp.last_increase = now;
        }
        if new.read < old.read || new.write < old.write {
            tp.last_decrease = now;
        }
        meta.throughput = tp;
        changed = true;
    } else if meta.billing == "PROVISIONED"
        && str_of(body, "BillingMode") == Some("PROVISIONED")
        && meta.throughput.read == 0
    {
        return Err(invalid("ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"));
    }
    if let Some(spec) = body.get("StreamSpecification").filter(|v| !v.is_null()) {
        let enable = spec["StreamEnabled"].as_bool().unwrap_or(false);
        let current = meta.stream.as_ref().filter(|s| s.enabled);
        match (enable, current) {
            (true, Some(_)) => {
                return Err(error::validation(format!(
                    "Table already has an enabled stream: TableName: {}",
                    meta.name
                )))
            }
            (false, None) => {
                return Err(error::validation(format!(
                    "Table has no stream to disable: TableName: {}",
                    meta.name
                )))
            }
            (true, None) => {
                if let Some(old) = meta.stream.take() {
                    meta.old_streams.push(old);
                }
                meta.stream = stream_spec(spec, now_ms)?;
            }
            (false, Some(_)) => {
                if let Some(s) = meta.stream.as_mut() {
                    s.enabled = false;
                }
            }
        }
        changed = true;
    }
    let mut new_indexes: Vec<Index> = Vec::new();
    if let Some(updates) = arr_of(body, "GlobalSecondaryIndexUpdates").filter(|u| !u.is_empty()) {
        for d in &new_defs {
            if let Some(old) = meta.attrs.iter().find(|x| x.name == d.name && x.ty != d.ty) {
                return Err(invalid(format!(
                    "Attributes cannot be redefined. Please check that your attribute has the same type as previously defined. Existing schema: {}:{}, New schema: {}:{}",
                    old.name, old.ty, d.name, d.ty
                )));
            }
        }
        let online = updates
            .iter()
            .filter(|u| {
                u.get("Create")
                    .or(u.get("Delete"))
                    .is_some_and(|v| !v.is_null())
            })
            .count();
        if online > 1 {
            return Err(error::err(
                "LimitExceededException",
                "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
            ));
        }
        for u in updates {
            let actions = ["Create", "Update", "Delete"];
            let given: Vec<&String> = u
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, _)| k)
                        .collect()
                })
                .unwrap_or_default();
            if given.len() != 1 || !actions.contains(&given[0].as_str()) {
                return Err(invalid(
                    "One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update or GlobalSecondaryIndexUpdate.Delete must be given, and only one",
                ));
            }
            if let Some(create) = u.get("Create").filter(|v| !v.is_null()) {
                // The new index's key attributes must be (re)defined in
                // this request's AttributeDefinitions.
                let ix = parse_index(create, &new_defs, true, &meta.billing)?;
                if meta.index(&ix.name).is_some() {
                    return Err(invalid(format!(
                        "Attempting to create an index which already exists: {}",
                        ix.name
                    )));
                }
                for a in ix.keys.attrs() {
                    if !meta.attrs.iter().any(|x| x.name == a.name) {
                        meta.attrs.push(a.clone());
                    }
                }
                meta.indexes.push(ix.clone());
                new_indexes.push(ix);
            } else if let Some(del) = u.get("Delete").filter(|v| !v.is_null()) {
                let ix_name = del["IndexName"].as_str().unwrap_or_default();
                let Some(pos) = meta
                    .indexes
                    .iter()
                    .position(|i| i.global && i.name == ix_name)
                else {
                    return Err(error::err(
                        "ResourceNotFoundException",
                        format!("Requested resource not found: Index: {ix_name} not found"),
                    ));
                };
                meta.indexes.remove(pos);
                let used: Vec<String> = std::iter::once(&meta.keys)
                    .chain(meta.indexes.iter().map(|i| &i.keys))
                    .flat_map(|k| std::iter::once(&k.hash).chain(k.range.iter()))
                    .map(|a| a.name.clone())
                    .collect();
                meta.attrs.retain(|a| used.contains(&a.name));
            } else if let Some(upd) = u.get("Update").filter(|v| !v.is_null()) {
                let ix_name = upd["IndexName"].as_str().unwrap_or_default().to_string();
                let tp = throughput(&upd["ProvisionedThroughput"], "")?;
                let Some(ix) = meta
                    .indexes
                    .iter_mut()
                    .find(|i| i.global && i.name == ix_name)
                else {
                    return Err(error::err(
                        "ResourceNotFoundException",
                        format!("Requested resource not found: Index: {ix_name} not found"),
                    ));
                };
                ix.throughput = tp;
            }
        }
        changed = true;
    }
    if let Some(p) = bool_of(body, "DeletionProtectionEnabled") {
        meta.deletion_protection = p;
        changed = true;
    }
    if let Some(class) = str_of(body, "TableClass") {
        meta.class = class.to_string();
        changed = true;
    }
    if !changed {
        return Err(error::validation("UpdateTable needs at least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates"));
    }
    let removed: Vec<String> = state
        .indexes
        .keys()
        .filter(|n| meta.index(n).is_none())
        .cloned()
        .collect();
    for n in removed {
        state.indexes.remove(&n);
    }
    state.meta = meta.clone();
    for ix in &new_indexes {
        state.build_index(ix);
    }
    let desc = state.describe();
    let pending = db.store.submit(vec![DynamoDb::meta_op(&meta)])?;
    Ok((json!({ "TableDescription": desc }), pending))
}

/// UpdateTimeToLive.
pub async fn update_ttl(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let mut c = Checks::new();
    c.table_name(body, "TableName");
    c.required(body, "TimeToLiveSpecification");
    c.finish()?;
    let spec = &body["TimeToLiveSpecification"];
    let enabled = spec["Enabled"].as_bool().unwrap_or(false);
    let attr = spec["AttributeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t = db.table_named(ctx, str_of(body, "TableName").unwrap_or_default())?;
    let pending = {
        let mut state = t.write();
        match (&state.meta.ttl_attr, enabled) {
            (Some(_), true) => return Err(error::validation("TimeToLive is already enabled")),
            (None, false) => return Err(error::validation("TimeToLive is already disabled")),
            (Some(cur), false) if *cur != attr => {
                return Err(error::validation(format!(
                "TimeToLive is active on a different AttributeName: current AttributeName is {cur}"
            )))
            }
            _ => {}
        }
        state.meta.ttl_attr = enabled.then(|| attr.clone());
        db.store.submit(vec![DynamoDb::meta_op(&state.meta)])?
    };
    pending.wait().await?;
    Ok(json!({ "TimeToLiveSpecification": { "Enabled": enabled, "AttributeName": attr } }))
}

/// DescribeTimeToLive.
pub fn describe_ttl(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let name = crate::request::table_name(body)?;
    let t = db.table_named(ctx, name)?;
    let state = t.read();
    Ok(match &state.meta.ttl_attr {
        Some(a) => {
            json!({ "TimeToLiveDescription": { "TimeToLiveStatus": "ENABLED", "AttributeName": a } })
        }
        None => json!({ "TimeToLiveDescription": { "TimeToLiveStatus": "DISABLED" } }),
    })
}

fn table_by_arn(
    db: &DynamoDb,
    ctx: &RequestContext,
    body: &Body,
) -> Result<std::sync::Arc<crate::Table>> {
    let mut c = Checks::new();
    c.required(body, "ResourceArn");
    c.finish()?;
    let arn = str_of(body, "ResourceArn").unwrap_or_default();
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if !arn.starts_with("arn:") {
        return Err(error::validation(format!(
            "Invalid ResourceArn provided as input {arn}: ARNs must start with 'arn:'"
        )));
    }
    let name = match parts.as_slice() {
        ["arn", _, "dynamodb", _, _, res] if res.contains("/index/") => {
            return Err(error::validation(format!(
                "Invalid ResourceArn provided as input {arn}: only tables can be tagged, not indexes"
            )))
        }
        ["arn", _, "dynamodb", _, _, res] if res.starts_with("table/") => res
            .trim_start_matches("table/")
            .split('/')
            .next()
            .unwrap_or_default(),
        _ => {
            return Err(error::validation(format!(
                "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
            )))
        }
    };
    let (region, account) = (parts[3], parts[4]);
    if account != ctx.account_id || region != ctx.region {
        return Err(error::err(
            "ResourceNotFoundException",
            format!("Requested resource not found: ResourceArn: {arn} not found"),
        ));
    }
    db.table(ctx, name).map_err(|_| {
        error::err(
            "ResourceNotFoundException",
            format!("Requested resource not found: ResourceArn: {arn} not found"),
        )
    })
}

/// TagResource.
pub async fn tag_resource(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let t = table_by_arn(db, ctx, body)?;
    let tags = tags_of(body.get("Tags"))?;
    if tags.is_empty() {
        return Err(invalid("Atleast one Tag needs to be provided as Input."));
    }
    let pending = {
        let mut state = t.write();
        let mut merged = state.meta.tags.clone();
        for (k, v) in tags {
            match merged.iter_mut().find(|(tk, _)| *tk == k) {
                Some(slot) => slot.1 = v,
                None => merged.push((k, v)),
            }
        }
        if merged.len() > MAX_TAGS {
            return Err(too_many_tags());
        }
        state.meta.tags = merged;
        db.store.submit(vec![DynamoDb::meta_op(&state.meta)])?
    };
    pending.wait().await?;
    Ok(Json::Null)
}

/// UntagResource.
pub async fn untag_resource(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let t = table_by_arn(db, ctx, body)?;
    let keys: Vec<String> = arr_of(body, "TagKeys")
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let pending = {
        let mut state = t.write();
        state.meta.tags.retain(|(k, _)| !keys.contains(k));
        db.store.submit(vec![DynamoDb::meta_op(&state.meta)])?
    };
    pending.wait().await?;
    Ok(Json::Null)
}

/// ListTagsOfResource.
pub fn list_tags(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let t = table_by_arn(db, ctx, body)?;
    let state = t.read();
    let tags: Vec<Json> = state
        .meta
        .tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(json!({ "Tags": tags }))
}

/// DescribeLimits.
pub fn describe_limits() -> Json {
    json!({
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000
    })
}

/// DescribeEndpoints.
///
/// The address is Serval's own (the Host the caller used), so that SDKs
/// with endpoint discovery stay on Serval.
pub fn describe_endpoints(host: &str) -> Json {
    json!({
        "Endpoints": [{
            "Address": host,
            "CachePeriodInMinutes": 1440
        }]
    })
}

fn backups_description(meta: &TableMeta, now: f64) -> Json {
    let pitr = match meta.pitr {
        Some((since, days)) => json!({
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": days,
            "EarliestRestorableDateTime": since.max(now - f64::from(days) * 86400.0),
            "LatestRestorableDateTime": now - 300.0_f64.min(now - since).max(0.0)
        }),
        None => json!({ "PointInTimeRecoveryStatus": "DISABLED" }),
    };
    json!({
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": if meta.pitr.is_some() { "ENABLED" } else { "DISABLED" },
            "PointInTimeRecoveryDescription": pitr
        }
    })
}

fn backups_table(
    db: &DynamoDb,
    ctx: &RequestContext,
    body: &Body,
) -> Result<std::sync::Arc<crate::Table>> {
    let name = str_of(body, "TableName").unwrap_or_default();
    db.table(ctx, name).map_err(|_| {
        error::err(
            "TableNotFoundException",
            format!("Table not found: {}", crate::table_name_of(name)),
        )
    })
}

/// DescribeContinuousBackups (Serval keeps no backups; it reports the
/// point-in-time recovery setting).
pub fn describe_continuous_backups(
    db: &DynamoDb,
    ctx: &RequestContext,
    body: &Body,
) -> Result<Json> {
    let t = backups_table(db, ctx, body)?;
    let st = t.read();
    Ok(backups_description(&st.meta, db.now_secs()))
}

/// UpdateContinuousBackups: records the point-in-time recovery setting.
pub async fn update_continuous_backups(
    db: &DynamoDb,
    ctx: &RequestContext,
    body: &Body,
) -> Result<Json> {
    let t = backups_table(db, ctx, body)?;
    let spec = &body["PointInTimeRecoverySpecification"];
    let enable = spec["PointInTimeRecoveryEnabled"]
        .as_bool()
        .unwrap_or(false);
    let days = spec["RecoveryPeriodInDays"].as_u64().unwrap_or(35);
    if !(1..=35).contains(&days) {
        return Err(error::validation(
            "RecoveryPeriodInDays must be between 1 and 35",
        ));
    }
    let now = db.now_secs();
    let (out, pending) = {
        let mut st = t.write();
        st.meta.pitr = match (enable, st.meta.pitr) {
            (false, _) => None,
            (true, Some((since, _))) => Some((since, days as u32)),
            (true, None) => Some((now, days as u32)),
        };
        let out = backups_description(&st.meta, now);
        (out, db.store.submit(vec![DynamoDb::meta_op(&st.meta)])?)
    };
    pending.wait().await?;
    Ok(out)
}
