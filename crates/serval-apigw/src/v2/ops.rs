//! Handlers of the apigatewayv2 operations. Every change to an API is one
//! write of its aggregate record; stages with auto-deploy get a new
//! deployment in the same write.

use super::apply::{
    apply_authorizer, apply_integration, apply_route, apply_stage, auto_deploy, lambda_target,
    parse_route_key, set,
};
use super::model::*;
use super::{Page, V2Op};
use crate::error::{bad, ApigwError, Result};
use crate::ApiGateway;
use serde::Serialize;
use serval_core::{time, RequestContext};
use serval_wire::Response;

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
