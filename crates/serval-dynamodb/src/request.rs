//! Reading request bodies: JSON parsing (SerializationException when it is
//! not JSON) and the `N validation errors detected: ...` checks DynamoDB runs
//! on parameter shapes before anything else.

use crate::error::{self, Result};
use serde_json::{Map, Value as Json};
use serval_wire::shapes::{Model, ShapeError};
use std::sync::OnceLock;

/// A request body.
pub type Body = Map<String, Json>;

fn too_large() -> serval_core::AwsError {
    let mut e = error::err("RequestEntityTooLarge", "Request Entity Too Large");
    e.status = 413;
    e
}

/// The request body after its `Content-Encoding` (gzip or deflate, as the
/// SDKs' request compression sends them), at most `limit` bytes. A body
/// that does not decode is a server error, as DynamoDB answers it.
pub fn decode_body<'a>(
    encoding: Option<&str>,
    raw: &'a [u8],
    limit: usize,
) -> Result<std::borrow::Cow<'a, [u8]>> {
    use std::io::Read;
    if raw.len() > limit {
        return Err(too_large());
    }
    let mut body = std::borrow::Cow::Borrowed(raw);
    // Encodings apply in the order listed; undo them in reverse.
    let codings: Vec<&str> = encoding
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .collect();
    for coding in codings.into_iter().rev() {
        let bad = |what: &str| error::internal(format!("Could not decode the {what} request body"));
        let mut out = Vec::new();
        let read = match coding.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out),
            "deflate" => flate2::read::ZlibDecoder::new(&body[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out),
            other => {
                return Err(error::internal(format!(
                    "Unsupported Content-Encoding: {other}"
                )))
            }
        };
        if read.is_err() || out.is_empty() {
            return Err(bad(coding));
        }
        if out.len() > limit {
            return Err(too_large());
        }
        body = std::borrow::Cow::Owned(out);
    }
    Ok(body)
}

/// Parses a request body; an empty body is an empty object.
pub fn parse_body(raw: &[u8]) -> Result<Body> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::new());
    }
    match serde_json::from_slice::<Json>(raw) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(_) => Err(error::serialization(
            "Start of structure or map found where not expected.",
        )),
        // DynamoDB says no more than that.
        Err(_) => Err(error::serialization("")),
    }
}

/// Checks a request against the service model, as DynamoDB does before
/// anything else.
pub fn check_shape(prefix: &str, op: &str, body: &Body) -> Result<()> {
    static TABLES: OnceLock<Model> = OnceLock::new();
    static STREAMS: OnceLock<Model> = OnceLock::new();
    let load = |text: &str| Model::parse(text).expect("the embedded model parses");
    let model = match prefix {
        "DynamoDB_20120810" => {
            let model = TABLES.get_or_init(|| load(include_str!("../model/dynamodb.json")));
            return crate::validate::check(model, op, body);
        }
        "DynamoDBStreams_20120810" => {
            STREAMS.get_or_init(|| load(include_str!("../model/dynamodbstreams.json")))
        }
        _ => return Ok(()),
    };
    match model.check(op, body) {
        Ok(()) => Ok(()),
        Err(ShapeError::Serialization(m)) => Err(error::serialization(m)),
        Err(ShapeError::Invalid(e)) => {
            let messages: Vec<String> = e.iter().map(|v| v.message()).collect();
            Err(error::validation(ShapeError::validation_message(&messages)))
        }
    }
}

/// Collects shape violations and reports them as DynamoDB does.
#[derive(Default)]
pub struct Checks(Vec<String>);

fn shown(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::String(s) => format!("'{s}'"),
        other => format!("'{other}'"),
    }
}

impl Checks {
    /// A new set of checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `constraint` by the value at `path`.
    pub fn fail(&mut self, value: &Json, path: &str, constraint: &str) {
        self.0.push(format!(
            "Value {} at '{path}' failed to satisfy constraint: {constraint}",
            shown(value)
        ));
    }

    /// Records a violation of `constraint` by the value at `path`, echoed
    /// as `shown` (quoted already).
    pub fn fail_shown(&mut self, shown: &str, path: &str, constraint: &str) {
        self.0.push(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Requires `field` to be present.
    pub fn required(&mut self, body: &Body, field: &str) {
        if body.get(field).is_none_or(Json::is_null) {
            self.fail(&Json::Null, &lower_first(field), "Member must not be null");
        }
    }

    /// Checks a table name (or ARN) in `field`.
    pub fn table_name(&mut self, body: &Body, field: &str) {
        match body.get(field) {
            None | Some(Json::Null) => {
                self.fail(&Json::Null, &lower_first(field), "Member must not be null")
            }
            Some(v) => {
                let s = v.as_str().unwrap_or_default();
                self.name_value(v, s, &lower_first(field));
            }
        }
    }

    /// Checks a table or index name value at `path`.
    pub fn name_value(&mut self, v: &Json, s: &str, path: &str) {
        let arn = s.starts_with("arn:");
        if s.len() < 3 {
            self.fail(
                v,
                path,
                "Member must have length greater than or equal to 3",
            );
        }
        if !arn && s.len() > 255 {
            self.fail(v, path, "Member must have length less than or equal to 255");
        }
        if !arn
            && !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        {
            self.fail(
                v,
                path,
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            );
        }
    }

    /// Checks that `field`, when present, is one of `allowed`.
    pub fn enum_field(&mut self, body: &Body, field: &str, allowed: &[&str]) {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            if !v.as_str().is_some_and(|s| allowed.contains(&s)) {
                self.fail(
                    v,
                    &lower_first(field),
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// Checks an integer field's range when present.
    pub fn int_range(&mut self, body: &Body, field: &str, min: i64, max: i64) {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            match v.as_i64() {
                Some(n) if n < min => self.fail(
                    v,
                    &lower_first(field),
                    &format!("Member must have value greater than or equal to {min}"),
                ),
                Some(n) if n > max => self.fail(
                    v,
                    &lower_first(field),
                    &format!("Member must have value less than or equal to {max}"),
                ),
                Some(_) => {}
                None => self.fail(v, &lower_first(field), "Member must be a number"),
            }
        }
    }

    /// The ValidationException for what was found, if anything.
    pub fn finish(self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(error::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(error::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// `TableName` -> `tableName`, as DynamoDB names parameters in messages.
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A string field.
pub fn str_of<'a>(body: &'a Body, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Json::as_str)
}

/// A boolean field.
pub fn bool_of(body: &Body, field: &str) -> Option<bool> {
    body.get(field).and_then(Json::as_bool)
}

/// An object field.
pub fn obj_of<'a>(body: &'a Body, field: &str) -> Option<&'a Map<String, Json>> {
    body.get(field).and_then(Json::as_object)
}

/// An array field.
pub fn arr_of<'a>(body: &'a Body, field: &str) -> Option<&'a Vec<Json>> {
    body.get(field).and_then(Json::as_array)
}

/// Requires the table name and returns it.
pub fn table_name(body: &Body) -> Result<&str> {
    let mut c = Checks::new();
    c.table_name(body, "TableName");
    c.finish()?;
    Ok(str_of(body, "TableName").unwrap_or_default())
}
