//! SNS subscription filter policies: parsing with SNS's validation
//! messages, and matching against message attributes
//! (`FilterPolicyScope=MessageAttributes`) or a JSON message body
//! (`MessageBody`).
//!
//! The language: a policy is a JSON object whose keys name attributes (or,
//! on bodies, properties, nested objects naming nested properties); each
//! value is an array of conditions, any of which may match (OR), and every
//! key must match (AND). `$or` takes an array of sub-policies. Conditions
//! are exact strings, numbers, booleans and `null` (bodies), and objects:
//! `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a
//! list, or `{prefix|suffix: ..}`), `numeric` (`=`, or up to one lower and
//! one upper bound), `exists`, `cidr`. SNS differs from EventBridge in the
//! details: numeric conditions match only numbers (Number attributes, JSON
//! numbers), a string condition never matches a Number attribute, Binary
//! attributes match nothing but `exists`, String.Array attributes match
//! when any element does, and limits of 5 keys and 150 combinations.

use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Where a filter policy looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Message attributes (the default).
    MessageAttributes,
    /// The message body, read as JSON.
    MessageBody,
}

impl Scope {
    /// Parses a `FilterPolicyScope` value.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "MessageAttributes" => Some(Scope::MessageAttributes),
            "MessageBody" => Some(Scope::MessageBody),
            _ => None,
        }
    }
}

/// A compiled filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Every entry must match.
    node: Node,
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// key -> conditions (any) or a nested node.
    fields: Vec<(String, Field)>,
    /// `$or` alternatives: at least one must match (each in addition to `fields`).
    ors: Vec<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Conds(Vec<Cond>),
    Nested(Node),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Prefix(String),
    Suffix(String),
    IgnoreCase(String),
    AnythingBut(Vec<Cond>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Numeric(Option<(bool, f64)>, Option<(bool, f64)>, Option<f64>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

/// A value being filtered: a message attribute or a body property.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (String attributes, JSON strings).
    Str(String),
    /// A number (Number attributes, JSON numbers).
    Num(f64),
    /// A boolean (JSON).
    Bool(bool),
    /// JSON null.
    Null,
    /// Something that only `exists` matches (Binary attributes, objects).
    Opaque,
}

/// A message attribute as the matcher sees it: its type and value.
#[derive(Debug, Clone)]
pub struct Attr<'a> {
    /// `String`, `Number`, `Binary`, `String.Array` (possibly with a `.label`).
    pub data_type: &'a str,
    /// The value (String/Number/String.Array text).
    pub value: Option<&'a str>,
}

fn err(msg: impl std::fmt::Display) -> String {
    format!("Invalid parameter: FilterPolicy: {msg}")
}

const MAX_KEYS: usize = 5;
const MAX_COMBINATIONS: usize = 150;
const MAX_DEPTH: usize = 10;

impl Policy {
    /// Parses and validates a policy for a scope; the error is SNS's message.
    pub fn parse(text: &str, scope: Scope) -> Result<Policy, String> {
        let doc: Json =
            serde_json::from_str(text).map_err(|e| err(format!("failed to parse JSON. {e}")))?;
        let Json::Object(obj) = doc else {
            return Err(err("Filter policy must be a JSON object"));
        };
        let node = parse_node(&obj, scope, 0)?;
        let keys = count_keys(&node);
        if keys > MAX_KEYS {
            return Err(err(format!(
                "Filter policy can not have more than {MAX_KEYS} keys"
            )));
        }
        if combinations(&node) > MAX_COMBINATIONS {
            return Err(err("Filter policy is too complex"));
        }
        Ok(Policy { node })
    }

    /// Whether message attributes match.
    pub fn matches_attributes(&self, attrs: &BTreeMap<String, Attr<'_>>) -> bool {
        let lookup = |key: &str| -> Option<Vec<Value>> {
            let a = attrs.get(key)?;
            Some(attr_values(a))
        };
        node_matches_flat(&self.node, &lookup)
    }

    /// Whether a message body matches (a body that is not a JSON object matches nothing).
    pub fn matches_body(&self, body: &str) -> bool {
        match serde_json::from_str::<Json>(body) {
            Ok(Json::Object(obj)) => node_matches_json(&self.node, &obj),
            _ => false,
        }
    }
}

