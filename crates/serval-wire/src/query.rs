//! The AWS query protocol, for any service that speaks it (SQS's legacy
//! API, SNS): reading `Action=...&A.1.B=...` parameters into the JSON shape
//! of the operation's input (so one handler serves both the JSON and the
//! query protocol), and writing XML responses from a JSON result.
//!
//! Reading is driven by the service's [`Model`]: a structure's members are
//! looked up by their member name or by an alias (the query protocol's
//! `locationName`, e.g. SQS's `Attribute` for `Attributes`); lists are
//! `Name.N` (flattened) or `Name.member.N`; maps are `Name.N.Key|Name` and
//! `Name.N.Value`, flattened or under `entry`. Scalars are converted to the
//! JSON type of their shape; a value that does not convert stays a string, so
//! the model's check reports it as the JSON protocol would.

use crate::error_render::xml_escape;
use crate::request::Request;
use crate::shapes::{Kind, Model};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// The parameters of a query-protocol request: the query string, then the
/// form body when it is `application/x-www-form-urlencoded` (or has no
/// content type).
pub fn params(req: &Request) -> Vec<(String, String)> {
    let mut out = req.query_pairs();
    let form = req.header("content-type").is_none_or(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if form && !req.body.is_empty() {
        out.extend(
            form_urlencoded::parse(&req.body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    out
}

/// The value of parameter `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &str, value: &str) {
        let mut node = self;
        for seg in path.split('.') {
            node = node.children.entry(seg.to_string()).or_default();
        }
        node.value = Some(value.to_string());
    }

    /// Children keyed by positive integers, in numeric order.
    fn indexed(&self) -> Vec<&Node> {
        let mut v: Vec<(u64, &Node)> = self
            .children
            .iter()
            .filter_map(|(k, n)| k.parse::<u64>().ok().filter(|i| *i > 0).map(|i| (i, n)))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, n)| n).collect()
    }

    fn child(&self, names: &[&str]) -> Option<&Node> {
        names.iter().find_map(|n| self.children.get(*n))
    }
}

/// Aliases of structure members in the query protocol: `(member, [query names])`.
pub type Aliases<'a> = &'a [(&'a str, &'a [&'a str])];

/// The input of `op` as the JSON protocol would carry it, from query
/// parameters (`Action`, `Version` and signature parameters are ignored).
pub fn to_json(
    model: &Model,
    op: &str,
    params: &[(String, String)],
    aliases: Aliases<'_>,
) -> Map<String, Json> {
    let mut root = Node::default();
    for (k, v) in params {
        if k == "Action" || k == "Version" || k.starts_with("X-Amz-") || k.is_empty() {
            continue;
        }
        root.insert(k, v);
    }
    let Some(&id) = model.ops.get(op) else {
        return Map::new();
    };
    match convert(model, id, &root, aliases) {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    }
}

fn convert(model: &Model, id: usize, node: &Node, aliases: Aliases<'_>) -> Option<Json> {
    match &model.shapes[id].kind {
        Kind::Structure { members, .. } => {
            let mut out = Map::new();
            for (wire, _, shape) in members {
                let mut names: Vec<&str> = vec![wire.as_str()];
                for (m, alts) in aliases {
                    if m == wire {
                        names.extend(alts.iter().copied());
                    }
                }
                if let Some(child) = node.child(&names) {
                    if let Some(v) = convert(model, *shape, child, aliases) {
                        out.insert(wire.clone(), v);
                    }
                }
            }
            Some(Json::Object(out))
        }
        Kind::List(member) => {
            let base = node.child(&["member"]).unwrap_or(node);
            let items = base.indexed();
            if items.is_empty() {
                // `Name=value` without an index: a list of one.
                return node
                    .value
                    .as_ref()
                    .map(|v| Json::Array(vec![scalar(model, *member, v)]));
            }
            Some(Json::Array(
                items
                    .into_iter()
                    .filter_map(|n| convert(model, *member, n, aliases))
                    .collect(),
            ))
        }
        Kind::Map(_, value) => {
            let base = node.child(&["entry"]).unwrap_or(node);
            let mut out = Map::new();
            for entry in base.indexed() {
                let key = entry
                    .child(&["Name", "Key", "key", "name"])
                    .and_then(|n| n.value.clone());
                let val = entry.child(&["Value", "value"]);
                if let (Some(k), Some(v)) = (key, val) {
                    if let Some(j) = convert(model, *value, v, aliases) {
                        out.insert(k, j);
                    }
                }
            }
            Some(Json::Object(out))
        }
        _ => node.value.as_ref().map(|v| scalar(model, id, v)),
    }
}

fn scalar(model: &Model, id: usize, v: &str) -> Json {
    match model.shapes[id].kind {
        Kind::Int => v
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .unwrap_or_else(|_| Json::String(v.to_string())),
        Kind::Double => v
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(v.to_string())),
        Kind::Bool => match v.trim().to_ascii_lowercase().as_str() {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => Json::String(v.to_string()),
        },
        _ => Json::String(v.to_string()),
    }
}

/// How a JSON result becomes query XML.
#[derive(Debug, Default, Clone, Copy)]
pub struct XmlRules<'a> {
    /// JSON member -> XML element name (`QueueUrls` -> `QueueUrl`).
    pub renames: &'a [(&'a str, &'a str)],
    /// Objects that are maps, written as flattened entries:
    /// `(element name, key element, value element)`, e.g. `("Attribute", "Name", "Value")`.
    pub maps: &'a [(&'a str, &'a str, &'a str)],
    /// Lists written wrapped, as `<Name><member>..</member></Name>` (others are flattened).
    pub wrapped: &'a [&'a str],
}

