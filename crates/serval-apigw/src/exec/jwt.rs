//! JWT authorizers of HTTP APIs: the token from the identity source,
//! verified against the issuer's keys (JWKS, found by OIDC discovery and
//! cached), with issuer, audience, expiry and scopes checked as API Gateway does.

use super::event::Incoming;
use super::lambda_auth::identity_value;
use super::message;
use crate::v2::model::Authorizer;
use crate::ApiGateway;
use bytes::Bytes;
use http::{HeaderMap, Method};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};
use serval_wire::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an issuer's keys are trusted before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(2 * 3600);
/// An unknown `kid` forces a refetch of the keys at most this often per issuer.
const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// How long a discovery or JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Issuers whose keys are cached at once.
const MAX_ISSUERS: usize = 1_000;

/// Issuers' key sets, by issuer URL.
#[derive(Default)]
pub struct JwksCache {
    sets: Mutex<HashMap<String, Keys>>,
}

#[derive(Clone)]
struct Keys {
    fetched: Instant,
    /// When an unknown `kid` last forced a fetch.
    forced: Option<Instant>,
    set: Arc<JwkSet>,
}

impl JwksCache {
    fn get(&self, issuer: &str) -> Option<Keys> {
        let m = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        m.get(issuer).cloned()
    }

    fn put(&self, issuer: &str, set: Arc<JwkSet>, forced: bool) {
        let mut m = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX_ISSUERS {
            m.clear();
        }
        let now = Instant::now();
        let previous = m.get(issuer).and_then(|k| k.forced);
        m.insert(
            issuer.to_string(),
            Keys {
                fetched: now,
                forced: if forced { Some(now) } else { previous },
                set,
            },
        );
    }
}

/// Why a token was refused.
enum Refused {
    /// 401 with this description.
    Invalid(&'static str),
    /// 403: the token lacks the route's scopes.
    Scope,
}

fn unauthorized(description: &str) -> Response {
    let mut r = message(401, "Unauthorized");
    r.set_header(
        "www-authenticate",
        &format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{description}\""),
    );
    r
}

/// A claim value as API Gateway hands it to integrations: text, with
/// arrays written `[a b c]`.
fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(claim_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the token's audience (`aud`, else `client_id`) is one the
/// authorizer accepts.
fn audience_ok(claims: &Map<String, Value>, accepted: &[String]) -> bool {
    if accepted.is_empty() {
        return true;
    }
    let aud = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(v @ Value::Array(_)) => strings(Some(v)),
        _ => Vec::new(),
    };
    if !aud.is_empty() {
        return aud.iter().any(|a| accepted.contains(a));
    }
    claims
        .get("client_id")
        .and_then(Value::as_str)
        .is_some_and(|c| accepted.iter().any(|a| a == c))
}

/// The token's scopes (`scope` as a space-separated string, or `scp`).
fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut s = strings(claims.get("scope"));
    if s.is_empty() {
        s = strings(claims.get("scp"));
    }
    s
}

impl ApiGateway {
    async fn fetch_json(&self, url: &str) -> Option<Value> {
        let up = self
            .exec
            .http
            .send(
                Method::GET,
                url,
                &HeaderMap::new(),
                Bytes::new(),
                FETCH_TIMEOUT,
            )
            .await
            .map_err(|e| tracing::warn!(url, error = ?e, "JWT authorizer: fetch failed"))
            .ok()?;
        if up.status != 200 {
            tracing::warn!(url, status = up.status, "JWT authorizer: fetch failed");
            return None;
        }
        serde_json::from_slice(&up.body).ok()
    }

    /// The issuer's keys: discovery, then `jwks_uri`.
    async fn issuer_keys(&self, issuer: &str, refresh: bool) -> Option<Arc<JwkSet>> {
        if let Some(k) = self.exec.jwks.get(issuer) {
            let fresh = k.fetched.elapsed() < KEYS_TTL;
            let recently_forced = k.forced.is_some_and(|f| f.elapsed() < REFETCH_AFTER);
            if fresh && (!refresh || recently_forced) {
                return Some(k.set);
            }
        }
        let base = issuer.trim_end_matches('/');
        // OIDC discovery names the key set; without it, the conventional
        // `/.well-known/jwks.json` of the issuer.
        let discovered = self
            .fetch_json(&format!("{base}/.well-known/openid-configuration"))
            .await
            .and_then(|doc| doc.get("jwks_uri")?.as_str().map(str::to_string));
        let jwks_uri = discovered.unwrap_or_else(|| format!("{base}/.well-known/jwks.json"));
        let set: JwkSet = serde_json::from_value(self.fetch_json(&jwks_uri).await?)
            .map_err(|e| tracing::warn!(issuer, error = %e, "JWT authorizer: unreadable JWKS"))
            .ok()?;
        let set = Arc::new(set);
        self.exec.jwks.put(issuer, set.clone(), refresh);
        Some(set)
    }

