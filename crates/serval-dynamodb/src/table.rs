//! A table in memory: items ordered by primary key (sort keys as DynamoDB
//! orders them), secondary indexes kept in step, and the size and count that
//! DescribeTable reports. The store holds the durable copy; this is rebuilt
//! from it at start.

use crate::model::{Index, KeySchema, TableMeta};
use crate::number::Num;
use crate::value::{item_size, Item, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// A key attribute's value, ordered as DynamoDB orders keys of that type
/// (strings and binaries bytewise, numbers numerically).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    /// String key.
    S(String),
    /// Number key.
    N(Num),
    /// Binary key.
    B(Vec<u8>),
    /// A multi-attribute key (GSIs): the attributes' values in KeySchema
    /// order, compared one after another.
    Tuple(Vec<KeyPart>),
}

impl KeyPart {
    /// The key part of a scalar value.
    pub fn of(v: &Value) -> Option<KeyPart> {
        match v {
            Value::S(s) => Some(KeyPart::S(s.clone())),
            Value::N(n) => Some(KeyPart::N(n.clone())),
            Value::B(b) => Some(KeyPart::B(b.clone())),
            _ => None,
        }
    }

    /// Back to an attribute value (a tuple as a list).
    pub fn to_value(&self) -> Value {
        match self {
            KeyPart::S(s) => Value::S(s.clone()),
            KeyPart::N(n) => Value::N(n.clone()),
            KeyPart::B(b) => Value::B(b.clone()),
            KeyPart::Tuple(parts) => Value::L(parts.iter().map(KeyPart::to_value).collect()),
        }
    }

    /// The key of the attributes `attrs` of `item` (a tuple when there are
    /// several), if it has them all with scalar values.
    pub fn of_attrs<'a>(
        mut attrs: impl Iterator<Item = &'a crate::model::KeyAttr>,
        item: &Item,
    ) -> Option<KeyPart> {
        let first = KeyPart::of(item.get(&attrs.next()?.name)?)?;
        let mut rest = attrs.peekable();
        if rest.peek().is_none() {
            return Some(first);
        }
        let mut parts = vec![first];
        for a in rest {
            parts.push(KeyPart::of(item.get(&a.name)?)?);
        }
        Some(KeyPart::Tuple(parts))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let (tag, bytes) = match self {
            KeyPart::S(s) => (b's', s.as_bytes()),
            KeyPart::N(n) => (b'n', n.as_str().as_bytes()),
            KeyPart::B(b) => (b'b', b.as_slice()),
            KeyPart::Tuple(parts) => {
                out.push(b't');
                out.extend_from_slice(&(parts.len() as u32).to_be_bytes());
                for p in parts {
                    p.encode(out);
                }
                return;
            }
        };
        out.push(tag);
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    /// Bytes the key counts for in size limits.
    pub fn size(&self) -> usize {
        match self {
            KeyPart::S(s) => s.len(),
            KeyPart::N(n) => n.size(),
            KeyPart::B(b) => b.len(),
            KeyPart::Tuple(parts) => parts.iter().map(KeyPart::size).sum(),
        }
    }
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PKey {
    /// Partition key value.
    pub hash: KeyPart,
    /// Sort key value.
    pub range: Option<KeyPart>,
}

impl PKey {
    /// The key of `item` under `schema`, if the item has its key attributes
    /// with scalar values.
    pub fn of_item(schema: &KeySchema, item: &Item) -> Option<PKey> {
        let hash = KeyPart::of_attrs(schema.hash_attrs(), item)?;
        let range = match &schema.range {
            Some(_) => Some(KeyPart::of_attrs(schema.range_attrs(), item)?),
            None => None,
        };
        Some(PKey { hash, range })
    }

    /// Bytes naming this key in the store.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.hash.encode(&mut out);
        if let Some(r) = &self.range {
            r.encode(&mut out);
        }
        out
    }

    /// The key as an item (`{"pk": ..., "sk": ...}`) under `schema`.
    pub fn to_item(&self, schema: &KeySchema) -> Item {
        let mut m = Item::new();
        m.insert(schema.hash.name.clone(), self.hash.to_value());
        if let (Some(r), Some(v)) = (&schema.range, &self.range) {
            m.insert(r.name.clone(), v.to_value());
        }
        m
    }
}

