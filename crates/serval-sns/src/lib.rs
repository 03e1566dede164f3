//! Amazon SNS for Serval: standard and FIFO topics, subscriptions (sqs,
//! lambda, http, https, email, email-json), Publish/PublishBatch with
//! message attributes and `MessageStructure=json`, filter policies on
//! attributes and bodies, raw delivery, delivery retries and subscription
//! dead-letter queues, spoken in the query protocol (`Action=...`, XML).
//!
//! Topics and subscriptions are held in memory behind one lock and written
//! through to the store before a change is acknowledged. A Publish turns
//! into one delivery job per matching subscription, committed to the store
//! before Publish answers (so an accepted message survives `kill -9`); the
//! delivery engine ([`delivery`]) works the jobs off asynchronously,
//! at-least-once, with SNS's retry policies on the injected [`Clock`].
//! Email goes to a local mailbox in the store (`serval mail`).
//!
//! It does not import other services: queues are reached through
//! [`serval_core::Queues`], functions through [`serval_core::EventSink`].

pub mod delivery;
pub mod error;
pub mod filter;
pub mod http;
pub mod message;
pub mod ops;
pub mod protocol;
pub mod store;

use crate::error::{invalid, no_subscription, no_topic, Kind, Result, SnsError};
use crate::filter::{Policy, Scope};
use crate::store::{SubRecord, TopicRecord};
use serval_core::{Clock, EventSink, Queues, RequestContext};
use serval_store::Store;
use serval_wire::{Protocol, Request, Service, ServiceFuture};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Settings.
#[derive(Debug, Clone)]
pub struct SnsConfig {
    /// Serval's endpoint as subscribers reach it (SubscribeURL, UnsubscribeURL).
    pub endpoint_url: String,
}

/// A subscription in memory: its record and its compiled filter policy.
#[derive(Debug, Clone)]
pub struct Sub {
    /// The record.
    pub rec: SubRecord,
    /// The filter policy and its scope.
    pub filter: Option<(Policy, Scope)>,
}

impl Sub {
    /// Compiles the record's filter policy (already validated when set).
    pub fn new(rec: SubRecord) -> Sub {
        let scope = rec
            .attributes
            .get("FilterPolicyScope")
            .and_then(|s| Scope::parse(s))
            .unwrap_or(Scope::MessageAttributes);
        let filter = rec
            .attributes
            .get("FilterPolicy")
            .filter(|p| !p.trim().is_empty())
            .and_then(|p| Policy::parse(p, scope).ok())
            .map(|p| (p, scope));
        Sub { rec, filter }
    }
}

/// Topics and subscriptions.
#[derive(Debug, Default)]
pub struct State {
    /// Topics by ARN.
    pub topics: BTreeMap<String, TopicRecord>,
    /// Subscriptions by ARN.
    pub subs: BTreeMap<String, Sub>,
}

/// A remembered FIFO deduplication id: (expires ms, message id, sequence number).
type DedupEntry = (u64, String, String);

/// The SNS service.
pub struct Sns {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) links: message::Links,
    state: Mutex<State>,
    queues: OnceLock<Arc<dyn Queues>>,
    sink: OnceLock<Arc<dyn EventSink>>,
    pub(crate) engine: delivery::Engine,
    pub(crate) http: http::Client,
    pub(crate) dedup: Mutex<HashMap<(String, String), DedupEntry>>,
    seq: AtomicU64,
}

/// The parts of a topic ARN.
pub(crate) struct TopicArn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

/// Splits `arn:aws:sns:<region>:<account>:<name>`.
pub(crate) fn parse_topic_arn(arn: &str) -> Option<TopicArn<'_>> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "sns", region, account, name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some(TopicArn {
                region,
                account,
                name,
            })
        }
        _ => None,
    }
}

impl Sns {
    /// Loads topics, subscriptions and pending deliveries from the store.
    pub fn start(store: Store, clock: Arc<dyn Clock>, config: SnsConfig) -> Result<Arc<Self>> {
        let mut state = State::default();
        for t in store::load_all::<TopicRecord>(&store, store::KS_TOPICS)? {
            state.topics.insert(t.arn.clone(), t);
        }
        for s in store::load_all::<SubRecord>(&store, store::KS_SUBS)? {
            state.subs.insert(s.arn.clone(), Sub::new(s));
        }
        let jobs = store::load_all::<store::Job>(&store, store::KS_JOBS)?;
        let mails = store::load_all::<store::Mail>(&store, store::KS_MAIL)?;
        let max_seq = jobs
            .iter()
            .map(|j| j.seq)
            .chain(mails.iter().map(|m| m.seq))
            .max()
            .unwrap_or(0);
        // Sequence numbers grow across restarts: from the wall clock, and past
        // everything stored.
        let seq0 = (serval_core::SystemClock.now_millis() << 12).max(max_seq + 1);
        let secret = serval_core::ids::random_hex(16);
        let engine = delivery::Engine::new();
        engine.load(jobs);
        Ok(Arc::new(Sns {
            store,
            clock,
            links: message::Links {
                endpoint: config.endpoint_url.trim_end_matches('/').to_string(),
                secret,
            },
            state: Mutex::new(state),
            queues: OnceLock::new(),
            sink: OnceLock::new(),
            engine,
            http: http::Client::new(),
            dedup: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(seq0),
        }))
    }

