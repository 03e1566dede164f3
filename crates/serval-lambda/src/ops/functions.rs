//! CreateFunction, GetFunction(Configuration), ListFunctions,
//! UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction.

use super::{ok, validate};
use crate::api::{CreateFunctionInput, Page, UpdateCodeInput, UpdateConfigInput};
use crate::arn::FunctionRef;
use crate::error::{LambdaError, Result};
use crate::model::{FunctionRecord, VersionRecord};
use crate::registry::{FnKey, Function};
use crate::workers::PoolKey;
use crate::{not_found, Lambda};
use base64::Engine;
use serde_json::{json, Value};
use serval_core::{ids, RequestContext};
use serval_wire::Response;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Resolves a qualifier (version, alias or none) to a version record.
pub(crate) fn resolve(
    f: &Function,
    key: &FnKey,
    qualifier: Option<&str>,
) -> Result<Arc<VersionRecord>> {
    match qualifier {
        None | Some("$LATEST") => Ok(f.latest.clone()),
        Some(q) => {
            if let Some(v) = f.version(q) {
                return Ok(v.clone());
            }
            if let Some(a) = f.aliases.get(q) {
                if let Some(v) = f.version(&a.function_version) {
                    return Ok(v.clone());
                }
            }
            Err(not_found(key, Some(q)))
        }
    }
}

/// The account's code storage limit (AWS: 75 GB).
pub(crate) const TOTAL_CODE_SIZE: u64 = 80_530_636_800;

/// Checks the account's code storage, then stores and extracts the zip off
/// the async threads (extraction can take a while).
async fn store_code(
    l: &Lambda,
    account: &str,
    region: &str,
    zip: Vec<u8>,
) -> Result<crate::code::StoredCode> {
    let used: u64 = l
        .registry
        .list(account, region)
        .iter()
        .map(|f| f.code_size())
        .sum();
    if used + zip.len() as u64 > TOTAL_CODE_SIZE {
        return Err(LambdaError::CodeStorageExceeded(format!(
            "Code storage limit exceeded: the account uses {used} of {TOTAL_CODE_SIZE} bytes."
        )));
    }
    let code = l.code.clone();
    tokio::task::spawn_blocking(move || code.put(&zip))
        .await
        .map_err(|e| LambdaError::Internal(format!("code extraction failed: {e}")))?
}

/// A configuration with `FunctionArn` qualified the way the caller asked:
/// `$LATEST` and aliases keep their qualifier, versions their number.
pub(crate) fn shown_as(
    v: &VersionRecord,
    key: &FnKey,
    qualifier: Option<&str>,
) -> serde_json::Value {
    let q = qualifier.filter(|q| q.parse::<u64>().is_err());
    v.to_configuration_as(&key.region, &key.account, q)
}

fn decode_zip(b64: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            LambdaError::InvalidParameter(
                "Could not unzip uploaded file. Please check your file, then try to upload again."
                    .into(),
            )
        })
}

/// Largest code package read from S3 (Lambda's unzipped limit bounds the zip too).
const MAX_S3_CODE: u64 = 250 * 1024 * 1024;

/// The zip a request names: inline (`ZipFile`) or an S3 object of Serval's own S3.
async fn code_from(
    l: &Lambda,
    key: &FnKey,
    zip_file: Option<&str>,
    s3: (Option<&str>, Option<&str>, Option<&str>),
    image: Option<&str>,
) -> Result<Vec<u8>> {
    if image.is_some() {
        return Err(LambdaError::InvalidParameter(
            "Serval runs Zip packages only; container images are not supported.".into(),
        ));
    }
    if let Some(z) = zip_file {
        return decode_zip(z);
    }
    let (bucket, s3_key, version) = s3;
    if let Some(b) = bucket {
        let Some(k) = s3_key else {
            return Err(LambdaError::InvalidParameter(
                "Please provide a source for function code.".into(),
            ));
        };
        let objects = l
            .objects
            .get()
            .ok_or_else(|| LambdaError::InvalidParameter("Serval's S3 is not available".into()))?;
        let body = objects
            .read_object(&key.account, &key.region, b, k, version, MAX_S3_CODE)
            .await
            .map_err(|e| {
                LambdaError::InvalidParameter(format!(
                    "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}",
                    e.code, e.message
                ))
            })?;
        return Ok(body.to_vec());
    }
    Err(LambdaError::InvalidParameter(
        "Please provide a source for function code.".into(),
    ))
}

