//! Function names, ARNs and qualifiers as the Lambda API accepts them.

use crate::error::{validation, LambdaError, Result};

/// A function reference resolved from a name or ARN in a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The bare function name.
    pub name: String,
    /// A qualifier embedded in the name or ARN (`name:alias`).
    pub qualifier: Option<String>,
    /// An account embedded in the ARN.
    pub account: Option<String>,
    /// A region embedded in the ARN.
    pub region: Option<String>,
}

/// True when `s` is a valid bare function name (1-64 of `[a-zA-Z0-9-_]`).
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True when `s` is a valid qualifier (`$LATEST`, a version or alias name).
pub fn valid_qualifier(s: &str) -> bool {
    s == "$LATEST"
        || (!s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// True for a region name shaped like AWS's (`us-east-1`, `us-gov-west-1`).
pub fn valid_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

const NAME_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

impl FunctionRef {
    /// Parses `name`, `name:qualifier`, `123456789012:function:name[:q]` or a
    /// full ARN.
    pub fn parse(input: &str) -> Result<FunctionRef> {
        let bad = || {
            validation(
                input,
                "functionName",
                &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
            )
        };
        if input.is_empty() || input.len() > 170 {
            return Err(bad());
        }
        let parts: Vec<&str> = input.split(':').collect();
        let (account, region, name, qualifier) = match parts.as_slice() {
            [name] => (None, None, *name, None),
            [name, q] => (None, None, *name, Some(*q)),
            [acct, "function", name] => (Some(*acct), None, *name, None),
            [acct, "function", name, q] => (Some(*acct), None, *name, Some(*q)),
            ["arn", _, "lambda", region, acct, "function", name] => {
                (Some(*acct), Some(*region), *name, None)
            }
            ["arn", _, "lambda", region, acct, "function", name, q] => {
                (Some(*acct), Some(*region), *name, Some(*q))
            }
            _ => return Err(bad()),
        };
        if !valid_name(name) {
            return Err(bad());
        }
        if let Some(a) = account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
        }
        if let Some(q) = qualifier {
            if !valid_qualifier(q) {
                return Err(bad());
            }
        }
        if let Some(r) = region {
            if !valid_region(r) {
                return Err(bad());
            }
        }
        Ok(FunctionRef {
            name: name.to_string(),
            qualifier: qualifier.map(str::to_string),
            account: account.map(str::to_string),
            region: region.map(str::to_string),
        })
    }

    /// Combines the embedded qualifier with a `Qualifier` parameter: both must
    /// agree when both are present.
    pub fn with_qualifier(mut self, param: Option<String>) -> Result<FunctionRef> {
        match (&self.qualifier, param) {
            (Some(a), Some(b)) if *a != b => Err(LambdaError::InvalidParameter(
                "The derived qualifier from the function name does not match the specified qualifier."
                    .into(),
            )),
            (None, Some(b)) => {
                if !valid_qualifier(&b) {
                    return Err(validation(
                        &b,
                        "qualifier",
                        "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
                    ));
                }
                self.qualifier = Some(b);
                Ok(self)
            }
            _ => Ok(self),
        }
    }
}

/// `arn:aws:lambda:{region}:{account}:function:{name}`.
pub fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() -> Result<()> {
        assert_eq!(FunctionRef::parse("f")?.name, "f");
        let r = FunctionRef::parse("f:prod")?;
        assert_eq!(r.qualifier.as_deref(), Some("prod"));
        let r = FunctionRef::parse("123456789012:function:f:$LATEST")?;
        assert_eq!(r.account.as_deref(), Some("123456789012"));
        assert_eq!(r.qualifier.as_deref(), Some("$LATEST"));
        let r = FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:f:3")?;
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.qualifier.as_deref(), Some("3"));
        assert!(FunctionRef::parse("bad name").is_err());
        assert!(FunctionRef::parse("").is_err());
        assert!(FunctionRef::parse(&"x".repeat(65)).is_err());
        Ok(())
    }

    #[test]
    fn qualifier_conflict() {
        let r = FunctionRef::parse("f:a").and_then(|r| r.with_qualifier(Some("b".into())));
        assert!(matches!(r, Err(LambdaError::InvalidParameter(_))));
    }
}
