//! Serving HTTP APIs: stage selection, route matching, throttling,
//! authorization and the Lambda and HTTP proxy integrations.

use super::access_log::{self, Trace};
use super::event::{self, Incoming};
use super::{cors_headers, message, preflight};
use super::{mapping, proxy};
use crate::routing::RouteTable;
use crate::v2::apply::parse_route_key;
use crate::v2::model::{Authorizer, Cors, HttpApi, Integration, Route, RouteSettings, Stage};
use crate::ApiGateway;
use bytes::Bytes;
use serval_core::RequestContext;
use serval_wire::{Request, Response};
use std::sync::Arc;
use std::time::Duration;

/// HTTP APIs' words for a failed Lambda integration.
const HTTP_API_ERRORS: super::ProxyErrors = super::ProxyErrors {
    function: || message(500, "Internal Server Error"),
    timeout: || message(504, "Gateway Timeout"),
    failed: || message(500, "Internal Server Error"),
};

/// One route ready to serve.
pub struct RouteEntry {
    /// The route.
    pub route: Route,
    /// Its path (`/pets/{id}`) or `$default`.
    pub path: String,
    /// The integration it targets.
    pub integration: Option<Integration>,
    /// Its authorizer.
    pub authorizer: Option<Authorizer>,
}

/// A deployment compiled for matching.
pub struct Compiled {
    /// Route index by method and path.
    pub table: RouteTable<usize>,
    /// Routes.
    pub routes: Vec<RouteEntry>,
    /// CORS configuration.
    pub cors: Option<Cors>,
}

fn compile(snapshot: &crate::v2::model::Snapshot) -> Compiled {
    let mut table = RouteTable::default();
    let mut routes = Vec::new();
    for r in snapshot.routes.values() {
        let Ok(parsed) = parse_route_key(&r.route_key) else {
            continue;
        };
        let integration = r
            .target
            .as_deref()
            .and_then(|t| t.strip_prefix("integrations/"))
            .and_then(|id| snapshot.integrations.get(id))
            .cloned();
        let authorizer = r
            .authorizer_id
            .as_deref()
            .and_then(|id| snapshot.authorizers.get(id))
            .cloned();
        let idx = routes.len();
        let path = match parsed {
            Some((method, template)) => {
                let path = r
                    .route_key
                    .split_once(' ')
                    .map(|x| x.1)
                    .unwrap_or("")
                    .to_string();
                table.add((method != "ANY").then_some(method), template, idx);
                path
            }
            None => {
                table.set_default(idx);
                "$default".to_string()
            }
        };
        routes.push(RouteEntry {
            route: r.clone(),
            path,
            integration,
            authorizer,
        });
    }
    Compiled {
        table,
        routes,
        cors: snapshot.cors.clone(),
    }
}

/// Decoded path segments of a raw path.
pub fn segments(raw: &str) -> Vec<String> {
    raw.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// The client's address as API Gateway reports it (`sourceIp`).
pub fn source_ip(req: &Request) -> String {
    req.remote_addr
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string())
}

