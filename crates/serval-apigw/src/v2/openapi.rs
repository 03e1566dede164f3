//! OpenAPI 3 documents for HTTP APIs: ImportApi / ReimportApi read routes,
//! integrations (`x-amazon-apigateway-integration`), authorizers
//! (`x-amazon-apigateway-authorizer` security schemes) and CORS
//! (`x-amazon-apigateway-cors`); ExportApi writes them back.

use super::apply::parse_route_key;
use super::model::*;
use crate::error::{bad, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

/// Parses a JSON or YAML OpenAPI document.
pub fn parse_document(body: &str) -> Result<Value> {
    let doc: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => yaml_serde::from_str(body)
            .map_err(|e| bad(format!("Unable to parse the OpenAPI document: {e}")))?,
    };
    if !doc.is_object() {
        return Err(bad("The OpenAPI document must be an object"));
    }
    if doc.get("openapi").is_none() && doc.get("swagger").is_none() {
        return Err(bad(
            "The OpenAPI document must declare an `openapi` (or `swagger`) version",
        ));
    }
    Ok(doc)
}

/// A scalar as text (strings as they are, numbers and booleans written out).
pub(crate) fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(a) => Some(a.iter().filter_map(|x| str_of(Some(x))).collect()),
        Value::String(s) => Some(s.split(',').map(|x| x.trim().to_string()).collect()),
        _ => None,
    }
}

fn string_map(v: Option<&Value>) -> Option<BTreeMap<String, String>> {
    let Value::Object(m) = v? else { return None };
    Some(
        m.iter()
            .filter_map(|(k, v)| str_of(Some(v)).map(|s| (k.clone(), s)))
            .collect(),
    )
}

/// What a document defines, ready to become an API's contents.
pub struct Imported {
    /// `info.title`.
    pub name: Option<String>,
    /// `info.description`.
    pub description: Option<String>,
    /// `info.version`.
    pub version: Option<String>,
    /// `x-amazon-apigateway-cors`.
    pub cors: Option<Cors>,
    /// Routes, integrations and authorizers, with fresh ids.
    pub routes: BTreeMap<String, Route>,
    /// Integrations by id.
    pub integrations: BTreeMap<String, Integration>,
    /// Authorizers by id.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// What was ignored.
    pub warnings: Vec<String>,
}

fn cors_of(v: &Value) -> Cors {
    Cors {
        allow_credentials: v.get("allowCredentials").and_then(Value::as_bool),
        allow_headers: strings(v.get("allowHeaders")),
        allow_methods: strings(v.get("allowMethods")),
        allow_origins: strings(v.get("allowOrigins")),
        expose_headers: strings(v.get("exposeHeaders")),
        max_age: v.get("maxAge").and_then(Value::as_i64),
    }
}

fn authorizer_of(name: &str, scheme: &Value) -> Option<Authorizer> {
    let a = scheme.get("x-amazon-apigateway-authorizer")?;
    let kind = str_of(a.get("type"))?.to_ascii_lowercase();
    let identity = strings(a.get("identitySource")).unwrap_or_default();
    let mut au = Authorizer {
        authorizer_id: crate::new_id(6),
        name: name.to_string(),
        identity_source: identity,
        ..Default::default()
    };
    match kind.as_str() {
        "jwt" => {
            au.authorizer_type = "JWT".into();
            let j = a.get("jwtConfiguration");
            au.jwt_configuration = Some(JwtConfiguration {
                audience: strings(j.and_then(|j| j.get("audience"))),
                issuer: str_of(j.and_then(|j| j.get("issuer"))),
            });
            if au.identity_source.is_empty() {
                au.identity_source = vec!["$request.header.Authorization".into()];
            }
        }
        "request" => {
            au.authorizer_type = "REQUEST".into();
            au.authorizer_uri = str_of(a.get("authorizerUri"));
            au.authorizer_payload_format_version =
                str_of(a.get("authorizerPayloadFormatVersion")).or(Some("2.0".into()));
            au.enable_simple_responses = a.get("enableSimpleResponses").and_then(Value::as_bool);
            au.authorizer_result_ttl_in_seconds = a
                .get("authorizerResultTtlInSeconds")
                .and_then(Value::as_i64);
            au.authorizer_credentials_arn = str_of(a.get("authorizerCredentials"));
        }
        _ => return None,
    }
    Some(au)
}

