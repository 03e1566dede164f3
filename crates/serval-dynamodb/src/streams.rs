//! DynamoDB Streams: the records every write produces (in the same store
//! batch as the write), and the Streams API that reads them: ListStreams,
//! DescribeStream, GetShardIterator, GetRecords. Each stream has one shard.
//! Records are kept 24 hours.

use crate::error::{self, Result};
use crate::model::{StreamSpec, TableMeta};
use crate::request::{str_of, Body, Checks};
use crate::table::{PKey, TableState};
use crate::value::{item_size, write_item, Item};
use crate::{DynamoDb, KS_DEAD_STREAMS, KS_STREAMS};
use base64::Engine;
use serde_json::{json, Value as Json};
use serval_core::RequestContext;
use serval_store::Op;

const RETENTION_MICROS: u64 = 24 * 3600 * 1_000_000;
const ITERATOR_TTL_MS: u64 = 15 * 60 * 1000;

/// Who made a change, when it was not a caller (TTL deletes).
pub const TTL_IDENTITY: &str = r#"{"Type":"Service","PrincipalId":"dynamodb.amazonaws.com"}"#;

fn seq_text(seq: u64) -> String {
    format!("{seq:021}")
}

/// A stream whose table was deleted: readable, disabled, for 24 hours.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeadStream {
    /// The table as it was (its `stream` disabled).
    pub meta: TableMeta,
    /// The stream.
    pub spec: StreamSpec,
    /// The last sequence number written.
    pub last_seq: u64,
    /// When the table was deleted (epoch millis).
    pub deleted_ms: u64,
}

impl DeadStream {
    fn key(&self) -> Vec<u8> {
        format!(
            "{}/{}/{}",
            self.meta.account, self.meta.region, self.spec.uid
        )
        .into_bytes()
    }

    /// The store op that records it.
    pub fn put_op(&self) -> Op {
        Op::Put {
            ks: KS_DEAD_STREAMS,
            key: self.key(),
            value: serde_json::to_vec(self).unwrap_or_default(),
        }
    }
}

/// The streams of a table being deleted, disabled.
pub fn retire(db: &DynamoDb, meta: &TableMeta, last_seq: u64) -> Vec<DeadStream> {
    let mut table = meta.clone();
    if let Some(s) = table.stream.as_mut() {
        s.enabled = false;
    }
    let now = db.clock.now_millis();
    table
        .old_streams
        .iter()
        .chain(table.stream.iter())
        .map(|spec| DeadStream {
            meta: table.clone(),
            spec: spec.clone(),
            last_seq,
            deleted_ms: now,
        })
        .collect()
}

fn record_key(uid: &str, seq: u64) -> Vec<u8> {
    format!("{uid}/{}", seq_text(seq)).into_bytes()
}

/// The stream record for a change of the item at `pk`, as a store op, when
/// the table has an enabled stream and the change changed something.
pub fn record_op(
    db: &DynamoDb,
    st: &mut TableState,
    pk: &PKey,
    old: Option<&Item>,
    new: Option<&Item>,
    identity: Option<&str>,
) -> Option<Op> {
    let spec = st.meta.stream.as_ref().filter(|s| s.enabled)?;
    let event = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(o), Some(n)) if o == n => return None,
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
        (None, None) => return None,
    };
    let now_ms = db.clock.now_millis();
    let seq = (st.stream_seq + 1).max(now_ms * 1000);
    st.stream_seq = seq;
    let keys = pk.to_item(&st.meta.keys);
    let view = spec.view_type.as_str();
    let with_new = matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES");
    let with_old = matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES");
    let mut size = item_size(&keys);
    let mut out = String::with_capacity(256);
    out.push_str("{\"eventID\":\"");
    out.push_str(&serval_core::ids::random_hex(16));
    out.push_str("\",\"eventName\":\"");
    out.push_str(event);
    out.push_str("\",\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"");
    out.push_str(&st.meta.region);
    out.push_str("\",\"dynamodb\":{\"ApproximateCreationDateTime\":");
    out.push_str(&(now_ms / 1000).to_string());
    out.push_str(",\"Keys\":");
    write_item(&mut out, &keys);
    if let (true, Some(n)) = (with_new, new) {
        out.push_str(",\"NewImage\":");
        write_item(&mut out, n);
        size += item_size(n);
    }
    if let (true, Some(o)) = (with_old, old) {
        out.push_str(",\"OldImage\":");
        write_item(&mut out, o);
        size += item_size(o);
    }
    out.push_str(",\"SequenceNumber\":\"");
    out.push_str(&seq_text(seq));
    out.push_str("\",\"SizeBytes\":");
    out.push_str(&size.to_string());
    out.push_str(",\"StreamViewType\":\"");
    out.push_str(view);
    out.push_str("\"}");
    if let Some(id) = identity {
        out.push_str(",\"userIdentity\":");
        out.push_str(id);
    }
    out.push('}');
    Some(Op::Put {
        ks: KS_STREAMS,
        key: record_key(&spec.uid, seq),
        value: out.into_bytes(),
    })
}