/// CreateFunction.
pub async fn create(
    l: &Lambda,
    ctx: &RequestContext,
    input: CreateFunctionInput,
) -> Result<Response> {
    let fref = FunctionRef::parse(&input.function_name)?;
    if fref.qualifier.is_some() {
        return Err(LambdaError::InvalidParameter(
            "Function name cannot contain a qualifier when creating a function.".into(),
        ));
    }
    let key = l.key(ctx, &fref)?;
    if input.package_type.as_deref() == Some("Image") {
        return Err(LambdaError::InvalidParameter(
            "Serval runs Zip packages only; container images are not supported.".into(),
        ));
    }
    let runtime = input
        .runtime
        .as_deref()
        .ok_or_else(|| LambdaError::InvalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.".into()))?;
    validate::runtime(runtime)?;
    let handler = input
        .handler
        .as_deref()
        .ok_or_else(|| LambdaError::InvalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.".into()))?;
    validate::handler(handler)?;
    let role = input.role.clone().unwrap_or_default();
    validate::role(&role)?;
    let timeout = validate::timeout(input.timeout.unwrap_or(3))?;
    let memory = validate::memory(input.memory_size.unwrap_or(128))?;
    let description = input.description.clone().unwrap_or_default();
    validate::description(&description)?;
    let environment = input
        .environment
        .as_ref()
        .and_then(|e| e.variables.clone())
        .unwrap_or_default();
    validate::environment(&environment)?;
    let architectures = match &input.architectures {
        Some(a) => validate::architectures(a)?,
        None => vec!["x86_64".to_string()],
    };
    let ephemeral = match &input.ephemeral_storage {
        Some(e) => validate::ephemeral(e.size)?,
        None => 512,
    };
    let tags = input.tags.clone().unwrap_or_default();
    super::tags::validate(&tags)?;
    let code_input = input.code.clone().unwrap_or_default();
    let zip = code_from(
        l,
        &key,
        code_input.zip_file.as_deref(),
        (
            code_input.s3_bucket.as_deref(),
            code_input.s3_key.as_deref(),
            code_input.s3_object_version.as_deref(),
        ),
        code_input.image_uri.as_deref(),
    )
    .await?;
    if l.registry.read(&key, |f| f.is_some()) {
        return Err(LambdaError::Conflict(format!(
            "Function already exist: {}",
            key.name
        )));
    }
    let code = store_code(l, &key.account, &key.region, zip).await?;
    let now = l.clock.now_millis();
    let latest = VersionRecord {
        function_name: key.name.clone(),
        version: "$LATEST".into(),
        runtime: runtime.to_string(),
        role,
        handler: handler.to_string(),
        description,
        timeout,
        memory_size: memory,
        code_sha256: code.sha256_b64,
        code_hex: code.sha256_hex,
        code_size: code.size,
        environment,
        last_modified: now,
        revision_id: ids::uuid_v4(),
        architectures,
        ephemeral_storage: ephemeral,
        layers: input.layers.clone().unwrap_or_default(),
        tracing_mode: input
            .tracing_config
            .as_ref()
            .and_then(|t| t.mode.clone())
            .unwrap_or_else(|| "PassThrough".into()),
        dead_letter_target: input
            .dead_letter_config
            .as_ref()
            .and_then(|d| d.target_arn.clone()),
        kms_key_arn: input.kms_key_arn.clone(),
        vpc_config: input.vpc_config.clone(),
        logging_config: input.logging_config.clone(),
    };
    let publish = input.publish;
    let config = l
        .registry
        .update(&key, |cur| {
            if cur.is_some() {
                return Err(LambdaError::Conflict(format!(
                    "Function already exist: {}",
                    key.name
                )));
            }
            let mut f = Function {
                rec: FunctionRecord {
                    name: key.name.clone(),
                    tags,
                    reserved_concurrency: None,
                    last_version: 0,
                    published_revision: None,
                    event_invoke: BTreeMap::new(),
                },
                latest: Arc::new(latest),
                versions: BTreeMap::new(),
                aliases: BTreeMap::new(),
                provisioned: BTreeMap::new(),
                policies: BTreeMap::new(),
                urls: BTreeMap::new(),
            };
            let shown = super::versions::publish_if(&mut f, publish, now);
            Ok((Some(f), shown))
        })
        .await?;
    ok(201, &config.to_configuration(&key.region, &key.account))
}

/// GetFunction.
pub fn get(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.registry.read(&key, |f| {
        let f = f.ok_or_else(|| not_found(&key, fref.qualifier.as_deref()))?;
        let v = resolve(f, &key, fref.qualifier.as_deref())?;
        let mut out = json!({
            "Configuration": shown_as(&v, &key, fref.qualifier.as_deref()),
            "Code": {
                "RepositoryType": "S3",
                "Location": format!("{}/_serval/code/{}.zip", l.config.endpoint_url, v.code_hex),
            },
        });
        if !f.rec.tags.is_empty() {
            out["Tags"] = json!(f.rec.tags);
        }
        if let Some(r) = f.rec.reserved_concurrency {
            out["Concurrency"] = json!({ "ReservedConcurrentExecutions": r });
        }
        ok(200, &out)
    })
}

/// GetFunctionConfiguration.
pub fn get_configuration(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    l.registry.read(&key, |f| {
        let f = f.ok_or_else(|| not_found(&key, fref.qualifier.as_deref()))?;
        let v = resolve(f, &key, fref.qualifier.as_deref())?;
        ok(200, &shown_as(&v, &key, fref.qualifier.as_deref()))
    })
}

/// ListFunctions.
pub fn list(l: &Lambda, ctx: &RequestContext, page: &Page, all_versions: bool) -> Result<Response> {
    let mut configs: Vec<Value> = Vec::new();
    for f in l.registry.list(&ctx.account_id, &ctx.region) {
        configs.push(f.latest.to_configuration(&ctx.region, &ctx.account_id));
        if all_versions {
            configs.pop();
            configs.push(f.latest.to_configuration_as(
                &ctx.region,
                &ctx.account_id,
                Some("$LATEST"),
            ));
            for v in f.versions.values() {
                configs.push(v.to_configuration(&ctx.region, &ctx.account_id));
            }
        }
    }
    super::page_response("Functions", configs, page)
}

fn check_revision(expected: Option<&str>, actual: &str) -> Result<()> {
    match expected {
        Some(e) if e != actual => Err(crate::error::stale_revision("GetFunction/GetAlias")),
        _ => Ok(()),
    }
}

fn no_qualifier(fref: &FunctionRef) -> Result<()> {
    if fref.qualifier.is_some() {
        return Err(LambdaError::InvalidParameter(
            "Updating a function's code or configuration is only supported on $LATEST; remove the qualifier.".into(),
        ));
    }
    Ok(())
}

/// UpdateFunctionCode.
pub async fn update_code(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: UpdateCodeInput,
) -> Result<Response> {
    no_qualifier(fref)?;
    let key = l.key(ctx, fref)?;
    if !l.registry.read(&key, |f| f.is_some()) {
        return Err(not_found(&key, None));
    }
    let zip = code_from(
        l,
        &key,
        input.zip_file.as_deref(),
        (
            input.s3_bucket.as_deref(),
            input.s3_key.as_deref(),
            input.s3_object_version.as_deref(),
        ),
        input.image_uri.as_deref(),
    )
    .await?;
    let architectures = match &input.architectures {
        Some(a) => Some(validate::architectures(a)?),
        None => None,
    };
    let code = store_code(l, &key.account, &key.region, zip).await?;
    if input.dry_run {
        return l.read_function(&key, |f| {
            let mut v = (*f.latest).clone();
            v.code_sha256 = code.sha256_b64.clone();
            v.code_size = code.size;
            ok(200, &v.to_configuration(&key.region, &key.account))
        });
    }
    update_latest(l, &key, input.revision_id.as_deref(), input.publish, |v| {
        v.code_sha256 = code.sha256_b64.clone();
        v.code_hex = code.sha256_hex.clone();
        v.code_size = code.size;
        if let Some(a) = architectures {
            v.architectures = a;
        }
    })
    .await
}

/// UpdateFunctionConfiguration.
pub async fn update_configuration(
    l: &Lambda,
    ctx: &RequestContext,
    fref: &FunctionRef,
    input: UpdateConfigInput,
) -> Result<Response> {
    no_qualifier(fref)?;
    let key = l.key(ctx, fref)?;
    if let Some(r) = &input.runtime {
        validate::runtime(r)?;
    }
    if let Some(h) = &input.handler {
        validate::handler(h)?;
    }
    if let Some(r) = &input.role {
        validate::role(r)?;
    }
    if let Some(d) = &input.description {
        validate::description(d)?;
    }
    let timeout = input.timeout.map(validate::timeout).transpose()?;
    let memory = input.memory_size.map(validate::memory).transpose()?;
    let ephemeral = input
        .ephemeral_storage
        .as_ref()
        .map(|e| validate::ephemeral(e.size))
        .transpose()?;
    let environment = input
        .environment
        .as_ref()
        .map(|e| e.variables.clone().unwrap_or_default());
    if let Some(e) = &environment {
        validate::environment(e)?;
    }
    update_latest(l, &key, input.revision_id.as_deref(), false, |v| {
        if let Some(x) = &input.runtime {
            v.runtime = x.clone();
        }
        if let Some(x) = &input.handler {
            v.handler = x.clone();
        }
        if let Some(x) = &input.role {
            v.role = x.clone();
        }
        if let Some(x) = &input.description {
            v.description = x.clone();
        }
        if let Some(x) = timeout {
            v.timeout = x;
        }
        if let Some(x) = memory {
            v.memory_size = x;
        }
        if let Some(x) = ephemeral {
            v.ephemeral_storage = x;
        }
        if let Some(x) = environment {
            v.environment = x;
        }
        if let Some(x) = &input.layers {
            v.layers = x.clone();
        }
        if let Some(x) = input.tracing_config.as_ref().and_then(|t| t.mode.clone()) {
            v.tracing_mode = x;
        }
        if let Some(d) = &input.dead_letter_config {
            v.dead_letter_target = d.target_arn.clone().filter(|s| !s.is_empty());
        }
        if let Some(k) = &input.kms_key_arn {
            v.kms_key_arn = Some(k.clone()).filter(|s| !s.is_empty());
        }
        if let Some(x) = &input.vpc_config {
            v.vpc_config = Some(x.clone());
        }
        if let Some(x) = &input.logging_config {
            v.logging_config = Some(x.clone());
        }
    })
    .await
}

/// Changes `$LATEST` (after checking the expected RevisionId), optionally
/// publishes it, retires its environments and shows the result.
async fn update_latest(
    l: &Lambda,
    key: &FnKey,
    expected_revision: Option<&str>,
    publish: bool,
    change: impl FnOnce(&mut VersionRecord),
) -> Result<Response> {
    let now = l.clock.now_millis();
    let shown = l
        .update_function(key, |mut f| {
            check_revision(expected_revision, &f.latest.revision_id)?;
            let mut v = (*f.latest).clone();
            change(&mut v);
            v.last_modified = now;
            v.revision_id = ids::uuid_v4();
            f.latest = Arc::new(v);
            let shown = super::versions::publish_if(&mut f, publish, now);
            Ok((Some(f), shown))
        })
        .await?;
    retire_latest_and_show(l, key, &shown)
}

/// After a change of `$LATEST`: retire its environments, show the result.
fn retire_latest_and_show(l: &Lambda, key: &FnKey, shown: &VersionRecord) -> Result<Response> {
    l.workers.retire(&PoolKey {
        function: key.clone(),
        version: "$LATEST".into(),
    });
    ok(200, &shown.to_configuration(&key.region, &key.account))
}

/// DeleteFunction (whole function, or one version with a qualifier).
pub async fn delete(l: &Lambda, ctx: &RequestContext, fref: &FunctionRef) -> Result<Response> {
    let key = l.key(ctx, fref)?;
    match fref.qualifier.as_deref() {
        None => {
            l.update_function(&key, |_| Ok((None, ()))).await?;
            l.workers.retire_function(&key);
            let _ = l
                .counting
                .set_reserved(&key.account, &key.region, &key.name, None);
        }
        Some("$LATEST") => {
            return Err(LambdaError::InvalidParameter(
                "$LATEST version cannot be deleted without deleting the function.".into(),
            ))
        }
        Some(q) => {
            let n: u64 = q.parse().map_err(|_| {
                LambdaError::InvalidParameter(
                    "Deletion of aliases is not supported. Use DeleteAlias instead.".into(),
                )
            })?;
            l.registry
                .update(&key, |cur| {
                    let mut f = cur.ok_or_else(|| not_found(&key, Some(q)))?;
                    if !f.versions.contains_key(&n) {
                        return Err(not_found(&key, Some(q)));
                    }
                    let used: Vec<&str> = f
                        .aliases
                        .values()
                        .filter(|a| a.function_version == q || a.routing.contains_key(q))
                        .map(|a| a.name.as_str())
                        .collect();
                    if !used.is_empty() {
                        return Err(LambdaError::Conflict(format!(
                            "Unable to delete version because the following aliases reference it: {:?}",
                            used
                        )));
                    }
                    f.versions.remove(&n);
                    f.provisioned.remove(q);
                    f.policies.remove(q);
                    Ok((Some(f), ()))
                })
                .await?;
            l.workers.retire(&PoolKey {
                function: key.clone(),
                version: q.to_string(),
            });
        }
    }
    Ok(Response::empty(204))
}
