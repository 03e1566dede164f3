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
/// How far ahead of ours the issuer's clock may be (`nbf`, `iat`); `exp` gets none.
const CLOCK_SKEW_SECS: u64 = 5;

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

/// 401 for a request without a token: RFC 6750 §3.1, no error code.
fn no_token() -> Response {
    let mut r = message(401, "Unauthorized");
    r.set_header("www-authenticate", "Bearer");
    r
}

/// 401 for a token that failed a check, described as API Gateway does.
fn unauthorized(description: &str) -> Response {
    let mut r = message(401, "Unauthorized");
    r.set_header(
        "www-authenticate",
        &format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{description}\""),
    );
    r
}

/// A claim value as API Gateway hands it to integrations: text, the way
/// Go's `%v` prints decoded JSON (the gateway's own rendering): arrays
/// `[a b c]`, objects `map[k1:v1 k2:v2]` with sorted keys (as reported from
/// real gateways in aws/aws-lambda-go#570), numbers as written, `null`
/// inside a value as `<nil>`. Top-level `null` claims are left out, see
/// [`render_claims`].
fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(claim_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(o) => {
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", claim_text(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
    }
}

/// `jwt.claims`: every claim as text; `null` claims are omitted.
fn render_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), Value::String(claim_text(v))))
        .collect()
}

/// The token's bearer value: an optional `Bearer ` prefix (any case) is dropped.
fn bearer(raw: &str) -> &str {
    let token = raw.trim_start();
    match token.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => token[7..].trim(),
        _ => token.trim_end(),
    }
}

/// `nbf` and `iat` may not lie in the future (beyond the clock skew);
/// `exp` is checked by the verifier.
fn times_ok(claims: &Map<String, Value>, now: u64) -> Result<(), &'static str> {
    let limit = now.saturating_add(CLOCK_SKEW_SECS) as f64;
    let after = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_f64)
            .is_some_and(|t| t > limit)
    };
    if after("nbf") {
        return Err("the token is not valid yet");
    }
    if after("iat") {
        return Err("the token was issued in the future");
    }
    Ok(())
}

/// Only public-key signatures (RSA, RSA-PSS, ECDSA, EdDSA) are accepted, and
/// only with a key meant for signatures whose `alg`, when published, is the token's.
fn key_fits(jwk: &jsonwebtoken::jwk::Jwk, alg: jsonwebtoken::Algorithm) -> bool {
    use jsonwebtoken::jwk::{KeyAlgorithm, PublicKeyUse};
    use jsonwebtoken::AlgorithmFamily;
    let public = !matches!(alg.family(), AlgorithmFamily::Hmac);
    let for_signing = matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    );
    let same_alg = jwk
        .common
        .key_algorithm
        .is_none_or(|a| a == KeyAlgorithm::from(alg));
    public && for_signing && same_alg
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

