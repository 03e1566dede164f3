//! AWS Lambda for Serval: the control plane (functions, versions, aliases,
//! concurrency, tags), the invoke frontend (sync, async, dry run), the
//! counting service, the worker manager and placement, the durable async
//! queue and function logs. Execution environments themselves are
//! `serval-sandbox`'s; HTTP is `serval-wire`'s.

pub mod api;
pub mod arn;
mod async_queue;
pub mod code;
pub mod counting;
pub mod error;
pub mod esm;
mod invoke;
pub mod invoker;
pub mod logs;
pub mod model;
mod ops;
pub mod placement;
pub mod registry;
pub mod workers;

use crate::api::LambdaOp;
use crate::code::CodeStore;
use crate::counting::Counting;
use crate::error::{LambdaError, Result};
use crate::logs::Logs;
use crate::registry::{FnKey, Registry};
use crate::workers::WorkerManager;
use serval_core::{AwsError, Clock, RequestContext};
use serval_sandbox::{Runtimes, Sandbox};
use serval_store::Store;
use serval_wire::{Protocol, Request, Response, Service, ServiceFuture};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the Lambda service.
#[derive(Clone)]
pub struct LambdaConfig {
    /// Where code packages are kept.
    pub code_dir: PathBuf,
    /// Serval's own URL, given to functions as `AWS_ENDPOINT_URL`.
    pub endpoint_url: String,
    /// Account-wide concurrency limit.
    pub account_concurrency: u32,
    /// How long an idle environment is kept.
    pub idle_timeout: Duration,
    /// Runtime cache (bootstraps, SDKs).
    pub runtime_cache: PathBuf,
    /// How environments are isolated.
    pub sandbox: Arc<dyn Sandbox>,
    /// Platform time (async retries and back-offs, event ages, polling
    /// windows, timestamps); scaled by `--time-scale`.
    pub clock: Arc<dyn Clock>,
}

/// The Lambda service.
pub struct Lambda {
    pub(crate) registry: Registry,
    pub(crate) code: CodeStore,
    pub(crate) counting: Arc<Counting>,
    pub(crate) workers: Arc<WorkerManager>,
    pub(crate) logs: Logs,
    pub(crate) config: LambdaConfig,
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) queue: async_queue::AsyncQueue,
    runtimes: Arc<Runtimes>,
    /// Where destination records and dead letters go (set by the binary).
    pub(crate) event_sink: std::sync::OnceLock<Arc<dyn serval_core::EventSink>>,
    /// S3, for code packages named by bucket and key (set by the binary).
    pub(crate) objects: std::sync::OnceLock<Arc<dyn serval_core::Objects>>,
    /// SQS, for event source mappings on queues (set by the binary).
    pub(crate) queues: std::sync::OnceLock<Arc<dyn serval_core::Queues>>,
    /// Change streams for event source mappings (set by the binary).
    pub(crate) stream_reader: std::sync::OnceLock<Arc<dyn serval_core::StreamReader>>,
    /// Running event source mapping pollers.
    pub(crate) esm: esm::Pollers,
    /// This service, for the background tasks its handlers start.
    pub(crate) me: std::sync::OnceLock<std::sync::Weak<Lambda>>,
}

