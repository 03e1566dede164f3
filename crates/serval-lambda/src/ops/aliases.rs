//! CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases.

use super::ok;
use crate::api::{AliasInput, Page};
use crate::arn::FunctionRef;
use crate::error::{validation, LambdaError, Result};
use crate::model::AliasRecord;
use crate::registry::{FnKey, Function};
use crate::{not_found, Lambda};
use serval_core::{ids, RequestContext};
use serval_wire::Response;
use std::collections::BTreeMap;

fn alias_not_found(key: &FnKey, name: &str) -> LambdaError {
    LambdaError::NotFound(format!("Alias not found: {}:{name}", key.arn()))
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.bytes().all(|b| b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(validation(
            name,
            "name",
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        ));
    }
    Ok(())
}

fn check_target(
    f: &Function,
    key: &FnKey,
    version: &str,
    routing: &BTreeMap<String, f64>,
) -> Result<()> {
    if f.version(version).is_none() {
        return Err(not_found(key, Some(version)));
    }
    if routing.len() > 1 {
        return Err(LambdaError::InvalidParameter(
            "Number of items in AdditionalVersionWeights cannot be greater than 1".into(),
        ));
    }
    for (v, w) in routing {
        if !(0.0..=1.0).contains(w) {
            return Err(validation(
                &w.to_string(),
                "routingConfig.additionalVersionWeights",
                "Member must have value less than or equal to 1.0",
            ));
        }
        if v == version {
            return Err(LambdaError::InvalidParameter(format!(
                "Invalid function version {v}. Function version {v} is already included in routing configuration."
            )));
        }
        if version == "$LATEST" || v == "$LATEST" {
            return Err(LambdaError::InvalidParameter(
                "$LATEST is not supported for an alias pointing to more than 1 version".into(),
            ));
        }
        if f.version(v).is_none() {
            return Err(not_found(key, Some(v)));
        }
    }
    Ok(())
}

/// CreateAlias.
pub async fn create(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: AliasInput,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let name = input.name.clone().unwrap_or_default();
    check_name(&name)?;
    let version = input
        .function_version
        .clone()
        .ok_or_else(|| LambdaError::InvalidParameter("FunctionVersion is required".into()))?;
    let routing = input
        .routing_config
        .as_ref()
        .and_then(|r| r.additional_version_weights.clone())
        .unwrap_or_default();
    let alias = l
        .update_function(&key, |mut f| {
            if f.aliases.contains_key(&name) {
                return Err(LambdaError::Conflict(format!(
                    "Alias already exists: {}:{name}",
                    key.arn()
                )));
            }
            check_target(&f, &key, &version, &routing)?;
            let a = AliasRecord {
                name: name.clone(),
                function_version: version.clone(),
                description: input.description.clone().unwrap_or_default(),
                routing: routing.clone(),
                revision_id: ids::uuid_v4(),
            };
            f.aliases.insert(name.clone(), a.clone());
            Ok((Some(f), a))
        })
        .await?;
    ok(201, &alias.to_configuration(&key.arn()))
}

/// GetAlias.
pub fn get(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef, name: &str) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.read_function(&key, |f| {
        let a = f
            .aliases
            .get(name)
            .ok_or_else(|| alias_not_found(&key, name))?;
        ok(200, &a.to_configuration(&key.arn()))
    })
}

/// UpdateAlias.
pub async fn update(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    name: &str,
    input: AliasInput,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let (alias, moved) = l
        .update_function(&key, |mut f| {
            let mut a = f
                .aliases
                .get(name)
                .cloned()
                .ok_or_else(|| alias_not_found(&key, name))?;
            let old_version = a.function_version.clone();
            if let Some(r) = &input.revision_id {
                if *r != a.revision_id {
                    return Err(crate::error::stale_revision("GetFunction/GetAlias"));
                }
            }
            if let Some(v) = &input.function_version {
                a.function_version = v.clone();
            }
            if let Some(d) = &input.description {
                a.description = d.clone();
            }
            if let Some(r) = &input.routing_config {
                a.routing = r.additional_version_weights.clone().unwrap_or_default();
            }
            check_target(&f, &key, &a.function_version, &a.routing)?;
            a.revision_id = ids::uuid_v4();
            f.aliases.insert(name.to_string(), a.clone());
            // Provisioned concurrency follows the alias to its new version.
            let moved = (f.provisioned.contains_key(name) && old_version != a.function_version)
                .then(|| (f.clone(), old_version, a.function_version.clone()));
            Ok((Some(f), (a, moved)))
        })
        .await?;
    if let Some((f, old, new)) = moved {
        super::concurrency::sync_version(l, &key, &f, &old);
        super::concurrency::sync_version(l, &key, &f, &new);
    }
    ok(200, &alias.to_configuration(&key.arn()))
}

/// DeleteAlias.
pub async fn delete(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    name: &str,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let freed = l
        .update_function(&key, |mut f| {
            let version = f.aliases.remove(name).map(|a| a.function_version);
            let had_provisioned = f.provisioned.remove(name).is_some();
            f.urls.remove(name);
            f.policies.remove(name);
            let freed = version.filter(|_| had_provisioned).map(|v| (f.clone(), v));
            Ok((Some(f), freed))
        })
        .await?;
    if let Some((f, version)) = freed {
        super::concurrency::sync_version(l, &key, &f, &version);
    }
    Ok(Response::empty(204))
}

/// ListAliases.
pub fn list(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    version: Option<&str>,
    page: &Page,
) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    let all = l.read_function(&key, |f| {
        Ok::<_, LambdaError>(
            f.aliases
                .values()
                .filter(|a| version.is_none_or(|v| a.function_version == v))
                .map(|a| a.to_configuration(&key.arn()))
                .collect::<Vec<_>>(),
        )
    })?;
    super::page_response("Aliases", all, page)
}
