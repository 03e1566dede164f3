//! EventBridge's event pattern language: compiling a pattern (with AWS's
//! `InvalidEventPatternException` reasons) and matching events against it.
//!
//! A pattern is a JSON object whose leaves are arrays of match values:
//! exact strings, numbers, booleans and null, or one-key match objects
//! (`prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`,
//! `exists`, `wildcard`, `cidr`). `$or` holds alternative sub-patterns.
//! Matching walks the event along the pattern: an array in the event
//! matches when any of its elements does (for nested objects, one element
//! must match the whole sub-pattern), a missing field only matches
//! `{"exists": false}`, and `exists` looks at leaf values only.

use serde_json::Value as Json;
use std::net::IpAddr;

/// A compiled event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Obj,
}

#[derive(Debug, Clone, PartialEq)]
struct Obj {
    fields: Vec<(String, Field)>,
    /// Each `$or`: at least one alternative must match.
    ors: Vec<Vec<Obj>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Nested(Obj),
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Lt,
    Le,
    Eq,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Scalar),
    Prefix(String, bool),
    Suffix(String, bool),
    EqualsIgnoreCase(String),
    AnythingBut(AnythingBut),
    Numeric(Vec<(Cmp, f64)>),
    Exists(bool),
    Wildcard(String),
    Cidr(Cidr),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Scalar>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}

/// Why a pattern is refused: the text after "Event pattern is not valid. Reason: ".
pub type Reason = String;

/// The message of `InvalidEventPatternException` for a reason.
pub fn invalid_message(reason: &str) -> String {
    format!("Event pattern is not valid. Reason: {reason}")
}

impl Pattern {
    /// Parses and validates a pattern's JSON text.
    pub fn parse(text: &str) -> Result<Pattern, Reason> {
        let doc: Json = serde_json::from_str(text).map_err(|e| json_reason(&e))?;
        Pattern::compile(&doc)
    }

    /// Validates an already parsed pattern.
    pub fn compile(doc: &Json) -> Result<Pattern, Reason> {
        let Json::Object(map) = doc else {
            return Err("Filter is not an object".into());
        };
        Ok(Pattern {
            root: compile_obj(map)?,
        })
    }

    /// Whether an event (a JSON object) matches.
    pub fn matches(&self, event: &Json) -> bool {
        match_obj(&self.root, Some(event))
    }
}

fn json_reason(e: &serde_json::Error) -> Reason {
    format!(
        "{} at [Source: (String); line: {}, column: {}]",
        match e.classify() {
            serde_json::error::Category::Eof => "Unexpected end-of-input".to_string(),
            _ => {
                let s = e.to_string();
                s.split(" at line ").next().unwrap_or(&s).to_string()
            }
        },
        e.line(),
        e.column()
    )
}

