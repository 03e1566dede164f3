//! Reading table definitions from requests: key schemas (with GSIs' multi-attribute keys),
//! attribute definitions, projections, throughput and stream settings, as CreateTable and
//! UpdateTable share them.

use crate::error::{self, Result};
use crate::model::{Index, KeyAttr, KeySchema, Projection, StreamSpec, Throughput};
use crate::request::{arr_of, Body, Checks};
use serde_json::Value as Json;

pub(super) fn invalid(msg: impl AsRef<str>) -> serval_core::AwsError {
    error::validation(format!(
        "One or more parameter values were invalid: {}",
        msg.as_ref()
    ))
}

/// Most HASH (and most RANGE) attributes of a multi-attribute GSI key.
pub(super) const MAX_MULTI_KEY_ATTRS: usize = 4;

/// Reads a `KeySchema` list against the attribute definitions. `multi`:
/// a global secondary index, whose key may have up to 4 HASH attributes
/// followed by up to 4 RANGE attributes.
pub(super) fn key_schema(list: &[Json], defs: &[KeyAttr], multi: bool) -> Result<KeySchema> {
    let names: Vec<&str> = list
        .iter()
        .map(|k| k["AttributeName"].as_str().unwrap_or_default())
        .collect();
    let types: Vec<&str> = list
        .iter()
        .map(|k| k["KeyType"].as_str().unwrap_or_default())
        .collect();
    let def_names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    if names.iter().any(|n| !def_names.contains(n)) {
        return Err(invalid(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            def_names.join(", ")
        )));
    }
    if !multi && names.len() > 2 {
        return Err(error::validation(
            "Invalid KeySchema: a KeySchema can have at most 2 elements, a HASH and a RANGE key",
        ));
    }
    if types.first() != Some(&"HASH") {
        return Err(error::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    let hashes = types.iter().take_while(|t| **t == "HASH").count();
    if multi {
        if types[hashes..].contains(&"HASH") {
            return Err(error::validation(
                "Invalid KeySchema: HASH key attributes must precede RANGE key attributes",
            ));
        }
        if hashes > MAX_MULTI_KEY_ATTRS {
            return Err(error::validation(format!(
                "Invalid KeySchema: a KeySchema can have at most {MAX_MULTI_KEY_ATTRS} HASH key attributes"
            )));
        }
        if names.len() - hashes > MAX_MULTI_KEY_ATTRS {
            return Err(error::validation(format!(
                "Invalid KeySchema: a KeySchema can have at most {MAX_MULTI_KEY_ATTRS} RANGE key attributes"
            )));
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(error::validation(format!(
                    "Invalid KeySchema: Some KeySchema elements have the same name: {n}"
                )));
            }
        }
    } else {
        if names.len() == 2 && names[0] == names[1] {
            return Err(error::validation(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
        if types.len() == 2 && types[1] != "RANGE" {
            return Err(error::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
    }
    let find = |n: &&str| {
        defs.iter()
            .find(|d| d.name == *n)
            .cloned()
            .unwrap_or(KeyAttr {
                name: n.to_string(),
                ty: "S".into(),
            })
    };
    let mut hash = names[..hashes].iter().map(find);
    let mut range = names[hashes..].iter().map(find);
    Ok(KeySchema {
        hash: hash
            .next()
            .ok_or_else(|| error::internal("empty key schema"))?,
        range: range.next(),
        more_hash: hash.collect(),
        more_range: range.collect(),
    })
}

pub(super) fn check_key_schema_shape(c: &mut Checks, v: Option<&Json>, path: &str) {
    match v.and_then(Json::as_array) {
        None => c.fail(&Json::Null, path, "Member must not be null"),
        Some(list) => {
            // DynamoDB echoes the list as Java prints it
            let shown = format!(
                "'{}'",
                crate::validate::java_key_schema(&Json::Array(list.clone()))
            );
            if list.is_empty() {
                c.fail_shown(
                    &shown,
                    path,
                    "Member must have length greater than or equal to 1",
                );
            }
            if list.len() > 2 {
                c.fail_shown(
                    &shown,
                    path,
                    "Member must have length less than or equal to 2",
                );
            }
            for (i, k) in list.iter().enumerate() {
                let kt = &k["KeyType"];
                if !matches!(kt.as_str(), Some("HASH" | "RANGE")) {
                    c.fail(
                        kt,
                        &format!("{path}.{}.member.keyType", i + 1),
                        "Member must satisfy enum value set: [HASH, RANGE]",
                    );
                }
                if k["AttributeName"].as_str().is_none_or(str::is_empty) {
                    c.fail(
                        &k["AttributeName"],
                        &format!("{path}.{}.member.attributeName", i + 1),
                        "Member must have length greater than or equal to 1",
                    );
                }
            }
        }
    }
}

pub(super) fn projection(v: &Json) -> Result<Projection> {
    let kind = match v["ProjectionType"].as_str() {
        Some(k @ ("ALL" | "KEYS_ONLY" | "INCLUDE")) => k.to_string(),
        Some(other) => return Err(invalid(format!("Unknown ProjectionType: {other}"))),
        None => return Err(invalid("Unknown ProjectionType: null")),
    };
    let non_key: Vec<String> = v["NonKeyAttributes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !v["NonKeyAttributes"].is_null() && kind != "INCLUDE" {
        return Err(invalid(format!(
            "ProjectionType is {kind}, but NonKeyAttributes is specified"
        )));
    }
    if kind == "INCLUDE" && non_key.is_empty() {
        return Err(invalid(
            "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = non_key.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(invalid(format!(
            "Duplicate attribute names in NonKeyAttributes: {dup}"
        )));
    }
    Ok(Projection { kind, non_key })
}

pub(super) fn throughput(v: &Json, what: &str) -> Result<Option<Throughput>> {
    if v.is_null() {
        return Ok(None);
    }
    let read = v["ReadCapacityUnits"].as_u64().unwrap_or(0);
    let write = v["WriteCapacityUnits"].as_u64().unwrap_or(0);
    if read == 0 || write == 0 {
        return Err(invalid(format!(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED{what}"
        )));
    }
    for (n, label) in [(read, "ReadCapacityUnits"), (write, "WriteCapacityUnits")] {
        if n > 1_000_000_000_000 {
            return Err(error::validation(format!(
                "Given value {n} for {label} is out of bounds"
            )));
        }
    }
    Ok(Some(Throughput {
        read,
        write,
        ..Throughput::default()
    }))
}

pub(super) fn parse_index(
    v: &Json,
    defs: &[KeyAttr],
    global: bool,
    billing: &str,
) -> Result<Index> {
    let name = v["IndexName"].as_str().unwrap_or_default().to_string();
    let list = v["KeySchema"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(error::validation(
            "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null"
        ));
    }
    let keys = key_schema(&list, defs, global)?;
    let projection = projection(&v["Projection"])?;
    let throughput = if global {
        if billing == "PAY_PER_REQUEST" {
            if !v["ProvisionedThroughput"].is_null() {
                return Err(invalid(format!(
                    "ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
                )));
            }
            None
        } else {
            Some(
                throughput(&v["ProvisionedThroughput"], &format!(" for index {name}"))?
                    .ok_or_else(|| {
                        invalid(format!(
                            "ProvisionedThroughput must be specified for index: {name}"
                        ))
                    })?,
            )
        }
    } else {
        None
    };
    Ok(Index {
        name,
        global,
        keys,
        projection,
        throughput,
    })
}

pub(super) fn stream_spec(v: &Json, now_ms: u64) -> Result<Option<StreamSpec>> {
    if v.is_null() {
        return Ok(None);
    }
    let enabled = v["StreamEnabled"].as_bool().unwrap_or(false);
    if !enabled {
        if !v["StreamViewType"].is_null() {
            return Err(invalid(
                "Stream view type must not be specified when stream is disabled",
            ));
        }
        return Ok(None);
    }
    let view = match v["StreamViewType"].as_str() {
        Some(t @ ("KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")) => t,
        _ => {
            return Err(invalid(
                "You must specify a StreamViewType when enabling a stream",
            ))
        }
    };
    Ok(Some(StreamSpec {
        view_type: view.to_string(),
        label: stream_label(now_ms),
        uid: serval_core::ids::random_hex(16),
        enabled: true,
    }))
}

pub(super) fn stream_label(now_ms: u64) -> String {
    // 2026-11-22T13:50:34.123
    let iso = serval_core::time::iso8601(now_ms);
    iso.trim_end_matches('Z')
        .split('+')
        .next()
        .unwrap_or(&iso)
        .to_string()
}

pub(super) fn attribute_definitions(c: &mut Checks, body: &Body) -> Vec<KeyAttr> {
    let Some(list) = arr_of(body, "AttributeDefinitions") else {
        c.required(body, "AttributeDefinitions");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let ty = d["AttributeType"].as_str().unwrap_or_default();
        if !matches!(ty, "S" | "N" | "B") {
            c.fail(
                &d["AttributeType"],
                &format!("attributeDefinitions.{}.member.attributeType", i + 1),
                "Member must satisfy enum value set: [B, N, S]",
            );
        }
        out.push(KeyAttr {
            name: d["AttributeName"].as_str().unwrap_or_default().to_string(),
            ty: ty.to_string(),
        });
    }
    out
}
