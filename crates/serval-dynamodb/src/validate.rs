//! What DynamoDB does around the model check of a request
//! ([`serval_wire::shapes`]), operation by operation, as recorded from AWS:
//! the checks it makes before it (CreateTable's table name, Query's
//! ConditionalOperator), the ones it makes after (BatchWriteItem's table
//! names), the violations its newer validation framework words
//! (`Value at 'Limit' failed to satisfy constraint: ...`, no value echoed),
//! and how the older wording echoes a value: as JSON, or as Java's
//! `toString` for the shapes AWS prints that way.
//!
//! The recordings are the paritysuite and nubo-db DynamoDB conformance
//! suites' captures (us-east-1 and eu-west-2, 2026). AWS is moving its
//! operations to the newer framework region by region; only what was
//! recorded is followed here, the rest keeps the older wording.

use crate::error::{self, Result};
use crate::request::Body;
use serde_json::Value as Json;
use serval_wire::shapes::{pattern_matches, Model, ShapeError, Violation};

const ENUM: &str = "Member must satisfy enum value set";
const LENGTH: &str = "Member must have length";
const TABLE_NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";

/// Checks `body` of operation `op` against `model` and DynamoDB's rules
/// around it.
pub fn check(model: &Model, op: &str, body: &Body) -> Result<()> {
    before(op, body)?;
    let mut violations = match model.check(op, body) {
        Ok(()) => Vec::new(),
        Err(ShapeError::Serialization(m)) => return Err(error::serialization(m)),
        Err(ShapeError::Invalid(v)) => v,
    };
    if op == "BatchGetItem" {
        batch_get_table_names(body, &mut violations);
    }
    if violations.is_empty() {
        return after(op, body);
    }
    if let Some(e) = stops_at_return_values(op, body, &violations) {
        return Err(e);
    }
    let messages: Vec<String> = violations.iter().map(|v| render(op, v)).collect();
    Err(error::validation(ShapeError::validation_message(&messages)))
}

