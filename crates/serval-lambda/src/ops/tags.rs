//! TagResource, UntagResource, ListTags (on functions).

use super::ok;
use crate::arn::FunctionRef;
use crate::error::{LambdaError, Result};
use crate::registry::FnKey;
use crate::Lambda;
use serde_json::json;
use serval_core::RequestContext;
use serval_wire::Response;
use std::collections::BTreeMap;

/// Tag limits: 50 tags, keys up to 128 and values up to 256 characters,
/// no `aws:` prefix.
pub fn validate(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return Err(LambdaError::InvalidParameter(
            "Number of tags exceeds resource tag limit.".into(),
        ));
    }
    for (k, v) in tags {
        if k.is_empty()
            || k.chars().count() > 128
            || v.chars().count() > 256
            || k.to_lowercase().starts_with("aws:")
        {
            return Err(LambdaError::InvalidParameter(format!("Invalid tag: {k}")));
        }
    }
    Ok(())
}

fn key_of(l: &Lambda, ctx: &RequestContext, arn: &str) -> Result<FnKey> {
    if !arn.starts_with("arn:") {
        return Err(LambdaError::InvalidParameter(format!(
            "Invalid resource ARN: {arn}"
        )));
    }
    let f = FunctionRef::parse(arn)?;
    if f.qualifier.is_some() {
        return Err(LambdaError::InvalidParameter(
            "Tags are not supported on function versions or aliases.".into(),
        ));
    }
    l.key(ctx, &f)
}

/// TagResource.
pub async fn tag(
    l: &Lambda,
    ctx: &RequestContext,
    arn: &str,
    tags: BTreeMap<String, String>,
) -> Result<Response> {
    let key = key_of(l, ctx, arn)?;
    l.update_function(&key, |mut f| {
        let mut merged = f.rec.tags.clone();
        merged.extend(tags);
        validate(&merged)?;
        f.rec.tags = merged;
        Ok((Some(f), ()))
    })
    .await?;
    Ok(Response::empty(204))
}

/// UntagResource.
pub async fn untag(
    l: &Lambda,
    ctx: &RequestContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<Response> {
    let key = key_of(l, ctx, arn)?;
    l.update_function(&key, |mut f| {
        for k in &keys {
            f.rec.tags.remove(k);
        }
        Ok((Some(f), ()))
    })
    .await?;
    Ok(Response::empty(204))
}

/// ListTags.
pub fn list(l: &Lambda, ctx: &RequestContext, arn: &str) -> Result<Response> {
    let key = key_of(l, ctx, arn)?;
    l.read_function(&key, |f| ok(200, &json!({ "Tags": f.rec.tags })))
}
