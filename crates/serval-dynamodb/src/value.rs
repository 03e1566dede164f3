//! Attribute values: DynamoDB's ten types, read from and written to the wire
//! JSON (`{"S": "x"}`), validated with DynamoDB's own messages, compared and
//! sized as DynamoDB compares and sizes them.

use crate::number::Num;
use base64::Engine;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// An item: attribute names to values.
pub type Item = BTreeMap<String, Value>;

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// String.
    S(String),
    /// Number.
    N(Num),
    /// Binary.
    B(Vec<u8>),
    /// Boolean.
    Bool(bool),
    /// Null (always true).
    Null,
    /// List.
    L(Vec<Value>),
    /// Map.
    M(BTreeMap<String, Value>),
    /// String set (insertion order kept, no duplicates).
    Ss(Vec<String>),
    /// Number set.
    Ns(Vec<Num>),
    /// Binary set.
    Bs(Vec<Vec<u8>>),
}

/// Why a JSON attribute value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// The JSON is not the shape of an AttributeValue (SerializationException).
    Shape(String),
    /// The value breaks a DynamoDB rule (ValidationException).
    Invalid(String),
}

impl ValueError {
    /// As the AWS error.
    pub fn into_aws(self) -> serval_core::AwsError {
        match self {
            ValueError::Shape(m) => crate::error::serialization(m),
            ValueError::Invalid(m) => crate::error::validation(m),
        }
    }
}

/// Which of DynamoDB's two attribute-value checkers an operation runs. They
/// word the same mistake differently; which operation runs which is as
/// recorded in us-east-1 in October 2026 (the paritysuite conformance
/// suite's `valueLayers` captures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// PutItem, UpdateItem and DeleteItem: the current checker, which
    /// reports a bad number or a duplicate set member inside the
    /// `1 validation error detected: ` envelope wherever the value sits.
    Write,
    /// GetItem, BatchGetItem and Query: the current checker, bare.
    Read,
    /// BatchWriteItem, TransactWriteItems, TransactGetItems, Scan and PartiQL
    /// parameters: the older checker. Numbers are read as Java's BigDecimal
    /// reads them, a duplicate set prints its members as sent, and a bad
    /// expression value is wrapped in `ExpressionAttributeValues contains
    /// invalid value: ... for key :v`.
    Older,
}

impl Layer {
    /// A number or duplicate-set message as this checker reports it.
    fn reported(self, msg: String) -> ValueError {
        invalid(self.enveloped(msg))
    }

    /// A request-level refusal (a misused parameter, a malformed condition)
    /// as this checker reports it: the writes' one puts it in the
    /// `1 validation error detected: ` envelope.
    pub fn enveloped(self, msg: impl Into<String>) -> String {
        let msg = msg.into();
        match self {
            Layer::Write => format!("1 validation error detected: {msg}"),
            Layer::Read | Layer::Older => msg,
        }
    }

    /// Whether a bad expression attribute value is wrapped in
    /// `ExpressionAttributeValues contains invalid value: `.
    pub fn wraps_expression_values(self) -> bool {
        self == Layer::Older
    }

    /// A string set's duplicates: the current checker quotes the members in
    /// byte order up to the first repeat, then the repeat, then the rest as
    /// sent; the older one prints them as sent.
    fn duplicate_strings(self, members: &[String]) -> ValueError {
        let shown = match self {
            Layer::Older => members.join(", "),
            Layer::Write | Layer::Read => up_to_repeat(members)
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", "),
        };
        self.reported(format!(
            "One or more parameter values were invalid: Input collection [{shown}] contains duplicates."
        ))
    }

    fn duplicate_binaries(self, members: &[Vec<u8>]) -> ValueError {
        let shown = match self {
            Layer::Older => members
                .iter()
                .map(|b| B64.encode(b))
                .collect::<Vec<_>>()
                .join(", "),
            Layer::Write | Layer::Read => up_to_repeat(members)
                .iter()
                .map(|b| format!("\"{}\"", B64.encode(b)))
                .collect::<Vec<_>>()
                .join(","),
        };
        self.reported(format!(
            "One or more parameter values were invalid: Input collection [{shown}]of type BS contains duplicates."
        ))
    }

    fn duplicate_numbers(self) -> ValueError {
        match self {
            Layer::Older => invalid("Input collection contains duplicates"),
            Layer::Write | Layer::Read => self.reported(
                "One or more parameter values were invalid: Input collection contains duplicates."
                    .into(),
            ),
        }
    }

    fn number(self, s: &str) -> Result<Num, ValueError> {
        let parsed = match self {
            Layer::Older => Num::parse_java(s),
            Layer::Write | Layer::Read => Num::parse(s),
        };
        parsed.map_err(|e| self.reported(e.0))
    }
}

