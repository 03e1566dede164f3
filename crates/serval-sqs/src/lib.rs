//! Amazon SQS for Serval: standard and FIFO queues on Serval's durable store,
//! spoken in the JSON protocol (`X-Amz-Target: AmazonSQS.<Op>`, today's SDKs)
//! and the query protocol (`Action=<Op>` form requests answered in XML, older
//! SDKs), both decoded into one typed operation ([`ops::Op`]).
//!
//! Each queue lives in memory ([`queue::QueueState`], behind its own lock)
//! and in the store. A send takes the queue's lock, adds the message and
//! submits its record to the store while holding the lock (so the store's
//! order is memory's), then waits for the commit before answering: an
//! acknowledged SendMessage survives `kill -9`. Deletes wait for their commit
//! too; receives and visibility changes record the receive state without
//! waiting (a crash may forget the latest receive, so the message is
//! delivered again: at-least-once, as SQS). Times are platform time from the
//! injected [`Clock`] (`serval serve --time-scale`). It does not own other
//! services: they reach queues through [`serval_core::Queues`], implemented
//! by [`SqsQueues`].

pub mod attrs;
pub mod error;
pub mod md5;
pub mod names;
pub mod ops;
pub mod protocol;
pub mod queue;
pub mod queues_impl;
pub mod receipt;
pub mod store;

use crate::error::{no_queue, Result};
use crate::queue::QueueState;
use serde::{Deserialize, Serialize};
use serval_core::{Clock, RequestContext};
use serval_store::Store;
use serval_wire::{Protocol, Request, Service, ServiceFuture};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

pub use names::UrlStyle;
pub use queues_impl::SqsQueues;

/// Settings.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    /// The port Serval listens on (it appears in queue URLs).
    pub port: u16,
    /// Host-style or path-style queue URLs.
    pub url_style: UrlStyle,
}

impl Default for SqsConfig {
    fn default() -> Self {
        SqsConfig {
            port: 4566,
            url_style: UrlStyle::Host,
        }
    }
}

pub use serval_core::Permission;

/// A queue's definition as the store keeps it (`sqs_queue`), version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueMeta {
    /// Record version (1).
    pub v: u32,
    /// Unique id of this incarnation of the queue (a re-created queue gets a new one).
    pub uid: String,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Name.
    pub name: String,
    /// CreatedTimestamp, epoch seconds.
    pub created: u64,
    /// LastModifiedTimestamp, epoch seconds.
    pub modified: u64,
    /// Settable attributes with their values.
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// AddPermission records.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// The mutable parts of a queue, under one lock.
#[derive(Debug)]
pub struct Inner {
    /// Definition.
    pub meta: QueueMeta,
    /// Messages.
    pub st: QueueState,
}

/// One queue.
#[derive(Debug)]
pub struct Queue {
    /// Incarnation id.
    pub uid: String,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Whether it is FIFO (fixed at creation).
    pub fifo: bool,
    inner: Mutex<Inner>,
    /// Wakes long-polling receivers when messages arrive or become visible.
    pub notify: tokio::sync::Notify,
}

impl Queue {
    fn new(meta: QueueMeta) -> Arc<Queue> {
        let cfg = attrs::Config::of(&meta.attributes);
        Arc::new(Queue {
            uid: meta.uid.clone(),
            account: meta.account.clone(),
            region: meta.region.clone(),
            name: meta.name.clone(),
            arn: names::queue_arn(&meta.region, &meta.account, &meta.name),
            fifo: cfg.fifo,
            inner: Mutex::new(Inner {
                meta,
                st: {
                    let mut st = QueueState::new(cfg);
                    // Sequence numbers grow across restarts (and re-creations):
                    // they start from the wall clock, and loading moves them
                    // past every stored message.
                    st.next_seq = serval_core::SystemClock.now_millis() << 10;
                    st
                },
            }),
            notify: tokio::sync::Notify::new(),
        })
    }