/// `jwt.scopes` for a route requiring `required` (any one of them): the
/// token's scopes on a route with scopes, `null` on a route without (as real
/// HTTP APIs answer, even when the token carries scopes); `Err` when the
/// token has none of the required ones.
fn route_scopes(claims: &Map<String, Value>, required: &[String]) -> Result<Value, Refused> {
    if required.is_empty() {
        return Ok(Value::Null);
    }
    let have = token_scopes(claims);
    if !required.iter().any(|s| have.contains(s)) {
        return Err(Refused::Scope);
    }
    Ok(Value::from(have))
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
        // Keys are read one by one: a key of a kind Serval cannot read (or a
        // malformed one) is skipped, not the whole set.
        let doc = self.fetch_json(&jwks_uri).await?;
        let keys: Vec<jsonwebtoken::jwk::Jwk> = doc
            .get("keys")
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .filter_map(|k| serde_json::from_value(k.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if keys.is_empty() {
            tracing::warn!(issuer, "JWT authorizer: no usable keys in the JWKS");
            return None;
        }
        let set = Arc::new(JwkSet { keys });
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
        if !key_fits(&jwk, header.alg) {
            return Err(Refused::Invalid(
                "the token's algorithm does not match its key",
            ));
        }
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| Refused::Invalid("the issuer's key is unusable"))?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[issuer.as_str()]);
        v.validate_aud = false;
        // `nbf` and `iat` are checked below, with the clock skew `exp` does not get.
        v.validate_nbf = false;
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
        times_ok(&claims, jsonwebtoken::get_current_timestamp()).map_err(Refused::Invalid)?;
        if !audience_ok(&claims, cfg.audience.as_deref().unwrap_or(&[])) {
            return Err(Refused::Invalid("the token does not have a valid audience"));
        }
        Ok(serde_json::json!({
            "jwt": {
                "claims": render_claims(&claims),
                "scopes": route_scopes(&claims, scopes)?,
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
            return Err(no_token());
        };
        let token = bearer(&raw);
        if token.is_empty() {
            return Err(no_token());
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
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::Algorithm;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn claims_render_as_text() {
        assert_eq!(claim_text(&json!("a")), "a");
        assert_eq!(claim_text(&json!(12)), "12");
        assert_eq!(claim_text(&json!(1612061676)), "1612061676");
        assert_eq!(claim_text(&json!(1.5)), "1.5");
        assert_eq!(claim_text(&json!(true)), "true");
        assert_eq!(claim_text(&json!(["x", "y"])), "[x y]");
        assert_eq!(claim_text(&json!(["x", 1, ["y", "z"]])), "[x 1 [y z]]");
        assert_eq!(claim_text(&json!([])), "[]");
        assert_eq!(
            claim_text(&json!({"b": 1, "a": {"c": ["d"]}, "n": null})),
            "map[a:map[c:[d]] b:1 n:<nil>]"
        );
        let r = render_claims(&map(json!({"sub": "u", "gone": null, "n": 3})));
        assert_eq!(Value::Object(r), json!({"sub": "u", "n": "3"}));
    }

    #[test]
    fn bearer_prefix_is_optional_and_any_case() {
        assert_eq!(bearer("Bearer abc"), "abc");
        assert_eq!(bearer("bearer  abc "), "abc");
        assert_eq!(bearer("BEARER abc"), "abc");
        assert_eq!(bearer("abc"), "abc");
        assert_eq!(bearer("Bearer"), "Bearer");
        assert_eq!(bearer("Bearer "), "");
        assert_eq!(bearer("Bearerabc"), "Bearerabc");
        // Multi-byte text where the prefix would end must not panic.
        assert_eq!(bearer("Bearé abc"), "Bearé abc");
    }

    #[test]
    fn audience_is_aud_else_client_id() {
        let c = map(json!({"aud": ["a", "b"], "client_id": "app"}));
        assert!(audience_ok(&c, &["b".into()]));
        // With an `aud`, `client_id` is not looked at.
        assert!(!audience_ok(&c, &["app".into()]));
        assert!(audience_ok(&map(json!({"aud": "a"})), &["a".into()]));
        assert!(!audience_ok(&map(json!({"aud": "a"})), &["z".into()]));
        let c2 = map(json!({"client_id": "app"}));
        assert!(audience_ok(&c2, &["app".into()]));
        assert!(!audience_ok(&c2, &["other".into()]));
        assert!(!audience_ok(&map(json!({})), &["app".into()]));
    }

    #[test]
    fn scopes_on_scoped_routes_only() {
        let c = map(json!({"scope": "read write"}));
        assert_eq!(token_scopes(&c), vec!["read", "write"]);
        assert_eq!(token_scopes(&map(json!({"scp": ["x"]}))), vec!["x"]);
        assert_eq!(token_scopes(&map(json!({"scp": "x y"}))), vec!["x", "y"]);
        // A route without scopes hands on null, whatever the token carries.
        assert_eq!(route_scopes(&c, &[]).ok(), Some(Value::Null));
        assert_eq!(
            route_scopes(&c, &["admin".into(), "write".into()]).ok(),
            Some(json!(["read", "write"]))
        );
        assert!(matches!(
            route_scopes(&c, &["admin".into()]),
            Err(Refused::Scope)
        ));
        assert!(matches!(
            route_scopes(&map(json!({})), &["admin".into()]),
            Err(Refused::Scope)
        ));
    }

    #[test]
    fn future_nbf_and_iat_are_refused_beyond_the_skew() {
        let now = 1_000_000;
        assert!(times_ok(&map(json!({"iat": now, "nbf": now})), now).is_ok());
        assert!(times_ok(&map(json!({"iat": now + CLOCK_SKEW_SECS})), now).is_ok());
        assert!(times_ok(&map(json!({"iat": now + 60})), now).is_err());
        assert!(times_ok(&map(json!({"nbf": now + 60})), now).is_err());
        assert!(times_ok(&map(json!({})), now).is_ok());
    }

    #[test]
    fn keys_fit_only_their_algorithm() {
        let rsa: Jwk = serde_json::from_value(json!({
            "kty": "RSA", "kid": "k", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"
        }))
        .unwrap();
        assert!(key_fits(&rsa, Algorithm::RS256));
        assert!(!key_fits(&rsa, Algorithm::RS512));
        assert!(!key_fits(&rsa, Algorithm::HS256));
        let mut any = rsa.clone();
        any.common.key_algorithm = None;
        assert!(key_fits(&any, Algorithm::PS256));
        let enc: Jwk = serde_json::from_value(json!({
            "kty": "RSA", "kid": "k", "use": "enc", "n": "AQAB", "e": "AQAB"
        }))
        .unwrap();
        assert!(!key_fits(&enc, Algorithm::RS256));
        let oct: Jwk =
            serde_json::from_value(json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"})).unwrap();
        assert!(!key_fits(&oct, Algorithm::HS256));
    }
}
