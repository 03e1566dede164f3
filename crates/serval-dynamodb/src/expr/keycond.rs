//! Key conditions: the restricted form a Query accepts (`hash = :v`, and
//! optionally one condition on the range key), from a KeyConditionExpression
//! or from legacy KeyConditions, matched against the key schema with
//! DynamoDB's messages.

use super::ast::{CmpOp, Cond, Operand, Path};
use crate::value::{Item, Value};
use std::cmp::Ordering;

/// The key schema of the table or index a Query reads: attribute names and
/// their scalar types (`S`, `N` or `B`).
#[derive(Debug, Clone, Copy)]
pub struct KeySchema<'a> {
    /// Partition key name and type.
    pub hash: (&'a str, &'a str),
    /// Sort key name and type, if any.
    pub range: Option<(&'a str, &'a str)>,
}

/// The condition on the sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeCond {
    /// `= v`
    Eq(Value),
    /// `< v`
    Lt(Value),
    /// `<= v`
    Le(Value),
    /// `> v`
    Gt(Value),
    /// `>= v`
    Ge(Value),
    /// `BETWEEN lo AND hi`
    Between(Value, Value),
    /// `begins_with(k, v)`
    BeginsWith(Value),
}

impl RangeCond {
    /// Whether a sort key value satisfies the condition.
    pub fn matches(&self, v: &Value) -> bool {
        let ord = |x: &Value| v.compare(x);
        match self {
            RangeCond::Eq(x) => ord(x) == Some(Ordering::Equal),
            RangeCond::Lt(x) => ord(x) == Some(Ordering::Less),
            RangeCond::Le(x) => matches!(ord(x), Some(Ordering::Less | Ordering::Equal)),
            RangeCond::Gt(x) => ord(x) == Some(Ordering::Greater),
            RangeCond::Ge(x) => matches!(ord(x), Some(Ordering::Greater | Ordering::Equal)),
            RangeCond::Between(lo, hi) => {
                matches!(ord(lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(ord(hi), Some(Ordering::Less | Ordering::Equal))
            }
            RangeCond::BeginsWith(p) => match (v, p) {
                (Value::S(s), Value::S(p)) => s.starts_with(p.as_str()),
                (Value::B(s), Value::B(p)) => s.starts_with(p),
                _ => false,
            },
        }
    }
}

/// A validated key condition.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCondition {
    /// Partition key name.
    pub hash_name: String,
    /// The partition key value to read.
    pub hash: Value,
    /// Sort key name and its condition, if any.
    pub range: Option<(String, RangeCond)>,
}

impl KeyCondition {
    /// Whether an item's key satisfies the condition.
    pub fn matches(&self, item: &Item) -> bool {
        let hash_ok = item
            .get(&self.hash_name)
            .is_some_and(|v| v.equals(&self.hash));
        hash_ok
            && match &self.range {
                None => true,
                Some((name, c)) => item.get(name).is_some_and(|v| c.matches(v)),
            }
    }
}

/// One condition on one attribute, in the legacy shape (`EQ`, values).
#[derive(Debug, Clone)]
pub(crate) struct KeyPred {
    pub attr: String,
    pub op: &'static str,
    pub values: Vec<Value>,
}

fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "EQ",
        CmpOp::Ne => "NE",
        CmpOp::Lt => "LT",
        CmpOp::Le => "LE",
        CmpOp::Gt => "GT",
        CmpOp::Ge => "GE",
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

const NESTED_OPS: &str = "KeyConditionExpressions cannot contain nested operations";

/// Collects the key attribute of one leaf: exactly one top-level path.
fn leaf_attr<'c>(operands: &[&'c Operand]) -> Result<(usize, &'c Path), String> {
    let mut found: Option<(usize, &Path)> = None;
    for (i, o) in operands.iter().enumerate() {
        match o {
            Operand::Path(p) => {
                if found.is_some() {
                    return Err("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition".into());
                }
                if p.is_nested() {
                    return Err(
                        "KeyConditionExpressions cannot have conditions on nested attributes"
                            .into(),
                    );
                }
                found = Some((i, p));
            }
            Operand::Size(_) => return Err(NESTED_OPS.into()),
            Operand::Value(_) => {}
        }
    }
    found.ok_or_else(|| {
        "Invalid condition in KeyConditionExpression: No key attribute specified".to_string()
    })
}

fn value_of(o: &Operand) -> Value {
    match o {
        Operand::Value(v) => v.clone(),
        _ => Value::Null,
    }
}

fn push(preds: &mut Vec<KeyPred>, p: KeyPred) -> Result<(), String> {
    if preds.iter().any(|q| q.attr == p.attr) {
        return Err(
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"
                .into(),
        );
    }
    preds.push(p);
    Ok(())
}

