//! BatchGetItem and BatchWriteItem: up to 100 keys / 25 writes over several
//! tables, checked whole before anything happens; each table's writes are
//! applied under its lock and committed together.

use crate::error::{self, Result};
use crate::ops::capacity::{read_units, Consumed};
use crate::ops::exprs::{Allowed, Prepared};
use crate::ops::items::{check_item, check_item_key, check_key, stage, write_capacity};
use crate::request::{obj_of, str_of, Body};
use crate::table::{PKey, Stored};
use crate::value::{item_from_json, item_from_json_in, item_size, item_to_json, Item, Layer};
use crate::DynamoDb;
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;
use std::collections::HashSet;

/// Largest BatchGetItem response before the rest is left unprocessed.
const GET_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

fn request_items(body: &Body) -> Result<&Map<String, Json>> {
    match obj_of(body, "RequestItems") {
        Some(m) if !m.is_empty() => Ok(m),
        Some(m) => Err(error::validation(format!(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
            Json::Object(m.clone())
        ))),
        None => Err(error::validation(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null",
        )),
    }
}

fn capacities(body: &Body, list: &[Consumed]) -> Option<Json> {
    let mode = str_of(body, "ReturnConsumedCapacity");
    let out: Vec<Json> = list.iter().filter_map(|c| c.render(mode)).collect();
    (mode.is_some_and(|m| m != "NONE")).then_some(Json::Array(out))
}

/// BatchGetItem.
pub fn batch_get(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let tables = request_items(body)?;
    let total: usize = tables
        .values()
        .map(|t| t["Keys"].as_array().map_or(0, Vec::len))
        .sum();
    if total > 100 {
        return Err(error::validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    // Each table's block may be consistent on its own, yet one request
    // may not mix a projection expression and AttributesToGet.
    let uses = |field: &str| {
        tables
            .values()
            .any(|t| t.get(field).is_some_and(|v| !v.is_null()))
    };
    if uses("ProjectionExpression") && uses("AttributesToGet") {
        return Err(error::validation(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
        ));
    }
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    let mut consumed = Vec::new();
    let mut bytes = 0usize;
    for (name, spec) in tables {
        let spec_map = spec.as_object().cloned().unwrap_or_default();
        let keys = spec["Keys"].as_array().cloned().unwrap_or_default();
        if keys.is_empty() {
            return Err(error::validation(format!(
                "1 validation error detected: Value '[]' at 'requestItems.{name}.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1"
            )));
        }
        let exprs = Prepared::new(
            &spec_map,
            Allowed {
                projection: true,
                ..Allowed::default()
            },
            None,
            Layer::Read,
        )?;
        let consistent = spec["ConsistentRead"].as_bool().unwrap_or(false);
        let t = db.table(ctx, name)?;
        let st = t.read();
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        let mut left = Vec::new();
        let mut units = 0.0;
        for k in &keys {
            let key = item_from_json_in(k, Layer::Read).map_err(|e| e.into_aws())?;
            let pk = check_key(&st.meta, &key)?;
            if !seen.insert(pk.clone()) {
                return Err(error::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            if bytes > GET_RESPONSE_BYTES {
                left.push(k.clone());
                continue;
            }
            let size = st.items.get(&pk).map(|i| item_size(i)).unwrap_or(0);
            units += read_units(size, consistent);
            if let Some(item) = st.items.get(&pk) {
                bytes += size;
                let shown = if exprs.has_projection() {
                    exprs.project(item)
                } else {
                    (**item).clone()
                };
                items.push(item_to_json(&shown));
            }
        }
        consumed.push(Consumed::read(&st.meta.name, units));
        responses.insert(name.clone(), Json::Array(items));
        if !left.is_empty() {
            let mut spec = spec_map.clone();
            spec.insert("Keys".into(), Json::Array(left));
            unprocessed.insert(name.clone(), Json::Object(spec));
        }
    }
    let mut out = json!({ "Responses": responses, "UnprocessedKeys": unprocessed });
    if let Some(c) = capacities(body, &consumed) {
        out["ConsumedCapacity"] = c;
    }
    Ok(out)
}

enum Write {
    Put(Item),
    Delete,
}

/// BatchWriteItem.
pub async fn batch_write(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let tables = request_items(body)?;
    let total: usize = tables
        .values()
        .map(|t| t.as_array().map_or(0, Vec::len))
        .sum();
    if total > 25 {
        return Err(error::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    // parse and check everything before changing anything
    let mut plan = Vec::new();
    for (name, list) in tables {
        let list = list.as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return Err(error::validation(format!(
                "1 validation error detected: Value '[]' at 'requestItems.{name}.member' failed to satisfy constraint: Member must have length greater than or equal to 1"
            )));
        }
        let t = db.table(ctx, name)?;
        let mut writes = Vec::new();
        {
            let st = t.read();
            let mut seen: HashSet<PKey> = HashSet::new();
            for w in &list {
                let (pk, write) = match (w.get("PutRequest"), w.get("DeleteRequest")) {
                    (Some(p), None) => {
                        let item = item_from_json(&p["Item"]).map_err(|e| e.into_aws())?;
                        check_item_key(&st.meta, &item)?;
                        (check_item(&st.meta, &item)?, Write::Put(item))
                    }
                    (None, Some(d)) => {
                        let key = item_from_json(&d["Key"]).map_err(|e| e.into_aws())?;
                        (check_key(&st.meta, &key)?, Write::Delete)
                    }
                    _ => {
                        return Err(error::validation(
                            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                        ))
                    }
                };
                if !seen.insert(pk.clone()) {
                    return Err(error::validation(
                        "Provided list of item keys contains duplicates",
                    ));
                }
                writes.push((pk, write));
            }
        }
        plan.push((t, writes));
    }
    let mut pending = Vec::new();
    let mut consumed = Vec::new();
    for (t, writes) in plan {
        let mut st = t.write();
        for (pk, w) in writes.iter().filter(|_| st.has_local_indexes()) {
            if let Write::Put(item) = w {
                db.check_collection(&st, pk, Some(&Stored::new(item.clone())))?;
            }
        }
        let mut ops = Vec::new();
        let mut c = Consumed::write(&st.meta.name, 0.0);
        for (pk, w) in writes {
            let new = match w {
                Write::Put(item) => Some(Stored::new(item)),
                Write::Delete => None,
            };
            let old = st.items.get(&pk).cloned();
            c.merge(&write_capacity(
                &st.meta,
                old.as_deref().map(Stored::item),
                new.as_ref().map(|s| s.item()),
            ));
            let (_, o) = stage(db, &mut st, &pk, new, None);
            ops.extend(o);
        }
        consumed.push(c);
        pending.push(db.store.submit(ops)?);
    }
    for p in pending {
        p.wait().await?;
    }
    let mut out = json!({ "UnprocessedItems": {} });
    if let Some(c) = capacities(body, &consumed) {
        out["ConsumedCapacity"] = c;
    }
    Ok(out)
}