fn shard_id(spec: &StreamSpec) -> String {
    let digits: String = spec.label.chars().filter(char::is_ascii_digit).collect();
    format!(
        "shardId-{:0>20}-{}",
        digits,
        spec.uid.get(..8).unwrap_or(&spec.uid)
    )
}

/// Every stream of the caller's tables: (table meta, spec).
fn streams_of(db: &DynamoDb, ctx: &RequestContext) -> Vec<(TableMeta, StreamSpec)> {
    let mut out = Vec::new();
    for t in db.all_tables() {
        let st = t.read();
        if st.meta.account != ctx.account_id || st.meta.region != ctx.region {
            continue;
        }
        for s in st.meta.old_streams.iter().chain(st.meta.stream.iter()) {
            out.push((st.meta.clone(), s.clone()));
        }
    }
    for d in db
        .dead_streams
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        if d.meta.account == ctx.account_id && d.meta.region == ctx.region {
            out.push((d.meta.clone(), d.spec.clone()));
        }
    }
    out.sort_by_key(|(m, s)| m.stream_arn(s));
    out
}

/// The table name in a well-formed stream ARN
/// (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
fn stream_arn_table(arn: &str) -> Result<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let resource = match parts.as_slice() {
        ["arn", _, "dynamodb", _, _, resource] => *resource,
        _ => return Err(error::validation(format!("Invalid StreamArn: {arn}"))),
    };
    match resource.split('/').collect::<Vec<_>>().as_slice() {
        ["table", name, "stream", label] if !name.is_empty() && !label.is_empty() => Ok(name),
        _ => Err(error::validation(format!("Invalid StreamArn: {arn}"))),
    }
}

fn find_stream(
    db: &DynamoDb,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(TableMeta, StreamSpec, u64)> {
    let table = stream_arn_table(arn)?;
    let not_found = || {
        error::err(
            "ResourceNotFoundException",
            format!("Requested resource not found: Stream: {arn} not found"),
        )
    };
    if let Ok(t) = db.table(ctx, table) {
        let st = t.read();
        let spec = st
            .meta
            .old_streams
            .iter()
            .chain(st.meta.stream.iter())
            .find(|s| st.meta.stream_arn(s) == arn);
        if let Some(spec) = spec {
            return Ok((st.meta.clone(), spec.clone(), st.stream_seq));
        }
    }
    db.dead_streams
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|d| {
            d.meta.account == ctx.account_id
                && d.meta.region == ctx.region
                && d.meta.stream_arn(&d.spec) == arn
        })
        .map(|d| (d.meta.clone(), d.spec.clone(), d.last_seq))
        .ok_or_else(not_found)
}

/// Routes a `DynamoDBStreams_20120810.*` operation.
pub fn dispatch(db: &DynamoDb, ctx: &RequestContext, op: &str, body: &Body) -> Result<Vec<u8>> {
    let out = match op {
        "ListStreams" => list_streams(db, ctx, body)?,
        "DescribeStream" => describe_stream(db, ctx, body)?,
        "GetShardIterator" => get_shard_iterator(db, ctx, body)?,
        "GetRecords" => return get_records(db, ctx, body),
        _ => {
            return Err(crate::unknown_operation(&format!(
                "DynamoDBStreams_20120810.{op}"
            )))
        }
    };
    Ok(serde_json::to_vec(&out).unwrap_or_default())
}