fn attr_values(a: &Attr<'_>) -> Vec<Value> {
    let base = a.data_type.split('.').next().unwrap_or_default();
    let Some(v) = a.value else {
        return vec![Value::Opaque];
    };
    if a.data_type == "String.Array" {
        return match serde_json::from_str::<Json>(v) {
            Ok(Json::Array(items)) => items.iter().map(json_scalar).collect(),
            _ => vec![Value::Opaque],
        };
    }
    match base {
        "String" => vec![Value::Str(v.to_string())],
        "Number" => match v.trim().parse::<f64>() {
            Ok(n) => vec![Value::Num(n)],
            Err(_) => vec![Value::Opaque],
        },
        _ => vec![Value::Opaque],
    }
}

fn json_scalar(v: &Json) -> Value {
    match v {
        Json::String(s) => Value::Str(s.clone()),
        Json::Number(n) => n.as_f64().map(Value::Num).unwrap_or(Value::Opaque),
        Json::Bool(b) => Value::Bool(*b),
        Json::Null => Value::Null,
        _ => Value::Opaque,
    }
}

fn count_keys(node: &Node) -> usize {
    let mut n = 0;
    for (_, f) in &node.fields {
        match f {
            Field::Conds(_) => n += 1,
            Field::Nested(inner) => n += count_keys(inner),
        }
    }
    for alts in &node.ors {
        n += alts.iter().map(count_keys).max().unwrap_or(0);
    }
    n
}

fn combinations(node: &Node) -> usize {
    let mut total: usize = 1;
    for (_, f) in &node.fields {
        let c = match f {
            Field::Conds(c) => c.len().max(1),
            Field::Nested(inner) => combinations(inner),
        };
        total = total.saturating_mul(c);
    }
    for alts in &node.ors {
        let sum: usize = alts.iter().map(combinations).sum();
        total = total.saturating_mul(sum.max(1));
    }
    total
}

fn parse_node(obj: &Map<String, Json>, scope: Scope, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(err("Filter policy is too complex"));
    }
    if obj.is_empty() && depth > 0 {
        return Err(err("Empty objects are not allowed"));
    }
    let mut node = Node {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in obj {
        if key == "$or" {
            let Json::Array(alts) = value else {
                return Err(err("\"$or\" must be an array of objects"));
            };
            if alts.len() < 2 {
                return Err(err("\"$or\" must have at least 2 elements"));
            }
            let mut parsed = Vec::new();
            for alt in alts {
                let Json::Object(o) = alt else {
                    return Err(err("\"$or\" must be an array of objects"));
                };
                parsed.push(parse_node(o, scope, depth + 1)?);
            }
            node.ors.push(parsed);
            continue;
        }
        match value {
            Json::Array(items) => {
                if items.is_empty() {
                    return Err(err(format!("Empty arrays are not allowed ({key})")));
                }
                let conds = items
                    .iter()
                    .map(parse_cond)
                    .collect::<Result<Vec<_>, _>>()?;
                node.fields.push((key.clone(), Field::Conds(conds)));
            }
            Json::Object(inner) => {
                if scope == Scope::MessageAttributes {
                    return Err(
                        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
                            .to_string(),
                    );
                }
                node.fields.push((
                    key.clone(),
                    Field::Nested(parse_node(inner, scope, depth + 1)?),
                ));
            }
            _ => return Err(err(format!("\"{key}\" must be an object or an array"))),
        }
    }
    Ok(node)
}

