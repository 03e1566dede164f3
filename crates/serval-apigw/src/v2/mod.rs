//! The apigatewayv2 management API (HTTP APIs): requests parsed into typed
//! [`V2Op`]s, answered by the handlers in [`ops`].

pub mod apply;
pub mod model;
pub mod openapi;
pub mod ops;

use crate::error::{bad, ApigwError, Result};
use http::Method;
use model::{ApiInput, AuthorizerInput, IntegrationInput, RouteInput, StageInput};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serval_wire::Request;
use std::collections::BTreeMap;

/// A page request (`maxResults`, `nextToken`).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Page size.
    pub max_results: Option<usize>,
    /// Where the previous page stopped.
    pub next_token: Option<String>,
}

/// `{ "description": .., "stageName": .. }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInput {
    /// Description.
    pub description: Option<String>,
    /// Stage to deploy to.
    pub stage_name: Option<String>,
}

/// `{ "tags": {..} }`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TagsInput {
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `{ "body": "<OpenAPI document>" }` of ImportApi / ReimportApi.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImportInput {
    /// The document, JSON or YAML.
    pub body: Option<String>,
}

/// ExportApi's options.
#[derive(Debug, Clone)]
pub struct ExportInput {
    /// `OAS30`.
    pub specification: String,
    /// `JSON` or `YAML`.
    pub output_type: String,
    /// Export what this stage serves (else the API as it is).
    pub stage_name: Option<String>,
    /// Whether to write `x-amazon-apigateway-*` extensions.
    pub include_extensions: bool,
}

/// One apigatewayv2 operation.
#[derive(Debug)]
pub enum V2Op {
    CreateApi(Box<ApiInput>),
    ImportApi(ImportInput),
    ReimportApi(String, ImportInput),
    ExportApi(String, ExportInput),
    GetApi(String),
    GetApis(Page),
    UpdateApi(String, Box<ApiInput>),
    DeleteApi(String),
    DeleteCorsConfiguration(String),
    CreateRoute(String, Box<RouteInput>),
    GetRoute(String, String),
    GetRoutes(String, Page),
    UpdateRoute(String, String, Box<RouteInput>),
    DeleteRoute(String, String),
    CreateIntegration(String, Box<IntegrationInput>),
    GetIntegration(String, String),
    GetIntegrations(String, Page),
    UpdateIntegration(String, String, Box<IntegrationInput>),
    DeleteIntegration(String, String),
    CreateAuthorizer(String, Box<AuthorizerInput>),
    GetAuthorizer(String, String),
    GetAuthorizers(String, Page),
    UpdateAuthorizer(String, String, Box<AuthorizerInput>),
    DeleteAuthorizer(String, String),
    CreateStage(String, Box<StageInput>),
    GetStage(String, String),
    GetStages(String, Page),
    UpdateStage(String, String, Box<StageInput>),
    DeleteStage(String, String),
    ResetAuthorizersCache(String, String),
    CreateDeployment(String, DeploymentInput),
    GetDeployment(String, String),
    GetDeployments(String, Page),
    UpdateDeployment(String, String, DeploymentInput),
    DeleteDeployment(String, String),
    GetTags(String),
    TagResource(String, BTreeMap<String, String>),
    UntagResource(String, Vec<String>),
}

fn json<T: DeserializeOwned + Default>(req: &Request) -> Result<T> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&req.body).map_err(|e| bad(format!("Invalid request body: {e}")))
}

fn page(req: &Request) -> Result<Page> {
    let max_results = match req.query_param("maxResults") {
        Some(v) => Some(
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| bad(format!("Invalid maxResults: {v}")))?,
        ),
        None => None,
    };
    Ok(Page {
        max_results,
        next_token: req.query_param("nextToken"),
    })
}

/// Whether a path belongs to the apigatewayv2 API.
pub fn owns_path(path: &str) -> bool {
    path.starts_with("/v2/apis") || path.starts_with("/v2/tags/")
}

