//! Bucket configuration documents (CORS, website, lifecycle, notification,
//! policy, encryption) stored as sent; CORS preflight; static website
//! serving.

use super::{xml, Call};
use crate::addressing::Target;
use crate::error::{self, Result};
use crate::xml::parse;
use serval_wire::{Request, Response};

fn missing(sub: &str, bucket: &str) -> serval_core::AwsError {
    let (code, msg) = match sub {
        "cors" => (
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist",
        ),
        "website" => (
            "NoSuchWebsiteConfiguration",
            "The specified bucket does not have a website configuration",
        ),
        "lifecycle" => (
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
        ),
        "policy" => ("NoSuchBucketPolicy", "The bucket policy does not exist"),
        _ => (
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
        ),
    };
    error::no_such_config(code, msg, bucket)
}

/// PutBucket{Cors,Website,Lifecycle,NotificationConfiguration,Policy,Encryption}.
pub async fn put(call: &Call<'_>, sub: &str, body: Vec<u8>) -> Result<Response> {
    call.s3.need_bucket(call.bucket_name())?;
    let text = String::from_utf8(body).map_err(|_| error::malformed_xml())?;
    if sub == "policy" {
        if serde_json::from_str::<serde_json::Value>(&text).is_err() {
            return Err(serval_core::AwsError::new(
                "MalformedPolicy",
                400,
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        }
    } else if parse(text.as_bytes()).is_none() {
        return Err(error::malformed_xml());
    }
    if sub == "notification" {
        crate::notify::parse_config(&text)?;
    }
    if sub == "lifecycle" {
        crate::lifecycle::parse_config(text.as_bytes())?;
    }
    call.s3
        .update_bucket(call.bucket_name(), |b| {
            b.configs.insert(sub.to_string(), text);
        })
        .await?;
    Ok(Response::empty(if sub == "policy" { 204 } else { 200 }))
}

/// GetBucket{...}.
pub fn get(call: &Call<'_>, sub: &str) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    match b.configs.get(sub) {
        Some(doc) if sub == "policy" => {
            Ok(Response::bytes(200, "application/json", doc.clone().into()))
        }
        Some(doc) => Ok(xml(200, doc.clone())),
        None if sub == "notification" => Ok(xml(
            200,
            crate::xml::Writer::new("NotificationConfiguration")
                .finish("NotificationConfiguration"),
        )),
        None => Err(missing(sub, &b.name)),
    }
}

/// DeleteBucket{...}.
pub async fn delete(call: &Call<'_>, sub: &str) -> Result<Response> {
    call.s3
        .update_bucket(call.bucket_name(), |b| {
            b.configs.remove(sub);
        })
        .await?;
    Ok(Response::empty(204))
}

/// A CORS rule.
struct Rule {
    origins: Vec<String>,
    methods: Vec<String>,
    headers: Vec<String>,
    expose: Vec<String>,
    max_age: Option<String>,
}

fn rules(doc: &str) -> Vec<Rule> {
    let Some(el) = parse(doc.as_bytes()) else {
        return Vec::new();
    };
    el.all("CORSRule")
        .map(|r| Rule {
            origins: r
                .all("AllowedOrigin")
                .map(|e| e.text.trim().to_string())
                .collect(),
            methods: r
                .all("AllowedMethod")
                .map(|e| e.text.trim().to_string())
                .collect(),
            headers: r
                .all("AllowedHeader")
                .map(|e| e.text.trim().to_ascii_lowercase())
                .collect(),
            expose: r
                .all("ExposeHeader")
                .map(|e| e.text.trim().to_string())
                .collect(),
            max_age: r.text_of("MaxAgeSeconds").map(str::to_string),
        })
        .collect()
}

fn wild(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(value),
        Some((a, z)) => {
            value.len() >= a.len() + z.len() && value.starts_with(a) && value.ends_with(z)
        }
    }
}

