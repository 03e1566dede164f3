//! Handlers of the REST API operations: APIs, resources, methods,
//! integrations and their responses, deployments, stages, authorizers, tags.

use super::model::*;
use super::patch::{self, PatchOp};
use super::*;
use crate::error::{bad, ApigwError, Result};
use crate::ApiGateway;
use serde::Serialize;
use serval_core::RequestContext;
use serval_wire::Response;

fn to_json<T: Serialize>(status: u16, v: &T) -> Response {
    Response::json(status, &serde_json::to_value(v).unwrap_or_default())
}

fn nf(what: &str) -> ApigwError {
    ApigwError::NotFound(format!("Invalid {what} identifier specified"))
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

impl ApiGateway {
    pub(crate) fn now_secs(&self) -> u64 {
        self.clock.now_millis() / 1000
    }

    pub(crate) fn read_rest(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<std::sync::Arc<RestApiRec>> {
        self.rest_apis
            .get(id)
            .filter(|a| a.account == ctx.account_id && a.region == ctx.region)
            .ok_or_else(|| nf("REST API"))
    }

    pub(crate) async fn change_rest<R>(
        &self,
        ctx: &RequestContext,
        id: &str,
        f: impl FnOnce(&mut RestApiRec) -> Result<R>,
    ) -> Result<R> {
        self.rest_apis
            .update(id, |cur| {
                let cur = cur
                    .filter(|a| a.account == ctx.account_id && a.region == ctx.region)
                    .ok_or_else(|| nf("REST API"))?;
                let mut api = cur.clone();
                let out = f(&mut api)?;
                Ok((Some(api), out))
            })
            .await
    }

    pub(crate) async fn create_rest_api(
        &self,
        ctx: &RequestContext,
        i: CreateRestApiInput,
    ) -> Result<RestApiRec> {
        let name = i
            .name
            .ok_or_else(|| bad("Invalid REST API name specified"))?;
        let id = crate::new_id(10);
        let root = crate::new_id(10);
        if let Some(src) = &i.api_key_source {
            if src != "HEADER" && src != "AUTHORIZER" {
                return Err(bad(format!("Invalid API key source: {src}")));
            }
        }
        let rec = RestApiRec {
            v: 1,
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            api: RestApi {
                id: id.clone(),
                name,
                description: i.description,
                created_date: self.now_secs(),
                version: i.version,
                binary_media_types: i.binary_media_types,
                minimum_compression_size: i.minimum_compression_size,
                api_key_source: i.api_key_source.unwrap_or_else(|| "HEADER".into()),
                endpoint_configuration: i
                    .endpoint_configuration
                    .unwrap_or_else(|| serde_json::json!({"types": ["EDGE"]})),
                policy: i.policy,
                tags: i.tags.unwrap_or_default(),
                disable_execute_api_endpoint: i.disable_execute_api_endpoint.unwrap_or(false),
                root_resource_id: root.clone(),
                warnings: None,
            },
            resources: [(
                root.clone(),
                Resource {
                    id: root,
                    path: "/".into(),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let out = rec.clone();
        self.rest_apis.update(&id, |_| Ok((Some(rec), ()))).await?;
        Ok(out)
    }

    /// The method a reference names, if its resource and method exist.
    fn find_method<'a>(api: &'a RestApiRec, m: &MethodRef) -> Option<&'a Method> {
        api.resources
            .get(&m.resource)
            .and_then(|r| r.resource_methods.get(&m.method))
    }

    fn method_mut<'a>(api: &'a mut RestApiRec, m: &MethodRef) -> Result<&'a mut Method> {
        api.resources
            .get_mut(&m.resource)
            .ok_or_else(|| nf("Resource"))?
            .resource_methods
            .get_mut(&m.method)
            .ok_or_else(|| nf("Method"))
    }

    pub(crate) async fn handle_v1(&self, ctx: &RequestContext, op: V1Op) -> Result<Response> {
        match op {
            V1Op::CreateRestApi(i) => Ok(to_json(201, &self.create_rest_api(ctx, *i).await?.api)),
            V1Op::ImportRestApi(body) => {
                let rec = super::import::import_new(self, ctx, &body).await?;
                Ok(to_json(201, &rec.api))
            }
            V1Op::PutRestApi(id, mode, body) => {
                let rec = super::import::put(self, ctx, &id, &mode, &body).await?;
                Ok(to_json(200, &rec.api))
            }
            V1Op::GetRestApis => {
                let all: Vec<RestApi> = self
                    .rest_apis
                    .list(|a| a.account == ctx.account_id && a.region == ctx.region)
                    .iter()
                    .map(|a| a.api.clone())
                    .collect();
                Ok(items(&all))
            }
            V1Op::GetRestApi(id) => Ok(to_json(200, &self.read_rest(ctx, &id)?.api)),
            V1Op::UpdateRestApi(id, p) => {
                let api = self
                    .change_rest(ctx, &id, |a| {
                        let ops = binary_types_ops(&mut a.api, &p.patch_operations);
                        a.api = patch::apply(&a.api, &ops)?;
                        Ok(a.api.clone())
                    })
                    .await?;
                Ok(to_json(200, &api))
            }
            V1Op::DeleteRestApi(id) => {
                self.read_rest(ctx, &id)?;
                self.rest_apis.update(&id, |_| Ok((None, ()))).await?;
                self.forget_api(&id);
                Ok(Response::empty(202))
            }
            V1Op::GetResources(id, embed) => {
                let a = self.read_rest(ctx, &id)?;
                let all: Vec<Resource> = a.resources.values().map(|r| view(r, embed)).collect();
                Ok(items(&all))
            }
            V1Op::GetResource(id, rid, embed) => {
                let a = self.read_rest(ctx, &id)?;
                let r = a.resources.get(&rid).ok_or_else(|| nf("Resource"))?;
                Ok(to_json(200, &view(r, embed)))
            }
            V1Op::CreateResource(id, parent, part) => {
                let r = self
                    .change_rest(ctx, &id, |a| {
                        let part = part.ok_or_else(|| bad("Resource's path part must be specified"))?;
                        let p = a.resources.get(&parent).ok_or_else(|| nf("Resource"))?.clone();
                        check_part(&part)?;
                        if a.resources.values().any(|r| {
                            r.parent_id.as_deref() == Some(&parent) && r.path_part.as_deref() == Some(&part)
                        }) {
                            return Err(ApigwError::Conflict(format!(
                                "Another resource with the same parent already has this name: {part}"
                            )));
                        }
                        if p.path.ends_with("+}") {
                            return Err(bad("A greedy path variable must be the last segment of a path"));
                        }
                        let path = if p.path == "/" { format!("/{part}") } else { format!("{}/{part}", p.path) };
                        crate::routing::Template::parse(&path).map_err(bad)?;
                        let r = Resource {
                            id: crate::new_id(6),
                            parent_id: Some(parent.clone()),
                            path_part: Some(part),
                            path,
                            resource_methods: Default::default(),
                        };
                        a.resources.insert(r.id.clone(), r.clone());
                        Ok(r)
                    })
                    .await?;
                Ok(to_json(201, &r))
            }
            V1Op::UpdateResource(id, rid, p) => {
                let r = self
                    .change_rest(ctx, &id, |a| {
                        let r = a.resources.get(&rid).ok_or_else(|| nf("Resource"))?;
                        let next = patch::apply(r, &p.patch_operations)?;
                        a.resources.insert(rid.clone(), next.clone());
                        Ok(next)
                    })
                    .await?;
                Ok(to_json(200, &r))
            }
            V1Op::DeleteResource(id, rid) => {
                self.change_rest(ctx, &id, |a| {
                    if a.api.root_resource_id == rid {
                        return Err(bad("Cannot delete the root resource"));
                    }
                    let path = a
                        .resources
                        .get(&rid)
                        .ok_or_else(|| nf("Resource"))?
                        .path
                        .clone();
                    let prefix = format!("{path}/");
                    a.resources
                        .retain(|_, r| r.path != path && !r.path.starts_with(&prefix));
                    Ok(())
                })
                .await?;
                Ok(Response::empty(202))
            }
            V1Op::PutMethod(m, i) => {
                let out = self
                    .change_rest(ctx, &m.api, |a| {
                        if !METHODS.contains(&m.method.as_str()) {
                            return Err(bad(format!(
                                "Invalid HttpMethod specified. Valid options are {}",
                                METHODS.join(",")
                            )));
                        }
                        let auth = i
                            .authorization_type
                            .clone()
                            .ok_or_else(|| bad("Invalid authorization type specified"))?;
                        if !["NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"]
                            .contains(&auth.as_str())
                        {
                            return Err(bad(format!(
                                "Invalid authorization type specified: {auth}"
                            )));
                        }
                        if let Some(au) = &i.authorizer_id {
                            if !a.authorizers.contains_key(au) {
                                return Err(bad(format!("Invalid authorizer ID specified: {au}")));
                            }
                        }
                        if (auth == "CUSTOM" || auth == "COGNITO_USER_POOLS")
                            && i.authorizer_id.is_none()
                        {
                            return Err(bad(format!(
                                "Authorizer ID must be specified for authorization type {auth}"
                            )));
                        }
                        let r = a
                            .resources
                            .get_mut(&m.resource)
                            .ok_or_else(|| nf("Resource"))?;
                        let method = Method {
                            http_method: m.method.clone(),
                            authorization_type: auth,
                            authorizer_id: i.authorizer_id.clone(),
                            api_key_required: i.api_key_required.unwrap_or(false),
                            request_validator_id: i.request_validator_id.clone(),
                            operation_name: i.operation_name.clone(),
                            request_parameters: i.request_parameters.clone(),
                            request_models: i.request_models.clone(),
                            authorization_scopes: i.authorization_scopes.clone(),
                            ..Default::default()
                        };
                        r.resource_methods.insert(m.method.clone(), method.clone());
                        Ok(method)
                    })
                    .await?;
                Ok(to_json(201, &out))
            }
            V1Op::GetMethod(m) => {
                let a = self.read_rest(ctx, &m.api)?;
                let r = a.resources.get(&m.resource).ok_or_else(|| nf("Resource"))?;
                let me = r
                    .resource_methods
                    .get(&m.method)
                    .ok_or_else(|| nf("Method"))?;
                Ok(to_json(200, me))
            }
            V1Op::UpdateMethod(m, p) => {
                let out = self
                    .change_rest(ctx, &m.api, |a| {
                        let me = Self::method_mut(a, &m)?;
                        *me = patch::apply(me, &p.patch_operations)?;
                        Ok(me.clone())
                    })
                    .await?;
                Ok(to_json(200, &out))
            }
            V1Op::DeleteMethod(m) => {
                self.change_rest(ctx, &m.api, |a| {
                    let r = a
                        .resources
                        .get_mut(&m.resource)
                        .ok_or_else(|| nf("Resource"))?;
                    r.resource_methods
                        .remove(&m.method)
                        .ok_or_else(|| nf("Method"))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V1Op::PutMethodResponse(m, code, i) => {
                let out = self
                    .change_rest(ctx, &m.api, |a| {
                        check_status(&code)?;
                        let me = Self::method_mut(a, &m)?;
                        let r = MethodResponse {
                            status_code: code.clone(),
                            response_parameters: i.response_parameters.clone(),
                            response_models: i.response_models.clone(),
                        };
                        me.method_responses.insert(code.clone(), r.clone());
                        Ok(r)
                    })
                    .await?;
                Ok(to_json(201, &out))
            }
            V1Op::GetMethodResponse(m, code) => {
                let a = self.read_rest(ctx, &m.api)?;
                let me = Self::find_method(&a, &m).ok_or_else(|| nf("Method"))?;
                let r = me
                    .method_responses
                    .get(&code)
                    .ok_or_else(|| nf("Response"))?;
                Ok(to_json(200, r))
            }
            V1Op::DeleteMethodResponse(m, code) => {
                self.change_rest(ctx, &m.api, |a| {
                    Self::method_mut(a, &m)?
                        .method_responses
                        .remove(&code)
                        .ok_or_else(|| nf("Response"))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V1Op::PutIntegration(m, i) => {
                let out = self
                    .change_rest(ctx, &m.api, |a| {
                        let me = Self::method_mut(a, &m)?;
                        let integ = integration_from(*i)?;
                        me.method_integration = Some(integ.clone());
                        Ok(integ)
                    })
                    .await?;
                Ok(to_json(201, &out))
            }
            V1Op::GetIntegration(m) => {
                let a = self.read_rest(ctx, &m.api)?;
                let me = Self::find_method(&a, &m).ok_or_else(|| nf("Method"))?;
                let i = me
                    .method_integration
                    .as_ref()
                    .ok_or_else(|| nf("Integration"))?;
                Ok(to_json(200, i))
            }
            V1Op::UpdateIntegration(m, p) => {
                let out = self
                    .change_rest(ctx, &m.api, |a| {
                        let me = Self::method_mut(a, &m)?;
                        let i = me
                            .method_integration
                            .as_ref()
                            .ok_or_else(|| nf("Integration"))?;
                        let next = patch::apply(i, &p.patch_operations)?;
                        me.method_integration = Some(next.clone());
                        Ok(next)
                    })
                    .await?;
                Ok(to_json(200, &out))
            }
            V1Op::DeleteIntegration(m) => {
                self.change_rest(ctx, &m.api, |a| {
                    Self::method_mut(a, &m)?
                        .method_integration
                        .take()
                        .ok_or_else(|| nf("Integration"))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V1Op::PutIntegrationResponse(m, code, i) => {
                let out = self
                    .change_rest(ctx, &m.api, |a| {
                        check_status(&code)?;
                        let me = Self::method_mut(a, &m)?;
                        let integ = me
                            .method_integration
                            .as_mut()
                            .ok_or_else(|| nf("Integration"))?;
                        let r = IntegrationResponse {
                            status_code: code.clone(),
                            selection_pattern: i.selection_pattern.clone(),
                            response_parameters: i.response_parameters.clone(),
                            response_templates: i.response_templates.clone(),
                            content_handling: i.content_handling.clone(),
                        };
                        integ.integration_responses.insert(code.clone(), r.clone());
                        Ok(r)
                    })
                    .await?;
                Ok(to_json(201, &out))
            }
            V1Op::GetIntegrationResponse(m, code) => {
                let a = self.read_rest(ctx, &m.api)?;
                let r = Self::find_method(&a, &m)
                    .and_then(|me| me.method_integration.as_ref())
                    .and_then(|i| i.integration_responses.get(&code))
                    .ok_or_else(|| nf("Response"))?;
                Ok(to_json(200, r))
            }
            V1Op::DeleteIntegrationResponse(m, code) => {
                self.change_rest(ctx, &m.api, |a| {
                    let me = Self::method_mut(a, &m)?;
                    me.method_integration
                        .as_mut()
                        .and_then(|i| i.integration_responses.remove(&code))
                        .ok_or_else(|| nf("Response"))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V1Op::CreateDeployment(id, i) => {
                let now = self.now_secs();
                let d = self
                    .change_rest(ctx, &id, |a| {
                        let has_method =
                            a.resources.values().any(|r| !r.resource_methods.is_empty());
                        if !has_method {
                            return Err(bad("The REST API doesn't contain any methods"));
                        }
                        if let Some(missing) = a.resources.values().find_map(|r| {
                            r.resource_methods
                                .values()
                                .find(|m| m.method_integration.is_none())
                                .map(|m| format!("{} {}", m.http_method, r.path))
                        }) {
                            return Err(bad(format!(
                                "No integration defined for method {missing}"
                            )));
                        }
                        let d = Deployment {
                            id: crate::new_id(6),
                            description: i.description.clone(),
                            created_date: now,
                        };
                        a.snapshots.insert(d.id.clone(), a.resources.clone());
                        a.deployments.insert(d.id.clone(), d.clone());
                        if let Some(name) = &i.stage_name {
                            check_stage_name(name)?;
                            let st = a.stages.entry(name.clone()).or_insert_with(|| Stage {
                                stage_name: name.clone(),
                                cache_cluster_status: "NOT_AVAILABLE".into(),
                                created_date: now,
                                ..Default::default()
                            });
                            st.deployment_id = d.id.clone();
                            st.last_updated_date = now;
                            if let Some(v) = &i.variables {
                                st.variables = v.clone();
                            }
                            if let Some(desc) = &i.stage_description {
                                st.description = Some(desc.clone());
                            }
                            if let Some(c) = i.cache_cluster_enabled {
                                st.cache_cluster_enabled = c;
                                st.cache_cluster_status =
                                    if c { "AVAILABLE" } else { "NOT_AVAILABLE" }.into();
                            }
                        }
                        Ok(d)
                    })
                    .await?;
                self.exec.rest_cache.forget_api(&id);
                Ok(to_json(201, &d))
            }
            V1Op::GetDeployments(id) => {
                let a = self.read_rest(ctx, &id)?;
                Ok(items(&a.deployments.values().cloned().collect::<Vec<_>>()))
            }
            V1Op::GetDeployment(id, d) => {
                let a = self.read_rest(ctx, &id)?;
                Ok(to_json(
                    200,
                    a.deployments.get(&d).ok_or_else(|| nf("Deployment"))?,
                ))
            }
            V1Op::DeleteDeployment(id, d) => {
                self.change_rest(ctx, &id, |a| {
                    if !a.deployments.contains_key(&d) {
                        return Err(nf("Deployment"));
                    }
                    if a.stages.values().any(|s| s.deployment_id == d) {
                        return Err(bad(
                            "Active stages pointing to this deployment must be moved or deleted",
                        ));
                    }
                    a.deployments.remove(&d);
                    a.snapshots.remove(&d);
                    Ok(())
                })
                .await?;
                Ok(Response::empty(202))
            }
            V1Op::CreateStage(id, i) => {
                let now = self.now_secs();
                let st = self
                    .change_rest(ctx, &id, |a| {
                        let name = i
                            .stage_name
                            .clone()
                            .ok_or_else(|| bad("Stage name must be specified"))?;
                        check_stage_name(&name)?;
                        let dep = i
                            .deployment_id
                            .clone()
                            .ok_or_else(|| bad("Deployment id must be specified"))?;
                        if !a.deployments.contains_key(&dep) {
                            return Err(nf("Deployment"));
                        }
                        if a.stages.contains_key(&name) {
                            return Err(ApigwError::Conflict("Stage already exists".into()));
                        }
                        let enabled = i.cache_cluster_enabled.unwrap_or(false);
                        let st = Stage {
                            deployment_id: dep,
                            stage_name: name.clone(),
                            description: i.description.clone(),
                            cache_cluster_enabled: enabled,
                            cache_cluster_size: i.cache_cluster_size.clone(),
                            cache_cluster_status: if enabled {
                                "AVAILABLE"
                            } else {
                                "NOT_AVAILABLE"
                            }
                            .into(),
                            variables: i.variables.clone().unwrap_or_default(),
                            tracing_enabled: i.tracing_enabled.unwrap_or(false),
                            tags: i.tags.clone().unwrap_or_default(),
                            created_date: now,
                            last_updated_date: now,
                            ..Default::default()
                        };
                        a.stages.insert(name, st.clone());
                        Ok(st)
                    })
                    .await?;
                Ok(to_json(201, &st))
            }
            V1Op::GetStages(id) => {
                let a = self.read_rest(ctx, &id)?;
                Ok(Response::json(
                    200,
                    &serde_json::json!({ "item": a.stages.values().collect::<Vec<_>>() }),
                ))
            }
            V1Op::GetStage(id, n) => {
                let a = self.read_rest(ctx, &id)?;
                Ok(to_json(200, a.stages.get(&n).ok_or_else(|| nf("Stage"))?))
            }
            V1Op::UpdateStage(id, n, p) => {
                let now = self.now_secs();
                let st = self
                    .change_rest(ctx, &id, |a| {
                        let st = a.stages.get(&n).ok_or_else(|| nf("Stage"))?.clone();
                        let next = patch_stage(&st, &p.patch_operations)?;
                        if !a.deployments.contains_key(&next.deployment_id) {
                            return Err(nf("Deployment"));
                        }
                        let mut next = next;
                        next.last_updated_date = now;
                        a.stages.insert(n.clone(), next.clone());
                        Ok(next)
                    })
                    .await?;
                self.forget_stage_state(&id, &n);
                self.exec.rest_cache.forget_api(&id);
                Ok(to_json(200, &st))
            }
            V1Op::DeleteStage(id, n) => {
                self.change_rest(ctx, &id, |a| {
                    a.stages.remove(&n).ok_or_else(|| nf("Stage"))?;
                    Ok(())
                })
                .await?;
                self.forget_stage_state(&id, &n);
                Ok(Response::empty(202))
            }
            V1Op::FlushStageCache(id, n) => {
                let a = self.read_rest(ctx, &id)?;
                a.stages.get(&n).ok_or_else(|| nf("Stage"))?;
                self.exec.rest_cache.forget_api(&id);
                Ok(Response::empty(202))
            }
            V1Op::CreateAuthorizer(id, i) => {
                let au = self
                    .change_rest(ctx, &id, |a| {
                        let au = authorizer_from(*i)?;
                        a.authorizers.insert(au.id.clone(), au.clone());
                        Ok(au)
                    })
                    .await?;
                Ok(to_json(201, &au))
            }
            V1Op::GetAuthorizers(id) => {
                let a = self.read_rest(ctx, &id)?;
                Ok(items(&a.authorizers.values().cloned().collect::<Vec<_>>()))
            }
            V1Op::GetAuthorizer(id, au) => {
                let a = self.read_rest(ctx, &id)?;
                Ok(to_json(
                    200,
                    a.authorizers.get(&au).ok_or_else(|| nf("Authorizer"))?,
                ))
            }
            V1Op::UpdateAuthorizer(id, au, p) => {
                let out = self
                    .change_rest(ctx, &id, |a| {
                        let cur = a.authorizers.get(&au).ok_or_else(|| nf("Authorizer"))?;
                        let next = patch::apply(cur, &p.patch_operations)?;
                        a.authorizers.insert(au.clone(), next.clone());
                        Ok(next)
                    })
                    .await?;
                self.exec.auth_cache.clear_api(&id);
                Ok(to_json(200, &out))
            }
            V1Op::DeleteAuthorizer(id, au) => {
                self.change_rest(ctx, &id, |a| {
                    let used = a.resources.values().any(|r| {
                        r.resource_methods
                            .values()
                            .any(|m| m.authorizer_id.as_deref() == Some(&au))
                    });
                    if used {
                        return Err(ApigwError::Conflict(
                            "Cannot delete authorizer, is referenced in method".into(),
                        ));
                    }
                    a.authorizers.remove(&au).ok_or_else(|| nf("Authorizer"))?;
                    Ok(())
                })
                .await?;
                Ok(Response::empty(202))
            }
            V1Op::Keys(op) => self.handle_keys(ctx, op).await,
            V1Op::GetTags(arn) => {
                let id = rest_of_arn(ctx, &arn)?;
                let a = self.read_rest(ctx, &id)?;
                Ok(Response::json(
                    200,
                    &serde_json::json!({ "tags": a.api.tags }),
                ))
            }
            V1Op::TagResource(arn, tags) => {
                let id = rest_of_arn(ctx, &arn)?;
                self.change_rest(ctx, &id, |a| {
                    a.api.tags.extend(tags);
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
            V1Op::UntagResource(arn, keys) => {
                let id = rest_of_arn(ctx, &arn)?;
                self.change_rest(ctx, &id, |a| {
                    for k in &keys {
                        a.api.tags.remove(k);
                    }
                    Ok(())
                })
                .await?;
                Ok(Response::empty(204))
            }
        }
    }
}

/// `binaryMediaTypes` patches use paths like `/binaryMediaTypes/image~1png`.
fn binary_types_ops(api: &mut RestApi, ops: &[PatchOp]) -> Vec<PatchOp> {
    let mut rest = Vec::new();
    for op in ops {
        if let Some(t) = op.path.strip_prefix("/binaryMediaTypes/") {
            let t = t.replace("~1", "/").replace("~0", "~");
            let list = api.binary_media_types.get_or_insert_with(Vec::new);
            match op.op.as_str() {
                "add" if !list.contains(&t) => list.push(t),
                "remove" => list.retain(|x| *x != t),
                _ => {}
            }
        } else {
            rest.push(op.clone());
        }
    }
    rest
}

fn rest_of_arn(ctx: &RequestContext, arn: &str) -> Result<String> {
    let path = arn
        .strip_prefix(&format!("arn:aws:apigateway:{}::", ctx.region))
        .ok_or_else(|| bad(format!("Invalid resource ARN: {arn}")))?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["restapis", id, ..] => Ok(id.to_string()),
        _ => Err(bad(format!("Invalid resource ARN: {arn}"))),
    }
}

fn view(r: &Resource, embed: bool) -> Resource {
    let mut r = r.clone();
    if !embed {
        // Without embed=methods, methods are listed by name only.
        for m in r.resource_methods.values_mut() {
            *m = Method {
                http_method: m.http_method.clone(),
                authorization_type: m.authorization_type.clone(),
                api_key_required: m.api_key_required,
                ..Default::default()
            };
        }
    }
    r
}

fn check_part(part: &str) -> Result<()> {
    let ok =
        !part.is_empty() && !part.contains('/') && (part.starts_with('{') == part.ends_with('}'));
    if !ok {
        return Err(bad(format!(
            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace. ({part})"
        )));
    }
    Ok(())
}

fn check_status(code: &str) -> Result<()> {
    if code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit())
        && code.as_bytes()[0] >= b'1'
        && code.as_bytes()[0] <= b'5'
    {
        Ok(())
    } else {
        Err(bad(format!("Invalid status code: {code}")))
    }
}

fn check_stage_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad("Stage name only allows a-zA-Z0-9_"))
    }
}

pub(crate) fn integration_from(i: PutIntegrationInput) -> Result<Integration> {
    let kind = i
        .kind
        .ok_or_else(|| bad("Enumeration value for Integration type must be non-empty"))?;
    if !["AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"].contains(&kind.as_str()) {
        return Err(bad(format!("Invalid integration type specified: {kind}")));
    }
    match kind.as_str() {
        "AWS_PROXY" => {
            let uri = i.uri.as_deref().unwrap_or("");
            if crate::v2::apply::lambda_target(uri).is_none() {
                return Err(bad("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."));
            }
            if i.http_method.is_none() {
                return Err(bad("Enumeration value for HttpMethod must be non-empty"));
            }
        }
        "HTTP" | "HTTP_PROXY" => {
            let uri = i.uri.as_deref().unwrap_or("");
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err(bad("Invalid HTTP endpoint specified for URI"));
            }
            if i.http_method.is_none() {
                return Err(bad("Enumeration value for HttpMethod must be non-empty"));
            }
        }
        _ => {}
    }
    let timeout = i.timeout_in_millis.unwrap_or(29_000);
    if !(50..=29_000).contains(&timeout) {
        return Err(bad("Timeout should be between 50 ms and 29000 ms"));
    }
    Ok(Integration {
        kind,
        http_method: i.http_method,
        uri: i.uri,
        connection_type: i.connection_type.unwrap_or_else(|| "INTERNET".into()),
        connection_id: i.connection_id,
        credentials: i.credentials,
        request_parameters: i.request_parameters,
        request_templates: i.request_templates,
        passthrough_behavior: i
            .passthrough_behavior
            .unwrap_or_else(|| "WHEN_NO_MATCH".into()),
        content_handling: i.content_handling,
        timeout_in_millis: timeout,
        cache_namespace: i.cache_namespace.unwrap_or_else(|| crate::new_id(6)),
        cache_key_parameters: i.cache_key_parameters.unwrap_or_default(),
        integration_responses: Default::default(),
    })
}

pub(crate) fn authorizer_from(i: AuthorizerInput) -> Result<Authorizer> {
    let name = i
        .name
        .ok_or_else(|| bad("Authorizer name must be specified"))?;
    let kind = i
        .kind
        .ok_or_else(|| bad("Authorizer type must be specified"))?;
    match kind.as_str() {
        "TOKEN" | "REQUEST" => {
            let uri = i.authorizer_uri.as_deref().unwrap_or("");
            if crate::v2::apply::lambda_target(uri).is_none() {
                return Err(bad(format!("Invalid Authorizer URI: {uri}")));
            }
        }
        "COGNITO_USER_POOLS" => {
            if i.provider_arns.as_ref().is_none_or(|p| p.is_empty()) {
                return Err(bad(
                    "ProviderARNs must be specified for COGNITO_USER_POOLS authorizers",
                ));
            }
        }
        other => return Err(bad(format!("Invalid authorizer type: {other}"))),
    }
    let identity = match (kind.as_str(), i.identity_source) {
        ("TOKEN", None) | ("COGNITO_USER_POOLS", None) => {
            return Err(bad("Identity source must be specified"))
        }
        (_, s) => s,
    };
    let ttl = i.authorizer_result_ttl_in_seconds.unwrap_or(300);
    if !(0..=3600).contains(&ttl) {
        return Err(bad("Authorizer TTL must be between 0 and 3600 seconds"));
    }
    Ok(Authorizer {
        id: crate::new_id(6),
        name,
        kind,
        provider_arns: i.provider_arns,
        auth_type: i.auth_type,
        authorizer_uri: i.authorizer_uri,
        authorizer_credentials: i.authorizer_credentials,
        identity_source: identity,
        identity_validation_expression: i.identity_validation_expression,
        authorizer_result_ttl_in_seconds: ttl,
    })
}

/// Stage patches: `/variables/x`, `/description`, `/deploymentId`,
/// `/cacheClusterEnabled`, and method settings at
/// `/{resourcePath}/{METHOD}/{group}/{setting}` (`/*/*/throttling/rateLimit`).
fn patch_stage(st: &Stage, ops: &[PatchOp]) -> Result<Stage> {
    let mut st = st.clone();
    let mut plain = Vec::new();
    for op in ops {
        let segs = patch::segments(&op.path);
        let value = op.value.clone().unwrap_or_default();
        if segs.len() == 4 && !["variables", "tags"].contains(&segs[0].as_str()) {
            let key = format!("{}/{}", segs[0].trim_start_matches('/'), segs[1]);
            let setting = st
                .method_settings
                .entry(key.clone())
                .or_insert_with(MethodSetting::defaults);
            let num = |v: &str| {
                v.parse::<f64>()
                    .map_err(|_| bad(format!("Invalid value for {}: {v}", op.path)))
            };
            let flag = |v: &str| {
                v.parse::<bool>()
                    .map_err(|_| bad(format!("Invalid value for {}: {v}", op.path)))
            };
            if op.op == "remove" {
                st.method_settings.remove(&key);
                continue;
            }
            match (segs[2].as_str(), segs[3].as_str()) {
                ("throttling", "rateLimit") => setting.throttling_rate_limit = num(&value)?,
                ("throttling", "burstLimit") => {
                    setting.throttling_burst_limit = num(&value)? as i64
                }
                ("caching", "enabled") => setting.caching_enabled = flag(&value)?,
                ("caching", "ttlInSeconds") => setting.cache_ttl_in_seconds = num(&value)? as i64,
                ("caching", "dataEncrypted") => setting.cache_data_encrypted = flag(&value)?,
                ("caching", "requireAuthorizationForCacheControl") => {
                    setting.require_authorization_for_cache_control = flag(&value)?
                }
                ("metrics", "enabled") => setting.metrics_enabled = flag(&value)?,
                ("logging", "loglevel") => setting.logging_level = value,
                ("logging", "dataTrace") => setting.data_trace_enabled = flag(&value)?,
                _ => return Err(bad(format!("Invalid patch path {}", op.path))),
            }
        } else if op.path == "/cacheClusterEnabled" {
            st.cache_cluster_enabled = value == "true";
            st.cache_cluster_status = if st.cache_cluster_enabled {
                "AVAILABLE"
            } else {
                "NOT_AVAILABLE"
            }
            .into();
        } else {
            plain.push(op.clone());
        }
    }
    patch::apply(&st, &plain)
}
