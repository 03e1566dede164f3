//! ImportRestApi and PutRestApi: REST APIs from OpenAPI 3 or Swagger 2
//! documents with API Gateway's extensions (`x-amazon-apigateway-integration`,
//! `-authorizer`, `-authtype`, `-binary-media-types`, `-api-key-source`).

use super::model::*;
use super::CreateRestApiInput;
use crate::error::{bad, Result};
use crate::v2::openapi::{parse_document, str_of as text};
use crate::ApiGateway;
use serde_json::{Map, Value};
use serval_core::RequestContext;
use std::collections::BTreeMap;

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

fn obj(v: Option<&Value>) -> Option<Map<String, Value>> {
    v.and_then(Value::as_object).cloned()
}

struct Security {
    authorizers: BTreeMap<String, Authorizer>,
    iam: Vec<String>,
    api_key: Vec<String>,
}

fn security_of(doc: &Value) -> Security {
    let schemes = doc
        .pointer("/components/securitySchemes")
        .or_else(|| doc.get("securityDefinitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut s = Security {
        authorizers: BTreeMap::new(),
        iam: Vec::new(),
        api_key: Vec::new(),
    };
    for (name, scheme) in schemes {
        if text(scheme.get("x-amazon-apigateway-authtype")).as_deref() == Some("awsSigv4") {
            s.iam.push(name);
            continue;
        }
        if let Some(a) = scheme.get("x-amazon-apigateway-authorizer") {
            let kind = text(a.get("type")).unwrap_or_default().to_ascii_uppercase();
            let kind = match kind.as_str() {
                "COGNITO_USER_POOLS" | "REQUEST" => kind,
                _ => "TOKEN".to_string(),
            };
            let identity = text(a.get("identitySource")).or_else(|| {
                (kind == "TOKEN").then(|| {
                    format!(
                        "method.request.header.{}",
                        text(scheme.get("name")).unwrap_or_else(|| "Authorization".into())
                    )
                })
            });
            s.authorizers.insert(
                name.clone(),
                Authorizer {
                    id: crate::new_id(6),
                    name: name.clone(),
                    kind,
                    provider_arns: a.get("providerARNs").and_then(Value::as_array).map(|v| {
                        v.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    }),
                    auth_type: text(scheme.get("x-amazon-apigateway-authtype")),
                    authorizer_uri: text(a.get("authorizerUri")),
                    authorizer_credentials: text(a.get("authorizerCredentials")),
                    identity_source: identity,
                    identity_validation_expression: text(a.get("identityValidationExpression")),
                    authorizer_result_ttl_in_seconds: a
                        .get("authorizerResultTtlInSeconds")
                        .and_then(Value::as_i64)
                        .unwrap_or(300),
                },
            );
            continue;
        }
        if text(scheme.get("type")).as_deref() == Some("apiKey")
            && text(scheme.get("name")).is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
        {
            s.api_key.push(name);
        }
    }
    s
}

fn integration_of(x: &Value) -> Result<Integration> {
    let mut i = super::ops::integration_from(super::PutIntegrationInput {
        kind: text(x.get("type")).map(|t| t.to_ascii_uppercase()),
        http_method: text(x.get("httpMethod")).or_else(|| {
            (text(x.get("type")).is_some_and(|t| t.eq_ignore_ascii_case("aws_proxy")))
                .then(|| "POST".into())
        }),
        uri: text(x.get("uri")),
        connection_type: text(x.get("connectionType")),
        request_parameters: obj(x.get("requestParameters")),
        request_templates: obj(x.get("requestTemplates")),
        passthrough_behavior: text(x.get("passthroughBehavior")).map(|p| p.to_ascii_uppercase()),
        cache_key_parameters: x
            .get("cacheKeyParameters")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            }),
        timeout_in_millis: x.get("timeoutInMillis").and_then(Value::as_i64),
        content_handling: text(x.get("contentHandling")),
        ..Default::default()
    })?;
    if let Some(Value::Object(responses)) = x.get("responses") {
        for (pattern, r) in responses {
            let Some(code) = text(r.get("statusCode")) else {
                continue;
            };
            i.integration_responses.insert(
                code.clone(),
                IntegrationResponse {
                    status_code: code,
                    selection_pattern: (pattern != "default").then(|| pattern.clone()),
                    response_parameters: obj(r.get("responseParameters")),
                    response_templates: obj(r.get("responseTemplates")),
                    content_handling: text(r.get("contentHandling")),
                },
            );
        }
    }
    Ok(i)
}

