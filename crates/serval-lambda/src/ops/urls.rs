//! Create/Get/Update/Delete/ListFunctionUrlConfigs. The URLs themselves are
//! served by API Gateway's data plane, which finds them through the
//! `Invoker` (`Lambda::function_url`).

use super::{ok, page_response};
use crate::api::Page;
use crate::arn::FunctionRef;
use crate::error::{validation, LambdaError, Result};
use crate::model::UrlRecord;
use crate::registry::{FnKey, Function};
use crate::{not_found, Lambda};
use serde::Deserialize;
use serde_json::{json, Value};
use serval_core::{time, RequestContext};
use serval_wire::Response;

/// The `Cors` object of a URL config.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CorsInput {
    /// Allow credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// Allowed headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    /// Allowed methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    /// Allowed origins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    /// Exposed headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    /// Preflight cache seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

/// Create/UpdateFunctionUrlConfig's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlInput {
    /// `NONE` or `AWS_IAM`.
    pub auth_type: Option<String>,
    /// CORS.
    pub cors: Option<CorsInput>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: Option<String>,
}

fn check_list(
    v: &Option<Vec<String>>,
    field: &str,
    max_items: usize,
    min: usize,
    max: usize,
) -> Result<()> {
    let Some(items) = v else { return Ok(()) };
    if items.len() > max_items {
        return Err(validation(
            &format!("{items:?}"),
            field,
            &format!("Member must have length less than or equal to {max_items}"),
        ));
    }
    for i in items {
        if i.len() < min || i.len() > max {
            return Err(validation(
                i,
                field,
                &format!("Member must satisfy constraint: [Member must have length less than or equal to {max}, Member must have length greater than or equal to {min}]"),
            ));
        }
    }
    Ok(())
}

fn check(input: &UrlInput) -> Result<()> {
    if let Some(a) = &input.auth_type {
        if a != "NONE" && a != "AWS_IAM" {
            return Err(validation(
                a,
                "authType",
                "Member must satisfy enum value set: [NONE, AWS_IAM]",
            ));
        }
    }
    if let Some(m) = &input.invoke_mode {
        if m != "BUFFERED" && m != "RESPONSE_STREAM" {
            return Err(validation(
                m,
                "invokeMode",
                "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
            ));
        }
    }
    if let Some(c) = &input.cors {
        check_list(&c.allow_headers, "cors.allowHeaders", 100, 0, 1024)?;
        check_list(&c.expose_headers, "cors.exposeHeaders", 100, 0, 1024)?;
        check_list(&c.allow_methods, "cors.allowMethods", 6, 0, 6)?;
        check_list(&c.allow_origins, "cors.allowOrigins", 100, 1, 253)?;
        if let Some(age) = c.max_age {
            if !(0..=86_400).contains(&age) {
                return Err(validation(
                    &age.to_string(),
                    "cors.maxAge",
                    if age < 0 {
                        "Member must have value greater than or equal to 0"
                    } else {
                        "Member must have value less than or equal to 86400"
                    },
                ));
            }
        }
    }
    Ok(())
}

/// The qualifier of a URL config: none, or an alias that exists.
fn qualifier_of(f: &Function, key: &FnKey, fref: &FunctionRef) -> Result<String> {
    match fref.qualifier.as_deref() {
        None => Ok(String::new()),
        Some(q) if q == "$LATEST" || q.bytes().all(|b| b.is_ascii_digit()) => Err(validation(
            q,
            "qualifier",
            "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
        )),
        Some(q) if f.aliases.contains_key(q) => Ok(q.to_string()),
        Some(q) => Err(not_found(key, Some(q))),
    }
}