fn integration_of(x: &Value) -> Result<Integration> {
    let kind = str_of(x.get("type"))
        .ok_or_else(|| bad("x-amazon-apigateway-integration needs a type"))?
        .to_ascii_uppercase();
    let mut i = Integration {
        integration_id: crate::new_id(7),
        connection_type: str_of(x.get("connectionType")).unwrap_or_else(|| "INTERNET".into()),
        integration_type: kind.clone(),
        integration_uri: str_of(x.get("uri")),
        integration_method: str_of(x.get("httpMethod")),
        payload_format_version: str_of(x.get("payloadFormatVersion")).unwrap_or_else(|| {
            if kind == "AWS_PROXY" {
                "2.0".into()
            } else {
                "1.0".into()
            }
        }),
        timeout_in_millis: x
            .get("timeoutInMillis")
            .and_then(Value::as_i64)
            .unwrap_or(30_000)
            .clamp(50, 30_000),
        request_parameters: string_map(x.get("requestParameters")),
        description: str_of(x.get("description")),
        ..Default::default()
    };
    if let Some(Value::Object(r)) = x.get("responseParameters") {
        i.response_parameters = Some(r.clone());
    }
    if kind == "HTTP_PROXY" && i.integration_method.is_none() {
        i.integration_method = Some("ANY".into());
    }
    if !matches!(kind.as_str(), "AWS_PROXY" | "HTTP_PROXY") {
        return Err(bad(format!(
            "Integration type {kind} is not supported for HTTP APIs"
        )));
    }
    Ok(i)
}

