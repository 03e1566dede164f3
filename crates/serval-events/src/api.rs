//! EventBridge's operations, parsed at the edge into typed inputs
//! (`X-Amz-Target: AWSEvents.<Op>`, JSON 1.1), after the body has been
//! checked against the botocore model.

use crate::error::{err, Result};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// A `Key`/`Value` tag.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// CreateEventBus.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEventBus {
    pub name: String,
    pub event_source_name: Option<String>,
    pub description: Option<String>,
    pub kms_key_identifier: Option<String>,
    pub dead_letter_config: Option<Json>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An operation naming a bus (DeleteEventBus, DescribeEventBus).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BusName {
    pub name: Option<String>,
}

/// A listing with a name prefix (ListEventBuses, ListRules).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listing {
    pub name_prefix: Option<String>,
    pub event_bus_name: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<usize>,
}

/// PutRule.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRule {
    pub name: String,
    pub schedule_expression: Option<String>,
    pub event_pattern: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub event_bus_name: Option<String>,
}

/// An operation on one rule (DeleteRule, DescribeRule, EnableRule, DisableRule).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleRef {
    pub name: String,
    pub event_bus_name: Option<String>,
    #[serde(default)]
    pub force: bool,
}

/// ListRuleNamesByTarget.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ByTarget {
    pub target_arn: String,
    pub event_bus_name: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<usize>,
}

/// PutTargets.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutTargets {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub targets: Vec<Map<String, Json>>,
}

/// RemoveTargets.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTargets {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub ids: Vec<String>,
    #[serde(default)]
    pub force: bool,
}

/// ListTargetsByRule.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTargets {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<usize>,
}

/// One PutEvents entry.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    pub time: Option<Json>,
    pub source: Option<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail_type: Option<String>,
    pub detail: Option<String>,
    pub event_bus_name: Option<String>,
    pub trace_header: Option<String>,
}

/// PutEvents.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEvents {
    pub entries: Vec<Entry>,
}

/// TestEventPattern.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TestEventPattern {
    pub event_pattern: String,
    pub event: String,
}

/// TagResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

/// UntagResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResource {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

/// ListTagsForResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTags {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

/// Every operation Serval's EventBridge implements.
#[derive(Debug)]
pub enum EventsOp {
    CreateEventBus(CreateEventBus),
    DeleteEventBus(BusName),
    DescribeEventBus(BusName),
    ListEventBuses(Listing),
    PutRule(PutRule),
    DeleteRule(RuleRef),
    DescribeRule(RuleRef),
    EnableRule(RuleRef),
    DisableRule(RuleRef),
    ListRules(Listing),
    ListRuleNamesByTarget(ByTarget),
    PutTargets(PutTargets),
    RemoveTargets(RemoveTargets),
    ListTargetsByRule(ListTargets),
    PutEvents(PutEvents),
    TestEventPattern(TestEventPattern),
    TagResource(TagResource),
    UntagResource(UntagResource),
    ListTagsForResource(ListTags),
}

fn typed<T: serde::de::DeserializeOwned>(body: Map<String, Json>) -> Result<T> {
    serde_json::from_value(Json::Object(body))
        .map_err(|e| err("SerializationException", e.to_string()))
}

impl EventsOp {
    /// The operation named `op` with its body.
    pub fn parse(op: &str, body: Map<String, Json>) -> Result<EventsOp> {
        use EventsOp::*;
        Ok(match op {
            "CreateEventBus" => CreateEventBus(typed(body)?),
            "DeleteEventBus" => DeleteEventBus(typed(body)?),
            "DescribeEventBus" => DescribeEventBus(typed(body)?),
            "ListEventBuses" => ListEventBuses(typed(body)?),
            "PutRule" => PutRule(typed(body)?),
            "DeleteRule" => DeleteRule(typed(body)?),
            "DescribeRule" => DescribeRule(typed(body)?),
            "EnableRule" => EnableRule(typed(body)?),
            "DisableRule" => DisableRule(typed(body)?),
            "ListRules" => ListRules(typed(body)?),
            "ListRuleNamesByTarget" => ListRuleNamesByTarget(typed(body)?),
            "PutTargets" => PutTargets(typed(body)?),
            "RemoveTargets" => RemoveTargets(typed(body)?),
            "ListTargetsByRule" => ListTargetsByRule(typed(body)?),
            "PutEvents" => PutEvents(typed(body)?),
            "TestEventPattern" => TestEventPattern(typed(body)?),
            "TagResource" => TagResource(typed(body)?),
            "UntagResource" => UntagResource(typed(body)?),
            "ListTagsForResource" => ListTagsForResource(typed(body)?),
            other => {
                return Err(err(
                    "UnknownOperationException",
                    format!("Unknown operation AWSEvents.{other}"),
                ))
            }
        })
    }
}
