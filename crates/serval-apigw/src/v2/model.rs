//! HTTP API (apigatewayv2) records, in the shapes the API returns them.
//! One API is one persisted aggregate: its routes, integrations,
//! authorizers, stages and deployments (each deployment with a snapshot of
//! what it deployed). Persisted records are versioned (`v`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `Cors` of an HTTP API.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    /// Whether credentials are allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// Allowed request headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    /// Allowed methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    /// Allowed origins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    /// Exposed response headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    /// Preflight cache seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

/// CreateApi / UpdateApi input (update: every field optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInput {
    pub api_key_selection_expression: Option<String>,
    pub cors_configuration: Option<Cors>,
    pub credentials_arn: Option<String>,
    pub description: Option<String>,
    pub disable_schema_validation: Option<bool>,
    pub disable_execute_api_endpoint: Option<bool>,
    pub ip_address_type: Option<String>,
    pub name: Option<String>,
    pub protocol_type: Option<String>,
    pub route_key: Option<String>,
    pub route_selection_expression: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub target: Option<String>,
    pub version: Option<String>,
}

/// The `Api` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    pub api_endpoint: String,
    pub api_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<Cors>,
    pub created_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    pub disable_execute_api_endpoint: bool,
    pub ip_address_type: String,
    pub name: String,
    pub protocol_type: String,
    pub route_selection_expression: String,
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// CreateRoute / UpdateRoute input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInput {
    pub api_key_required: Option<bool>,
    pub authorization_scopes: Option<Vec<String>>,
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    pub model_selection_expression: Option<String>,
    pub operation_name: Option<String>,
    pub request_models: Option<BTreeMap<String, String>>,
    pub request_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    pub route_key: Option<String>,
    pub route_response_selection_expression: Option<String>,
    pub target: Option<String>,
}

/// The `Route` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub api_key_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Vec<String>>,
    pub authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    pub route_id: String,
    pub route_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_response_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// CreateIntegration / UpdateIntegration input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationInput {
    pub connection_id: Option<String>,
    pub connection_type: Option<String>,
    pub content_handling_strategy: Option<String>,
    pub credentials_arn: Option<String>,
    pub description: Option<String>,
    pub integration_method: Option<String>,
    pub integration_subtype: Option<String>,
    pub integration_type: Option<String>,
    pub integration_uri: Option<String>,
    pub passthrough_behavior: Option<String>,
    pub payload_format_version: Option<String>,
    pub request_parameters: Option<BTreeMap<String, String>>,
    pub request_templates: Option<BTreeMap<String, String>>,
    pub response_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    pub template_selection_expression: Option<String>,
    pub timeout_in_millis: Option<i64>,
    pub tls_config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The `Integration` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub connection_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub integration_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_subtype: Option<String>,
    pub integration_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passthrough_behavior: Option<String>,
    pub payload_format_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_templates: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    pub timeout_in_millis: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `JWTConfiguration`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JwtConfiguration {
    /// Accepted `aud` (or `client_id`) values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// The issuer URL (`iss`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// CreateAuthorizer / UpdateAuthorizer input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerInput {
    pub authorizer_credentials_arn: Option<String>,
    pub authorizer_payload_format_version: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    pub authorizer_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub enable_simple_responses: Option<bool>,
    pub identity_source: Option<Vec<String>>,
    pub identity_validation_expression: Option<String>,
    pub jwt_configuration: Option<JwtConfiguration>,
    pub name: Option<String>,
}

/// The `Authorizer` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials_arn: Option<String>,
    pub authorizer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_payload_format_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    pub authorizer_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_simple_responses: Option<bool>,
    pub identity_source: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    pub name: String,
}

/// `RouteSettings` of a stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_trace_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_metrics_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling_burst_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling_rate_limit: Option<f64>,
}

/// `AccessLogSettings` of a stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogSettings {
    /// Log group ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// `$context` format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// CreateStage / UpdateStage input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    pub access_log_settings: Option<AccessLogSettings>,
    pub auto_deploy: Option<bool>,
    pub client_certificate_id: Option<String>,
    pub default_route_settings: Option<RouteSettings>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub route_settings: Option<BTreeMap<String, RouteSettings>>,
    pub stage_name: Option<String>,
    pub stage_variables: Option<BTreeMap<String, String>>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// The `Stage` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<AccessLogSettings>,
    pub api_gateway_managed: bool,
    pub auto_deploy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate_id: Option<String>,
    pub created_date: String,
    pub default_route_settings: RouteSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment_status_message: Option<String>,
    pub last_updated_date: String,
    pub route_settings: BTreeMap<String, RouteSettings>,
    pub stage_name: String,
    pub stage_variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// The `Deployment` shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub auto_deployed: bool,
    pub created_date: String,
    pub deployment_id: String,
    pub deployment_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a deployment froze: the routes, integrations and authorizers a
/// stage pointing at it serves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Routes by id.
    pub routes: BTreeMap<String, Route>,
    /// Integrations by id.
    pub integrations: BTreeMap<String, Integration>,
    /// Authorizers by id.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// The API's CORS configuration at deployment time.
    pub cors: Option<Cors>,
}

/// An HTTP API with everything in it (record version 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HttpApi {
    /// Record version.
    pub v: u32,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The API itself.
    pub api: Api,
    /// Routes by id.
    pub routes: BTreeMap<String, Route>,
    /// Integrations by id.
    pub integrations: BTreeMap<String, Integration>,
    /// Authorizers by id.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// Stages by name.
    pub stages: BTreeMap<String, Stage>,
    /// Deployments by id.
    pub deployments: BTreeMap<String, Deployment>,
    /// What each deployment froze, by deployment id.
    pub snapshots: BTreeMap<String, Snapshot>,
}

impl HttpApi {
    /// The current routes, integrations and authorizers, as a deployment freezes them.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            routes: self.routes.clone(),
            integrations: self.integrations.clone(),
            authorizers: self.authorizers.clone(),
            cors: self.api.cors_configuration.clone(),
        }
    }
}
