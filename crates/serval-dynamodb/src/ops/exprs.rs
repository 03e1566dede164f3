//! The expressions of one request (condition, update, filter, key condition,
//! projection, and their legacy equivalents), parsed together so that unused
//! names and values are reported across all of them, as DynamoDB does.

use crate::error::{self, Result};
use crate::expr::{self, legacy, Attrs, Cond, ExprKind, KeyCondition, Projection, Update};
use crate::model::KeySchema;
use crate::request::Body;
use crate::value::{Item, Layer, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// An item with no attributes: what a condition sees when the item is absent.
static EMPTY: Item = BTreeMap::new();

/// Which expressions a request may carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    /// ConditionExpression / Expected.
    pub condition: bool,
    /// UpdateExpression / AttributeUpdates.
    pub update: bool,
    /// FilterExpression / QueryFilter or ScanFilter.
    pub filter: bool,
    /// ProjectionExpression / AttributesToGet.
    pub projection: bool,
    /// KeyConditionExpression / KeyConditions (needs the key schema).
    pub key: bool,
}

/// A request's parsed expressions.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The key condition of a Query.
    pub key: Option<KeyCondition>,
    condition: Option<Cond>,
    filter: Option<Cond>,
    update: Option<Update>,
    /// Whether the update came from AttributeUpdates.
    legacy_update: bool,
    projection: Option<Projection>,
}

fn present(body: &Body, field: &str) -> bool {
    body.get(field).is_some_and(|v| !v.is_null())
}

fn text<'a>(body: &'a Body, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Json::as_str)
}

fn value(v: &Json, layer: Layer) -> Result<Value> {
    Value::from_json_in(v, layer).map_err(|e| e.into_aws())
}

