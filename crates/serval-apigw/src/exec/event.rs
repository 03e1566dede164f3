//! Lambda proxy integration payloads (formats 1.0 and 2.0) and the mapping
//! of a function's answer back to HTTP, as API Gateway does both.

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serval_wire::Response;

/// Everything about one incoming request the payloads are built from.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The path as the client sent it (percent-encoded), with the stage
    /// segment when the stage is not `$default`.
    pub raw_path: &'a str,
    /// The path without the stage segment.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    pub source_ip: String,
    pub request_id: &'a str,
    pub time_ms: u64,
    pub domain_name: String,
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
}

/// What a route or resource contributes: its key, template and parameters.
pub struct Matched<'a> {
    /// `GET /pets/{id}` or `$default` (2.0); the resource path for 1.0.
    pub route_key: &'a str,
    /// The resource path (`/pets/{id}`), for 1.0's `resource`.
    pub resource_path: &'a str,
    /// REST APIs' resource id (`None` for HTTP APIs).
    pub resource_id: Option<&'a str>,
    pub path_params: &'a [(String, String)],
    pub stage_variables: &'a std::collections::BTreeMap<String, String>,
    /// `requestContext.authorizer` (already in the shape of the format).
    pub authorizer: Option<Value>,
    /// `requestContext.identity` extras (API key) for 1.0.
    pub api_key: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    /// Whether this is a REST API (1.0 without `version`, `path` with stage).
    pub rest: bool,
}

/// Whether a body with this content type travels as text.
pub fn is_text(content_type: Option<&str>, binary_types: &[String]) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if binary_types.iter().any(|b| media_matches(b, &ct)) {
        return false;
    }
    ct.starts_with("text/")
        || ct.ends_with("/json")
        || ct.ends_with("+json")
        || ct.ends_with("/xml")
        || ct.ends_with("+xml")
        || ct == "application/javascript"
        || ct == "application/graphql"
}

fn media_matches(pattern: &str, ct: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    if pattern == "*/*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(major) => ct.split('/').next() == Some(major),
        None => pattern == ct,
    }
}

/// The body as the event carries it, and whether it is base64.
pub fn body_field(body: &Bytes, headers: &HeaderMap, binary_types: &[String]) -> (Value, bool) {
    if body.is_empty() {
        return (Value::Null, false);
    }
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
    let text = is_text(ct, binary_types) && std::str::from_utf8(body).is_ok();
    if text {
        (
            Value::String(String::from_utf8_lossy(body).into_owned()),
            false,
        )
    } else {
        (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        )
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Query parameters in order, decoded.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn params_object(params: &[(String, String)]) -> Value {
    if params.is_empty() {
        return Value::Null;
    }
    Value::Object(
        params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn vars_object(vars: &std::collections::BTreeMap<String, String>) -> Value {
    if vars.is_empty() {
        return Value::Null;
    }
    Value::Object(
        vars.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Headers of a 2.0 event: lower-case names, repeated values joined with
/// commas, `cookie` left out (it has its own field).
struct HeadersV2<'a>(&'a HeaderMap);

impl Serialize for HeadersV2<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for name in self.0.keys() {
            if name == http::header::COOKIE {
                continue;
            }
            let mut all = self.0.get_all(name).iter();
            let first = all.next().map(|v| String::from_utf8_lossy(v.as_bytes()));
            match (first, all.next()) {
                (Some(v), None) => map.serialize_entry(name.as_str(), &v)?,
                (Some(v), Some(second)) => {
                    let mut joined = v.into_owned();
                    for x in std::iter::once(second).chain(all) {
                        joined.push(',');
                        joined.push_str(&String::from_utf8_lossy(x.as_bytes()));
                    }
                    map.serialize_entry(name.as_str(), &joined)?;
                }
                (None, _) => {}
            }
        }
        map.end()
    }
}

/// Query parameters of a 2.0 event: repeated values joined with commas.
struct QueryV2(Vec<(String, String)>);

impl Serialize for QueryV2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut merged: Vec<(&str, String)> = Vec::with_capacity(self.0.len());
        for (k, v) in &self.0 {
            match merged.iter_mut().find(|(mk, _)| *mk == k.as_str()) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(v);
                }
                None => merged.push((k, v.clone())),
            }
        }
        let mut map = s.serialize_map(Some(merged.len()))?;
        for (k, v) in &merged {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Path parameters or stage variables as a JSON object.
struct Pairs<'a>(&'a [(String, String)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpV2<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'static str,
    source_ip: &'a str,
    user_agent: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextV2<'a> {
    account_id: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<&'a Value>,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: HttpV2<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'a str,
    time: String,
    time_epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventV2<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Vec<&'a str>>,
    headers: HeadersV2<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<QueryV2>,
    request_context: ContextV2<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<Pairs<'a>>,
    is_base64_encoded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<&'a std::collections::BTreeMap<String, String>>,
}

fn with_event_v2<R>(inc: &Incoming, m: &Matched, f: impl FnOnce(&EventV2) -> R) -> R {
    let cookies: Vec<&str> = inc
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let query = query_pairs(inc.query);
    let (body, b64) = body_field(inc.body, inc.headers, &[]);
    let ua = inc
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ev = EventV2 {
        version: "2.0",
        route_key: m.route_key,
        raw_path: inc.raw_path,
        raw_query_string: inc.query,
        cookies: (!cookies.is_empty()).then_some(cookies),
        headers: HeadersV2(inc.headers),
        query_string_parameters: (!query.is_empty()).then_some(QueryV2(query)),
        request_context: ContextV2 {
            account_id: inc.account_id,
            api_id: inc.api_id,
            authorizer: m.authorizer.as_ref(),
            domain_name: &inc.domain_name,
            domain_prefix: inc.domain_name.split('.').next().unwrap_or(""),
            http: HttpV2 {
                method: inc.method,
                path: inc.raw_path,
                protocol: "HTTP/1.1",
                source_ip: &inc.source_ip,
                user_agent: ua,
            },
            request_id: inc.request_id,
            route_key: m.route_key,
            stage: inc.stage,
            time: serval_core::time::clf(inc.time_ms),
            time_epoch: inc.time_ms,
        },
        body: (!body.is_null()).then_some(body),
        path_parameters: (!m.path_params.is_empty()).then_some(Pairs(m.path_params)),
        is_base64_encoded: b64,
        stage_variables: (!m.stage_variables.is_empty()).then_some(m.stage_variables),
    };
    f(&ev)
}

/// The payload format 2.0 event, serialized (the request path).
pub fn event_v2_bytes(inc: &Incoming, m: &Matched) -> Vec<u8> {
    with_event_v2(inc, m, |ev| serde_json::to_vec(ev).unwrap_or_default())
}

/// The payload format 2.0 event as a value (for authorizers, which extend it).
pub fn event_v2(inc: &Incoming, m: &Matched) -> Value {
    with_event_v2(inc, m, |ev| serde_json::to_value(ev).unwrap_or_default())
}

/// `content-type` -> `Content-Type`, `x-api-key` -> `X-Api-Key`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        upper = c == '-';
    }
    out
}

