//! Request-shape validation for the JSON protocols, driven by a compact copy
//! of the service's botocore model (written by `scripts/gen-shapes.py`).
//!
//! AWS checks every request against its model before the operation runs:
//! a JSON value of the wrong type is a `SerializationException`, and a
//! missing required member, an enum value outside its set, a string or list
//! of the wrong length, a pattern mismatch or a number out of range are
//! collected into one `ValidationException` ("2 validation errors detected:
//! Value 'x' at 'keySchema.1.member.attributeName' failed to satisfy
//! constraint: ..."). This module finds those; each service renders them.

use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// What is wrong with a request's shape.
#[derive(Debug, PartialEq)]
pub enum ShapeError {
    /// A value of the wrong JSON type: the request cannot be read.
    Serialization(String),
    /// Constraint violations, in the order AWS reports them.
    Invalid(Vec<Violation>),
}

/// One constraint a request breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where, as AWS's older messages name it: members lower-first
    /// (`keySchema.1.member.keyType`).
    pub path: String,
    /// Where, with the members' wire names (`KeySchema.1.member.KeyType`),
    /// as AWS's newer validation framework names it.
    pub wire_path: String,
    /// The offending value (`None`: it is missing).
    pub value: Option<Json>,
    /// What it breaks (`Member must not be null`).
    pub constraint: String,
}

impl Violation {
    /// The older sentence, echoing the value as JSON:
    /// `Value 'x' at 'path' failed to satisfy constraint: ...`.
    pub fn message(&self) -> String {
        match &self.value {
            None => self.echoing("null"),
            Some(v) => self.echoing(&shown(v)),
        }
    }

    /// The older sentence with the value echoed as `echo` (already quoted,
    /// or `null`).
    pub fn echoing(&self, echo: &str) -> String {
        format!(
            "Value {echo} at '{}' failed to satisfy constraint: {}",
            self.path, self.constraint
        )
    }

    /// The newer framework's sentence, which echoes no value and names the
    /// member as sent: `Value at 'Limit' failed to satisfy constraint: ...`.
    pub fn framework_message(&self) -> String {
        format!(
            "Value at '{}' failed to satisfy constraint: {}",
            self.wire_path, self.constraint
        )
    }
}

impl ShapeError {
    /// The ValidationException message for [`ShapeError::Invalid`].
    pub fn validation_message(errors: &[String]) -> String {
        match errors.len() {
            1 => format!("1 validation error detected: {}", errors[0]),
            n => format!("{n} validation errors detected: {}", errors.join("; ")),
        }
    }

    /// The ValidationException message for violations in the older
    /// wording (each echoing its value).
    pub fn violations_message(violations: &[Violation]) -> String {
        let messages: Vec<String> = violations.iter().map(Violation::message).collect();
        Self::validation_message(&messages)
    }
}

#[derive(Debug)]
pub(crate) enum Kind {
    Structure {
        /// (wire name, message name, shape), in the order AWS checks them
        members: Vec<(String, String, usize)>,
        required: Vec<usize>,
    },
    List(usize),
    Map(usize, usize),
    Str,
    Int,
    Double,
    Bool,
    Timestamp,
    Blob,
    Any,
}

#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) kind: Kind,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    enumeration: Option<Vec<String>>,
}

/// A service's input shapes.
#[derive(Debug)]
pub struct Model {
    pub(crate) shapes: Vec<Shape>,
    pub(crate) ops: HashMap<String, usize>,
}

