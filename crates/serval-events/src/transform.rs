//! What a target receives: the event, a constant `Input`, the part of the
//! event an `InputPath` selects, or an `InputTransformer`'s template filled
//! with values picked from the event by `InputPathsMap`.
//!
//! AWS's quoting rules for the template: a `<var>` standing alone (where a
//! JSON value goes) is replaced by the value as JSON (strings quoted,
//! objects as objects, a path that selects nothing as `null`); a `<var>`
//! inside a quoted string is replaced by the value's text (a string without
//! its quotes, anything else as its JSON text), escaped so the string stays
//! valid; a template that is not JSON at all gets every value as text.

use serde_json::Value as Json;

/// One step of a path: a member name, an index or every element.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Member(String),
    Index(usize),
    All,
}

/// Parses `$`, `$.a.b`, `$.a[0]`, `$.a[*].b`, `$['a b']` (the forms of
/// `InputPath` and `InputPathsMap` values). `None` when malformed.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$')?;
    let b = rest.as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                steps.push(Step::Member(rest[start..j].to_string()));
                i = j;
            }
            b'[' => {
                let end = rest[i..].find(']')? + i;
                let inner = rest[i + 1..end].trim();
                if inner == "*" {
                    steps.push(Step::All);
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Member(q.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = end + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Whether a path is one [`select`] understands.
pub fn valid_path(path: &str) -> bool {
    parse_path(path).is_some()
}

fn walk(v: &Json, steps: &[Step]) -> Option<Json> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(v.clone());
    };
    match first {
        Step::Member(name) => walk(v.get(name)?, rest),
        Step::Index(n) => walk(v.as_array()?.get(*n)?, rest),
        Step::All => Some(Json::Array(
            v.as_array()?.iter().filter_map(|e| walk(e, rest)).collect(),
        )),
    }
}

/// The value a path selects in `doc`, if any.
pub fn select(doc: &Json, path: &str) -> Option<Json> {
    walk(doc, &parse_path(path)?)
}

/// Values a template can name besides its `InputPathsMap`.
pub struct Context<'a> {
    /// `<aws.events.rule-arn>`.
    pub rule_arn: &'a str,
    /// `<aws.events.rule-name>`.
    pub rule_name: &'a str,
    /// `<aws.events.event.ingestion-time>`.
    pub ingestion_time: &'a str,
}