/// The payload format 1.0 event (REST APIs, and HTTP APIs set to 1.0).
pub fn event_v1(inc: &Incoming, m: &Matched, binary_types: &[String]) -> Value {
    let mut headers = Map::new();
    let mut multi = Map::new();
    for (name, value) in inc.headers {
        let v = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        // REST APIs keep header names as the client sent them; hyper hands
        // them over lower-cased, so they are written the way HTTP/1.1 clients
        // send them (`Content-Type`). HTTP APIs lower-case every name.
        let name = if m.rest {
            title_case(name.as_str())
        } else {
            name.as_str().to_string()
        };
        headers.insert(name.clone(), v.clone());
        match multi.get_mut(&name) {
            Some(Value::Array(a)) => a.push(v),
            _ => {
                multi.insert(name, Value::Array(vec![v]));
            }
        }
    }
    let mut query = Map::new();
    let mut mquery = Map::new();
    for (k, v) in query_pairs(inc.query) {
        query.insert(k.clone(), Value::String(v.clone()));
        match mquery.get_mut(&k) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            _ => {
                mquery.insert(k, Value::Array(vec![Value::String(v)]));
            }
        }
    }
    let (body, b64) = body_field(inc.body, inc.headers, binary_types);
    let domain_prefix = inc.domain_name.split('.').next().unwrap_or("").to_string();
    let ua = user_agent(inc.headers);
    let ctx_path = if m.rest && inc.stage != "$default" {
        format!("/{}{}", inc.stage, inc.path)
    } else {
        inc.raw_path.to_string()
    };
    let mut ctx = serde_json::json!({
        "accountId": inc.account_id,
        "apiId": inc.api_id,
        "domainName": inc.domain_name,
        "domainPrefix": domain_prefix,
        "extendedRequestId": inc.request_id,
        "httpMethod": inc.method,
        "identity": {
            "accessKey": null,
            "accountId": null,
            "apiKey": m.api_key,
            "apiKeyId": m.api_key_id,
            "caller": null,
            "cognitoAuthenticationProvider": null,
            "cognitoAuthenticationType": null,
            "cognitoIdentityId": null,
            "cognitoIdentityPoolId": null,
            "principalOrgId": null,
            "sourceIp": inc.source_ip,
            "user": null,
            "userAgent": ua,
            "userArn": null,
        },
        "path": ctx_path,
        "protocol": "HTTP/1.1",
        "requestId": inc.request_id,
        "requestTime": serval_core::time::clf(inc.time_ms),
        "requestTimeEpoch": inc.time_ms,
        "resourceId": m.resource_id,
        "resourcePath": m.resource_path,
        "stage": inc.stage,
    });
    if let Some(a) = &m.authorizer {
        ctx["authorizer"] = a.clone();
    }
    let mut ev = serde_json::json!({
        "resource": m.resource_path,
        "path": inc.path,
        "httpMethod": inc.method,
        "headers": if headers.is_empty() { Value::Null } else { Value::Object(headers) },
        "multiValueHeaders": if multi.is_empty() { Value::Null } else { Value::Object(multi) },
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "multiValueQueryStringParameters": if mquery.is_empty() { Value::Null } else { Value::Object(mquery) },
        "pathParameters": params_object(m.path_params),
        "stageVariables": vars_object(m.stage_variables),
        "requestContext": ctx,
        "body": body,
        "isBase64Encoded": b64,
    });
    if !m.rest {
        ev["version"] = "1.0".into();
    }
    ev
}