fn port_of(endpoint: &str) -> String {
    endpoint
        .rsplit_once(':')
        .map(|(_, p)| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("4566")
        .to_string()
}

impl Lambda {
    /// The URL a function URL id is served at.
    pub(crate) fn function_url_of(&self, region: &str, url_id: &str) -> String {
        format!(
            "http://{url_id}.lambda-url.{region}.localhost:{}/",
            port_of(&self.config.endpoint_url)
        )
    }
}

fn render(l: &Lambda, key: &FnKey, u: &UrlRecord, with_modified: bool) -> Value {
    let arn = if u.qualifier.is_empty() {
        key.arn()
    } else {
        format!("{}:{}", key.arn(), u.qualifier)
    };
    let mut v = json!({
        "FunctionUrl": l.function_url_of(&key.region, &u.url_id),
        "FunctionArn": arn,
        "AuthType": u.auth_type,
        "CreationTime": u.creation_time,
        "InvokeMode": u.invoke_mode,
    });
    if let Some(c) = &u.cors {
        v["Cors"] = c.clone();
    }
    if with_modified {
        v["LastModifiedTime"] = u.last_modified_time.clone().into();
    }
    v
}

fn missing() -> LambdaError {
    LambdaError::NotFound("The resource you requested does not exist.".into())
}

/// CreateFunctionUrlConfig.
pub async fn create(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: UrlInput,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    check(&input)?;
    let auth = input
        .auth_type
        .clone()
        .ok_or_else(|| LambdaError::InvalidParameter("AuthType is required".into()))?;
    let now = time::iso8601(l.clock.now_millis());
    let rec = l
        .update_function(&key, |mut f| {
            let q = qualifier_of(&f, &key, fref)?;
            if f.urls.contains_key(&q) {
                let arn = if q.is_empty() { key.arn() } else { format!("{}:{q}", key.arn()) };
                return Err(LambdaError::Conflict(format!(
                    "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
                )));
            }
            let rec = UrlRecord {
                qualifier: q.clone(),
                url_id: serval_core::ids::random_alnum(32),
                auth_type: auth,
                cors: input.cors.as_ref().and_then(|c| serde_json::to_value(c).ok()),
                invoke_mode: input.invoke_mode.clone().unwrap_or_else(|| "BUFFERED".into()),
                creation_time: now.clone(),
                last_modified_time: now,
            };
            f.urls.insert(q, rec.clone());
            Ok((Some(f), rec))
        })
        .await?;
    ok(201, &render(l, &key, &rec, false))
}

/// GetFunctionUrlConfig.
pub fn get(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.read_function(&key, |f| {
        let q = qualifier_of(f, &key, fref)?;
        let u = f.urls.get(&q).ok_or_else(missing)?;
        ok(200, &render(l, &key, u, true))
    })
}

/// UpdateFunctionUrlConfig.
pub async fn update(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: UrlInput,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    check(&input)?;
    let now = time::iso8601(l.clock.now_millis());
    let rec = l
        .update_function(&key, |mut f| {
            let q = qualifier_of(&f, &key, fref)?;
            let u = f.urls.get_mut(&q).ok_or_else(missing)?;
            if let Some(a) = input.auth_type {
                u.auth_type = a;
            }
            if let Some(c) = &input.cors {
                u.cors = serde_json::to_value(c).ok();
            }
            if let Some(m) = input.invoke_mode {
                u.invoke_mode = m;
            }
            u.last_modified_time = now;
            let rec = u.clone();
            Ok((Some(f), rec))
        })
        .await?;
    ok(200, &render(l, &key, &rec, true))
}

/// DeleteFunctionUrlConfig.
pub async fn delete(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.update_function(&key, |mut f| {
        let q = qualifier_of(&f, &key, fref)?;
        f.urls.remove(&q).ok_or_else(missing)?;
        Ok((Some(f), ()))
    })
    .await?;
    Ok(Response::empty(204))
}

/// ListFunctionUrlConfigs.
pub fn list(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef, page: &Page) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    if let Some(n) = page.max_items {
        if n > 50 {
            return Err(validation(
                &n.to_string(),
                "maxItems",
                "Member must have value less than or equal to 50",
            ));
        }
    }
    let all = l.read_function(&key, |f| {
        Ok(f.urls
            .values()
            .map(|u| render(l, &key, u, true))
            .collect::<Vec<_>>())
    })?;
    page_response("FunctionUrlConfigs", all, page)
}
