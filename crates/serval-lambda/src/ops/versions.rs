//! PublishVersion and ListVersionsByFunction.

use super::ok;
use crate::api::{Page, PublishVersionInput};
use crate::arn::FunctionRef;
use crate::error::{LambdaError, Result};
use crate::model::VersionRecord;
use crate::registry::Function;
use crate::Lambda;
use serval_core::{ids, RequestContext};
use serval_wire::Response;
use std::sync::Arc;

/// True when two records differ only in what publishing changes.
fn same_content(a: &VersionRecord, b: &VersionRecord) -> bool {
    let norm = |v: &VersionRecord| {
        let mut v = v.clone();
        v.version = String::new();
        v.revision_id = String::new();
        v.last_modified = 0;
        v.description = String::new();
        v
    };
    norm(a) == norm(b)
}

/// Publishes `$LATEST` as a new version, unless it is unchanged since the
/// last one, in which case that one is returned.
pub(crate) fn publish_into(
    f: &mut Function,
    description: Option<String>,
    now: u64,
) -> Arc<VersionRecord> {
    if let Some(last) = f.versions.values().next_back() {
        let unchanged = match &f.rec.published_revision {
            Some(r) => *r == f.latest.revision_id,
            None => same_content(last, &f.latest),
        };
        if unchanged {
            return last.clone();
        }
    }
    f.rec.published_revision = Some(f.latest.revision_id.clone());
    f.rec.last_version += 1;
    let n = f.rec.last_version;
    let mut v = (*f.latest).clone();
    v.version = n.to_string();
    v.last_modified = now;
    v.revision_id = ids::uuid_v4();
    if let Some(d) = description {
        v.description = d;
    }
    let v = Arc::new(v);
    f.versions.insert(n, v.clone());
    v
}

/// The version to show after a change: a new published one when asked,
/// else `$LATEST`.
pub(crate) fn publish_if(f: &mut Function, publish: bool, now: u64) -> Arc<VersionRecord> {
    if publish {
        publish_into(f, None, now)
    } else {
        f.latest.clone()
    }
}

/// PublishVersion.
pub async fn publish(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: PublishVersionInput,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let now = l.clock.now_millis();
    let v = l.update_function(&key, |mut f| {
            if let Some(sha) = &input.code_sha256 {
                if *sha != f.latest.code_sha256 {
                    return Err(LambdaError::InvalidParameter(format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                        f.latest.code_sha256
                    )));
                }
            }
            if let Some(r) = &input.revision_id {
                if *r != f.latest.revision_id {
                    return Err(crate::error::stale_revision("GetFunction/GetAlias"));
                }
            }
            let v = publish_into(&mut f, input.description.clone(), now);
            Ok((Some(f), v))
        })
        .await?;
    ok(201, &v.to_configuration(&key.region, &key.account))
}

/// ListVersionsByFunction.
pub fn list(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef, page: &Page) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let all = l.read_function(&key, |f| {
        let mut all =
            vec![f
                .latest
                .to_configuration_as(&key.region, &key.account, Some("$LATEST"))];
        all.extend(
            f.versions
                .values()
                .map(|v| v.to_configuration(&key.region, &key.account)),
        );
        Ok::<_, LambdaError>(all)
    })?;
    super::page_response("Versions", all, page)
}
