//! Parses a Lambda REST-JSON request (2015-03-31 family of paths) into a
//! typed [`LambdaOp`]. Handlers never see paths, headers or raw JSON.

use crate::arn::FunctionRef;
use crate::error::{validation, LambdaError, Result};
use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serval_wire::Request;
use std::collections::BTreeMap;

/// `Environment` in requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentInput {
    /// Variables.
    pub variables: Option<BTreeMap<String, String>>,
}

/// `Code` in CreateFunction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeInput {
    /// base64 zip.
    pub zip_file: Option<String>,
    /// S3 bucket (Serval's own S3).
    pub s3_bucket: Option<String>,
    /// S3 key.
    pub s3_key: Option<String>,
    /// S3 object version.
    pub s3_object_version: Option<String>,
    /// Container image (not supported).
    pub image_uri: Option<String>,
}

/// `{ "Size": n }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SizeInput {
    /// Size in MB.
    pub size: u32,
}

/// `{ "Mode": ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModeInput {
    /// Mode.
    pub mode: Option<String>,
}

/// `{ "TargetArn": ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DlqInput {
    /// Target ARN.
    pub target_arn: Option<String>,
}

/// CreateFunction body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionInput {
    /// Name.
    pub function_name: String,
    /// Runtime.
    pub runtime: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// Handler.
    pub handler: Option<String>,
    /// Code.
    pub code: Option<CodeInput>,
    /// Description.
    pub description: Option<String>,
    /// Timeout.
    pub timeout: Option<i64>,
    /// Memory.
    pub memory_size: Option<i64>,
    /// Publish a version at once.
    #[serde(default)]
    pub publish: bool,
    /// Environment.
    pub environment: Option<EnvironmentInput>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Architectures.
    pub architectures: Option<Vec<String>>,
    /// /tmp size.
    pub ephemeral_storage: Option<SizeInput>,
    /// Layers.
    pub layers: Option<Vec<String>>,
    /// Package type.
    pub package_type: Option<String>,
    /// Tracing.
    pub tracing_config: Option<ModeInput>,
    /// DLQ.
    pub dead_letter_config: Option<DlqInput>,
    /// KMS key.
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    /// VPC config (echoed).
    pub vpc_config: Option<serde_json::Value>,
    /// Logging config (echoed).
    pub logging_config: Option<serde_json::Value>,
}

/// UpdateFunctionCode body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCodeInput {
    /// base64 zip.
    pub zip_file: Option<String>,
    /// S3 bucket.
    pub s3_bucket: Option<String>,
    /// S3 key.
    pub s3_key: Option<String>,
    /// S3 object version.
    pub s3_object_version: Option<String>,
    /// Image.
    pub image_uri: Option<String>,
    /// Publish a version after.
    #[serde(default)]
    pub publish: bool,
    /// Validate only.
    #[serde(default)]
    pub dry_run: bool,
    /// Expected revision.
    pub revision_id: Option<String>,
    /// Architectures.
    pub architectures: Option<Vec<String>>,
}

/// UpdateFunctionConfiguration body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateConfigInput {
    /// Role.
    pub role: Option<String>,
    /// Handler.
    pub handler: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Timeout.
    pub timeout: Option<i64>,
    /// Memory.
    pub memory_size: Option<i64>,
    /// Environment.
    pub environment: Option<EnvironmentInput>,
    /// Runtime.
    pub runtime: Option<String>,
    /// Expected revision.
    pub revision_id: Option<String>,
    /// Layers.
    pub layers: Option<Vec<String>>,
    /// /tmp size.
    pub ephemeral_storage: Option<SizeInput>,
    /// Tracing.
    pub tracing_config: Option<ModeInput>,
    /// DLQ.
    pub dead_letter_config: Option<DlqInput>,
    /// KMS key.
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    /// VPC config.
    pub vpc_config: Option<serde_json::Value>,
    /// Logging config.
    pub logging_config: Option<serde_json::Value>,
}

/// PublishVersion body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishVersionInput {
    /// Expected code hash.
    pub code_sha256: Option<String>,
    /// Description of the version.
    pub description: Option<String>,
    /// Expected revision.
    pub revision_id: Option<String>,
}

/// `RoutingConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoutingInput {
    /// Version -> weight.
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
}

/// CreateAlias / UpdateAlias body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasInput {
    /// Alias name (create only).
    pub name: Option<String>,
    /// Version.
    pub function_version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Weights.
    pub routing_config: Option<RoutingInput>,
    /// Expected revision (update only).
    pub revision_id: Option<String>,
}

