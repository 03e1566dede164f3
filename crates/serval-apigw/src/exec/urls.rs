//! Lambda function URLs: `<url-id>.lambda-url.<region>.localhost`, payload
//! format 2.0, CORS from the URL's configuration, `AWS_IAM` or no auth.

use super::event::{self, Incoming};
use super::{cors_headers, preflight, CallFailure};
use crate::v2::model::Cors;
use crate::ApiGateway;
use bytes::Bytes;
use serde::Deserialize;
use serval_wire::{Request, Response};
use std::collections::BTreeMap;
use std::time::Duration;

/// Function URLs wait as long as the longest function may run.
const URL_TIMEOUT: Duration = Duration::from_secs(900);

/// The Lambda API's `Cors` (PascalCase).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct UrlCors {
    allow_credentials: Option<bool>,
    allow_headers: Option<Vec<String>>,
    allow_methods: Option<Vec<String>>,
    allow_origins: Option<Vec<String>>,
    expose_headers: Option<Vec<String>>,
    max_age: Option<i64>,
}

impl From<UrlCors> for Cors {
    fn from(c: UrlCors) -> Self {
        Cors {
            allow_credentials: c.allow_credentials,
            allow_headers: c.allow_headers,
            allow_methods: c.allow_methods,
            allow_origins: c.allow_origins,
            expose_headers: c.expose_headers,
            max_age: c.max_age,
        }
    }
}

fn url_message(status: u16, text: &str) -> Response {
    Response::json(status, &serde_json::json!({ "Message": text }))
}

impl ApiGateway {
    /// Serves one request to a function URL.
    pub(crate) async fn serve_function_url(&self, url_id: &str, req: Request) -> Response {
        let Some(target) = self.invoker.function_url(url_id) else {
            return url_message(403, "Forbidden");
        };
        let cors: Option<Cors> = target
            .cors
            .clone()
            .and_then(|v| serde_json::from_value::<UrlCors>(v).ok())
            .map(Cors::from);
        if let Some(c) = &cors {
            if let Some(r) = preflight(c, &req) {
                return r;
            }
        }
        let signed = req
            .header("authorization")
            .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256"))
            || req.query_param("X-Amz-Credential").is_some();
        if target.auth_type == "AWS_IAM" && !signed {
            return url_message(403, "Forbidden");
        }
        let request_id = serval_core::ids::uuid_v4();
        let no_vars = BTreeMap::new();
        let now = self.clock.now_millis();
        let headers = super::forwarded_headers(&req, self.config.port, now);
        let inc = Incoming {
            method: req.method.as_str(),
            raw_path: &req.path,
            path: &req.path,
            query: &req.query,
            headers: &headers,
            body: &req.body,
            source_ip: super::http_api::source_ip(&req),
            request_id: &request_id,
            time_ms: now,
            domain_name: req.host().unwrap_or_default(),
            account_id: &target.account_id,
            api_id: url_id,
            stage: "$default",
        };
        let m = event::Matched {
            route_key: "$default",
            resource_path: "$default",
            resource_id: None,
            path_params: &[],
            stage_variables: &no_vars,
            authorizer: None,
            api_key: None,
            api_key_id: None,
            rest: false,
        };
        let payload = Bytes::from(event::event_v2_bytes(&inc, &m));
        let function = match &target.qualifier {
            Some(q) => format!("{}:{q}", target.function_name),
            None => target.function_name.clone(),
        };
        let mut resp = match self
            .call_lambda(
                &target.account_id,
                &target.region,
                &function,
                payload,
                URL_TIMEOUT,
                target.function_arn.clone(),
            )
            .await
        {
            Ok(out) if out.function_error.is_none() => event::map_response(&out.payload, true)
                .unwrap_or_else(|_| url_message(502, "Internal Server Error")),
            Ok(_) => url_message(502, "Internal Server Error"),
            Err(CallFailure::Throttled) => url_message(429, "Rate Exceeded."),
            Err(CallFailure::TooLarge) => url_message(413, "Request Entity Too Large"),
            Err(CallFailure::Timeout) => url_message(504, "Gateway Timeout"),
            Err(CallFailure::Failed(e)) => {
                tracing::debug!(error = %e, "function URL invoke failed");
                url_message(502, "Internal Server Error")
            }
        };
        if let Some(c) = &cors {
            cors_headers(c, &req, &mut resp);
        }
        resp.set_header("x-amzn-RequestId", &request_id);
        resp
    }
}