/// Flattens a key condition expression into per-attribute predicates.
fn collect(cond: &Cond, preds: &mut Vec<KeyPred>) -> Result<(), String> {
    let invalid = |what: &str| format!("Invalid operator used in KeyConditionExpression: {what}");
    let first_operand = |what: &str| {
        format!("Invalid condition in KeyConditionExpression: {what} operator must have the key attribute as its first operand")
    };
    match cond {
        Cond::And(items) => {
            for c in items {
                collect(c, preds)?;
            }
            Ok(())
        }
        Cond::Or(_) => Err(invalid("OR")),
        Cond::Not(_) => Err(invalid("NOT")),
        Cond::In(..) => Err(invalid("IN")),
        Cond::Cmp(CmpOp::Ne, ..) => Err(invalid("<>")),
        Cond::Exists(_) => Err(invalid("attribute_exists")),
        Cond::NotExists(_) => Err(invalid("attribute_not_exists")),
        Cond::Type(..) => Err(invalid("attribute_type")),
        Cond::Contains(..) => Err(invalid("contains")),
        Cond::Cmp(op, a, b) => {
            let (i, path) = leaf_attr(&[a, b])?;
            let (op, v) = if i == 0 {
                (*op, value_of(b))
            } else {
                (flip(*op), value_of(a))
            };
            push(
                preds,
                KeyPred {
                    attr: path.head().to_string(),
                    op: op_name(op),
                    values: vec![v],
                },
            )
        }
        Cond::Between(a, lo, hi) => {
            if !matches!(a, Operand::Path(_)) {
                if matches!(a, Operand::Size(_)) {
                    return Err(NESTED_OPS.into());
                }
                return Err(first_operand("BETWEEN"));
            }
            let (_, path) = leaf_attr(&[a, lo, hi])?;
            push(
                preds,
                KeyPred {
                    attr: path.head().to_string(),
                    op: "BETWEEN",
                    values: vec![value_of(lo), value_of(hi)],
                },
            )
        }
        Cond::BeginsWith(a, b) => {
            if !matches!(a, Operand::Path(_)) {
                if matches!(a, Operand::Size(_)) {
                    return Err(NESTED_OPS.into());
                }
                return Err(first_operand("begins_with"));
            }
            let (_, path) = leaf_attr(&[a, b])?;
            push(
                preds,
                KeyPred {
                    attr: path.head().to_string(),
                    op: "BEGINS_WITH",
                    values: vec![value_of(b)],
                },
            )
        }
    }
}

/// Converts a parsed KeyConditionExpression.
pub(crate) fn from_cond(cond: &Cond, schema: &KeySchema<'_>) -> Result<KeyCondition, String> {
    let mut preds = Vec::new();
    collect(cond, &mut preds)?;
    // (KeyConditions with too many entries get match_schema's older sentence.)
    if preds.len() > 2 {
        return Err(format!(
            "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({})",
            preds.len(),
            1 + usize::from(schema.range.is_some())
        ));
    }
    for p in &preds {
        super::legacy::check_operator(p.op, &p.values)?;
    }
    match_schema(preds, schema)
}

/// Matches per-attribute predicates against the key schema.
pub(crate) fn match_schema(
    preds: Vec<KeyPred>,
    schema: &KeySchema<'_>,
) -> Result<KeyCondition, String> {
    if preds.is_empty() || preds.len() > 2 {
        return Err("Conditions can be of length 1 or 2 only".into());
    }
    let n = preds.len();
    let keys = [Some((schema.hash, true)), schema.range.map(|r| (r, false))];
    for ((name, ty), is_hash) in keys.into_iter().flatten() {
        if is_hash && schema.range.is_none() && n > 1 {
            return Err("Query key condition not supported".into());
        }
        let Some(p) = preds.iter().find(|p| p.attr == name) else {
            if is_hash || n > 1 {
                return Err(format!("Query condition missed key schema element: {name}"));
            }
            continue;
        };
        if matches!(
            p.op,
            "NULL" | "NOT_NULL" | "NE" | "CONTAINS" | "NOT_CONTAINS" | "IN"
        ) {
            return Err("Attempted conditional constraint is not an indexable operation".into());
        }
        if p.values.iter().any(|v| v.type_name() != ty) {
            return Err("One or more parameter values were invalid: Condition parameter type does not match schema type".into());
        }
        if is_hash && p.op != "EQ" {
            return Err("Query key condition not supported".into());
        }
    }
    let mut hash = None;
    let mut range = None;
    for p in preds {
        let mut vals = p.values.into_iter();
        let first = vals.next().unwrap_or(Value::Null);
        if p.attr == schema.hash.0 {
            hash = Some(first);
            continue;
        }
        let c = match p.op {
            "EQ" => RangeCond::Eq(first),
            "LT" => RangeCond::Lt(first),
            "LE" => RangeCond::Le(first),
            "GT" => RangeCond::Gt(first),
            "GE" => RangeCond::Ge(first),
            "BEGINS_WITH" => RangeCond::BeginsWith(first),
            _ => RangeCond::Between(first, vals.next().unwrap_or(Value::Null)),
        };
        range = Some((p.attr, c));
    }
    Ok(KeyCondition {
        hash_name: schema.hash.0.to_string(),
        hash: hash.unwrap_or(Value::Null),
        range,
    })
}