/// Resources and authorizers a document defines, rooted at `root`.
fn build(
    doc: &Value,
    root: &Resource,
) -> Result<(BTreeMap<String, Resource>, BTreeMap<String, Authorizer>)> {
    let sec = security_of(doc);
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    resources.insert(
        root.id.clone(),
        Resource {
            resource_methods: BTreeMap::new(),
            ..root.clone()
        },
    );
    let mut by_path: BTreeMap<String, String> = BTreeMap::new();
    by_path.insert("/".into(), root.id.clone());
    let default_security = doc.get("security").cloned();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (path, item) in &paths {
        crate::routing::Template::parse(path).map_err(bad)?;
        let mut cur = "/".to_string();
        let mut parent = root.id.clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let next = if cur == "/" {
                format!("/{part}")
            } else {
                format!("{cur}/{part}")
            };
            let id = match by_path.get(&next) {
                Some(id) => id.clone(),
                None => {
                    let id = crate::new_id(6);
                    resources.insert(
                        id.clone(),
                        Resource {
                            id: id.clone(),
                            parent_id: Some(parent.clone()),
                            path_part: Some(part.to_string()),
                            path: next.clone(),
                            resource_methods: BTreeMap::new(),
                        },
                    );
                    by_path.insert(next.clone(), id.clone());
                    id
                }
            };
            parent = id;
            cur = next;
        }
        let Value::Object(ops) = item else { continue };
        for (verb, op) in ops {
            let method = if verb == "x-amazon-apigateway-any-method" {
                "ANY".to_string()
            } else if METHODS.contains(&verb.as_str()) {
                verb.to_ascii_uppercase()
            } else {
                continue;
            };
            let mut m = Method {
                http_method: method.clone(),
                authorization_type: "NONE".into(),
                operation_name: text(op.get("operationId")),
                ..Default::default()
            };
            if let Some(Value::Array(reqs)) = op.get("security").or(default_security.as_ref()) {
                for req in reqs {
                    let Value::Object(req) = req else { continue };
                    for (name, scopes) in req {
                        if sec.iam.contains(name) {
                            m.authorization_type = "AWS_IAM".into();
                        } else if sec.api_key.contains(name) {
                            m.api_key_required = true;
                        } else if let Some(a) = sec.authorizers.get(name) {
                            m.authorization_type = if a.kind == "COGNITO_USER_POOLS" {
                                a.kind.clone()
                            } else {
                                "CUSTOM".into()
                            };
                            m.authorizer_id = Some(a.id.clone());
                            let s: Vec<String> = scopes
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|x| x.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default();
                            if !s.is_empty() {
                                m.authorization_scopes = Some(s);
                            }
                        }
                    }
                }
            }
            if let Some(x) = op.get("x-amazon-apigateway-integration") {
                m.method_integration = Some(integration_of(x)?);
            }
            if let Some(Value::Object(responses)) = op.get("responses") {
                for code in responses
                    .keys()
                    .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
                {
                    m.method_responses.insert(
                        code.clone(),
                        MethodResponse {
                            status_code: code.clone(),
                            ..Default::default()
                        },
                    );
                }
            }
            if let Some(r) = resources.get_mut(&parent) {
                r.resource_methods.insert(method, m);
            }
        }
    }
    let authorizers = sec
        .authorizers
        .into_values()
        .map(|a| (a.id.clone(), a))
        .collect();
    Ok((resources, authorizers))
}

fn api_settings(doc: &Value, api: &mut RestApi) {
    if let Some(Value::Array(types)) = doc.get("x-amazon-apigateway-binary-media-types") {
        api.binary_media_types = Some(
            types
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        );
    }
    if let Some(src) = text(doc.get("x-amazon-apigateway-api-key-source")) {
        api.api_key_source = src.to_ascii_uppercase();
    }
    if let Some(d) = text(doc.pointer("/info/description")) {
        api.description = Some(d);
    }
    if let Some(v) = text(doc.pointer("/info/version")) {
        api.version = Some(v);
    }
}

/// ImportRestApi.
pub async fn import_new(gw: &ApiGateway, ctx: &RequestContext, body: &str) -> Result<RestApiRec> {
    let doc = parse_document(body)?;
    let name = text(doc.pointer("/info/title"))
        .ok_or_else(|| bad("Invalid OpenAPI input: info.title is required"))?;
    let created = gw
        .create_rest_api(
            ctx,
            CreateRestApiInput {
                name: Some(name),
                ..Default::default()
            },
        )
        .await?;
    put(gw, ctx, &created.api.id, "overwrite", body).await
}

/// PutRestApi (`mode` `overwrite` or `merge`).
pub async fn put(
    gw: &ApiGateway,
    ctx: &RequestContext,
    id: &str,
    mode: &str,
    body: &str,
) -> Result<RestApiRec> {
    let doc = parse_document(body)?;
    if mode != "overwrite" && mode != "merge" {
        return Err(bad(format!("Invalid mode: {mode}; overwrite or merge")));
    }
    gw.change_rest(ctx, id, |a| {
        let root = a
            .resources
            .get(&a.api.root_resource_id)
            .cloned()
            .ok_or_else(|| bad("The API has no root resource"))?;
        let (resources, authorizers) = build(&doc, &root)?;
        if mode == "overwrite" {
            a.resources = resources;
            a.authorizers = authorizers;
            if let Some(t) = text(doc.pointer("/info/title")) {
                a.api.name = t;
            }
        } else {
            // Parents first, so each new resource's parent is already mapped
            // onto the existing tree.
            let mut new: Vec<Resource> = resources.into_values().collect();
            new.sort_by_key(|r| r.path.len());
            let mut ids: BTreeMap<String, String> = BTreeMap::new();
            for mut r in new {
                match a.resources.values_mut().find(|x| x.path == r.path) {
                    Some(existing) => {
                        ids.insert(r.id.clone(), existing.id.clone());
                        existing.resource_methods.extend(r.resource_methods);
                    }
                    None => {
                        if let Some(p) = r.parent_id.as_ref().and_then(|p| ids.get(p)) {
                            r.parent_id = Some(p.clone());
                        }
                        ids.insert(r.id.clone(), r.id.clone());
                        a.resources.insert(r.id.clone(), r);
                    }
                }
            }
            a.authorizers.extend(authorizers);
        }
        api_settings(&doc, &mut a.api);
        Ok(a.clone())
    })
    .await
}
