//! Parameter mapping of HTTP API integrations: request headers, query
//! string and path rewritten before an HTTP integration is called, and
//! response headers and status rewritten per status code afterwards.

use super::event::{query_pairs, Incoming};
use super::lambda_auth::identity_value;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::collections::BTreeMap;

/// The request an HTTP integration receives.
pub struct Outgoing {
    /// Path (percent-encoded), when mapping overwrote it.
    pub path: Option<String>,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
}

fn request_value(
    expr: &str,
    inc: &Incoming,
    params: &[(String, String)],
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    if !expr.starts_with('$') {
        return Some(expr.to_string());
    }
    if expr == "$request.path" {
        return Some(inc.path.to_string());
    }
    if let Some(name) = expr.strip_prefix("$request.path.") {
        return params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
    }
    identity_value(expr, inc, vars)
}

fn set_header(h: &mut HeaderMap, name: &str, value: &str, append: bool) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        if append {
            h.append(n, v);
        } else {
            h.insert(n, v);
        }
    }
}

/// Applies an integration's `requestParameters`.
pub fn map_request(
    mapping: Option<&BTreeMap<String, String>>,
    inc: &Incoming,
    params: &[(String, String)],
    vars: &BTreeMap<String, String>,
) -> Outgoing {
    let mut out = Outgoing {
        path: None,
        query: query_pairs(inc.query),
        headers: inc.headers.clone(),
    };
    let Some(mapping) = mapping else {
        return out;
    };
    for (key, expr) in mapping {
        let Some((op, target)) = key.split_once(':') else {
            continue;
        };
        let value = request_value(expr, inc, params, vars);
        if let Some(name) = target.strip_prefix("header.") {
            match (op, value) {
                ("remove", _) => {
                    out.headers.remove(name);
                }
                ("append", Some(v)) => set_header(&mut out.headers, name, &v, true),
                ("overwrite", Some(v)) => set_header(&mut out.headers, name, &v, false),
                _ => {}
            }
        } else if let Some(name) = target.strip_prefix("querystring.") {
            match (op, value) {
                ("remove", _) => out.query.retain(|(k, _)| k != name),
                ("append", Some(v)) => out.query.push((name.to_string(), v)),
                ("overwrite", Some(v)) => {
                    out.query.retain(|(k, _)| k != name);
                    out.query.push((name.to_string(), v));
                }
                _ => {}
            }
        } else if target == "path" && op == "overwrite" {
            out.path = value;
        }
    }
    out
}

/// Applies an integration's `responseParameters` for the response's status.
pub fn map_response(
    mapping: Option<&serde_json::Map<String, Value>>,
    status: &mut u16,
    headers: &mut HeaderMap,
    inc: &Incoming,
    vars: &BTreeMap<String, String>,
) {
    let Some(Value::Object(rules)) = mapping.and_then(|m| m.get(&status.to_string())) else {
        return;
    };
    let upstream = headers.clone();
    for (key, expr) in rules {
        let (Some((op, target)), Some(expr)) = (key.split_once(':'), expr.as_str()) else {
            continue;
        };
        let value = if let Some(h) = expr.strip_prefix("$response.header.") {
            upstream
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        } else {
            request_value(expr, inc, &[], vars)
        };
        if target == "statuscode" {
            if let Some(code) = value.and_then(|v| v.parse::<u16>().ok()) {
                if (100..600).contains(&code) {
                    *status = code;
                }
            }
        } else if let Some(name) = target.strip_prefix("header.") {
            match (op, value) {
                ("remove", _) => {
                    headers.remove(name);
                }
                ("append", Some(v)) => set_header(headers, name, &v, true),
                ("overwrite", Some(v)) => set_header(headers, name, &v, false),
                _ => {}
            }
        }
    }
}