/// Reads a document into routes, integrations and authorizers.
pub fn import(doc: &Value, basepath: Option<&str>) -> Result<Imported> {
    let info = doc.get("info");
    let mut out = Imported {
        name: str_of(info.and_then(|i| i.get("title"))),
        description: str_of(info.and_then(|i| i.get("description"))),
        version: str_of(info.and_then(|i| i.get("version"))),
        cors: doc.get("x-amazon-apigateway-cors").map(cors_of),
        routes: BTreeMap::new(),
        integrations: BTreeMap::new(),
        authorizers: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let schemes = doc
        .pointer("/components/securitySchemes")
        .or_else(|| doc.get("securityDefinitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut by_name: BTreeMap<String, Authorizer> = BTreeMap::new();
    let mut iam_schemes: Vec<String> = Vec::new();
    for (name, scheme) in &schemes {
        if str_of(scheme.get("x-amazon-apigateway-authtype")).as_deref() == Some("awsSigv4") {
            iam_schemes.push(name.clone());
            continue;
        }
        match authorizer_of(name, scheme) {
            Some(a) => {
                by_name.insert(name.clone(), a);
            }
            None => out.warnings.push(format!(
                "Security scheme {name} is not an API Gateway authorizer; ignored"
            )),
        }
    }
    let default_security = doc.get("security").cloned();
    let prefix = basepath
        .map(|b| b.trim_end_matches('/').to_string())
        .filter(|b| !b.is_empty() && b != "/");
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (path, item) in &paths {
        let Value::Object(ops) = item else { continue };
        for (method, op) in ops {
            let verb = if method == ANY_METHOD {
                "ANY".to_string()
            } else if METHODS.contains(&method.as_str()) {
                method.to_ascii_uppercase()
            } else {
                continue;
            };
            let key = if path == "$default" {
                "$default".to_string()
            } else {
                let full = match &prefix {
                    Some(p) => format!("{p}{path}"),
                    None => path.clone(),
                };
                format!("{verb} {full}")
            };
            parse_route_key(&key)?;
            let mut route = Route {
                route_id: crate::new_id(7),
                route_key: key,
                authorization_type: "NONE".into(),
                operation_name: str_of(op.get("operationId")),
                ..Default::default()
            };
            if let Some(x) = op.get("x-amazon-apigateway-integration") {
                let i = integration_of(x)?;
                route.target = Some(format!("integrations/{}", i.integration_id));
                out.integrations.insert(i.integration_id.clone(), i);
            }
            let security = op.get("security").or(default_security.as_ref());
            if let Some(Value::Array(reqs)) = security {
                for req in reqs {
                    let Value::Object(req) = req else { continue };
                    for (name, scopes) in req {
                        if iam_schemes.contains(name) {
                            route.authorization_type = "AWS_IAM".into();
                        } else if let Some(a) = by_name.get(name) {
                            route.authorization_type = if a.authorizer_type == "JWT" {
                                "JWT".into()
                            } else {
                                "CUSTOM".into()
                            };
                            route.authorizer_id = Some(a.authorizer_id.clone());
                            let scopes = strings(Some(scopes)).unwrap_or_default();
                            if !scopes.is_empty() {
                                route.authorization_scopes = Some(scopes);
                            }
                        }
                    }
                }
            }
            out.routes.insert(route.route_id.clone(), route);
        }
    }
    out.authorizers = by_name
        .into_values()
        .map(|a| (a.authorizer_id.clone(), a))
        .collect();
    Ok(out)
}

/// Writes an API as an OpenAPI 3.0.1 document.
pub fn export(api: &HttpApi, snapshot: &Snapshot, extensions: bool) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in snapshot.routes.values() {
        let (path, method) = match r.route_key.split_once(' ') {
            Some((m, p)) => (
                p.to_string(),
                if m == "ANY" {
                    ANY_METHOD.to_string()
                } else {
                    m.to_ascii_lowercase()
                },
            ),
            None => ("$default".to_string(), ANY_METHOD.to_string()),
        };
        let mut op = Map::new();
        if let Some(n) = &r.operation_name {
            op.insert("operationId".into(), n.clone().into());
        }
        let params: Vec<Value> = crate::routing::Template::parse(&path)
            .map(|t| {
                t.segs
                    .iter()
                    .filter_map(|s| match s {
                        crate::routing::Seg::Param(n) | crate::routing::Seg::Greedy(n) => {
                            Some(json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
                        }
                        crate::routing::Seg::Lit(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        op.insert(
            "responses".into(),
            json!({"default": {"description": "Default response"}}),
        );
        if let Some(id) = &r.authorizer_id {
            if let Some(a) = snapshot.authorizers.get(id) {
                op.insert(
                    "security".into(),
                    json!([{ a.name.clone(): r.authorization_scopes.clone().unwrap_or_default() }]),
                );
            }
        }
        if extensions {
            if let Some(i) = r
                .target
                .as_deref()
                .and_then(|t| t.strip_prefix("integrations/"))
                .and_then(|id| snapshot.integrations.get(id))
            {
                let mut x = json!({
                    "type": i.integration_type.to_ascii_lowercase(),
                    "uri": i.integration_uri,
                    "payloadFormatVersion": i.payload_format_version,
                    "connectionType": i.connection_type,
                    "timeoutInMillis": i.timeout_in_millis,
                });
                if let Some(m) = &i.integration_method {
                    x["httpMethod"] = m.clone().into();
                }
                if let Some(rp) = &i.request_parameters {
                    x["requestParameters"] = json!(rp);
                }
                op.insert("x-amazon-apigateway-integration".into(), x);
            }
        }
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[method] = Value::Object(op);
    }
    let mut schemes = Map::new();
    for a in snapshot.authorizers.values() {
        let mut x = json!({ "identitySource": a.identity_source.join(",") });
        if a.authorizer_type == "JWT" {
            x["type"] = "jwt".into();
            x["jwtConfiguration"] = json!(a.jwt_configuration);
        } else {
            x["type"] = "request".into();
            x["authorizerUri"] = json!(a.authorizer_uri);
            x["authorizerPayloadFormatVersion"] = json!(a.authorizer_payload_format_version);
            if let Some(s) = a.enable_simple_responses {
                x["enableSimpleResponses"] = s.into();
            }
            if let Some(t) = a.authorizer_result_ttl_in_seconds {
                x["authorizerResultTtlInSeconds"] = t.into();
            }
        }
        let mut scheme = json!({"type": "apiKey", "name": "Authorization", "in": "header"});
        if a.authorizer_type == "JWT" {
            scheme = json!({"type": "oauth2", "flows": {}});
        }
        if extensions {
            scheme["x-amazon-apigateway-authorizer"] = x;
        }
        schemes.insert(a.name.clone(), scheme);
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": {
            "title": api.api.name,
            "version": api.api.version.clone().unwrap_or_else(|| "1.0".into()),
        },
        "paths": paths,
    });
    if let Some(d) = &api.api.description {
        doc["info"]["description"] = d.clone().into();
    }
    if !schemes.is_empty() {
        doc["components"] = json!({ "securitySchemes": schemes });
    }
    if extensions {
        if let Some(c) = &snapshot.cors {
            doc["x-amazon-apigateway-cors"] = json!(c);
        }
        doc["x-amazon-apigateway-importexport-version"] = "1.0".into();
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
openapi: 3.0.1
info: {title: pets, version: "2"}
x-amazon-apigateway-cors: {allowOrigins: ["*"], allowMethods: [GET]}
components:
  securitySchemes:
    jwt:
      type: oauth2
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: {issuer: "http://127.0.0.1:1", audience: [a]}
paths:
  /pets/{id}:
    get:
      security: [{jwt: [read]}]
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:000000000000:function:f
        payloadFormatVersion: "2.0"
  $default:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration: {type: http_proxy, uri: "http://example.com", httpMethod: ANY}
"#;

    #[test]
    fn imports_routes_integrations_and_authorizers() {
        let doc = parse_document(DOC).unwrap();
        let i = import(&doc, None).unwrap();
        assert_eq!(i.name.as_deref(), Some("pets"));
        assert_eq!(i.routes.len(), 2);
        assert_eq!(i.integrations.len(), 2);
        let r = i
            .routes
            .values()
            .find(|r| r.route_key == "GET /pets/{id}")
            .unwrap();
        assert_eq!(r.authorization_type, "JWT");
        assert_eq!(r.authorization_scopes, Some(vec!["read".to_string()]));
        assert!(i.routes.values().any(|r| r.route_key == "$default"));
        assert_eq!(i.cors.unwrap().allow_origins, Some(vec!["*".to_string()]));
        assert!(parse_document("openapi: [").is_err());
        assert!(parse_document("{}").is_err());
    }
}
