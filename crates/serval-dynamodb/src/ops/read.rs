//! Query and Scan, on tables and on secondary indexes: key conditions, sort
//! order, Limit, 1 MB pages, ExclusiveStartKey/LastEvaluatedKey, filters,
//! Select (including COUNT) and parallel scan segments.

use crate::error::{self, Result};
use crate::model::{Index, KeySchema, TableMeta};
use crate::ops::capacity::{read_units, Consumed};
use crate::ops::exprs::{Allowed, Prepared};
use crate::ops::items::push_capacity;
use crate::request::{str_of, Body, Checks};
use crate::table::{IndexKey, KeyPart, PKey, Stored, TableState};
use crate::value::{item_from_json_in, write_item, Item, Layer};
use crate::DynamoDb;
use serval_core::{AwsError, RequestContext};
use std::ops::Bound;
use std::sync::Arc;

/// Most bytes one Query or Scan page reads.
const PAGE_BYTES: usize = 1024 * 1024;

/// In the order DynamoDB lists them (as the model file has them).
const SELECT: &[&str] = &[
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
];

fn start_key_invalid(detail: &str) -> AwsError {
    error::validation(format!("The provided starting key is invalid: {detail}"))
}

/// Where a Query or Scan reads: the table or one of its indexes.
struct Source<'a> {
    meta: &'a TableMeta,
    index: Option<&'a Index>,
}

