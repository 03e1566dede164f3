//! Reserved and provisioned concurrency, and GetAccountSettings.

use super::ok;
use crate::api::Page;
use crate::arn::FunctionRef;
use crate::error::{LambdaError, Result};
use crate::model::ProvisionedRecord;
use crate::registry::{FnKey, Function};
use crate::workers::PoolKey;
use crate::{invoke, not_found, Lambda};
use serde_json::{json, Value};
use serval_core::RequestContext;
use serval_wire::Response;
use std::sync::Arc;

/// Provisioned concurrency of the account's other functions without
/// reserved concurrency: it comes out of the unreserved pool.
fn provisioned_elsewhere(l: &Lambda, key: &FnKey) -> u64 {
    l.registry
        .list(&key.account, &key.region)
        .iter()
        .filter(|g| g.rec.name != key.name && g.rec.reserved_concurrency.is_none())
        .flat_map(|g| g.provisioned.values().map(|p| u64::from(p.requested)))
        .sum()
}

/// PutFunctionConcurrency.
pub async fn put_reserved(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    n: i64,
) -> Result<Response> {
    unqualified(fref)?;
    let key = l.key(ctx, fref)?;
    if n < 0 {
        return Err(crate::error::validation(
            &n.to_string(),
            "reservedConcurrentExecutions",
            "Member must have value greater than or equal to 0",
        ));
    }
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let committed = provisioned_elsewhere(l, &key);
    l.update_function(&key, |mut f| {
            let provisioned: u32 = f.provisioned.values().map(|p| p.requested).sum();
            if provisioned > n {
                return Err(LambdaError::InvalidParameter(format!(
                    "ReservedConcurrentExecutions {n} should not be lower than function's total provisioned concurrency [{provisioned}]."
                )));
            }
            l.counting
                .set_reserved_beside(&key.account, &key.region, &key.name, Some(n), committed)?;
            f.rec.reserved_concurrency = Some(n);
            Ok((Some(f), ()))
        })
        .await?;
    ok(200, &json!({ "ReservedConcurrentExecutions": n }))
}

/// GetFunctionConcurrency.
pub fn get_reserved(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    unqualified(fref)?;
    let key = l.key(ctx, fref)?;
    l.read_function(&key, |f| match f.rec.reserved_concurrency {
        Some(n) => ok(200, &json!({ "ReservedConcurrentExecutions": n })),
        None => ok(200, &json!({})),
    })
}

/// DeleteFunctionConcurrency.
pub async fn delete_reserved(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
) -> Result<Response> {
    unqualified(fref)?;
    let key = l.key(ctx, fref)?;
    l.update_function(&key, |mut f| {
        f.rec.reserved_concurrency = None;
        let _ = l
            .counting
            .set_reserved(&key.account, &key.region, &key.name, None);
        Ok((Some(f), ()))
    })
    .await?;
    Ok(Response::empty(204))
}

fn provisioned_not_found() -> LambdaError {
    LambdaError::ProvisionedConfigNotFound(
        "No Provisioned Concurrency Config found for this function".into(),
    )
}

/// Reserved concurrency belongs to the function, not to a version or alias.
fn unqualified(fref: &FunctionRef) -> Result<()> {
    if fref.qualifier.is_some() {
        return Err(LambdaError::InvalidParameter(
            "Reserved concurrency can only be set on the function, not on a version or alias. Remove the qualifier from the function name.".into(),
        ));
    }
    Ok(())
}

/// Provisioned concurrency needs a published version or an alias.
fn published_qualifier(fref: &FunctionRef, putting: bool) -> Result<String> {
    match fref.qualifier.as_deref() {
        None | Some("$LATEST") => Err(LambdaError::InvalidParameter(if putting {
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
                .into()
        } else {
            "The function resource provided must be an alias or a published version.".into()
        })),
        Some(q) => Ok(q.to_string()),
    }
}

/// The version a provisioned-concurrency qualifier stands for.
fn target_version(f: &Function, key: &FnKey, q: &str) -> Result<String> {
    if q == "$LATEST" {
        return Err(LambdaError::InvalidParameter(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
                .into(),
        ));
    }
    if f.version(q).is_some() {
        return Ok(q.to_string());
    }
    if let Some(a) = f.aliases.get(q) {
        if a.function_version == "$LATEST" {
            return Err(LambdaError::InvalidParameter(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.".into(),
            ));
        }
        return Ok(a.function_version.clone());
    }
    Err(not_found(key, Some(q)))
}

fn describe(l: &Lambda, key: &FnKey, f: &Function, p: &ProvisionedRecord, with_arn: bool) -> Value {
    let version = target_version(f, key, &p.qualifier).unwrap_or_default();
    let live = l.workers.provisioned_live(&PoolKey {
        function: key.clone(),
        version,
    });
    let available = live.min(p.requested);
    let mut v = json!({
        "RequestedProvisionedConcurrentExecutions": p.requested,
        "AvailableProvisionedConcurrentExecutions": available,
        "AllocatedProvisionedConcurrentExecutions": available,
        "Status": if available >= p.requested { "READY" } else { "IN_PROGRESS" },
        "LastModified": serval_core::time::iso8601(p.last_modified).replace('Z', "+0000"),
    });
    if with_arn {
        v["FunctionArn"] = json!(format!("{}:{}", key.arn(), p.qualifier));
    }
    v
}

