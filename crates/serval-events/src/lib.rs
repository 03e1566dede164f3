//! Amazon EventBridge (`events`, JSON 1.1) and EventBridge Scheduler
//! (`scheduler`, REST-JSON) for Serval: event buses, rules with event
//! patterns ([`pattern`]), targets with input transformers
//! ([`transform`]), PutEvents, scheduled rules and schedules
//! ([`schedule`], fired by [`timer`]).
//!
//! It does not deliver anything itself: matched events and fired schedules
//! go to their targets through [`serval_core::EventSink`], which the binary
//! routes by ARN (Lambda, SQS, SNS, another bus). Other services put events
//! on a bus through the same trait ([`Events::put_from_service`]).
//!
//! State is held in memory behind one lock and written through to the
//! store before a change is acknowledged (keyspaces `events_bus`,
//! `events_rule` with the rule's targets inside, `sched_group`,
//! `sched_schedule`).

pub mod api;
pub mod error;
pub mod model;
pub mod ops;
pub use serval_core::pattern;
pub mod schedule;
pub mod scheduler;
pub mod timer;
pub mod transform;

use crate::error::Result;
use crate::model::{Bus, Group, Rule, Schedule};
use serval_core::{Clock, EventSink, RequestContext, SystemClock};
use serval_store::{Op, Store};
use serval_wire::shapes::{Model, ShapeError};
use serval_wire::{Protocol, Request, Response, Service, ServiceFuture};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

pub(crate) const KS_BUS: &str = "events_bus";
pub(crate) const KS_RULE: &str = "events_rule";
pub(crate) const KS_GROUP: &str = "sched_group";
pub(crate) const KS_SCHEDULE: &str = "sched_schedule";

/// Settings.
#[derive(Clone)]
pub struct EventsConfig {
    /// Platform time (a faster clock makes schedules fire proportionally sooner).
    pub clock: Arc<dyn Clock>,
    /// How often (real time) the timer looks for due schedules.
    pub tick: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            clock: Arc::new(SystemClock),
            tick: Duration::from_millis(200),
        }
    }
}

/// `(account, region, name)`.
pub(crate) type Key3 = (String, String, String);
/// `(account, region, bus or group, name)`.
pub(crate) type Key4 = (String, String, String, String);

/// Everything the service holds.
#[derive(Default)]
pub(crate) struct State {
    pub buses: BTreeMap<Key3, Bus>,
    pub rules: BTreeMap<Key4, Rule>,
    pub groups: BTreeMap<Key3, Group>,
    pub schedules: BTreeMap<Key4, Schedule>,
}

/// The EventBridge and Scheduler services' state.
pub struct Events {
    pub(crate) store: Store,
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: EventsConfig,
    pub(crate) sink: OnceLock<Arc<dyn EventSink>>,
    /// Next firing (platform epoch ms) of each scheduled rule and schedule, by ARN.
    pub(crate) next_fire: Mutex<HashMap<String, (i64, i64)>>,
    pub(crate) wake: tokio::sync::Notify,
    /// Compiled event patterns by their text (rules share the cache).
    patterns: Mutex<HashMap<String, Arc<pattern::Pattern>>>,
}

pub(crate) fn key_bus(b: &Bus) -> Vec<u8> {
    format!("{}/{}/{}", b.account, b.region, b.name).into_bytes()
}

pub(crate) fn key_rule(r: &Rule) -> Vec<u8> {
    format!("{}/{}/{}/{}", r.account, r.region, r.bus, r.name).into_bytes()
}

pub(crate) fn key_group(g: &Group) -> Vec<u8> {
    format!("{}/{}/{}", g.account, g.region, g.name).into_bytes()
}

pub(crate) fn key_schedule(s: &Schedule) -> Vec<u8> {
    format!("{}/{}/{}/{}", s.account, s.region, s.group, s.name).into_bytes()
}

/// A store write of a serialisable record.
pub(crate) fn put_op<T: serde::Serialize>(ks: &'static str, key: Vec<u8>, value: &T) -> Op {
    Op::Put {
        ks,
        key,
        value: serde_json::to_vec(value).unwrap_or_default(),
    }
}

fn load<T: serde::de::DeserializeOwned>(store: &Store, ks: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(ks, b"", after.as_deref(), 1_000)?;
        let done = page.len() < 1_000;
        after = page.last().map(|(k, _)| k.clone());
        for (k, v) in page {
            match serde_json::from_slice::<T>(&v) {
                Ok(r) => out.push(r),
                Err(e) => {
                    tracing::error!(keyspace = ks, key = %String::from_utf8_lossy(&k), error = %e, "unreadable record skipped")
                }
            }
        }
        if done {
            return Ok(out);
        }
    }
}

