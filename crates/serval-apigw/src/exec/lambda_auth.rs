//! Lambda authorizers: the request (or token) handed to a function, its
//! answer read as a simple `isAuthorized` response or an IAM policy, and the
//! decision cached by identity for the authorizer's TTL.

use super::event::{self, Incoming};
use super::limits::AuthDecision;
use super::CallFailure;
use crate::ApiGateway;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::time::Duration;

/// How long an authorizer function may take.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `text` matches an IAM-style pattern with `*` and `?`.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// What a policy says about one ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An Allow matched and no Deny did.
    Allow,
    /// Nothing matched.
    ImplicitDeny,
    /// A Deny matched.
    ExplicitDeny,
}

/// Evaluates an authorizer's policy document for `execute-api:Invoke` on
/// `arn`: an explicit Deny wins, then any Allow; nothing matching denies.
/// `None` when the document is malformed.
pub fn policy_verdict(doc: &Value, arn: &str) -> Option<Verdict> {
    let statements = match doc.get("Statement")? {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return None,
    };
    let mut allowed = false;
    for s in &statements {
        let effect = s.get("Effect")?.as_str()?;
        let actions = strings(s.get("Action"));
        let acts = actions
            .iter()
            .any(|a| wildcard(&a.to_ascii_lowercase(), "execute-api:invoke"));
        let hits = strings(s.get("Resource")).iter().any(|r| wildcard(r, arn));
        if !(acts && hits) {
            continue;
        }
        match effect {
            "Deny" => return Some(Verdict::ExplicitDeny),
            "Allow" => allowed = true,
            _ => return None,
        }
    }
    Some(if allowed {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    })
}

/// Why an authorizer refused a request; each API type words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No or unacceptable identity (401).
    Unauthorized,
    /// The authorizer denied (403); `true` for an explicit Deny statement.
    Denied(bool),
    /// The authorizer failed or answered something unreadable (500).
    Failed,
    /// Lambda throttled the authorizer (429).
    Throttled,
}