fn num_of(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn check_range(n: f64) -> Result<f64, String> {
    if !(-1.0e9..=1.0e9).contains(&n) {
        return Err(err(format!(
            "Numeric value must be between -1.0E9 and 1.0E9, inclusive: {n}"
        )));
    }
    Ok(n)
}

fn parse_cond(c: &Json) -> Result<Cond, String> {
    match c {
        Json::String(s) => Ok(Cond::Str(s.clone())),
        Json::Number(n) => Ok(Cond::Num(check_range(n.as_f64().unwrap_or(f64::NAN))?)),
        // Booleans never match an attribute (attributes are strings and
        // numbers), but SNS accepts them in either scope.
        Json::Bool(b) => Ok(Cond::Bool(*b)),
        Json::Null => Ok(Cond::Null),
        Json::Array(_) => Err(err(
            "Match value must be String, number, true, false, or null",
        )),
        Json::Object(o) => {
            if o.len() != 1 {
                return Err(err("Only one key allowed in match expression"));
            }
            let Some((op, arg)) = o.iter().next() else {
                return Err(err("Empty objects are not allowed"));
            };
            match op.as_str() {
                "prefix" => match arg {
                    Json::String(s) => Ok(Cond::Prefix(s.clone())),
                    _ => Err(err("prefix match pattern must be a string")),
                },
                "suffix" => match arg {
                    Json::String(s) => Ok(Cond::Suffix(s.clone())),
                    _ => Err(err("suffix match pattern must be a string")),
                },
                "equals-ignore-case" => match arg {
                    Json::String(s) => Ok(Cond::IgnoreCase(s.clone())),
                    _ => Err(err("equals-ignore-case match pattern must be a string")),
                },
                "exists" => match arg {
                    Json::Bool(b) => Ok(Cond::Exists(*b)),
                    _ => Err(err("exists match pattern must be either true or false.")),
                },
                "anything-but" => parse_anything_but(arg),
                "numeric" => parse_numeric(arg),
                "cidr" => parse_cidr(arg),
                other => Err(err(format!("Unrecognized match type {other}"))),
            }
        }
    }
}

fn parse_anything_but(arg: &Json) -> Result<Cond, String> {
    match arg {
        Json::String(s) => Ok(Cond::AnythingBut(vec![Cond::Str(s.clone())])),
        Json::Number(n) => Ok(Cond::AnythingBut(vec![Cond::Num(check_range(
            n.as_f64().unwrap_or(f64::NAN),
        )?)])),
        Json::Array(items) => {
            if items.is_empty() {
                return Err(err("Empty arrays are not allowed"));
            }
            let mut v = Vec::new();
            for i in items {
                match i {
                    Json::String(s) => v.push(Cond::Str(s.clone())),
                    Json::Number(n) => {
                        v.push(Cond::Num(check_range(n.as_f64().unwrap_or(f64::NAN))?))
                    }
                    _ => {
                        return Err(err(
                            "Inside anything but list, start|null|boolean is not supported.",
                        ))
                    }
                }
            }
            Ok(Cond::AnythingBut(v))
        }
        Json::Object(o) => {
            if o.len() != 1 {
                return Err(err("Only one key allowed in match expression"));
            }
            match o.iter().next() {
                Some((k, Json::String(s))) if k == "prefix" => {
                    Ok(Cond::AnythingButPrefix(s.clone()))
                }
                Some((k, Json::String(s))) if k == "suffix" => {
                    Ok(Cond::AnythingButSuffix(s.clone()))
                }
                Some((k, _)) if k == "prefix" || k == "suffix" => {
                    Err(err(format!("{k} match pattern must be a string")))
                }
                Some((k, _)) => Err(err(format!("Unsupported anything-but pattern: {k}"))),
                None => Err(err("Empty objects are not allowed")),
            }
        }
        _ => Err(err(
            "anything-but: Value must be String, number, or an array of them",
        )),
    }
}

fn parse_numeric(arg: &Json) -> Result<Cond, String> {
    let Json::Array(items) = arg else {
        return Err(err("Value of numeric must be an array."));
    };
    if items.is_empty() {
        return Err(err("Invalid member in numeric match: ]"));
    }
    if items.len() > 4 {
        return Err(err("Too many elements in numeric expression"));
    }
    let mut lower: Option<(bool, f64)> = None;
    let mut upper: Option<(bool, f64)> = None;
    let mut eq: Option<f64> = None;
    let mut i = 0;
    while i < items.len() {
        let Json::String(op) = &items[i] else {
            return Err(err(format!(
                "Invalid member in numeric match: {}",
                items[i]
            )));
        };
        let Some(v) = items.get(i + 1) else {
            return Err(err(format!("Value of {op} must be numeric")));
        };
        let Some(n) = num_of(v) else {
            return Err(err(format!("Value of {op} must be numeric")));
        };
        let n = check_range(n)?;
        match op.as_str() {
            "=" => {
                if items.len() != 2 {
                    return Err(err("Too many elements in numeric expression"));
                }
                eq = Some(n);
            }
            ">" | ">=" => {
                if lower.is_some() || upper.is_some() || i != 0 {
                    return Err(err(format!("Bad numeric range operator: {op}")));
                }
                lower = Some((op == ">=", n));
            }
            "<" | "<=" => {
                if upper.is_some() {
                    return Err(err(format!("Bad numeric range operator: {op}")));
                }
                if let Some((_, lo)) = lower {
                    if n <= lo {
                        return Err(err("Bottom must be less than top"));
                    }
                }
                upper = Some((op == "<=", n));
            }
            other => return Err(err(format!("Unrecognized numeric range operator: {other}"))),
        }
        i += 2;
    }
    Ok(Cond::Numeric(lower, upper, eq))
}

fn parse_cidr(arg: &Json) -> Result<Cond, String> {
    let Json::String(s) = arg else {
        return Err(err("prefix match pattern must be a string"));
    };
    let Some((ip, bits)) = s.split_once('/') else {
        return Err(err("Malformed CIDR, one '/' required"));
    };
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| err(format!("Nonstandard IP address: {ip}")))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u8 = bits.parse().ok().filter(|b| *b <= max).ok_or_else(|| {
        err(format!(
            "Malformed CIDR, mask bits must be an integer between 0 and {max}"
        ))
    })?;
    Ok(Cond::Cidr(ip, bits))
}

