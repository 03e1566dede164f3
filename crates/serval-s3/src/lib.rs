//! Amazon S3 for Serval: buckets and objects on local disk behind S3's
//! REST-XML API (path-style and virtual-hosted addressing, aws-chunked
//! uploads, checksums, multipart uploads, presigned URLs), with event
//! notifications delivered through [`serval_core::EventSink`].
//!
//! Buckets live in memory and in the store (`s3_bucket`); object records
//! live only in the store (`s3_obj`, `s3_ver` for versions), each pointing
//! at immutable blob files under `<data>/s3/blobs` or carrying a small body
//! inline ([`blobs`]). A write commits the object record and its
//! notifications (`s3_outbox`) in one store batch after the body is on disk,
//! so a crash never shows a partial object and never loses an event.

pub mod addressing;
pub mod blobs;
pub mod checksum;
pub mod chunked;
pub mod error;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod ops;
pub mod post_policy;
pub mod presign;
pub mod xml;

use crate::model::BucketMeta;
use serval_core::{Clock, EventSink, RequestContext};
use serval_store::Store;
use serval_wire::{Protocol, Request, RequestBody, Service, ServiceFuture};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

/// Settings.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// Serval's data directory (blobs go under `s3/`).
    pub data_dir: PathBuf,
    /// fsync each body before it becomes visible (`--sync full`).
    pub fsync: bool,
}

/// Lock stripes that order writes to the same key.
const STRIPES: usize = 64;

/// The S3 service's state.
pub struct S3 {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) blobs: blobs::Blobs,
    buckets: RwLock<HashMap<String, Arc<BucketMeta>>>,
    stripes: Vec<Mutex<()>>,
    seq: AtomicU64,
    pub(crate) sink: OnceLock<Arc<dyn EventSink>>,
    pub(crate) outbox_wake: tokio::sync::Notify,
}

