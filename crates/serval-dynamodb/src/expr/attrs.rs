//! ExpressionAttributeNames and ExpressionAttributeValues for one request:
//! checked once, looked up by every expression of the request, and asked at
//! the end which entries no expression used.

use crate::value::Value;
use std::cell::Cell;
use std::collections::BTreeMap;

/// The placeholders of one request and which of them were used.
#[derive(Debug, Default)]
pub struct Attrs {
    names: BTreeMap<String, (String, Cell<bool>)>,
    values: BTreeMap<String, (Value, Cell<bool>)>,
}

fn valid_key(key: &str, sigil: u8) -> bool {
    let b = key.as_bytes();
    b.len() > 1
        && b[0] == sigil
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl Attrs {
    /// No placeholders (a request without the two maps).
    pub fn none() -> Attrs {
        Attrs::default()
    }

    /// Checks the two maps as DynamoDB does before parsing any expression
    /// (values must already be valid attribute values; the caller reports
    /// a bad one as `ExpressionAttributeValues contains invalid value:
    /// {msg} for key {key}`).
    pub fn new(
        names: Option<BTreeMap<String, String>>,
        values: Option<BTreeMap<String, Value>>,
    ) -> Result<Attrs, String> {
        let mut out = Attrs::default();
        if let Some(names) = names {
            if names.is_empty() {
                return Err("ExpressionAttributeNames must not be empty".into());
            }
            for (k, v) in names {
                if !valid_key(&k, b'#') {
                    return Err(format!(
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{k}\""
                    ));
                }
                out.names.insert(k, (v, Cell::new(false)));
            }
        }
        if let Some(values) = values {
            if values.is_empty() {
                return Err("ExpressionAttributeValues must not be empty".into());
            }
            for (k, v) in values {
                if !valid_key(&k, b':') {
                    return Err(format!(
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
                    ));
                }
                out.values.insert(k, (v, Cell::new(false)));
            }
        }
        Ok(out)
    }

    /// The attribute name behind `#key`, marking it used.
    pub fn name(&self, key: &str) -> Option<&str> {
        let (v, used) = self.names.get(key)?;
        used.set(true);
        Some(v)
    }

    /// The value behind `:key`, marking it used.
    pub fn value(&self, key: &str) -> Option<&Value> {
        let (v, used) = self.values.get(key)?;
        used.set(true);
        Some(v)
    }

    /// After every expression of the request is parsed: DynamoDB refuses
    /// entries that no expression referred to.
    pub fn check_unused(&self) -> Result<(), String> {
        let unused_names: Vec<&str> = self
            .names
            .iter()
            .filter(|(_, (_, u))| !u.get())
            .map(|(k, _)| k.as_str())
            .collect();
        if !unused_names.is_empty() {
            return Err(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                unused_names.join(", ")
            ));
        }
        let unused_values: Vec<&str> = self
            .values
            .iter()
            .filter(|(_, (_, u))| !u.get())
            .map(|(k, _)| k.as_str())
            .collect();
        if !unused_values.is_empty() {
            return Err(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                unused_values.join(", ")
            ));
        }
        Ok(())
    }
}

/// Why a request's combination of expression parameters is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsError {
    /// Expression and non-expression parameters in one request.
    Mixed(String),
    /// ExpressionAttributeNames without any expression.
    NamesUnneeded,
    /// ExpressionAttributeValues without an expression that takes values;
    /// the detail names them (`ConditionExpression is null`).
    ValuesUnneeded(String),
}

impl ParamsError {
    /// The message; `detail` adds what the older wording says after the
    /// ExpressionAttributeValues sentence (`: ConditionExpression is null`).
    pub fn message(&self, detail: bool) -> String {
        match self {
            ParamsError::Mixed(m) => m.clone(),
            ParamsError::NamesUnneeded => {
                "ExpressionAttributeNames can only be specified when using expressions".into()
            }
            ParamsError::ValuesUnneeded(d) if detail => {
                format!(
                    "ExpressionAttributeValues can only be specified when using expressions: {d}"
                )
            }
            ParamsError::ValuesUnneeded(_) => {
                "ExpressionAttributeValues can only be specified when using expressions".into()
            }
        }
    }
}

