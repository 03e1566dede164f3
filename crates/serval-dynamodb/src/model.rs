//! A table's definition as stored (key schema, indexes, billing, stream,
//! TTL, tags) and its rendering as DynamoDB's `TableDescription`.

use crate::value::Value;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

/// One key attribute: name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    /// Attribute name.
    pub name: String,
    /// `S`, `N` or `B`.
    pub ty: String,
}

impl KeyAttr {
    /// Whether `v` has this attribute's type.
    pub fn type_matches(&self, v: &Value) -> bool {
        v.type_name() == self.ty
    }
}

/// A key schema: hash and optional range attribute. Global secondary
/// indexes may have multi-attribute keys: up to 4 HASH and 4 RANGE
/// attributes, the first of each in `hash`/`range` and the others, in
/// KeySchema order, in `more_hash`/`more_range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    /// Partition key.
    pub hash: KeyAttr,
    /// Sort key.
    pub range: Option<KeyAttr>,
    /// Further partition key attributes (multi-attribute GSI keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_hash: Vec<KeyAttr>,
    /// Further sort key attributes (multi-attribute GSI keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_range: Vec<KeyAttr>,
}

impl KeySchema {
    /// A single-attribute schema.
    pub fn simple(hash: KeyAttr, range: Option<KeyAttr>) -> Self {
        KeySchema {
            hash,
            range,
            more_hash: Vec::new(),
            more_range: Vec::new(),
        }
    }

    /// The HASH attributes in KeySchema order.
    pub fn hash_attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.hash).chain(self.more_hash.iter())
    }

    /// The RANGE attributes in KeySchema order.
    pub fn range_attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        self.range.iter().chain(self.more_range.iter())
    }

    /// Every key attribute, HASH first.
    pub fn attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        self.hash_attrs().chain(self.range_attrs())
    }

    /// Whether a key has more than one HASH or RANGE attribute.
    pub fn is_multi(&self) -> bool {
        !self.more_hash.is_empty() || !self.more_range.is_empty()
    }

    /// As `KeySchema` JSON.
    pub fn to_json(&self) -> Json {
        let hash = self
            .hash_attrs()
            .map(|a| json!({"AttributeName": a.name, "KeyType": "HASH"}));
        let range = self
            .range_attrs()
            .map(|a| json!({"AttributeName": a.name, "KeyType": "RANGE"}));
        Json::Array(hash.chain(range).collect())
    }

    /// Whether `name` is one of the key attributes.
    pub fn has(&self, name: &str) -> bool {
        self.attrs().any(|a| a.name == name)
    }
}

/// An index projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub kind: String,
    /// For `INCLUDE`.
    #[serde(default)]
    pub non_key: Vec<String>,
}

impl Projection {
    fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("ProjectionType".into(), json!(self.kind));
        if self.kind == "INCLUDE" {
            m.insert("NonKeyAttributes".into(), json!(self.non_key));
        }
        Json::Object(m)
    }
}

/// Provisioned throughput settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Throughput {
    /// RCUs.
    pub read: u64,
    /// WCUs.
    pub write: u64,
    /// Last increase (epoch seconds), 0 when never.
    #[serde(default)]
    pub last_increase: f64,
    /// Last decrease (epoch seconds), 0 when never.
    #[serde(default)]
    pub last_decrease: f64,
}

impl Throughput {
    fn to_json(self) -> Json {
        let mut m = Map::new();
        if self.last_increase > 0.0 {
            m.insert("LastIncreaseDateTime".into(), json!(self.last_increase));
        }
        if self.last_decrease > 0.0 {
            m.insert("LastDecreaseDateTime".into(), json!(self.last_decrease));
        }
        m.insert("NumberOfDecreasesToday".into(), json!(0));
        m.insert("ReadCapacityUnits".into(), json!(self.read));
        m.insert("WriteCapacityUnits".into(), json!(self.write));
        Json::Object(m)
    }
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Global (own hash key) or local (the table's hash key).
    pub global: bool,
    /// Its keys.
    pub keys: KeySchema,
    /// What it carries besides keys.
    pub projection: Projection,
    /// Provisioned throughput (global indexes of provisioned tables).
    #[serde(default)]
    pub throughput: Option<Throughput>,
}

/// Stream settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// `KEYS_ONLY`, `NEW_IMAGE`, `OLD_IMAGE` or `NEW_AND_OLD_IMAGES`.
    pub view_type: String,
    /// The stream label (an ISO timestamp), part of the ARN.
    pub label: String,
    /// Internal id the records are stored under.
    pub uid: String,
    /// Whether the stream currently receives records.
    pub enabled: bool,
}

