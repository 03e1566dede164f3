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
    /// Further partition key attributes (multi-attribute GSI keys).
    pub more_hash: &'a [crate::model::KeyAttr],
    /// Further sort key attributes (multi-attribute GSI keys).
    pub more_range: &'a [crate::model::KeyAttr],
}

impl KeySchema<'_> {
    fn is_multi(&self) -> bool {
        !self.more_hash.is_empty() || !self.more_range.is_empty()
    }

    fn hash_attrs(&self) -> Vec<(&str, &str)> {
        std::iter::once(self.hash)
            .chain(
                self.more_hash
                    .iter()
                    .map(|a| (a.name.as_str(), a.ty.as_str())),
            )
            .collect()
    }

    fn range_attrs(&self) -> Vec<(&str, &str)> {
        self.range
            .into_iter()
            .chain(
                self.more_range
                    .iter()
                    .map(|a| (a.name.as_str(), a.ty.as_str())),
            )
            .collect()
    }
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
    /// Sort key name and its condition, if any (with a multi-attribute
    /// sort key: the last attribute the condition names).
    pub range: Option<(String, RangeCond)>,
    /// The further partition key attributes' values, in KeySchema order.
    pub more_hash: Vec<(String, Value)>,
    /// Equalities on the sort key attributes before `range`'s.
    pub range_eqs: Vec<(String, Value)>,
}

impl KeyCondition {
    /// Whether an item's key satisfies the condition.
    pub fn matches(&self, item: &Item) -> bool {
        let eq = |name: &String, want: &Value| item.get(name).is_some_and(|v| v.equals(want));
        eq(&self.hash_name, &self.hash)
            && self.more_hash.iter().all(|(n, v)| eq(n, v))
            && self.range_matches(item)
    }

    /// Whether an item satisfies the sort key part of the condition.
    pub fn range_matches(&self, item: &Item) -> bool {
        self.range_eqs
            .iter()
            .all(|(n, want)| item.get(n).is_some_and(|v| v.equals(want)))
            && match &self.range {
                None => true,
                Some((name, c)) => item.get(name).is_some_and(|v| c.matches(v)),
            }
    }

    /// The partition key values in KeySchema order.
    pub fn hash_values(&self) -> Vec<&Value> {
        std::iter::once(&self.hash)
            .chain(self.more_hash.iter().map(|(_, v)| v))
            .collect()
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
    let key_count = schema.hash_attrs().len() + schema.range_attrs().len();
    if preds.len() > key_count.max(2) {
        return Err(format!(
            "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({key_count})",
            preds.len(),
        ));
    }
    for p in &preds {
        super::legacy::check_operator(p.op, &p.values)?;
    }
    match_schema(preds, schema)
}

/// A key predicate's operator must be indexable and its values of the key's type.
fn check_pred(p: &KeyPred, ty: &str) -> Result<(), String> {
    if matches!(
        p.op,
        "NULL" | "NOT_NULL" | "NE" | "CONTAINS" | "NOT_CONTAINS" | "IN"
    ) {
        return Err("Attempted conditional constraint is not an indexable operation".into());
    }
    if p.values.iter().any(|v| v.type_name() != ty) {
        return Err("One or more parameter values were invalid: Condition parameter type does not match schema type".into());
    }
    Ok(())
}

/// Matches per-attribute predicates against the key schema.
pub(crate) fn match_schema(
    preds: Vec<KeyPred>,
    schema: &KeySchema<'_>,
) -> Result<KeyCondition, String> {
    if schema.is_multi() {
        return match_multi(preds, schema);
    }
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
        check_pred(p, ty)?;
        if is_hash && p.op != "EQ" {
            return Err("Query key condition not supported".into());
        }
    }
    let mut hash = None;
    let mut range = None;
    for p in preds {
        if p.attr == schema.hash.0 {
            hash = p.values.into_iter().next();
            continue;
        }
        range = Some((p.attr.clone(), range_cond(p)));
    }
    Ok(KeyCondition {
        hash_name: schema.hash.0.to_string(),
        hash: hash.unwrap_or(Value::Null),
        range,
        more_hash: Vec::new(),
        range_eqs: Vec::new(),
    })
}

