//! Handlers of the apigatewayv2 operations. Every change to an API is one
//! write of its aggregate record; stages with auto-deploy get a new
//! deployment in the same write.

use super::model::*;
use super::{Page, V2Op};
use crate::error::{bad, ApigwError, Result};
use crate::routing::Template;
use crate::ApiGateway;
use serde::Serialize;
use serval_core::{time, RequestContext};
use serval_wire::Response;

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

fn to_json<T: Serialize>(status: u16, v: &T) -> Response {
    Response::json(status, &serde_json::to_value(v).unwrap_or_default())
}

fn items<T: Serialize>(all: Vec<T>, page: &Page) -> Result<Response> {
    let start = match &page.next_token {
        Some(t) => t.parse::<usize>().map_err(|_| bad("Invalid nextToken"))?,
        None => 0,
    };
    let size = page.max_results.unwrap_or(usize::MAX);
    let end = start.saturating_add(size).min(all.len());
    let slice: Vec<&T> = all
        .iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let mut body = serde_json::json!({ "items": slice });
    if end < all.len() {
        body["nextToken"] = end.to_string().into();
    }
    Ok(Response::json(200, &body))
}

/// A route key's method and path (`None` for `$default`).
pub fn parse_route_key(key: &str) -> Result<Option<(String, Template)>> {
    if key == "$default" {
        return Ok(None);
    }
    let (method, path) = key
        .split_once(' ')
        .ok_or_else(|| bad(format!("Invalid route key: {key}")))?;
    if !METHODS.contains(&method) {
        return Err(bad(format!(
            "Invalid route key: {key}; the method must be one of {}",
            METHODS.join(", ")
        )));
    }
    let template =
        Template::parse(path).map_err(|e| bad(format!("Invalid route key: {key}. {e}")))?;
    Ok(Some((method.to_string(), template)))
}

/// The Lambda function an integration URI names (a function ARN, or the
/// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations` form).
pub fn lambda_target(uri: &str) -> Option<&str> {
    if let Some(rest) = uri.split_once(":lambda:path/2015-03-31/functions/") {
        return rest.1.strip_suffix("/invocations");
    }
    uri.starts_with("arn:aws:lambda:").then_some(uri)
}

impl ApiGateway {
    fn api_not_found(ctx: &RequestContext, api_id: &str) -> ApigwError {
        ApigwError::NotFound(format!(
            "Invalid API identifier specified {}:{api_id}",
            ctx.account_id
        ))
    }

    /// Reads an HTTP API of the caller's account and region.
    fn read_api(&self, ctx: &RequestContext, api_id: &str) -> Result<std::sync::Arc<HttpApi>> {
        self.http_apis
            .get(api_id)
            .filter(|a| a.account == ctx.account_id && a.region == ctx.region)
            .ok_or_else(|| Self::api_not_found(ctx, api_id))
    }

    /// Changes an HTTP API and redeploys its auto-deploy stages.
    async fn change_api<R>(
        &self,
        ctx: &RequestContext,
        api_id: &str,
        f: impl FnOnce(&mut HttpApi) -> Result<R>,
    ) -> Result<R> {
        let now = time::iso8601(self.clock.now_millis());
        self.http_apis
            .update(api_id, |cur| {
                let cur = cur
                    .filter(|a| a.account == ctx.account_id && a.region == ctx.region)
                    .ok_or_else(|| Self::api_not_found(ctx, api_id))?;
                let mut api = cur.clone();
                let out = f(&mut api)?;
                auto_deploy(&mut api, &now);
                Ok((Some(api), out))
            })
            .await
    }