fn values(v: &Json, layer: Layer) -> Result<Vec<Value>> {
    v.as_array()
        .map(|a| a.iter().map(|x| value(x, layer)).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

fn conditions(v: &Json, layer: Layer) -> Result<Vec<(String, legacy::Condition)>> {
    let mut out = Vec::new();
    for (attr, c) in v.as_object().into_iter().flatten() {
        out.push((
            attr.clone(),
            legacy::Condition {
                op: c["ComparisonOperator"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                values: values(&c["AttributeValueList"], layer)?,
            },
        ));
    }
    Ok(out)
}

fn expected(v: &Json, layer: Layer) -> Result<Vec<(String, legacy::Expected)>> {
    let mut out = Vec::new();
    for (attr, e) in v.as_object().into_iter().flatten() {
        out.push((
            attr.clone(),
            legacy::Expected {
                value: match &e["Value"] {
                    Json::Null => None,
                    v => Some(value(v, layer)?),
                },
                exists: e["Exists"].as_bool(),
                op: e["ComparisonOperator"].as_str().map(str::to_string),
                values: match &e["AttributeValueList"] {
                    Json::Null => None,
                    v => Some(values(v, layer)?),
                },
            },
        ));
    }
    Ok(out)
}

fn attribute_updates(v: &Json, layer: Layer) -> Result<Vec<(String, legacy::AttributeUpdate)>> {
    let mut out = Vec::new();
    for (attr, u) in v.as_object().into_iter().flatten() {
        out.push((
            attr.clone(),
            legacy::AttributeUpdate {
                action: u["Action"].as_str().map(str::to_string),
                value: match &u["Value"] {
                    Json::Null => None,
                    v => Some(value(v, layer)?),
                },
            },
        ));
    }
    Ok(out)
}

fn empty_name() -> serval_core::AwsError {
    error::validation("One or more parameter values were invalid: Empty attribute name")
}

fn attrs_of(body: &Body, layer: Layer) -> Result<Attrs> {
    if let Some((k, _)) = body
        .get("ExpressionAttributeNames")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .find(|(_, v)| v.as_str() == Some(""))
    {
        return Err(error::validation(format!(
            "ExpressionAttributeNames contains invalid value: Empty attribute name for key {k}"
        )));
    }
    for v in body
        .get("ExpressionAttributeNames")
        .and_then(Json::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        crate::value::check_name(v.as_str().unwrap_or_default()).map_err(|e| e.into_aws())?;
    }
    let names = match body.get("ExpressionAttributeNames") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
    };
    let vals = match body.get("ExpressionAttributeValues") {
        None | Some(Json::Null) => None,
        Some(v) => {
            let mut m = BTreeMap::new();
            for (k, v) in v.as_object().into_iter().flatten() {
                let parsed = Value::from_json_in(v, layer).map_err(|e| match e {
                    crate::value::ValueError::Invalid(msg) if layer.wraps_expression_values() => {
                        error::validation(format!(
                            "ExpressionAttributeValues contains invalid value: {msg} for key {k}"
                        ))
                    }
                    other => other.into_aws(),
                })?;
                m.insert(k.clone(), parsed);
            }
            Some(m)
        }
    };
    Attrs::new(names, vals).map_err(|e| error::validation(layer.enveloped(e)))
}

impl Prepared {
    /// Parses the expressions `allowed` in `body`. `keys` is the key schema
    /// of the table or index a Query reads (needed for its key condition);
    /// `layer` is the checker the operation runs, which words the errors.
    /// In the writes' checker a misused ExpressionAttributeNames or -Values,
    /// a malformed ConditionExpression and a malformed Expected are reported
    /// inside the `1 validation error detected: ` envelope, as us-east-1
    /// answered in October 2026; the rest stays bare, as last recorded.
    pub fn new(
        body: &Body,
        allowed: Allowed,
        keys: Option<&KeySchema>,
        layer: Layer,
    ) -> Result<Prepared> {
        const FIELDS: &[&str] = &[
            "ConditionExpression",
            "UpdateExpression",
            "FilterExpression",
            "ProjectionExpression",
            "KeyConditionExpression",
            "ExpressionAttributeNames",
            "ExpressionAttributeValues",
            "Expected",
            "AttributeUpdates",
            "QueryFilter",
            "ScanFilter",
            "AttributesToGet",
            "KeyConditions",
            "ConditionalOperator",
        ];
        // the common plain GetItem/PutItem: nothing to parse
        if !FIELDS.iter().any(|f| body.contains_key(*f)) {
            return Ok(Prepared::default());
        }
        let mut exprs: Vec<(&str, bool)> = Vec::new();
        let mut olds: Vec<(&str, bool)> = Vec::new();
        if allowed.projection {
            exprs.push((
                "ProjectionExpression",
                present(body, "ProjectionExpression"),
            ));
            olds.push(("AttributesToGet", present(body, "AttributesToGet")));
        }
        if allowed.filter {
            exprs.push(("FilterExpression", present(body, "FilterExpression")));
            let name = if allowed.key {
                "QueryFilter"
            } else {
                "ScanFilter"
            };
            olds.push((name, present(body, name)));
        }
        if allowed.key {
            exprs.push((
                "KeyConditionExpression",
                present(body, "KeyConditionExpression"),
            ));
        }
        if allowed.update {
            exprs.push(("UpdateExpression", present(body, "UpdateExpression")));
            olds.push(("AttributeUpdates", present(body, "AttributeUpdates")));
        }
        if allowed.condition {
            exprs.push(("ConditionExpression", present(body, "ConditionExpression")));
            olds.push(("Expected", present(body, "Expected")));
        }
        if allowed.condition || allowed.filter {
            olds.push(("ConditionalOperator", present(body, "ConditionalOperator")));
        }
        if allowed.key {
            olds.push(("KeyConditions", present(body, "KeyConditions")));
        }
        expr::check_expression_params(
            &exprs,
            &olds,
            present(body, "ExpressionAttributeNames"),
            present(body, "ExpressionAttributeValues"),
        )
        .map_err(|e| match e {
            expr::ParamsError::Mixed(m) => error::validation(m),
            other if layer == Layer::Write => {
                error::validation(layer.enveloped(other.message(false)))
            }
            other => error::validation(other.message(true)),
        })?;
        let attrs = attrs_of(body, layer)?;
        let conditional = text(body, "ConditionalOperator");
        if conditional.is_some() {
            // It joins the legacy conditions, so it needs some to join.
            let joined = ["Expected", "QueryFilter", "ScanFilter"]
                .iter()
                .filter_map(|f| body.get(*f).and_then(Json::as_object))
                .any(|m| !m.is_empty());
            if !joined {
                return Err(error::validation(
                    "One or more parameter values were invalid: ConditionalOperator can only be used when Expected, QueryFilter or ScanFilter is present",
                ));
            }
        }
        let mut out = Prepared::default();
        let v = error::validation;
        let enveloped = |m: String| error::validation(layer.enveloped(m));
        if allowed.condition {
            if let Some(t) = text(body, "ConditionExpression") {
                out.condition =
                    Some(expr::parse_condition(t, ExprKind::Condition, &attrs).map_err(enveloped)?);
            } else if present(body, "Expected") {
                let e = expected(&body["Expected"], layer)?;
                out.condition = Some(legacy::expected(&e, conditional).map_err(enveloped)?);
            }
        }
        if allowed.update {
            if let Some(t) = text(body, "UpdateExpression") {
                out.update = Some(expr::parse_update(t, &attrs).map_err(v)?);
            } else if present(body, "AttributeUpdates") {
                let u = attribute_updates(&body["AttributeUpdates"], layer)?;
                if u.iter().any(|(k, _)| k.is_empty()) {
                    return Err(empty_name());
                }
                for (k, _) in &u {
                    crate::value::check_name(k).map_err(|e| e.into_aws())?;
                }
                out.update = Some(legacy::attribute_updates(&u).map_err(v)?);
                out.legacy_update = true;
            }
        }
        if allowed.key {
            let schema = keys.map(|k| expr::KeySchema {
                hash: (k.hash.name.as_str(), k.hash.ty.as_str()),
                range: k.range.as_ref().map(|r| (r.name.as_str(), r.ty.as_str())),
                more_hash: &k.more_hash,
                more_range: &k.more_range,
            });
            if let Some(schema) = &schema {
                if let Some(t) = text(body, "KeyConditionExpression") {
                    out.key = Some(expr::parse_key_condition(t, &attrs, schema).map_err(v)?);
                } else if present(body, "KeyConditions") {
                    let c = conditions(&body["KeyConditions"], layer)?;
                    out.key = Some(legacy::key_conditions(&c, schema).map_err(v)?);
                }
            }
        }
        if allowed.filter {
            let legacy_name = if allowed.key {
                "QueryFilter"
            } else {
                "ScanFilter"
            };
            if let Some(t) = text(body, "FilterExpression") {
                out.filter = Some(expr::parse_condition(t, ExprKind::Filter, &attrs).map_err(v)?);
            } else if present(body, legacy_name) {
                let c = conditions(&body[legacy_name], layer)?;
                out.filter = Some(legacy::filter(&c, conditional).map_err(v)?);
            }
        }
        if allowed.projection {
            if let Some(t) = text(body, "ProjectionExpression") {
                out.projection = Some(expr::parse_projection(t, &attrs).map_err(v)?);
            } else if let Some(list) = body.get("AttributesToGet").and_then(Json::as_array) {
                let names: Vec<String> = list
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect();
                if names.iter().any(String::is_empty) {
                    return Err(empty_name());
                }
                for n in &names {
                    crate::value::check_name(n).map_err(|e| e.into_aws())?;
                }
                out.projection = Some(legacy::attributes_to_get(&names).map_err(v)?);
            }
        }
        attrs.check_unused().map_err(v)?;
        Ok(out)
    }

    /// Whether the condition holds for the current item (true without one).
    pub fn condition_holds(&self, item: Option<&Item>) -> Result<bool> {
        Ok(match &self.condition {
            None => true,
            Some(c) => c.eval(item.unwrap_or(&EMPTY)),
        })
    }

    /// Whether the filter keeps an item (true without one).
    pub fn filter_keeps(&self, item: &Item) -> Result<bool> {
        Ok(self.filter.as_ref().is_none_or(|c| c.eval(item)))
    }

    /// The top-level attributes a filter reads.
    pub fn filter_attrs(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            f.path_heads(&mut out);
        }
        out
    }

    /// Whether there is an update to apply.
    pub fn has_update(&self) -> bool {
        self.update.is_some()
    }

    /// Whether the update makes an item that did not exist: anything but
    /// only REMOVE and DELETE actions does.
    pub fn creates_item(&self) -> bool {
        self.update.as_ref().is_none_or(|u| {
            u.actions.is_empty()
                || u.actions
                    .iter()
                    .any(|a| matches!(a, expr::Action::Set(..) | expr::Action::Add(..)))
        })
    }

    /// Applies the update (`existed`: whether the item was stored before);
    /// returns the top-level attribute names it writes.
    pub fn apply_update(&self, item: &mut Item, existed: bool) -> Result<Vec<String>> {
        let Some(u) = &self.update else {
            return Ok(Vec::new());
        };
        u.apply(item, existed).map_err(|e| {
            if self.legacy_update && e == expr::BAD_TYPE {
                error::validation(
                    "One or more parameter values were invalid: Type mismatch for attribute to update",
                )
            } else {
                error::validation(e)
            }
        })?;
        Ok(self.update_attrs())
    }

    /// The top-level attributes the update writes.
    pub fn update_attrs(&self) -> Vec<String> {
        self.update
            .iter()
            .flat_map(|u| u.touched_attrs())
            .map(str::to_string)
            .collect()
    }

    /// The item as the projection shows it (the item itself without one).
    pub fn project(&self, item: &Item) -> Item {
        match &self.projection {
            Some(p) => p.apply(item),
            None => item.clone(),
        }
    }

    /// The top-level attributes a projection reads.
    pub fn projection_heads(&self) -> Vec<&str> {
        self.projection
            .iter()
            .flat_map(|p| p.paths.iter().map(|x| x.head()))
            .collect()
    }

    /// Whether a projection was asked for.
    pub fn has_projection(&self) -> bool {
        self.projection.is_some()
    }

    /// The paths an update wrote, taken from `item` (UPDATED_OLD / UPDATED_NEW).
    pub fn updated_part(&self, item: &Item) -> Item {
        match &self.update {
            Some(u) => expr::project(item, &u.paths()),
            None => Item::new(),
        }
    }
}