impl Events {
    /// Loads buses, rules, groups and schedules from the store.
    pub fn start(store: Store, config: EventsConfig) -> Result<Arc<Self>> {
        let mut st = State::default();
        for b in load::<Bus>(&store, KS_BUS)?
            .into_iter()
            .filter(|b| b.v == 1)
        {
            st.buses
                .insert((b.account.clone(), b.region.clone(), b.name.clone()), b);
        }
        for r in load::<Rule>(&store, KS_RULE)?
            .into_iter()
            .filter(|r| r.v == 1)
        {
            st.rules.insert(
                (
                    r.account.clone(),
                    r.region.clone(),
                    r.bus.clone(),
                    r.name.clone(),
                ),
                r,
            );
        }
        for g in load::<Group>(&store, KS_GROUP)?
            .into_iter()
            .filter(|g| g.v == 1)
        {
            st.groups
                .insert((g.account.clone(), g.region.clone(), g.name.clone()), g);
        }
        for s in load::<Schedule>(&store, KS_SCHEDULE)?
            .into_iter()
            .filter(|s| s.v == 1)
        {
            st.schedules.insert(
                (
                    s.account.clone(),
                    s.region.clone(),
                    s.group.clone(),
                    s.name.clone(),
                ),
                s,
            );
        }
        Ok(Arc::new(Events {
            store,
            state: Mutex::new(st),
            clock: config.clock.clone(),
            config,
            sink: OnceLock::new(),
            next_fire: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            patterns: Mutex::new(HashMap::new()),
        }))
    }

    /// Sets where matched events and fired schedules are delivered.
    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) {
        let _ = self.sink.set(sink);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Writes `ops`, submitted while the caller still holds the state lock
    /// (so the store's order is memory's order); await the result after
    /// releasing it.
    pub(crate) fn submit(&self, ops: Vec<Op>) -> Result<serval_store::Pending> {
        Ok(self.store.submit(ops)?)
    }

    /// A rule's pattern, compiled once per distinct text.
    pub(crate) fn compiled(
        &self,
        text: &str,
    ) -> std::result::Result<Arc<pattern::Pattern>, String> {
        let mut cache = self.patterns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(text) {
            return Ok(p.clone());
        }
        let p = Arc::new(pattern::Pattern::parse(text)?);
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(text.to_string(), p.clone());
        Ok(p)
    }

    /// Forgets the computed next firing of a rule or schedule (it changed).
    pub(crate) fn reschedule(&self, arn: &str) {
        self.next_fire
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(arn);
        self.wake.notify_one();
    }

    async fn handle_events(&self, ctx: RequestContext, req: Request) -> Result<Response> {
        let target = req.header("x-amz-target").unwrap_or_default().to_string();
        let Some(op) = target.strip_prefix("AWSEvents.") else {
            return Err(error::err(
                "UnknownOperationException",
                format!("Unknown operation {target}"),
            ));
        };
        let body = parse_body(&req.body)?;
        check_shape(events_model(), op, &body)?;
        let out = ops::dispatch(self, &ctx, api::EventsOp::parse(op, body)?).await?;
        let bytes = serde_json::to_vec(&out).unwrap_or_default();
        Ok(Response::bytes(
            200,
            "application/x-amz-json-1.1",
            bytes::Bytes::from(bytes),
        ))
    }
}

/// The JSON body of a request (`{}` when empty).
pub(crate) fn parse_body(raw: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice(raw) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(error::err(
            "SerializationException",
            "Start of structure or map found where not expected.",
        )),
    }
}

fn events_model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        Model::parse(include_str!("../model/events.json")).expect("the embedded model parses")
    })
}

pub(crate) fn scheduler_model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        Model::parse(include_str!("../model/scheduler.json")).expect("the embedded model parses")
    })
}

/// Checks a body against the model: wrong types are a
/// SerializationException, constraint violations one ValidationException.
pub(crate) fn check_shape(
    model: &Model,
    op: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    match model.check(op, body) {
        Ok(()) => Ok(()),
        Err(ShapeError::Serialization(m)) => Err(error::err("SerializationException", m)),
        Err(ShapeError::Invalid(e)) => Err(error::validation(ShapeError::violations_message(&e))),
    }
}

/// EventBridge behind the edge (signing name `events`).
pub struct EventsService(pub Arc<Events>);

impl Service for EventsService {
    fn signing_name(&self) -> &'static str {
        "events"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson11
    }

    fn owns(&self, req: &Request) -> bool {
        req.header("x-amz-target")
            .is_some_and(|t| t.starts_with("AWSEvents."))
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move { self.0.handle_events(ctx, req).await })
    }
}

/// EventBridge Scheduler behind the edge (signing name `scheduler`).
pub struct SchedulerService(pub Arc<Events>);

impl Service for SchedulerService {
    fn signing_name(&self) -> &'static str {
        "scheduler"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn owns(&self, req: &Request) -> bool {
        req.path.starts_with("/schedules")
            || req.path.starts_with("/schedule-groups")
            || req.path.starts_with("/tags/arn%3Aaws%3Ascheduler")
            || req.path.starts_with("/tags/arn:aws:scheduler")
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move { scheduler::handle(&self.0, ctx, req).await })
    }
}