/// Fills an input template. `paths` maps variable names to paths into `event`.
pub fn apply_template(
    template: &str,
    paths: &[(String, String)],
    event: &Json,
    ctx: &Context<'_>,
) -> String {
    let lookup = |name: &str| -> Option<Option<Json>> {
        if let Some((_, p)) = paths.iter().find(|(k, _)| k == name) {
            return Some(select(event, p));
        }
        Some(Some(match name {
            "aws.events.rule-arn" => Json::String(ctx.rule_arn.to_string()),
            "aws.events.rule-name" => Json::String(ctx.rule_name.to_string()),
            "aws.events.event.ingestion-time" => Json::String(ctx.ingestion_time.to_string()),
            "aws.events.event" | "aws.events.event.json" => event.clone(),
            _ => return None,
        }))
    };
    let is_json = serde_json::from_str::<Json>(&fill(template, &lookup, Mode::Probe)).is_ok();
    fill(
        template,
        &lookup,
        if is_json { Mode::Json } else { Mode::Text },
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Every standalone placeholder becomes `null` (to see if the template is JSON).
    Probe,
    Json,
    Text,
}

fn as_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn escaped(s: &str) -> String {
    let quoted = Json::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn fill(template: &str, lookup: &dyn Fn(&str) -> Option<Option<Json>>, mode: Mode) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut in_string = false;
    let mut escape = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            if let Some(end) = rest.find('>') {
                let name = &rest[1..end];
                if let Some(value) = lookup(name) {
                    match (mode, in_string) {
                        (Mode::Probe, false) => out.push_str("null"),
                        (Mode::Json, false) => {
                            out.push_str(&value.unwrap_or(Json::Null).to_string())
                        }
                        (Mode::Text, _) => {
                            out.push_str(&value.map(|v| as_text(&v)).unwrap_or_default())
                        }
                        (_, true) => {
                            out.push_str(&escaped(&value.map(|v| as_text(&v)).unwrap_or_default()))
                        }
                    }
                    rest = &rest[end + 1..];
                    escape = false;
                    continue;
                }
            }
        }
        if escape {
            escape = false;
        } else if c == '\\' && in_string {
            escape = true;
        } else if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev() -> Json {
        json!({"source": "aws.ec2", "detail": {"instance-id": "i-0123456789", "state": "running",
               "n": 5, "obj": {"a": [1, 2]}, "list": [{"x": 1}, {"x": 2}], "quote": "say \"hi\""}})
    }

    fn ctx() -> Context<'static> {
        Context {
            rule_arn: "arn:aws:events:us-east-1:000000000000:rule/r",
            rule_name: "r",
            ingestion_time: "2024-01-01T00:00:00Z",
        }
    }

    fn paths() -> Vec<(String, String)> {
        [
            ("instance", "$.detail.instance-id"),
            ("state", "$.detail.state"),
            ("n", "$.detail.n"),
            ("obj", "$.detail.obj"),
            ("missing", "$.detail.nope"),
            ("quote", "$.detail.quote"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    fn t(template: &str) -> String {
        apply_template(template, &paths(), &ev(), &ctx())
    }

    #[test]
    fn paths_select_members_indexes_and_all() {
        let e = ev();
        assert_eq!(select(&e, "$"), Some(e.clone()));
        assert_eq!(select(&e, "$.detail.state"), Some(json!("running")));
        assert_eq!(select(&e, "$.detail.obj.a[1]"), Some(json!(2)));
        assert_eq!(select(&e, "$.detail.list[*].x"), Some(json!([1, 2])));
        assert_eq!(select(&e, "$['detail']['n']"), Some(json!(5)));
        assert_eq!(select(&e, "$.detail.nope"), None);
        assert!(!valid_path("detail"));
        assert!(!valid_path("$..x"));
        assert!(valid_path("$.detail.list[0].x"));
    }

    #[test]
    fn standalone_placeholders_are_json_values() {
        assert_eq!(
            t(r#"{"instance": <instance>, "state": [9, <state>, true], "n": <n>, "o": <obj>}"#),
            r#"{"instance": "i-0123456789", "state": [9, "running", true], "n": 5, "o": {"a":[1,2]}}"#
        );
        assert_eq!(t(r#"{"m": <missing>}"#), r#"{"m": null}"#);
        assert_eq!(t("<state>"), r#""running""#);
    }

    #[test]
    fn placeholders_inside_strings_are_text() {
        assert_eq!(
            t(r#""instance <instance> is in <state>""#),
            r#""instance i-0123456789 is in running""#
        );
        assert_eq!(
            t(r#"{"msg": "n=<n> o=<obj>"}"#),
            r#"{"msg": "n=5 o={\"a\":[1,2]}"}"#
        );
        assert_eq!(t(r#"{"q": "<quote>"}"#), r#"{"q": "say \"hi\""}"#);
        assert!(serde_json::from_str::<Json>(&t(r#"{"q": "<quote>"}"#)).is_ok());
        assert_eq!(t(r#"{"m": "[<missing>]"}"#), r#"{"m": "[]"}"#);
    }

    #[test]
    fn text_templates_and_predefined_variables() {
        assert_eq!(
            t("<instance> is in state <state>"),
            "i-0123456789 is in state running"
        );
        assert_eq!(
            t(
                r#"{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>", "t": <aws.events.event.ingestion-time>}"#
            ),
            r#"{"rule": "r", "arn": "arn:aws:events:us-east-1:000000000000:rule/r", "t": "2024-01-01T00:00:00Z"}"#
        );
        let whole = t(r#"{"e": <aws.events.event>}"#);
        let v: Json = serde_json::from_str(&whole).unwrap_or_default();
        assert_eq!(v["e"], ev());
        // unknown placeholders stay as they are
        assert_eq!(t(r#"{"a": "<unknown>"}"#), r#"{"a": "<unknown>"}"#);
        // an escaped quote does not end the string
        assert_eq!(t(r#"{"a": "x\"<state>"}"#), r#"{"a": "x\"running"}"#);
    }
}