fn compile_obj(map: &serde_json::Map<String, Json>) -> Result<Obj, Reason> {
    let mut obj = Obj {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in map {
        match value {
            Json::Object(inner) => obj
                .fields
                .push((key.clone(), Field::Nested(compile_obj(inner)?))),
            Json::Array(items) if key == "$or" && items.iter().all(Json::is_object) => {
                if items.len() < 2 {
                    return Err("Or relationship must have at least 2 patterns".into());
                }
                let mut alts = Vec::with_capacity(items.len());
                for item in items {
                    if let Json::Object(m) = item {
                        alts.push(compile_obj(m)?);
                    }
                }
                obj.ors.push(alts);
            }
            Json::Array(items) => {
                if items.is_empty() {
                    return Err("Empty arrays are not allowed".into());
                }
                let mut ms = Vec::with_capacity(items.len());
                for item in items {
                    ms.push(compile_matcher(item)?);
                }
                obj.fields.push((key.clone(), Field::Leaf(ms)));
            }
            _ => return Err(format!("\"{key}\" must be an object or an array")),
        }
    }
    Ok(obj)
}

fn scalar(v: &Json) -> Option<Scalar> {
    Some(match v {
        Json::String(s) => Scalar::Str(s.clone()),
        Json::Number(n) => Scalar::Num(n.as_f64()?),
        Json::Bool(b) => Scalar::Bool(*b),
        Json::Null => Scalar::Null,
        _ => return None,
    })
}

const MATCH_VALUE: &str = "Match value must be String, number, true, false, or null";

fn compile_matcher(item: &Json) -> Result<Matcher, Reason> {
    let Json::Object(m) = item else {
        return scalar(item)
            .map(Matcher::Exact)
            .ok_or_else(|| MATCH_VALUE.to_string());
    };
    let mut entries = m.iter();
    let (Some((op, value)), None) = (entries.next(), entries.next()) else {
        return Err("Only one key allowed in match expression".into());
    };
    match op.as_str() {
        "prefix" | "suffix" => {
            let (text, ignore_case) = match value {
                Json::String(s) => (s.clone(), false),
                Json::Object(inner) => match (inner.len(), inner.get("equals-ignore-case")) {
                    (1, Some(Json::String(s))) => (s.clone(), true),
                    (1, Some(_)) => {
                        return Err("equals-ignore-case match pattern must be a string".into())
                    }
                    _ => {
                        let k = inner.keys().next().cloned().unwrap_or_default();
                        return Err(format!("Unsupported {op} pattern: {k}"));
                    }
                },
                _ => return Err(format!("{op} match pattern must be a string")),
            };
            Ok(if op == "prefix" {
                Matcher::Prefix(text, ignore_case)
            } else {
                Matcher::Suffix(text, ignore_case)
            })
        }
        "equals-ignore-case" => match value {
            Json::String(s) => Ok(Matcher::EqualsIgnoreCase(s.clone())),
            _ => Err("equals-ignore-case match pattern must be a string".into()),
        },
        "exists" => match value {
            Json::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err("exists match pattern must be either true or false.".into()),
        },
        "numeric" => compile_numeric(value),
        "wildcard" => match value {
            Json::String(s) => {
                check_wildcard(s)?;
                Ok(Matcher::Wildcard(s.clone()))
            }
            _ => Err("wildcard match pattern must be a string".into()),
        },
        "cidr" => compile_cidr(value).map(Matcher::Cidr),
        "anything-but" => compile_anything_but(value).map(Matcher::AnythingBut),
        other => Err(format!("Unrecognized match type {other}")),
    }
}

fn strings_of(value: &Json, what: &str) -> Result<Vec<String>, Reason> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Json::String(s) => Ok(s.clone()),
                _ => Err(format!(
                    "Inside anything-but/{what} list, number|start|null|boolean is not supported."
                )),
            })
            .collect(),
        Json::Array(_) => Err("Empty arrays are not allowed".into()),
        _ => Err(format!("{what} match pattern must be a string")),
    }
}

fn compile_anything_but(value: &Json) -> Result<AnythingBut, Reason> {
    match value {
        Json::Array(items) => {
            if items.is_empty() {
                return Err("Empty arrays are not allowed".into());
            }
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match i {
                    Json::String(_) | Json::Number(_) => out.extend(scalar(i)),
                    _ => {
                        return Err(
                            "Inside anything but list, start|null|boolean is not supported.".into(),
                        )
                    }
                }
            }
            Ok(AnythingBut::Values(out))
        }
        Json::Object(inner) => {
            let mut entries = inner.iter();
            let (Some((op, v)), None) = (entries.next(), entries.next()) else {
                return Err("Only one key allowed in match expression".into());
            };
            match op.as_str() {
                "prefix" | "suffix" => {
                    if v.is_object() {
                        return Err(
                            "Value of anything-but must be an array or single string/number value."
                                .into(),
                        );
                    }
                    let list = strings_of(v, "prefix/suffix")
                        .map_err(|_| "prefix/suffix match pattern must be a string".to_string())?;
                    if list.iter().any(String::is_empty) {
                        return Err("Null prefix/suffix not allowed".into());
                    }
                    Ok(if op == "prefix" {
                        AnythingBut::Prefix(list)
                    } else {
                        AnythingBut::Suffix(list)
                    })
                }
                "equals-ignore-case" => {
                    strings_of(v, "equals-ignore-case").map(AnythingBut::IgnoreCase)
                }
                "wildcard" => {
                    let list = strings_of(v, "wildcard")?;
                    for w in &list {
                        check_wildcard(w)?;
                    }
                    Ok(AnythingBut::Wildcard(list))
                }
                other => Err(format!("Unsupported anything-but pattern: {other}")),
            }
        }
        Json::String(_) | Json::Number(_) => {
            Ok(AnythingBut::Values(scalar(value).into_iter().collect()))
        }
        _ => Err("Value of anything-but must be an array or single string/number value.".into()),
    }
}

