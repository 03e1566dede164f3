//! The apigateway management API (REST APIs): requests parsed into typed
//! [`V1Op`]s, answered by the handlers in [`ops`] and [`keys`]; OpenAPI
//! import in [`import`]; JSON-patch updates in [`patch`].

pub mod import;
pub mod keys;
pub mod model;
pub mod ops;
pub mod patch;

use crate::error::{bad, ApigwError, Result};
use http::Method as HttpMethod;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use serval_wire::Request;
use std::collections::BTreeMap;

/// `{ "patchOperations": [...] }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchInput {
    /// The operations.
    #[serde(default)]
    pub patch_operations: Vec<patch::PatchOp>,
}

/// CreateRestApi's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestApiInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub binary_media_types: Option<Vec<String>>,
    pub minimum_compression_size: Option<i64>,
    pub api_key_source: Option<String>,
    pub endpoint_configuration: Option<Value>,
    pub policy: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub disable_execute_api_endpoint: Option<bool>,
}

/// PutMethod's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMethodInput {
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    pub api_key_required: Option<bool>,
    pub operation_name: Option<String>,
    pub request_parameters: Option<Map<String, Value>>,
    pub request_models: Option<Map<String, Value>>,
    pub request_validator_id: Option<String>,
    pub authorization_scopes: Option<Vec<String>>,
}

/// PutIntegration's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutIntegrationInput {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub http_method: Option<String>,
    pub uri: Option<String>,
    pub connection_type: Option<String>,
    pub connection_id: Option<String>,
    pub credentials: Option<String>,
    pub request_parameters: Option<Map<String, Value>>,
    pub request_templates: Option<Map<String, Value>>,
    pub passthrough_behavior: Option<String>,
    pub cache_namespace: Option<String>,
    pub cache_key_parameters: Option<Vec<String>>,
    pub content_handling: Option<String>,
    pub timeout_in_millis: Option<i64>,
}

/// PutMethodResponse / PutIntegrationResponse body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseInput {
    pub selection_pattern: Option<String>,
    pub response_parameters: Option<Map<String, Value>>,
    pub response_templates: Option<Map<String, Value>>,
    pub response_models: Option<Map<String, Value>>,
    pub content_handling: Option<String>,
}

/// CreateDeployment's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInput {
    pub stage_name: Option<String>,
    pub stage_description: Option<String>,
    pub description: Option<String>,
    pub cache_cluster_enabled: Option<bool>,
    pub cache_cluster_size: Option<String>,
    pub variables: Option<BTreeMap<String, String>>,
    pub tracing_enabled: Option<bool>,
}

/// CreateStage's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub cache_cluster_enabled: Option<bool>,
    pub cache_cluster_size: Option<String>,
    pub variables: Option<BTreeMap<String, String>>,
    pub tracing_enabled: Option<bool>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateAuthorizer's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(rename = "providerARNs")]
    pub provider_arns: Option<Vec<String>>,
    pub auth_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials: Option<String>,
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
}

/// Where an operation on a method points.
#[derive(Debug, Clone)]
pub struct MethodRef {
    pub api: String,
    pub resource: String,
    pub method: String,
}

/// One apigateway (v1) operation.
#[derive(Debug)]
pub enum V1Op {
    CreateRestApi(Box<CreateRestApiInput>),
    ImportRestApi(String),
    PutRestApi(String, String, String),
    GetRestApis,
    GetRestApi(String),
    UpdateRestApi(String, PatchInput),
    DeleteRestApi(String),
    GetResources(String, bool),
    GetResource(String, String, bool),
    CreateResource(String, String, Option<String>),
    UpdateResource(String, String, PatchInput),
    DeleteResource(String, String),
    PutMethod(MethodRef, Box<PutMethodInput>),
    GetMethod(MethodRef),
    UpdateMethod(MethodRef, PatchInput),
    DeleteMethod(MethodRef),
    PutMethodResponse(MethodRef, String, Box<ResponseInput>),
    GetMethodResponse(MethodRef, String),
    DeleteMethodResponse(MethodRef, String),
    PutIntegration(MethodRef, Box<PutIntegrationInput>),
    GetIntegration(MethodRef),
    UpdateIntegration(MethodRef, PatchInput),
    DeleteIntegration(MethodRef),
    PutIntegrationResponse(MethodRef, String, Box<ResponseInput>),
    GetIntegrationResponse(MethodRef, String),
    DeleteIntegrationResponse(MethodRef, String),
    CreateDeployment(String, Box<DeploymentInput>),
    GetDeployments(String),
    GetDeployment(String, String),
    DeleteDeployment(String, String),
    CreateStage(String, Box<StageInput>),
    GetStages(String),
    GetStage(String, String),
    UpdateStage(String, String, PatchInput),
    DeleteStage(String, String),
    FlushStageCache(String, String),
    CreateAuthorizer(String, Box<AuthorizerInput>),
    GetAuthorizers(String),
    GetAuthorizer(String, String),
    UpdateAuthorizer(String, String, PatchInput),
    DeleteAuthorizer(String, String),
    Keys(keys::KeyOp),
    GetTags(String),
    TagResource(String, BTreeMap<String, String>),
    UntagResource(String, Vec<String>),
}