/// Invoke parameters.
#[derive(Debug, Clone)]
pub struct InvokeInput {
    /// Function.
    pub function: FunctionRef,
    /// RequestResponse, Event or DryRun.
    pub invocation_type: InvocationType,
    /// `X-Amz-Log-Type: Tail`.
    pub tail: bool,
    /// Decoded client context.
    pub client_context: Option<String>,
    /// Payload.
    pub payload: Bytes,
    /// InvokeWithResponseStream: answer as an event stream.
    pub streaming: bool,
}

/// How to invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Synchronous.
    RequestResponse,
    /// Asynchronous.
    Event,
    /// Validate only.
    DryRun,
}

/// Paging parameters.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Opaque marker.
    pub marker: Option<String>,
    /// Page size.
    pub max_items: Option<usize>,
}

/// Every Lambda operation Serval implements, with typed input.
#[derive(Debug, Clone)]
pub enum LambdaOp {
    /// CreateFunction.
    CreateFunction(Box<CreateFunctionInput>),
    /// GetFunction.
    GetFunction(FunctionRef),
    /// GetFunctionConfiguration.
    GetFunctionConfiguration(FunctionRef),
    /// ListFunctions.
    ListFunctions(Page, bool),
    /// UpdateFunctionCode.
    UpdateFunctionCode(FunctionRef, Box<UpdateCodeInput>),
    /// UpdateFunctionConfiguration.
    UpdateFunctionConfiguration(FunctionRef, Box<UpdateConfigInput>),
    /// DeleteFunction.
    DeleteFunction(FunctionRef),
    /// PublishVersion.
    PublishVersion(FunctionRef, PublishVersionInput),
    /// ListVersionsByFunction.
    ListVersionsByFunction(FunctionRef, Page),
    /// CreateAlias.
    CreateAlias(FunctionRef, AliasInput),
    /// GetAlias.
    GetAlias(FunctionRef, String),
    /// UpdateAlias.
    UpdateAlias(FunctionRef, String, AliasInput),
    /// DeleteAlias.
    DeleteAlias(FunctionRef, String),
    /// ListAliases.
    ListAliases(FunctionRef, Option<String>, Page),
    /// PutFunctionConcurrency.
    PutFunctionConcurrency(FunctionRef, i64),
    /// GetFunctionConcurrency.
    GetFunctionConcurrency(FunctionRef),
    /// DeleteFunctionConcurrency.
    DeleteFunctionConcurrency(FunctionRef),
    /// PutProvisionedConcurrencyConfig.
    PutProvisionedConcurrency(FunctionRef, i64),
    /// GetProvisionedConcurrencyConfig.
    GetProvisionedConcurrency(FunctionRef),
    /// DeleteProvisionedConcurrencyConfig.
    DeleteProvisionedConcurrency(FunctionRef),
    /// ListProvisionedConcurrencyConfigs.
    ListProvisionedConcurrency(FunctionRef, Page),
    /// GetAccountSettings.
    GetAccountSettings,
    /// TagResource.
    TagResource(String, BTreeMap<String, String>),
    /// UntagResource.
    UntagResource(String, Vec<String>),
    /// ListTags.
    ListTags(String),
    /// Invoke.
    Invoke(Box<InvokeInput>),
    /// AddPermission.
    AddPermission(FunctionRef, Box<crate::ops::permissions::PermissionInput>),
    /// RemovePermission (statement id, revision id).
    RemovePermission(FunctionRef, String, Option<String>),
    /// GetPolicy.
    GetPolicy(FunctionRef),
    /// CreateFunctionUrlConfig.
    CreateFunctionUrlConfig(FunctionRef, crate::ops::urls::UrlInput),
    /// GetFunctionUrlConfig.
    GetFunctionUrlConfig(FunctionRef),
    /// UpdateFunctionUrlConfig.
    UpdateFunctionUrlConfig(FunctionRef, crate::ops::urls::UrlInput),
    /// DeleteFunctionUrlConfig.
    DeleteFunctionUrlConfig(FunctionRef),
    /// ListFunctionUrlConfigs.
    ListFunctionUrlConfigs(FunctionRef, Page),
    /// Put (true) or UpdateFunctionEventInvokeConfig.
    PutEventInvokeConfig(
        FunctionRef,
        crate::ops::event_invoke::EventInvokeInput,
        bool,
    ),
    /// GetFunctionEventInvokeConfig.
    GetEventInvokeConfig(FunctionRef),
    /// DeleteFunctionEventInvokeConfig.
    DeleteEventInvokeConfig(FunctionRef),
    /// ListFunctionEventInvokeConfigs.
    ListEventInvokeConfigs(FunctionRef, Page),
    /// CreateEventSourceMapping.
    CreateEventSourceMapping(Box<crate::esm::MappingInput>),
    /// GetEventSourceMapping.
    GetEventSourceMapping(String),
    /// UpdateEventSourceMapping.
    UpdateEventSourceMapping(String, Box<crate::esm::MappingInput>),
    /// DeleteEventSourceMapping.
    DeleteEventSourceMapping(String),
    /// ListEventSourceMappings (source ARN, function).
    ListEventSourceMappings(Option<String>, Option<String>, Page),
}

