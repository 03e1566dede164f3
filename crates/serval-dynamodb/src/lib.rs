//! Amazon DynamoDB for Serval: the JSON 1.0 protocol (`DynamoDB_20120810.*`)
//! and Streams (`DynamoDBStreams_20120810.*`) on Serval's durable store.
//!
//! Each table lives in memory ([`table::TableState`], behind its own lock)
//! and in the store. A write takes the table's lock, checks its condition,
//! changes memory and submits the item and its stream record to the store in
//! one batch while still holding the lock (so the store's order is memory's
//! order), then waits for the commit before answering: an acknowledged write
//! survives `kill -9`. Reads take the lock shared and never touch the disk.

pub mod error;
pub mod expr;
pub mod model;
pub mod number;
pub mod ops;
pub mod request;
pub mod streams;
pub mod table;
pub mod throttle;
pub mod validate;
pub mod value;

use crate::error::Result;
use crate::model::TableMeta;
use crate::table::TableState;
use serval_core::{AwsError, Clock, RequestContext};
use serval_store::{Op, Store};
use serval_wire::{Protocol, Request, Response, Service, ServiceFuture};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Keyspace of table definitions: `<account>/<region>/<name>` -> [`TableMeta`].
pub(crate) const KS_TABLES: &str = "ddb_table";
/// Keyspace of items: `<table uid>/<encoded key>` -> item JSON.
pub(crate) const KS_ITEMS: &str = "ddb_item";
/// Keyspace of stream records: `<stream uid>/<sequence number>` -> record JSON.
pub(crate) const KS_STREAMS: &str = "ddb_stream";
/// Keyspace of the streams of deleted tables, readable for 24 hours:
/// `<account>/<region>/<stream uid>` -> [`streams::DeadStream`].
pub(crate) const KS_DEAD_STREAMS: &str = "ddb_dead_stream";

/// Largest request body DynamoDB reads.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Settings.
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    /// The port Serval listens on (for DescribeEndpoints).
    pub port: u16,
    /// How often expired TTL items are swept.
    pub ttl_interval: Duration,
    /// Whether provisioned tables throttle past their throughput.
    pub enforce_throughput: bool,
    /// Largest item collection (items sharing a partition key value, with
    /// their local index entries) of a table with local secondary indexes.
    pub item_collection_limit: u64,
}

impl Default for DynamoConfig {
    fn default() -> Self {
        DynamoConfig {
            port: 4566,
            ttl_interval: Duration::from_secs(5),
            enforce_throughput: false,
            item_collection_limit: 10 << 30,
        }
    }
}

/// One table: its live state behind a lock.
pub struct Table {
    state: RwLock<TableState>,
    buckets: throttle::Buckets,
}

impl Table {
    fn new(state: TableState) -> Arc<Table> {
        Arc::new(Table {
            state: RwLock::new(state),
            buckets: throttle::Buckets::default(),
        })
    }