fn compile_numeric(value: &Json) -> Result<Matcher, Reason> {
    let Json::Array(items) = value else {
        return Err("Value of numeric must be an array.".into());
    };
    let op_of = |v: &Json, first: bool| -> Result<Cmp, Reason> {
        let Json::String(s) = v else {
            return Err(if first {
                format!("Invalid member in numeric match: {v}")
            } else {
                format!("Bad value in numeric range: {v}")
            });
        };
        match s.as_str() {
            "<" => Ok(Cmp::Lt),
            "<=" => Ok(Cmp::Le),
            "=" => Ok(Cmp::Eq),
            ">" => Ok(Cmp::Gt),
            ">=" => Ok(Cmp::Ge),
            other if first => Err(format!("Unrecognized numeric range operator: {other}")),
            other => Err(format!("Bad numeric range operator: {other}")),
        }
    };
    let name = |c: Cmp| match c {
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Eq => "equals",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
    };
    let num_of = |v: Option<&Json>, c: Cmp| -> Result<f64, Reason> {
        let n = v
            .and_then(Json::as_f64)
            .ok_or_else(|| format!("Value of {} must be numeric", name(c)))?;
        if !(-5.0e9..=5.0e9).contains(&n) {
            return Err(format!("Value of {} must be numeric", name(c)));
        }
        Ok(n)
    };
    let Some(first) = items.first() else {
        return Err("Invalid member in numeric match: ]".into());
    };
    let c1 = op_of(first, true)?;
    let n1 = num_of(items.get(1), c1)?;
    if items.len() <= 2 {
        return Ok(Matcher::Numeric(vec![(c1, n1)]));
    }
    if !matches!(c1, Cmp::Gt | Cmp::Ge) {
        return Err("Too many elements in numeric expression".into());
    }
    let c2 = op_of(&items[2], false)?;
    if !matches!(c2, Cmp::Lt | Cmp::Le) {
        return Err(format!(
            "Bad numeric range operator: {}",
            items[2].as_str().unwrap_or_default()
        ));
    }
    let n2 = num_of(items.get(3), c2)?;
    if n2 <= n1 {
        return Err("Bottom must be less than top".into());
    }
    if items.len() > 4 {
        return Err("Too many terms in numeric range expression".into());
    }
    Ok(Matcher::Numeric(vec![(c1, n1), (c2, n2)]))
}

fn check_wildcard(s: &str) -> Result<(), Reason> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut stars = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if !matches!(chars.get(i + 1), Some('*') | Some('\\')) {
                    return Err(format!("Invalid escape character at pos {}", i + 1));
                }
                i += 2;
                continue;
            }
            '*' => {
                if chars.get(i + 1) == Some(&'*') {
                    return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                }
                stars += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if stars > 5 {
        return Err("Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character".into());
    }
    Ok(())
}

fn compile_cidr(value: &Json) -> Result<Cidr, Reason> {
    let Json::String(s) = value else {
        return Err("prefix match pattern must be a string".into());
    };
    let Some((ip, bits)) = s.split_once('/') else {
        return Err("Malformed CIDR, one '/' required".into());
    };
    let bits: u8 = bits
        .parse()
        .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
    let net: IpAddr = ip
        .parse()
        .map_err(|_| format!("Nonstandard IP address: {ip}"))?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(format!("Malformed CIDR, mask bits must not exceed {max}"));
    }
    Ok(Cidr { net, bits })
}

// ---------------------------------------------------------------- matching

fn match_obj(obj: &Obj, value: Option<&Json>) -> bool {
    if let Some(Json::Array(items)) = value {
        return items.iter().any(|i| match_obj(obj, Some(i)));
    }
    let map = value.and_then(Json::as_object);
    let get = |k: &str| map.and_then(|m| m.get(k));
    obj.fields.iter().all(|(k, f)| match f {
        Field::Nested(inner) => match get(k) {
            Some(v @ (Json::Object(_) | Json::Array(_))) => match_obj(inner, Some(v)),
            _ => match_obj(inner, None),
        },
        Field::Leaf(ms) => ms.iter().any(|m| match_leaf(m, get(k))),
    }) && obj
        .ors
        .iter()
        .all(|alts| alts.iter().any(|a| match_obj(a, value)))
}