impl XmlRules<'_> {
    fn rename<'b>(&'b self, key: &'b str) -> &'b str {
        self.renames
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or(key)
    }
}

fn write_value(out: &mut String, name: &str, v: &Json, rules: &XmlRules<'_>) {
    match v {
        Json::Null => {}
        Json::Array(items) => {
            if rules.wrapped.contains(&name) {
                out.push_str(&format!("<{name}>"));
                for item in items {
                    write_value(out, "member", item, rules);
                }
                out.push_str(&format!("</{name}>"));
            } else {
                for item in items {
                    write_value(out, name, item, rules);
                }
            }
        }
        Json::Object(obj) => {
            if let Some((_, k, val)) = rules.maps.iter().find(|(m, _, _)| *m == name) {
                for (key, value) in obj {
                    out.push_str(&format!("<{name}><{k}>{}</{k}>", xml_escape(key)));
                    write_value(out, val, value, rules);
                    out.push_str(&format!("</{name}>"));
                }
            } else {
                out.push_str(&format!("<{name}>"));
                write_fields(out, obj, rules);
                out.push_str(&format!("</{name}>"));
            }
        }
        Json::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn write_fields(out: &mut String, obj: &Map<String, Json>, rules: &XmlRules<'_>) {
    for (k, v) in obj {
        write_value(out, rules.rename(k), v, rules);
    }
}

/// A query-protocol response document: `<{action}Response xmlns=..>`, the
/// result's fields in `<{action}Result>` (left out when `result` is an empty
/// object or null), then the request id in `<ResponseMetadata>`.
pub fn xml_response(
    action: &str,
    namespace: &str,
    request_id: &str,
    result: &Json,
    rules: &XmlRules<'_>,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\"?>");
    out.push_str(&format!("<{action}Response xmlns=\"{namespace}\">"));
    if let Json::Object(obj) = result {
        if !obj.is_empty() {
            out.push_str(&format!("<{action}Result>"));
            write_fields(&mut out, obj, rules);
            out.push_str(&format!("</{action}Result>"));
        }
    }
    out.push_str(&format!(
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        xml_escape(request_id)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODEL: &str = r#"{"ops":{"Send":"SendInput"},"shapes":{
        "SendInput":{"type":"structure","required":["Url"],"members":{"Url":"Str","Delay":"Int","Attributes":"AttrMap","Names":"NameList","Entries":"EntryList","Flag":"Bool"}},
        "Str":{"type":"string"},
        "Int":{"type":"integer"},
        "Bool":{"type":"boolean"},
        "AttrMap":{"type":"map","key":"Str","value":"Value"},
        "Value":{"type":"structure","members":{"StringValue":"Str","DataType":"Str"}},
        "NameList":{"type":"list","member":"Str"},
        "EntryList":{"type":"list","member":"Entry"},
        "Entry":{"type":"structure","members":{"Id":"Str","Delay":"Int"}}}}"#;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flattened_and_wrapped_params_become_json() {
        let m = Model::parse(MODEL).unwrap();
        let aliases: Aliases<'_> = &[
            ("Attributes", &["Attribute"]),
            ("Names", &["Name"]),
            ("Entries", &["Entry"]),
        ];
        let got = to_json(
            &m,
            "Send",
            &p(&[
                ("Action", "Send"),
                ("Url", "u"),
                ("Delay", "5"),
                ("Flag", "true"),
                ("Attribute.2.Name", "b"),
                ("Attribute.2.Value.StringValue", "2"),
                ("Attribute.2.Value.DataType", "Number"),
                ("Attribute.1.Name", "a"),
                ("Attribute.1.Value.StringValue", "x"),
                ("Name.10", "ten"),
                ("Name.2", "two"),
                ("Entries.member.1.Id", "e1"),
                ("Entries.member.1.Delay", "oops"),
            ]),
            aliases,
        );
        assert_eq!(
            Json::Object(got),
            json!({"Url":"u","Delay":5,"Flag":true,
                "Attributes":{"a":{"StringValue":"x"},"b":{"StringValue":"2","DataType":"Number"}},
                "Names":["two","ten"],
                "Entries":[{"Id":"e1","Delay":"oops"}]})
        );
    }

    #[test]
    fn xml_response_flattens_lists_and_maps() {
        let rules = XmlRules {
            renames: &[("Urls", "QueueUrl"), ("Attributes", "Attribute")],
            maps: &[("Attribute", "Name", "Value")],
            wrapped: &[],
        };
        let doc = xml_response(
            "List",
            "ns",
            "rid",
            &json!({"Urls":["a&b","c"],"Attributes":{"k":"v"}}),
            &rules,
        );
        assert!(
            doc.contains("<QueueUrl>a&amp;b</QueueUrl><QueueUrl>c</QueueUrl>"),
            "{doc}"
        );
        assert!(
            doc.contains("<Attribute><Name>k</Name><Value>v</Value></Attribute>"),
            "{doc}"
        );
        assert!(
            doc.contains("<ListResponse xmlns=\"ns\"><ListResult>"),
            "{doc}"
        );
        assert!(doc.contains("<RequestId>rid</RequestId>"));
        let empty = xml_response("Delete", "ns", "rid", &json!({}), &rules);
        assert!(!empty.contains("DeleteResult"));
    }
}
