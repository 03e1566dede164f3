//! The pre-expression parameters converted into the same trees: Expected,
//! QueryFilter / ScanFilter (with ConditionalOperator), KeyConditions,
//! AttributeUpdates and AttributesToGet, validated with DynamoDB's messages.

use super::ast::{Action, CmpOp, Cond, Operand, Path, SetValue};
use super::keycond::{match_schema, KeyCondition, KeyPred, KeySchema};
use super::project::Projection;
use super::update::Update;
use crate::value::Value;
use std::cmp::Ordering;

/// One entry of QueryFilter, ScanFilter or KeyConditions.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// ComparisonOperator (`EQ`, `BETWEEN`, ...).
    pub op: String,
    /// AttributeValueList (absent counts as empty).
    pub values: Vec<Value>,
}

/// One entry of Expected.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// `Value`.
    pub value: Option<Value>,
    /// `Exists`.
    pub exists: Option<bool>,
    /// `ComparisonOperator`.
    pub op: Option<String>,
    /// `AttributeValueList` (distinguishing absent from empty).
    pub values: Option<Vec<Value>>,
}

/// One entry of AttributeUpdates.
#[derive(Debug, Clone, Default)]
pub struct AttributeUpdate {
    /// `Action` (`PUT` when absent).
    pub action: Option<String>,
    /// `Value`.
    pub value: Option<Value>,
}

const INVALID: &str = "One or more parameter values were invalid: ";

fn arity_ok(op: &str, n: usize) -> Option<bool> {
    Some(match op {
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" | "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => {
            n == 1
        }
        "NULL" | "NOT_NULL" => n == 0,
        "IN" => n >= 1,
        "BETWEEN" => n == 2,
        _ => return None,
    })
}

fn allowed_types(op: &str) -> &'static [&'static str] {
    match op {
        "EQ" | "NE" => &["S", "N", "B", "SS", "NS", "BS", "L", "M", "BOOL", "NULL"],
        "BEGINS_WITH" => &["S", "B"],
        "NULL" | "NOT_NULL" => &[],
        _ => &["S", "N", "B"],
    }
}

/// DynamoDB's checks on one legacy condition (validateConditions).
pub(crate) fn check_operator(op: &str, values: &[Value]) -> Result<(), String> {
    match arity_ok(op, values.len()) {
        Some(true) => {}
        _ => {
            return Err(format!(
                "{INVALID}Invalid number of argument(s) for the {op} ComparisonOperator"
            ))
        }
    }
    if let Some(first) = values.first() {
        if values.iter().any(|v| v.type_name() != first.type_name()) {
            return Err(format!(
                "{INVALID}AttributeValues inside AttributeValueList must be of same type"
            ));
        }
    }
    let types = allowed_types(op);
    for v in values {
        if !types.contains(&v.type_name()) {
            return Err(format!(
                "{INVALID}ComparisonOperator {op} is not valid for {} AttributeValue type",
                v.type_name()
            ));
        }
    }
    if op == "BETWEEN" {
        if let [lo, hi] = values {
            if lo.compare(hi) == Some(Ordering::Greater) {
                return Err("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound".into());
            }
        }
    }
    Ok(())
}

/// The condition one legacy comparison stands for.
fn to_cond(attr: &str, op: &str, mut values: Vec<Value>) -> Cond {
    let path = Path::attr(attr);
    let a = || Operand::Path(path.clone());
    let mut take = || {
        Operand::Value(if values.is_empty() {
            Value::Null
        } else {
            values.remove(0)
        })
    };
    let cmp = |o: CmpOp, v: Operand| Cond::Cmp(o, Operand::Path(path.clone()), v);
    match op {
        "EQ" => cmp(CmpOp::Eq, take()),
        "NE" => cmp(CmpOp::Ne, take()),
        "LT" => cmp(CmpOp::Lt, take()),
        "LE" => cmp(CmpOp::Le, take()),
        "GT" => cmp(CmpOp::Gt, take()),
        "GE" => cmp(CmpOp::Ge, take()),
        "NULL" => Cond::NotExists(path.clone()),
        "NOT_NULL" => Cond::Exists(path.clone()),
        "CONTAINS" => Cond::Contains(a(), take()),
        // an absent attribute neither contains nor lacks anything
        "NOT_CONTAINS" => Cond::And(vec![
            Cond::Exists(path.clone()),
            Cond::Not(Box::new(Cond::Contains(a(), take()))),
        ]),
        "BEGINS_WITH" => Cond::BeginsWith(a(), take()),
        "IN" => Cond::In(a(), values.drain(..).map(Operand::Value).collect()),
        _ => {
            let lo = take();
            let hi = take();
            Cond::Between(a(), lo, hi)
        }
    }
}

fn combine(conds: Vec<Cond>, conditional_operator: Option<&str>) -> Cond {
    if conditional_operator == Some("OR") {
        Cond::Or(conds)
    } else {
        Cond::And(conds)
    }
}

/// QueryFilter or ScanFilter (with ConditionalOperator) as a condition.
pub fn filter(
    entries: &[(String, Condition)],
    conditional_operator: Option<&str>,
) -> Result<Cond, String> {
    let mut out = Vec::with_capacity(entries.len());
    for (attr, c) in entries {
        check_operator(&c.op, &c.values)?;
        out.push(to_cond(attr, &c.op, c.values.clone()));
    }
    Ok(combine(out, conditional_operator))
}