/// Answers an OPTIONS preflight from the bucket's CORS rules.
pub fn preflight(call: &Call<'_>) -> Result<Response> {
    let b = call.s3.need_bucket(call.bucket_name())?;
    let origin = call.header("origin").unwrap_or("");
    let method = call.header("access-control-request-method").unwrap_or("");
    let req_headers: Vec<String> = call
        .header("access-control-request-headers")
        .map(|h| {
            h.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let denied = || {
        serval_core::AwsError::new("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
        .with_field("Method", method.into())
        .with_field("ResourceType", "BUCKET".into())
    };
    let Some(doc) = b.configs.get("cors") else {
        return Err(serval_core::AwsError::new(
            "CORSResponse",
            403,
            "CORSResponse: CORS is not enabled for this bucket.",
        ));
    };
    for r in rules(doc) {
        let origin_ok = r.origins.iter().any(|o| wild(o, origin));
        let method_ok = r.methods.iter().any(|m| m == method);
        let headers_ok = req_headers
            .iter()
            .all(|h| r.headers.iter().any(|p| wild(p, h)));
        if origin_ok && method_ok && headers_ok {
            let mut resp = Response::empty(200);
            let allow_origin = if r.origins.iter().any(|o| o == "*") {
                "*"
            } else {
                origin
            };
            resp.set_header("Access-Control-Allow-Origin", allow_origin);
            resp.set_header("Access-Control-Allow-Methods", &r.methods.join(", "));
            if !req_headers.is_empty() {
                resp.set_header("Access-Control-Allow-Headers", &req_headers.join(", "));
            }
            if !r.expose.is_empty() {
                resp.set_header("Access-Control-Expose-Headers", &r.expose.join(", "));
            }
            if let Some(m) = &r.max_age {
                resp.set_header("Access-Control-Max-Age", m);
            }
            resp.set_header(
                "Vary",
                "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
            );
            return Ok(resp);
        }
    }
    Err(denied())
}

/// Serves `http://<bucket>.s3-website.localhost:4566/<path>`: the index
/// document for directories, the error document (or S3's HTML) for misses.
pub async fn website(s3: &crate::S3, req: &Request, target: Target) -> Result<Response> {
    let bucket = target.bucket.unwrap_or_default();
    let html = |status: u16, code: &str, msg: &str| {
        let body = format!("<html>\n<head><title>{status} {msg}</title></head>\n<body>\n<h1>{status} {msg}</h1>\n<ul>\n<li>Code: {code}</li>\n</ul>\n<hr/>\n</body>\n</html>\n");
        Ok(Response::bytes(
            status,
            "text/html; charset=utf-8",
            body.into(),
        ))
    };
    let Some(b) = s3.bucket(&bucket) else {
        return html(404, "NoSuchBucket", "Not Found");
    };
    let Some(doc) = b.configs.get("website").and_then(|d| parse(d.as_bytes())) else {
        return html(404, "NoSuchWebsiteConfiguration", "Not Found");
    };
    let index = doc
        .child("IndexDocument")
        .and_then(|i| i.text_of("Suffix"))
        .unwrap_or("index.html")
        .to_string();
    let error_doc = doc
        .child("ErrorDocument")
        .and_then(|i| i.text_of("Key"))
        .map(str::to_string);
    let mut key = target.key.unwrap_or_default();
    if key.is_empty() || key.ends_with('/') {
        key.push_str(&index);
    }
    let serve = |meta: crate::model::ObjectMeta, inline: bytes::Bytes, status: u16| async move {
        let mut r = Response::empty(status);
        crate::ops::objects::object_headers(&mut r, &meta, false);
        if meta.segments.is_empty() {
            r.body = inline;
        } else {
            let reader = crate::blobs::open_range(&s3.blobs, &meta.segments, 0, meta.size).await?;
            r.stream = Some(serval_wire::request::StreamBody::new(reader, meta.size));
        }
        Ok::<_, serval_core::AwsError>(r)
    };
    if let Some((meta, inline)) = crate::ops::objects::current(s3, &b, &key)? {
        return serve(meta, inline, 200).await;
    }
    if let Some(ek) = error_doc {
        if let Some((meta, inline)) = crate::ops::objects::current(s3, &b, &ek)? {
            return serve(meta, inline, 404).await;
        }
    }
    let _ = req;
    html(404, "NoSuchKey", "Not Found")
}