fn range_cond(p: KeyPred) -> RangeCond {
    let mut vals = p.values.into_iter();
    let first = vals.next().unwrap_or(Value::Null);
    match p.op {
        "EQ" => RangeCond::Eq(first),
        "LT" => RangeCond::Lt(first),
        "LE" => RangeCond::Le(first),
        "GT" => RangeCond::Gt(first),
        "GE" => RangeCond::Ge(first),
        "BEGINS_WITH" => RangeCond::BeginsWith(first),
        _ => RangeCond::Between(first, vals.next().unwrap_or(Value::Null)),
    }
}

/// Matches predicates against a multi-attribute (GSI) key: an equality on
/// every HASH attribute, and conditions on a leading run of the RANGE
/// attributes, all equalities but the last.
fn match_multi(mut preds: Vec<KeyPred>, schema: &KeySchema<'_>) -> Result<KeyCondition, String> {
    let hashes = schema.hash_attrs();
    let ranges = schema.range_attrs();
    if preds.is_empty() {
        return Err("Conditions can be of length 1 or 2 only".into());
    }
    let key_count = hashes.len() + ranges.len();
    if preds.len() > key_count {
        return Err(format!(
            "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({key_count})",
            preds.len()
        ));
    }
    let key_type = |attr: &str| {
        hashes
            .iter()
            .chain(ranges.iter())
            .find(|(n, _)| *n == attr)
            .map(|(_, t)| *t)
    };
    for p in &preds {
        let Some(ty) = key_type(&p.attr) else {
            return Err("Query key condition not supported".into());
        };
        check_pred(p, ty)?;
    }
    let find = |preds: &[KeyPred], name: &str| preds.iter().position(|p| p.attr == name);
    let bad_hash: Vec<&str> = hashes
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| find(&preds, n).is_none_or(|i| preds[i].op != "EQ"))
        .collect();
    if !bad_hash.is_empty() {
        if hashes.len() == 1 {
            return Err(match find(&preds, bad_hash[0]) {
                None => format!("Query condition missed key schema element: {}", bad_hash[0]),
                Some(_) => "Query key condition not supported".into(),
            });
        }
        return Err(format!(
            "HASH key attributes {} must have equality conditions specified in the query",
            bad_hash.join(", ")
        ));
    }
    for (later, (name, _)) in ranges.iter().enumerate().skip(1) {
        if find(&preds, name).is_none() {
            continue;
        }
        let prior = ranges[..later]
            .iter()
            .map(|(n, _)| *n)
            .find(|n| find(&preds, n).is_none_or(|i| preds[i].op != "EQ"));
        if let Some(prior) = prior {
            return Err(format!(
                "RANGE key attributes {prior} must have equality conditions specified in the query because a condition is present on key attribute {name}"
            ));
        }
    }
    let mut take = |name: &str| {
        let i = find(&preds, name)?;
        Some(preds.swap_remove(i))
    };
    let mut hash_values = hashes.iter().map(|(n, _)| {
        (
            n.to_string(),
            take(n)
                .and_then(|p| p.values.into_iter().next())
                .unwrap_or(Value::Null),
        )
    });
    let (hash_name, hash) = hash_values
        .next()
        .unwrap_or_else(|| (String::new(), Value::Null));
    let more_hash: Vec<(String, Value)> = hash_values.collect();
    let mut named: Vec<(String, KeyPred)> = ranges
        .iter()
        .filter_map(|(n, _)| take(n).map(|p| (n.to_string(), p)))
        .collect();
    let range = named.pop().map(|(n, p)| (n, range_cond(p)));
    let range_eqs = named
        .into_iter()
        .map(|(n, p)| (n, p.values.into_iter().next().unwrap_or(Value::Null)))
        .collect();
    Ok(KeyCondition {
        hash_name,
        hash,
        range,
        more_hash,
        range_eqs,
    })
}
