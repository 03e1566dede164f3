//! Amazon API Gateway for Serval: the management APIs (apigatewayv2 for HTTP
//! APIs, apigateway for REST APIs) and the data plane that serves them at
//! `<api-id>.execute-api.localhost`, `/_aws/execute-api/<api-id>/...` and
//! `/restapis/<id>/<stage>/_user_request_/...`, plus Lambda function URLs
//! (`<url-id>.lambda-url.<region>.localhost`). It reaches Lambda only through
//! `serval_core::Invoker`; it owns no function state.

pub mod error;
pub mod exec;
pub mod routing;
pub mod table;
pub mod v1;
pub mod v2;

use crate::error::Result;
use crate::table::Table;
use serval_core::{AwsError, Clock, Invoker, LogSink, RequestContext, SystemClock};
use serval_store::Store;
use serval_wire::{Protocol, Request, Service, ServiceFuture};
use std::sync::Arc;

/// Settings of the gateway.
#[derive(Clone)]
pub struct ApigwConfig {
    /// The port Serval listens on, for the endpoints the APIs report.
    pub port: u16,
}

/// API Gateway: every API's configuration and the data plane's caches.
pub struct ApiGateway {
    pub(crate) http_apis: Table<v2::model::HttpApi>,
    pub(crate) rest_apis: Table<v1::model::RestApiRec>,
    pub(crate) api_keys: Table<v1::model::ApiKeyRec>,
    pub(crate) usage_plans: Table<v1::model::UsagePlanRec>,
    pub(crate) invoker: Arc<dyn Invoker>,
    pub(crate) logs: Option<Arc<dyn LogSink>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: ApigwConfig,
    pub(crate) exec: exec::Exec,
}

/// A random id of `n` lowercase letters and digits, as API Gateway's ids are.
pub(crate) fn new_id(n: usize) -> String {
    serval_core::ids::random_alnum(n)
}

impl ApiGateway {
    /// Loads every API from the store. Access logs go to `logs`.
    pub fn start(
        store: Store,
        invoker: Arc<dyn Invoker>,
        logs: Option<Arc<dyn LogSink>>,
        config: ApigwConfig,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            http_apis: Table::load(store.clone(), "v2api")?,
            rest_apis: Table::load(store.clone(), "v1api")?,
            api_keys: Table::load(store.clone(), "apikey")?,
            usage_plans: Table::load(store.clone(), "usageplan")?,
            invoker,
            logs,
            clock: Arc::new(SystemClock),
            config,
            exec: exec::Exec {
                quotas: exec::limits::Quotas::load(store.clone()),
                ..exec::Exec::new()
            },
        }))
    }

    /// The endpoint an API reports (`apiEndpoint`).
    pub(crate) fn api_endpoint(&self, api_id: &str) -> String {
        format!("http://{api_id}.execute-api.localhost:{}", self.config.port)
    }

    /// Drops the data plane's state of a deleted API.
    pub(crate) fn forget_api(&self, api_id: &str) {
        self.exec.forget_api(api_id);
    }

    /// Drops the data plane's state of a changed or deleted stage.
    pub(crate) fn forget_stage_state(&self, api_id: &str, stage: &str) {
        self.exec.forget_stage(api_id, stage);
    }
}

/// The management APIs (signing name `apigateway`).
pub struct ManagementService(pub Arc<ApiGateway>);

impl Service for ManagementService {
    fn signing_name(&self) -> &'static str {
        "apigateway"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn owns(&self, req: &Request) -> bool {
        v2::owns_path(&req.path) || v1::owns_path(&req.path)
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move {
            if v2::owns_path(&req.path) {
                let op = v2::parse(&req).map_err(AwsError::from)?;
                return self.0.handle_v2(&ctx, op).await.map_err(AwsError::from);
            }
            if v1::owns_path(&req.path) {
                let op = v1::parse(&req).map_err(AwsError::from)?;
                return self.0.handle_v1(&ctx, op).await.map_err(AwsError::from);
            }
            Err(AwsError::new(
                "NotFoundException",
                404,
                format!("Serval does not implement {} {} yet", req.method, req.path),
            ))
        })
    }
}

/// The data plane: invoking APIs and function URLs (signing name `execute-api`).
pub struct ExecuteService(pub Arc<ApiGateway>);

impl Service for ExecuteService {
    fn signing_name(&self) -> &'static str {
        "execute-api"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn owns(&self, req: &Request) -> bool {
        exec::address(req).is_some()
    }

    fn claims(&self, req: &Request) -> bool {
        exec::address(req).is_some()
    }

    fn requires_auth(&self, _req: &Request) -> bool {
        false
    }

    fn call<'a>(&'a self, ctx: RequestContext, req: Request) -> ServiceFuture<'a> {
        Box::pin(async move { Ok(self.0.execute(ctx, req).await) })
    }
}