fn list_streams(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let mut c = Checks::new();
    c.int_range(body, "Limit", 1, 100);
    c.finish()?;
    let table = str_of(body, "TableName").map(crate::table_name_of);
    let limit = body.get("Limit").and_then(Json::as_u64).unwrap_or(100) as usize;
    let start = str_of(body, "ExclusiveStartStreamArn");
    if let Some(s) = start {
        stream_arn_table(s)?;
    }
    let all: Vec<(String, String, String)> = streams_of(db, ctx)
        .into_iter()
        .filter(|(m, _)| table.is_none_or(|t| t == m.name))
        .map(|(m, s)| (m.stream_arn(&s), m.name.clone(), s.label.clone()))
        .filter(|(arn, _, _)| start.is_none_or(|s| arn.as_str() > s))
        .collect();
    let page: Vec<Json> = all
        .iter()
        .take(limit)
        .map(|(arn, t, l)| json!({"StreamArn": arn, "TableName": t, "StreamLabel": l}))
        .collect();
    let mut out = json!({ "Streams": page });
    if all.len() > limit {
        out["LastEvaluatedStreamArn"] = json!(all[limit - 1].0);
    }
    Ok(out)
}

fn describe_stream(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let arn = str_of(body, "StreamArn").unwrap_or_default();
    let mut c = Checks::new();
    c.int_range(body, "Limit", 1, 100);
    let filter = body.get("ShardFilter").and_then(Json::as_object);
    if let Some(f) = filter {
        if f.get("Type").is_none_or(Json::is_null) {
            c.fail(&Json::Null, "shardFilter.type", "Member must not be null");
        }
        if f.get("ShardId").is_none_or(Json::is_null) {
            c.fail(
                &Json::Null,
                "shardFilter.shardId",
                "Member must not be null",
            );
        }
    }
    c.finish()?;
    let (meta, spec, _) = find_stream(db, ctx, arn)?;
    let first = first_seq(db, &spec)?;
    let mut range = json!({ "StartingSequenceNumber": seq_text(first.unwrap_or(1)) });
    if !spec.enabled {
        range["EndingSequenceNumber"] = json!(seq_text(last_seq(db, &spec)?.unwrap_or(1)));
    }
    // One shard, which never splits: it has no children, and nothing
    // follows it.
    let id = shard_id(&spec);
    let after = str_of(body, "ExclusiveStartShardId");
    let shards = if filter.is_some() || after.is_some_and(|a| a >= id.as_str()) {
        json!([])
    } else {
        json!([{ "ShardId": id, "SequenceNumberRange": range }])
    };
    Ok(json!({
        "StreamDescription": {
            "StreamArn": arn,
            "StreamLabel": spec.label,
            "StreamStatus": if spec.enabled { "ENABLED" } else { "DISABLED" },
            "StreamViewType": spec.view_type,
            "CreationRequestDateTime": meta.created,
            "TableName": meta.name,
            "KeySchema": meta.keys.to_json(),
            "Shards": shards
        }
    }))
}

fn first_seq(db: &DynamoDb, spec: &StreamSpec) -> Result<Option<u64>> {
    let prefix = format!("{}/", spec.uid).into_bytes();
    let page = db.store.scan(KS_STREAMS, &prefix, None, 1)?;
    Ok(page.first().and_then(|(k, _)| seq_of_key(k)))
}

fn last_seq(db: &DynamoDb, spec: &StreamSpec) -> Result<Option<u64>> {
    let prefix = format!("{}/", spec.uid).into_bytes();
    let mut after: Option<Vec<u8>> = None;
    let mut last = None;
    loop {
        let page = db.store.scan(KS_STREAMS, &prefix, after.as_deref(), 1000)?;
        if page.is_empty() {
            return Ok(last);
        }
        last = page.last().and_then(|(k, _)| seq_of_key(k));
        after = page.last().map(|(k, _)| k.clone());
    }
}

fn seq_of_key(k: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(k).ok()?;
    s.rsplit('/').next()?.parse().ok()
}

