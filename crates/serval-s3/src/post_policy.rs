//! POST policy documents (browser form uploads): parsing the base64 JSON
//! policy and checking a form against it, with S3's error texts. Pure
//! functions: the form reading and the upload live in `ops::post`.

use crate::error::{self, Result};
use base64::Engine;
use serval_core::AwsError;

/// One condition of a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `{"field": "value"}` or `["eq", "$field", "value"]`.
    Eq {
        /// Field name, lower-case, without `$`.
        field: String,
        /// Required value.
        value: String,
        /// How S3 quotes the condition in its error message.
        shown: String,
    },
    /// `["starts-with", "$field", "prefix"]`.
    StartsWith {
        /// Field name, lower-case, without `$`.
        field: String,
        /// Required prefix (empty: anything).
        prefix: String,
        /// How S3 quotes the condition in its error message.
        shown: String,
    },
    /// `["content-length-range", min, max]`.
    LengthRange {
        /// Smallest size allowed.
        min: u64,
        /// Largest size allowed.
        max: u64,
    },
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Expiration, epoch ms.
    pub expiration: u64,
    /// Conditions, in order.
    pub conditions: Vec<Condition>,
}

fn invalid_policy(detail: &str) -> AwsError {
    AwsError::new(
        "InvalidPolicyDocument",
        400,
        format!("Invalid Policy: {detail}"),
    )
}

fn denied(detail: &str) -> AwsError {
    error::access_denied(&format!("Invalid according to Policy: {detail}"))
}

/// Parses an ISO 8601 UTC time (`2024-01-01T12:00:00.000Z`, milliseconds optional) to epoch ms.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let (main, frac) = match s.strip_suffix('Z')?.split_once('.') {
        Some((m, f)) => (m, f),
        None => (s.strip_suffix('Z')?, ""),
    };
    let compact: String = main.chars().filter(|c| *c != '-' && *c != ':').collect();
    let secs = crate::presign::amz_date(&format!("{compact}Z"))?;
    let ms = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        if !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u64>().ok()? * 10u64.pow(3 - digits.len() as u32)
    };
    Some(secs * 1000 + ms)
}

fn field_of(s: &str) -> String {
    s.trim_start_matches('$').to_ascii_lowercase()
}

fn shown(op: &str, field: &str, value: &str) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!("[{}, {}, {}]", q(op), q(field), q(value))
}

fn number(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Decodes and parses the `policy` form field.
pub fn parse(b64: &str) -> Result<Policy> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim().as_bytes())
        .map_err(|_| invalid_policy("Invalid JSON."))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|_| invalid_policy("Invalid JSON."))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| invalid_policy("Invalid JSON."))?;
    let exp = obj
        .get("expiration")
        .ok_or_else(|| invalid_policy("Policy missing expiration."))?;
    let expiration = exp
        .as_str()
        .and_then(parse_iso8601)
        .ok_or_else(|| invalid_policy(&format!("Invalid 'expiration' value: {exp}")))?;
    let list = obj
        .get("conditions")
        .ok_or_else(|| invalid_policy("Policy missing conditions."))?
        .as_array()
        .ok_or_else(|| invalid_policy("Invalid 'conditions' value: must be a list."))?;
    let mut conditions = Vec::new();
    for c in list {
        match c {
            serde_json::Value::Object(m) => {
                if m.len() != 1 {
                    return Err(invalid_policy(&format!(
                        "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified. {c}"
                    )));
                }
                for (k, v) in m {
                    let value = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.to_string(),
                        _ => {
                            return Err(invalid_policy(&format!(
                                "Invalid Simple-Condition: value must be a string. {c}"
                            )))
                        }
                    };
                    conditions.push(Condition::Eq {
                        shown: shown("eq", &format!("${k}"), &value),
                        field: field_of(k),
                        value,
                    });
                }
            }
            serde_json::Value::Array(a) => {
                let op = a
                    .first()
                    .and_then(|o| o.as_str())
                    .map(str::to_ascii_lowercase);
                match (op.as_deref(), a.len()) {
                    (Some("content-length-range"), 3) => {
                        let (Some(min), Some(max)) = (number(&a[1]), number(&a[2])) else {
                            return Err(invalid_policy(&format!(
                                "Invalid content-length-range: {c}"
                            )));
                        };
                        conditions.push(Condition::LengthRange { min, max });
                    }
                    (Some(op @ ("eq" | "starts-with")), 3) => {
                        let (Some(f), Some(v)) = (a[1].as_str(), a[2].as_str()) else {
                            return Err(invalid_policy(&format!("Invalid Condition: {c}")));
                        };
                        if !f.starts_with('$') {
                            return Err(invalid_policy(&format!(
                                "Condition field name must start with '$': {c}"
                            )));
                        }
                        let field = field_of(f);
                        let s = shown(op, f, v);
                        conditions.push(if op == "eq" {
                            Condition::Eq {
                                field,
                                value: v.to_string(),
                                shown: s,
                            }
                        } else {
                            Condition::StartsWith {
                                field,
                                prefix: v.to_string(),
                                shown: s,
                            }
                        });
                    }
                    _ => {
                        return Err(invalid_policy(&format!(
                            "Invalid Condition: unknown or malformed condition: {c}"
                        )))
                    }
                }
            }
            _ => return Err(invalid_policy(&format!("Invalid Condition: {c}"))),
        }
    }
    Ok(Policy {
        expiration,
        conditions,
    })
}

