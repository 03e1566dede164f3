//! Serving REST APIs: stage, resource and method matching, stage and usage
//! plan throttling, quotas, API keys, authorizers (Lambda TOKEN/REQUEST,
//! IAM), the stage cache, and the Lambda proxy, HTTP proxy and MOCK
//! integrations, with REST's own error bodies.

use super::access_log::{self, Trace};
use super::event::{self, Incoming};
use super::http_api::{segments, source_ip};
use super::lambda_auth::{identity_value, AuthorizerCall, Refusal};
use super::message;
use crate::routing::RouteTable;
use crate::v1::model::{Integration, Method, MethodSetting, Resource, RestApiRec, Stage};
use crate::ApiGateway;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use serval_wire::{Request, Response};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// REST APIs' words for a failed Lambda integration.
const REST_ERRORS: super::ProxyErrors = super::ProxyErrors {
    function: internal_error,
    timeout: || Response::json(504, &json!({"message": "Endpoint request timed out"})),
    failed: || Response::json(500, &json!({"message": "Internal server error"})),
};

/// A deployment's resources ready for matching.
pub struct RestCompiled {
    table: RouteTable<(String, String)>,
    resources: BTreeMap<String, Resource>,
}

fn compile(resources: &BTreeMap<String, Resource>) -> RestCompiled {
    let mut table = RouteTable::default();
    for r in resources.values() {
        let Ok(t) = crate::routing::Template::parse(&r.path) else {
            continue;
        };
        for m in r.resource_methods.keys() {
            let method = (m != "ANY").then(|| m.clone());
            table.add(method, t.clone(), (r.id.clone(), m.clone()));
        }
    }
    RestCompiled {
        table,
        resources: resources.clone(),
    }
}

fn missing_token() -> Response {
    let mut r = message(403, "Missing Authentication Token");
    r.set_header("x-amzn-ErrorType", "MissingAuthenticationTokenException");
    r
}

fn internal_error() -> Response {
    Response::json(502, &json!({ "message": "Internal server error" }))
}

/// The method settings that apply: the method's own, else `*/*`.
fn setting<'a>(stage: &'a Stage, path: &str, method: &str) -> Option<&'a MethodSetting> {
    let trimmed = path.trim_start_matches('/');
    stage
        .method_settings
        .get(&format!("{trimmed}/{method}"))
        .or_else(|| stage.method_settings.get(&format!("/{trimmed}/{method}")))
        .or_else(|| stage.method_settings.get("*/*"))
}