struct Iter {
    arn: String,
    shard: String,
    /// The next sequence number to read is at least this.
    start: u64,
    made_ms: u64,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl Iter {
    fn encode(&self) -> String {
        let raw = format!(
            "{}|{}|{}|{}",
            self.arn, self.shard, self.start, self.made_ms
        );
        B64.encode(raw)
    }

    fn decode(s: &str) -> Option<Iter> {
        let raw = String::from_utf8(B64.decode(s).ok()?).ok()?;
        let mut parts = raw.rsplitn(4, '|');
        let made_ms = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        let shard = parts.next()?.to_string();
        let arn = parts.next()?.to_string();
        Some(Iter {
            arn,
            shard,
            start,
            made_ms,
        })
    }
}

fn get_shard_iterator(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Json> {
    let arn = str_of(body, "StreamArn").unwrap_or_default();
    let shard = str_of(body, "ShardId").unwrap_or_default();
    let kind = str_of(body, "ShardIteratorType").unwrap_or_default();
    let given = str_of(body, "SequenceNumber");
    let by_seq = matches!(kind, "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
    if given.is_some() && !by_seq {
        return Err(error::validation(format!(
            "Invalid SequenceNumber for ShardIteratorType: {kind}"
        )));
    }
    let (_, spec, current) = find_stream(db, ctx, arn)?;
    if shard != shard_id(&spec) {
        return Err(error::err(
            "ResourceNotFoundException",
            "Requested resource not found: Shard does not exist",
        ));
    }
    let seq = || -> Result<u64> {
        given.and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| {
            error::validation(format!(
                "Invalid SequenceNumber for ShardIteratorType: {kind}"
            ))
        })
    };
    let now = db.clock.now_millis();
    let start = match kind {
        "TRIM_HORIZON" => 0,
        "LATEST" => current + 1,
        "AT_SEQUENCE_NUMBER" => seq()?,
        "AFTER_SEQUENCE_NUMBER" => seq()? + 1,
        _ => {
            // AT_TIMESTAMP: sequence numbers are microseconds since the epoch.
            let at = body
                .get("Timestamp")
                .and_then(Json::as_f64)
                .ok_or_else(|| {
                    error::validation(
                        "Timestamp must be provided for ShardIteratorType: AT_TIMESTAMP",
                    )
                })?;
            if at * 1000.0 > now as f64 {
                return Err(error::validation(
                    "The Timestamp provided is in the future: it must be before the current time",
                ));
            }
            (at.max(0.0) * 1_000_000.0) as u64
        }
    };
    let it = Iter {
        arn: arn.to_string(),
        shard: shard.to_string(),
        start,
        made_ms: now,
    };
    Ok(json!({ "ShardIterator": it.encode() }))
}

fn get_records(db: &DynamoDb, ctx: &RequestContext, body: &Body) -> Result<Vec<u8>> {
    let mut c = Checks::new();
    c.int_range(body, "Limit", 1, 1000);
    c.finish()?;
    let raw = str_of(body, "ShardIterator").unwrap_or_default();
    let it = Iter::decode(raw).ok_or_else(|| error::validation("Invalid ShardIterator"))?;
    let now = db.clock.now_millis();
    if now.saturating_sub(it.made_ms) > ITERATOR_TTL_MS {
        return Err(error::err(
            "ExpiredIteratorException",
            "Iterator expired. The iterator was created more than 15 minutes ago",
        ));
    }
    let (_, spec, _) = find_stream(db, ctx, &it.arn)?;
    let limit = body.get("Limit").and_then(Json::as_u64).unwrap_or(1000) as usize;
    let prefix = format!("{}/", spec.uid).into_bytes();
    let after = (it.start > 0).then(|| record_key(&spec.uid, it.start - 1));
    let page = db
        .store
        .scan(KS_STREAMS, &prefix, after.as_deref(), limit)?;
    let next_start = page
        .last()
        .and_then(|(k, _)| seq_of_key(k))
        .map(|s| s + 1)
        .unwrap_or(it.start);
    let mut out = String::from("{\"Records\":[");
    for (i, (_, v)) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(std::str::from_utf8(v).unwrap_or("{}"));
    }
    out.push(']');
    let closed = !spec.enabled && page.len() < limit;
    if !closed {
        let next = Iter {
            start: next_start,
            made_ms: now,
            ..it
        };
        out.push_str(",\"NextShardIterator\":\"");
        out.push_str(&next.encode());
        out.push('"');
    }
    out.push('}');
    Ok(out.into_bytes())
}

impl DynamoDb {
    /// Deletes stream records older than 24 hours.
    pub(crate) fn trim_streams(&self) {
        let cutoff = (self.clock.now_millis() * 1000).saturating_sub(RETENTION_MICROS);
        let mut specs = Vec::new();
        for t in self.all_tables() {
            let st = t.read();
            specs.extend(st.meta.stream.iter().cloned());
            specs.extend(st.meta.old_streams.iter().cloned());
        }
        let now = self.clock.now_millis();
        let expired: Vec<DeadStream> = {
            let mut dead = self.dead_streams.write().unwrap_or_else(|p| p.into_inner());
            let (gone, kept) = std::mem::take(&mut *dead)
                .into_iter()
                .partition(|d| now.saturating_sub(d.deleted_ms) * 1000 > RETENTION_MICROS);
            *dead = kept;
            specs.extend(dead.iter().map(|d| d.spec.clone()));
            gone
        };
        if !expired.is_empty() {
            let mut ops = Vec::new();
            for d in &expired {
                ops.push(Op::DeletePrefix {
                    ks: KS_STREAMS,
                    prefix: format!("{}/", d.spec.uid).into_bytes(),
                });
                ops.push(Op::Delete {
                    ks: KS_DEAD_STREAMS,
                    key: d.key(),
                });
            }
            self.store.write_detached(ops);
        }
        for spec in specs {
            let prefix = format!("{}/", spec.uid).into_bytes();
            let Ok(page) = self.store.scan(KS_STREAMS, &prefix, None, 1000) else {
                continue;
            };
            let ops: Vec<Op> = page
                .into_iter()
                .take_while(|(k, _)| seq_of_key(k).is_some_and(|s| s < cutoff))
                .map(|(key, _)| Op::Delete {
                    ks: KS_STREAMS,
                    key,
                })
                .collect();
            if !ops.is_empty() {
                self.store.write_detached(ops);
            }
        }
    }
}

/// DynamoDB Streams for Lambda's event source mappings (through
/// [`serval_core::StreamReader`]).
pub struct StreamAccess(pub std::sync::Arc<DynamoDb>);

/// The caller a stream ARN implies (`arn:aws:dynamodb:<region>:<account>:...`).
fn owner_of(arn: &str) -> RequestContext {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    RequestContext {
        account_id: parts.get(4).copied().unwrap_or_default().to_string(),
        region: parts.get(3).copied().unwrap_or_default().to_string(),
        access_key_id: String::new(),
        request_id: String::new(),
    }
}

impl serval_core::StreamReader for StreamAccess {
    fn shards(&self, stream_arn: &str) -> Result<Vec<serval_core::StreamShard>> {
        let (_, spec, _) = find_stream(&self.0, &owner_of(stream_arn), stream_arn)?;
        Ok(vec![serval_core::StreamShard {
            shard_id: shard_id(&spec),
            closed: !spec.enabled,
        }])
    }