    /// Shared access.
    pub fn read(&self) -> RwLockReadGuard<'_, TableState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Exclusive access.
    pub fn write(&self) -> RwLockWriteGuard<'_, TableState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

type TableRef = (String, String, String);

/// The DynamoDB service's state.
pub struct DynamoDb {
    pub(crate) store: Store,
    tables: RwLock<HashMap<TableRef, Arc<Table>>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: DynamoConfig,
    /// Transaction tokens seen in the last 10 minutes.
    pub(crate) txn_tokens: Mutex<HashMap<String, ops::txn::TokenRecord>>,
    /// Streams of deleted tables, kept (disabled) for 24 hours.
    pub(crate) dead_streams: RwLock<Vec<streams::DeadStream>>,
}

fn table_ref(ctx: &RequestContext, name: &str) -> TableRef {
    (ctx.account_id.clone(), ctx.region.clone(), name.to_string())
}

pub(crate) fn meta_key(meta: &TableMeta) -> Vec<u8> {
    format!("{}/{}/{}", meta.account, meta.region, meta.name).into_bytes()
}

pub(crate) fn item_store_key(uid: &str, pk: &table::PKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(uid.len() + 40);
    k.extend_from_slice(uid.as_bytes());
    k.push(b'/');
    k.extend_from_slice(&pk.encode());
    k
}

impl DynamoDb {
    /// Loads every table and its items from the store; `clock` is platform
    /// time (TTL expiry, stream timestamps and retention).
    pub fn start(store: Store, clock: Arc<dyn Clock>, config: DynamoConfig) -> Result<Arc<Self>> {
        let mut tables = HashMap::new();
        let metas = store.scan_all(KS_TABLES, b"")?;
        for (_, v) in metas {
            let meta: TableMeta = match serde_json::from_slice(&v) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "unreadable table definition skipped");
                    continue;
                }
            };
            let mut state = TableState::new(meta.clone());
            let prefix = format!("{}/", meta.uid).into_bytes();
            for (_, raw) in store.scan_all(KS_ITEMS, &prefix)? {
                let parsed = serde_json::from_slice::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|j| value::item_from_json(&j).ok());
                let Some(item) = parsed else {
                    tracing::error!(table = %meta.name, "unreadable item skipped");
                    continue;
                };
                if let Some(pk) = table::PKey::of_item(&meta.keys, &item) {
                    state.set(pk, Some(table::Stored::new(item)));
                }
            }
            tables.insert(
                (meta.account.clone(), meta.region.clone(), meta.name.clone()),
                Table::new(state),
            );
        }
        let dead_streams = store
            .scan_all(KS_DEAD_STREAMS, b"")?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect();
        Ok(Arc::new(DynamoDb {
            store,
            tables: RwLock::new(tables),
            clock,
            config,
            txn_tokens: Mutex::new(HashMap::new()),
            dead_streams: RwLock::new(dead_streams),
        }))
    }

    /// Starts the background TTL sweeper and stream trimmer.
    pub fn spawn_background(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let every = self.clock.real_duration(self.config.ttl_interval);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(db) = me.upgrade() else { return };
                db.sweep_ttl().await;
                db.trim_streams();
            }
        });
    }

    /// Seconds since the epoch, as DynamoDB's timestamps.
    pub(crate) fn now_secs(&self) -> f64 {
        self.clock.now_millis() as f64 / 1000.0
    }

    /// The table called `name` in the caller's account and region.
    pub(crate) fn table(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>> {
        let name = table_name_of(name);
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&table_ref(ctx, name))
            .cloned()
            .ok_or_else(error::table_not_found)
    }

    /// Refuses a request when the table's provisioned throughput is enforced
    /// and spent.
    pub(crate) fn admit(&self, t: &Table, read: bool) -> Result<()> {
        if !self.config.enforce_throughput {
            return Ok(());
        }
        let rate = {
            let st = t.read();
            if st.meta.billing != "PROVISIONED" {
                return Ok(());
            }
            if read {
                st.meta.throughput.read
            } else {
                st.meta.throughput.write
            }
        };
        t.buckets.admit(read, rate, self.clock.now_millis())
    }

    /// The size of `pk`'s item collection once its item is `new`, refused
    /// past the limit (0 for tables without local secondary indexes).
    pub(crate) fn check_collection(
        &self,
        st: &TableState,
        pk: &table::PKey,
        new: Option<&table::Stored>,
    ) -> Result<u64> {
        let size = st.collection_size_after(pk, new);
        if size > self.config.item_collection_limit && size > st.collection_size(pk) {
            return Err(error::collection_too_large());
        }
        Ok(size)
    }

    /// Charges consumed capacity to the table's bucket (when enforcing).
    pub(crate) fn charge(&self, t: &Table, c: &ops::capacity::Consumed) {
        if self.config.enforce_throughput {
            t.buckets.charge(c.read, c.table_units);
        }
    }

    /// Like [`DynamoDb::table`], with the message naming the table.
    pub(crate) fn table_named(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>> {
        self.table(ctx, name)
            .map_err(|_| error::table_not_found_named(table_name_of(name)))
    }

    pub(crate) fn insert_table(&self, meta: &TableMeta, state: TableState) -> Result<()> {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        let key = (meta.account.clone(), meta.region.clone(), meta.name.clone());
        if tables.contains_key(&key) {
            return Err(error::in_use(format!(
                "Table already exists: {}",
                meta.name
            )));
        }
        tables.insert(key, Table::new(state));
        Ok(())
    }

    pub(crate) fn remove_table(&self, meta: &TableMeta) {
        self.tables
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(meta.account.clone(), meta.region.clone(), meta.name.clone()));
    }

    /// Names of the caller's tables, sorted.
    pub(crate) fn table_names(&self, ctx: &RequestContext) -> Vec<String> {
        let mut names: Vec<String> = self
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|(a, r, _)| *a == ctx.account_id && *r == ctx.region)
            .map(|(_, _, n)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// Every table (for background work).
    pub(crate) fn all_tables(&self) -> Vec<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Writes a table's definition in the same batch as `ops`.
    pub(crate) fn meta_op(meta: &TableMeta) -> Op {
        Op::Put {
            ks: KS_TABLES,
            key: meta_key(meta),
            value: serde_json::to_vec(meta).unwrap_or_default(),
        }
    }

    async fn handle(&self, ctx: RequestContext, req: Request) -> Result<Response> {
        let target = req.header("x-amz-target").unwrap_or_default().to_string();
        let (prefix, op) = target.split_once('.').unwrap_or(("", ""));
        let raw =
            request::decode_body(req.header("content-encoding"), &req.body, MAX_REQUEST_BYTES)?;
        let body = request::parse_body(&raw)?;
        request::check_shape(prefix, op, &body)?;
        let out = match prefix {
            "DynamoDB_20120810" if op == "DescribeEndpoints" => {
                let own = format!("127.0.0.1:{}", self.config.port);
                let host = req.header("host").unwrap_or(&own);
                serde_json::to_vec(&ops::tables::describe_endpoints(host)).unwrap_or_default()
            }
            "DynamoDB_20120810" => ops::dispatch(self, &ctx, op, &body).await?,
            "DynamoDBStreams_20120810" => streams::dispatch(self, &ctx, op, &body)?,
            _ => return Err(unknown_operation(&target)),
        };
        let coding = (out.len() >= request::COMPRESS_THRESHOLD)
            .then(|| request::response_coding(req.header("accept-encoding")))
            .flatten();
        let Some(coding) = coding else {
            return Ok(Response::bytes(
                200,
                "application/x-amz-json-1.0",
                bytes::Bytes::from(out),
            ));
        };
        let mut resp = Response::bytes(
            200,
            "application/x-amz-json-1.0",
            bytes::Bytes::from(request::encode_body(coding, &out)),
        );
        resp.set_header("content-encoding", coding.token());
        Ok(resp)
    }
}

/// A table name from `TableName`, which may also be the table's ARN.
pub(crate) fn table_name_of(name: &str) -> &str {
    if name.starts_with("arn:") {
        name.rsplit_once(":table/")
            .map(|(_, n)| n.split('/').next().unwrap_or(n))
            .unwrap_or(name)
    } else {
        name
    }
}

pub(crate) fn unknown_operation(target: &str) -> AwsError {
    error::err(
        "UnknownOperationException",
        format!("Unknown operation {target}"),
    )
}

/// The service behind the edge (signing name `dynamodb`, for tables and streams).
pub struct DynamoService(pub Arc<DynamoDb>);

fn is_dynamo_target(req: &Request) -> bool {
    req.header("x-amz-target").is_some_and(|t| {
        t.starts_with("DynamoDB_20120810.") || t.starts_with("DynamoDBStreams_20120810.")
    })
}

impl Service for DynamoService {
    fn signing_name(&self) -> &'static str {
        "dynamodb"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson10
    }

    fn owns(&self, req: &Request) -> bool {
        is_dynamo_target(req)
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move { self.0.handle(ctx, req).await })
    }
}