impl S3 {
    /// Loads buckets and removes blobs no record names (left by a crash).
    pub fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        config: S3Config,
    ) -> error::Result<Arc<Self>> {
        let blobs = blobs::Blobs::new(&config.data_dir, config.fsync).map_err(error::internal)?;
        let mut buckets = HashMap::new();
        for (_, v) in store.scan_all(model::KS_BUCKET, b"")? {
            if let Ok(b) = serde_json::from_slice::<BucketMeta>(&v) {
                buckets.insert(b.name.clone(), Arc::new(b));
            }
        }
        let mut live = std::collections::HashSet::new();
        for ks in [model::KS_OBJ, model::KS_VER] {
            for (_, v) in store.scan_all(ks, b"")? {
                if let Some((m, _)) = model::decode_obj(&v) {
                    live.extend(m.segments.into_iter().map(|s| s.blob));
                }
            }
        }
        for (_, v) in store.scan_all(model::KS_PART, b"")? {
            if let Ok(p) = serde_json::from_slice::<model::PartMeta>(&v) {
                live.insert(p.blob);
            }
        }
        let removed = blobs.collect_garbage(&live);
        if removed > 0 {
            tracing::info!(removed, "s3: removed blobs left by an interrupted write");
        }
        let seq = clock.now_millis().saturating_mul(1000);
        Ok(Arc::new(S3 {
            store,
            clock,
            blobs,
            buckets: RwLock::new(buckets),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            seq: AtomicU64::new(seq),
            sink: OnceLock::new(),
            outbox_wake: tokio::sync::Notify::new(),
        }))
    }

    /// Where notifications go (set once by the binary).
    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) {
        let _ = self.sink.set(sink);
    }

    /// Starts the notification deliverer and the lifecycle sweeper.
    pub fn spawn_background(self: &Arc<Self>) {
        notify::spawn(self);
        ops::lifecycle::spawn(self);
    }

    /// Platform now, ms.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// A sequence number that grows across restarts (version ids, sequencers).
    pub(crate) fn next_seq(&self) -> u64 {
        let floor = self.now().saturating_mul(1000);
        let mut cur = self.seq.load(Ordering::SeqCst);
        loop {
            let next = (cur + 1).max(floor);
            match self
                .seq
                .compare_exchange(cur, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The lock ordering writes to one key of one bucket.
    pub(crate) fn lock_key(&self, uid: &str, key: &str) -> MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        uid.hash(&mut h);
        key.hash(&mut h);
        let i = (h.finish() as usize) % STRIPES;
        self.stripes[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn bucket(&self, name: &str) -> Option<Arc<BucketMeta>> {
        self.buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    pub(crate) fn all_buckets(&self) -> Vec<Arc<BucketMeta>> {
        let mut v: Vec<_> = self
            .buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub(crate) fn buckets_mut(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<BucketMeta>>> {
        self.buckets.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The bucket, or NoSuchBucket.
    pub(crate) fn need_bucket(&self, name: &str) -> error::Result<Arc<BucketMeta>> {
        self.bucket(name).ok_or_else(|| error::no_such_bucket(name))
    }

    /// Replaces a bucket's record (configuration changes), durably.
    pub(crate) async fn update_bucket(
        &self,
        name: &str,
        f: impl FnOnce(&mut BucketMeta),
    ) -> error::Result<()> {
        let pending = {
            let mut map = self.buckets_mut();
            let Some(b) = map.get(name) else {
                return Err(error::no_such_bucket(name));
            };
            let mut nb = (**b).clone();
            f(&mut nb);
            let value = serde_json::to_vec(&nb).map_err(error::internal)?;
            map.insert(name.to_string(), Arc::new(nb));
            self.store.submit(vec![serval_store::Op::Put {
                ks: model::KS_BUCKET,
                key: name.as_bytes().to_vec(),
                value,
            }])?
        };
        pending.wait().await?;
        Ok(())
    }
}

/// The service behind the edge (signing name `s3`, REST-XML).
pub struct S3Service(pub Arc<S3>);

fn is_form_post(req: &Request) -> bool {
    req.method == http::Method::POST
        && req
            .header("content-type")
            .is_some_and(|c| c.starts_with("multipart/form-data"))
}

impl Service for S3Service {
    fn signing_name(&self) -> &'static str {
        "s3"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestXml
    }

    fn owns(&self, req: &Request) -> bool {
        req.query.contains("AWSAccessKeyId=")
            || (req.method == http::Method::OPTIONS
                && req.header("access-control-request-method").is_some())
            || (is_form_post(req) && !req.path.trim_matches('/').contains('/'))
    }

    fn claims(&self, req: &Request) -> bool {
        req.host().is_some_and(|h| addressing::is_s3_host(&h))
    }

    fn requires_auth(&self, req: &Request) -> bool {
        let website = req
            .host()
            .is_some_and(|h| addressing::host_bucket(&h, false).is_some_and(|(_, w)| w));
        !(website
            || is_form_post(req)
            || req.method == http::Method::OPTIONS
            || req.query.contains("AWSAccessKeyId="))
    }

    fn streams_body(&self, req: &Request) -> bool {
        req.method == http::Method::PUT || is_form_post(req)
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move {
            let body = RequestBody::from_bytes(req.body.clone());
            ops::handle(&self.0, ctx, req, body).await
        })
    }

    fn call_stream<'a>(
        &'a self,
        ctx: RequestContext,
        req: Request,
        body: RequestBody,
    ) -> ServiceFuture<'a> {
        Box::pin(async move { ops::handle(&self.0, ctx, req, body).await })
    }
}

/// S3 for other services (through [`serval_core::Objects`]).
pub struct S3Objects(pub Arc<S3>);

impl serval_core::Objects for S3Objects {
    fn read_object(
        &self,
        account: &str,
        _region: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        max_bytes: u64,
    ) -> serval_core::CallFuture<'_, bytes::Bytes> {
        let (account, bucket, key) = (account.to_string(), bucket.to_string(), key.to_string());
        let version = version.map(str::to_string);
        Box::pin(async move {
            let b = self.0.need_bucket(&bucket)?;
            if b.account != account {
                return Err(serval_core::AwsError::new(
                    "AccessDenied",
                    403,
                    "Access Denied",
                ));
            }
            let (meta, inline) = ops::objects::lookup(&self.0, &b, &key, version.as_deref())?;
            if meta.delete_marker {
                return Err(error::no_such_key(&key));
            }
            if meta.size > max_bytes {
                return Err(serval_core::AwsError::new(
                    "EntityTooLarge",
                    400,
                    "Your proposed upload exceeds the maximum allowed size",
                ));
            }
            if meta.segments.is_empty() {
                return Ok(inline);
            }
            let mut out = Vec::with_capacity(meta.size as usize);
            for s in &meta.segments {
                let part = tokio::fs::read(self.0.blobs.path(&s.blob))
                    .await
                    .map_err(error::internal)?;
                out.extend_from_slice(&part);
            }
            Ok(bytes::Bytes::from(out))
        })
    }
}
