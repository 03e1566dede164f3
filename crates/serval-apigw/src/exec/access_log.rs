//! Access logs: one line per request in the stage's configured format
//! (`$context.*` variables), written to the stage's log group.

/// What a request did, as access log variables describe it.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// Log group and format when the stage logs access.
    pub destination: Option<(String, String)>,
    /// Stage name.
    pub stage: String,
    /// Route key (HTTP APIs) or resource path (REST APIs).
    pub route_key: String,
    /// Resource path.
    pub resource_path: String,
    /// Milliseconds the integration took.
    pub integration_latency: Option<u64>,
    /// HTTP status the integration answered.
    pub integration_status: Option<u16>,
    /// The gateway's error message, when it answered with one.
    pub error: Option<String>,
}

/// Fields known only once the request is done.
pub struct Done<'a> {
    pub request_id: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub time_ms: u64,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub response_length: usize,
    pub latency_ms: u64,
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub domain_name: &'a str,
}

/// The log group a destination ARN names
/// (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
pub fn group_of(arn: &str) -> Option<String> {
    let (_, rest) = arn.split_once(":log-group:")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty()).then(|| name.to_string())
}

fn value(var: &str, t: &Trace, d: &Done) -> Option<String> {
    Some(match var {
        "requestId" | "extendedRequestId" => d.request_id.to_string(),
        "identity.sourceIp" => d.source_ip.to_string(),
        "identity.userAgent" => d.user_agent.to_string(),
        "requestTime" => serval_core::time::clf(d.time_ms),
        "requestTimeEpoch" => d.time_ms.to_string(),
        "httpMethod" => d.method.to_string(),
        "routeKey" => t.route_key.clone(),
        "resourcePath" => t.resource_path.clone(),
        "path" => d.path.to_string(),
        "status" => d.status.to_string(),
        "protocol" => "HTTP/1.1".to_string(),
        "responseLength" => d.response_length.to_string(),
        "responseLatency" => d.latency_ms.to_string(),
        "integrationLatency" | "integration.latency" => t.integration_latency?.to_string(),
        "integrationStatus" | "integration.status" => t.integration_status?.to_string(),
        "stage" => t.stage.clone(),
        "apiId" => d.api_id.to_string(),
        "accountId" => d.account_id.to_string(),
        "domainName" => d.domain_name.to_string(),
        "domainPrefix" => d.domain_name.split('.').next().unwrap_or("").to_string(),
        "error.message" | "integrationErrorMessage" => t.error.clone()?,
        _ => return None,
    })
}

/// The access log line for a format; unknown or empty variables print `-`.
pub fn render(format: &str, t: &Trace, d: &Done) -> String {
    const PREFIX: &str = "$context.";
    let mut out = String::with_capacity(format.len() + 64);
    let mut rest = format;
    while let Some(i) = rest.find(PREFIX) {
        out.push_str(&rest[..i]);
        let after = &rest[i + PREFIX.len()..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(after.len());
        let name = after[..len].trim_end_matches('.');
        out.push_str(&value(name, t, d).unwrap_or_else(|| "-".to_string()));
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

impl crate::ApiGateway {
    /// Writes the access log line of a finished request, when its stage logs access.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn log_access(
        &self,
        trace: &Trace,
        req: &serval_wire::Request,
        resp: &serval_wire::Response,
        api: (&str, &str, &str),
        request_id: &str,
        time_ms: u64,
        started: std::time::Instant,
    ) {
        let (Some((group, format)), Some(logs)) = (&trace.destination, &self.logs) else {
            return;
        };
        let (api_id, account, region) = api;
        let done = Done {
            request_id,
            source_ip: &super::http_api::source_ip(req),
            user_agent: req.header("user-agent").unwrap_or(""),
            time_ms,
            method: req.method.as_str(),
            path: &req.path,
            status: resp.status.as_u16(),
            response_length: resp.body.len(),
            latency_ms: started.elapsed().as_millis() as u64,
            api_id,
            account_id: account,
            domain_name: &req.host().unwrap_or_default(),
        };
        let line = render(format, trace, &done);
        let stream = format!("{api_id}_{}", trace.stage);
        logs.append(account, region, group, &stream, &[(time_ms, line)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_context_variables() {
        let t = Trace {
            route_key: "GET /x".into(),
            stage: "prod".into(),
            ..Default::default()
        };
        let d = Done {
            request_id: "r1",
            source_ip: "1.2.3.4",
            user_agent: "ua",
            time_ms: 0,
            method: "GET",
            path: "/x",
            status: 200,
            response_length: 12,
            latency_ms: 3,
            api_id: "a",
            account_id: "0",
            domain_name: "a.execute-api.localhost",
        };
        let line = render(
            r#"{"id":"$context.requestId","ip":"$context.identity.sourceIp","route":"$context.routeKey","s":$context.status,"x":"$context.nope","err":"$context.error.message"}."#,
            &t,
            &d,
        );
        assert_eq!(
            line,
            r#"{"id":"r1","ip":"1.2.3.4","route":"GET /x","s":200,"x":"-","err":"-"}."#
        );
        assert_eq!(
            group_of("arn:aws:logs:us-east-1:0:log-group:/gw/access:*").as_deref(),
            Some("/gw/access")
        );
    }
}