/// Brings a version's provisioned environments to the total its qualifiers
/// (the version itself and aliases on it) ask for.
pub(crate) fn sync_version(l: &Lambda, key: &FnKey, f: &Function, version: &str) {
    let Some(record) = f.version(version).cloned() else {
        return;
    };
    let target: u32 = f
        .provisioned
        .values()
        .filter(|p| target_version(f, key, &p.qualifier).ok().as_deref() == Some(version))
        .map(|p| p.requested)
        .fold(0u32, u32::saturating_add);
    let pool = PoolKey {
        function: key.clone(),
        version: version.to_string(),
    };
    let factory = invoke::spec_factory(l, key, &record);
    let workers = l.workers.clone();
    tokio::spawn(async move {
        workers
            .provision(
                &pool,
                &record.revision_id,
                target,
                factory,
                record.memory_size,
            )
            .await;
    });
}

/// Starts (or trims) the provisioned environments behind one qualifier.
fn spawn_provision(l: &Lambda, key: &FnKey, f: &Function, qualifier: &str) {
    if let Ok(version) = target_version(f, key, qualifier) {
        sync_version(l, key, f, &version);
    }
}

/// Restarts provisioned environments after a restart of Serval.
pub(crate) fn restore_provisioned(l: &Arc<Lambda>) {
    for key in l.registry.keys() {
        l.registry.read(&key, |f| {
            if let Some(f) = f {
                for p in f.provisioned.values() {
                    spawn_provision(l, &key, f, &p.qualifier);
                }
            }
        });
    }
}

/// PutProvisionedConcurrencyConfig.
pub async fn put_provisioned(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    n: i64,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let q = published_qualifier(fref, true)?;
    if n < 1 {
        return Err(crate::error::validation(
            &n.to_string(),
            "provisionedConcurrentExecutions",
            "Member must have value greater than or equal to 1",
        ));
    }
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let now = l.clock.now_millis();
    let unreserved = l.counting.unreserved(&key.account, &key.region);
    let elsewhere = provisioned_elsewhere(l, &key);
    let (f, rec) = l.update_function(&key, |mut f| {
            target_version(&f, &key, &q)?;
            let others: u64 = f.provisioned.iter().filter(|(k, _)| **k != q).map(|(_, p)| u64::from(p.requested)).sum();
            let wanted = others + u64::from(n);
            match f.rec.reserved_concurrency {
                Some(r) if wanted > u64::from(r) => {
                    return Err(LambdaError::InvalidParameter(format!(
                        "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function [{r}]."
                    )))
                }
                None if elsewhere + wanted
                    > u64::from(unreserved.saturating_sub(crate::counting::MIN_UNRESERVED)) =>
                {
                    return Err(LambdaError::InvalidParameter(format!(
                        "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [{unreserved}]."
                    )))
                }
                _ => {}
            }
            let rec = ProvisionedRecord { qualifier: q.clone(), requested: n, last_modified: now };
            f.provisioned.insert(q.clone(), rec.clone());
            Ok((Some(f.clone()), (f, rec)))
        })
        .await?;
    spawn_provision(l, &key, &f, &q);
    let mut out = describe(l, &key, &f, &rec, false);
    out["Status"] = json!("IN_PROGRESS");
    ok(202, &out)
}

/// GetProvisionedConcurrencyConfig.
pub fn get_provisioned(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let q = published_qualifier(fref, false)?;
    l.read_function(&key, |f| {
        target_version(f, &key, &q)?;
        let p = f.provisioned.get(&q).ok_or_else(provisioned_not_found)?;
        ok(200, &describe(l, &key, f, p, false))
    })
}

/// DeleteProvisionedConcurrencyConfig.
pub async fn delete_provisioned(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let q = published_qualifier(fref, false)?;
    let removed = l
        .update_function(&key, |mut f| {
            target_version(&f, &key, &q)?;
            if f.provisioned.remove(&q).is_none() {
                // AWS answers 204 when there is nothing to delete.
                return Ok((Some(f), None));
            }
            Ok((Some(f.clone()), Some(f)))
        })
        .await?;
    if let Some(f) = removed {
        spawn_provision(l, &key, &f, &q);
    }
    Ok(Response::empty(204))
}

/// ListProvisionedConcurrencyConfigs.
pub fn list_provisioned(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    page: &Page,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let all = l.read_function(&key, |f| {
        Ok::<_, LambdaError>(
            f.provisioned
                .values()
                .map(|p| describe(l, &key, f, p, true))
                .collect::<Vec<_>>(),
        )
    })?;
    super::page_response("ProvisionedConcurrencyConfigs", all, page)
}

/// GetAccountSettings.
pub fn account_settings(l: &Lambda, ctx: &RequestContext) -> Result<Response> {
    let functions = l.registry.list(&ctx.account_id, &ctx.region);
    let total: u64 = functions.iter().map(|f| f.code_size()).sum();
    ok(
        200,
        &json!({
            "AccountLimit": {
                "TotalCodeSize": super::functions::TOTAL_CODE_SIZE,
                "CodeSizeUnzipped": crate::code::MAX_UNZIPPED,
                "CodeSizeZipped": crate::code::MAX_ZIPPED,
                "ConcurrentExecutions": l.counting.limit(),
                "UnreservedConcurrentExecutions": l.counting.unreserved(&ctx.account_id, &ctx.region),
            },
            "AccountUsage": {
                "TotalCodeSize": total,
                "FunctionCount": functions.len(),
            },
        }),
    )
}