/// A table's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    /// Table name.
    pub name: String,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Internal id items are stored under (a re-created table gets a new one).
    pub uid: String,
    /// `TableId` (a UUID).
    pub table_id: String,
    /// Primary key.
    pub keys: KeySchema,
    /// AttributeDefinitions as given (name, type).
    pub attrs: Vec<KeyAttr>,
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub billing: String,
    /// Table throughput (zeros under on-demand).
    pub throughput: Throughput,
    /// Secondary indexes.
    #[serde(default)]
    pub indexes: Vec<Index>,
    /// The current stream, if any was ever enabled (the latest one).
    #[serde(default)]
    pub stream: Option<StreamSpec>,
    /// Older streams still readable for 24 h after being disabled or replaced.
    #[serde(default)]
    pub old_streams: Vec<StreamSpec>,
    /// TTL attribute when enabled.
    #[serde(default)]
    pub ttl_attr: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// Creation time (epoch seconds).
    pub created: f64,
    /// When billing mode was last changed.
    #[serde(default)]
    pub billing_changed: f64,
    /// Table class.
    #[serde(default = "standard")]
    pub class: String,
    /// Point-in-time recovery: since when (epoch seconds) and for how many days.
    #[serde(default)]
    pub pitr: Option<(f64, u32)>,
    /// DeletionProtectionEnabled.
    #[serde(default)]
    pub deletion_protection: bool,
}

fn standard() -> String {
    "STANDARD".into()
}

impl TableMeta {
    /// `arn:aws:dynamodb:<region>:<account>:table/<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            self.region, self.account, self.name
        )
    }

    /// The ARN of a stream of this table.
    pub fn stream_arn(&self, s: &StreamSpec) -> String {
        format!("{}/stream/{}", self.arn(), s.label)
    }

    /// The index called `name`.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// `TableDescription` JSON.
    pub fn describe(&self, item_count: usize, size_bytes: usize, status: &str) -> Json {
        let mut m = Map::new();
        m.insert(
            "AttributeDefinitions".into(),
            Json::Array(
                self.attrs
                    .iter()
                    .map(|a| json!({"AttributeName": a.name, "AttributeType": a.ty}))
                    .collect(),
            ),
        );
        m.insert("TableName".into(), json!(self.name));
        m.insert("KeySchema".into(), self.keys.to_json());
        m.insert("TableStatus".into(), json!(status));
        m.insert("CreationDateTime".into(), json!(self.created));
        m.insert("ProvisionedThroughput".into(), self.throughput.to_json());
        m.insert("TableSizeBytes".into(), json!(size_bytes));
        m.insert("ItemCount".into(), json!(item_count));
        m.insert("TableArn".into(), json!(self.arn()));
        m.insert("TableId".into(), json!(self.table_id));
        if self.billing == "PAY_PER_REQUEST" {
            m.insert(
                "BillingModeSummary".into(),
                json!({"BillingMode": "PAY_PER_REQUEST",
                       "LastUpdateToPayPerRequestDateTime": if self.billing_changed > 0.0 { self.billing_changed } else { self.created }}),
            );
        } else if self.billing_changed > 0.0 {
            m.insert(
                "BillingModeSummary".into(),
                json!({"BillingMode": "PROVISIONED"}),
            );
        }
        let arn = self.arn();
        let lsis: Vec<Json> = self
            .indexes
            .iter()
            .filter(|i| !i.global)
            .map(|i| {
                json!({
                    "IndexName": i.name,
                    "KeySchema": i.keys.to_json(),
                    "Projection": i.projection.to_json(),
                    "IndexSizeBytes": 0,
                    "ItemCount": 0,
                    "IndexArn": format!("{arn}/index/{}", i.name),
                })
            })
            .collect();
        if !lsis.is_empty() {
            m.insert("LocalSecondaryIndexes".into(), Json::Array(lsis));
        }
        let gsis: Vec<Json> = self
            .indexes
            .iter()
            .filter(|i| i.global)
            .map(|i| {
                let mut g = Map::new();
                g.insert("IndexName".into(), json!(i.name));
                g.insert("KeySchema".into(), i.keys.to_json());
                g.insert("Projection".into(), i.projection.to_json());
                g.insert("IndexStatus".into(), json!("ACTIVE"));
                g.insert(
                    "ProvisionedThroughput".into(),
                    i.throughput.unwrap_or_default().to_json(),
                );
                g.insert("IndexSizeBytes".into(), json!(0));
                g.insert("ItemCount".into(), json!(0));
                g.insert("IndexArn".into(), json!(format!("{arn}/index/{}", i.name)));
                Json::Object(g)
            })
            .collect();
        if !gsis.is_empty() {
            m.insert("GlobalSecondaryIndexes".into(), Json::Array(gsis));
        }
        if let Some(s) = &self.stream {
            if s.enabled {
                m.insert(
                    "StreamSpecification".into(),
                    json!({"StreamEnabled": true, "StreamViewType": s.view_type}),
                );
            }
            m.insert("LatestStreamLabel".into(), json!(s.label));
            m.insert("LatestStreamArn".into(), json!(self.stream_arn(s)));
        }
        if self.class != "STANDARD" {
            m.insert(
                "TableClassSummary".into(),
                json!({"TableClass": self.class}),
            );
        }
        m.insert(
            "DeletionProtectionEnabled".into(),
            json!(self.deletion_protection),
        );
        Json::Object(m)
    }
}
