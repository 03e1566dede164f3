//! Event source mappings: Create/Get/Update/Delete/ListEventSourceMappings,
//! kept in the store, and one poller per enabled mapping that reads its
//! source (DynamoDB Streams through [`serval_core::StreamReader`]) and
//! invokes the function with batches, as Lambda does.

mod sqs;
mod stream;

use crate::api::Page;
use crate::arn::FunctionRef;
use crate::error::{in_range, validation, LambdaError, Result};
use crate::registry::FnKey;
use crate::Lambda;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use serval_core::RequestContext;
use serval_store::Op;
use serval_wire::Response;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Keyspace of mappings: `<uuid>` -> [`Mapping`].
const KS: &str = "lambda-esm";
/// Keyspace of stream positions: `<uuid>/<shard>` -> last processed sequence number.
const KS_POS: &str = "lambda-esm-pos";

/// Filters a mapping may have (Lambda's default quota).
const MAX_FILTERS: usize = 5;

/// What a mapping reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    /// A DynamoDB stream.
    DynamoDb,
    /// An SQS queue.
    Sqs,
}

impl SourceKind {
    fn of(arn: &str) -> Option<SourceKind> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "dynamodb", _, _, res] if res.contains("/stream/") => {
                Some(SourceKind::DynamoDb)
            }
            ["arn", _, "sqs", _, _, name] if !name.is_empty() => Some(SourceKind::Sqs),
            _ => None,
        }
    }

    fn default_batch(self) -> u32 {
        match self {
            SourceKind::DynamoDb => 100,
            SourceKind::Sqs => 10,
        }
    }
}

/// A mapping as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    /// Its id.
    pub uuid: String,
    /// Owner account.
    pub account: String,
    /// Owner region.
    pub region: String,
    /// Function name.
    pub function: String,
    /// Version or alias, when the mapping names one.
    pub qualifier: Option<String>,
    /// The source's ARN.
    pub source_arn: String,
    /// Its kind.
    pub kind: SourceKind,
    /// Whether the poller runs.
    pub enabled: bool,
    /// Records per invocation at most.
    pub batch_size: u32,
    /// Seconds to gather a batch.
    pub window_secs: u32,
    /// Streams: `TRIM_HORIZON` or `LATEST`.
    pub starting_position: Option<String>,
    /// Streams: retries of a failing batch (-1: until the records expire).
    pub max_retry_attempts: i64,
    /// Streams: oldest record to send (-1: no limit).
    pub max_record_age_secs: i64,
    /// Streams: split a failing batch in two.
    pub bisect: bool,
    /// Streams: concurrent batches per shard (accepted; one is used).
    pub parallelization: u32,
    /// Where discarded batches are described.
    pub on_failure: Option<String>,
    /// `ReportBatchItemFailures` is on.
    pub report_item_failures: bool,
    /// FilterCriteria as sent.
    pub filter_criteria: Option<Value>,
    /// SQS: ScalingConfig.MaximumConcurrency.
    pub max_concurrency: Option<u32>,
    /// Streams: TumblingWindowInSeconds (accepted).
    pub tumbling_window_secs: Option<u32>,
    /// Epoch seconds of the last change.
    pub last_modified: f64,
    /// What the last batch did.
    pub last_result: String,
}

impl Mapping {
    fn key(&self) -> FnKey {
        FnKey {
            account: self.account.clone(),
            region: self.region.clone(),
            name: self.function.clone(),
        }
    }