pub(crate) fn json<T: DeserializeOwned + Default>(req: &Request) -> Result<T> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&req.body).map_err(|e| bad(format!("Invalid request body: {e}")))
}

/// Whether a path belongs to the apigateway (v1) API.
pub fn owns_path(path: &str) -> bool {
    let user_request = path.splitn(5, '/').nth(4) == Some("_user_request_");
    let rest_apis = path == "/restapis" || path.starts_with("/restapis/");
    (rest_apis && !user_request)
        || path == "/apikeys"
        || path.starts_with("/apikeys/")
        || path == "/usageplans"
        || path.starts_with("/usageplans/")
        || path.starts_with("/tags/")
}

#[derive(Deserialize, Default)]
struct TagsBody {
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ResourceBody {
    path_part: Option<String>,
}

/// Parses a request into an operation.
pub fn parse(req: &Request) -> Result<V1Op> {
    let segs = req.path_segments();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let s = |x: &&str| x.to_string();
    let m = &req.method;
    let mref = |a: &&str, r: &&str, meth: &&str| MethodRef {
        api: a.to_string(),
        resource: r.to_string(),
        method: meth.to_ascii_uppercase(),
    };
    let body_text = || String::from_utf8_lossy(&req.body).into_owned();
    let embed_methods = req
        .query_pairs()
        .iter()
        .any(|(k, v)| k == "embed" && v == "methods");
    let op = match (m, seg.as_slice()) {
        (&HttpMethod::POST, ["restapis"])
            if req.query_param("mode").as_deref() == Some("import") =>
        {
            V1Op::ImportRestApi(body_text())
        }
        (&HttpMethod::POST, ["restapis"]) => V1Op::CreateRestApi(Box::new(json(req)?)),
        (&HttpMethod::GET, ["restapis"]) => V1Op::GetRestApis,
        (&HttpMethod::GET, ["restapis", a]) => V1Op::GetRestApi(s(a)),
        (&HttpMethod::PUT, ["restapis", a]) => V1Op::PutRestApi(
            s(a),
            req.query_param("mode").unwrap_or_else(|| "merge".into()),
            body_text(),
        ),
        (&HttpMethod::PATCH, ["restapis", a]) => V1Op::UpdateRestApi(s(a), json(req)?),
        (&HttpMethod::DELETE, ["restapis", a]) => V1Op::DeleteRestApi(s(a)),
        (&HttpMethod::GET, ["restapis", a, "resources"]) => V1Op::GetResources(s(a), embed_methods),
        (&HttpMethod::GET, ["restapis", a, "resources", r]) => {
            V1Op::GetResource(s(a), s(r), embed_methods)
        }
        (&HttpMethod::POST, ["restapis", a, "resources", r]) => {
            let b: ResourceBody = json(req)?;
            V1Op::CreateResource(s(a), s(r), b.path_part)
        }
        (&HttpMethod::PATCH, ["restapis", a, "resources", r]) => {
            V1Op::UpdateResource(s(a), s(r), json(req)?)
        }
        (&HttpMethod::DELETE, ["restapis", a, "resources", r]) => V1Op::DeleteResource(s(a), s(r)),
        (_, ["restapis", a, "resources", r, "methods", me]) => match *m {
            HttpMethod::PUT => V1Op::PutMethod(mref(a, r, me), Box::new(json(req)?)),
            HttpMethod::GET => V1Op::GetMethod(mref(a, r, me)),
            HttpMethod::PATCH => V1Op::UpdateMethod(mref(a, r, me), json(req)?),
            HttpMethod::DELETE => V1Op::DeleteMethod(mref(a, r, me)),
            _ => return Err(unknown(req)),
        },
        (_, ["restapis", a, "resources", r, "methods", me, "responses", code]) => match *m {
            HttpMethod::PUT => {
                V1Op::PutMethodResponse(mref(a, r, me), s(code), Box::new(json(req)?))
            }
            HttpMethod::GET => V1Op::GetMethodResponse(mref(a, r, me), s(code)),
            HttpMethod::DELETE => V1Op::DeleteMethodResponse(mref(a, r, me), s(code)),
            _ => return Err(unknown(req)),
        },
        (_, ["restapis", a, "resources", r, "methods", me, "integration"]) => match *m {
            HttpMethod::PUT => V1Op::PutIntegration(mref(a, r, me), Box::new(json(req)?)),
            HttpMethod::GET => V1Op::GetIntegration(mref(a, r, me)),
            HttpMethod::PATCH => V1Op::UpdateIntegration(mref(a, r, me), json(req)?),
            HttpMethod::DELETE => V1Op::DeleteIntegration(mref(a, r, me)),
            _ => return Err(unknown(req)),
        },
        (_, ["restapis", a, "resources", r, "methods", me, "integration", "responses", code]) => {
            match *m {
                HttpMethod::PUT => {
                    V1Op::PutIntegrationResponse(mref(a, r, me), s(code), Box::new(json(req)?))
                }
                HttpMethod::GET => V1Op::GetIntegrationResponse(mref(a, r, me), s(code)),
                HttpMethod::DELETE => V1Op::DeleteIntegrationResponse(mref(a, r, me), s(code)),
                _ => return Err(unknown(req)),
            }
        }
        (&HttpMethod::POST, ["restapis", a, "deployments"]) => {
            V1Op::CreateDeployment(s(a), Box::new(json(req)?))
        }
        (&HttpMethod::GET, ["restapis", a, "deployments"]) => V1Op::GetDeployments(s(a)),
        (&HttpMethod::GET, ["restapis", a, "deployments", d]) => V1Op::GetDeployment(s(a), s(d)),
        (&HttpMethod::DELETE, ["restapis", a, "deployments", d]) => {
            V1Op::DeleteDeployment(s(a), s(d))
        }
        (&HttpMethod::POST, ["restapis", a, "stages"]) => {
            V1Op::CreateStage(s(a), Box::new(json(req)?))
        }
        (&HttpMethod::GET, ["restapis", a, "stages"]) => V1Op::GetStages(s(a)),
        (&HttpMethod::GET, ["restapis", a, "stages", n]) => V1Op::GetStage(s(a), s(n)),
        (&HttpMethod::PATCH, ["restapis", a, "stages", n]) => {
            V1Op::UpdateStage(s(a), s(n), json(req)?)
        }
        (&HttpMethod::DELETE, ["restapis", a, "stages", n]) => V1Op::DeleteStage(s(a), s(n)),
        (&HttpMethod::DELETE, ["restapis", a, "stages", n, "cache", "data"]) => {
            V1Op::FlushStageCache(s(a), s(n))
        }
        (&HttpMethod::POST, ["restapis", a, "authorizers"]) => {
            V1Op::CreateAuthorizer(s(a), Box::new(json(req)?))
        }
        (&HttpMethod::GET, ["restapis", a, "authorizers"]) => V1Op::GetAuthorizers(s(a)),
        (&HttpMethod::GET, ["restapis", a, "authorizers", i]) => V1Op::GetAuthorizer(s(a), s(i)),
        (&HttpMethod::PATCH, ["restapis", a, "authorizers", i]) => {
            V1Op::UpdateAuthorizer(s(a), s(i), json(req)?)
        }
        (&HttpMethod::DELETE, ["restapis", a, "authorizers", i]) => {
            V1Op::DeleteAuthorizer(s(a), s(i))
        }
        (_, ["apikeys", ..]) | (_, ["usageplans", ..]) => V1Op::Keys(keys::parse(req, &seg)?),
        (&HttpMethod::GET, ["tags", arn]) => V1Op::GetTags(s(arn)),
        (&HttpMethod::PUT, ["tags", arn]) => {
            let t: TagsBody = json(req)?;
            V1Op::TagResource(s(arn), t.tags.unwrap_or_default())
        }
        (&HttpMethod::DELETE, ["tags", arn]) => V1Op::UntagResource(
            s(arn),
            req.query_pairs()
                .into_iter()
                .filter(|(k, _)| k == "tagKeys")
                .map(|(_, v)| v)
                .collect(),
        ),
        _ => return Err(unknown(req)),
    };
    Ok(op)
}

pub(crate) fn unknown(req: &Request) -> ApigwError {
    ApigwError::NotFound(format!(
        "Serval does not implement {} {} yet",
        req.method, req.path
    ))
}

/// A `{"item": [...]}` list answer.
pub(crate) fn items<T: serde::Serialize>(all: &[T]) -> serval_wire::Response {
    serval_wire::Response::json(200, &serde_json::json!({ "item": all }))
}
