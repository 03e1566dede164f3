//! The SNS operations: one typed [`Op`] per action, read from the JSON form
//! of the query parameters, and run by [`run`]. Each returns the result
//! object that the protocol writes as XML.

pub mod publish;
pub mod subscriptions;
pub mod topics;

use crate::error::{Kind, Result, SnsError};
use crate::message::AttrIn;
use crate::Sns;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use serval_core::RequestContext;
use std::collections::BTreeMap;

/// A tag.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// CreateTopic.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicIn {
    /// Name.
    pub name: String,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<TagIn>,
    /// Data protection policy.
    #[serde(default)]
    pub data_protection_policy: Option<String>,
}

/// Operations naming a topic only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicIn {
    /// Topic.
    pub topic_arn: String,
}

/// List operations.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListIn {
    /// Topic (ListSubscriptionsByTopic).
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// Page token.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// SetTopicAttributes / SetSubscriptionAttributes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetAttrIn {
    /// Topic (SetTopicAttributes).
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// Subscription (SetSubscriptionAttributes).
    #[serde(default)]
    pub subscription_arn: Option<String>,
    /// Name.
    pub attribute_name: String,
    /// Value.
    #[serde(default)]
    pub attribute_value: Option<String>,
}

/// Subscribe.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeIn {
    /// Topic.
    pub topic_arn: String,
    /// Protocol.
    pub protocol: String,
    /// Endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Return the ARN even when pending.
    #[serde(default)]
    pub return_subscription_arn: bool,
}

/// Operations naming a subscription only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubIn {
    /// Subscription.
    pub subscription_arn: String,
}

/// ConfirmSubscription.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmIn {
    /// Topic.
    pub topic_arn: String,
    /// Token.
    pub token: String,
    /// `true`: only the owner may unsubscribe.
    #[serde(default)]
    pub authenticate_on_unsubscribe: Option<String>,
}

/// Publish (and a PublishBatch entry, with `Id`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct PublishIn {
    /// Batch entry id.
    #[serde(default)]
    pub id: Option<String>,
    /// Topic.
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// Target (topic or platform endpoint).
    #[serde(default)]
    pub target_arn: Option<String>,
    /// SMS number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// `json` for per-protocol messages.
    #[serde(default)]
    pub message_structure: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttrIn>,
    /// FIFO dedup id.
    #[serde(default)]
    pub message_deduplication_id: Option<String>,
    /// FIFO group.
    #[serde(default)]
    pub message_group_id: Option<String>,
}

/// PublishBatch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchIn {
    /// Topic.
    pub topic_arn: String,
    /// Entries.
    #[serde(default)]
    pub publish_batch_request_entries: Vec<PublishIn>,
}

/// TagResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceIn {
    /// Topic.
    pub resource_arn: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<TagIn>,
}

/// UntagResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceIn {
    /// Topic.
    pub resource_arn: String,
    /// Keys.
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

/// ListTagsForResource / GetDataProtectionPolicy.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceIn {
    /// Topic.
    pub resource_arn: String,
    /// PutDataProtectionPolicy: the policy.
    #[serde(default)]
    pub data_protection_policy: Option<String>,
}

/// AddPermission.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionIn {
    /// Topic.
    pub topic_arn: String,
    /// Label.
    pub label: String,
    /// Accounts.
    #[serde(default, rename = "AWSAccountId")]
    pub accounts: Vec<String>,
    /// Actions.
    #[serde(default)]
    pub action_name: Vec<String>,
}

/// RemovePermission.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionIn {
    /// Topic.
    pub topic_arn: String,
    /// Label.
    pub label: String,
}

/// One SNS operation with its typed input.
#[derive(Debug)]
pub enum Op {
    /// CreateTopic.
    CreateTopic(CreateTopicIn),
    /// DeleteTopic.
    DeleteTopic(TopicIn),
    /// ListTopics.
    ListTopics(ListIn),
    /// GetTopicAttributes.
    GetTopicAttributes(TopicIn),
    /// SetTopicAttributes.
    SetTopicAttributes(SetAttrIn),
    /// Subscribe.
    Subscribe(SubscribeIn),
    /// Unsubscribe.
    Unsubscribe(SubIn),
    /// ConfirmSubscription.
    ConfirmSubscription(ConfirmIn),
    /// GetSubscriptionAttributes.
    GetSubscriptionAttributes(SubIn),
    /// SetSubscriptionAttributes.
    SetSubscriptionAttributes(SetAttrIn),
    /// ListSubscriptions.
    ListSubscriptions(ListIn),
    /// ListSubscriptionsByTopic.
    ListSubscriptionsByTopic(ListIn),
    /// Publish.
    Publish(PublishIn),
    /// PublishBatch.
    PublishBatch(PublishBatchIn),
    /// TagResource.
    TagResource(TagResourceIn),
    /// UntagResource.
    UntagResource(UntagResourceIn),
    /// ListTagsForResource.
    ListTagsForResource(ResourceIn),
    /// AddPermission.
    AddPermission(AddPermissionIn),
    /// RemovePermission.
    RemovePermission(RemovePermissionIn),
    /// GetDataProtectionPolicy.
    GetDataProtectionPolicy(ResourceIn),
    /// PutDataProtectionPolicy.
    PutDataProtectionPolicy(ResourceIn),
}