/// Form fields that never need a condition (S3's list, SigV2 and SigV4).
fn exempt(name: &str) -> bool {
    matches!(
        name,
        "policy" | "x-amz-signature" | "signature" | "awsaccesskeyid" | "file"
    ) || name.starts_with("x-ignore-")
}

/// Checks the form (`fields`: lower-case name, value) against the policy at
/// `now` (epoch ms): expiry, every condition, and no field left unchecked.
/// The bucket condition is checked against the bucket the form was posted to.
pub fn check(policy: &Policy, fields: &[(String, String)], bucket: &str, now: u64) -> Result<()> {
    if now > policy.expiration {
        return Err(denied("Policy expired."));
    }
    let get = |name: &str| -> Option<&str> {
        if name == "bucket" {
            return Some(bucket);
        }
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    for c in &policy.conditions {
        match c {
            Condition::Eq {
                field,
                value,
                shown,
            } => {
                if get(field) != Some(value.as_str()) {
                    return Err(denied(&format!("Policy Condition failed: {shown}")));
                }
            }
            Condition::StartsWith {
                field,
                prefix,
                shown,
            } => {
                let ok = match get(field) {
                    // Content-Type may list several types, each checked.
                    Some(v) if field == "content-type" => {
                        v.split(',').all(|t| t.trim().starts_with(prefix.as_str()))
                    }
                    Some(v) => v.starts_with(prefix.as_str()),
                    None => false,
                };
                if !ok {
                    return Err(denied(&format!("Policy Condition failed: {shown}")));
                }
            }
            Condition::LengthRange { .. } => {}
        }
    }
    for (name, _) in fields {
        if exempt(name) {
            continue;
        }
        let covered = policy.conditions.iter().any(|c| match c {
            Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => field == name,
            Condition::LengthRange { .. } => false,
        });
        if !covered {
            return Err(denied(&format!("Extra input fields: {name}")));
        }
    }
    Ok(())
}

/// The largest size the policy's `content-length-range` conditions allow.
pub fn max_size(policy: &Policy) -> Option<u64> {
    policy
        .conditions
        .iter()
        .filter_map(|c| match c {
            Condition::LengthRange { max, .. } => Some(*max),
            _ => None,
        })
        .min()
}

/// EntityTooSmall / EntityTooLarge when `size` is outside a `content-length-range`.
pub fn check_size(policy: &Policy, size: u64) -> Result<()> {
    for c in &policy.conditions {
        if let Condition::LengthRange { min, max } = c {
            if size < *min {
                return Err(AwsError::new(
                    "EntityTooSmall",
                    400,
                    "Your proposed upload is smaller than the minimum allowed size",
                )
                .with_field("ProposedSize", size.to_string().into())
                .with_field("MinSizeAllowed", min.to_string().into()));
            }
            if size > *max {
                return Err(error::entity_too_large(size, *max));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(doc: &serde_json::Value) -> String {
        base64::engine::general_purpose::STANDARD.encode(doc.to_string())
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn policy() -> Policy {
        parse(&enc(&serde_json::json!({
            "expiration": "2030-01-01T00:00:00.000Z",
            "conditions": [
                {"bucket": "b"},
                ["starts-with", "$key", "uploads/"],
                {"acl": "private"},
                ["eq", "$Content-Type", "image/png"],
                ["starts-with", "$x-amz-meta-tag", ""],
                ["content-length-range", 10, 100]
            ]
        })))
        .expect("parses")
    }

    #[test]
    fn parses_every_condition_form() {
        let p = policy();
        assert_eq!(p.expiration, parse_iso8601("2030-01-01T00:00:00Z").unwrap());
        assert_eq!(p.conditions.len(), 6);
        assert_eq!(
            p.conditions[1],
            Condition::StartsWith {
                field: "key".into(),
                prefix: "uploads/".into(),
                shown: r#"["starts-with", "$key", "uploads/"]"#.into()
            }
        );
        assert_eq!(
            p.conditions[5],
            Condition::LengthRange { min: 10, max: 100 }
        );
        assert_eq!(max_size(&p), Some(100));
    }

    #[test]
    fn accepts_a_matching_form() {
        let f = fields(&[
            ("key", "uploads/${filename}"),
            ("acl", "private"),
            ("content-type", "image/png"),
            ("x-amz-meta-tag", "anything"),
            ("policy", "..."),
            ("x-amz-signature", "sig"),
            ("x-ignore-me", "1"),
        ]);
        check(&policy(), &f, "b", 0).expect("allowed");
    }

    #[test]
    fn condition_failures_quote_the_condition() {
        let base = [
            ("key", "uploads/a"),
            ("acl", "private"),
            ("x-amz-meta-tag", ""),
            ("content-type", "image/png"),
        ];
        let mut f = fields(&base);
        f[0].1 = "other/a".into();
        let e = check(&policy(), &f, "b", 0).unwrap_err();
        assert_eq!(e.code, "AccessDenied");
        assert_eq!(
            e.message,
            r#"Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "uploads/"]"#
        );
        let e = check(&policy(), &fields(&base), "other", 0).unwrap_err();
        assert!(
            e.message.ends_with(r#"["eq", "$bucket", "b"]"#),
            "{}",
            e.message
        );
        let mut f = fields(&base);
        f[3].1 = "text/plain".into();
        let e = check(&policy(), &f, "b", 0).unwrap_err();
        assert!(e
            .message
            .ends_with(r#"["eq", "$Content-Type", "image/png"]"#));
        let mut f = fields(&base);
        f.push(("x-amz-meta-other".into(), "1".into()));
        let e = check(&policy(), &f, "b", 0).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid according to Policy: Extra input fields: x-amz-meta-other"
        );
        // A condition on a field the form lacks fails too.
        let e = check(&policy(), &fields(&base[..3]), "b", 0).unwrap_err();
        assert!(e.message.contains("Content-Type"));
    }

    #[test]
    fn expiry_and_size() {
        let p = policy();
        let f = fields(&[("key", "uploads/a")]);
        let e = check(&p, &f, "b", p.expiration + 1).unwrap_err();
        assert_eq!(e.message, "Invalid according to Policy: Policy expired.");
        assert_eq!(check_size(&p, 9).unwrap_err().code, "EntityTooSmall");
        assert_eq!(check_size(&p, 101).unwrap_err().code, "EntityTooLarge");
        check_size(&p, 10).expect("min is inclusive");
        check_size(&p, 100).expect("max is inclusive");
    }

    #[test]
    fn malformed_policies() {
        let code = |s: &str| parse(s).unwrap_err().message;
        assert_eq!(code("!!"), "Invalid Policy: Invalid JSON.");
        assert_eq!(
            code(&enc(&serde_json::json!({"conditions": []}))),
            "Invalid Policy: Policy missing expiration."
        );
        assert_eq!(
            code(&enc(
                &serde_json::json!({"expiration": "2030-01-01T00:00:00Z"})
            )),
            "Invalid Policy: Policy missing conditions."
        );
        assert!(parse(&enc(&serde_json::json!({
            "expiration": "2030-01-01T00:00:00Z", "conditions": [["between", "$key", "a"]]
        })))
        .is_err());
        assert!(parse(&enc(&serde_json::json!({
            "expiration": "soon", "conditions": []
        })))
        .is_err());
    }
}