impl ApiGateway {
    fn rest_compiled(&self, api: &RestApiRec, stage: &Stage) -> Option<Arc<RestCompiled>> {
        let key = format!("{}/{}", api.api.id, stage.stage_name);
        if let Some((d, c)) = self
            .exec
            .rest_compiled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if *d == stage.deployment_id {
                return Some(c.clone());
            }
        }
        let c = Arc::new(compile(api.snapshots.get(&stage.deployment_id)?));
        self.exec
            .rest_compiled
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (stage.deployment_id.clone(), c.clone()));
        Some(c)
    }

    pub(crate) async fn serve_rest_api(
        &self,
        api: Arc<RestApiRec>,
        explicit_stage: Option<String>,
        path: String,
        req: Request,
    ) -> Response {
        let request_id = serval_core::ids::uuid_v4();
        let started = std::time::Instant::now();
        let time_ms = self.clock.now_millis();
        let mut trace = Trace::default();
        let mut resp = self
            .serve_rest_inner(&api, explicit_stage, path, &req, &request_id, &mut trace)
            .await;
        resp.set_header("x-amz-apigw-id", &serval_core::ids::random_hex(8));
        self.log_access(
            &trace,
            &req,
            &resp,
            (&api.api.id, &api.account, &api.region),
            &request_id,
            time_ms,
            started,
        );
        resp
    }

    #[allow(clippy::too_many_lines)]
    async fn serve_rest_inner(
        &self,
        api: &RestApiRec,
        explicit_stage: Option<String>,
        path: String,
        req: &Request,
        request_id: &str,
        trace: &mut Trace,
    ) -> Response {
        if api.api.disable_execute_api_endpoint {
            return message(403, "Forbidden");
        }
        let (stage, rest) = match explicit_stage {
            Some(s) => match api.stages.get(&s) {
                Some(st) => (st, path.clone()),
                None => return message(403, "Forbidden"),
            },
            None => {
                let (first, rest) = super::split_stage(&path);
                match api.stages.get(&first) {
                    Some(st) => (st, rest),
                    None => return message(403, "Forbidden"),
                }
            }
        };
        trace.stage = stage.stage_name.clone();
        trace.destination = stage.access_log_settings.as_ref().and_then(|a| {
            let group = access_log::group_of(a.get("destinationArn")?.as_str()?)?;
            Some((group, a.get("format")?.as_str()?.to_string()))
        });
        let Some(compiled) = self.rest_compiled(api, stage) else {
            return message(403, "Forbidden");
        };
        let segs = segments(&rest);
        let seg_refs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method_name = req.method.as_str();
        let Some(found) = compiled.table.find(method_name, &seg_refs) else {
            return missing_token();
        };
        let (rid, mkey) = found.value;
        let Some(resource) = compiled.resources.get(rid) else {
            return missing_token();
        };
        let Some(method) = resource.resource_methods.get(mkey) else {
            return missing_token();
        };
        trace.route_key = format!("{method_name} {}", resource.path);
        trace.resource_path = resource.path.clone();
        let settings = setting(stage, &resource.path, method_name);
        if let Some(s) = settings {
            let key = format!(
                "{}/{}/{}/{}",
                api.api.id, stage.stage_name, resource.path, method_name
            );
            let limited = s.throttling_rate_limit < 10_000.0 || s.throttling_burst_limit < 5_000;
            if limited
                && !self.exec.throttles.admit(
                    &key,
                    s.throttling_rate_limit,
                    s.throttling_burst_limit as f64,
                )
            {
                return message(429, "Too Many Requests");
            }
        }
        let now = self.clock.now_millis();
        let headers = super::forwarded_headers(req, self.config.port, now);
        let binary = api.api.binary_media_types.clone().unwrap_or_default();
        let inc = Incoming {
            method: method_name,
            raw_path: &req.path,
            path: &rest,
            query: &req.query,
            headers: &headers,
            body: &req.body,
            source_ip: source_ip(req),
            request_id,
            time_ms: now,
            domain_name: req.host().unwrap_or_default(),
            account_id: &api.account,
            api_id: &api.api.id,
            stage: &stage.stage_name,
        };
        let method_arn = format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            api.region,
            api.account,
            api.api.id,
            stage.stage_name,
            method_name,
            rest.trim_start_matches('/')
        );
        let authorizer = match self
            .authorize_rest(
                api,
                stage,
                resource,
                method,
                &inc,
                &found.params,
                &method_arn,
            )
            .await
        {
            Ok(a) => a,
            Err(r) => return r,
        };
        let (api_key, api_key_id) = if method.api_key_required {
            match self.check_api_key(api, stage, &headers, now) {
                Ok(k) => (Some(k.0), Some(k.1)),
                Err(KeyRefusal::Forbidden) => return message(403, "Forbidden"),
                Err(KeyRefusal::Throttled) => return message(429, "Too Many Requests"),
                Err(KeyRefusal::Quota) => return message(429, "Limit Exceeded"),
            }
        } else {
            (None, None)
        };
        // The stage cache answers GETs it has seen within the TTL, keyed by
        // the path and the integration's cache key parameters.
        let cache = settings
            .filter(|s| stage.cache_cluster_enabled && s.caching_enabled && method_name == "GET")
            .map(|s| {
                let mut key = format!("{}/{}/{}", api.api.id, stage.stage_name, rest);
                let params = method
                    .method_integration
                    .as_ref()
                    .map(|i| i.cache_key_parameters.as_slice())
                    .unwrap_or(&[]);
                for p in params {
                    key.push('\u{1f}');
                    key.push_str(&identity_value(p, &inc, &stage.variables).unwrap_or_default());
                }
                (
                    key,
                    Duration::from_secs(s.cache_ttl_in_seconds.clamp(0, 3600) as u64),
                )
            });
        if let Some((key, _)) = &cache {
            if let Some(hit) = self.exec.rest_cache.get(key) {
                return hit;
            }
        }
        let Some(integration) = &method.method_integration else {
            return internal_error();
        };
        let m = event::Matched {
            route_key: &resource.path,
            resource_path: &resource.path,
            resource_id: Some(&resource.id),
            path_params: &found.params,
            stage_variables: &stage.variables,
            authorizer,
            api_key: api_key.as_deref(),
            api_key_id: api_key_id.as_deref(),
            rest: true,
        };
        let timeout = Duration::from_millis(integration.timeout_in_millis.clamp(50, 29_000) as u64);
        let resp = match integration.kind.as_str() {
            "AWS_PROXY" => {
                let ev = event::event_v1(&inc, &m, &binary);
                let payload = Bytes::from(serde_json::to_vec(&ev).unwrap_or_default());
                let function = super::lambda_function(integration.uri.as_deref(), &stage.variables);
                let source_arn = format!(
                    "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
                    api.region,
                    api.account,
                    api.api.id,
                    stage.stage_name,
                    method_name,
                    resource.path
                );
                self.lambda_proxy(
                    trace,
                    &api.account,
                    &api.region,
                    &function,
                    payload,
                    timeout,
                    source_arn,
                    false,
                    &REST_ERRORS,
                )
                .await
            }
            "HTTP_PROXY" => {
                self.rest_http_proxy(integration, &found.params, req, &headers, timeout)
                    .await
            }
            "MOCK" => mock(integration, req),
            "AWS" => {
                self.lambda_custom(api, stage, integration, req, timeout, trace)
                    .await
            }
            "HTTP" => {
                self.http_custom(integration, &found.params, req, &headers, timeout)
                    .await
            }
            _ => Response::json(500, &json!({"message": "Internal server error"})),
        };
        if let Some((key, ttl)) = cache {
            if resp.status.is_success() {
                self.exec.rest_cache.put(key, ttl, resp.clone());
            }
        }
        resp
    }

    /// A Lambda custom (non-proxy) integration in passthrough mode: the
    /// request body is the event, the answer goes through the integration
    /// responses (a function error selects by its `errorMessage`).
    async fn lambda_custom(
        &self,
        api: &RestApiRec,
        stage: &Stage,
        integration: &Integration,
        req: &Request,
        timeout: Duration,
        trace: &mut Trace,
    ) -> Response {
        let function = super::lambda_function(integration.uri.as_deref(), &stage.variables);
        if function.is_empty() {
            return Response::json(500, &json!({"message": "Internal server error"}));
        }
        let payload = if req.body.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            req.body.clone()
        };
        let source_arn = format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
            api.region, api.account, api.api.id, stage.stage_name, req.method, req.path
        );
        let called = std::time::Instant::now();
        let result = self
            .call_lambda(
                &api.account,
                &api.region,
                &function,
                payload,
                timeout,
                source_arn,
            )
            .await;
        trace.integration_latency = Some(called.elapsed().as_millis() as u64);
        match result {
            Ok(out) if out.function_error.is_none() => respond(integration, "", out.payload),
            Ok(out) => {
                let message = serde_json::from_slice::<Value>(&out.payload)
                    .ok()
                    .and_then(|v| {
                        v.get("errorMessage")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_default();
                respond(integration, &message, out.payload)
            }
            Err(super::CallFailure::Timeout) => (REST_ERRORS.timeout)(),
            Err(super::CallFailure::Throttled) => message(429, "Too Many Requests"),
            Err(super::CallFailure::TooLarge) => message(413, "Request Entity Too Large"),
            Err(super::CallFailure::Failed(_)) => (REST_ERRORS.failed)(),
        }
    }

    /// An HTTP custom (non-proxy) integration in passthrough mode: the body
    /// goes to the URI, the answer through the integration responses
    /// selected by its status code.
    async fn http_custom(
        &self,
        integration: &Integration,
        params: &[(String, String)],
        req: &Request,
        headers: &http::HeaderMap,
        timeout: Duration,
    ) -> Response {
        let up = self
            .rest_http_proxy(integration, params, req, headers, timeout)
            .await;
        respond(integration, up.status.as_str(), up.body)
    }

    async fn rest_http_proxy(
        &self,
        integration: &Integration,
        params: &[(String, String)],
        req: &Request,
        headers: &http::HeaderMap,
        timeout: Duration,
    ) -> Response {
        let uri = integration.uri.as_deref().unwrap_or_default();
        let (mut url, _) = super::proxy::substitute_params(uri, params);
        super::proxy::append_query(&mut url, &req.query);
        let method =
            super::proxy::integration_method(integration.http_method.as_deref(), &req.method);
        match self
            .forward(
                method,
                &url,
                headers,
                req.body.clone(),
                timeout,
                &REST_ERRORS,
            )
            .await
        {
            Ok(up) => up.into_response(),
            Err(r) => r,
        }
    }

    /// The API key of a request that needs one, checked against the usage
    /// plans of this stage: throttle (429 Too Many Requests), quota (429
    /// Limit Exceeded). `Ok` is the key's value and id.
    fn check_api_key(
        &self,
        api: &RestApiRec,
        stage: &Stage,
        headers: &http::HeaderMap,
        now_ms: u64,
    ) -> Result<(String, String), KeyRefusal> {
        let forbidden = || KeyRefusal::Forbidden;
        let value = headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(forbidden)?;
        let key = self
            .api_keys
            .list(|k| {
                k.account == api.account
                    && k.region == api.region
                    && k.key.value.as_deref() == Some(value)
            })
            .into_iter()
            .next()
            .filter(|k| k.key.enabled)
            .ok_or_else(forbidden)?;
        let plan = self
            .usage_plans
            .list(|p| {
                p.keys.contains(&key.key.id)
                    && p.plan
                        .api_stages
                        .iter()
                        .any(|s| s.api_id == api.api.id && s.stage == stage.stage_name)
            })
            .into_iter()
            .next()
            .ok_or_else(forbidden)?;
        if let Some(t) = &plan.plan.throttle {
            let rate = t.rate_limit.unwrap_or(f64::MAX).min(1e12);
            let burst = t.burst_limit.map(|b| b as f64).unwrap_or(1e12);
            let bucket = format!("plan/{}/{}", plan.plan.id, key.key.id);
            if !self.exec.throttles.admit(&bucket, rate, burst) {
                return Err(KeyRefusal::Throttled);
            }
        }
        if let Some(q) = &plan.plan.quota {
            if !self.exec.quotas.take(&plan.plan.id, &key.key.id, q, now_ms) {
                return Err(KeyRefusal::Quota);
            }
        }
        Ok((value.to_string(), key.key.id.clone()))
    }

    /// Runs the method's authorization; `Ok` carries `requestContext.authorizer`.
    #[allow(clippy::too_many_arguments)]
    async fn authorize_rest(
        &self,
        api: &RestApiRec,
        stage: &Stage,
        resource: &Resource,
        method: &Method,
        inc: &Incoming<'_>,
        params: &[(String, String)],
        method_arn: &str,
    ) -> Result<Option<Value>, Response> {
        match method.authorization_type.as_str() {
            "AWS_IAM" => {
                let signed = inc
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256"));
                if signed {
                    Ok(None)
                } else {
                    Err(missing_token())
                }
            }
            "CUSTOM" => {
                let au = method
                    .authorizer_id
                    .as_ref()
                    .and_then(|id| api.authorizers.get(id))
                    .ok_or_else(authorizer_failure)?;
                let unauthorized = || message(401, "Unauthorized");
                let sources: Vec<&str> = au
                    .identity_source
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                let mut identity = Vec::new();
                for s in &sources {
                    match identity_value(s, inc, &stage.variables) {
                        Some(v) if !v.is_empty() => identity.push(v),
                        _ if au.kind == "TOKEN" || au.authorizer_result_ttl_in_seconds > 0 => {
                            return Err(unauthorized())
                        }
                        _ => {}
                    }
                }
                let event = if au.kind == "TOKEN" {
                    let token = identity.first().cloned().unwrap_or_default();
                    if let Some(expr) = &au.identity_validation_expression {
                        let ok = regex_lite::Regex::new(&format!("^(?:{expr})$"))
                            .map(|re| re.is_match(&token))
                            .unwrap_or(false);
                        if !ok {
                            return Err(unauthorized());
                        }
                    }
                    json!({"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn})
                } else {
                    let m = event::Matched {
                        route_key: &resource.path,
                        resource_path: &resource.path,
                        resource_id: Some(&resource.id),
                        path_params: params,
                        stage_variables: &stage.variables,
                        authorizer: None,
                        api_key: None,
                        api_key_id: None,
                        rest: true,
                    };
                    let mut ev = event::event_v1(inc, &m, &[]);
                    if let Some(o) = ev.as_object_mut() {
                        o.remove("body");
                        o.remove("isBase64Encoded");
                        o.insert("type".into(), "REQUEST".into());
                        o.insert("methodArn".into(), method_arn.into());
                    }
                    ev
                };
                let ttl = au.authorizer_result_ttl_in_seconds.clamp(0, 3600) as u64;
                let (principal, ctx) = self
                    .lambda_authorize(AuthorizerCall {
                        account: &api.account,
                        region: &api.region,
                        api_id: &api.api.id,
                        authorizer_id: &au.id,
                        uri: au.authorizer_uri.as_deref().unwrap_or(""),
                        event,
                        identity: if ttl > 0 { identity } else { Vec::new() },
                        ttl: Duration::from_secs(ttl),
                        arn: method_arn.to_string(),
                        simple: false,
                    })
                    .await
                    .map_err(|r| match r {
                        Refusal::Unauthorized => unauthorized(),
                        Refusal::Denied(true) => Response::json(403, &json!({"Message": "User is not authorized to access this resource with an explicit deny"})),
                        Refusal::Denied(false) => Response::json(403, &json!({"Message": "User is not authorized to access this resource"})),
                        Refusal::Failed => authorizer_failure(),
                        Refusal::Throttled => message(429, "Too Many Requests"),
                    })?;
                let mut out: Map<String, Value> = ctx;
                if let Some(p) = principal {
                    out.insert("principalId".into(), p.into());
                }
                out.insert("integrationLatency".into(), 0.into());
                Ok(Some(Value::Object(out)))
            }
            "COGNITO_USER_POOLS" => {
                // Serval has no Cognito yet: a bearer token's claims are passed
                // on unverified, a missing one is refused.
                let token = inc
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(|t| t.trim_start_matches("Bearer ").trim().to_string())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| message(401, "Unauthorized"))?;
                let claims = token
                    .split('.')
                    .nth(1)
                    .and_then(|p| {
                        use base64::Engine;
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(p.trim_end_matches('='))
                            .ok()
                    })
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .ok_or_else(|| message(401, "Unauthorized"))?;
                Ok(Some(json!({ "claims": claims })))
            }
            _ => Ok(None),
        }
    }
}

/// Why an API key was not accepted.
enum KeyRefusal {
    /// Missing, unknown, disabled or in no plan of this stage (403).
    Forbidden,
    /// The plan's rate or burst is exceeded (429).
    Throttled,
    /// The plan's quota is used up (429 Limit Exceeded).
    Quota,
}

fn authorizer_failure() -> Response {
    let mut r = Response::json(500, &json!({ "message": null }));
    r.set_header("x-amzn-ErrorType", "AuthorizerConfigurationException");
    r
}

/// A MOCK integration: the status from the request template's
/// `statusCode`, the integration response it selects, its template as body.
fn mock(integration: &Integration, req: &Request) -> Response {
    let ct = req
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .unwrap_or("application/json")
        .trim()
        .to_string();
    let template = integration.request_templates.as_ref().and_then(|t| {
        t.get(&ct)
            .or_else(|| t.get("application/json"))
            .and_then(Value::as_str)
    });
    let status = template
        .and_then(|t| {
            let start = t.find("statusCode")?;
            let digits: String = t[start..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u16>().ok()
        })
        .unwrap_or(200)
        .to_string();
    respond(integration, &status, Bytes::new())
}

/// Whether a mapping template just passes the payload through.
fn passes_through(template: &str) -> bool {
    matches!(
        template.trim(),
        "" | "$input.json('$')" | "$input.json(\"$\")" | "$input.body"
    )
}

/// The integration response a non-proxy integration's outcome selects
/// (`selector`: the status code, or a Lambda error message, matched against
/// each `selectionPattern`; the one without a pattern is the default): its
/// status, static header values, and its template as the body, or the
/// integration's own answer when the template passes it through (Serval
/// does not evaluate VTL).
fn respond(integration: &Integration, selector: &str, answer: Bytes) -> Response {
    let responses = &integration.integration_responses;
    let chosen = responses
        .values()
        .find(|r| {
            r.selection_pattern.as_deref().is_some_and(|p| {
                !p.is_empty()
                    && regex_lite::Regex::new(&format!("^(?:{p})$"))
                        .is_ok_and(|re| re.is_match(selector))
            })
        })
        .or_else(|| {
            responses
                .values()
                .find(|r| r.selection_pattern.as_deref().is_none_or(str::is_empty))
        });
    let Some(chosen) = chosen else {
        return Response::json(500, &json!({"message": "Internal server error"}));
    };
    let code: u16 = chosen.status_code.parse().unwrap_or(200);
    let template = chosen
        .response_templates
        .as_ref()
        .and_then(|t| t.get("application/json").or_else(|| t.values().next()))
        .and_then(Value::as_str);
    let body = match template {
        Some(t) if !passes_through(t) => Bytes::from(t.to_string()),
        _ => answer,
    };
    let mut r = Response::bytes(code, "application/json", body);
    if let Some(params) = &chosen.response_parameters {
        for (k, v) in params {
            if let (Some(name), Some(v)) = (k.strip_prefix("method.response.header."), v.as_str()) {
                if let Some(lit) = v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
                    r.set_header(name, lit);
                }
            }
        }
    }
    r
}