fn from<T: serde::de::DeserializeOwned>(body: Map<String, Json>) -> Result<T> {
    serde_json::from_value(Json::Object(body))
        .map_err(|e| SnsError::new(Kind::Validation, format!("Invalid request: {e}")))
}

impl Op {
    /// Reads an action's input.
    pub fn parse(action: &str, body: Map<String, Json>) -> Result<Op> {
        Ok(match action {
            "CreateTopic" => Op::CreateTopic(from(body)?),
            "DeleteTopic" => Op::DeleteTopic(from(body)?),
            "ListTopics" => Op::ListTopics(from(body)?),
            "GetTopicAttributes" => Op::GetTopicAttributes(from(body)?),
            "SetTopicAttributes" => Op::SetTopicAttributes(from(body)?),
            "Subscribe" => Op::Subscribe(from(body)?),
            "Unsubscribe" => Op::Unsubscribe(from(body)?),
            "ConfirmSubscription" => Op::ConfirmSubscription(from(body)?),
            "GetSubscriptionAttributes" => Op::GetSubscriptionAttributes(from(body)?),
            "SetSubscriptionAttributes" => Op::SetSubscriptionAttributes(from(body)?),
            "ListSubscriptions" => Op::ListSubscriptions(from(body)?),
            "ListSubscriptionsByTopic" => Op::ListSubscriptionsByTopic(from(body)?),
            "Publish" => Op::Publish(from(body)?),
            "PublishBatch" => Op::PublishBatch(from(body)?),
            "TagResource" => Op::TagResource(from(body)?),
            "UntagResource" => Op::UntagResource(from(body)?),
            "ListTagsForResource" => Op::ListTagsForResource(from(body)?),
            "AddPermission" => Op::AddPermission(from(body)?),
            "RemovePermission" => Op::RemovePermission(from(body)?),
            "GetDataProtectionPolicy" => Op::GetDataProtectionPolicy(from(body)?),
            "PutDataProtectionPolicy" => Op::PutDataProtectionPolicy(from(body)?),
            other => {
                return Err(SnsError::new(
                    Kind::InvalidAction,
                    format!("The action {other} is not valid for this endpoint."),
                ))
            }
        })
    }
}

/// Runs one operation.
pub async fn run(sns: &Sns, ctx: &RequestContext, op: Op) -> Result<Json> {
    match op {
        Op::CreateTopic(i) => topics::create(sns, ctx, i).await,
        Op::DeleteTopic(i) => topics::delete(sns, ctx, i).await,
        Op::ListTopics(i) => topics::list(sns, ctx, i),
        Op::GetTopicAttributes(i) => topics::get_attributes(sns, ctx, i),
        Op::SetTopicAttributes(i) => topics::set_attribute(sns, ctx, i).await,
        Op::TagResource(i) => topics::tag(sns, ctx, i).await,
        Op::UntagResource(i) => topics::untag(sns, ctx, i).await,
        Op::ListTagsForResource(i) => topics::list_tags(sns, ctx, i),
        Op::AddPermission(i) => topics::add_permission(sns, ctx, i).await,
        Op::RemovePermission(i) => topics::remove_permission(sns, ctx, i).await,
        Op::GetDataProtectionPolicy(i) => topics::get_data_protection(sns, ctx, i),
        Op::PutDataProtectionPolicy(i) => topics::put_data_protection(sns, ctx, i).await,
        Op::Subscribe(i) => subscriptions::subscribe(sns, ctx, i).await,
        Op::Unsubscribe(i) => subscriptions::unsubscribe(sns, ctx, i).await,
        Op::ConfirmSubscription(i) => subscriptions::confirm(sns, ctx, i).await,
        Op::GetSubscriptionAttributes(i) => subscriptions::get_attributes(sns, ctx, i),
        Op::SetSubscriptionAttributes(i) => subscriptions::set_attribute(sns, ctx, i).await,
        Op::ListSubscriptions(i) => subscriptions::list(sns, ctx, i),
        Op::ListSubscriptionsByTopic(i) => subscriptions::list_by_topic(sns, ctx, i),
        Op::Publish(i) => {
            let out = publish::publish(sns, ctx, i).await?;
            let mut m = Map::new();
            m.insert("MessageId".into(), out.message_id.into());
            if let Some(s) = out.sequence_number {
                m.insert("SequenceNumber".into(), s.into());
            }
            Ok(Json::Object(m))
        }
        Op::PublishBatch(i) => publish::publish_batch(sns, ctx, i).await,
    }
}

/// Pages of 100 over sorted keys: the page after `token` (the last key of
/// the previous page, base64), and the next token.
pub(crate) fn page<T: Clone>(
    items: &[(String, T)],
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>)> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let start = match token.filter(|t| !t.is_empty()) {
        Some(t) => {
            let after = STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| crate::error::invalid("NextToken"))?;
            items.partition_point(|(k, _)| k.as_str() <= after.as_str())
        }
        None => 0,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| STANDARD.encode(items[end - 1].0.as_bytes()));
    Ok((
        items[start..end].iter().map(|(_, v)| v.clone()).collect(),
        next,
    ))
}