    async fn verify(
        &self,
        au: &Authorizer,
        token: &str,
        scopes: &[String],
    ) -> Result<Value, Refused> {
        let cfg = au.jwt_configuration.clone().unwrap_or_default();
        let issuer = cfg.issuer.unwrap_or_default();
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Refused::Invalid("the token is malformed"))?;
        let mut keys = self
            .issuer_keys(&issuer, false)
            .await
            .ok_or(Refused::Invalid(
                "the keys of the issuer could not be fetched",
            ))?;
        let pick = |set: &JwkSet| -> Option<jsonwebtoken::jwk::Jwk> {
            match &header.kid {
                Some(kid) => set.find(kid).cloned(),
                None if set.keys.len() == 1 => set.keys.first().cloned(),
                None => None,
            }
        };
        let jwk = match pick(&keys) {
            Some(k) => k,
            None => {
                keys = self
                    .issuer_keys(&issuer, true)
                    .await
                    .ok_or(Refused::Invalid(
                        "the keys of the issuer could not be fetched",
                    ))?;
                pick(&keys).ok_or(Refused::Invalid("the token was signed by an unknown key"))?
            }
        };
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| Refused::Invalid("the issuer's key is unusable"))?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[issuer.as_str()]);
        v.validate_aud = false;
        v.validate_nbf = true;
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "iss"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            Refused::Invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidIssuer => "the token has an invalid issuer",
                ErrorKind::InvalidSignature => "the token does not have a valid signature",
                ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key",
                ErrorKind::MissingRequiredClaim(_) => "the token is missing a required claim",
                _ => "the token is invalid",
            })
        })?;
        let claims = data.claims;
        if !audience_ok(&claims, cfg.audience.as_deref().unwrap_or(&[])) {
            return Err(Refused::Invalid("the token has an invalid audience"));
        }
        let have = token_scopes(&claims);
        if !scopes.is_empty() && !scopes.iter().any(|s| have.contains(s)) {
            return Err(Refused::Scope);
        }
        let rendered: Map<String, Value> = claims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(claim_text(v))))
            .collect();
        Ok(serde_json::json!({
            "jwt": {
                "claims": rendered,
                "scopes": if have.is_empty() { Value::Null } else { serde_json::json!(have) },
            }
        }))
    }

    /// Verifies the request's JWT; `Ok` is `requestContext.authorizer`
    /// (`{"jwt": {"claims": {...}, "scopes": [...]}}`), `Err` is 401 or 403.
    pub(crate) async fn jwt_authorize(
        &self,
        authorizer: &Authorizer,
        inc: &Incoming<'_>,
        scopes: &[String],
    ) -> Result<Value, Response> {
        let no_vars = std::collections::BTreeMap::new();
        let source = authorizer
            .identity_source
            .first()
            .map(String::as_str)
            .unwrap_or("$request.header.Authorization");
        let Some(raw) = identity_value(source, inc, &no_vars) else {
            return Err(unauthorized("the token is missing"));
        };
        let token = raw.trim();
        let token = match token.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("bearer ") => token[7..].trim(),
            _ => token,
        };
        if token.is_empty() {
            return Err(unauthorized("the token is missing"));
        }
        match self.verify(authorizer, token, scopes).await {
            Ok(v) => Ok(v),
            Err(Refused::Invalid(why)) => Err(unauthorized(why)),
            Err(Refused::Scope) => Err(message(403, "Forbidden")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_render_as_text() {
        assert_eq!(claim_text(&serde_json::json!("a")), "a");
        assert_eq!(claim_text(&serde_json::json!(12)), "12");
        assert_eq!(claim_text(&serde_json::json!(true)), "true");
        assert_eq!(claim_text(&serde_json::json!(["x", "y"])), "[x y]");
    }

    #[test]
    fn audience_and_scopes() {
        let c: Map<String, Value> =
            serde_json::from_str(r#"{"aud":["a","b"],"scope":"read write"}"#).unwrap();
        assert!(audience_ok(&c, &["b".into()]));
        assert!(!audience_ok(&c, &["z".into()]));
        let c2: Map<String, Value> = serde_json::from_str(r#"{"client_id":"app"}"#).unwrap();
        assert!(audience_ok(&c2, &["app".into()]));
        assert!(!audience_ok(&c2, &["other".into()]));
        assert_eq!(token_scopes(&c), vec!["read", "write"]);
        let c3: Map<String, Value> = serde_json::from_str(r#"{"scp":["x"]}"#).unwrap();
        assert_eq!(token_scopes(&c3), vec!["x"]);
    }
}