/// An item as the table holds it: the item, its wire JSON (written once, when
/// the item is stored, and copied as is into GetItem, Query and Scan answers
/// and into the store) and its size as DynamoDB counts it.
#[derive(Debug)]
pub struct Stored {
    /// The item.
    pub item: Item,
    /// `{"attr":{"S":"..."},...}`.
    pub json: String,
    /// [`item_size`] of the item.
    pub size: usize,
}

impl Stored {
    /// Encodes an item for keeping.
    pub fn new(item: Item) -> Arc<Stored> {
        let mut json = String::with_capacity(128);
        crate::value::write_item(&mut json, &item);
        let size = item_size(&item);
        Arc::new(Stored { item, json, size })
    }

    /// The item.
    pub fn item(&self) -> &Item {
        &self.item
    }
}

impl std::ops::Deref for Stored {
    type Target = Item;
    fn deref(&self) -> &Item {
        &self.item
    }
}

/// An index entry: index keys, then the table key that makes it unique.
pub type IndexKey = (KeyPart, Option<KeyPart>, PKey);

/// A secondary index's entries.
#[derive(Debug, Default)]
pub struct IndexData {
    /// Entries in index order.
    pub entries: BTreeSet<IndexKey>,
    /// Sum of the sizes of the indexed items (as projected: approximated by the item).
    pub bytes: usize,
}

/// Whether the table is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Serving.
    Active,
    /// Being deleted.
    Deleting,
}

impl Status {
    /// DynamoDB's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Deleting => "DELETING",
        }
    }
}

/// One table's live state.
#[derive(Debug)]
pub struct TableState {
    /// Definition.
    pub meta: TableMeta,
    /// Items by primary key.
    pub items: BTreeMap<PKey, Arc<Stored>>,
    /// Sum of item sizes.
    pub bytes: usize,
    /// Secondary indexes by name.
    pub indexes: HashMap<String, IndexData>,
    /// Status.
    pub status: Status,
    /// Last stream sequence number handed out.
    pub stream_seq: u64,
    /// Bytes of each item collection (the items sharing a partition key
    /// value, with their local index entries); kept only for tables with
    /// local secondary indexes, where DynamoDB limits it.
    pub collections: HashMap<KeyPart, u64>,
}

/// What DynamoDB adds to each index entry's size.
const INDEX_ENTRY_OVERHEAD: u64 = 100;

/// The index entry of an item, when the item has the index's key
/// attributes with the right types, not empty and within the key size
/// limits (items written before an index existed may not: the backfill
/// leaves them out, as DynamoDB does).
fn index_key(ix: &Index, pk: &PKey, item: &Item) -> Option<IndexKey> {
    let part = |attr: &crate::model::KeyAttr| {
        let v = item.get(&attr.name).filter(|v| attr.type_matches(v))?;
        KeyPart::of(v).filter(|k| k.size() > 0)
    };
    let parts = |attrs: &mut dyn Iterator<Item = &crate::model::KeyAttr>| {
        attrs.map(part).collect::<Option<Vec<KeyPart>>>()
    };
    let hash = parts(&mut ix.keys.hash_attrs())?;
    if hash.iter().any(|h| h.size() > 2048) {
        return None;
    }
    let range = match &ix.keys.range {
        Some(_) => {
            let r = parts(&mut ix.keys.range_attrs())?;
            if r.iter().map(KeyPart::size).sum::<usize>() > 1024 {
                return None;
            }
            Some(r)
        }
        None => None,
    };
    let join = |mut v: Vec<KeyPart>| {
        if v.len() == 1 {
            v.pop()
        } else {
            Some(KeyPart::Tuple(v))
        }
    };
    Some((join(hash)?, range.and_then(join), pk.clone()))
}

impl TableState {
    /// An empty table.
    pub fn new(meta: TableMeta) -> Self {
        let indexes = meta
            .indexes
            .iter()
            .map(|i| (i.name.clone(), IndexData::default()))
            .collect();
        TableState {
            meta,
            items: BTreeMap::new(),
            bytes: 0,
            indexes,
            status: Status::Active,
            stream_seq: 0,
            collections: HashMap::new(),
        }
    }