    /// Sets how SNS reaches SQS queues.
    pub fn set_queues(&self, queues: Arc<dyn Queues>) {
        let _ = self.queues.set(queues);
    }

    /// Sets how SNS reaches other resources by ARN (Lambda functions).
    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) {
        let _ = self.sink.set(sink);
    }

    pub(crate) fn queues(&self) -> Option<&Arc<dyn Queues>> {
        self.queues.get()
    }

    pub(crate) fn sink(&self) -> Option<&Arc<dyn EventSink>> {
        self.sink.get()
    }

    /// Starts the delivery engine.
    pub fn spawn_background(self: &Arc<Self>) {
        delivery::spawn(self);
    }

    /// Deliveries waiting for their (next) attempt; those running now are not counted.
    pub fn engine_pending(&self) -> usize {
        self.engine.pending()
    }

    /// Platform now, ms.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// A fresh sequence number (jobs, mails, FIFO sequence numbers).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Exclusive access to topics and subscriptions (never held across an await).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The topic an ARN names, for this caller: a malformed ARN or another
    /// region's is InvalidParameter, another account's is AuthorizationError
    /// unless AddPermission granted the caller's account.
    pub(crate) fn check_topic_arn(
        &self,
        st: &State,
        ctx: &RequestContext,
        arn: &str,
        action: &str,
        param: &str,
    ) -> Result<()> {
        let Some(parts) = parse_topic_arn(arn) else {
            return Err(invalid(param));
        };
        if parts.region != ctx.region {
            return Err(invalid(param));
        }
        let topic = st.topics.get(arn).ok_or_else(no_topic)?;
        if parts.account != ctx.account_id
            && !topic
                .permissions
                .iter()
                .any(|p| p.accounts.iter().any(|a| a == &ctx.account_id || a == "*"))
        {
            return Err(SnsError::new(
                Kind::AuthorizationError,
                format!(
                    "User: arn:aws:iam::{}:root is not authorized to perform: SNS:{action} on resource: {arn}",
                    ctx.account_id
                ),
            ));
        }
        Ok(())
    }

    /// A subscription by ARN (pending or confirmed).
    pub(crate) fn check_sub_arn(&self, st: &State, arn: &str) -> Result<()> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 7 || parts[0] != "arn" || parts[2] != "sns" {
            return Err(invalid("SubscriptionArn"));
        }
        if !st.subs.contains_key(arn) {
            return Err(no_subscription());
        }
        Ok(())
    }

    /// Mails in the local mailbox, oldest first, optionally only those to `to`.
    pub fn mail(&self, to: Option<&str>) -> Vec<store::Mail> {
        match store::load_all::<store::Mail>(&self.store, store::KS_MAIL) {
            Ok(all) => all
                .into_iter()
                .filter(|m| to.is_none_or(|t| m.to.eq_ignore_ascii_case(t)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "reading the SNS mailbox");
                Vec::new()
            }
        }
    }

    /// Publishes on behalf of another service (Lambda destinations and dead
    /// letters through the binary's event router): `attributes` become
    /// message attributes. Returns the message id.
    pub async fn publish_from_service(
        &self,
        topic_arn: &str,
        message: String,
        attributes: Vec<(String, String, String)>,
    ) -> std::result::Result<String, serval_core::AwsError> {
        let parts = parse_topic_arn(topic_arn).ok_or_else(|| invalid("TopicArn"))?;
        let ctx = RequestContext {
            account_id: parts.account.to_string(),
            region: parts.region.to_string(),
            access_key_id: String::new(),
            request_id: serval_core::ids::request_id(),
        };
        let attrs = attributes
            .into_iter()
            .map(|(name, ty, value)| {
                (
                    name,
                    message::AttrIn {
                        data_type: ty,
                        string_value: Some(value),
                        binary_value: None,
                    },
                )
            })
            .collect();
        let input = ops::PublishIn {
            topic_arn: Some(topic_arn.to_string()),
            message,
            message_attributes: attrs,
            ..Default::default()
        };
        let out = ops::publish::publish(self, &ctx, input).await?;
        Ok(out.message_id)
    }
}

/// The service behind the edge (signing name `sns`, query protocol).
pub struct SnsService(pub Arc<Sns>);

impl Service for SnsService {
    fn signing_name(&self) -> &'static str {
        "sns"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn owns(&self, req: &Request) -> bool {
        protocol::is_sns_request(req)
    }

    fn requires_auth(&self, req: &Request) -> bool {
        !protocol::is_public_action(req)
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move { Ok(protocol::handle(&self.0, ctx, req).await) })
    }
}