/// Expected (with ConditionalOperator) as a condition.
pub fn expected(
    entries: &[(String, Expected)],
    conditional_operator: Option<&str>,
) -> Result<Cond, String> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, e) in entries {
        if e.values.is_some() && e.value.is_some() {
            return Err(format!("{INVALID}Value and AttributeValueList cannot be used together for Attribute: {key}"));
        }
        if let Some(op) = &e.op {
            if e.exists.is_some() {
                return Err(format!("{INVALID}Exists and ComparisonOperator cannot be used together for Attribute: {key}"));
            }
            if op != "NULL" && op != "NOT_NULL" && e.values.is_none() && e.value.is_none() {
                return Err(format!("{INVALID}Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {key}"));
            }
            let values: Vec<Value> = match (&e.values, &e.value) {
                (Some(l), _) => l.clone(),
                (None, Some(v)) => vec![v.clone()],
                (None, None) => Vec::new(),
            };
            check_operator(op, &values)?;
            out.push(to_cond(key, op, values));
        } else if e.values.is_some() {
            return Err(format!("{INVALID}AttributeValueList can only be used with a ComparisonOperator for Attribute: {key}"));
        } else {
            let exists = e.exists.unwrap_or(true);
            match (exists, &e.value) {
                (true, None) => {
                    let shown = match e.exists {
                        None => "null",
                        Some(_) => "true",
                    };
                    return Err(format!("{INVALID}Value must be provided when Exists is {shown} for Attribute: {key}"));
                }
                (false, Some(_)) => {
                    return Err(format!(
                        "{INVALID}Value cannot be used when Exists is false for Attribute: {key}"
                    ))
                }
                (true, Some(v)) => out.push(to_cond(key, "EQ", vec![v.clone()])),
                (false, None) => out.push(Cond::NotExists(Path::attr(key.as_str()))),
            }
        }
    }
    Ok(combine(out, conditional_operator))
}

/// KeyConditions matched against the key schema.
pub fn key_conditions(
    entries: &[(String, Condition)],
    schema: &KeySchema<'_>,
) -> Result<KeyCondition, String> {
    let mut preds = Vec::with_capacity(entries.len());
    for (attr, c) in entries {
        check_operator(&c.op, &c.values)?;
        let op = match c.op.as_str() {
            "EQ" => "EQ",
            "NE" => "NE",
            "LT" => "LT",
            "LE" => "LE",
            "GT" => "GT",
            "GE" => "GE",
            "BETWEEN" => "BETWEEN",
            "BEGINS_WITH" => "BEGINS_WITH",
            "IN" => "IN",
            "CONTAINS" => "CONTAINS",
            "NOT_CONTAINS" => "NOT_CONTAINS",
            "NULL" => "NULL",
            _ => "NOT_NULL",
        };
        preds.push(KeyPred {
            attr: attr.clone(),
            op,
            values: c.values.clone(),
        });
    }
    match_schema(preds, schema)
}

/// AttributeUpdates as an update. DynamoDB's legacy semantics differ from
/// the expression ones only in `DELETE` without a value (removes the
/// attribute) and `ADD` of a list (appends), both mapped here.
pub fn attribute_updates(entries: &[(String, AttributeUpdate)]) -> Result<Update, String> {
    let mut actions = Vec::with_capacity(entries.len());
    for (attr, u) in entries {
        let path = Path::attr(attr.as_str());
        let action = u.action.as_deref().unwrap_or("PUT");
        actions.push(match (action, &u.value) {
            ("PUT", Some(v)) => Action::Set(path, SetValue::Value(v.clone())),
            ("PUT", None) => {
                return Err(format!("{INVALID}Only DELETE action is allowed when no attribute value is specified"))
            }
            ("DELETE", None) => Action::Remove(path),
            ("DELETE", Some(v)) => {
                if !matches!(v, Value::Ss(_) | Value::Ns(_) | Value::Bs(_)) {
                    return Err(format!("{INVALID}DELETE action with value is not supported for the type {}", v.type_name()));
                }
                Action::Delete(path, v.clone())
            }
            ("ADD", Some(Value::L(l))) => Action::Set(
                path.clone(),
                SetValue::ListAppend(
                    Box::new(SetValue::IfNotExists(path, Box::new(SetValue::Value(Value::L(Vec::new()))))),
                    Box::new(SetValue::Value(Value::L(l.clone()))),
                ),
            ),
            ("ADD", Some(v)) => {
                if !matches!(v, Value::N(_) | Value::Ss(_) | Value::Ns(_) | Value::Bs(_)) {
                    return Err(format!("{INVALID}ADD action is not supported for the type {}", v.type_name()));
                }
                Action::Add(path, v.clone())
            }
            ("ADD", None) => {
                return Err(format!("{INVALID}Only DELETE action is allowed when no attribute value is specified"))
            }
            (other, _) => {
                return Err(format!("1 validation error detected: Value '{other}' at 'attributeUpdates.{attr}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"))
            }
        });
    }
    Ok(Update { actions })
}

/// AttributesToGet as a projection.
pub fn attributes_to_get(names: &[String]) -> Result<Projection, String> {
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(format!("{INVALID}Duplicate value in attribute name: {n}"));
        }
    }
    Ok(Projection {
        paths: names.iter().map(|n| Path::attr(n.as_str())).collect(),
    })
}