fn in_cidr(net: &IpAddr, bits: u8, s: &str) -> bool {
    let Ok(ip) = s.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(*n) & mask) == (u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            (u128::from(*n) & mask) == (u128::from(a) & mask)
        }
        _ => false,
    }
}

/// Whether one value matches one condition (`exists` is handled by the caller).
fn cond_matches(c: &Cond, v: &Value) -> bool {
    match (c, v) {
        (Cond::Str(s), Value::Str(x)) => s == x,
        (Cond::Num(n), Value::Num(x)) => (n - x).abs() < 1e-9,
        (Cond::Bool(b), Value::Bool(x)) => b == x,
        (Cond::Null, Value::Null) => true,
        (Cond::Prefix(p), Value::Str(x)) => x.starts_with(p.as_str()),
        (Cond::Suffix(p), Value::Str(x)) => x.ends_with(p.as_str()),
        (Cond::IgnoreCase(p), Value::Str(x)) => p.to_lowercase() == x.to_lowercase(),
        (Cond::AnythingBut(list), Value::Str(_) | Value::Num(_)) => {
            !list.iter().any(|c| cond_matches(c, v))
        }
        (Cond::AnythingButPrefix(p), Value::Str(x)) => !x.starts_with(p.as_str()),
        (Cond::AnythingButSuffix(p), Value::Str(x)) => !x.ends_with(p.as_str()),
        (Cond::Numeric(lower, upper, eq), Value::Num(x)) => {
            if let Some(e) = eq {
                return (e - x).abs() < 1e-9;
            }
            let lo_ok = match lower {
                Some((true, l)) => x >= l,
                Some((false, l)) => x > l,
                None => true,
            };
            let hi_ok = match upper {
                Some((true, h)) => x <= h,
                Some((false, h)) => x < h,
                None => true,
            };
            lo_ok && hi_ok
        }
        (Cond::Cidr(net, bits), Value::Str(x)) => in_cidr(net, *bits, x),
        _ => false,
    }
}

/// Whether any condition matches a key that is `values` (None: absent).
fn conds_match(conds: &[Cond], values: Option<&[Value]>) -> bool {
    conds.iter().any(|c| match c {
        Cond::Exists(want) => *want == values.is_some(),
        _ => values.is_some_and(|vs| vs.iter().any(|v| cond_matches(c, v))),
    })
}