/// The leaf values at a field: scalars, with arrays flattened.
fn leaves<'a>(v: &'a Json, out: &mut Vec<&'a Json>) {
    match v {
        Json::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        Json::Object(_) => {}
        other => out.push(other),
    }
}

fn match_leaf(m: &Matcher, value: Option<&Json>) -> bool {
    let mut vals = Vec::new();
    if let Some(v) = value {
        leaves(v, &mut vals);
    }
    match m {
        Matcher::Exists(want) => *want != vals.is_empty(),
        _ => vals.iter().any(|v| match_scalar(m, v)),
    }
}

fn eq_scalar(s: &Scalar, v: &Json) -> bool {
    match (s, v) {
        (Scalar::Str(a), Json::String(b)) => a == b,
        (Scalar::Num(a), Json::Number(b)) => b.as_f64() == Some(*a),
        (Scalar::Bool(a), Json::Bool(b)) => a == b,
        (Scalar::Null, Json::Null) => true,
        _ => false,
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn match_scalar(m: &Matcher, v: &Json) -> bool {
    let text = v.as_str();
    match m {
        Matcher::Exact(s) => eq_scalar(s, v),
        Matcher::Prefix(p, false) => text.is_some_and(|t| t.starts_with(p.as_str())),
        Matcher::Prefix(p, true) => text.is_some_and(|t| lower(t).starts_with(&lower(p))),
        Matcher::Suffix(p, false) => text.is_some_and(|t| t.ends_with(p.as_str())),
        Matcher::Suffix(p, true) => text.is_some_and(|t| lower(t).ends_with(&lower(p))),
        Matcher::EqualsIgnoreCase(p) => text.is_some_and(|t| lower(t) == lower(p)),
        Matcher::Wildcard(w) => text.is_some_and(|t| wildcard_match(w, t)),
        Matcher::Numeric(conds) => v.as_f64().is_some_and(|x| {
            v.is_number()
                && conds.iter().all(|(c, n)| match c {
                    Cmp::Lt => x < *n,
                    Cmp::Le => x <= *n,
                    Cmp::Eq => x == *n,
                    Cmp::Gt => x > *n,
                    Cmp::Ge => x >= *n,
                })
        }),
        Matcher::Cidr(c) => text
            .and_then(|t| t.parse::<IpAddr>().ok())
            .is_some_and(|ip| in_cidr(c, ip)),
        Matcher::Exists(_) => true,
        Matcher::AnythingBut(ab) => match ab {
            AnythingBut::Values(vs) => !vs.iter().any(|s| eq_scalar(s, v)),
            AnythingBut::Prefix(ps) => {
                text.is_some_and(|t| !ps.iter().any(|p| t.starts_with(p.as_str())))
            }
            AnythingBut::Suffix(ps) => {
                text.is_some_and(|t| !ps.iter().any(|p| t.ends_with(p.as_str())))
            }
            AnythingBut::IgnoreCase(ps) => {
                text.is_some_and(|t| !ps.iter().any(|p| lower(p) == lower(t)))
            }
            AnythingBut::Wildcard(ws) => {
                text.is_some_and(|t| !ws.iter().any(|w| wildcard_match(w, t)))
            }
        },
    }
}

fn in_cidr(c: &Cidr, ip: IpAddr) -> bool {
    match (c.net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if c.bits == 0 {
                0
            } else {
                u32::MAX << (32 - c.bits as u32)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if c.bits == 0 {
                0
            } else {
                u128::MAX << (128 - c.bits as u32)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// A wildcard pattern's pieces: literal characters and `*` (any run).
fn wildcard_tokens(w: &str) -> Vec<Option<char>> {
    let mut out = Vec::new();
    let mut chars = w.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()),
            '*' => out.push(None),
            c => out.push(Some(c)),
        }
    }
    out
}

/// Glob matching where `*` matches any run of characters (also none).
pub fn wildcard_match(w: &str, text: &str) -> bool {
    let p = wildcard_tokens(w);
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(None) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(Some(c)) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests;
