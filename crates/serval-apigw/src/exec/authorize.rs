//! Route authorization of HTTP APIs: JWT, Lambda (REQUEST) and IAM.

use super::event::{self, Incoming};
use super::http_api::RouteEntry;
use super::lambda_auth::{identity_value, AuthorizerCall, Refusal};
use super::message;
use crate::v2::model::{HttpApi, Stage};
use crate::ApiGateway;
use serde_json::{json, Value};
use serval_wire::Response;
use std::time::Duration;

impl ApiGateway {
    /// Runs the route's authorization; `Ok` carries `requestContext.authorizer`
    /// (in the event's shape), `Err` the gateway's refusal.
    pub(crate) async fn authorize_http_api(
        &self,
        api: &HttpApi,
        stage: &Stage,
        entry: &RouteEntry,
        inc: &Incoming<'_>,
        params: &[(String, String)],
    ) -> Result<Option<Value>, Response> {
        match entry.route.authorization_type.as_str() {
            "JWT" => {
                let Some(authorizer) = &entry.authorizer else {
                    return Err(message(500, "Internal Server Error"));
                };
                let scopes = entry.route.authorization_scopes.as_deref().unwrap_or(&[]);
                let claims = self.jwt_authorize(authorizer, inc, scopes).await?;
                // Payload 1.0 carries the claims and scopes without the `jwt` level.
                let v1 = entry
                    .integration
                    .as_ref()
                    .is_some_and(|i| i.payload_format_version == "1.0");
                match claims {
                    Value::Object(mut o) if v1 => Ok(o.remove("jwt")),
                    c => Ok(Some(c)),
                }
            }
            "CUSTOM" => self
                .custom_authorize(api, stage, entry, inc, params)
                .await
                .map(Some),
            "AWS_IAM" => iam_identity(inc)
                .map(Some)
                .ok_or_else(|| message(403, "Forbidden")),
            _ => Ok(None),
        }
    }

    async fn custom_authorize(
        &self,
        api: &HttpApi,
        stage: &Stage,
        entry: &RouteEntry,
        inc: &Incoming<'_>,
        params: &[(String, String)],
    ) -> Result<Value, Response> {
        let Some(au) = &entry.authorizer else {
            return Err(message(500, "Internal Server Error"));
        };
        let mut identity = Vec::with_capacity(au.identity_source.len());
        for src in &au.identity_source {
            match identity_value(src, inc, &stage.stage_variables) {
                Some(v) if !v.is_empty() => identity.push(v),
                _ => return Err(message(401, "Unauthorized")),
            }
        }
        let v2 = au.authorizer_payload_format_version.as_deref() == Some("2.0");
        let arn = format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
            api.region, api.account, api.api.api_id, stage.stage_name, inc.method, inc.path
        );
        let m = event::Matched {
            route_key: &entry.route.route_key,
            resource_path: &entry.path,
            resource_id: None,
            path_params: params,
            stage_variables: &stage.stage_variables,
            authorizer: None,
            api_key: None,
            api_key_id: None,
            rest: false,
        };
        let mut ev = if v2 {
            event::event_v2(inc, &m)
        } else {
            event::event_v1(inc, &m, &[])
        };
        if let Some(o) = ev.as_object_mut() {
            o.remove("body");
            o.remove("isBase64Encoded");
            o.insert("type".into(), "REQUEST".into());
            if v2 {
                o.insert("routeArn".into(), arn.clone().into());
                o.insert("identitySource".into(), json!(identity));
            } else {
                o.insert("methodArn".into(), arn.clone().into());
                o.insert("identitySource".into(), identity.join(",").into());
                o.insert("authorizationToken".into(), identity.join(",").into());
            }
        }
        let ttl = au
            .authorizer_result_ttl_in_seconds
            .unwrap_or(0)
            .clamp(0, 3600) as u64;
        let (principal, ctx) = self
            .lambda_authorize(AuthorizerCall {
                account: &api.account,
                region: &api.region,
                api_id: &api.api.api_id,
                authorizer_id: &au.authorizer_id,
                uri: au.authorizer_uri.as_deref().unwrap_or(""),
                event: ev,
                identity: if ttl > 0 { identity } else { Vec::new() },
                ttl: Duration::from_secs(ttl),
                arn,
                simple: v2 && au.enable_simple_responses == Some(true),
            })
            .await
            .map_err(|r| match r {
                Refusal::Unauthorized => message(401, "Unauthorized"),
                Refusal::Denied(_) => message(403, "Forbidden"),
                Refusal::Failed => message(500, "Internal Server Error"),
                Refusal::Throttled => message(429, "Too Many Requests"),
            })?;
        let v2_integration = entry
            .integration
            .as_ref()
            .is_none_or(|i| i.payload_format_version == "2.0");
        if v2_integration {
            return Ok(json!({ "lambda": ctx }));
        }
        let mut flat = ctx;
        if let Some(p) = principal {
            flat.insert("principalId".into(), p.into());
        }
        flat.insert("integrationLatency".into(), 0.into());
        Ok(Value::Object(flat))
    }
}

/// AWS_IAM routes: a SigV4-signed request is accepted (signatures are not
/// verified yet) and described as API Gateway describes the caller.
fn iam_identity(inc: &Incoming<'_>) -> Option<Value> {
    let auth = inc
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cred = auth
        .strip_prefix("AWS4-HMAC-SHA256")
        .and_then(|r| r.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())?;
    let account = serval_core::RequestContext::account_for_key(cred);
    Some(json!({
        "iam": {
            "accessKey": cred,
            "accountId": account,
            "callerId": cred,
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": format!("arn:aws:iam::{account}:root"),
            "userId": cred,
        },
    }))
}