/// `TableName` -> `tableName`, as AWS names members in messages.
fn message_name(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Model {
    /// Reads a model written by `scripts/gen-shapes.py`.
    pub fn parse(text: &str) -> Result<Model, String> {
        let doc: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let raw = doc
            .get("shapes")
            .and_then(Json::as_object)
            .ok_or("no shapes")?;
        let index: HashMap<&str, usize> = raw
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let find = |v: Option<&Json>| -> Result<usize, String> {
            let name = v.and_then(Json::as_str).ok_or("missing shape reference")?;
            index
                .get(name)
                .copied()
                .ok_or_else(|| format!("unknown shape {name}"))
        };
        let mut shapes = Vec::with_capacity(raw.len());
        for s in raw.values() {
            let kind = match s.get("type").and_then(Json::as_str).unwrap_or("any") {
                "structure" => {
                    let mut members = Vec::new();
                    for (name, target) in s
                        .get("members")
                        .and_then(Json::as_object)
                        .iter()
                        .flat_map(|m| m.iter())
                    {
                        members.push((name.clone(), message_name(name), find(Some(target))?));
                    }
                    // AWS checks members in its own order where the model
                    // records it; the rest follow by name.
                    if let Some(order) = s.get("order").and_then(Json::as_array) {
                        let rank = |n: &str| {
                            order
                                .iter()
                                .position(|o| o.as_str() == Some(n))
                                .unwrap_or(order.len())
                        };
                        members.sort_by_key(|m| rank(&m.0));
                    }
                    let required = s
                        .get("required")
                        .and_then(Json::as_array)
                        .map(|r| {
                            r.iter()
                                .filter_map(|n| {
                                    members
                                        .iter()
                                        .position(|m| Some(m.0.as_str()) == n.as_str())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Kind::Structure { members, required }
                }
                "list" => Kind::List(find(s.get("member"))?),
                "map" => Kind::Map(find(s.get("key"))?, find(s.get("value"))?),
                "string" => Kind::Str,
                "integer" | "long" => Kind::Int,
                "double" | "float" => Kind::Double,
                "boolean" => Kind::Bool,
                "timestamp" => Kind::Timestamp,
                "blob" => Kind::Blob,
                _ => Kind::Any,
            };
            shapes.push(Shape {
                kind,
                min: s.get("min").and_then(Json::as_f64),
                max: s.get("max").and_then(Json::as_f64),
                pattern: s.get("pattern").and_then(Json::as_str).map(str::to_string),
                enumeration: s.get("enum").and_then(Json::as_array).map(|e| {
                    e.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                }),
            });
        }
        let mut ops = HashMap::new();
        for (op, input) in doc
            .get("ops")
            .and_then(Json::as_object)
            .iter()
            .flat_map(|m| m.iter())
        {
            ops.insert(op.clone(), find(Some(input))?);
        }
        Ok(Model { shapes, ops })
    }

    /// Checks the body of operation `op` (an operation the model does not
    /// know passes).
    pub fn check(&self, op: &str, body: &Map<String, Json>) -> Result<(), ShapeError> {
        let Some(&root) = self.ops.get(op) else {
            return Ok(());
        };
        let mut errors = Vec::new();
        self.structure(root, body, &At::root(), &mut errors)?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ShapeError::Invalid(errors))
        }
    }

    fn structure(
        &self,
        id: usize,
        obj: &Map<String, Json>,
        at: &At,
        errors: &mut Vec<Violation>,
    ) -> Result<(), ShapeError> {
        let Kind::Structure { members, required } = &self.shapes[id].kind else {
            return Ok(());
        };
        for (wire, msg, shape) in members {
            if let Some(v) = obj.get(wire).filter(|v| !v.is_null()) {
                self.value(*shape, v, &at.member(wire, msg), errors)?;
            }
        }
        for &r in required {
            let (wire, msg, _) = &members[r];
            if obj.get(wire).is_none_or(Json::is_null) {
                errors.push(
                    at.member(wire, msg)
                        .violation(None, "Member must not be null"),
                );
            }
        }
        Ok(())
    }

    fn value(
        &self,
        id: usize,
        v: &Json,
        at: &At,
        errors: &mut Vec<Violation>,
    ) -> Result<(), ShapeError> {
        let shape = &self.shapes[id];
        let mut broken = Vec::new();
        match (&shape.kind, v) {
            (Kind::Any, _) => {}
            (Kind::Structure { .. }, Json::Object(o)) => self.structure(id, o, at, errors)?,
            (Kind::List(member), Json::Array(items)) => {
                self.length(shape, items.len(), &mut broken);
                self.items(*member, items, at, errors)?;
            }
            (Kind::Map(key, value), Json::Object(o)) => {
                self.length(shape, o.len(), &mut broken);
                // A key or a (scalar or list) value that breaks a
                // constraint is reported at the map, listing every
                // constraint of its shape.
                let mut key_broken = false;
                let mut value_broken = false;
                for (k, item) in o {
                    let mut b = Vec::new();
                    self.scalar_checks(&self.shapes[*key], &Json::String(k.clone()), &mut b);
                    key_broken |= !b.is_empty();
                    let entry = at.entry(k);
                    let value_shape = &self.shapes[*value];
                    let mut b = Vec::new();
                    match (&value_shape.kind, item) {
                        (_, Json::Null) => {}
                        (Kind::List(member), Json::Array(items)) => {
                            self.length(value_shape, items.len(), &mut b);
                            self.items(*member, items, &entry, errors)?;
                        }
                        (Kind::Structure { .. } | Kind::List(_) | Kind::Map(..), _) => {
                            self.value(*value, item, &entry, errors)?
                        }
                        _ => {
                            self.type_check(*value, item)?;
                            self.scalar_checks(value_shape, item, &mut b)
                        }
                    }
                    value_broken |= !b.is_empty();
                }
                if key_broken {
                    broken.push(format!(
                        "Map keys must satisfy constraint: [{}]",
                        all_constraints(&self.shapes[*key]).join(", ")
                    ));
                }
                if value_broken {
                    broken.push(format!(
                        "Map value must satisfy constraint: [{}]",
                        all_constraints(&self.shapes[*value]).join(", ")
                    ));
                }
            }
            _ => {
                self.type_check(id, v)?;
                self.scalar_checks(shape, v, &mut broken);
            }
        }
        for b in broken {
            errors.push(at.violation(Some(v), b));
        }
        Ok(())
    }

    fn items(
        &self,
        member: usize,
        items: &[Json],
        at: &At,
        errors: &mut Vec<Violation>,
    ) -> Result<(), ShapeError> {
        for (i, item) in items.iter().enumerate() {
            if !item.is_null() {
                self.value(member, item, &at.entry(&(i + 1).to_string()), errors)?;
            }
        }
        Ok(())
    }

    fn type_check(&self, id: usize, v: &Json) -> Result<(), ShapeError> {
        let ok = match (&self.shapes[id].kind, v) {
            (Kind::Any, _) => true,
            (Kind::Str | Kind::Blob, Json::String(_)) => true,
            (Kind::Int, Json::Number(n)) => n.is_i64() || n.is_u64(),
            (Kind::Double | Kind::Timestamp, Json::Number(_)) => true,
            (Kind::Timestamp, Json::String(_)) => true,
            (Kind::Bool, Json::Bool(_)) => true,
            (Kind::Structure { .. } | Kind::Map(..), Json::Object(_)) => true,
            (Kind::List(_), Json::Array(_)) => true,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let expected = match self.shapes[id].kind {
            Kind::Str | Kind::Blob => "String",
            Kind::Int => "an Integer",
            Kind::Double => "a Double",
            Kind::Timestamp => "a Date",
            Kind::Bool => "a Boolean",
            _ => "",
        };
        Err(ShapeError::Serialization(match v {
            Json::Object(_) => "Start of structure or map found where not expected.".into(),
            Json::Array(_) => "Start of list found where not expected".into(),
            Json::String(_) => format!("STRING_VALUE can not be converted to {expected}"),
            Json::Number(_) => format!("NUMBER_VALUE can not be converted to {expected}"),
            Json::Bool(_) => format!("BOOLEAN_VALUE can not be converted to {expected}"),
            Json::Null => "Unexpected null".into(),
        }))
    }

    fn length(&self, shape: &Shape, len: usize, broken: &mut Vec<String>) {
        let len = len as f64;
        if let Some(max) = shape.max.filter(|m| len > *m) {
            broken.push(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
        if let Some(min) = shape.min.filter(|m| len < *m) {
            broken.push(format!(
                "Member must have length greater than or equal to {min}"
            ));
        }
    }

    fn scalar_checks(&self, shape: &Shape, v: &Json, broken: &mut Vec<String>) {
        match v {
            Json::String(s) => {
                if let Some(set) = &shape.enumeration {
                    if !set.iter().any(|e| e == s) {
                        broken.push(format!(
                            "Member must satisfy enum value set: [{}]",
                            set.join(", ")
                        ));
                    }
                }
                if shape.min.is_some() || shape.max.is_some() {
                    // Java counts UTF-16 units.
                    let len = s.encode_utf16().count();
                    self.length(shape, len, broken);
                }
                if let Some(p) = &shape.pattern {
                    if !pattern_matches(p, s) {
                        broken.push(format!(
                            "Member must satisfy regular expression pattern: {p}"
                        ));
                    }
                }
            }
            Json::Number(n) if matches!(shape.kind, Kind::Int | Kind::Double) => {
                let x = n.as_f64().unwrap_or(0.0);
                if let Some(min) = shape.min.filter(|m| x < *m) {
                    broken.push(format!(
                        "Member must have value greater than or equal to {min}"
                    ));
                }
                if let Some(max) = shape.max.filter(|m| x > *m) {
                    broken.push(format!(
                        "Member must have value less than or equal to {max}"
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Every constraint of a shape, in the order AWS lists them for a map's
/// keys or values.
fn all_constraints(shape: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(set) = &shape.enumeration {
        out.push(format!(
            "Member must satisfy enum value set: [{}]",
            set.join(", ")
        ));
    }
    let (less, greater) = match shape.kind {
        Kind::Int | Kind::Double => ("value less", "value greater"),
        _ => ("length less", "length greater"),
    };
    if let Some(max) = shape.max {
        out.push(format!("Member must have {less} than or equal to {max}"));
    }
    if let Some(min) = shape.min {
        out.push(format!("Member must have {greater} than or equal to {min}"));
    }
    if let Some(p) = &shape.pattern {
        out.push(format!(
            "Member must satisfy regular expression pattern: {p}"
        ));
    }
    out
}

/// A place in a request, named both ways.
struct At {
    path: String,
    wire: String,
}

impl At {
    fn root() -> At {
        At {
            path: String::new(),
            wire: String::new(),
        }
    }

    fn join(a: &str, b: &str) -> String {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}.{b}")
        }
    }

    /// A structure member.
    fn member(&self, wire: &str, msg: &str) -> At {
        At {
            path: At::join(&self.path, msg),
            wire: At::join(&self.wire, wire),
        }
    }

    /// A list item (`1`, `2`, ...) or a map entry (its key).
    fn entry(&self, name: &str) -> At {
        let tail = format!("{name}.member");
        At {
            path: At::join(&self.path, &tail),
            wire: At::join(&self.wire, &tail),
        }
    }

    fn violation(&self, value: Option<&Json>, constraint: impl Into<String>) -> Violation {
        Violation {
            path: self.path.clone(),
            wire_path: self.wire.clone(),
            value: value.cloned(),
            constraint: constraint.into(),
        }
    }
}

fn shown(v: &Json) -> String {
    match v {
        Json::String(s) => format!("'{s}'"),
        other => format!("'{other}'"),
    }
}

/// Whether `s` matches `pattern`, for the patterns AWS models use. An
/// unknown pattern matches everything: a wrongly refused request is worse
/// than a missing check.
pub fn pattern_matches(pattern: &str, s: &str) -> bool {
    let all = |f: fn(char) -> bool| s.chars().all(f);
    match pattern {
        "[a-zA-Z0-9_.-]+" => {
            !s.is_empty() && all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        }
        "[0-9]{12}" => s.len() == 12 && all(|c| c.is_ascii_digit()),
        // EventBridge rule and target names, Scheduler schedule and group names.
        "[\\.\\-_A-Za-z0-9]+" | "[0-9a-zA-Z-_.]+" => {
            !s.is_empty() && all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        }
        // EventBridge bus names.
        "[/\\.\\-_A-Za-z0-9]+" => {
            !s.is_empty() && all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        }
        "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+" => {
            let name = match s.split_once(":event-bus/") {
                Some((head, name)) if head.starts_with("arn:aws") => name,
                _ => s,
            };
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        }
        "^[^\\$]+$" => !s.is_empty() && !s.contains('$'),
        "([0-9a-f]{16})+" => {
            !s.is_empty()
                && s.len().is_multiple_of(16)
                && all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        }
        "[\\x20-\\x21\\x23-\\x2B\\x2D-\\x7E]*" => {
            all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x2B' | '\x2D'..='\x7E'))
        }
        "[,;:|\\t ]" => s.chars().count() == 1 && all(|c| ",;:|\t ".contains(c)),
        "^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$" => {
            let b = s.as_bytes();
            b.len() >= 2
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        }
        "\\p{Print}+" => !s.is_empty() && all(|c| matches!(c, '\x20'..='\x7E')),
        "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*" => {
            all(|c| c >= '\u{20}' || "\r\n\t".contains(c))
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODEL: &str = r#"{"ops":{"Put":"PutInput"},"shapes":{
        "PutInput":{"type":"structure","required":["Name","Keys"],"order":["Mode","Name"],"members":{"Name":"Name","Keys":"KeyList","Mode":"Mode","Limit":"Limit","Tags":"TagMap","Item":"Item","Lists":"ListMap"}},
        "ListMap":{"type":"map","key":"Name","value":"KeyList"},
        "Name":{"type":"string","min":3,"max":5,"pattern":"[a-zA-Z0-9_.-]+"},
        "KeyList":{"type":"list","member":"Key","min":1,"max":2},
        "Key":{"type":"structure","required":["Attr"],"members":{"Attr":"Name"}},
        "Mode":{"type":"string","enum":["A","B"]},
        "Limit":{"type":"integer","min":1},
        "TagMap":{"type":"map","key":"Name","value":"Name"},
        "Item":{"type":"map","key":"Name","value":"Value"},
        "Value":{"type":"any"}}}"#;

    fn check(body: serde_json::Value) -> Result<(), ShapeError> {
        let m = Model::parse(MODEL).unwrap();
        m.check("Put", body.as_object().unwrap())
    }

    /// The violations as the older sentences.
    fn invalid(body: serde_json::Value) -> Vec<String> {
        match check(body) {
            Err(ShapeError::Invalid(v)) => v.iter().map(Violation::message).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn valid_request_passes() {
        assert_eq!(
            check(json!({"Name":"abc","Keys":[{"Attr":"xyz"}],"Item":{"abc":{"S":1}}})),
            Ok(())
        );
    }

    #[test]
    fn collects_every_violation_with_aws_paths() {
        let e = invalid(json!({"Name":"a!","Keys":[{"Attr":"x"},{}],"Mode":"C","Limit":0}));
        assert!(e.contains(&"Value 'a!' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 3".to_string()), "{e:?}");
        assert!(e.iter().any(|s| s.contains("'a!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern")));
        assert!(e
            .iter()
            .any(|s| s.starts_with("Value 'x' at 'keys.1.member.attr'")));
        assert!(e.contains(&"Value null at 'keys.2.member.attr' failed to satisfy constraint: Member must not be null".to_string()));
        assert!(e
            .iter()
            .any(|s| s.ends_with("Member must satisfy enum value set: [A, B]")));
        assert!(e
            .iter()
            .any(|s| s.ends_with("Member must have value greater than or equal to 1")));
        assert_eq!(
            ShapeError::validation_message(&e[..1]).split(':').next(),
            Some("1 validation error detected")
        );
    }

    #[test]
    fn missing_required_and_list_length() {
        let e = invalid(json!({"Keys":[{"Attr":"abc"},{"Attr":"abc"},{"Attr":"abc"}]}));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].ends_with("at 'keys' failed to satisfy constraint: Member must have length less than or equal to 2"));
        assert!(e[1].starts_with("Value null at 'name'"));
    }

    #[test]
    fn map_keys_and_values() {
        let e = invalid(json!({"Name":"abc","Keys":[{"Attr":"abc"}],"Tags":{"a":"abcdefg"}}));
        // every constraint of the key's or value's shape is listed
        let all = "[Member must have length less than or equal to 5, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]";
        assert_eq!(e[0], format!("Value '{{\"a\":\"abcdefg\"}}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: {all}"));
        assert_eq!(e[1], format!("Value '{{\"a\":\"abcdefg\"}}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: {all}"));
        // a list value too long or short is a map value constraint too
        let e = invalid(json!({"Name":"abc","Keys":[{"Attr":"abc"}],"Lists":{"abc":[]}}));
        assert_eq!(e, vec!["Value '{\"abc\":[]}' at 'lists' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 2, Member must have length greater than or equal to 1]".to_string()]);
    }

    #[test]
    fn members_in_the_recorded_order_and_both_namings() {
        let Err(ShapeError::Invalid(v)) =
            check(json!({"Name":"a","Keys":[{"Attr":"x"}],"Mode":"C","Limit":0}))
        else {
            panic!()
        };
        let paths: Vec<&str> = v.iter().map(|x| x.path.as_str()).collect();
        // Mode and Name first, as the model orders them, then by name
        assert_eq!(paths, ["mode", "name", "keys.1.member.attr", "limit"]);
        assert_eq!(v[2].wire_path, "Keys.1.member.Attr");
        assert_eq!(
            v[3].framework_message(),
            "Value at 'Limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert_eq!(
            v[3].echoing("'zero'"),
            "Value 'zero' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn wrong_json_types_are_serialization_errors() {
        assert!(matches!(
            check(json!({"Name":7,"Keys":[]})),
            Err(ShapeError::Serialization(_))
        ));
        assert!(matches!(
            check(json!({"Name":"abc","Keys":{}})),
            Err(ShapeError::Serialization(_))
        ));
        assert!(matches!(
            check(json!({"Name":"abc","Keys":[],"Tags":{"abc":[1]}})),
            Err(ShapeError::Serialization(_))
        ));
        assert!(matches!(
            check(json!({"Name":"abc","Keys":[],"Limit":"1"})),
            Err(ShapeError::Serialization(_))
        ));
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("[0-9]{12}", "123456789012"));
        assert!(!pattern_matches("[0-9]{12}", "12345678901"));
        assert!(pattern_matches("([0-9a-f]{16})+", "0123456789abcdef"));
        assert!(!pattern_matches("([0-9a-f]{16})+", "0123456789abcdeF"));
        assert!(pattern_matches(
            "^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$",
            "a.b-c_d"
        ));
        assert!(!pattern_matches(
            "^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$",
            "a."
        ));
        assert!(pattern_matches("unknown(pattern)", "anything"));
    }
}