impl Lambda {
    /// Loads Lambda's state from `store` and starts its background work
    /// (async queue, idle reaping, provisioned environments).
    pub fn start(store: Store, config: LambdaConfig) -> Result<Arc<Self>> {
        let runtimes = Arc::new(Runtimes::new(config.runtime_cache.clone()));
        let registry = Registry::load(store.clone())?;
        let counting = Counting::new(config.account_concurrency);
        for key in registry.keys() {
            let reserved = registry.read(&key, |f| f.and_then(|f| f.rec.reserved_concurrency));
            if reserved.is_some() {
                let _ = counting.set_reserved(&key.account, &key.region, &key.name, reserved);
            }
        }
        let workers = WorkerManager::new(
            runtimes.clone(),
            config.sandbox.clone(),
            placement::Placement::from_host(),
            config.idle_timeout,
        );
        let clock = config.clock.clone();
        let lambda = Arc::new(Self {
            registry,
            code: CodeStore::new(config.code_dir.clone()),
            counting,
            workers,
            logs: Logs::new(store.clone()),
            queue: async_queue::AsyncQueue::new(store.clone()),
            event_sink: std::sync::OnceLock::new(),
            stream_reader: std::sync::OnceLock::new(),
            queues: std::sync::OnceLock::new(),
            objects: std::sync::OnceLock::new(),
            esm: esm::Pollers::default(),
            me: std::sync::OnceLock::new(),
            config,
            store,
            clock,
            runtimes,
        });
        // Resolve interpreters in the background so the first cold start
        // does not pay for it.
        let rt = lambda.runtimes.clone();
        tokio::spawn(async move { rt.warm_up().await });
        let reaper = Arc::downgrade(&lambda);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(l) = reaper.upgrade() else { break };
                l.workers.reap_idle();
            }
        });
        let flusher = Arc::downgrade(&lambda);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(logs::FLUSH_EVERY);
            loop {
                tick.tick().await;
                let Some(l) = flusher.upgrade() else { break };
                l.logs.flush();
            }
        });
        let _ = lambda.me.set(Arc::downgrade(&lambda));
        async_queue::start(&lambda);
        ops::concurrency::restore_provisioned(&lambda);
        esm::restore(&lambda);
        Ok(lambda)
    }

    /// Sets where code packages named by S3 bucket and key are read (once).
    pub fn set_objects(&self, objects: Arc<dyn serval_core::Objects>) {
        let _ = self.objects.set(objects);
    }

    /// Sets the queues event source mappings poll (once).
    pub fn set_queues(&self, queues: Arc<dyn serval_core::Queues>) {
        let _ = self.queues.set(queues);
    }

    /// Sets the change streams event source mappings read (once).
    pub fn set_stream_reader(&self, reader: Arc<dyn serval_core::StreamReader>) {
        let _ = self.stream_reader.set(reader);
    }

    /// Sets where asynchronous invocations send their destination records
    /// and dead letters (once).
    pub fn set_event_sink(&self, sink: Arc<dyn serval_core::EventSink>) {
        let _ = self.event_sink.set(sink);
    }

    /// Queues an asynchronous invocation of `function` (name or ARN, with
    /// an optional qualifier) for another service, as Invoke with
    /// InvocationType Event does.
    pub async fn invoke_async(
        &self,
        account: &str,
        region: &str,
        function: &str,
        payload: String,
    ) -> std::result::Result<String, serval_core::AwsError> {
        let fref = arn::FunctionRef::parse(function)?;
        let key = FnKey {
            account: account.to_string(),
            region: region.to_string(),
            name: fref.name.clone(),
        };
        invoke::resolve(self, &key, fref.qualifier.as_deref())?;
        let request_id = serval_core::ids::uuid_v4();
        self.queue
            .enqueue(async_queue::AsyncEvent {
                account: key.account,
                region: key.region,
                function: key.name,
                qualifier: fref.qualifier,
                payload,
                request_id: request_id.clone(),
                attempt: 0,
                enqueued_at: self.clock.now_millis(),
                not_before: 0,
                throttles: 0,
            })
            .await?;
        Ok(request_id)
    }

    /// Stops every environment and commits buffered logs.
    pub async fn shutdown(&self) {
        self.workers.shutdown().await;
        self.logs.flush_sync();
    }

    /// Log events of a function's log group (for `serval logs`).
    pub fn read_logs(
        &self,
        account: &str,
        region: &str,
        function: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<logs::LogEvent>, Option<String>) {
        self.logs.read(
            account,
            region,
            &format!("/aws/lambda/{function}"),
            after,
            limit,
        )
    }

    /// Log events of any log group (API Gateway access logs, ...).
    pub fn read_log_group(
        &self,
        account: &str,
        region: &str,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<logs::LogEvent>, Option<String>) {
        self.logs.read(account, region, group, after, limit)
    }

    /// Reads an existing function (`ResourceNotFoundException` otherwise).
    pub(crate) fn read_function<T>(
        &self,
        key: &FnKey,
        f: impl FnOnce(&registry::Function) -> Result<T>,
    ) -> Result<T> {
        self.registry
            .read(key, |found| f(found.ok_or_else(|| not_found(key, None))?))
    }

    /// Changes an existing function (`ResourceNotFoundException` otherwise);
    /// `f` returns the new state (`None` deletes it) and its answer.
    pub(crate) async fn update_function<T>(
        &self,
        key: &FnKey,
        f: impl FnOnce(registry::Function) -> Result<(Option<registry::Function>, T)>,
    ) -> Result<T> {
        self.registry
            .update(key, |cur| f(cur.ok_or_else(|| not_found(key, None))?))
            .await
    }

    /// Whether a function exists.
    pub fn function_exists(&self, account: &str, region: &str, name: &str) -> bool {
        let key = FnKey {
            account: account.to_string(),
            region: region.to_string(),
            name: name.to_string(),
        };
        self.registry.read(&key, |f| f.is_some())
    }

    /// The code zip of a package, for `Code.Location` downloads.
    pub fn code_zip(&self, hex: &str) -> Option<Vec<u8>> {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        std::fs::read(self.code.zip_path(hex)).ok()
    }

    /// The caller's function a reference names. An ARN of another account
    /// is refused as AWS does without a resource policy; one of another
    /// region names a function that is not in this region.
    pub(crate) fn key(&self, ctx: &RequestContext, f: &arn::FunctionRef) -> Result<FnKey> {
        let key = FnKey {
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name: f.name.clone(),
        };
        if let Some(account) = f.account.as_deref().filter(|a| *a != ctx.account_id) {
            let arn =
                arn::function_arn(f.region.as_deref().unwrap_or(&ctx.region), account, &f.name);
            return Err(LambdaError::AccessDenied(format!(
                "User: arn:aws:iam::{}:root is not authorized to perform this action on resource: {arn} because no resource-based policy allows it",
                ctx.account_id
            )));
        }
        if let Some(region) = f.region.as_deref().filter(|r| *r != ctx.region) {
            return Err(LambdaError::NotFound(format!(
                "Function not found: {}",
                arn::function_arn(region, &key.account, &f.name)
            )));
        }
        Ok(key)
    }

    async fn handle(self: &Arc<Self>, ctx: &RequestContext, op: LambdaOp) -> Result<Response> {
        use ops::{aliases, concurrency, functions, permissions, tags, urls, versions};
        match op {
            LambdaOp::CreateFunction(input) => functions::create(self, ctx, *input).await,
            LambdaOp::GetFunction(f) => functions::get(self, ctx, &f),
            LambdaOp::GetFunctionConfiguration(f) => functions::get_configuration(self, ctx, &f),
            LambdaOp::ListFunctions(page, all) => functions::list(self, ctx, &page, all),
            LambdaOp::UpdateFunctionCode(f, input) => {
                functions::update_code(self, ctx, &f, *input).await
            }
            LambdaOp::UpdateFunctionConfiguration(f, input) => {
                functions::update_configuration(self, ctx, &f, *input).await
            }
            LambdaOp::DeleteFunction(f) => functions::delete(self, ctx, &f).await,
            LambdaOp::PublishVersion(f, input) => versions::publish(self, ctx, &f, input).await,
            LambdaOp::ListVersionsByFunction(f, page) => versions::list(self, ctx, &f, &page),
            LambdaOp::CreateAlias(f, input) => aliases::create(self, ctx, &f, input).await,
            LambdaOp::GetAlias(f, name) => aliases::get(self, ctx, &f, &name),
            LambdaOp::UpdateAlias(f, name, input) => {
                aliases::update(self, ctx, &f, &name, input).await
            }
            LambdaOp::DeleteAlias(f, name) => aliases::delete(self, ctx, &f, &name).await,
            LambdaOp::ListAliases(f, version, page) => {
                aliases::list(self, ctx, &f, version.as_deref(), &page)
            }
            LambdaOp::PutFunctionConcurrency(f, n) => {
                concurrency::put_reserved(self, ctx, &f, n).await
            }
            LambdaOp::GetFunctionConcurrency(f) => concurrency::get_reserved(self, ctx, &f),
            LambdaOp::PutEventInvokeConfig(f, input, replace) => {
                ops::event_invoke::put(self, ctx, &f, input, replace).await
            }
            LambdaOp::GetEventInvokeConfig(f) => ops::event_invoke::get(self, ctx, &f),
            LambdaOp::CreateEventSourceMapping(input) => esm::create(self, ctx, *input).await,
            LambdaOp::GetEventSourceMapping(id) => esm::get(self, ctx, &id),
            LambdaOp::UpdateEventSourceMapping(id, input) => {
                esm::update(self, ctx, &id, *input).await
            }
            LambdaOp::DeleteEventSourceMapping(id) => esm::delete(self, ctx, &id).await,
            LambdaOp::ListEventSourceMappings(source, function, page) => {
                esm::list(self, ctx, source.as_deref(), function.as_deref(), &page)
            }
            LambdaOp::DeleteEventInvokeConfig(f) => ops::event_invoke::delete(self, ctx, &f).await,
            LambdaOp::ListEventInvokeConfigs(f, page) => {
                ops::event_invoke::list(self, ctx, &f, &page)
            }
            LambdaOp::DeleteFunctionConcurrency(f) => {
                concurrency::delete_reserved(self, ctx, &f).await
            }
            LambdaOp::PutProvisionedConcurrency(f, n) => {
                concurrency::put_provisioned(self, ctx, &f, n).await
            }
            LambdaOp::GetProvisionedConcurrency(f) => concurrency::get_provisioned(self, ctx, &f),
            LambdaOp::DeleteProvisionedConcurrency(f) => {
                concurrency::delete_provisioned(self, ctx, &f).await
            }
            LambdaOp::ListProvisionedConcurrency(f, page) => {
                concurrency::list_provisioned(self, ctx, &f, &page)
            }
            LambdaOp::GetAccountSettings => concurrency::account_settings(self, ctx),
            LambdaOp::TagResource(arn, t) => tags::tag(self, ctx, &arn, t).await,
            LambdaOp::UntagResource(arn, keys) => tags::untag(self, ctx, &arn, keys).await,
            LambdaOp::ListTags(arn) => tags::list(self, ctx, &arn),
            LambdaOp::Invoke(input) => invoke::invoke(self, ctx, *input).await,
            LambdaOp::AddPermission(f, input) => permissions::add(self, ctx, &f, *input).await,
            LambdaOp::RemovePermission(f, sid, rev) => {
                permissions::remove(self, ctx, &f, &sid, rev).await
            }
            LambdaOp::GetPolicy(f) => permissions::get(self, ctx, &f),
            LambdaOp::CreateFunctionUrlConfig(f, input) => urls::create(self, ctx, &f, input).await,
            LambdaOp::GetFunctionUrlConfig(f) => urls::get(self, ctx, &f),
            LambdaOp::UpdateFunctionUrlConfig(f, input) => urls::update(self, ctx, &f, input).await,
            LambdaOp::DeleteFunctionUrlConfig(f) => urls::delete(self, ctx, &f).await,
            LambdaOp::ListFunctionUrlConfigs(f, page) => urls::list(self, ctx, &f, &page),
        }
    }
}

/// The Lambda service as the edge sees it.
pub struct LambdaService(pub Arc<Lambda>);

impl Service for LambdaService {
    fn signing_name(&self) -> &'static str {
        "lambda"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn owns(&self, req: &Request) -> bool {
        api::owns_path(&req.path)
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move {
            let op = api::parse(&req).map_err(AwsError::from)?;
            self.0.handle(&ctx, op).await.map_err(AwsError::from)
        })
    }
}

/// `ResourceNotFoundException` for a function (with qualifier when given).
pub(crate) fn not_found(key: &FnKey, qualifier: Option<&str>) -> LambdaError {
    match qualifier {
        Some(q) => LambdaError::NotFound(format!("Function not found: {}:{q}", key.arn())),
        None => LambdaError::NotFound(format!("Function not found: {}", key.arn())),
    }
}