/// DynamoDB's checks on which parameters a request combines, before any
/// expression is parsed. `expressions` and `legacy` list the operation's
/// parameters in DynamoDB's order (e.g. `ProjectionExpression`,
/// `FilterExpression`, `KeyConditionExpression` and `AttributesToGet`,
/// `QueryFilter`, `ConditionalOperator`, `KeyConditions`) with whether each
/// is present.
pub fn check_expression_params(
    expressions: &[(&str, bool)],
    legacy: &[(&str, bool)],
    has_names: bool,
    has_values: bool,
) -> Result<(), ParamsError> {
    let used: Vec<&str> = expressions
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| *n)
        .collect();
    if !used.is_empty() {
        let key_expr = expressions
            .iter()
            .any(|(n, p)| *n == "KeyConditionExpression" && *p);
        let legacy_used: Vec<&str> = legacy
            .iter()
            .filter(|(n, p)| *p && (key_expr || *n != "KeyConditions"))
            .map(|(n, _)| *n)
            .collect();
        if !legacy_used.is_empty() {
            return Err(ParamsError::Mixed(format!(
                "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
                legacy_used.join(", "),
                used.join(", ")
            )));
        }
    }
    if has_names && used.is_empty() {
        return Err(ParamsError::NamesUnneeded);
    }
    let value_exprs: Vec<&str> = expressions
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "ProjectionExpression")
        .collect();
    let any_value_expr = expressions
        .iter()
        .any(|(n, p)| *p && *n != "ProjectionExpression");
    if has_values && !value_exprs.is_empty() && !any_value_expr {
        return Err(ParamsError::ValuesUnneeded(format!(
            "{} {} null",
            value_exprs.join(" and "),
            if value_exprs.len() > 1 { "are" } else { "is" }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_keys_and_reports_unused() {
        let names = BTreeMap::from([("a".to_string(), "x".to_string())]);
        assert_eq!(
            Attrs::new(Some(names), None).err().as_deref(),
            Some("ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\"")
        );
        assert_eq!(
            Attrs::new(Some(BTreeMap::new()), None).err().as_deref(),
            Some("ExpressionAttributeNames must not be empty")
        );
        let values = BTreeMap::from([(":".to_string(), Value::Null)]);
        assert!(Attrs::new(None, Some(values)).is_err());
        let names = BTreeMap::from([
            ("#a".to_string(), "x".to_string()),
            ("#b".to_string(), "y".to_string()),
        ]);
        let values = BTreeMap::from([
            (":a".to_string(), Value::Null),
            (":b".to_string(), Value::Null),
        ]);
        let attrs = Attrs::new(Some(names), Some(values)).unwrap_or_default();
        assert_eq!(attrs.name("#a"), Some("x"));
        assert_eq!(attrs.name("#zz"), None);
        assert_eq!(
            attrs.check_unused().err().as_deref(),
            Some("Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}")
        );
        attrs.name("#b");
        assert_eq!(
            attrs.check_unused().err().as_deref(),
            Some(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :b}"
            )
        );
        attrs.value(":a");
        attrs.value(":b");
        assert_eq!(attrs.check_unused(), Ok(()));
    }

    #[test]
    fn refuses_mixed_parameters() {
        let e = check_expression_params(
            &[("ConditionExpression", true)],
            &[("Expected", true)],
            false,
            false,
        );
        assert_eq!(
            e.err().map(|e| e.message(true)).as_deref(),
            Some("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")
        );
        let query = |kce: bool, kc: bool, filter: bool| {
            check_expression_params(
                &[
                    ("ProjectionExpression", false),
                    ("FilterExpression", filter),
                    ("KeyConditionExpression", kce),
                ],
                &[("KeyConditions", kc)],
                false,
                true,
            )
        };
        assert_eq!(query(false, true, true), Ok(()));
        assert!(query(true, true, false).is_err());
        assert_eq!(
            query(false, true, false).err().map(|e| e.message(true)).as_deref(),
            Some("ExpressionAttributeValues can only be specified when using expressions: FilterExpression and KeyConditionExpression are null")
        );
        assert_eq!(
            query(false, true, false)
                .err()
                .map(|e| e.message(false))
                .as_deref(),
            Some("ExpressionAttributeValues can only be specified when using expressions")
        );
        assert_eq!(
            check_expression_params(&[("ConditionExpression", false)], &[], true, false).err(),
            Some(ParamsError::NamesUnneeded)
        );
    }
}