/// Parses a request into an operation.
pub fn parse(req: &Request) -> Result<V2Op> {
    let segs = req.path_segments();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let s = |x: &&str| x.to_string();
    let m = &req.method;
    let op = match (m, seg.as_slice()) {
        (&Method::POST, ["v2", "apis"]) => V2Op::CreateApi(Box::new(json(req)?)),
        (&Method::PUT, ["v2", "apis"]) => V2Op::ImportApi(json(req)?),
        (&Method::PUT, ["v2", "apis", a]) => V2Op::ReimportApi(s(a), json(req)?),
        (&Method::GET, ["v2", "apis", a, "exports", spec]) => V2Op::ExportApi(
            s(a),
            ExportInput {
                specification: spec.to_string(),
                output_type: req
                    .query_param("outputType")
                    .ok_or_else(|| bad("OutputType is required"))?,
                stage_name: req.query_param("stageName"),
                include_extensions: req.query_param("includeExtensions").as_deref()
                    != Some("false"),
            },
        ),
        (&Method::GET, ["v2", "apis"]) => V2Op::GetApis(page(req)?),
        (&Method::GET, ["v2", "apis", a]) => V2Op::GetApi(s(a)),
        (&Method::PATCH, ["v2", "apis", a]) => V2Op::UpdateApi(s(a), Box::new(json(req)?)),
        (&Method::DELETE, ["v2", "apis", a]) => V2Op::DeleteApi(s(a)),
        (&Method::DELETE, ["v2", "apis", a, "cors"]) => V2Op::DeleteCorsConfiguration(s(a)),
        (&Method::POST, ["v2", "apis", a, "routes"]) => {
            V2Op::CreateRoute(s(a), Box::new(json(req)?))
        }
        (&Method::GET, ["v2", "apis", a, "routes"]) => V2Op::GetRoutes(s(a), page(req)?),
        (&Method::GET, ["v2", "apis", a, "routes", r]) => V2Op::GetRoute(s(a), s(r)),
        (&Method::PATCH, ["v2", "apis", a, "routes", r]) => {
            V2Op::UpdateRoute(s(a), s(r), Box::new(json(req)?))
        }
        (&Method::DELETE, ["v2", "apis", a, "routes", r]) => V2Op::DeleteRoute(s(a), s(r)),
        (&Method::POST, ["v2", "apis", a, "integrations"]) => {
            V2Op::CreateIntegration(s(a), Box::new(json(req)?))
        }
        (&Method::GET, ["v2", "apis", a, "integrations"]) => {
            V2Op::GetIntegrations(s(a), page(req)?)
        }
        (&Method::GET, ["v2", "apis", a, "integrations", i]) => V2Op::GetIntegration(s(a), s(i)),
        (&Method::PATCH, ["v2", "apis", a, "integrations", i]) => {
            V2Op::UpdateIntegration(s(a), s(i), Box::new(json(req)?))
        }
        (&Method::DELETE, ["v2", "apis", a, "integrations", i]) => {
            V2Op::DeleteIntegration(s(a), s(i))
        }
        (&Method::POST, ["v2", "apis", a, "authorizers"]) => {
            V2Op::CreateAuthorizer(s(a), Box::new(json(req)?))
        }
        (&Method::GET, ["v2", "apis", a, "authorizers"]) => V2Op::GetAuthorizers(s(a), page(req)?),
        (&Method::GET, ["v2", "apis", a, "authorizers", i]) => V2Op::GetAuthorizer(s(a), s(i)),
        (&Method::PATCH, ["v2", "apis", a, "authorizers", i]) => {
            V2Op::UpdateAuthorizer(s(a), s(i), Box::new(json(req)?))
        }
        (&Method::DELETE, ["v2", "apis", a, "authorizers", i]) => {
            V2Op::DeleteAuthorizer(s(a), s(i))
        }
        (&Method::POST, ["v2", "apis", a, "stages"]) => {
            V2Op::CreateStage(s(a), Box::new(json(req)?))
        }
        (&Method::GET, ["v2", "apis", a, "stages"]) => V2Op::GetStages(s(a), page(req)?),
        (&Method::GET, ["v2", "apis", a, "stages", n]) => V2Op::GetStage(s(a), s(n)),
        (&Method::PATCH, ["v2", "apis", a, "stages", n]) => {
            V2Op::UpdateStage(s(a), s(n), Box::new(json(req)?))
        }
        (&Method::DELETE, ["v2", "apis", a, "stages", n]) => V2Op::DeleteStage(s(a), s(n)),
        (&Method::DELETE, ["v2", "apis", a, "stages", n, "cache", "authorizers"]) => {
            V2Op::ResetAuthorizersCache(s(a), s(n))
        }
        (&Method::POST, ["v2", "apis", a, "deployments"]) => {
            V2Op::CreateDeployment(s(a), json(req)?)
        }
        (&Method::GET, ["v2", "apis", a, "deployments"]) => V2Op::GetDeployments(s(a), page(req)?),
        (&Method::GET, ["v2", "apis", a, "deployments", d]) => V2Op::GetDeployment(s(a), s(d)),
        (&Method::PATCH, ["v2", "apis", a, "deployments", d]) => {
            V2Op::UpdateDeployment(s(a), s(d), json(req)?)
        }
        (&Method::DELETE, ["v2", "apis", a, "deployments", d]) => {
            V2Op::DeleteDeployment(s(a), s(d))
        }
        (&Method::GET, ["v2", "tags", arn]) => V2Op::GetTags(s(arn)),
        (&Method::POST, ["v2", "tags", arn]) => {
            let t: TagsInput = json(req)?;
            V2Op::TagResource(s(arn), t.tags.unwrap_or_default())
        }
        (&Method::DELETE, ["v2", "tags", arn]) => V2Op::UntagResource(
            s(arn),
            req.query_pairs()
                .into_iter()
                .filter(|(k, _)| k == "tagKeys")
                .map(|(_, v)| v)
                .collect(),
        ),
        _ => {
            return Err(ApigwError::NotFound(format!(
                "Serval does not implement {} {} yet",
                req.method, req.path
            )))
        }
    };
    Ok(op)
}
