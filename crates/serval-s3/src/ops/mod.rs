//! S3's operations: the request is routed by method, bucket, key and
//! sub-resource (`?tagging`, `?uploads`, ...) to one handler.

pub mod buckets;
pub mod config;
pub mod lifecycle;
pub mod list;
pub mod multipart;
pub mod objects;
pub mod post;

use crate::addressing;
use crate::error::{self, Result};
use crate::S3;
use http::Method;
use serval_core::RequestContext;
use serval_wire::{Request, RequestBody, Response};

/// One request, parsed enough to route.
pub struct Call<'a> {
    /// The caller.
    pub ctx: RequestContext,
    /// The request (body empty when streamed).
    pub req: Request,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Bucket, when named.
    pub bucket: Option<String>,
    /// Key, when named.
    pub key: Option<String>,
    /// The service.
    pub s3: &'a S3,
}

impl Call<'_> {
    /// Whether a query parameter is present (`?tagging`).
    pub fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.header(name)
    }

    /// The bucket name (routing guarantees it where used).
    pub fn bucket_name(&self) -> &str {
        self.bucket.as_deref().unwrap_or_default()
    }

    /// The key (routing guarantees it where used).
    pub fn key_name(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }
}

/// An XML response.
pub fn xml(status: u16, body: String) -> Response {
    Response::bytes(status, "application/xml", body.into())
}

/// Reads a whole small body (configuration documents, XML requests).
pub async fn small_body(mut body: RequestBody) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(c) = body.next_chunk().await? {
        out.extend_from_slice(&c);
        if out.len() > 2 * 1024 * 1024 {
            return Err(error::invalid_request("The XML document is too large"));
        }
    }
    Ok(out)
}

/// Routes and runs one request.
pub async fn handle(
    s3: &S3,
    ctx: RequestContext,
    req: Request,
    body: RequestBody,
) -> Result<Response> {
    let signed = req.header("authorization").is_some() || req.query.contains("X-Amz-Credential");
    let target = addressing::target(&req, signed);
    let query = req.query_pairs();
    crate::presign::check_expiry(s3, &query)?;
    if target.website {
        return config::website(s3, &req, target).await;
    }
    let call = Call {
        ctx,
        query,
        bucket: target.bucket,
        key: target.key,
        s3,
        req,
    };
    let m = call.req.method.clone();
    match (call.bucket.is_some(), call.key.is_some()) {
        (false, _) => match m {
            Method::GET => buckets::list_buckets(&call),
            _ => Err(error::method_not_allowed(m.as_str())),
        },
        (true, false) => bucket_op(&call, &m, body).await,
        (true, true) => object_op(&call, &m, body).await,
    }
}

const BUCKET_CONFIGS: [&str; 6] = [
    "cors",
    "website",
    "lifecycle",
    "notification",
    "policy",
    "encryption",
];

async fn bucket_op(call: &Call<'_>, m: &Method, body: RequestBody) -> Result<Response> {
    if *m == Method::OPTIONS {
        return config::preflight(call);
    }
    let sub = BUCKET_CONFIGS.iter().find(|c| call.has(c)).copied();
    match *m {
        Method::PUT => {
            if call.has("versioning") {
                return buckets::put_versioning(call, small_body(body).await?).await;
            }
            if call.has("tagging") {
                return buckets::put_tagging(call, small_body(body).await?).await;
            }
            if let Some(sub) = sub {
                return config::put(call, sub, small_body(body).await?).await;
            }
            if call.has("acl") || call.has("ownershipControls") || call.has("publicAccessBlock") {
                call.s3.need_bucket(call.bucket_name())?;
                return Ok(Response::empty(200));
            }
            buckets::create(call, small_body(body).await?).await
        }
        Method::GET => {
            if call.has("location") {
                return buckets::location(call);
            }
            if call.has("versioning") {
                return buckets::get_versioning(call);
            }
            if call.has("tagging") {
                return buckets::get_tagging(call);
            }
            if let Some(sub) = sub {
                return config::get(call, sub);
            }
            if call.has("acl") {
                return buckets::acl(call);
            }
            if call.has("uploads") {
                return multipart::list_uploads(call);
            }
            if call.has("versions") {
                return list::list_versions(call);
            }
            list::list_objects(call)
        }
        Method::HEAD => buckets::head(call),
        Method::DELETE => {
            if call.has("tagging") {
                return buckets::delete_tagging(call).await;
            }
            if let Some(sub) = sub {
                return config::delete(call, sub).await;
            }
            buckets::delete(call).await
        }
        Method::POST => {
            if call.has("delete") {
                return objects::delete_objects(call, small_body(body).await?).await;
            }
            if call
                .header("content-type")
                .is_some_and(|c| c.starts_with("multipart/form-data"))
            {
                return post::post_object(call, body).await;
            }
            Err(error::method_not_allowed("POST"))
        }
        _ => Err(error::method_not_allowed(m.as_str())),
    }
}

async fn object_op(call: &Call<'_>, m: &Method, body: RequestBody) -> Result<Response> {
    match *m {
        Method::OPTIONS => config::preflight(call),
        Method::PUT => {
            if call.has("uploadId") && call.has("partNumber") {
                if call.header("x-amz-copy-source").is_some() {
                    return multipart::upload_part_copy(call).await;
                }
                return multipart::upload_part(call, body).await;
            }
            if call.has("tagging") {
                return objects::put_tagging(call, small_body(body).await?).await;
            }
            if call.has("acl") {
                return Ok(Response::empty(200));
            }
            if call.header("x-amz-copy-source").is_some() {
                return objects::copy(call).await;
            }
            objects::put(call, body).await
        }
        Method::GET => {
            if call.has("uploadId") {
                return multipart::list_parts(call);
            }
            if call.has("tagging") {
                return objects::get_tagging(call);
            }
            if call.has("acl") {
                return buckets::acl(call);
            }
            objects::get(call, false).await
        }
        Method::HEAD => objects::get(call, true).await,
        Method::DELETE => {
            if call.has("uploadId") {
                return multipart::abort(call).await;
            }
            if call.has("tagging") {
                return objects::delete_tagging(call).await;
            }
            objects::delete(call).await
        }
        Method::POST => {
            if call.has("uploads") {
                return multipart::create(call).await;
            }
            if call.has("uploadId") {
                return multipart::complete(call, small_body(body).await?).await;
            }
            Err(error::method_not_allowed("POST"))
        }
        _ => Err(error::method_not_allowed(m.as_str())),
    }
}