    fn read(
        &self,
        stream_arn: &str,
        shard: &str,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Vec<serval_core::StreamRecord>> {
        let (_, spec, _) = find_stream(&self.0, &owner_of(stream_arn), stream_arn)?;
        if shard != shard_id(&spec) {
            return Err(error::err(
                "ResourceNotFoundException",
                "Requested resource not found: Shard does not exist",
            ));
        }
        let prefix = format!("{}/", spec.uid).into_bytes();
        let start = after.map(|a| record_key(&spec.uid, u64::try_from(a).unwrap_or(u64::MAX)));
        let page = self
            .0
            .store
            .scan(KS_STREAMS, &prefix, start.as_deref(), limit)?;
        Ok(page
            .into_iter()
            .filter_map(|(k, v)| {
                let seq = seq_of_key(&k)?;
                Some(serval_core::StreamRecord {
                    sequence_number: u128::from(seq),
                    json: String::from_utf8(v).ok()?,
                    created_secs: seq / 1_000_000,
                })
            })
            .collect())
    }

    fn latest(&self, stream_arn: &str, shard: &str) -> Result<Option<u128>> {
        let (_, spec, _) = find_stream(&self.0, &owner_of(stream_arn), stream_arn)?;
        if shard != shard_id(&spec) {
            return Err(error::err(
                "ResourceNotFoundException",
                "Requested resource not found: Shard does not exist",
            ));
        }
        Ok(last_seq(&self.0, &spec)?.map(u128::from))
    }
}