impl Source<'_> {
    fn keys(&self) -> &KeySchema {
        self.index.map(|i| &i.keys).unwrap_or(&self.meta.keys)
    }

    /// The item as the index carries it (`None`: the whole item).
    fn projected(&self, item: &Item) -> Option<Item> {
        let ix = self.index?;
        match ix.projection.kind.as_str() {
            "ALL" => None,
            kind => Some(
                item.iter()
                    .filter(|(k, _)| {
                        self.meta.keys.has(k)
                            || ix.keys.has(k)
                            || (kind == "INCLUDE" && ix.projection.non_key.contains(k))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        }
    }

    /// LastEvaluatedKey for an item: table key plus index key.
    fn last_key(&self, item: &Item) -> Item {
        item.iter()
            .filter(|(k, _)| self.meta.keys.has(k) || self.index.is_some_and(|i| i.keys.has(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Reads ExclusiveStartKey into the position to continue after: it must
    /// hold exactly the table's and the index's key attributes, with the
    /// schema's types.
    fn start_after(&self, esk: &Item) -> Result<Position> {
        let mismatch = || start_key_invalid("The provided key element does not match the schema");
        let schemas = std::iter::once(&self.meta.keys).chain(self.index.map(|i| &i.keys));
        let mut names: Vec<&str> = Vec::new();
        for ks in schemas {
            for attr in ks.attrs() {
                let v = esk.get(&attr.name).ok_or_else(mismatch)?;
                if !attr.type_matches(v) {
                    return Err(mismatch());
                }
                if !names.contains(&attr.name.as_str()) {
                    names.push(&attr.name);
                }
            }
        }
        if esk.len() != names.len() {
            return Err(mismatch());
        }
        let table_pk = PKey::of_item(&self.meta.keys, esk).ok_or_else(mismatch)?;
        let Some(ix) = self.index else {
            return Ok(Position::Table(table_pk));
        };
        let ipk = PKey::of_item(&ix.keys, esk).ok_or_else(mismatch)?;
        Ok(Position::Index((ipk.hash, ipk.range, table_pk)))
    }
}

impl Source<'_> {
    /// A global index answers only with what it projects.
    fn check_projected(&self, exprs: &Prepared) -> Result<()> {
        let Some(ix) = self
            .index
            .filter(|i| i.global && i.projection.kind != "ALL")
        else {
            return Ok(());
        };
        let missing: Vec<&str> = exprs
            .projection_heads()
            .into_iter()
            .filter(|a| {
                !self.meta.keys.has(a)
                    && !ix.keys.has(a)
                    && !ix.projection.non_key.iter().any(|n| n == a)
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(error::validation(format!(
            "One or more parameter values were invalid: Global secondary index {} does not project the requested attribute(s): {}",
            ix.name,
            missing.join(", ")
        )))
    }

    /// Whether results come from the table's items rather than the index's
    /// projection: Select=ALL_ATTRIBUTES, or a local index asked for
    /// specific attributes (DynamoDB fetches them from the table).
    fn reads_table(&self, body: &Body, exprs: &Prepared) -> bool {
        str_of(body, "Select") == Some("ALL_ATTRIBUTES")
            || (self.index.is_some_and(|i| !i.global) && exprs.has_projection())
    }
}

enum Position {
    Table(PKey),
    Index(IndexKey),
}

fn source<'a>(meta: &'a TableMeta, body: &Body) -> Result<Source<'a>> {
    let index = match str_of(body, "IndexName") {
        Some(name) => Some(meta.index(name).ok_or_else(|| {
            error::validation(format!(
                "The table does not have the specified index: {name}"
            ))
        })?),
        None => None,
    };
    if let Some(ix) = index {
        if ix.global
            && body
                .get("ConsistentRead")
                .and_then(serde_json::Value::as_bool)
                == Some(true)
        {
            return Err(error::validation(
                "Consistent reads are not supported on global secondary indexes",
            ));
        }
        if ix.global
            && ix.projection.kind != "ALL"
            && str_of(body, "Select") == Some("ALL_ATTRIBUTES")
        {
            return Err(error::validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                ix.name
            )));
        }
    } else if str_of(body, "Select") == Some("ALL_PROJECTED_ATTRIBUTES") {
        return Err(error::validation(
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not supported for this request",
        ));
    }
    Ok(Source { meta, index })
}

/// What one page read: items in order and the bytes read.
struct Page {
    items: Vec<Arc<Stored>>,
    bytes: usize,
    /// Whether the read stopped early (limit or size): LastEvaluatedKey follows.
    cut: bool,
}

fn collect<'a>(
    st: &'a TableState,
    iter: impl Iterator<Item = &'a Arc<Stored>>,
    limit: usize,
) -> Page {
    let mut page = Page {
        items: Vec::new(),
        bytes: 0,
        cut: false,
    };
    let _ = st;
    // As DynamoDB, no look-ahead: reaching Limit or 1 MB ends the page with a
    // LastEvaluatedKey even when nothing follows.
    for item in iter {
        page.bytes += item.size;
        page.items.push(item.clone());
        if page.items.len() >= limit || page.bytes >= PAGE_BYTES {
            page.cut = true;
            break;
        }
    }
    page
}

/// Partition of a key among `total` scan segments (stable across runs).
fn segment_of(pk: &PKey, total: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let bytes = match &pk.hash {
        KeyPart::S(s) => s.as_bytes().to_vec(),
        KeyPart::N(n) => n.as_str().as_bytes().to_vec(),
        KeyPart::B(b) => b.clone(),
        KeyPart::Tuple(parts) => format!("{parts:?}").into_bytes(),
    };
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h % total
}

fn read_checks(body: &Body) -> Result<()> {
    let mut c = Checks::new();
    c.table_name(body, "TableName");
    c.enum_field(body, "Select", SELECT);
    c.enum_field(
        body,
        "ReturnConsumedCapacity",
        &["INDEXES", "TOTAL", "NONE"],
    );
    c.int_range(body, "Limit", 1, i64::MAX);
    if let Some(v) = body.get("IndexName").filter(|v| !v.is_null()) {
        c.name_value(v, v.as_str().unwrap_or_default(), "indexName");
    }
    c.finish()?;
    if str_of(body, "Select") == Some("SPECIFIC_ATTRIBUTES")
        && body.get("ProjectionExpression").is_none()
        && body.get("AttributesToGet").is_none()
    {
        return Err(error::validation(
            "One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires AttributesToGet or ProjectionExpression",
        ));
    }
    for field in ["ProjectionExpression", "AttributesToGet"] {
        if body.get(field).is_some_and(|v| !v.is_null())
            && !matches!(str_of(body, "Select"), None | Some("SPECIFIC_ATTRIBUTES"))
        {
            return Err(error::validation(format!(
                "One or more parameter values were invalid: Select type {} is not supported with {field}",
                str_of(body, "Select").unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn start_key(body: &Body, layer: Layer) -> Result<Option<Item>> {
    match body.get("ExclusiveStartKey") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => Ok(Some(item_from_json_in(v, layer).map_err(|e| e.into_aws())?)),
    }
}

/// Renders the page after filtering and projection.
/// Whose capacity a read consumed: the table, or one of its indexes.
struct Charge<'a> {
    table: &'a str,
    index: Option<(&'a str, bool)>,
    consistent: bool,
}

fn respond(
    body: &Body,
    charge: Charge<'_>,
    page: Page,
    last_key: Option<Item>,
    exprs: &Prepared,
    project: &dyn Fn(&Item) -> Option<Item>,
) -> Result<Vec<u8>> {
    let Charge {
        table: src_name,
        index,
        consistent,
    } = charge;
    let count_only = str_of(body, "Select") == Some("COUNT");
    let mut out = String::with_capacity(64 + page.items.len() * 96);
    out.push('{');
    if !count_only {
        out.push_str("\"Items\":[");
    }
    let mut count = 0usize;
    for item in &page.items {
        if !exprs.filter_keeps(item)? {
            continue;
        }
        if !count_only {
            if count > 0 {
                out.push(',');
            }
            match (exprs.has_projection(), project(item)) {
                (true, Some(p)) => write_item(&mut out, &exprs.project(&p)),
                (true, None) => write_item(&mut out, &exprs.project(item)),
                (false, Some(p)) => write_item(&mut out, &p),
                // the item's JSON as written when it was stored
                (false, None) => out.push_str(&item.json),
            }
        }
        count += 1;
    }
    if !count_only {
        out.push_str("],");
    }
    out.push_str("\"Count\":");
    out.push_str(&count.to_string());
    out.push_str(",\"ScannedCount\":");
    out.push_str(&page.items.len().to_string());
    if let Some(k) = last_key {
        out.push_str(",\"LastEvaluatedKey\":");
        write_item(&mut out, &k);
    }
    let mut consumed = Consumed::read(src_name, read_units(page.bytes, consistent));
    if let Some((name, global)) = index {
        consumed = Consumed::read(src_name, 0.0);
        consumed.add_index(name, global, read_units(page.bytes, consistent));
    }
    push_capacity(&mut out, body, &consumed, true);
    out.push('}');
    Ok(out.into_bytes())
}

/// Query.
pub fn query(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    read_checks(body)?;
    let t = db.table(ctx, str_of(body, "TableName").unwrap_or_default())?;
    db.admit(&t, true)?;
    let esk = start_key(body, Layer::Read)?;
    let limit = body
        .get("Limit")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(u64::MAX) as usize;
    let forward = body
        .get("ScanIndexForward")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    let consistent = body
        .get("ConsistentRead")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let st = t.read();
    let src = source(&st.meta, body)?;
    let exprs = Prepared::new(
        body,
        Allowed {
            key: true,
            filter: true,
            projection: true,
            ..Allowed::default()
        },
        Some(src.keys()),
        Layer::Read,
    )?;
    src.check_projected(&exprs)?;
    let Some(kc) = exprs.key.clone() else {
        return Err(error::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        ));
    };
    let keys = src.keys().clone();
    let mismatch = || {
        error::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        )
    };
    let mut hash_parts = Vec::new();
    for (attr, v) in keys.hash_attrs().zip(kc.hash_values()) {
        if !attr.type_matches(v) {
            return Err(mismatch());
        }
        hash_parts.push(KeyPart::of(v).ok_or_else(mismatch)?);
    }
    let hash = match hash_parts.len() {
        1 => hash_parts.pop().ok_or_else(mismatch)?,
        _ => KeyPart::Tuple(hash_parts),
    };
    let after = match &esk {
        Some(k) => Some(src.start_after(k)?),
        None => None,
    };
    let start_hash = match &after {
        Some(Position::Table(pk)) => Some(&pk.hash),
        Some(Position::Index((h, _, _))) => Some(h),
        None => None,
    };
    let start_range = match &after {
        Some(Position::Table(pk)) => pk.range.as_ref(),
        Some(Position::Index((_, r, _))) => r.as_ref(),
        None => None,
    };
    let outside = start_hash.is_some_and(|h| *h != hash)
        || (start_range.is_some() && esk.as_ref().is_some_and(|k| !kc.range_matches(k)));
    if outside {
        return Err(start_key_invalid(
            "The provided starting key is outside query boundaries based on provided conditions",
        ));
    }
    if let (Some(k), None, None) = (&esk, &keys.range, src.index) {
        // A one-item partition has nothing after its only item.
        let mut shown = String::new();
        write_item(&mut shown, k);
        return Err(error::validation(format!(
            "The provided exclusive start key is invalid: ExclusiveStartKey: {shown}"
        )));
    }
    let range_ok = |item: &Item| -> bool { kc.range_matches(item) };
    if let Some(k) = exprs.filter_attrs().into_iter().find(|a| keys.has(a)) {
        return Err(error::validation(format!(
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: {k}"
        )));
    }
    let page = match src.index {
        None => {
            let lo = PKey {
                hash: hash.clone(),
                range: None,
            };
            let in_partition = st.items.range(lo..).take_while(|(k, _)| k.hash == hash);
            let after_pk = match &after {
                Some(Position::Table(pk)) => Some(pk.clone()),
                _ => None,
            };
            if forward {
                let it = in_partition
                    .filter(|(k, _)| after_pk.as_ref().is_none_or(|a| *k > a))
                    .map(|(_, v)| v)
                    .filter(|i| range_ok(i));
                collect(&st, it, limit)
            } else {
                let all: Vec<(&PKey, &Arc<Stored>)> = in_partition.collect();
                let it = all
                    .into_iter()
                    .rev()
                    .filter(|(k, _)| after_pk.as_ref().is_none_or(|a| *k < a))
                    .map(|(_, v)| v)
                    .filter(|i| range_ok(i));
                collect(&st, it, limit)
            }
        }
        Some(ix) => {
            let entries = st
                .indexes
                .get(&ix.name)
                .map(|d| &d.entries)
                .ok_or_else(|| error::internal("index state missing"))?;
            // the smallest entry of the partition: no sort key, then the least table key
            let lo: IndexKey = (
                hash.clone(),
                None,
                PKey {
                    hash: KeyPart::S(String::new()),
                    range: None,
                },
            );
            let in_partition = entries.range(lo..).take_while(|(h, _, _)| *h == hash);
            let after_ik = match &after {
                Some(Position::Index(k)) => Some(k.clone()),
                _ => None,
            };
            let resolve = |k: &IndexKey| st.items.get(&k.2);
            if forward {
                let it = in_partition
                    .filter(|k| after_ik.as_ref().is_none_or(|a| *k > a))
                    .filter_map(resolve)
                    .filter(|i| range_ok(i));
                collect(&st, it, limit)
            } else {
                let all: Vec<&IndexKey> = in_partition.collect();
                let it = all
                    .into_iter()
                    .rev()
                    .filter(|k| after_ik.as_ref().is_none_or(|a| *k < a))
                    .filter_map(resolve)
                    .filter(|i| range_ok(i));
                collect(&st, it, limit)
            }
        }
    };
    db.charge(&t, &Consumed::read("", read_units(page.bytes, consistent)));
    let last_key = if page.cut {
        page.items.last().map(|i| src.last_key(i))
    } else {
        None
    };
    let index = src.index.map(|i| (i.name.clone(), i.global));
    let project_src = Source {
        meta: &st.meta,
        index: src.index,
    };
    let select_all = project_src.reads_table(body, &exprs);
    let project = |i: &Item| {
        if select_all {
            None
        } else {
            project_src.projected(i)
        }
    };
    respond(
        body,
        Charge {
            table: &st.meta.name,
            index: index.as_ref().map(|(n, g)| (n.as_str(), *g)),
            consistent,
        },
        page,
        last_key,
        &exprs,
        &project,
    )
}

/// Scan.
pub fn scan(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    read_checks(body)?;
    let mut c = Checks::new();
    c.int_range(body, "Segment", 0, 999_999);
    c.int_range(body, "TotalSegments", 1, 1_000_000);
    c.finish()?;
    let segment = body.get("Segment").and_then(serde_json::Value::as_u64);
    let total = body
        .get("TotalSegments")
        .and_then(serde_json::Value::as_u64);
    let segments = match (segment, total) {
        (Some(s), Some(t)) => {
            if s >= t {
                return Err(error::validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
                )));
            }
            Some((s, t))
        }
        (Some(_), None) => {
            return Err(error::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ))
        }
        (None, Some(_)) => {
            return Err(error::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ))
        }
        (None, None) => None,
    };
    let t = db.table(ctx, str_of(body, "TableName").unwrap_or_default())?;
    db.admit(&t, true)?;
    let esk = start_key(body, Layer::Older)?;
    let limit = body
        .get("Limit")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(u64::MAX) as usize;
    let consistent = body
        .get("ConsistentRead")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let st = t.read();
    let src = source(&st.meta, body)?;
    let exprs = Prepared::new(
        body,
        Allowed {
            filter: true,
            projection: true,
            ..Allowed::default()
        },
        None,
        Layer::Older,
    )?;
    src.check_projected(&exprs)?;
    let after = match &esk {
        Some(k) => Some(src.start_after(k)?),
        None => None,
    };
    let in_segment = |pk: &PKey| segments.is_none_or(|(s, t)| segment_of(pk, t) == s);
    let start_pk = match &after {
        Some(Position::Table(pk)) | Some(Position::Index((_, _, pk))) => Some(pk),
        None => None,
    };
    if start_pk.is_some_and(|pk| !in_segment(pk)) {
        return Err(error::validation(
            "The provided Exclusive start key does not map to the provided Segment and TotalSegments values.",
        ));
    }
    let page = match src.index {
        None => {
            let start = match &after {
                Some(Position::Table(pk)) => Bound::Excluded(pk.clone()),
                _ => Bound::Unbounded,
            };
            let it = st
                .items
                .range((start, Bound::Unbounded))
                .filter(|(k, _)| in_segment(k))
                .map(|(_, v)| v);
            collect(&st, it, limit)
        }
        Some(ix) => {
            let entries = st
                .indexes
                .get(&ix.name)
                .map(|d| &d.entries)
                .ok_or_else(|| error::internal("index state missing"))?;
            let start = match &after {
                Some(Position::Index(k)) => Bound::Excluded(k.clone()),
                _ => Bound::Unbounded,
            };
            let it = entries
                .range((start, Bound::Unbounded))
                .filter(|k| in_segment(&k.2))
                .filter_map(|k| st.items.get(&k.2));
            collect(&st, it, limit)
        }
    };
    db.charge(&t, &Consumed::read("", read_units(page.bytes, consistent)));
    let last_key = if page.cut {
        page.items.last().map(|i| src.last_key(i))
    } else {
        None
    };
    let select_all = src.reads_table(body, &exprs);
    let project = |i: &Item| {
        if select_all {
            None
        } else {
            src.projected(i)
        }
    };
    respond(
        body,
        Charge {
            table: &st.meta.name,
            index: src.index.map(|i| (i.name.as_str(), i.global)),
            consistent,
        },
        page,
        last_key,
        &exprs,
        &project,
    )
}
