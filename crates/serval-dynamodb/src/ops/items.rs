//! Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem, and the
//! key and item checks they share with batches and transactions.

use crate::error::{self, Result};
use crate::model::{KeyAttr, KeySchema, TableMeta};
use crate::ops::capacity::{read_units, write_units, Consumed};
use crate::ops::exprs::{Allowed, Prepared};
use crate::request::{str_of, Body, Checks};
use crate::table::{KeyPart, PKey, Stored, TableState};
use crate::value::{item_from_json_in, item_size, item_to_json, write_item, Item, Layer, Value};
use crate::{DynamoDb, KS_ITEMS};
use serval_core::{AwsError, RequestContext};
use serval_store::Op;
use std::sync::Arc;

/// Largest item DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// In the order DynamoDB lists them (as the model file has them).
const RETURN_VALUES: &[&str] = &["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"];
const RETURN_CAPACITY: &[&str] = &["INDEXES", "TOTAL", "NONE"];

fn invalid(msg: impl AsRef<str>) -> AwsError {
    error::validation(format!(
        "One or more parameter values were invalid: {}",
        msg.as_ref()
    ))
}

fn empty_key_value(attr: &KeyAttr, v: &Value) -> bool {
    matches!(v, Value::S(s) if s.is_empty())
        || matches!(v, Value::B(b) if b.is_empty()) && attr.ty == v.type_name()
}

fn empty_key_message(v: &Value, name: &str) -> AwsError {
    let what = if matches!(v, Value::B(_)) {
        "binary"
    } else {
        "string"
    };
    error::validation(format!(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {what} value. Key: {name}"
    ))
}

/// An empty string or binary in a key attribute of `item` (an item or a
/// key): the ValidationException the transactions answer before any action
/// runs, where a key of the wrong type or shape cancels the transaction.
pub fn check_key_not_empty(keys: &KeySchema, item: &Item) -> Result<()> {
    for attr in std::iter::once(&keys.hash).chain(keys.range.iter()) {
        if let Some(v) = item.get(&attr.name) {
            if attr.type_matches(v) && empty_key_value(attr, v) {
                return Err(empty_key_message(v, &attr.name));
            }
        }
    }
    Ok(())
}