    /// Exclusive access to the queue's state.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type QueueKey = (String, String, String);

/// The SQS service's state.
pub struct Sqs {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: SqsConfig,
    queues: RwLock<HashMap<QueueKey, Arc<Queue>>>,
    pub(crate) tasks: Mutex<Vec<ops::moves::MoveTask>>,
}

impl Sqs {
    /// Loads every queue and its messages from the store.
    pub fn start(store: Store, clock: Arc<dyn Clock>, config: SqsConfig) -> Result<Arc<Self>> {
        let now = clock.now_millis();
        let mut queues = HashMap::new();
        for q in store::load(&store, now)? {
            queues.insert((q.account.clone(), q.region.clone(), q.name.clone()), q);
        }
        Ok(Arc::new(Sqs {
            store,
            clock,
            config,
            queues: RwLock::new(queues),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    /// Starts the background sweeper: retention expiry and FIFO
    /// deduplication windows of idle queues, and dead-letter move tasks.
    pub fn spawn_background(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let every = Duration::from_millis(500);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(sqs) = me.upgrade() else { return };
                sqs.sweep();
                ops::moves::step(&sqs).await;
            }
        });
    }

    /// Platform now, in ms.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Expires old messages and dedup ids of every queue.
    fn sweep(&self) {
        let now = self.now();
        for q in self.all_queues() {
            let mut inner = q.lock();
            inner.st.release(now);
            let gone = inner.st.expire(now);
            let dedups = inner.st.expire_dedup(now);
            let ops = store::expiry_ops(&q.uid, &gone, &dedups);
            if !ops.is_empty() {
                self.store.write_detached(ops);
            }
        }
    }

    /// The URL of a queue as this server writes it.
    pub fn url_of(&self, q: &Queue) -> String {
        names::queue_url(
            self.config.url_style,
            self.config.port,
            &q.region,
            &q.account,
            &q.name,
        )
    }

    /// The queue a `QueueUrl` names, for this caller. The account and region
    /// in the URL win over the caller's: a URL naming another account's queue
    /// reaches it (queue policies are recorded, not enforced, as elsewhere in
    /// Serval until IAM is).
    pub(crate) fn by_url(&self, ctx: &RequestContext, url: &str) -> Result<Arc<Queue>> {
        let (region, account, name) = names::parse_queue_url(url).ok_or_else(no_queue)?;
        let key = (
            account.unwrap_or_else(|| ctx.account_id.clone()),
            region.unwrap_or_else(|| ctx.region.clone()),
            name,
        );
        self.read_queues().get(&key).cloned().ok_or_else(no_queue)
    }

    /// The queue with this ARN.
    pub(crate) fn by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let (region, account, name) = names::parse_arn(arn)?;
        self.read_queues()
            .get(&(account.to_string(), region.to_string(), name.to_string()))
            .cloned()
    }

    /// The queue called `name` in an account and region.
    pub(crate) fn by_name(&self, account: &str, region: &str, name: &str) -> Option<Arc<Queue>> {
        self.read_queues()
            .get(&(account.to_string(), region.to_string(), name.to_string()))
            .cloned()
    }

    fn read_queues(&self) -> std::sync::RwLockReadGuard<'_, HashMap<QueueKey, Arc<Queue>>> {
        self.queues.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_queues(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<QueueKey, Arc<Queue>>> {
        self.queues.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues of an account and region, sorted by name.
    pub(crate) fn queues_of(&self, account: &str, region: &str) -> Vec<Arc<Queue>> {
        let mut v: Vec<Arc<Queue>> = self
            .read_queues()
            .values()
            .filter(|q| q.account == account && q.region == region)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub(crate) fn all_queues(&self) -> Vec<Arc<Queue>> {
        self.read_queues().values().cloned().collect()
    }
}

/// The service behind the edge (signing name `sqs`, JSON and query protocols).
pub struct SqsService(pub Arc<Sqs>);

impl Service for SqsService {
    fn signing_name(&self) -> &'static str {
        "sqs"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson10
    }

    fn owns(&self, req: &Request) -> bool {
        protocol::is_sqs_request(req)
    }

    fn claims(&self, req: &Request) -> bool {
        protocol::is_sqs_host(req)
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move { Ok(protocol::handle(&self.0, ctx, req).await) })
    }
}