/// The value of an identity source expression for this request
/// (`$request.header.x`, `$request.querystring.x`, `$context.x`, `$stageVariables.x`,
/// and REST's `method.request.header.x` / `method.request.querystring.x`).
pub fn identity_value(
    expr: &str,
    inc: &Incoming,
    stage_variables: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let expr = expr.trim();
    if let Some(h) = expr
        .strip_prefix("$request.header.")
        .or_else(|| expr.strip_prefix("method.request.header."))
    {
        let values: Vec<String> = inc
            .headers
            .get_all(h.to_ascii_lowercase().as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(q) = expr
        .strip_prefix("$request.querystring.")
        .or_else(|| expr.strip_prefix("method.request.querystring."))
    {
        let values: Vec<String> = event::query_pairs(inc.query)
            .into_iter()
            .filter(|(k, _)| k == q)
            .map(|(_, v)| v)
            .collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(v) = expr
        .strip_prefix("$stageVariables.")
        .or_else(|| expr.strip_prefix("stageVariables."))
    {
        return stage_variables.get(v).cloned();
    }
    if let Some(c) = expr
        .strip_prefix("$context.")
        .or_else(|| expr.strip_prefix("context."))
    {
        return match c {
            "identity.sourceIp" => Some(inc.source_ip.clone()),
            "stage" => Some(inc.stage.to_string()),
            "requestId" => Some(inc.request_id.to_string()),
            "httpMethod" | "http.method" => Some(inc.method.to_string()),
            "path" | "http.path" => Some(inc.raw_path.to_string()),
            _ => None,
        };
    }
    None
}

/// One Lambda authorizer call to make.
pub struct AuthorizerCall<'a> {
    /// Account and region of the API.
    pub account: &'a str,
    /// Region of the API.
    pub region: &'a str,
    /// API id (cache namespace).
    pub api_id: &'a str,
    /// Authorizer id (cache namespace).
    pub authorizer_id: &'a str,
    /// The authorizer URI (function ARN or apigateway invocation ARN).
    pub uri: &'a str,
    /// The event to send.
    pub event: Value,
    /// The identity values (cache key); empty disables caching.
    pub identity: Vec<String>,
    /// Cache TTL.
    pub ttl: Duration,
    /// The ARN the policy must allow (`routeArn` / `methodArn`).
    pub arn: String,
    /// Whether the simple `{"isAuthorized": ...}` response is expected.
    pub simple: bool,
}

impl ApiGateway {
    /// Runs (or answers from cache) a Lambda authorizer. `Ok` carries the
    /// principal id and context; `Err` the gateway's refusal (401, 403, 500).
    pub(crate) async fn lambda_authorize(
        &self,
        call: AuthorizerCall<'_>,
    ) -> Result<(Option<String>, Map<String, Value>), Refusal> {
        // Long identities are not cached: the cache's memory stays bounded.
        let cacheable = !call.identity.is_empty()
            && call.identity.iter().map(String::len).sum::<usize>() <= 4096;
        let cache_key = cacheable.then(|| {
            format!(
                "{}/{}/{}",
                call.api_id,
                call.authorizer_id,
                call.identity.join("\u{1f}")
            )
        });
        let cached = cache_key
            .as_deref()
            .and_then(|k| self.exec.auth_cache.get(k));
        let decision = match cached {
            Some(d) => d,
            None => {
                let d = self.run_authorizer(&call).await?;
                if let Some(k) = cache_key {
                    self.exec.auth_cache.put(k, call.ttl, d.clone());
                }
                d
            }
        };
        let decision = match decision {
            AuthDecision::Policy(answer) => {
                let doc = answer.get("policyDocument").cloned().unwrap_or_default();
                match policy_verdict(&doc, &call.arn) {
                    Some(Verdict::Allow) => AuthDecision::Allow(answer),
                    Some(Verdict::ImplicitDeny) => AuthDecision::Deny(false),
                    Some(Verdict::ExplicitDeny) => AuthDecision::Deny(true),
                    None => return Err(Refusal::Failed),
                }
            }
            d => d,
        };
        match decision {
            AuthDecision::Policy(_) => Err(Refusal::Failed),
            AuthDecision::Allow(v) => {
                let principal = v
                    .get("principalId")
                    .and_then(|p| p.as_str())
                    .map(str::to_string);
                let ctx = match v.get("context") {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                Ok((principal, ctx))
            }
            AuthDecision::Deny(explicit) => Err(Refusal::Denied(explicit)),
            AuthDecision::Unauthorized => Err(Refusal::Unauthorized),
        }
    }

    async fn run_authorizer(&self, call: &AuthorizerCall<'_>) -> Result<AuthDecision, Refusal> {
        let function = crate::v2::apply::lambda_target(call.uri).unwrap_or(call.uri);
        let payload = Bytes::from(serde_json::to_vec(&call.event).unwrap_or_default());
        let source_arn = call.arn.clone();
        let out = match self
            .call_lambda(
                call.account,
                call.region,
                function,
                payload,
                AUTHORIZER_TIMEOUT,
                source_arn,
            )
            .await
        {
            Ok(out) if out.function_error.is_none() => out,
            Ok(out) => {
                // A REST TOKEN authorizer that fails with "Unauthorized" means 401.
                let msg: Value = serde_json::from_slice(&out.payload).unwrap_or(Value::Null);
                if msg.get("errorMessage").and_then(|m| m.as_str()) == Some("Unauthorized") {
                    return Ok(AuthDecision::Unauthorized);
                }
                return Err(Refusal::Failed);
            }
            Err(CallFailure::Throttled) => return Err(Refusal::Throttled),
            Err(_) => return Err(Refusal::Failed),
        };
        let answer: Value = match serde_json::from_slice(&out.payload) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err(Refusal::Failed),
        };
        if call.simple {
            return match answer.get("isAuthorized") {
                Some(Value::Bool(true)) => Ok(AuthDecision::Allow(answer)),
                Some(Value::Bool(false)) => Ok(AuthDecision::Deny(false)),
                _ => Err(Refusal::Failed),
            };
        }
        let Some(doc) = answer.get("policyDocument") else {
            return Err(Refusal::Failed);
        };
        if policy_verdict(doc, &call.arn).is_none() {
            return Err(Refusal::Failed);
        }
        Ok(AuthDecision::Policy(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(
            "arn:aws:execute-api:*:*:abc/*",
            "arn:aws:execute-api:us-east-1:1:abc/prod/GET/x"
        ));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("abc", "abcd"));
    }

    #[test]
    fn policies() {
        let arn = "arn:aws:execute-api:us-east-1:1:abc/prod/GET/pets";
        let allow = serde_json::json!({"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:1:abc/*"}]});
        assert_eq!(policy_verdict(&allow, arn), Some(Verdict::Allow));
        let deny = serde_json::json!({"Statement":[
            {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},
            {"Action":["execute-api:*"],"Effect":"Deny","Resource":[arn]}]});
        assert_eq!(policy_verdict(&deny, arn), Some(Verdict::ExplicitDeny));
        let other = serde_json::json!({"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:1:zzz/*"}]});
        assert_eq!(policy_verdict(&other, arn), Some(Verdict::ImplicitDeny));
        assert_eq!(
            policy_verdict(&serde_json::json!({"Statement": 3}), arn),
            None
        );
    }
}