    /// What an item adds to its item collection: itself and its entries in
    /// the local secondary indexes (as projected: approximated by the item).
    fn collection_share(&self, pk: &PKey, item: &Stored) -> u64 {
        let entries = self
            .meta
            .indexes
            .iter()
            .filter(|ix| !ix.global && index_key(ix, pk, &item.item).is_some())
            .count() as u64;
        item.size as u64 * (1 + entries) + INDEX_ENTRY_OVERHEAD * entries
    }

    /// Whether the table has local secondary indexes (and so a limit on
    /// item collection sizes).
    pub fn has_local_indexes(&self) -> bool {
        self.meta.indexes.iter().any(|ix| !ix.global)
    }

    /// The size of the item collection of `pk` after replacing its item
    /// with `new` (tables without local indexes have no limit: 0).
    pub fn collection_size_after(&self, pk: &PKey, new: Option<&Stored>) -> u64 {
        if !self.has_local_indexes() {
            return 0;
        }
        let now = self.collections.get(&pk.hash).copied().unwrap_or(0);
        let old = self
            .items
            .get(pk)
            .map_or(0, |o| self.collection_share(pk, o));
        let new = new.map_or(0, |n| self.collection_share(pk, n));
        (now + new).saturating_sub(old)
    }

    /// The current size of the item collection of `pk`.
    pub fn collection_size(&self, pk: &PKey) -> u64 {
        self.collections.get(&pk.hash).copied().unwrap_or(0)
    }

    /// Replaces (or with `None`, removes) the item at `pk`; returns the old one.
    pub fn set(&mut self, pk: PKey, new: Option<Arc<Stored>>) -> Option<Arc<Stored>> {
        if self.has_local_indexes() {
            let size = self.collection_size_after(&pk, new.as_deref());
            if size == 0 {
                self.collections.remove(&pk.hash);
            } else {
                self.collections.insert(pk.hash.clone(), size);
            }
        }
        let old = match &new {
            Some(item) => self.items.insert(pk.clone(), item.clone()),
            None => self.items.remove(&pk),
        };
        if let Some(o) = &old {
            self.bytes = self.bytes.saturating_sub(o.size);
        }
        if let Some(n) = &new {
            self.bytes += n.size;
        }
        for ix in &self.meta.indexes {
            let Some(data) = self.indexes.get_mut(&ix.name) else {
                continue;
            };
            if let Some(o) = &old {
                if let Some(k) = index_key(ix, &pk, o) {
                    if data.entries.remove(&k) {
                        data.bytes = data.bytes.saturating_sub(o.size);
                    }
                }
            }
            if let Some(n) = &new {
                if let Some(k) = index_key(ix, &pk, n) {
                    data.entries.insert(k);
                    data.bytes += n.size;
                }
            }
        }
        old
    }

    /// Builds an index's entries from the items (a new GSI's backfill).
    pub fn build_index(&mut self, ix: &Index) {
        let mut data = IndexData::default();
        for (pk, item) in &self.items {
            if let Some(k) = index_key(ix, pk, item) {
                data.entries.insert(k);
                data.bytes += item.size;
            }
        }
        self.indexes.insert(ix.name.clone(), data);
    }

    /// `(item count, bytes)` of an index.
    pub fn index_stats(&self, name: &str) -> (usize, usize) {
        self.indexes
            .get(name)
            .map(|d| (d.entries.len(), d.bytes))
            .unwrap_or((0, 0))
    }

    /// DescribeTable's `Table`.
    pub fn describe(&self) -> serde_json::Value {
        let mut d = self
            .meta
            .describe(self.items.len(), self.bytes, self.status.as_str());
        for field in ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"] {
            if let Some(list) = d.get_mut(field).and_then(|v| v.as_array_mut()) {
                for ix in list {
                    let name = ix["IndexName"].as_str().unwrap_or_default().to_string();
                    let (count, bytes) = self.index_stats(&name);
                    ix["ItemCount"] = count.into();
                    ix["IndexSizeBytes"] = bytes.into();
                }
            }
        }
        d
    }
}