    pub(crate) async fn handle_v2(&self, ctx: &RequestContext, op: V2Op) -> Result<Response> {
        match op {
            V2Op::CreateApi(input) => self.create_api(ctx, *input).await,
            V2Op::ImportApi(input) => {
                let body = input.body.ok_or_else(|| bad("Body is required"))?;
                let doc = super::openapi::parse_document(&body)?;
                let imported = super::openapi::import(&doc, None)?;
                let name = imported
                    .name
                    .clone()
                    .ok_or_else(|| bad("The OpenAPI document needs info.title"))?;
                let resp = self
                    .create_api(
                        ctx,
                        ApiInput {
                            name: Some(name),
                            protocol_type: Some("HTTP".into()),
                            description: imported.description.clone(),
                            version: imported.version.clone(),
                            cors_configuration: imported.cors.clone(),
                            ..Default::default()
                        },
                    )
                    .await?;
                let created: Api = serde_json::from_slice(&resp.body)
                    .map_err(|e| ApigwError::Internal(e.to_string()))?;
                let api = self
                    .change_api(ctx, &created.api_id, |a| {
                        a.routes = imported.routes;
                        a.integrations = imported.integrations;
                        a.authorizers = imported.authorizers;
                        Ok(a.api.clone())
                    })
                    .await?;
                Ok(with_warnings(201, &api, &imported.warnings))
            }
            V2Op::ReimportApi(id, input) => {
                let body = input.body.ok_or_else(|| bad("Body is required"))?;
                let doc = super::openapi::parse_document(&body)?;
                let imported = super::openapi::import(&doc, None)?;
                let warnings = imported.warnings.clone();
                let api = self
                    .change_api(ctx, &id, |a| {
                        if let Some(n) = imported.name {
                            a.api.name = n;
                        }
                        set(&mut a.api.description, imported.description);
                        set(&mut a.api.version, imported.version);
                        if imported.cors.is_some() {
                            a.api.cors_configuration = imported.cors;
                        }
                        a.routes = imported.routes;
                        a.integrations = imported.integrations;
                        a.authorizers = imported.authorizers;
                        Ok(a.api.clone())
                    })
                    .await?;
                Ok(with_warnings(201, &api, &warnings))
            }
            V2Op::ExportApi(id, input) => {
                let a = self.read_api(ctx, &id)?;
                if input.specification != "OAS30" {
                    return Err(bad(format!(
                        "Invalid specification: {}; only OAS30 is supported",
                        input.specification
                    )));
                }
                let snapshot = match &input.stage_name {
                    Some(s) => {
                        let st = a.stages.get(s).ok_or_else(|| not_found("Stage", s))?;
                        st.deployment_id
                            .as_ref()
                            .and_then(|d| a.snapshots.get(d))
                            .cloned()
                            .ok_or_else(|| bad(format!("Stage {s} has no deployment")))?
                    }
                    None => a.snapshot(),
                };
                let doc = super::openapi::export(&a, &snapshot, input.include_extensions);
                match input.output_type.as_str() {
                    "JSON" => Ok(Response::bytes(
                        200,
                        "application/json",
                        serde_json::to_vec_pretty(&doc).unwrap_or_default().into(),
                    )),
                    "YAML" => Ok(Response::bytes(
                        200,
                        "application/yaml",
                        yaml_serde::to_string(&doc)
                            .unwrap_or_default()
                            .into_bytes()
                            .into(),
                    )),
                    other => Err(bad(format!("Invalid output type: {other}; JSON or YAML"))),
                }
            }
            V2Op::GetApi(id) => Ok(to_json(200, &self.read_api(ctx, &id)?.api)),
            V2Op::GetApis(page) => {
                let all: Vec<Api> = self
                    .http_apis
                    .list(|a| a.account == ctx.account_id && a.region == ctx.region)
                    .into_iter()
                    .map(|a| a.api.clone())
                    .collect();
                items(all, &page)
            }
            V2Op::UpdateApi(id, input) => {
                let api = self
                    .change_api(ctx, &id, |a| {
                        let i = *input;
                        if let Some(n) = i.name {
                            a.api.name = n;
                        }
                        if i.cors_configuration.is_some() {
                            a.api.cors_configuration = i.cors_configuration;
                        }
                        set(&mut a.api.description, i.description);
                        set(&mut a.api.version, i.version);
                        set(
                            &mut a.api.api_key_selection_expression,
                            i.api_key_selection_expression,
                        );
                        set(
                            &mut a.api.disable_schema_validation,
                            i.disable_schema_validation,
                        );
                        if let Some(d) = i.disable_execute_api_endpoint {
                            a.api.disable_execute_api_endpoint = d;
                        }
                        if let Some(r) = i.route_selection_expression {
                            a.api.route_selection_expression = r;
                        }
                        if let Some(ip) = i.ip_address_type {
                            a.api.ip_address_type = ip;
                        }
                        Ok(a.api.clone())
                    })
                    .await?;
                Ok(to_json(200, &api))
            }
            V2Op::DeleteApi(id) => {
                self.read_api(ctx, &id)?;
                self.http_apis.update(&id, |_| Ok((None, ()))).await?;
                self.forget_api(&id);
                Ok(Response::empty(204))
            }
            V2Op::DeleteCorsConfiguration(id) => {
                self.change_api(ctx, &id, |a| {
                    a.api.cors_configuration = None;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V2Op::CreateRoute(api_id, input) => {
                let route = self
                    .change_api(ctx, &api_id, |a| {
                        let key = input
                            .route_key
                            .clone()
                            .ok_or_else(|| bad("RouteKey is required"))?;
                        parse_route_key(&key)?;
                        if a.routes.values().any(|r| r.route_key == key) {
                            return Err(ApigwError::Conflict(format!(
                                "Route with key {key} already exists for this API"
                            )));
                        }
                        let mut r = Route {
                            route_id: crate::new_id(7),
                            route_key: key,
                            authorization_type: "NONE".into(),
                            ..Default::default()
                        };
                        apply_route(&mut r, *input, a)?;
                        a.routes.insert(r.route_id.clone(), r.clone());
                        Ok(r)
                    })
                    .await?;
                Ok(to_json(201, &route))
            }
            V2Op::GetRoute(api_id, id) => {
                let a = self.read_api(ctx, &api_id)?;
                let r = a.routes.get(&id).ok_or_else(|| not_found("Route", &id))?;
                Ok(to_json(200, r))
            }
            V2Op::GetRoutes(api_id, page) => {
                let a = self.read_api(ctx, &api_id)?;
                items(a.routes.values().cloned().collect(), &page)
            }
            V2Op::UpdateRoute(api_id, id, input) => {
                let route = self
                    .change_api(ctx, &api_id, |a| {
                        let mut r = a
                            .routes
                            .get(&id)
                            .cloned()
                            .ok_or_else(|| not_found("Route", &id))?;
                        if let Some(key) = &input.route_key {
                            parse_route_key(key)?;
                            if a.routes
                                .values()
                                .any(|o| o.route_key == *key && o.route_id != id)
                            {
                                return Err(ApigwError::Conflict(format!(
                                    "Route with key {key} already exists for this API"
                                )));
                            }
                            r.route_key = key.clone();
                        }
                        apply_route(&mut r, *input, a)?;
                        a.routes.insert(id.clone(), r.clone());
                        Ok(r)
                    })
                    .await?;
                Ok(to_json(200, &route))
            }
            V2Op::DeleteRoute(api_id, id) => {
                self.change_api(ctx, &api_id, |a| {
                    a.routes
                        .remove(&id)
                        .ok_or_else(|| not_found("Route", &id))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V2Op::CreateIntegration(api_id, input) => {
                let i = self
                    .change_api(ctx, &api_id, |a| {
                        let mut i = Integration {
                            integration_id: crate::new_id(7),
                            connection_type: "INTERNET".into(),
                            ..Default::default()
                        };
                        let t = input
                            .integration_type
                            .clone()
                            .ok_or_else(|| bad("IntegrationType is required"))?;
                        i.integration_type = t;
                        apply_integration(&mut i, *input)?;
                        a.integrations.insert(i.integration_id.clone(), i.clone());
                        Ok(i)
                    })
                    .await?;
                Ok(to_json(201, &i))
            }
            V2Op::GetIntegration(api_id, id) => {
                let a = self.read_api(ctx, &api_id)?;
                let i = a
                    .integrations
                    .get(&id)
                    .ok_or_else(|| not_found("Integration", &id))?;
                Ok(to_json(200, i))
            }
            V2Op::GetIntegrations(api_id, page) => {
                let a = self.read_api(ctx, &api_id)?;
                items(a.integrations.values().cloned().collect(), &page)
            }
            V2Op::UpdateIntegration(api_id, id, input) => {
                let i = self
                    .change_api(ctx, &api_id, |a| {
                        let mut i = a
                            .integrations
                            .get(&id)
                            .cloned()
                            .ok_or_else(|| not_found("Integration", &id))?;
                        if let Some(t) = input.integration_type.clone() {
                            i.integration_type = t;
                        }
                        apply_integration(&mut i, *input)?;
                        a.integrations.insert(id.clone(), i.clone());
                        Ok(i)
                    })
                    .await?;
                Ok(to_json(200, &i))
            }
            V2Op::DeleteIntegration(api_id, id) => {
                self.change_api(ctx, &api_id, |a| {
                    let target = format!("integrations/{id}");
                    if a.routes
                        .values()
                        .any(|r| r.target.as_deref() == Some(&target))
                    {
                        return Err(ApigwError::Conflict(format!(
                            "Cannot delete integration {id}: routes still target it"
                        )));
                    }
                    a.integrations
                        .remove(&id)
                        .ok_or_else(|| not_found("Integration", &id))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V2Op::CreateAuthorizer(api_id, input) => {
                let au = self
                    .change_api(ctx, &api_id, |a| {
                        let mut au = Authorizer {
                            authorizer_id: crate::new_id(6),
                            ..Default::default()
                        };
                        au.name = input.name.clone().ok_or_else(|| bad("Name is required"))?;
                        au.authorizer_type = input
                            .authorizer_type
                            .clone()
                            .ok_or_else(|| bad("AuthorizerType is required"))?;
                        apply_authorizer(&mut au, *input)?;
                        a.authorizers.insert(au.authorizer_id.clone(), au.clone());
                        Ok(au)
                    })
                    .await?;
                Ok(to_json(201, &au))
            }
            V2Op::GetAuthorizer(api_id, id) => {
                let a = self.read_api(ctx, &api_id)?;
                let au = a
                    .authorizers
                    .get(&id)
                    .ok_or_else(|| not_found("Authorizer", &id))?;
                Ok(to_json(200, au))
            }
            V2Op::GetAuthorizers(api_id, page) => {
                let a = self.read_api(ctx, &api_id)?;
                items(a.authorizers.values().cloned().collect(), &page)
            }
            V2Op::UpdateAuthorizer(api_id, id, input) => {
                let au = self
                    .change_api(ctx, &api_id, |a| {
                        let mut au = a
                            .authorizers
                            .get(&id)
                            .cloned()
                            .ok_or_else(|| not_found("Authorizer", &id))?;
                        if let Some(n) = input.name.clone() {
                            au.name = n;
                        }
                        if let Some(t) = input.authorizer_type.clone() {
                            au.authorizer_type = t;
                        }
                        apply_authorizer(&mut au, *input)?;
                        a.authorizers.insert(id.clone(), au.clone());
                        Ok(au)
                    })
                    .await?;
                Ok(to_json(200, &au))
            }
            V2Op::DeleteAuthorizer(api_id, id) => {
                self.change_api(ctx, &api_id, |a| {
                    if a.routes
                        .values()
                        .any(|r| r.authorizer_id.as_deref() == Some(&id))
                    {
                        return Err(ApigwError::Conflict(format!(
                            "Cannot delete authorizer {id}: routes still use it"
                        )));
                    }
                    a.authorizers
                        .remove(&id)
                        .ok_or_else(|| not_found("Authorizer", &id))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V2Op::CreateStage(api_id, input) => {
                let now = time::iso8601(self.clock.now_millis());
                let stage = self
                    .change_api(ctx, &api_id, |a| {
                        let name = input
                            .stage_name
                            .clone()
                            .ok_or_else(|| bad("StageName is required"))?;
                        if name != "$default"
                            && (name.is_empty()
                                || name.len() > 128
                                || !name
                                    .bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                        {
                            return Err(bad(format!("Invalid stage name: {name}")));
                        }
                        if a.stages.contains_key(&name) {
                            return Err(ApigwError::Conflict(format!(
                                "Stage {name} already exists"
                            )));
                        }
                        let mut st = Stage {
                            stage_name: name.clone(),
                            created_date: now.clone(),
                            last_updated_date: now.clone(),
                            ..Default::default()
                        };
                        apply_stage(&mut st, *input, a)?;
                        a.stages.insert(name.clone(), st);
                        Ok(name)
                    })
                    .await?;
                let a = self.read_api(ctx, &api_id)?;
                Ok(to_json(201, &a.stages[&stage]))
            }
            V2Op::GetStage(api_id, name) => {
                let a = self.read_api(ctx, &api_id)?;
                let st = a
                    .stages
                    .get(&name)
                    .ok_or_else(|| not_found("Stage", &name))?;
                Ok(to_json(200, st))
            }
            V2Op::GetStages(api_id, page) => {
                let a = self.read_api(ctx, &api_id)?;
                items(a.stages.values().cloned().collect(), &page)
            }
            V2Op::UpdateStage(api_id, name, input) => {
                let now = time::iso8601(self.clock.now_millis());
                self.change_api(ctx, &api_id, |a| {
                    let mut st = a
                        .stages
                        .get(&name)
                        .cloned()
                        .ok_or_else(|| not_found("Stage", &name))?;
                    apply_stage(&mut st, *input, a)?;
                    st.last_updated_date = now;
                    a.stages.insert(name.clone(), st);
                    Ok(())
                })
                .await?;
                self.forget_stage_state(&api_id, &name);
                let a = self.read_api(ctx, &api_id)?;
                Ok(to_json(200, &a.stages[&name]))
            }
            V2Op::DeleteStage(api_id, name) => {
                self.change_api(ctx, &api_id, |a| {
                    a.stages
                        .remove(&name)
                        .ok_or_else(|| not_found("Stage", &name))?;
                    Ok(())
                })
                .await?;
                self.forget_stage_state(&api_id, &name);
                Ok(Response::empty(204))
            }
            V2Op::ResetAuthorizersCache(api_id, name) => {
                let a = self.read_api(ctx, &api_id)?;
                a.stages
                    .get(&name)
                    .ok_or_else(|| not_found("Stage", &name))?;
                self.exec.auth_cache.clear_api(&api_id);
                Ok(Response::empty(204))
            }
            V2Op::CreateDeployment(api_id, input) => {
                let now = time::iso8601(self.clock.now_millis());
                let d = self
                    .change_api(ctx, &api_id, |a| {
                        if let Some(s) = &input.stage_name {
                            let st = a.stages.get(s).ok_or_else(|| not_found("Stage", s))?;
                            if st.auto_deploy {
                                return Err(bad(format!(
                                    "Stage {s} has auto-deploy enabled; deployments are created for it automatically"
                                )));
                            }
                        }
                        let d = Deployment {
                            auto_deployed: false,
                            created_date: now.clone(),
                            deployment_id: crate::new_id(6),
                            deployment_status: "DEPLOYED".into(),
                            description: input.description.clone(),
                        };
                        a.snapshots.insert(d.deployment_id.clone(), a.snapshot());
                        a.deployments.insert(d.deployment_id.clone(), d.clone());
                        if let Some(s) = &input.stage_name {
                            if let Some(st) = a.stages.get_mut(s) {
                                st.deployment_id = Some(d.deployment_id.clone());
                                st.last_updated_date = now.clone();
                            }
                        }
                        Ok(d)
                    })
                    .await?;
                Ok(to_json(201, &d))
            }
            V2Op::GetDeployment(api_id, id) => {
                let a = self.read_api(ctx, &api_id)?;
                let d = a
                    .deployments
                    .get(&id)
                    .ok_or_else(|| not_found("Deployment", &id))?;
                Ok(to_json(200, d))
            }
            V2Op::GetDeployments(api_id, page) => {
                let a = self.read_api(ctx, &api_id)?;
                items(a.deployments.values().cloned().collect(), &page)
            }
            V2Op::UpdateDeployment(api_id, id, input) => {
                let d = self
                    .change_api(ctx, &api_id, |a| {
                        let d = a
                            .deployments
                            .get_mut(&id)
                            .ok_or_else(|| not_found("Deployment", &id))?;
                        set(&mut d.description, input.description);
                        Ok(d.clone())
                    })
                    .await?;
                Ok(to_json(200, &d))
            }
            V2Op::DeleteDeployment(api_id, id) => {
                self.change_api(ctx, &api_id, |a| {
                    if !a.deployments.contains_key(&id) {
                        return Err(not_found("Deployment", &id));
                    }
                    if a.stages
                        .values()
                        .any(|s| s.deployment_id.as_deref() == Some(&id))
                    {
                        return Err(bad(
                            "Active stages pointing to this deployment must be moved or deleted",
                        ));
                    }
                    a.deployments.remove(&id);
                    a.snapshots.remove(&id);
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V2Op::GetTags(arn) => {
                let (api_id, stage) = tagged(ctx, &arn)?;
                let a = self.read_api(ctx, &api_id)?;
                let tags = match stage {
                    Some(s) => a
                        .stages
                        .get(&s)
                        .ok_or_else(|| not_found("Stage", &s))?
                        .tags
                        .clone(),
                    None => a.api.tags.clone(),
                };
                Ok(Response::json(200, &serde_json::json!({ "tags": tags })))
            }
            V2Op::TagResource(arn, tags) => {
                let (api_id, stage) = tagged(ctx, &arn)?;
                self.change_api(ctx, &api_id, |a| {
                    let t = match &stage {
                        Some(s) => {
                            &mut a
                                .stages
                                .get_mut(s)
                                .ok_or_else(|| not_found("Stage", s))?
                                .tags
                        }
                        None => &mut a.api.tags,
                    };
                    t.extend(tags);
                    Ok(())
                })
                .await?;
                Ok(Response::json(201, &serde_json::json!({})))
            }
            V2Op::UntagResource(arn, keys) => {
                let (api_id, stage) = tagged(ctx, &arn)?;
                self.change_api(ctx, &api_id, |a| {
                    let t = match &stage {
                        Some(s) => {
                            &mut a
                                .stages
                                .get_mut(s)
                                .ok_or_else(|| not_found("Stage", s))?
                                .tags
                        }
                        None => &mut a.api.tags,
                    };
                    for k in &keys {
                        t.remove(k);
                    }
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
        }
    }

    async fn create_api(&self, ctx: &RequestContext, i: ApiInput) -> Result<Response> {
        let name = i.name.clone().ok_or_else(|| bad("Name is required"))?;
        let protocol = i
            .protocol_type
            .clone()
            .ok_or_else(|| bad("ProtocolType is required"))?;
        match protocol.as_str() {
            "HTTP" => {}
            "WEBSOCKET" => return Err(bad("Serval does not serve WebSocket APIs yet")),
            other => return Err(bad(format!("Invalid protocol type: {other}"))),
        }
        if i.target.is_none() && (i.route_key.is_some()) {
            return Err(bad("RouteKey is only used with Target (quick create)"));
        }
        let id = crate::new_id(10);
        let now = time::iso8601(self.clock.now_millis());
        let mut api = HttpApi {
            v: 1,
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            api: Api {
                api_endpoint: self.api_endpoint(&id),
                api_id: id.clone(),
                api_key_selection_expression: Some(
                    i.api_key_selection_expression
                        .unwrap_or_else(|| "$request.header.x-api-key".into()),
                ),
                cors_configuration: i.cors_configuration,
                created_date: now.clone(),
                description: i.description,
                disable_schema_validation: i.disable_schema_validation,
                disable_execute_api_endpoint: i.disable_execute_api_endpoint.unwrap_or(false),
                ip_address_type: i.ip_address_type.unwrap_or_else(|| "ipv4".into()),
                name,
                protocol_type: protocol,
                route_selection_expression: i
                    .route_selection_expression
                    .unwrap_or_else(|| "$request.method $request.path".into()),
                tags: i.tags.unwrap_or_default(),
                version: i.version,
            },
            ..Default::default()
        };
        if let Some(target) = i.target {
            let key = i.route_key.unwrap_or_else(|| "$default".into());
            parse_route_key(&key)?;
            let mut integ = Integration {
                integration_id: crate::new_id(7),
                connection_type: "INTERNET".into(),
                ..Default::default()
            };
            let lambda = lambda_target(&target).is_some();
            let input = IntegrationInput {
                integration_type: Some(if lambda { "AWS_PROXY" } else { "HTTP_PROXY" }.into()),
                integration_uri: Some(target),
                integration_method: (!lambda).then(|| "ANY".into()),
                payload_format_version: Some(if lambda { "2.0" } else { "1.0" }.into()),
                ..Default::default()
            };
            integ.integration_type = input.integration_type.clone().unwrap_or_default();
            apply_integration(&mut integ, input)?;
            let route = Route {
                route_id: crate::new_id(7),
                route_key: key,
                authorization_type: "NONE".into(),
                target: Some(format!("integrations/{}", integ.integration_id)),
                ..Default::default()
            };
            api.integrations.insert(integ.integration_id.clone(), integ);
            api.routes.insert(route.route_id.clone(), route);
            api.stages.insert(
                "$default".into(),
                Stage {
                    api_gateway_managed: true,
                    auto_deploy: true,
                    created_date: now.clone(),
                    last_updated_date: now.clone(),
                    stage_name: "$default".into(),
                    ..Default::default()
                },
            );
            auto_deploy(&mut api, &now);
        }
        let out = api.api.clone();
        self.http_apis.update(&id, |_| Ok((Some(api), ()))).await?;
        Ok(to_json(201, &out))
    }
}

/// An `Api` answer with the import's `warnings`.
fn with_warnings(status: u16, api: &Api, warnings: &[String]) -> Response {
    let mut v = serde_json::to_value(api).unwrap_or_default();
    if !warnings.is_empty() {
        v["warnings"] = serde_json::json!(warnings);
    }
    Response::json(status, &v)
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) {
    if v.is_some() {
        *slot = v;
    }
}

fn not_found(kind: &str, id: &str) -> ApigwError {
    ApigwError::NotFound(format!("Invalid {kind} identifier specified {id}"))
}

/// The API id and stage name a tag ARN names
/// (`arn:aws:apigateway:<region>::/apis/<id>[/stages/<name>]`).
fn tagged(ctx: &RequestContext, arn: &str) -> Result<(String, Option<String>)> {
    let path = arn
        .strip_prefix(&format!("arn:aws:apigateway:{}::", ctx.region))
        .ok_or_else(|| bad(format!("Invalid resource ARN: {arn}")))?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["apis", id] => Ok((id.to_string(), None)),
        ["apis", id, "stages", s] => Ok((id.to_string(), Some(s.to_string()))),
        _ => Err(ApigwError::NotFound(format!("Invalid resource ARN: {arn}"))),
    }
}

fn apply_route(r: &mut Route, i: RouteInput, api: &HttpApi) -> Result<()> {
    if let Some(t) = i.authorization_type {
        if !["NONE", "AWS_IAM", "CUSTOM", "JWT"].contains(&t.as_str()) {
            return Err(bad(format!("Invalid authorization type: {t}")));
        }
        r.authorization_type = t;
    }
    if let Some(id) = i.authorizer_id {
        if !api.authorizers.contains_key(&id) {
            return Err(bad(format!("Invalid authorizer ID specified: {id}")));
        }
        r.authorizer_id = Some(id);
    }
    if let Some(t) = &i.target {
        let id = t
            .strip_prefix("integrations/")
            .ok_or_else(|| bad(format!("Invalid target: {t}; must be integrations/<id>")))?;
        if !api.integrations.contains_key(id) {
            return Err(bad(format!("Invalid integration ID specified: {id}")));
        }
    }
    set(&mut r.target, i.target);
    if let Some(k) = i.api_key_required {
        r.api_key_required = k;
    }
    set(&mut r.authorization_scopes, i.authorization_scopes);
    set(
        &mut r.model_selection_expression,
        i.model_selection_expression,
    );
    set(&mut r.operation_name, i.operation_name);
    set(&mut r.request_models, i.request_models);
    set(&mut r.request_parameters, i.request_parameters);
    set(
        &mut r.route_response_selection_expression,
        i.route_response_selection_expression,
    );
    match r.authorization_type.as_str() {
        "JWT" | "CUSTOM" if r.authorizer_id.is_none() => Err(bad(format!(
            "An authorizer ID is required for authorization type {}",
            r.authorization_type
        ))),
        _ => Ok(()),
    }
}

fn apply_integration(i: &mut Integration, input: IntegrationInput) -> Result<()> {
    set(&mut i.integration_uri, input.integration_uri);
    set(&mut i.integration_method, input.integration_method);
    set(&mut i.integration_subtype, input.integration_subtype);
    set(&mut i.connection_id, input.connection_id);
    if let Some(c) = input.connection_type {
        i.connection_type = c;
    }
    set(&mut i.credentials_arn, input.credentials_arn);
    set(&mut i.description, input.description);
    set(&mut i.passthrough_behavior, input.passthrough_behavior);
    set(&mut i.request_parameters, input.request_parameters);
    set(&mut i.request_templates, input.request_templates);
    set(&mut i.response_parameters, input.response_parameters);
    set(&mut i.tls_config, input.tls_config);
    if let Some(t) = input.timeout_in_millis {
        if !(50..=30_000).contains(&t) {
            return Err(bad(
                "Timeout must be between 50 milliseconds and 30 seconds.",
            ));
        }
        i.timeout_in_millis = t;
    } else if i.timeout_in_millis == 0 {
        i.timeout_in_millis = 30_000;
    }
    match i.integration_type.as_str() {
        "AWS_PROXY" => {
            let uri = i.integration_uri.as_deref().unwrap_or("");
            if i.integration_subtype.is_none() && lambda_target(uri).is_none() {
                return Err(bad(format!(
                    "Invalid integration URI specified: {uri}; a Lambda proxy integration needs a function ARN"
                )));
            }
            let pfv = input.payload_format_version.unwrap_or_else(|| {
                if i.payload_format_version.is_empty() {
                    "2.0".into()
                } else {
                    i.payload_format_version.clone()
                }
            });
            if pfv != "1.0" && pfv != "2.0" {
                return Err(bad(format!("Invalid payload format version: {pfv}")));
            }
            i.payload_format_version = pfv;
            if i.integration_method.is_none() {
                i.integration_method = Some("POST".into());
            }
        }
        "HTTP_PROXY" => {
            let uri = i.integration_uri.as_deref().unwrap_or("");
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err(bad(format!("Invalid integration URI specified: {uri}")));
            }
            if i.integration_method.is_none() {
                return Err(bad(
                    "IntegrationMethod is required for HTTP_PROXY integrations",
                ));
            }
            i.payload_format_version = input.payload_format_version.unwrap_or_else(|| "1.0".into());
            if i.payload_format_version != "1.0" {
                return Err(bad(
                    "HTTP_PROXY integrations support payload format version 1.0 only",
                ));
            }
        }
        "MOCK" | "HTTP" | "AWS" => {
            return Err(bad(format!(
                "Integration type {} is not supported for HTTP APIs",
                i.integration_type
            )))
        }
        other => return Err(bad(format!("Invalid integration type: {other}"))),
    }
    Ok(())
}

fn apply_authorizer(a: &mut Authorizer, i: AuthorizerInput) -> Result<()> {
    set(
        &mut a.authorizer_credentials_arn,
        i.authorizer_credentials_arn,
    );
    set(
        &mut a.authorizer_payload_format_version,
        i.authorizer_payload_format_version,
    );
    set(
        &mut a.authorizer_result_ttl_in_seconds,
        i.authorizer_result_ttl_in_seconds,
    );
    set(&mut a.authorizer_uri, i.authorizer_uri);
    set(&mut a.enable_simple_responses, i.enable_simple_responses);
    if let Some(s) = i.identity_source {
        a.identity_source = s;
    }
    set(
        &mut a.identity_validation_expression,
        i.identity_validation_expression,
    );
    set(&mut a.jwt_configuration, i.jwt_configuration);
    if let Some(ttl) = a.authorizer_result_ttl_in_seconds {
        if !(0..=3600).contains(&ttl) {
            return Err(bad(
                "AuthorizerResultTtlInSeconds must be between 0 and 3600",
            ));
        }
    }
    match a.authorizer_type.as_str() {
        "JWT" => {
            let jwt = a.jwt_configuration.as_ref();
            if jwt.and_then(|j| j.issuer.as_ref()).is_none() {
                return Err(bad(
                    "JwtConfiguration.Issuer is required for JWT authorizers",
                ));
            }
            if a.identity_source.is_empty() {
                return Err(bad("IdentitySource is required for JWT authorizers"));
            }
        }
        "REQUEST" => {
            let uri = a.authorizer_uri.as_deref().unwrap_or("");
            if lambda_target(uri).is_none() {
                return Err(bad(format!("Invalid authorizer URI specified: {uri}")));
            }
            let v = a
                .authorizer_payload_format_version
                .clone()
                .unwrap_or_default();
            if v != "1.0" && v != "2.0" {
                return Err(bad(
                    "AuthorizerPayloadFormatVersion must be 1.0 or 2.0 for REQUEST authorizers",
                ));
            }
            if a.enable_simple_responses == Some(true) && v != "2.0" {
                return Err(bad("Simple responses require payload format version 2.0"));
            }
        }
        other => return Err(bad(format!("Invalid authorizer type: {other}"))),
    }
    for s in &a.identity_source {
        if !s.starts_with("$request.")
            && !s.starts_with("$context.")
            && !s.starts_with("$stageVariables.")
        {
            return Err(bad(format!("Invalid identity source: {s}")));
        }
    }
    Ok(())
}

fn apply_stage(st: &mut Stage, i: StageInput, api: &HttpApi) -> Result<()> {
    if let Some(d) = &i.deployment_id {
        if !api.deployments.contains_key(d) {
            return Err(bad(format!("Invalid deployment ID specified: {d}")));
        }
    }
    set(&mut st.deployment_id, i.deployment_id);
    set(&mut st.access_log_settings, i.access_log_settings);
    if let Some(a) = i.auto_deploy {
        st.auto_deploy = a;
    }
    set(&mut st.client_certificate_id, i.client_certificate_id);
    if let Some(d) = i.default_route_settings {
        st.default_route_settings = d;
    }
    set(&mut st.description, i.description);
    if let Some(r) = i.route_settings {
        st.route_settings = r;
    }
    if let Some(v) = i.stage_variables {
        st.stage_variables = v;
    }
    if let Some(t) = i.tags {
        st.tags = t;
    }
    Ok(())
}

/// Gives every auto-deploy stage a fresh deployment of the API as it now is.
fn auto_deploy(api: &mut HttpApi, now: &str) {
    let names: Vec<String> = api
        .stages
        .values()
        .filter(|s| s.auto_deploy)
        .map(|s| s.stage_name.clone())
        .collect();
    if names.is_empty() {
        return;
    }
    let snapshot = api.snapshot();
    let mut superseded: Vec<String> = Vec::new();
    for name in names {
        let d = Deployment {
            auto_deployed: true,
            created_date: now.to_string(),
            deployment_id: crate::new_id(6),
            deployment_status: "DEPLOYED".into(),
            description: Some(
                "Automatic deployment triggered by changes to the Api configuration".into(),
            ),
        };
        api.snapshots
            .insert(d.deployment_id.clone(), snapshot.clone());
        if let Some(st) = api.stages.get_mut(&name) {
            if let Some(old) = st.deployment_id.replace(d.deployment_id.clone()) {
                superseded.push(old);
            }
            st.last_deployment_status_message = Some(format!(
                "Successfully deployed stage with deployment ID '{}'",
                d.deployment_id
            ));
            st.last_updated_date = now.to_string();
        }
        api.deployments.insert(d.deployment_id.clone(), d);
    }
    // Automatic deployments nothing points at any more are dropped, so an
    // API edited often does not grow without bound.
    let in_use: std::collections::BTreeSet<&String> = api
        .stages
        .values()
        .filter_map(|s| s.deployment_id.as_ref())
        .collect();
    let drop: Vec<String> = superseded
        .into_iter()
        .filter(|d| !in_use.contains(d) && api.deployments.get(d).is_some_and(|x| x.auto_deployed))
        .collect();
    for d in drop {
        api.deployments.remove(&d);
        api.snapshots.remove(&d);
    }
}
