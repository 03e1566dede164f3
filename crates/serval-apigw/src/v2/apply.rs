//! How apigatewayv2 inputs become records: route keys and integration
//! targets parsed, each sub-resource's input validated and applied, and
//! auto-deploy stages given a fresh deployment after every change.

use super::model::*;
use crate::error::{bad, Result};
use crate::routing::Template;

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// Replaces an optional field when the input sets it.
pub(crate) fn set<T>(slot: &mut Option<T>, v: Option<T>) {
    if v.is_some() {
        *slot = v;
    }
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

pub(crate) fn apply_route(r: &mut Route, i: RouteInput, api: &HttpApi) -> Result<()> {
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

pub(crate) fn apply_integration(i: &mut Integration, input: IntegrationInput) -> Result<()> {
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

pub(crate) fn apply_authorizer(a: &mut Authorizer, i: AuthorizerInput) -> Result<()> {
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

pub(crate) fn apply_stage(st: &mut Stage, i: StageInput, api: &HttpApi) -> Result<()> {
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
pub(crate) fn auto_deploy(api: &mut HttpApi, now: &str) {
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