/// A function's structured proxy response.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProxyResponse {
    status_code: Option<Value>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    multi_value_headers: Option<Map<String, Value>>,
    #[serde(default)]
    cookies: Option<Vec<Value>>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    is_base64_encoded: Option<Value>,
}

/// Why a function's answer could not be mapped.
#[derive(Debug)]
pub struct Malformed;

fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn push_header(headers: &mut HeaderMap, name: &str, value: &str, append: bool) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        if append {
            headers.append(n, v);
        } else {
            headers.insert(n, v);
        }
    }
}

/// Maps a function's answer to the HTTP response. `v2` applies format 2.0's
/// rules (a plain value becomes a 200 JSON body).
pub fn map_response(payload: &[u8], v2: bool) -> Result<Response, Malformed> {
    // Whether the answer is a structured response, found without building a
    // value tree: most plain answers are passed through as they came.
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "statusCode")]
        status_code: Option<serde::de::IgnoredAny>,
    }
    let structured = match serde_json::from_slice::<Probe>(payload) {
        Ok(p) => p.status_code.is_some(),
        Err(_) => {
            serde_json::from_slice::<serde::de::IgnoredAny>(payload).map_err(|_| Malformed)?;
            false
        }
    };
    if !structured {
        if !v2 {
            return Err(Malformed);
        }
        let body = match serde_json::from_slice::<String>(payload) {
            Ok(s) => s.into_bytes(),
            Err(_) => payload.to_vec(),
        };
        return Ok(Response::bytes(200, "application/json", Bytes::from(body)));
    }
    let r: ProxyResponse = serde_json::from_slice(payload).map_err(|_| Malformed)?;
    let status = match r.status_code {
        Some(Value::Number(n)) => n.as_u64().ok_or(Malformed)?,
        Some(Value::String(s)) if !v2 => s.parse::<u64>().map_err(|_| Malformed)?,
        Some(Value::String(s)) => s.parse::<u64>().map_err(|_| Malformed)?,
        _ => return Err(Malformed),
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or(Malformed)?;
    let b64 = match r.is_base64_encoded {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => s == "true",
        _ => return Err(Malformed),
    };
    let body = match r.body {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if b64 => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| Malformed)?,
        Some(Value::String(s)) => s.into_bytes(),
        Some(_) if !v2 => return Err(Malformed),
        Some(other) => serde_json::to_vec(&other).unwrap_or_default(),
    };
    let mut headers = HeaderMap::new();
    if let Some(mv) = r.multi_value_headers {
        for (k, v) in mv {
            let Value::Array(vals) = v else {
                return Err(Malformed);
            };
            for x in vals {
                if let Some(t) = header_text(&x) {
                    push_header(&mut headers, &k, &t, true);
                }
            }
        }
    }
    if let Some(h) = r.headers {
        for (k, v) in h {
            let Some(t) = header_text(&v) else {
                if v.is_null() {
                    continue;
                }
                return Err(Malformed);
            };
            push_header(&mut headers, &k, &t, false);
        }
    }
    if v2 {
        for c in r.cookies.unwrap_or_default() {
            if let Some(t) = header_text(&c) {
                push_header(&mut headers, "set-cookie", &t, true);
            }
        }
        if !headers.contains_key(http::header::CONTENT_TYPE) && !body.is_empty() {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
    } else if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let mut resp = Response::empty(status.as_u16());
    resp.headers = headers;
    resp.body = Bytes::from(body);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_200_json_in_2_0_only() {
        let r = map_response(br#"{"hello":"world"}"#, true).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], br#"{"hello":"world"}"#);
        let r = map_response(br#""hi""#, true).unwrap();
        assert_eq!(&r.body[..], b"hi");
        assert!(map_response(br#"{"hello":"world"}"#, false).is_err());
    }

    #[test]
    fn structured_responses_map_headers_cookies_and_binary() {
        let r = map_response(
            br#"{"statusCode":201,"headers":{"x-a":"1"},"multiValueHeaders":{"x-b":["1","2"]},"cookies":["a=1","b=2"],"body":"aGk=","isBase64Encoded":true}"#,
            true,
        )
        .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(&r.body[..], b"hi");
        assert_eq!(r.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(r.headers.get_all("x-b").iter().count(), 2);
        assert!(map_response(br#"{"statusCode":"abc"}"#, false).is_err());
        assert!(map_response(b"not json", true).is_err());
    }

    #[test]
    fn text_and_binary_types() {
        assert!(is_text(Some("application/json; charset=utf-8"), &[]));
        assert!(!is_text(Some("image/png"), &[]));
        assert!(!is_text(Some("application/json"), &["*/*".to_string()]));
        assert!(!is_text(Some("image/png"), &["image/*".to_string()]));
    }
}