fn check_key_sizes(meta: &TableMeta, pk: &PKey) -> Result<()> {
    if pk.hash.size() > 2048 {
        return Err(invalid(
            "Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if pk.range.as_ref().is_some_and(|r| r.size() > 1024) {
        return Err(invalid(
            "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    let _ = meta;
    Ok(())
}

/// Checks a whole item against the table (keys, index keys, size) and
/// returns its primary key.
pub fn check_item(meta: &TableMeta, item: &Item) -> Result<PKey> {
    if item.contains_key("") {
        return Err(invalid("Empty attribute name"));
    }
    for attr in std::iter::once(&meta.keys.hash).chain(meta.keys.range.iter()) {
        let Some(v) = item.get(&attr.name) else {
            return Err(invalid(format!(
                "Missing the key {} in the item",
                attr.name
            )));
        };
        if !attr.type_matches(v) {
            return Err(invalid(format!(
                "Type mismatch for key {} expected: {} actual: {}",
                attr.name,
                attr.ty,
                v.type_name()
            )));
        }
        if empty_key_value(attr, v) {
            return Err(empty_key_message(v, &attr.name));
        }
    }
    for ix in &meta.indexes {
        let mut range_size = 0;
        for attr in ix.keys.attrs() {
            if meta.keys.has(&attr.name) {
                continue;
            }
            if let Some(v) = item.get(&attr.name) {
                if !attr.type_matches(v) {
                    return Err(invalid(format!(
                        "Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                        attr.name,
                        attr.ty,
                        v.type_name(),
                        ix.name
                    )));
                }
                if empty_key_value(attr, v) {
                    return Err(error::validation(format!(
                        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {} value. IndexName: {}, IndexKey: {}",
                        if matches!(v, Value::B(_)) { "binary" } else { "string" },
                        ix.name,
                        attr.name
                    )));
                }
                let is_hash = ix.keys.hash_attrs().any(|h| std::ptr::eq(h, attr));
                let size = KeyPart::of(v).map(|k| k.size()).unwrap_or(0);
                if is_hash && size > 2048 {
                    return Err(invalid(format!("Size of hashkey has exceeded the maximum size limit of 2048 bytes. IndexName: {}, IndexKey: {}", ix.name, attr.name)));
                }
                if !is_hash {
                    range_size += size;
                }
                if !is_hash && range_size > 1024 {
                    return Err(invalid(format!("Aggregated size of all range keys has exceeded the size limit of 1024 bytes. IndexName: {}, IndexKey: {}", ix.name, attr.name)));
                }
            }
        }
    }
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(error::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    let pk =
        PKey::of_item(&meta.keys, item).ok_or_else(|| invalid("Missing the key in the item"))?;
    check_key_sizes(meta, &pk)?;
    Ok(pk)
}

/// BatchWriteItem's check of a put item's key attributes: one missing or of
/// the wrong type is the same schema mismatch a bad `Key` is (PutItem words
/// it per attribute instead).
pub fn check_item_key(meta: &TableMeta, item: &Item) -> Result<()> {
    let matches = std::iter::once(&meta.keys.hash)
        .chain(meta.keys.range.iter())
        .all(|attr| item.get(&attr.name).is_some_and(|v| attr.type_matches(v)));
    if matches {
        Ok(())
    } else {
        Err(error::validation(
            "The provided key element does not match the schema",
        ))
    }
}

/// Checks a `Key` parameter (exactly the key attributes, right types).
pub fn check_key(meta: &TableMeta, key: &Item) -> Result<PKey> {
    let mismatch = || error::validation("The provided key element does not match the schema");
    let want = 1 + usize::from(meta.keys.range.is_some());
    if key.len() != want {
        return Err(mismatch());
    }
    for attr in std::iter::once(&meta.keys.hash).chain(meta.keys.range.iter()) {
        let v = key.get(&attr.name).ok_or_else(mismatch)?;
        if !attr.type_matches(v) {
            return Err(mismatch());
        }
        if empty_key_value(attr, v) {
            return Err(empty_key_message(v, &attr.name));
        }
    }
    let pk = PKey::of_item(&meta.keys, key).ok_or_else(mismatch)?;
    check_key_sizes(meta, &pk)?;
    Ok(pk)
}

/// Reads the `Key` parameter of a request with the messages of `layer`.
pub fn key_param(body: &Body, field: &str, layer: Layer) -> Result<Item> {
    match body.get(field) {
        None | Some(serde_json::Value::Null) => {
            let mut c = Checks::new();
            c.required(body, field);
            c.finish()?;
            Ok(Item::new())
        }
        Some(v) => item_from_json_in(v, layer).map_err(|e| e.into_aws()),
    }
}

/// Write units of replacing `old` by `new` on the table and its indexes.
pub fn write_capacity(meta: &TableMeta, old: Option<&Item>, new: Option<&Item>) -> Consumed {
    let size = old
        .map(item_size)
        .unwrap_or(0)
        .max(new.map(item_size).unwrap_or(0));
    let mut c = Consumed::write(&meta.name, write_units(size));
    for ix in &meta.indexes {
        let in_old = old.and_then(|o| PKey::of_item(&ix.keys, o));
        let in_new = new.and_then(|n| PKey::of_item(&ix.keys, n));
        let units = match (&in_old, &in_new) {
            (None, None) => continue,
            (Some(a), Some(b)) if a != b => {
                write_units(old.map(item_size).unwrap_or(0))
                    + write_units(new.map(item_size).unwrap_or(0))
            }
            _ => write_units(size),
        };
        c.add_index(&ix.name, ix.global, units);
    }
    c
}

/// Changes the item at `pk` in memory and returns the old item and the
/// store ops (item and stream record) that make the change durable. Drop
/// the old item after releasing the lock: freeing a large item takes time.
pub fn stage(
    db: &DynamoDb,
    st: &mut TableState,
    pk: &PKey,
    new: Option<Arc<Stored>>,
    identity: Option<&str>,
) -> (Option<Arc<Stored>>, Vec<Op>) {
    let key = crate::item_store_key(&st.meta.uid, pk);
    let old = st.set(pk.clone(), new.clone());
    let mut ops = Vec::with_capacity(2);
    ops.push(match &new {
        Some(n) => Op::Put {
            ks: KS_ITEMS,
            key,
            value: n.json.as_bytes().to_vec(),
        },
        None => Op::Delete { ks: KS_ITEMS, key },
    });
    if let Some(rec) = crate::streams::record_op(
        db,
        st,
        pk,
        old.as_deref().map(|o| &o.item),
        new.as_deref().map(|n| &n.item),
        identity,
    ) {
        ops.push(rec);
    }
    (old, ops)
}

/// A ConditionalCheckFailedException, carrying the item when asked.
pub fn condition_failed(body: &Body, old: Option<&Item>) -> AwsError {
    let mut e = error::condition_failed();
    if str_of(body, "ReturnValuesOnConditionCheckFailure") == Some("ALL_OLD") {
        if let Some(o) = old {
            e = e.with_field("Item", item_to_json(o));
        }
    }
    e
}

fn common_checks(body: &Body, return_values: bool) -> Result<()> {
    let mut c = Checks::new();
    c.table_name(body, "TableName");
    if return_values {
        c.enum_field(body, "ReturnValues", RETURN_VALUES);
    }
    c.enum_field(body, "ReturnConsumedCapacity", RETURN_CAPACITY);
    c.enum_field(body, "ReturnItemCollectionMetrics", &["SIZE", "NONE"]);
    c.enum_field(
        body,
        "ReturnValuesOnConditionCheckFailure",
        &["ALL_OLD", "NONE"],
    );
    c.finish()
}

/// Appends `"ConsumedCapacity":{...}` (with a leading comma when `comma`).
pub fn push_capacity(out: &mut String, body: &Body, c: &Consumed, comma: bool) -> bool {
    if let Some(cc) = c.render(str_of(body, "ReturnConsumedCapacity")) {
        if comma {
            out.push(',');
        }
        out.push_str("\"ConsumedCapacity\":");
        out.push_str(&cc.to_string());
        return true;
    }
    comma
}

fn push_collection_metrics(
    out: &mut String,
    body: &Body,
    meta: &TableMeta,
    pk: &PKey,
    collection: u64,
    comma: bool,
) {
    if str_of(body, "ReturnItemCollectionMetrics") != Some("SIZE")
        || !meta.indexes.iter().any(|i| !i.global)
    {
        return;
    }
    if comma {
        out.push(',');
    }
    let mut key = Item::new();
    key.insert(meta.keys.hash.name.clone(), pk.hash.to_value());
    out.push_str("\"ItemCollectionMetrics\":{\"ItemCollectionKey\":");
    write_item(out, &key);
    let gb = (collection >> 30) as f64;
    out.push_str(&format!(
        ",\"SizeEstimateRangeGB\":[{gb:.1},{:.1}]}}",
        gb + 1.0
    ));
}

fn finish_write(
    body: &Body,
    meta: &TableMeta,
    pk: &PKey,
    attributes: Option<&Item>,
    consumed: &Consumed,
    collection: u64,
) -> Vec<u8> {
    let mut out = String::with_capacity(64);
    out.push('{');
    let mut comma = false;
    if let Some(a) = attributes {
        out.push_str("\"Attributes\":");
        write_item(&mut out, a);
        comma = true;
    }
    let comma = push_capacity(&mut out, body, consumed, comma);
    push_collection_metrics(&mut out, body, meta, pk, collection, comma);
    out.push('}');
    out.into_bytes()
}

/// PutItem.
pub async fn put_item(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    common_checks(body, true)?;
    let rv = str_of(body, "ReturnValues").unwrap_or("NONE");
    if rv != "NONE" && rv != "ALL_OLD" {
        return Err(error::validation(
            Layer::Write.enveloped("ReturnValues can only be ALL_OLD or NONE"),
        ));
    }
    let item = match body.get("Item") {
        Some(v) if !v.is_null() => item_from_json_in(v, Layer::Write).map_err(|e| e.into_aws())?,
        _ => {
            let mut c = Checks::new();
            c.required(body, "Item");
            c.finish()?;
            Item::new()
        }
    };
    let exprs = Prepared::new(
        body,
        Allowed {
            condition: true,
            ..Allowed::default()
        },
        None,
        Layer::Write,
    )?;
    let t = db.table(ctx, str_of(body, "TableName").unwrap_or_default())?;
    db.admit(&t, false)?;
    let item = Stored::new(item);
    let (reply, consumed, pending, old) = {
        let mut st = t.write();
        let pk = check_item(&st.meta, &item.item)?;
        let current = st.items.get(&pk).cloned();
        if !exprs.condition_holds(current.as_deref().map(Stored::item))? {
            return Err(condition_failed(body, current.as_deref().map(Stored::item)));
        }
        let consumed = write_capacity(
            &st.meta,
            current.as_deref().map(Stored::item),
            Some(&item.item),
        );
        let attrs = if rv == "ALL_OLD" {
            current.as_deref().map(Stored::item)
        } else {
            None
        };
        let collection = db.check_collection(&st, &pk, Some(&item))?;
        let reply = finish_write(body, &st.meta, &pk, attrs, &consumed, collection);
        let (old, ops) = stage(db, &mut st, &pk, Some(item), None);
        (reply, consumed, db.store.submit(ops)?, old)
    };
    drop(old);
    pending.wait().await?;
    db.charge(&t, &consumed);
    Ok(reply)
}

/// GetItem.
pub fn get_item(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    common_checks(body, false)?;
    let key = key_param(body, "Key", Layer::Read)?;
    let exprs = Prepared::new(
        body,
        Allowed {
            projection: true,
            ..Allowed::default()
        },
        None,
        Layer::Read,
    )?;
    let consistent = body
        .get("ConsistentRead")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let t = db.table(ctx, str_of(body, "TableName").unwrap_or_default())?;
    db.admit(&t, true)?;
    let (item, name) = {
        let st = t.read();
        let pk = check_key(&st.meta, &key)?;
        (st.items.get(&pk).cloned(), st.meta.name.clone())
    };
    let mut out = String::with_capacity(128);
    out.push('{');
    let mut comma = false;
    if let Some(item) = &item {
        out.push_str("\"Item\":");
        if exprs.has_projection() {
            write_item(&mut out, &exprs.project(item));
        } else {
            out.push_str(&item.json);
        }
        comma = true;
    }
    let size = item.as_deref().map_or(0, |i| i.size);
    let consumed = Consumed::read(&name, read_units(size, consistent));
    db.charge(&t, &consumed);
    push_capacity(&mut out, body, &consumed, comma);
    out.push('}');
    Ok(out.into_bytes())
}

/// DeleteItem.
pub async fn delete_item(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    common_checks(body, true)?;
    let rv = str_of(body, "ReturnValues").unwrap_or("NONE");
    if rv != "NONE" && rv != "ALL_OLD" {
        return Err(error::validation(
            Layer::Write.enveloped("ReturnValues can only be ALL_OLD or NONE"),
        ));
    }
    let key = key_param(body, "Key", Layer::Write)?;
    let exprs = Prepared::new(
        body,
        Allowed {
            condition: true,
            ..Allowed::default()
        },
        None,
        Layer::Write,
    )?;
    let t = db.table(ctx, str_of(body, "TableName").unwrap_or_default())?;
    db.admit(&t, false)?;
    let (reply, consumed, pending) = {
        let mut st = t.write();
        let pk = check_key(&st.meta, &key)?;
        let current = st.items.get(&pk).cloned();
        if !exprs.condition_holds(current.as_deref().map(Stored::item))? {
            return Err(condition_failed(body, current.as_deref().map(Stored::item)));
        }
        let consumed = write_capacity(&st.meta, current.as_deref().map(Stored::item), None);
        let attrs = if rv == "ALL_OLD" {
            current.as_deref().map(Stored::item)
        } else {
            None
        };
        let collection = st.collection_size_after(&pk, None);
        let reply = finish_write(body, &st.meta, &pk, attrs, &consumed, collection);
        let pending = match current {
            Some(_) => {
                let (_old, ops) = stage(db, &mut st, &pk, None, None);
                Some(db.store.submit(ops)?)
            }
            None => None,
        };
        (reply, consumed, pending)
    };
    if let Some(p) = pending {
        p.wait().await?;
    }
    db.charge(&t, &consumed);
    Ok(reply)
}

/// Applies an update to the current item (or a new one made of the key).
pub fn updated_item(
    meta: &TableMeta,
    exprs: &Prepared,
    key: &Item,
    current: Option<&Item>,
) -> Result<(Option<Item>, Vec<String>)> {
    for name in exprs.update_attrs() {
        if meta.keys.has(&name) {
            return Err(invalid(format!(
                "Cannot update attribute {name}. This attribute is part of the key"
            )));
        }
    }
    let mut item = current.cloned().unwrap_or_else(|| key.clone());
    let touched = exprs.apply_update(&mut item, current.is_some())?;
    // Removing from an item that does not exist writes nothing.
    if current.is_none() && !exprs.creates_item() {
        return Ok((None, touched));
    }
    Ok((Some(item), touched))
}

/// UpdateItem.
pub async fn update_item(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    common_checks(body, true)?;
    let rv = str_of(body, "ReturnValues").unwrap_or("NONE");
    let key = key_param(body, "Key", Layer::Write)?;
    let exprs = Prepared::new(
        body,
        Allowed {
            condition: true,
            update: true,
            ..Allowed::default()
        },
        None,
        Layer::Write,
    )?;
    let t = db.table(ctx, str_of(body, "TableName").unwrap_or_default())?;
    db.admit(&t, false)?;
    let (reply, consumed, pending, old) = {
        let mut st = t.write();
        let pk = check_key(&st.meta, &key)?;
        let current = st.items.get(&pk).cloned();
        if !exprs.condition_holds(current.as_deref().map(Stored::item))? {
            return Err(condition_failed(body, current.as_deref().map(Stored::item)));
        }
        let old = current.as_deref().map(Stored::item);
        let (new, _) = updated_item(&st.meta, &exprs, &key, old)?;
        let Some(new) = new else {
            let consumed = write_capacity(&st.meta, None, Some(&key));
            let collection = st.collection_size(&pk);
            return Ok(finish_write(
                body, &st.meta, &pk, None, &consumed, collection,
            ));
        };
        check_item(&st.meta, &new)?;
        let consumed = write_capacity(&st.meta, old, Some(&new));
        let attrs: Option<Item> = match rv {
            "ALL_OLD" => old.cloned(),
            "ALL_NEW" => Some(new.clone()),
            "UPDATED_OLD" => old.map(|o| exprs.updated_part(o)).filter(|m| !m.is_empty()),
            "UPDATED_NEW" => Some(exprs.updated_part(&new)).filter(|m| !m.is_empty()),
            _ => None,
        };
        let new = Stored::new(new);
        let collection = db.check_collection(&st, &pk, Some(&new))?;
        let reply = finish_write(body, &st.meta, &pk, attrs.as_ref(), &consumed, collection);
        let (old, ops) = stage(db, &mut st, &pk, Some(new), None);
        (reply, consumed, db.store.submit(ops)?, old)
    };
    drop(old);
    pending.wait().await?;
    db.charge(&t, &consumed);
    Ok(reply)
}
