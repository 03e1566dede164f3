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

/// Responses at least this long are compressed when the client accepts it.
pub const COMPRESS_THRESHOLD: usize = 4096;

/// A content coding DynamoDB answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip`.
    Gzip,
    /// `deflate` (zlib-wrapped, as HTTP means it).
    Deflate,
}

impl Coding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// The coding DynamoDB picks for a response from the request's (first)
/// `Accept-Encoding` header, reproducing how it reads the header:
/// elements are comma-separated and trimmed; the coding must be exactly
/// `gzip`, `deflate` or `*` (any case); the quality is the value after the
/// first `q=` in the parameters (an unparsable value counts as 1, values
/// above 1 as 1, zero or below refuse the coding); `identity` is ignored.
/// The highest quality wins; on a tie a coding named explicitly beats one
/// reached through `*`, then the earlier one, and `*` alone means gzip.
pub fn response_coding(accept: Option<&str>) -> Option<Coding> {
    // (quality, explicit, position) per coding: the best entry seen.
    let mut best: [Option<(f64, bool, usize)>; 2] = [None, None];
    let mut wildcard: Option<(f64, usize)> = None;
    for (pos, element) in accept?.split(',').enumerate() {
        let (name, params) = element.split_once(';').unwrap_or((element, ""));
        let name = name.trim().to_ascii_lowercase();
        let q = match params.find("q=") {
            None => 1.0,
            Some(i) => {
                let v = params[i + 2..].split(';').next().unwrap_or("").trim();
                match v.parse::<f64>() {
                    Ok(q) if q.is_finite() => q.min(1.0),
                    _ => 1.0,
                }
            }
        };
        let slot = match name.as_str() {
            "gzip" => 0,
            "deflate" => 1,
            "*" => {
                if wildcard.is_none() {
                    wildcard = Some((q, pos));
                }
                continue;
            }
            _ => continue,
        };
        let cur = &mut best[slot];
        if cur.is_none_or(|(bq, _, _)| q > bq) {
            *cur = Some((q, true, cur.map_or(pos, |(_, _, p)| p)));
        }
    }
    if let Some((q, pos)) = wildcard {
        for slot in &mut best {
            if slot.is_none() {
                *slot = Some((q, false, pos));
            }
        }
    }
    let rank = |e: Option<(f64, bool, usize)>| e.filter(|(q, _, _)| *q > 0.0);
    match (rank(best[0]), rank(best[1])) {
        (None, None) => None,
        (Some(_), None) => Some(Coding::Gzip),
        (None, Some(_)) => Some(Coding::Deflate),
        (Some(g), Some(d)) => {
            let key =
                |(q, explicit, pos): (f64, bool, usize)| (q, explicit, std::cmp::Reverse(pos));
            if key(d).partial_cmp(&key(g)) == Some(std::cmp::Ordering::Greater) {
                Some(Coding::Deflate)
            } else {
                Some(Coding::Gzip)
            }
        }
    }
}

/// `body` compressed with `coding`.
pub fn encode_body(coding: Coding, body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let level = flate2::Compression::new(6);
    let out = Vec::with_capacity(body.len() / 4 + 64);
    let done = match coding {
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(out, level);
            e.write_all(body).and_then(|_| e.finish())
        }
        Coding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(out, level);
            e.write_all(body).and_then(|_| e.finish())
        }
    };
    // Writing to a Vec cannot fail.
    done.unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::{response_coding, Coding};

    // The cases DynamoDB was measured on (ScyllaDB's test_compressed_response.py).
    #[test]
    fn accept_encoding_as_dynamodb_reads_it() {
        let g = Some(Coding::Gzip);
        let d = Some(Coding::Deflate);
        let cases: &[(&str, Option<Coding>)] = &[
            ("identity", None),
            ("", None),
            ("br", None),
            ("x-gzip", None),
            ("gzip, deflate", g),
            ("br, identity, deflate, gzip", d),
            ("GZIP, identity", g),
            ("dog, gzip ,, cat", g),
            ("gzip;q=0.8, deflate;q=0.5", g),
            ("br, gzip;q=0, deflate; q = 0.5 , identity;q=0", d),
            ("*", g),
            ("*, deflate;q=0.5", g),
            ("*, deflate", d),
            ("*, identity", g),
            ("*, gzip;q=0.5", d),
            ("gzip ;q=0", None),
            ("identity;q=0", None),
            ("*;q=0", None),
            ("*;q=0.5,identity", g),
            ("gzip;q=0.5,identity;q=0.8", g),
            ("br;q=0.8,identity;q=0.5,*;q=0", None),
            ("\"gzip\"", None),
            ("gzip br", None),
            ("gzip:q=1", None),
            ("deflate;q=0.5, gzip;q=31", g),
            ("gzip;q=31,deflate;q=51", g),
            ("deflate;q=0.5, gzip;q=0.2", d),
            ("deflate;q=0.5, gzip;q=1;q=0.2", g),
            ("deflate;q=0.5,gzip;q=0.", d),
            ("deflate;q=0.5,gzip;q=0.x", g),
            ("deflate;q=0.5,gzip;q=0. x", g),
            ("deflate;q=-0.5,gzip;q=0.2", g),
            ("gzip;q= 0;q=1", None),
            ("gzip;q =0;q=1", g),
            ("gzip; q=0;q=1", None),
            ("gzip;nq=0;q=1", None),
            ("gzip;q=0, gzip;q=1, gzip;q=0", g),
            ("br,identity;q=0.5,gzip;q=0.0001", g),
        ];
        for (header, want) in cases {
            assert_eq!(response_coding(Some(header)), *want, "{header:?}");
        }
        assert_eq!(response_coding(None), None);
    }
}
