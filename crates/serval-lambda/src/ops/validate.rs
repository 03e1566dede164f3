//! Parameter checks shared by CreateFunction and UpdateFunctionConfiguration,
//! with AWS's own messages.

use crate::error::{validation, LambdaError, Result};
use serval_sandbox::runtimes::{self, Runtime};
use std::collections::BTreeMap;

/// A value within `[min, max]`, else Lambda's validation message for `field`.
fn in_range(v: i64, field: &str, min: i64, max: i64) -> Result<u32> {
    if v < min {
        return Err(validation(
            &v.to_string(),
            field,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if v > max {
        return Err(validation(
            &v.to_string(),
            field,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(v as u32)
}

/// Timeout in seconds: 1-900.
pub fn timeout(v: i64) -> Result<u32> {
    in_range(v, "timeout", 1, 900)
}

/// Memory in MB: 128-10240.
pub fn memory(v: i64) -> Result<u32> {
    in_range(v, "memorySize", 128, 10240)
}

/// Ephemeral storage in MB: 512-10240.
pub fn ephemeral(v: u32) -> Result<u32> {
    in_range(i64::from(v), "ephemeralStorage.size", 512, 10240)
}

/// A runtime Serval can run, or AWS's error for it.
pub fn runtime(name: &str) -> Result<Runtime> {
    if let Some(r) = Runtime::parse(name) {
        return Ok(r);
    }
    if runtimes::DEPRECATED.contains(&name) {
        return Err(LambdaError::InvalidParameter(format!(
            "The runtime parameter of {name} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
        )));
    }
    if runtimes::UNSUPPORTED.contains(&name) {
        return Err(LambdaError::InvalidParameter(format!(
            "The runtime parameter of {name} is not supported by Serval yet. Supported runtimes: {}",
            runtimes::SUPPORTED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )));
    }
    Err(LambdaError::InvalidParameter(format!(
        "Value {name} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
        runtimes::SUPPORTED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    )))
}

/// Keys AWS reserves.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Environment variables: names, reserved keys, the 4 KB limit.
pub fn environment(vars: &BTreeMap<String, String>) -> Result<()> {
    for k in vars.keys() {
        let valid = k.len() >= 2
            && k.as_bytes()[0].is_ascii_alphabetic()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(validation(
                k,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",
            ));
        }
    }
    let reserved: Vec<&str> = vars
        .keys()
        .map(String::as_str)
        .filter(|k| RESERVED_ENV.contains(k))
        .collect();
    if !reserved.is_empty() {
        return Err(LambdaError::InvalidParameter(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    let measured = serde_json::to_string(vars).unwrap_or_default();
    if measured.len() > 4096 {
        return Err(LambdaError::InvalidParameter(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

/// Architectures: exactly one of x86_64 or arm64.
pub fn architectures(a: &[String]) -> Result<Vec<String>> {
    if a.len() != 1 {
        return Err(validation(
            &format!("{a:?}"),
            "architectures",
            "Member must have length less than or equal to 1",
        ));
    }
    if a[0] != "x86_64" && a[0] != "arm64" {
        return Err(validation(
            &a[0],
            "architectures",
            "Member must satisfy enum value set: [x86_64, arm64]",
        ));
    }
    Ok(a.to_vec())
}

/// Description: at most 256 characters.
pub fn description(d: &str) -> Result<()> {
    if d.chars().count() > 256 {
        return Err(validation(
            d,
            "description",
            "Member must have length less than or equal to 256",
        ));
    }
    Ok(())
}

/// Role: an IAM role ARN.
pub fn role(r: &str) -> Result<()> {
    let ok = r.starts_with("arn:") && r.contains(":iam::") && r.contains(":role/");
    if !ok {
        return Err(validation(
            r,
            "role",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        ));
    }
    Ok(())
}

/// Handler: at most 128 characters of the allowed set.
pub fn handler(h: &str) -> Result<()> {
    if h.is_empty() || h.len() > 128 || h.chars().any(char::is_whitespace) {
        return Err(validation(
            h,
            "handler",
            "Member must satisfy regular expression pattern: [^\\s]+",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(timeout(0).is_err() && timeout(901).is_err() && timeout(900).is_ok());
        assert!(memory(127).is_err() && memory(10241).is_err() && memory(128).is_ok());
        let mut vars = BTreeMap::new();
        vars.insert("BIG".to_string(), "x".repeat(5000));
        assert!(
            matches!(environment(&vars), Err(LambdaError::InvalidParameter(m)) if m.contains("4KB"))
        );
        let mut vars = BTreeMap::new();
        vars.insert("AWS_REGION".to_string(), "x".into());
        assert!(environment(&vars).is_err());
        assert!(runtime("python3.12").is_ok());
        assert!(runtime("python2.7").is_err());
        assert!(runtime("cobol").is_err());
    }
}
