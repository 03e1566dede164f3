//! Lambda's persisted records. Each is stored under a schema tag so a record
//! that has shipped is never reinterpreted: a new shape is a new variant plus
//! a migration in `load`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The configuration of `$LATEST` or of a published version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VersionRecord {
    /// Function name.
    pub function_name: String,
    /// `$LATEST` or the version number.
    pub version: String,
    /// Runtime identifier.
    pub runtime: String,
    /// Execution role ARN (accepted, not enforced).
    pub role: String,
    /// Handler.
    pub handler: String,
    /// Description.
    pub description: String,
    /// Timeout in seconds.
    pub timeout: u32,
    /// Memory in MB.
    pub memory_size: u32,
    /// base64 SHA-256 of the zip.
    pub code_sha256: String,
    /// hex SHA-256 (code directory).
    pub code_hex: String,
    /// Zip size.
    pub code_size: u64,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Last modification, epoch ms.
    pub last_modified: u64,
    /// Revision id (changes on every update).
    pub revision_id: String,
    /// Architectures.
    pub architectures: Vec<String>,
    /// /tmp size in MB.
    pub ephemeral_storage: u32,
    /// Layer version ARNs.
    pub layers: Vec<String>,
    /// X-Ray mode.
    pub tracing_mode: String,
    /// DLQ target ARN.
    pub dead_letter_target: Option<String>,
    /// KMS key ARN.
    pub kms_key_arn: Option<String>,
    /// VPC config as sent (accepted, not applied).
    pub vpc_config: Option<Value>,
    /// Logging config as sent.
    pub logging_config: Option<Value>,
}

impl VersionRecord {
    /// The unqualified function ARN.
    pub fn function_arn_base(&self, region: &str, account: &str) -> String {
        crate::arn::function_arn(region, account, &self.function_name)
    }

    /// The `FunctionConfiguration` shape AWS returns.
    pub fn to_configuration(&self, region: &str, account: &str) -> Value {
        self.to_configuration_as(region, account, None)
    }

    /// The `FunctionConfiguration` shape with `FunctionArn` qualified as the
    /// caller asked (`:$LATEST`, `:alias`); published versions always carry
    /// their number.
    pub fn to_configuration_as(
        &self,
        region: &str,
        account: &str,
        qualifier: Option<&str>,
    ) -> Value {
        let base = self.function_arn_base(region, account);
        let arn = match qualifier {
            Some(q) => format!("{base}:{q}"),
            None if self.version == "$LATEST" => base.clone(),
            None => format!("{base}:{}", self.version),
        };
        let mut c = json!({
            "FunctionName": self.function_name,
            "FunctionArn": arn,
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": serval_core::time::lambda_timestamp(self.last_modified),
            "CodeSha256": self.code_sha256,
            "Version": self.version,
            "TracingConfig": { "Mode": self.tracing_mode },
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": self.architectures,
            "EphemeralStorage": { "Size": self.ephemeral_storage },
            "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
            "LoggingConfig": self.logging_config.clone().unwrap_or_else(|| json!({
                "LogFormat": "Text",
                "LogGroup": format!("/aws/lambda/{}", self.function_name),
            })),
        });
        if !self.environment.is_empty() {
            c["Environment"] = json!({ "Variables": self.environment });
        }
        if !self.layers.is_empty() {
            c["Layers"] = Value::Array(
                self.layers
                    .iter()
                    .map(|a| json!({ "Arn": a, "CodeSize": 0 }))
                    .collect(),
            );
        }
        if let Some(t) = &self.dead_letter_target {
            c["DeadLetterConfig"] = json!({ "TargetArn": t });
        }
        if let Some(k) = &self.kms_key_arn {
            c["KMSKeyArn"] = json!(k);
        }
        if let Some(v) = &self.vpc_config {
            c["VpcConfig"] = v.clone();
        }
        c
    }
}

