//! REST API (apigateway) records, in the shapes the API returns them. One
//! REST API is one persisted aggregate (resources with their methods and
//! integrations, authorizers, stages, deployments with snapshots); API keys
//! and usage plans are records of their own. Maps that clients fill freely
//! (request parameters, templates) stay JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Optional JSON object field.
pub type Obj = Option<Map<String, Value>>;

/// The `RestApi` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApi {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_media_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_compression_size: Option<i64>,
    pub api_key_source: String,
    pub endpoint_configuration: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub disable_execute_api_endpoint: bool,
    pub root_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// `IntegrationResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse {
    pub status_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Obj,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_templates: Obj,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
}

/// `Integration`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub connection_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Obj,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_templates: Obj,
    pub passthrough_behavior: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
    pub timeout_in_millis: i64,
    pub cache_namespace: String,
    pub cache_key_parameters: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub integration_responses: BTreeMap<String, IntegrationResponse>,
}

/// `MethodResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodResponse {
    pub status_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Obj,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_models: Obj,
}

/// `Method`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Method {
    pub http_method: String,
    pub authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    pub api_key_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_validator_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Obj,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_models: Obj,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub method_responses: BTreeMap<String, MethodResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method_integration: Option<Integration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Vec<String>>,
}

/// `Resource`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_part: Option<String>,
    pub path: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub resource_methods: BTreeMap<String, Method>,
}

/// `Authorizer`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", rename = "providerARNs")]
    pub provider_arns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: i64,
}

/// `MethodSetting` (`*/*` or `resourcePath/METHOD` in a stage).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MethodSetting {
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: i64,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    pub unauthorized_cache_control_header_strategy: String,
}

impl MethodSetting {
    /// AWS's defaults (10,000 rps / 5,000 burst account limits).
    pub fn defaults() -> Self {
        Self {
            logging_level: "OFF".into(),
            throttling_burst_limit: 5000,
            throttling_rate_limit: 10000.0,
            cache_ttl_in_seconds: 300,
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: "SUCCEED_WITH_RESPONSE_HEADER".into(),
            ..Default::default()
        }
    }
}

/// `Stage`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub deployment_id: String,
    pub stage_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub cache_cluster_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_cluster_size: Option<String>,
    pub cache_cluster_status: String,
    pub method_settings: BTreeMap<String, MethodSetting>,
    pub variables: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<Value>,
    pub tracing_enabled: bool,
    pub tags: BTreeMap<String, String>,
    pub created_date: u64,
    pub last_updated_date: u64,
}

/// `Deployment`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: u64,
}

/// A REST API with everything in it (record version 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RestApiRec {
    /// Record version.
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The API.
    pub api: RestApi,
    /// Resources by id.
    pub resources: BTreeMap<String, Resource>,
    /// Authorizers by id.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// Stages by name.
    pub stages: BTreeMap<String, Stage>,
    /// Deployments by id.
    pub deployments: BTreeMap<String, Deployment>,
    /// Resources as each deployment froze them.
    pub snapshots: BTreeMap<String, BTreeMap<String, Resource>>,
}

/// `ApiKey` (record version 1 is this shape plus `v`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    pub created_date: u64,
    pub last_updated_date: u64,
    pub stage_keys: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// A stored API key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ApiKeyRec {
    /// Record version.
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The key.
    pub key: ApiKey,
}

/// `UsagePlan`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub api_stages: Vec<ApiStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    pub tags: BTreeMap<String, String>,
}

/// `ApiStage`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiStage {
    pub api_id: String,
    pub stage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<BTreeMap<String, Throttle>>,
}

/// `ThrottleSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Throttle {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
}

/// `QuotaSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub limit: i64,
    #[serde(default)]
    pub offset: i64,
    pub period: String,
}

/// A stored usage plan with its keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UsagePlanRec {
    /// Record version.
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The plan.
    pub plan: UsagePlan,
    /// API key ids in the plan.
    pub keys: Vec<String>,
}