impl ApiGateway {
    /// The compiled routes a stage serves, cached per stage and replaced when
    /// the stage moves to another deployment (so the cache never outgrows
    /// the number of stages).
    fn compiled(&self, api: &HttpApi, stage: &str, deployment: &str) -> Option<Arc<Compiled>> {
        let key = format!("{}/{stage}", api.api.api_id);
        if let Some((d, c)) = self
            .exec
            .compiled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if d == deployment {
                return Some(c.clone());
            }
        }
        let c = Arc::new(compile(api.snapshots.get(deployment)?));
        self.exec
            .compiled
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (deployment.to_string(), c.clone()));
        Some(c)
    }

    pub(crate) async fn serve_http_api(
        &self,
        api: Arc<HttpApi>,
        explicit_stage: Option<String>,
        path: String,
        _ctx: &RequestContext,
        req: Request,
    ) -> Response {
        let request_id = serval_core::ids::random_hex(8);
        let started = std::time::Instant::now();
        let time_ms = self.clock.now_millis();
        let mut trace = Trace::default();
        let mut resp = self
            .serve_http_api_inner(&api, explicit_stage, path, &req, &request_id, &mut trace)
            .await;
        resp.set_header("apigw-requestid", &request_id);
        self.log_access(
            &trace,
            &req,
            &resp,
            (&api.api.api_id, &api.account, &api.region),
            &request_id,
            time_ms,
            started,
        );
        resp
    }

    async fn serve_http_api_inner(
        &self,
        api: &HttpApi,
        explicit_stage: Option<String>,
        path: String,
        req: &Request,
        request_id: &str,
        trace: &mut Trace,
    ) -> Response {
        if api.api.disable_execute_api_endpoint {
            return message(403, "Forbidden");
        }
        // A named stage is the first path segment; `$default` serves the rest.
        let (stage, raw_path, rest): (&Stage, &str, String) = match explicit_stage {
            Some(s) => match api.stages.get(&s) {
                Some(st) => (st, path.as_str(), path.clone()),
                None => return message(404, "Not Found"),
            },
            None => {
                let (first, rest) = super::split_stage(&path);
                match api
                    .stages
                    .get(&first)
                    .filter(|_| first != "$default" && !first.is_empty())
                {
                    Some(st) => (st, path.as_str(), rest),
                    None => match api.stages.get("$default") {
                        Some(st) => (st, path.as_str(), path.clone()),
                        None => return message(404, "Not Found"),
                    },
                }
            }
        };
        trace.stage = stage.stage_name.clone();
        trace.destination = stage.access_log_settings.as_ref().and_then(|a| {
            let group = access_log::group_of(a.destination_arn.as_deref()?)?;
            Some((group, a.format.clone()?))
        });
        let Some(deployment) = stage.deployment_id.as_deref() else {
            return message(404, "Not Found");
        };
        let Some(compiled) = self.compiled(api, &stage.stage_name, deployment) else {
            return message(404, "Not Found");
        };
        if let Some(cors) = &compiled.cors {
            if let Some(r) = preflight(cors, req) {
                return r;
            }
        }
        let segs = segments(&rest);
        let seg_refs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method = req.method.as_str();
        let Some(found) = compiled.table.find(method, &seg_refs) else {
            return message(404, "Not Found");
        };
        let entry = &compiled.routes[*found.value];
        trace.route_key = entry.route.route_key.clone();
        trace.resource_path = entry.path.clone();
        let settings = stage
            .route_settings
            .get(&entry.route.route_key)
            .unwrap_or(&stage.default_route_settings);
        if !self.admit(
            &api.api.api_id,
            &stage.stage_name,
            &entry.route.route_key,
            settings,
            &stage.default_route_settings,
        ) {
            return message(429, "Too Many Requests");
        }
        let now = self.clock.now_millis();
        let headers = super::forwarded_headers(req, self.config.port, now);
        let inc = Incoming {
            method,
            raw_path,
            path: &rest,
            query: &req.query,
            headers: &headers,
            body: &req.body,
            source_ip: super::http_api::source_ip(req),
            request_id,
            time_ms: now,
            domain_name: req.host().unwrap_or_default(),
            account_id: &api.account,
            api_id: &api.api.api_id,
            stage: &stage.stage_name,
        };
        let authorizer = match self
            .authorize_http_api(api, stage, entry, &inc, &found.params)
            .await
        {
            Ok(a) => a,
            Err(r) => return r,
        };
        let Some(integration) = &entry.integration else {
            return message(500, "Internal Server Error");
        };
        let m = event::Matched {
            route_key: &entry.route.route_key,
            resource_path: &entry.path,
            resource_id: None,
            path_params: &found.params,
            stage_variables: &stage.stage_variables,
            authorizer,
            api_key: None,
            api_key_id: None,
            rest: false,
        };
        let timeout = Duration::from_millis(integration.timeout_in_millis.clamp(50, 30_000) as u64);
        let mut resp = match integration.integration_type.as_str() {
            "AWS_PROXY" => {
                let v2 = integration.payload_format_version == "2.0";
                let payload = Bytes::from(if v2 {
                    event::event_v2_bytes(&inc, &m)
                } else {
                    serde_json::to_vec(&event::event_v1(&inc, &m, &[])).unwrap_or_default()
                });
                let function = super::lambda_function(
                    integration.integration_uri.as_deref(),
                    &stage.stage_variables,
                );
                let source_arn = format!(
                    "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
                    api.region,
                    api.account,
                    api.api.api_id,
                    stage.stage_name,
                    method,
                    if entry.path == "$default" {
                        "/$default"
                    } else {
                        &entry.path
                    }
                );
                self.lambda_proxy(
                    trace,
                    &api.account,
                    &api.region,
                    &function,
                    payload,
                    timeout,
                    source_arn,
                    v2,
                    &HTTP_API_ERRORS,
                )
                .await
            }
            "HTTP_PROXY" => {
                self.http_proxy(integration, entry, &found.params, &inc, stage, req, timeout)
                    .await
            }
            _ => message(500, "Internal Server Error"),
        };
        if let Some(cors) = &compiled.cors {
            cors_headers(cors, req, &mut resp);
        }
        resp
    }

    fn admit(
        &self,
        api_id: &str,
        stage: &str,
        route_key: &str,
        route: &RouteSettings,
        default: &RouteSettings,
    ) -> bool {
        let limits = |s: &RouteSettings| match (s.throttling_rate_limit, s.throttling_burst_limit) {
            (None, None) => None,
            (r, b) => Some((
                r.unwrap_or(f64::MAX),
                b.map(|b| b as f64).unwrap_or(f64::MAX),
            )),
        };
        let key = format!("{api_id}/{stage}/{route_key}");
        match limits(route).or_else(|| limits(default)) {
            Some((rate, burst)) if rate < 1e12 || burst < 1e12 => {
                self.exec
                    .throttles
                    .admit(&key, rate.min(1e12), burst.min(1e12))
            }
            _ => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn http_proxy(
        &self,
        integration: &Integration,
        entry: &RouteEntry,
        params: &[(String, String)],
        inc: &Incoming<'_>,
        stage: &Stage,
        req: &Request,
        timeout: Duration,
    ) -> Response {
        let out = mapping::map_request(
            integration.request_parameters.as_ref(),
            inc,
            params,
            &stage.stage_variables,
        );
        let uri = integration.integration_uri.as_deref().unwrap_or_default();
        let (mut url, substituted) = proxy::substitute_params(uri, params);
        if let Some(path) = &out.path {
            let base = match url
                .find("://")
                .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
            {
                Some(cut) => url[..cut].to_string(),
                None => url.clone(),
            };
            url = format!("{base}/{}", path.trim_start_matches('/'));
        } else if !substituted && entry.path == "$default" {
            url = format!("{}{}", url.trim_end_matches('/'), inc.path);
        }
        if !out.query.is_empty() {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(out.query.iter())
                .finish();
            proxy::append_query(&mut url, &q);
        }
        let method =
            proxy::integration_method(integration.integration_method.as_deref(), &req.method);
        let mut up = match self
            .forward(
                method,
                &url,
                &out.headers,
                req.body.clone(),
                timeout,
                &HTTP_API_ERRORS,
            )
            .await
        {
            Ok(up) => up,
            Err(r) => return r,
        };
        mapping::map_response(
            integration.response_parameters.as_ref(),
            &mut up.status,
            &mut up.headers,
            inc,
            &stage.stage_variables,
        );
        up.into_response()
    }
}