    fn function_arn(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}:{q}", self.key().arn()),
            None => self.key().arn(),
        }
    }

    /// The compiled FilterCriteria patterns (none: every record passes).
    fn filters(&self) -> Vec<serval_core::pattern::Pattern> {
        self.filter_criteria
            .as_ref()
            .and_then(|f| f.get("Filters"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|x| x.get("Pattern").and_then(Value::as_str))
                    .filter_map(|p| serval_core::pattern::Pattern::parse(p).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn render(&self, state: &str) -> Value {
        let mut v = json!({
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.window_secs,
            "EventSourceArn": self.source_arn,
            "FunctionArn": self.function_arn(),
            "LastModified": self.last_modified,
            "State": state,
            "StateTransitionReason": "USER_INITIATED",
            "EventSourceMappingArn": format!(
                "arn:aws:lambda:{}:{}:event-source-mapping:{}",
                self.region, self.account, self.uuid
            ),
        });
        if let Some(f) = &self.filter_criteria {
            v["FilterCriteria"] = f.clone();
        }
        if !self.report_item_failures {
            v["FunctionResponseTypes"] = json!([]);
        } else {
            v["FunctionResponseTypes"] = json!(["ReportBatchItemFailures"]);
        }
        match self.kind {
            SourceKind::DynamoDb => {
                v["StartingPosition"] = json!(self.starting_position);
                v["ParallelizationFactor"] = json!(self.parallelization);
                v["MaximumRetryAttempts"] = json!(self.max_retry_attempts);
                v["MaximumRecordAgeInSeconds"] = json!(self.max_record_age_secs);
                v["BisectBatchOnFunctionError"] = json!(self.bisect);
                v["TumblingWindowInSeconds"] = json!(self.tumbling_window_secs.unwrap_or(0));
                v["LastProcessingResult"] = json!(self.last_result);
                v["DestinationConfig"] = match &self.on_failure {
                    Some(d) => json!({"OnFailure": {"Destination": d}}),
                    None => json!({"OnFailure": {}}),
                };
            }
            SourceKind::Sqs => {
                if let Some(n) = self.max_concurrency {
                    v["ScalingConfig"] = json!({ "MaximumConcurrency": n });
                }
            }
        }
        v
    }
}

/// The body of Create/UpdateEventSourceMapping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MappingInput {
    event_source_arn: Option<String>,
    function_name: Option<String>,
    enabled: Option<bool>,
    batch_size: Option<i64>,
    maximum_batching_window_in_seconds: Option<i64>,
    starting_position: Option<String>,
    starting_position_timestamp: Option<Value>,
    maximum_retry_attempts: Option<i64>,
    maximum_record_age_in_seconds: Option<i64>,
    bisect_batch_on_function_error: Option<bool>,
    parallelization_factor: Option<i64>,
    destination_config: Option<Value>,
    function_response_types: Option<Vec<String>>,
    filter_criteria: Option<Value>,
    scaling_config: Option<Value>,
    tumbling_window_in_seconds: Option<i64>,
}

/// The running pollers by mapping id.
#[derive(Default)]
pub struct Pollers {
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Pollers {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(&self, uuid: &str) {
        if let Some(flag) = self.running().remove(uuid) {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

fn load(l: &Lambda, uuid: &str) -> Result<Option<Mapping>> {
    let raw = l
        .store
        .get(KS, uuid.as_bytes())
        .map_err(|e| LambdaError::Internal(e.to_string()))?;
    Ok(raw.and_then(|v| serde_json::from_slice(&v).ok()))
}

fn all(l: &Lambda) -> Vec<Mapping> {
    l.store
        .scan(KS, b"", None, 100_000)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect()
}

async fn save(l: &Lambda, m: &Mapping) -> Result<()> {
    l.store
        .write(vec![Op::Put {
            ks: KS,
            key: m.uuid.as_bytes().to_vec(),
            value: serde_json::to_vec(m).unwrap_or_default(),
        }])
        .await
        .map_err(|e| LambdaError::Internal(e.to_string()))
}

fn not_found() -> LambdaError {
    LambdaError::NotFound("The resource you requested does not exist.".into())
}

/// Applies the settable fields of `input` to `m`, with AWS's checks.
fn apply(m: &mut Mapping, input: &MappingInput) -> Result<()> {
    if let Some(b) = input.batch_size {
        in_range("batchSize", b, 1, 10_000)?;
        m.batch_size = b as u32;
    }
    if let Some(w) = input.maximum_batching_window_in_seconds {
        in_range("maximumBatchingWindowInSeconds", w, 0, 300)?;
        m.window_secs = w as u32;
    }
    if let Some(e) = input.enabled {
        m.enabled = e;
    }
    if let Some(f) = &input.filter_criteria {
        let list = f.get("Filters").and_then(Value::as_array);
        let ok = list.is_some_and(|list| {
            list.len() <= MAX_FILTERS
                && list.iter().all(|x| {
                    x.get("Pattern")
                        .and_then(Value::as_str)
                        .is_some_and(|p| serval_core::pattern::Pattern::parse(p).is_ok())
                })
        });
        if !ok {
            return Err(LambdaError::InvalidParameter(
                "Invalid filter pattern definition.".into(),
            ));
        }
        m.filter_criteria = list.filter(|l| !l.is_empty()).map(|_| f.clone());
    }
    if let Some(types) = &input.function_response_types {
        if let Some(bad) = types.iter().find(|t| *t != "ReportBatchItemFailures") {
            return Err(validation(
                &format!("[{bad}]"),
                "functionResponseTypes",
                "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
            ));
        }
        m.report_item_failures = !types.is_empty();
    }
    let stream_only = |name: &str| {
        LambdaError::InvalidParameter(format!(
            "Unsupported {name} parameter for the given event source type."
        ))
    };
    match m.kind {
        SourceKind::Sqs => {
            if input.maximum_retry_attempts.is_some() {
                return Err(stream_only("MaximumRetryAttempts"));
            }
            if input.maximum_record_age_in_seconds.is_some() {
                return Err(stream_only("MaximumRecordAgeInSeconds"));
            }
            if input.bisect_batch_on_function_error.is_some() {
                return Err(stream_only("BisectBatchOnFunctionError"));
            }
            if input.parallelization_factor.is_some() {
                return Err(stream_only("ParallelizationFactor"));
            }
            if input.destination_config.is_some() {
                return Err(stream_only("DestinationConfig"));
            }
            if let Some(sc) = &input.scaling_config {
                if let Some(n) = sc.get("MaximumConcurrency").and_then(Value::as_i64) {
                    in_range("scalingConfig.maximumConcurrency", n, 2, 1000)?;
                    m.max_concurrency = Some(n as u32);
                }
            }
            if m.batch_size > 10 && m.window_secs == 0 {
                return Err(LambdaError::InvalidParameter(
                    "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10".into(),
                ));
            }
        }
        SourceKind::DynamoDb => {
            if let Some(n) = input.maximum_retry_attempts {
                in_range("maximumRetryAttempts", n, -1, 10_000)?;
                m.max_retry_attempts = n;
            }
            if let Some(n) = input.maximum_record_age_in_seconds {
                in_range("maximumRecordAgeInSeconds", n, -1, 604_800)?;
                if (0..60).contains(&n) {
                    return Err(LambdaError::InvalidParameter(
                        "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800".into(),
                    ));
                }
                m.max_record_age_secs = n;
            }
            if let Some(b) = input.bisect_batch_on_function_error {
                m.bisect = b;
            }
            if let Some(p) = input.parallelization_factor {
                in_range("parallelizationFactor", p, 1, 10)?;
                m.parallelization = p as u32;
            }
            if let Some(t) = input.tumbling_window_in_seconds {
                in_range("tumblingWindowInSeconds", t, 0, 900)?;
                m.tumbling_window_secs = Some(t as u32);
            }
            if let Some(d) = &input.destination_config {
                let dest = d
                    .get("OnFailure")
                    .and_then(|f| f.get("Destination"))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                if let Some(arn) = dest {
                    let service = arn.split(':').nth(2).unwrap_or_default();
                    if !arn.starts_with("arn:") || !matches!(service, "sqs" | "sns" | "s3") {
                        return Err(LambdaError::InvalidParameter(format!(
                            "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={arn})) is invalid."
                        )));
                    }
                }
                m.on_failure = dest.map(str::to_string);
            }
            if input.scaling_config.is_some() {
                return Err(LambdaError::InvalidParameter(
                    "Unsupported ScalingConfig parameter for the given event source type.".into(),
                ));
            }
        }
    }
    Ok(())
}

/// CreateEventSourceMapping.
pub async fn create(l: &Lambda, ctx: &RequestContext, input: MappingInput) -> Result<Response> {
    let fname = input
        .function_name
        .clone()
        .ok_or_else(|| validation("null", "functionName", "Member must not be null"))?;
    let fref = FunctionRef::parse(&fname)?;
    let key = l.key(ctx, &fref)?;
    crate::invoke::resolve(l, &key, fref.qualifier.as_deref())?;
    let source = input.event_source_arn.clone().ok_or_else(|| {
        LambdaError::InvalidParameter("Unrecognized event source, must be kinesis, dynamodb stream, sqs, kafka or documentdb.".into())
    })?;
    let kind = SourceKind::of(&source).ok_or_else(|| {
        LambdaError::InvalidParameter(format!(
            "Unrecognized event source, must be kinesis, dynamodb stream or sqs. Unsupported source arn : {source}"
        ))
    })?;
    let starting_position = match (kind, input.starting_position.as_deref()) {
        (SourceKind::Sqs, Some(_)) => {
            return Err(LambdaError::InvalidParameter(
                "Unsupported starting position for the given event source type.".into(),
            ))
        }
        (SourceKind::Sqs, None) => None,
        (SourceKind::DynamoDb, None) => {
            return Err(LambdaError::InvalidParameter(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null".into(),
            ))
        }
        (SourceKind::DynamoDb, Some(p @ ("TRIM_HORIZON" | "LATEST"))) => Some(p.to_string()),
        (SourceKind::DynamoDb, Some("AT_TIMESTAMP")) => {
            return Err(LambdaError::InvalidParameter(
                "Unsupported starting position for the given event source type.".into(),
            ))
        }
        (_, Some(p)) => {
            return Err(validation(
                p,
                "startingPosition",
                "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
            ))
        }
    };
    let _ = &input.starting_position_timestamp;
    if kind == SourceKind::Sqs {
        let queues = l
            .queues
            .get()
            .ok_or_else(|| LambdaError::InvalidParameter("SQS is not available".into()))?;
        let info = queues.queue(&source).ok_or_else(|| {
            LambdaError::InvalidParameter(format!(
                "Error occurred while ReceiveMessage. SQSError: Queue does not exist: {source}"
            ))
        })?;
        if info.fifo && input.batch_size.is_some_and(|b| b > 10) {
            return Err(LambdaError::InvalidParameter(
                "Batch size for SQS FIFO queues must be between 1 and 10".into(),
            ));
        }
    }
    // Where a LATEST mapping starts: after what the stream holds now.
    let mut start_at = Vec::new();
    if kind == SourceKind::DynamoDb {
        let reader = l.stream_reader.get().ok_or_else(|| {
            LambdaError::InvalidParameter("DynamoDB Streams are not available".into())
        })?;
        let shards = reader
            .shards(&source)
            .map_err(|_| LambdaError::InvalidParameter(format!("Stream not found: {source}")))?;
        if starting_position.as_deref() == Some("LATEST") {
            for s in shards {
                if let Ok(Some(seq)) = reader.latest(&source, &s.shard_id) {
                    start_at.push((s.shard_id, seq));
                }
            }
        }
    }
    let mut m = Mapping {
        uuid: serval_core::ids::uuid_v4(),
        account: key.account.clone(),
        region: key.region.clone(),
        function: key.name.clone(),
        qualifier: fref.qualifier.clone(),
        source_arn: source.clone(),
        kind,
        enabled: true,
        batch_size: kind.default_batch(),
        window_secs: 0,
        starting_position,
        max_retry_attempts: -1,
        max_record_age_secs: -1,
        bisect: false,
        parallelization: 1,
        on_failure: None,
        report_item_failures: false,
        filter_criteria: None,
        max_concurrency: None,
        tumbling_window_secs: None,
        last_modified: l.clock.now_millis() as f64 / 1000.0,
        last_result: "No records processed".into(),
    };
    apply(&mut m, &input)?;
    if let Some(other) = all(l).into_iter().find(|o| {
        o.account == m.account
            && o.region == m.region
            && o.source_arn == m.source_arn
            && o.function == m.function
            && o.qualifier == m.qualifier
    }) {
        return Err(LambdaError::Conflict(format!(
            "The event source arn (\" {} \") and function (\" {} \") provided mapping already exists. Please update or delete the existing mapping with UUID {}",
            m.source_arn, m.function, other.uuid
        )));
    }
    save(l, &m).await?;
    let positions: Vec<Op> = start_at
        .into_iter()
        .map(|(shard, seq)| Op::Put {
            ks: KS_POS,
            key: format!("{}/{shard}", m.uuid).into_bytes(),
            value: seq.to_string().into_bytes(),
        })
        .collect();
    if !positions.is_empty() {
        l.store
            .write(positions)
            .await
            .map_err(|e| LambdaError::Internal(e.to_string()))?;
    }
    let state = if m.enabled { "Creating" } else { "Disabled" };
    let out = m.render(state);
    start_poller(l, m);
    Ok(Response::json(202, &out))
}

fn state_of(m: &Mapping) -> &'static str {
    if m.enabled {
        "Enabled"
    } else {
        "Disabled"
    }
}

fn owned(m: &Mapping, ctx: &RequestContext) -> bool {
    m.account == ctx.account_id && m.region == ctx.region
}

/// GetEventSourceMapping.
pub fn get(l: &Lambda, ctx: &RequestContext, uuid: &str) -> Result<Response> {
    let m = load(l, uuid)?
        .filter(|m| owned(m, ctx))
        .ok_or_else(not_found)?;
    Ok(Response::json(200, &m.render(state_of(&m))))
}

/// UpdateEventSourceMapping.
pub async fn update(
    l: &Lambda,
    ctx: &RequestContext,
    uuid: &str,
    input: MappingInput,
) -> Result<Response> {
    let mut m = load(l, uuid)?
        .filter(|m| owned(m, ctx))
        .ok_or_else(not_found)?;
    if let Some(f) = &input.function_name {
        let fref = FunctionRef::parse(f)?;
        let key = l.key(ctx, &fref)?;
        crate::invoke::resolve(l, &key, fref.qualifier.as_deref())?;
        m.function = key.name;
        m.qualifier = fref.qualifier;
    }
    if input.starting_position.is_some() {
        return Err(LambdaError::InvalidParameter(
            "StartingPosition cannot be updated.".into(),
        ));
    }
    apply(&mut m, &input)?;
    m.last_modified = l.clock.now_millis() as f64 / 1000.0;
    save(l, &m).await?;
    l.esm.stop(&m.uuid);
    let out = m.render("Updating");
    start_poller(l, m);
    Ok(Response::json(202, &out))
}

/// DeleteEventSourceMapping.
pub async fn delete(l: &Lambda, ctx: &RequestContext, uuid: &str) -> Result<Response> {
    let m = load(l, uuid)?
        .filter(|m| owned(m, ctx))
        .ok_or_else(not_found)?;
    l.esm.stop(uuid);
    l.store
        .write(vec![
            Op::Delete {
                ks: KS,
                key: uuid.as_bytes().to_vec(),
            },
            Op::DeletePrefix {
                ks: KS_POS,
                prefix: format!("{uuid}/").into_bytes(),
            },
        ])
        .await
        .map_err(|e| LambdaError::Internal(e.to_string()))?;
    Ok(Response::json(202, &m.render("Deleting")))
}

/// ListEventSourceMappings.
pub fn list(
    l: &Lambda,
    ctx: &RequestContext,
    source: Option<&str>,
    function: Option<&str>,
    page: &Page,
) -> Result<Response> {
    let fname = match function {
        Some(f) => Some(FunctionRef::parse(f)?),
        None => None,
    };
    let mut items: Vec<Mapping> = all(l)
        .into_iter()
        .filter(|m| owned(m, ctx))
        .filter(|m| source.is_none_or(|s| m.source_arn == s))
        .filter(|m| {
            fname.as_ref().is_none_or(|f| {
                m.function == f.name && (f.qualifier.is_none() || m.qualifier == f.qualifier)
            })
        })
        .collect();
    items.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    let rendered = items.iter().map(|m| m.render(state_of(m))).collect();
    crate::ops::page_response("EventSourceMappings", rendered, page)
}

/// Starts the poller of an enabled mapping.
fn start_poller(l: &Lambda, m: Mapping) {
    if !m.enabled {
        return;
    }
    let Some(me) = l.me.get().and_then(std::sync::Weak::upgrade) else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    l.esm.running().insert(m.uuid.clone(), stop.clone());
    match m.kind {
        SourceKind::DynamoDb => {
            tokio::spawn(stream::run(Arc::downgrade(&me), m, stop));
        }
        SourceKind::Sqs => sqs::start(Arc::downgrade(&me), m, stop),
    }
}

/// Starts the pollers of every stored, enabled mapping (at start).
pub(crate) fn restore(l: &Lambda) {
    for m in all(l) {
        start_poller(l, m);
    }
}

/// Whether a record passes the mapping's filters (any of them).
fn passes(filters: &[serval_core::pattern::Pattern], record: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(record))
}

/// Records the outcome of the last batch.
async fn set_result(l: &Lambda, uuid: &str, result: &str) {
    if let Ok(Some(mut m)) = load(l, uuid) {
        if m.last_result != result {
            m.last_result = result.to_string();
            let _ = save(l, &m).await;
        }
    }
}