fn node_matches_flat(node: &Node, lookup: &dyn Fn(&str) -> Option<Vec<Value>>) -> bool {
    for (key, field) in &node.fields {
        let Field::Conds(conds) = field else {
            return false;
        };
        let vals = lookup(key);
        if !conds_match(conds, vals.as_deref()) {
            return false;
        }
    }
    node.ors
        .iter()
        .all(|alts| alts.iter().any(|n| node_matches_flat(n, lookup)))
}

/// The values at `key` of a JSON object: arrays are flattened (any element may match).
fn json_values(v: &Json, out: &mut Vec<Value>) {
    match v {
        Json::Array(items) => {
            for i in items {
                json_values(i, out);
            }
        }
        other => out.push(json_scalar(other)),
    }
}

fn node_matches_json(node: &Node, obj: &Map<String, Json>) -> bool {
    for (key, field) in &node.fields {
        let value = obj.get(key);
        let ok = match field {
            Field::Conds(conds) => {
                let vals = value.map(|v| {
                    let mut out = Vec::new();
                    json_values(v, &mut out);
                    out
                });
                conds_match(conds, vals.as_deref())
            }
            Field::Nested(inner) => match value {
                Some(Json::Object(o)) => node_matches_json(inner, o),
                Some(Json::Array(items)) => items.iter().any(|i| match i {
                    Json::Object(o) => node_matches_json(inner, o),
                    _ => false,
                }),
                // An absent object still matches a nested policy made only of
                // `exists: false` conditions.
                _ => node_matches_json(inner, &Map::new()),
            },
        };
        if !ok {
            return false;
        }
    }
    node.ors
        .iter()
        .all(|alts| alts.iter().any(|n| node_matches_json(n, obj)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(list: &'a [(&'a str, &'a str, &'a str)]) -> BTreeMap<String, Attr<'a>> {
        list.iter()
            .map(|(k, t, v)| {
                (
                    k.to_string(),
                    Attr {
                        data_type: t,
                        value: Some(v),
                    },
                )
            })
            .collect()
    }

    fn pa(p: &str) -> Policy {
        Policy::parse(p, Scope::MessageAttributes).unwrap()
    }

    fn pb(p: &str) -> Policy {
        Policy::parse(p, Scope::MessageBody).unwrap()
    }

    fn bad(p: &str, scope: Scope) -> String {
        Policy::parse(p, scope).unwrap_err()
    }

    #[test]
    fn exact_strings_and_numbers_on_attributes() {
        let p = pa(r#"{"color":["red","blue"],"size":[10]}"#);
        assert!(p.matches_attributes(&attrs(&[
            ("color", "String", "red"),
            ("size", "Number", "10.0")
        ])));
        assert!(!p.matches_attributes(&attrs(&[
            ("color", "String", "green"),
            ("size", "Number", "10")
        ])));
        assert!(!p.matches_attributes(&attrs(&[("color", "String", "red")])));
        // A string condition never matches a Number attribute, nor a number a String one.
        assert!(!pa(r#"{"n":["10"]}"#).matches_attributes(&attrs(&[("n", "Number", "10")])));
        assert!(!pa(r#"{"n":[10]}"#).matches_attributes(&attrs(&[("n", "String", "10")])));
        // Custom type labels keep the base type.
        assert!(pa(r#"{"n":[5]}"#).matches_attributes(&attrs(&[("n", "Number.int", "5")])));
    }

    #[test]
    fn prefix_suffix_ignore_case_anything_but() {
        let a = attrs(&[("s", "String", "order-123.json")]);
        assert!(pa(r#"{"s":[{"prefix":"order-"}]}"#).matches_attributes(&a));
        assert!(!pa(r#"{"s":[{"prefix":"invoice-"}]}"#).matches_attributes(&a));
        assert!(pa(r#"{"s":[{"suffix":".json"}]}"#).matches_attributes(&a));
        assert!(pa(r#"{"s":[{"equals-ignore-case":"ORDER-123.JSON"}]}"#).matches_attributes(&a));
        assert!(pa(r#"{"s":[{"anything-but":["x","y"]}]}"#).matches_attributes(&a));
        assert!(!pa(r#"{"s":[{"anything-but":"order-123.json"}]}"#).matches_attributes(&a));
        assert!(!pa(r#"{"s":[{"anything-but":{"prefix":"order"}}]}"#).matches_attributes(&a));
        assert!(pa(r#"{"s":[{"anything-but":{"suffix":".xml"}}]}"#).matches_attributes(&a));
        // anything-but does not match an absent attribute.
        assert!(!pa(r#"{"t":[{"anything-but":"x"}]}"#).matches_attributes(&a));
        // anything-but with numbers.
        let n = attrs(&[("n", "Number", "3")]);
        assert!(pa(r#"{"n":[{"anything-but":[1,2]}]}"#).matches_attributes(&n));
        assert!(!pa(r#"{"n":[{"anything-but":[3]}]}"#).matches_attributes(&n));
    }

    #[test]
    fn numeric_ranges() {
        let p = pa(r#"{"price":[{"numeric":[">",0,"<=",150]}]}"#);
        for (v, want) in [
            ("0", false),
            ("0.1", true),
            ("150", true),
            ("150.5", false),
            ("-3", false),
        ] {
            assert_eq!(
                p.matches_attributes(&attrs(&[("price", "Number", v)])),
                want,
                "{v}"
            );
        }
        assert!(pa(r#"{"p":[{"numeric":["=",3.5]}]}"#)
            .matches_attributes(&attrs(&[("p", "Number", "3.50")])));
        assert!(pa(r#"{"p":[{"numeric":["<",0]}]}"#)
            .matches_attributes(&attrs(&[("p", "Number", "-1e2")])));
        // Numeric conditions ignore String attributes.
        assert!(!pa(r#"{"p":[{"numeric":[">",0]}]}"#)
            .matches_attributes(&attrs(&[("p", "String", "5")])));
    }

    #[test]
    fn exists_and_binary() {
        let a = attrs(&[("b", "Binary", "x")]);
        let mut a2 = a.clone();
        a2.insert(
            "bin".into(),
            Attr {
                data_type: "Binary",
                value: None,
            },
        );
        assert!(pa(r#"{"b":[{"exists":true}]}"#).matches_attributes(&a));
        assert!(!pa(r#"{"b":[{"exists":false}]}"#).matches_attributes(&a));
        assert!(pa(r#"{"c":[{"exists":false}]}"#).matches_attributes(&a));
        assert!(!pa(r#"{"b":["x"]}"#).matches_attributes(&a));
        assert!(pa(r#"{"bin":[{"exists":true}]}"#).matches_attributes(&a2));
    }

    #[test]
    fn string_arrays_match_any_element() {
        let a = attrs(&[("tags", "String.Array", r#"["a","b",3]"#)]);
        assert!(pa(r#"{"tags":["b"]}"#).matches_attributes(&a));
        assert!(pa(r#"{"tags":[3]}"#).matches_attributes(&a));
        assert!(!pa(r#"{"tags":["z"]}"#).matches_attributes(&a));
    }

    #[test]
    fn cidr_matching() {
        let p = pa(r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#);
        assert!(p.matches_attributes(&attrs(&[("ip", "String", "10.0.0.255")])));
        assert!(!p.matches_attributes(&attrs(&[("ip", "String", "10.0.1.1")])));
        assert!(!p.matches_attributes(&attrs(&[("ip", "String", "nope")])));
        let v6 = pa(r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#);
        assert!(v6.matches_attributes(&attrs(&[("ip", "String", "2001:db8::1")])));
    }

    #[test]
    fn or_combines_alternatives() {
        let p = pa(
            r#"{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization"]},{"namespace":["AWS/EC2"]}]}"#,
        );
        assert!(p.matches_attributes(&attrs(&[
            ("source", "String", "aws.cloudwatch"),
            ("namespace", "String", "AWS/EC2")
        ])));
        assert!(p.matches_attributes(&attrs(&[
            ("source", "String", "aws.cloudwatch"),
            ("metricName", "String", "CPUUtilization")
        ])));
        assert!(!p.matches_attributes(&attrs(&[("source", "String", "aws.cloudwatch")])));
        assert!(!p.matches_attributes(&attrs(&[
            ("source", "String", "x"),
            ("namespace", "String", "AWS/EC2")
        ])));
    }

    #[test]
    fn body_policies_with_nested_keys() {
        let p =
            pb(r#"{"order":{"status":["paid"],"total":[{"numeric":[">=",100]}]},"gift":[true]}"#);
        assert!(p.matches_body(r#"{"order":{"status":"paid","total":120},"gift":true}"#));
        assert!(!p.matches_body(r#"{"order":{"status":"paid","total":99},"gift":true}"#));
        assert!(!p.matches_body(r#"{"order":{"status":"paid","total":120},"gift":false}"#));
        assert!(!p.matches_body("not json"));
        // Arrays in the body: any element.
        let q = pb(r#"{"items":{"sku":[{"prefix":"A"}]}}"#);
        assert!(q.matches_body(r#"{"items":[{"sku":"B1"},{"sku":"A7"}]}"#));
        assert!(!q.matches_body(r#"{"items":[{"sku":"B1"}]}"#));
        assert!(pb(r#"{"tags":["x"]}"#).matches_body(r#"{"tags":["w","x"]}"#));
        assert!(pb(r#"{"v":[null]}"#).matches_body(r#"{"v":null}"#));
        assert!(pb(r#"{"a":{"b":[{"exists":false}]}}"#).matches_body(r#"{"c":1}"#));
        assert!(!pb(r#"{"a":{"b":[{"exists":true}]}}"#).matches_body(r#"{"c":1}"#));
    }

    #[test]
    fn validation_messages() {
        let attrs_scope = Scope::MessageAttributes;
        assert_eq!(
            bad(r#"{"a":{"b":["x"]}}"#, attrs_scope),
            "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
        );
        assert!(bad("[1]", attrs_scope).starts_with("Invalid parameter: FilterPolicy: "));
        assert!(bad("{nope", attrs_scope)
            .starts_with("Invalid parameter: FilterPolicy: failed to parse JSON"));
        assert_eq!(
            bad(r#"{"a":[{"foo":1}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: Unrecognized match type foo"
        );
        assert_eq!(
            bad(r#"{"a":[{"prefix":1}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: prefix match pattern must be a string"
        );
        assert_eq!(
            bad(r#"{"a":[{"exists":"yes"}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: exists match pattern must be either true or false."
        );
        assert_eq!(
            bad(r#"{"a":[{"numeric":[">","x"]}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: Value of > must be numeric"
        );
        assert_eq!(
            bad(r#"{"a":[{"numeric":["<",1,">",0]}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: Bad numeric range operator: >"
        );
        assert_eq!(
            bad(r#"{"a":[{"numeric":[">",5,"<",1]}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: Bottom must be less than top"
        );
        assert_eq!(
            bad(r#"{"a":[{"cidr":"10.0.0.1"}]}"#, attrs_scope),
            "Invalid parameter: FilterPolicy: Malformed CIDR, one '/' required"
        );
        assert_eq!(
            bad(
                r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#,
                attrs_scope
            ),
            "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
        );
        let many: Vec<String> = (0..20).map(|i| format!("\"v{i}\"")).collect();
        let list = many.join(",");
        assert_eq!(
            bad(&format!(r#"{{"a":[{list}],"b":[{list}]}}"#), attrs_scope),
            "Invalid parameter: FilterPolicy: Filter policy is too complex"
        );
        assert!(bad(r#"{"a":"x"}"#, attrs_scope).contains("must be an object or an array"));
        assert!(bad(r#"{"a":[]}"#, attrs_scope).contains("Empty arrays are not allowed"));
        assert!(bad(r#"{"a":[["x"]]}"#, attrs_scope).contains("Match value must be"));
        assert!(bad(r#"{"$or":[{"a":["x"]}]}"#, attrs_scope).contains("$or"));
        assert!(bad(r#"{"a":[1e10]}"#, attrs_scope).contains("between"));
        // Body scope accepts nesting and booleans.
        assert!(Policy::parse(r#"{"a":{"b":[true]}}"#, Scope::MessageBody).is_ok());
    }
}