fn body<T: DeserializeOwned + Default>(req: &Request) -> Result<T> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json(&req.body)
}

fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        LambdaError::InvalidRequestContent(format!("Could not parse request body into json: {e}"))
    })
}

fn page(req: &Request) -> Result<Page> {
    let max_items = match req.query_param("MaxItems") {
        Some(v) => {
            let n: i64 = v.parse().map_err(|_| {
                validation(
                    &v,
                    "maxItems",
                    "Member must have value greater than or equal to 1",
                )
            })?;
            if !(1..=10_000).contains(&n) {
                return Err(validation(
                    &v,
                    "maxItems",
                    if n < 1 {
                        "Member must have value greater than or equal to 1"
                    } else {
                        "Member must have value less than or equal to 10000"
                    },
                ));
            }
            Some(n as usize)
        }
        None => None,
    };
    Ok(Page {
        marker: req.query_param("Marker"),
        max_items,
    })
}

fn qualified(name: &str, req: &Request) -> Result<FunctionRef> {
    FunctionRef::parse(name)?.with_qualifier(req.query_param("Qualifier"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReservedInput {
    reserved_concurrent_executions: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProvisionedInput {
    provisioned_concurrent_executions: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TagsInput {
    tags: Option<BTreeMap<String, String>>,
}

/// Whether a path belongs to the Lambda API.
pub fn owns_path(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "/2015-03-31/functions",
        "/2017-10-31/functions",
        "/2019-09-30/functions",
        "/2016-08-19/account-settings",
        "/2017-03-31/tags",
        "/2014-11-13/functions",
        "/2018-10-31/layers",
        "/2015-03-31/event-source-mappings",
        "/2019-09-25/functions",
        "/2021-10-31/functions",
        "/2021-11-15/functions",
        "/2020-04-22/code-signing-configs",
        "/2020-06-30/functions",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Parses a request into an operation.
pub fn parse(req: &Request) -> Result<LambdaOp> {
    let segs = req.path_segments();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = &req.method;
    let op = match (m, seg.as_slice()) {
        (&Method::POST, ["2015-03-31", "functions"]) => {
            LambdaOp::CreateFunction(Box::new(json(&req.body)?))
        }
        (&Method::GET, ["2015-03-31", "functions"]) => LambdaOp::ListFunctions(
            page(req)?,
            req.query_param("FunctionVersion").as_deref() == Some("ALL"),
        ),
        (&Method::GET, ["2015-03-31", "functions", f]) => LambdaOp::GetFunction(qualified(f, req)?),
        (&Method::DELETE, ["2015-03-31", "functions", f]) => {
            LambdaOp::DeleteFunction(qualified(f, req)?)
        }
        (&Method::GET, ["2015-03-31", "functions", f, "configuration"]) => {
            LambdaOp::GetFunctionConfiguration(qualified(f, req)?)
        }
        (&Method::PUT, ["2015-03-31", "functions", f, "configuration"]) => {
            LambdaOp::UpdateFunctionConfiguration(FunctionRef::parse(f)?, Box::new(body(req)?))
        }
        (&Method::PUT, ["2015-03-31", "functions", f, "code"]) => {
            LambdaOp::UpdateFunctionCode(FunctionRef::parse(f)?, Box::new(body(req)?))
        }
        (&Method::POST, ["2015-03-31", "functions", f, "invocations"]) => {
            LambdaOp::Invoke(Box::new(invoke_input(f, req)?))
        }
        (&Method::POST, ["2021-11-15", "functions", f, "response-streaming-invocations"]) => {
            let mut input = invoke_input(f, req)?;
            if input.invocation_type == InvocationType::Event {
                return Err(validation(
                    "Event",
                    "invocationType",
                    "Member must satisfy enum value set: [RequestResponse, DryRun]",
                ));
            }
            input.streaming = true;
            LambdaOp::Invoke(Box::new(input))
        }
        (&Method::POST, ["2015-03-31", "functions", f, "versions"]) => {
            LambdaOp::PublishVersion(FunctionRef::parse(f)?, body(req)?)
        }
        (&Method::GET, ["2015-03-31", "functions", f, "versions"]) => {
            LambdaOp::ListVersionsByFunction(FunctionRef::parse(f)?, page(req)?)
        }
        (&Method::POST, ["2015-03-31", "functions", f, "aliases"]) => {
            LambdaOp::CreateAlias(FunctionRef::parse(f)?, body(req)?)
        }
        (&Method::GET, ["2015-03-31", "functions", f, "aliases"]) => LambdaOp::ListAliases(
            FunctionRef::parse(f)?,
            req.query_param("FunctionVersion"),
            page(req)?,
        ),
        (&Method::GET, ["2015-03-31", "functions", f, "aliases", a]) => {
            LambdaOp::GetAlias(FunctionRef::parse(f)?, a.to_string())
        }
        (&Method::PUT, ["2015-03-31", "functions", f, "aliases", a]) => {
            LambdaOp::UpdateAlias(FunctionRef::parse(f)?, a.to_string(), body(req)?)
        }
        (&Method::DELETE, ["2015-03-31", "functions", f, "aliases", a]) => {
            LambdaOp::DeleteAlias(FunctionRef::parse(f)?, a.to_string())
        }
        (&Method::PUT, ["2017-10-31", "functions", f, "concurrency"]) => {
            let input: ReservedInput = json(&req.body)?;
            let n = input.reserved_concurrent_executions.ok_or_else(|| {
                LambdaError::InvalidParameter("ReservedConcurrentExecutions is required".into())
            })?;
            LambdaOp::PutFunctionConcurrency(FunctionRef::parse(f)?, n)
        }
        (&Method::POST, ["2015-03-31", "event-source-mappings"]) => {
            LambdaOp::CreateEventSourceMapping(Box::new(json(&req.body)?))
        }
        (&Method::GET, ["2015-03-31", "event-source-mappings"]) => {
            LambdaOp::ListEventSourceMappings(
                req.query_param("EventSourceArn"),
                req.query_param("FunctionName"),
                page(req)?,
            )
        }
        (&Method::GET, ["2015-03-31", "event-source-mappings", id]) => {
            LambdaOp::GetEventSourceMapping(id.to_string())
        }
        (&Method::PUT, ["2015-03-31", "event-source-mappings", id]) => {
            LambdaOp::UpdateEventSourceMapping(id.to_string(), Box::new(body(req)?))
        }
        (&Method::DELETE, ["2015-03-31", "event-source-mappings", id]) => {
            LambdaOp::DeleteEventSourceMapping(id.to_string())
        }
        (&Method::PUT, ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            LambdaOp::PutEventInvokeConfig(qualified(f, req)?, body(req)?, true)
        }
        (&Method::POST, ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            LambdaOp::PutEventInvokeConfig(qualified(f, req)?, body(req)?, false)
        }
        (&Method::GET, ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            LambdaOp::GetEventInvokeConfig(qualified(f, req)?)
        }
        (&Method::DELETE, ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            LambdaOp::DeleteEventInvokeConfig(qualified(f, req)?)
        }
        (&Method::GET, ["2019-09-25", "functions", f, "event-invoke-config", "list"]) => {
            LambdaOp::ListEventInvokeConfigs(FunctionRef::parse(f)?, page(req)?)
        }
        (&Method::GET, ["2019-09-30", "functions", f, "concurrency"]) => {
            LambdaOp::GetFunctionConcurrency(FunctionRef::parse(f)?)
        }
        (&Method::DELETE, ["2017-10-31", "functions", f, "concurrency"]) => {
            LambdaOp::DeleteFunctionConcurrency(FunctionRef::parse(f)?)
        }
        (_, ["2019-09-30", "functions", f, "provisioned-concurrency"]) => {
            if m == Method::GET && req.query_param("List").is_some() {
                LambdaOp::ListProvisionedConcurrency(FunctionRef::parse(f)?, page(req)?)
            } else {
                let r = qualified(f, req)?;
                if r.qualifier.is_none() {
                    return Err(LambdaError::InvalidParameter(
                        "The qualifier is required for provisioned concurrency.".into(),
                    ));
                }
                match *m {
                    Method::PUT => {
                        let input: ProvisionedInput = json(&req.body)?;
                        let n = input.provisioned_concurrent_executions.ok_or_else(|| {
                            LambdaError::InvalidParameter(
                                "ProvisionedConcurrentExecutions is required".into(),
                            )
                        })?;
                        LambdaOp::PutProvisionedConcurrency(r, n)
                    }
                    Method::GET => LambdaOp::GetProvisionedConcurrency(r),
                    Method::DELETE => LambdaOp::DeleteProvisionedConcurrency(r),
                    _ => return Err(unknown(req)),
                }
            }
        }
        (&Method::POST, ["2015-03-31", "functions", f, "policy"]) => {
            LambdaOp::AddPermission(qualified(f, req)?, Box::new(json(&req.body)?))
        }
        (&Method::GET, ["2015-03-31", "functions", f, "policy"]) => {
            LambdaOp::GetPolicy(qualified(f, req)?)
        }
        (&Method::DELETE, ["2015-03-31", "functions", f, "policy", sid]) => {
            LambdaOp::RemovePermission(
                qualified(f, req)?,
                sid.to_string(),
                req.query_param("RevisionId"),
            )
        }
        (&Method::POST, ["2021-10-31", "functions", f, "url"]) => {
            LambdaOp::CreateFunctionUrlConfig(qualified(f, req)?, json(&req.body)?)
        }
        (&Method::GET, ["2021-10-31", "functions", f, "url"]) => {
            LambdaOp::GetFunctionUrlConfig(qualified(f, req)?)
        }
        (&Method::PUT, ["2021-10-31", "functions", f, "url"]) => {
            LambdaOp::UpdateFunctionUrlConfig(qualified(f, req)?, body(req)?)
        }
        (&Method::DELETE, ["2021-10-31", "functions", f, "url"]) => {
            LambdaOp::DeleteFunctionUrlConfig(qualified(f, req)?)
        }
        (&Method::GET, ["2021-10-31", "functions", f, "urls"]) => {
            LambdaOp::ListFunctionUrlConfigs(FunctionRef::parse(f)?, page(req)?)
        }
        (&Method::GET, ["2016-08-19", "account-settings"]) => LambdaOp::GetAccountSettings,
        (&Method::POST, ["2017-03-31", "tags", arn]) => {
            let input: TagsInput = body(req)?;
            LambdaOp::TagResource(arn.to_string(), input.tags.unwrap_or_default())
        }
        (&Method::DELETE, ["2017-03-31", "tags", arn]) => {
            let keys = req
                .query_pairs()
                .into_iter()
                .filter(|(k, _)| k == "tagKeys")
                .map(|(_, v)| v)
                .collect();
            LambdaOp::UntagResource(arn.to_string(), keys)
        }
        (&Method::GET, ["2017-03-31", "tags", arn]) => LambdaOp::ListTags(arn.to_string()),
        _ => return Err(unknown(req)),
    };
    Ok(op)
}

fn unknown(req: &Request) -> LambdaError {
    LambdaError::Unsupported(format!(
        "Serval does not implement {} {} yet",
        req.method, req.path
    ))
}

fn invoke_input(f: &str, req: &Request) -> Result<InvokeInput> {
    let function = qualified(f, req)?;
    let invocation_type = match req.header("x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(validation(
                other,
                "invocationType",
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            ))
        }
    };
    let tail = match req.header("x-amz-log-type") {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(validation(
                other,
                "logType",
                "Member must satisfy enum value set: [None, Tail]",
            ))
        }
    };
    let client_context = match req.header("x-amz-client-context") {
        None => None,
        Some(cc) => {
            use base64::Engine;
            if cc.len() > 3583 {
                return Err(LambdaError::InvalidParameter(
                    "Client context must be smaller than 3583 bytes.".into(),
                ));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(cc)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| serde_json::from_str::<serde_json::Value>(s).is_ok())
                .ok_or_else(|| {
                    LambdaError::InvalidRequestContent(
                        "Client context must be a valid Base64-encoded JSON object.".into(),
                    )
                })?;
            Some(decoded)
        }
    };
    Ok(InvokeInput {
        function,
        invocation_type,
        tail,
        client_context,
        payload: req.body.clone(),
        streaming: false,
    })
}