/// The members of a set in byte order up to its first repeated member, then
/// the repeat, then the rest as sent (how DynamoDB's current checker lists a
/// set with duplicates: it sorts as it goes and stops at the repeat).
fn up_to_repeat<T: Ord + Clone>(members: &[T]) -> Vec<T> {
    let mut seen: Vec<T> = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        match seen.binary_search(m) {
            Ok(_) => {
                seen.push(m.clone());
                seen.extend_from_slice(&members[i + 1..]);
                return seen;
            }
            Err(at) => seen.insert(at, m.clone()),
        }
    }
    seen
}

fn shape(msg: &str) -> ValueError {
    ValueError::Shape(msg.to_string())
}

fn invalid(msg: impl Into<String>) -> ValueError {
    ValueError::Invalid(msg.into())
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn json_str(v: &serde_json::Value) -> Result<&str, ValueError> {
    v.as_str()
        .ok_or_else(|| shape("STRING_VALUE can not be converted to a String"))
}

fn json_bytes(v: &serde_json::Value) -> Result<Vec<u8>, ValueError> {
    let s = v
        .as_str()
        .ok_or_else(|| shape("Only base64 encoded String can be converted to a Blob"))?;
    B64.decode(s)
        .map_err(|_| shape("Base64 encoded length is invalid"))
}

fn json_array(v: &serde_json::Value) -> Result<&Vec<serde_json::Value>, ValueError> {
    v.as_array()
        .ok_or_else(|| shape("Start of list found where not expected"))
}

impl Value {
    /// Reads and validates one wire attribute value as the older checker
    /// does (see [`Layer`]).
    pub fn from_json(v: &serde_json::Value) -> Result<Value, ValueError> {
        Self::from_json_in(v, Layer::Older)
    }

    /// Reads and validates one wire attribute value, with the messages of
    /// the checker `layer`.
    pub fn from_json_in(v: &serde_json::Value, layer: Layer) -> Result<Value, ValueError> {
        Self::from_json_depth(v, 0, layer)
    }

    fn from_json_depth(
        v: &serde_json::Value,
        depth: usize,
        layer: Layer,
    ) -> Result<Value, ValueError> {
        // 32 levels: a scalar may sit under at most 31 lists or maps.
        if depth >= 32 {
            return Err(invalid(
                "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
            ));
        }
        let obj = v
            .as_object()
            .ok_or_else(|| shape("Unexpected value type in payload"))?;
        let mut found: Option<Value> = None;
        let mut count = 0;
        for (k, inner) in obj {
            if inner.is_null() {
                continue;
            }
            let val = match k.as_str() {
                "S" => Value::S(json_str(inner)?.to_string()),
                "N" => Value::N(layer.number(json_str(inner)?)?),
                "B" => Value::B(json_bytes(inner)?),
                "BOOL" => Value::Bool(
                    inner
                        .as_bool()
                        .ok_or_else(|| shape("Unexpected value type for BOOL"))?,
                ),
                "NULL" => {
                    if inner.as_bool() != Some(true) {
                        return Err(invalid("One or more parameter values were invalid: Null attribute value types must have the value of true"));
                    }
                    Value::Null
                }
                "L" => {
                    let items = json_array(inner)?;
                    let mut out = Vec::with_capacity(items.len());
                    for i in items {
                        out.push(Self::from_json_depth(i, depth + 1, layer)?);
                    }
                    Value::L(out)
                }
                "M" => {
                    let m = inner.as_object().ok_or_else(|| {
                        shape("Start of structure or map found where not expected")
                    })?;
                    let mut out = BTreeMap::new();
                    for (mk, mv) in m {
                        check_name(mk)?;
                        out.insert(mk.clone(), Self::from_json_depth(mv, depth + 1, layer)?);
                    }
                    Value::M(out)
                }
                "SS" => {
                    let items = json_array(inner)?;
                    if items.is_empty() {
                        return Err(invalid("One or more parameter values were invalid: An string set  may not be empty"));
                    }
                    let mut out: Vec<String> = Vec::with_capacity(items.len());
                    for i in items {
                        out.push(json_str(i)?.to_string());
                    }
                    if has_duplicates(&out) {
                        return Err(layer.duplicate_strings(&out));
                    }
                    Value::Ss(out)
                }
                "NS" => {
                    let items = json_array(inner)?;
                    if items.is_empty() {
                        return Err(invalid("One or more parameter values were invalid: An number set  may not be empty"));
                    }
                    let mut out = Vec::with_capacity(items.len());
                    for i in items {
                        out.push(layer.number(json_str(i)?)?);
                    }
                    if has_duplicates(&out) {
                        return Err(layer.duplicate_numbers());
                    }
                    Value::Ns(out)
                }
                "BS" => {
                    let items = json_array(inner)?;
                    if items.is_empty() {
                        return Err(invalid("One or more parameter values were invalid: Binary sets should not be empty"));
                    }
                    let mut out = Vec::with_capacity(items.len());
                    for i in items {
                        out.push(json_bytes(i)?);
                    }
                    if has_duplicates(&out) {
                        return Err(layer.duplicate_binaries(&out));
                    }
                    Value::Bs(out)
                }
                _ => continue,
            };
            count += 1;
            found = Some(val);
        }
        match (count, found) {
            (1, Some(v)) => Ok(v),
            (0, _) | (_, None) => Err(invalid(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            )),
            _ => Err(invalid("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")),
        }
    }

    /// DynamoDB's name for the type (`S`, `N`, `BOOL`, `SS`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::S(_) => "S",
            Value::N(_) => "N",
            Value::B(_) => "B",
            Value::Bool(_) => "BOOL",
            Value::Null => "NULL",
            Value::L(_) => "L",
            Value::M(_) => "M",
            Value::Ss(_) => "SS",
            Value::Ns(_) => "NS",
            Value::Bs(_) => "BS",
        }
    }

    /// Size in bytes as DynamoDB counts it (names are counted by the caller).
    pub fn size(&self) -> usize {
        match self {
            Value::S(s) => s.len(),
            Value::N(n) => n.size(),
            Value::B(b) => b.len(),
            Value::Bool(_) | Value::Null => 1,
            Value::L(l) => 3 + l.iter().map(|v| 1 + v.size()).sum::<usize>(),
            Value::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + v.size()).sum::<usize>(),
            Value::Ss(s) => s.iter().map(String::len).sum(),
            Value::Ns(s) => s.iter().map(Num::size).sum(),
            Value::Bs(s) => s.iter().map(Vec::len).sum(),
        }
    }

    /// Appends the wire JSON of this value.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::S(s) => {
                out.push_str("{\"S\":");
                write_str(out, s);
                out.push('}');
            }
            Value::N(n) => {
                out.push_str("{\"N\":\"");
                out.push_str(n.as_str());
                out.push_str("\"}");
            }
            Value::B(b) => {
                out.push_str("{\"B\":\"");
                B64.encode_string(b, out);
                out.push_str("\"}");
            }
            Value::Bool(b) => out.push_str(if *b {
                "{\"BOOL\":true}"
            } else {
                "{\"BOOL\":false}"
            }),
            Value::Null => out.push_str("{\"NULL\":true}"),
            Value::L(l) => {
                out.push_str("{\"L\":[");
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push_str("]}");
            }
            Value::M(m) => {
                out.push_str("{\"M\":");
                write_item(out, m);
                out.push('}');
            }
            Value::Ss(s) => {
                out.push_str("{\"SS\":[");
                for (i, v) in s.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, v);
                }
                out.push_str("]}");
            }
            Value::Ns(s) => {
                out.push_str("{\"NS\":[");
                for (i, v) in s.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(v.as_str());
                    out.push('"');
                }
                out.push_str("]}");
            }
            Value::Bs(s) => {
                out.push_str("{\"BS\":[");
                for (i, v) in s.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    B64.encode_string(v, out);
                    out.push('"');
                }
                out.push_str("]}");
            }
        }
    }

    /// As a `serde_json::Value` (for responses built with serde_json).
    pub fn to_json(&self) -> serde_json::Value {
        let mut s = String::new();
        self.write_json(&mut s);
        serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
    }

    /// The ordering DynamoDB uses for `<`, `BETWEEN` and sort keys: defined
    /// only between two values of the same scalar type (S, N, B).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
            (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Equality as DynamoDB's `=` sees it (sets compare as sets).
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Ss(a), Value::Ss(b)) => same_set(a, b),
            (Value::Ns(a), Value::Ns(b)) => same_set(a, b),
            (Value::Bs(a), Value::Bs(b)) => same_set(a, b),
            (Value::L(a), Value::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (Value::M(a), Value::M(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.equals(w)))
            }
            _ => self == other,
        }
    }
}

fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn has_duplicates<T: Ord + Clone>(v: &[T]) -> bool {
    let mut sorted = v.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Appends a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends the wire JSON of an item (or map).
pub fn write_item(out: &mut String, item: &Item) {
    out.push('{');
    for (i, (k, v)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        v.write_json(out);
    }
    out.push('}');
}

/// An item as a `serde_json::Value`.
pub fn item_to_json(item: &Item) -> serde_json::Value {
    serde_json::Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// Reads a wire item (a map of attribute values) as the older checker does.
pub fn item_from_json(v: &serde_json::Value) -> Result<Item, ValueError> {
    item_from_json_in(v, Layer::Older)
}

/// Reads a wire item (a map of attribute values) with the messages of the
/// checker `layer`.
pub fn item_from_json_in(v: &serde_json::Value, layer: Layer) -> Result<Item, ValueError> {
    let obj = v
        .as_object()
        .ok_or_else(|| shape("Start of structure or map found where not expected"))?;
    let mut item = Item::new();
    for (k, v) in obj {
        check_name(k)?;
        item.insert(k.clone(), Value::from_json_in(v, layer)?);
    }
    Ok(item)
}

/// Attribute names (at any depth) are at most 64 KB.
pub fn check_name(name: &str) -> Result<(), ValueError> {
    if name.len() > 65535 {
        return Err(invalid(
            "1 validation error detected: Attribute name is too large, must be less than 65536 bytes",
        ));
    }
    Ok(())
}

/// Item size as DynamoDB counts it: names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: serde_json::Value) -> String {
        match Value::from_json(&v) {
            Ok(v) => format!("ok {v:?}"),
            Err(ValueError::Invalid(m)) => m,
            Err(ValueError::Shape(m)) => format!("shape {m}"),
        }
    }

    #[test]
    fn round_trips_every_type() {
        let src = json!({
            "s": {"S": "a\"b\n"}, "n": {"N": "1.50"}, "b": {"B": "AAE="},
            "t": {"BOOL": true}, "z": {"NULL": true},
            "l": {"L": [{"S": "x"}, {"N": "2"}]}, "m": {"M": {"k": {"SS": ["a", "b"]}}},
            "ns": {"NS": ["1", "2.0"]}, "bs": {"BS": ["AQ=="]}
        });
        let item = item_from_json(&src).unwrap_or_default();
        let mut out = String::new();
        write_item(&mut out, &item);
        let back: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(back["n"], json!({"N": "1.5"}));
        assert_eq!(back["ns"], json!({"NS": ["1", "2"]}));
        assert_eq!(back["s"], json!({"S": "a\"b\n"}));
        assert_eq!(back["m"]["M"]["k"], json!({"SS": ["a", "b"]}));
        assert_eq!(item_from_json(&back).unwrap_or_default(), item);
    }

    #[test]
    fn refuses_as_dynamodb() {
        assert!(err(json!({})).contains("is empty"));
        assert!(err(json!({"S": "a", "N": "1"})).contains("more than one datatypes"));
        assert!(err(json!({"NULL": false})).contains("value of true"));
        assert!(err(json!({"SS": []})).contains("An string set  may not be empty"));
        assert!(
            err(json!({"SS": ["a", "a"]})).contains("Input collection [a, a] contains duplicates.")
        );
        assert!(err(json!({"NS": ["1", "1.0"]})).contains("contains duplicates"));
        assert!(err(json!({"N": "x"})).contains("cannot be converted"));
        assert!(err(json!({"S": 1})).starts_with("shape"));
    }

    #[test]
    fn each_checker_words_numbers_and_duplicates_its_own_way() {
        let msg = |v: serde_json::Value, layer: Layer| match Value::from_json_in(&v, layer) {
            Err(ValueError::Invalid(m)) => m,
            other => format!("{other:?}"),
        };
        const INV: &str = "One or more parameter values were invalid: ";
        let ss = json!({"SS": ["b", "a", "b"]});
        let bs = json!({"BS": ["/w==", "AA==", "AA=="]});
        let ns = json!({"NS": ["2", "1", "2"]});
        assert_eq!(
            msg(ss.clone(), Layer::Read),
            format!("{INV}Input collection [\"a\", \"b\", \"b\"] contains duplicates.")
        );
        assert_eq!(
            msg(ss.clone(), Layer::Write),
            format!("1 validation error detected: {INV}Input collection [\"a\", \"b\", \"b\"] contains duplicates.")
        );
        assert_eq!(
            msg(ss, Layer::Older),
            format!("{INV}Input collection [b, a, b] contains duplicates.")
        );
        assert_eq!(
            msg(bs.clone(), Layer::Read),
            format!(
                "{INV}Input collection [\"AA==\",\"/w==\",\"AA==\"]of type BS contains duplicates."
            )
        );
        assert_eq!(
            msg(bs, Layer::Older),
            format!("{INV}Input collection [/w==, AA==, AA==]of type BS contains duplicates.")
        );
        assert_eq!(
            msg(ns.clone(), Layer::Read),
            format!("{INV}Input collection contains duplicates.")
        );
        assert_eq!(
            msg(ns, Layer::Older),
            "Input collection contains duplicates"
        );
        // the rest of the set after the repeat stays as sent
        assert_eq!(
            msg(json!({"SS": ["c", "a", "c", "b"]}), Layer::Read),
            format!("{INV}Input collection [\"a\", \"c\", \"c\", \"b\"] contains duplicates.")
        );
        let n = |s: &str| json!({"M": {"x": {"L": [{"N": s}]}}});
        assert_eq!(
            msg(n(""), Layer::Write),
            "1 validation error detected: The parameter cannot be converted to a numeric value: "
        );
        assert_eq!(
            msg(n(""), Layer::Older),
            "The parameter cannot be converted to a numeric value"
        );
        assert!(msg(n("1e2147483647"), Layer::Read).starts_with("Number overflow"));
        assert!(msg(n("1e2147483647"), Layer::Older).starts_with("Number underflow"));
    }

    #[test]
    fn sizes() {
        let item = item_from_json(&json!({"ab": {"S": "xyz"}, "l": {"L": [{"BOOL": true}]}}))
            .unwrap_or_default();
        assert_eq!(item_size(&item), 2 + 3 + 1 + (3 + 1 + 1));
    }
}