/// Checks DynamoDB makes before the model check, each reported alone.
fn before(op: &str, body: &Body) -> Result<()> {
    match op {
        // CreateTable checks its table name first and on its own (nubo-db
        // createTable captures, 2026-05).
        "CreateTable" => match body.get("TableName") {
            None | Some(Json::Null) => Err(error::validation(
                "The parameter 'TableName' is required but was not present in the request",
            )),
            Some(v @ Json::String(name)) => {
                let broken: Vec<String> = table_name_breaks(name)
                    .into_iter()
                    .map(|c| {
                        Violation {
                            path: "tableName".into(),
                            wire_path: "TableName".into(),
                            value: Some(v.clone()),
                            constraint: c.into(),
                        }
                        .message()
                    })
                    .collect();
                if broken.is_empty() {
                    Ok(())
                } else {
                    Err(error::validation(ShapeError::validation_message(&broken)))
                }
            }
            Some(_) => Ok(()),
        },
        // An empty RequestItems: BatchWriteItem still answers the bespoke
        // sentence in most regions, and it is one of the two answers the
        // newer captures accept (paritysuite, 2026-10); BatchGetItem moved
        // to the framework's wording, which the model check gives.
        "BatchWriteItem"
            if body
                .get("RequestItems")
                .and_then(Json::as_object)
                .is_some_and(|m| m.is_empty()) =>
        {
            Err(error::validation(
                "The requestItems parameter is required for BatchWriteItem",
            ))
        }
        // A ConditionalOperator outside its set beside QueryFilter
        // conditions is reported bare, alone and in the newer framework's
        // words (with its odd value set), ahead of an unknown Select
        // (paritysuite, us-east-1 and eu-west-2, 2026-10-09).
        "Query" => {
            let bad_operator = body
                .get("ConditionalOperator")
                .and_then(Json::as_str)
                .is_some_and(|o| o != "AND" && o != "OR");
            let filters = body
                .get("QueryFilter")
                .and_then(Json::as_object)
                .is_some_and(|f| !f.is_empty());
            if bad_operator && filters {
                return Err(error::validation(
                    "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks DynamoDB makes once the model check passed.
fn after(op: &str, body: &Body) -> Result<()> {
    // BatchWriteItem checks its table names only once the members'
    // constraints hold, so an unknown ReturnConsumedCapacity is reported
    // alone over a malformed name (paritysuite, 2026-10-09).
    if op == "BatchWriteItem" {
        if let Some(v) = table_names_violation(body) {
            return Err(error::validation(ShapeError::validation_message(&[
                render(op, &v),
            ])));
        }
    }
    Ok(())
}

/// The constraints of a table name that `name` breaks (an ARN is checked
/// where it is used).
fn table_name_breaks(name: &str) -> Vec<&'static str> {
    if name.starts_with("arn:") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let len = name.encode_utf16().count();
    if len < 3 {
        out.push("Member must have length greater than or equal to 3");
    }
    if len > 255 {
        out.push("Member must have length less than or equal to 255");
    }
    if !pattern_matches(TABLE_NAME_PATTERN, name) {
        out.push("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    }
    out
}

/// A RequestItems key that is not a valid table name, as a constraint on
/// the map's keys.
fn table_names_violation(body: &Body) -> Option<Violation> {
    let items = body.get("RequestItems")?;
    let bad = items
        .as_object()?
        .keys()
        .any(|k| !table_name_breaks(k).is_empty());
    bad.then(|| Violation {
        path: "requestItems".into(),
        wire_path: "RequestItems".into(),
        value: Some(items.clone()),
        constraint: format!(
            "Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: {TABLE_NAME_PATTERN}]"
        ),
    })
}

/// BatchGetItem checks its table names with the other member constraints
/// and reports them together (paritysuite, 2026-10-09). The model's key
/// shape (a table ARN) is not what AWS checks, so its own finding goes.
fn batch_get_table_names(body: &Body, violations: &mut Vec<Violation>) {
    violations.retain(|v| !(v.path == "requestItems" && v.constraint.starts_with("Map keys")));
    if let Some(v) = table_names_violation(body) {
        let at = violations
            .iter()
            .position(|x| !x.path.starts_with("requestItems"))
            .unwrap_or(violations.len());
        violations.insert(at, v);
    }
}

/// UpdateItem with a Key whose only problems are enum values, one of them
/// ReturnValues: the newer framework stops at ReturnValues and reports it
/// alone, with a value set of its own (registry row
/// update-item-validation-error-aggregation, us-east-1 2026-10-07).
fn stops_at_return_values(
    op: &str,
    body: &Body,
    violations: &[Violation],
) -> Option<serval_core::AwsError> {
    let key_given = body.get("Key").is_some_and(|k| !k.is_null());
    let only_enums = violations.iter().all(|v| v.constraint.starts_with(ENUM));
    let return_values = violations.iter().any(|v| v.path == "returnValues");
    (op == "UpdateItem" && key_given && only_enums && return_values).then(|| {
        error::validation(
            "1 validation error detected: Failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATE_NEW, NONE]",
        )
    })
}

/// Whether the newer framework words this violation: recorded for Query's
/// Limit, for the length of BatchGetItem's RequestItems and Keys, and (one
/// of two accepted answers) for too many tables in BatchWriteItem's.
fn framework_words(op: &str, v: &Violation) -> bool {
    match op {
        "Query" => v.wire_path == "Limit",
        "BatchGetItem" => {
            v.constraint.starts_with(LENGTH)
                && (v.wire_path == "RequestItems" || v.wire_path.ends_with(".member.Keys"))
        }
        "BatchWriteItem" => v.wire_path == "RequestItems" && v.constraint.starts_with(LENGTH),
        _ => false,
    }
}

/// One violation as DynamoDB words it for `op`.
fn render(op: &str, v: &Violation) -> String {
    if framework_words(op, v) {
        return v.framework_message();
    }
    let Some(value) = &v.value else {
        return v.message();
    };
    if op == "BatchWriteItem" && v.path == "requestItems" {
        return v.echoing(&format!("'{}'", java_write_requests(value)));
    }
    v.message()
}

/// A KeySchema list as Java's toString prints it, as DynamoDB echoes it in
/// the older wording: `[KeySchemaElement(attributeName=pk, keyType=HASH), ...]`
/// (nubo-db createTable captures, 2026-05).
pub(crate) fn java_key_schema(v: &Json) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "KeySchemaElement(attributeName={}, keyType={})",
                java_scalar(&e["AttributeName"]),
                java_scalar(&e["KeyType"])
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// BatchWriteItem's RequestItems as Java's toString prints it:
/// `{table=[WriteRequest(putRequest=PutRequest(item={pk=...}), ...)]}`.
fn java_write_requests(v: &Json) -> String {
    let tables: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, list)| {
            let writes: Vec<String> = list
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| {
                    let put = match &w["PutRequest"] {
                        Json::Null => "null".to_string(),
                        p => format!("PutRequest(item={})", java_item(&p["Item"])),
                    };
                    let delete = match &w["DeleteRequest"] {
                        Json::Null => "null".to_string(),
                        d => format!("DeleteRequest(key={})", java_item(&d["Key"])),
                    };
                    format!("WriteRequest(putRequest={put}, deleteRequest={delete})")
                })
                .collect();
            format!("{name}=[{}]", writes.join(", "))
        })
        .collect();
    format!("{{{}}}", tables.join(", "))
}

fn java_item(v: &Json) -> String {
    let attrs: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, a)| format!("{k}={}", java_attribute(a)))
        .collect();
    format!("{{{}}}", attrs.join(", "))
}

fn java_attribute(v: &Json) -> String {
    let fields: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(t, x)| {
            let shown = match (t.as_str(), x) {
                ("M", m) => java_item(m),
                ("L", Json::Array(l)) => {
                    let items: Vec<String> = l.iter().map(java_attribute).collect();
                    format!("[{}]", items.join(", "))
                }
                (_, Json::Array(set)) => {
                    let items: Vec<String> = set.iter().map(java_scalar).collect();
                    format!("[{}]", items.join(", "))
                }
                (_, x) => java_scalar(x),
            };
            format!("{}={shown}", t.to_ascii_lowercase())
        })
        .collect();
    format!("AttributeValue({})", fields.join(", "))
}

fn java_scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> Model {
        Model::parse(include_str!("../model/dynamodb.json")).expect("model")
    }

    fn message(op: &str, body: Json) -> String {
        let body = body.as_object().cloned().unwrap_or_default();
        match check(&model(), op, &body) {
            Ok(()) => "ok".into(),
            Err(e) => e.message,
        }
    }

    #[test]
    fn create_table_checks_its_name_first_and_alone() {
        let ks = json!([{"AttributeName": "pk", "KeyType": "HASH"}]);
        assert_eq!(
            message("CreateTable", json!({"KeySchema": ks})),
            "The parameter 'TableName' is required but was not present in the request"
        );
        assert_eq!(
            message("CreateTable", json!({"TableName": "x!", "KeySchema": []})),
            "2 validation errors detected: Value 'x!' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; Value 'x!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
    }

    #[test]
    fn key_schema_is_echoed_as_java_prints_it() {
        let ks = json!([
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ]);
        assert_eq!(
            java_key_schema(&ks),
            "[KeySchemaElement(attributeName=pk, keyType=HASH), KeySchemaElement(attributeName=sk, keyType=RANGE)]"
        );
    }

    #[test]
    fn batch_request_items_wording() {
        assert_eq!(
            message("BatchGetItem", json!({"RequestItems": {}})),
            "1 validation error detected: Value at 'RequestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert_eq!(
            message("BatchGetItem", json!({"RequestItems": {"tbl": {"Keys": []}}})),
            "1 validation error detected: Value at 'RequestItems.tbl.member.Keys' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert_eq!(
            message(
                "BatchGetItem",
                json!({"RequestItems": {"bad!name": {"Keys": [{"pk": {"S": "a"}}]}}, "ReturnConsumedCapacity": "BOGUS"})
            ),
            "2 validation errors detected: Value '{\"bad!name\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]; Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        );
        assert_eq!(
            message("BatchWriteItem", json!({"RequestItems": {}})),
            "The requestItems parameter is required for BatchWriteItem"
        );
        assert_eq!(
            message("BatchWriteItem", json!({"RequestItems": {"tbl": []}})),
            "1 validation error detected: Value '{tbl=[]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"
        );
        let put = json!({"PutRequest": {"Item": {"pk": {"S": "x"}}}});
        assert_eq!(
            message("BatchWriteItem", json!({"RequestItems": {"bad!name": [put]}})),
            "1 validation error detected: Value '{bad!name=[WriteRequest(putRequest=PutRequest(item={pk=AttributeValue(s=x)}), deleteRequest=null)]}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]"
        );
        // an ARN is a valid RequestItems key
        assert_eq!(
            message(
                "BatchWriteItem",
                json!({"RequestItems": {"arn:aws:dynamodb:us-east-1:000000000000:table/tbl": [put]}})
            ),
            "ok"
        );
    }

    #[test]
    fn newer_framework_forms() {
        assert_eq!(
            message("Query", json!({"TableName": "tbl", "Limit": 0})),
            "1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert_eq!(
            message("Scan", json!({"TableName": "tbl", "Limit": 0})),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert_eq!(
            message(
                "Query",
                json!({"TableName": "tbl", "QueryFilter": {"b": {"ComparisonOperator": "NULL"}}, "ConditionalOperator": "XOR", "Select": "BOGUS"})
            ),
            "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]"
        );
        let key = json!({"pk": {"S": "a"}});
        assert_eq!(
            message(
                "UpdateItem",
                json!({"TableName": "tbl", "Key": key, "ReturnValues": "INVALID", "ReturnConsumedCapacity": "INVALID"})
            ),
            "1 validation error detected: Failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATE_NEW, NONE]"
        );
        // without a Key the older check reports every member, in AWS's order
        assert_eq!(
            message(
                "UpdateItem",
                json!({"TableName": "", "UpdateExpression": "SET a = :a", "ReturnValues": "INVALID", "ReturnConsumedCapacity": "INVALID"})
            ),
            "4 validation errors detected: Value 'INVALID' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'INVALID' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; Value null at 'key' failed to satisfy constraint: Member must not be null"
        );
    }
}