/// Per-function settings that are not part of a version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FunctionRecord {
    /// Function name.
    pub name: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Reserved concurrency, if set.
    pub reserved_concurrency: Option<u32>,
    /// Highest version number published so far.
    pub last_version: u64,
    /// RevisionId of `$LATEST` when the last version was published: an
    /// unchanged `$LATEST` is not published again.
    #[serde(default)]
    pub published_revision: Option<String>,
    /// Asynchronous invocation settings by qualifier (`$LATEST`, a version
    /// or an alias).
    #[serde(default)]
    pub event_invoke: BTreeMap<String, EventInvokeConfig>,
}

/// How asynchronous invocations of one qualifier are retried and where
/// their records go.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct EventInvokeConfig {
    /// Retries after a function error (0-2; default 2).
    pub max_retry_attempts: Option<u32>,
    /// Oldest an event may get before it is discarded (60-21600 s; default 6 h).
    pub max_event_age_secs: Option<u32>,
    /// Destination of success records.
    pub on_success: Option<String>,
    /// Destination of failure records.
    pub on_failure: Option<String>,
    /// Epoch seconds.
    pub last_modified: f64,
}

/// An alias.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AliasRecord {
    /// Alias name.
    pub name: String,
    /// Primary version.
    pub function_version: String,
    /// Description.
    pub description: String,
    /// Additional version weights (0.0-1.0).
    pub routing: BTreeMap<String, f64>,
    /// Revision id.
    pub revision_id: String,
}

impl AliasRecord {
    /// The `AliasConfiguration` shape.
    pub fn to_configuration(&self, function_arn: &str) -> Value {
        let mut v = json!({
            "AliasArn": format!("{function_arn}:{}", self.name),
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        });
        if !self.routing.is_empty() {
            v["RoutingConfig"] = json!({ "AdditionalVersionWeights": self.routing });
        }
        v
    }
}

/// Provisioned concurrency requested for a version or alias.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProvisionedRecord {
    /// The version or alias it applies to.
    pub qualifier: String,
    /// Requested environments.
    pub requested: u32,
    /// Last change, epoch ms.
    pub last_modified: u64,
}

/// A function's (or one qualifier's) resource-based policy: its statements
/// in the order they were added, as AWS renders them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PolicyRecord {
    /// `""` for the unqualified function, else the version or alias.
    pub qualifier: String,
    /// Statements (JSON objects with `Sid`, `Effect`, `Principal`, ...).
    pub statements: Vec<Value>,
    /// Revision id, changed by every edit.
    pub revision_id: String,
}

/// A function URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UrlRecord {
    /// `""` for the unqualified function, else the alias.
    pub qualifier: String,
    /// The host label before `.lambda-url.`.
    pub url_id: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    /// The `Cors` object as the API takes and returns it (PascalCase).
    pub cors: Option<Value>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
    /// ISO 8601 creation time.
    pub creation_time: String,
    /// ISO 8601 last change.
    pub last_modified_time: String,
}

/// The stored envelope of every record: a schema tag plus the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "schema")]
#[allow(clippy::large_enum_variant)]
pub enum Stored {
    /// First shape of a function record.
    #[serde(rename = "function/1")]
    FunctionV1(FunctionRecord),
    /// First shape of a version record.
    #[serde(rename = "version/1")]
    VersionV1(VersionRecord),
    /// First shape of an alias record.
    #[serde(rename = "alias/1")]
    AliasV1(AliasRecord),
    /// First shape of a provisioned-concurrency record.
    #[serde(rename = "provisioned/1")]
    ProvisionedV1(ProvisionedRecord),
    /// First shape of a resource policy record.
    #[serde(rename = "policy/1")]
    PolicyV1(PolicyRecord),
    /// First shape of a function URL record.
    #[serde(rename = "url/1")]
    UrlV1(UrlRecord),
}

impl Stored {
    /// Encodes for the store.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a stored value.
    pub fn decode(bytes: &[u8]) -> Option<Stored> {
        serde_json::from_slice(bytes).ok()
    }
}
