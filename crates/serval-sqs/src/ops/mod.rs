//! The SQS operations: one typed [`Op`] per action, read from the JSON
//! body (or the query parameters turned into the same JSON), and run by
//! [`run`]. Each returns its result as the JSON protocol's output object;
//! the query protocol writes the same object as XML.

pub mod messages;
pub mod moves;
pub mod queues;
pub mod receive;

use crate::error::{Kind, Result, SqsError};
use crate::Sqs;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use serval_core::RequestContext;
use std::collections::BTreeMap;

/// A message attribute value as the wire carries it (binary in base64).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AttrIn {
    /// Data type.
    #[serde(default)]
    pub data_type: Option<String>,
    /// String or Number value.
    #[serde(default)]
    pub string_value: Option<String>,
    /// Binary value, base64.
    #[serde(default)]
    pub binary_value: Option<String>,
    /// Reserved by AWS.
    #[serde(default)]
    pub string_list_values: Option<Vec<String>>,
    /// Reserved by AWS.
    #[serde(default)]
    pub binary_list_values: Option<Vec<String>>,
}

/// CreateQueue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueIn {
    /// Name.
    pub queue_name: String,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Tags (the member is lower-case `tags` in the model).
    #[serde(default, rename = "tags")]
    pub tags: BTreeMap<String, String>,
}

/// Operations that name only a queue (DeleteQueue, PurgeQueue, ListQueueTags).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlIn {
    /// Queue URL.
    pub queue_url: String,
}

/// GetQueueUrl.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlIn {
    /// Name.
    pub queue_name: String,
    /// Owner account.
    #[serde(default, rename = "QueueOwnerAWSAccountId")]
    pub owner: Option<String>,
}

/// ListQueues.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesIn {
    /// Name prefix.
    #[serde(default)]
    pub queue_name_prefix: Option<String>,
    /// Page token.
    #[serde(default)]
    pub next_token: Option<String>,
    /// Page size.
    #[serde(default)]
    pub max_results: Option<i64>,
}

/// GetQueueAttributes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAttrsIn {
    /// Queue URL.
    pub queue_url: String,
    /// Names asked for.
    #[serde(default)]
    pub attribute_names: Vec<String>,
}

/// SetQueueAttributes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetAttrsIn {
    /// Queue URL.
    pub queue_url: String,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// TagQueue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    /// Queue URL.
    pub queue_url: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// UntagQueue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagIn {
    /// Queue URL.
    pub queue_url: String,
    /// Keys.
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

/// AddPermission.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionIn {
    /// Queue URL.
    pub queue_url: String,
    /// Label.
    pub label: String,
    /// Accounts.
    #[serde(default, rename = "AWSAccountIds")]
    pub accounts: Vec<String>,
    /// Actions.
    #[serde(default)]
    pub actions: Vec<String>,
}

/// RemovePermission.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionIn {
    /// Queue URL.
    pub queue_url: String,
    /// Label.
    pub label: String,
}

/// ListDeadLetterSourceQueues.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DlqSourcesIn {
    /// The dead-letter queue's URL.
    pub queue_url: String,
    /// Page token.
    #[serde(default)]
    pub next_token: Option<String>,
    /// Page size.
    #[serde(default)]
    pub max_results: Option<i64>,
}

/// SendMessage (and a SendMessageBatch entry, which adds `Id`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct SendIn {
    /// Queue URL (absent in batch entries).
    #[serde(default)]
    pub queue_url: String,
    /// Batch entry id.
    #[serde(default)]
    pub id: Option<String>,
    /// Body.
    #[serde(default)]
    pub message_body: Option<String>,
    /// Delay.
    #[serde(default)]
    pub delay_seconds: Option<i64>,
    /// Message attributes.
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttrIn>,
    /// System attributes (AWSTraceHeader).
    #[serde(default)]
    pub message_system_attributes: BTreeMap<String, AttrIn>,
    /// FIFO dedup id.
    #[serde(default)]
    pub message_deduplication_id: Option<String>,
    /// FIFO group.
    #[serde(default)]
    pub message_group_id: Option<String>,
}

/// SendMessageBatch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendBatchIn {
    /// Queue URL.
    pub queue_url: String,
    /// Entries.
    #[serde(default)]
    pub entries: Vec<SendIn>,
}

/// ReceiveMessage.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveIn {
    /// Queue URL.
    pub queue_url: String,
    /// Legacy system attribute names.
    #[serde(default)]
    pub attribute_names: Vec<String>,
    /// System attribute names.
    #[serde(default)]
    pub message_system_attribute_names: Vec<String>,
    /// Message attribute names (or `All`, `.*`, `prefix.*`).
    #[serde(default)]
    pub message_attribute_names: Vec<String>,
    /// 1-10.
    #[serde(default)]
    pub max_number_of_messages: Option<i64>,
    /// Visibility timeout for these messages.
    #[serde(default)]
    pub visibility_timeout: Option<i64>,
    /// Long-poll wait, 0-20 s.
    #[serde(default)]
    pub wait_time_seconds: Option<i64>,
    /// FIFO receive request attempt id (accepted, not used for retries).
    #[serde(default)]
    pub receive_request_attempt_id: Option<String>,
}

/// DeleteMessage / ChangeMessageVisibility and their batch entries.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct HandleIn {
    /// Queue URL (absent in batch entries).
    #[serde(default)]
    pub queue_url: String,
    /// Batch entry id.
    #[serde(default)]
    pub id: Option<String>,
    /// Receipt handle.
    #[serde(default)]
    pub receipt_handle: Option<String>,
    /// New visibility timeout.
    #[serde(default)]
    pub visibility_timeout: Option<i64>,
}

/// DeleteMessageBatch / ChangeMessageVisibilityBatch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleBatchIn {
    /// Queue URL.
    pub queue_url: String,
    /// Entries.
    #[serde(default)]
    pub entries: Vec<HandleIn>,
}

/// StartMessageMoveTask.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMoveIn {
    /// The dead-letter queue's ARN.
    pub source_arn: String,
    /// Where to (default: each message's source queue).
    #[serde(default)]
    pub destination_arn: Option<String>,
    /// Messages per second.
    #[serde(default)]
    pub max_number_of_messages_per_second: Option<i64>,
}

/// CancelMessageMoveTask.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMoveIn {
    /// Task handle.
    pub task_handle: String,
}

/// ListMessageMoveTasks.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMovesIn {
    /// The dead-letter queue's ARN.
    pub source_arn: String,
    /// 1-10.
    #[serde(default)]
    pub max_results: Option<i64>,
}

/// One SQS operation with its input.
#[derive(Debug)]
pub enum Op {
    /// CreateQueue.
    CreateQueue(CreateQueueIn),
    /// GetQueueUrl.
    GetQueueUrl(GetQueueUrlIn),
    /// ListQueues.
    ListQueues(ListQueuesIn),
    /// DeleteQueue.
    DeleteQueue(QueueUrlIn),
    /// GetQueueAttributes.
    GetQueueAttributes(GetAttrsIn),
    /// SetQueueAttributes.
    SetQueueAttributes(SetAttrsIn),
    /// PurgeQueue.
    PurgeQueue(QueueUrlIn),
    /// ListQueueTags.
    ListQueueTags(QueueUrlIn),
    /// TagQueue.
    TagQueue(TagIn),
    /// UntagQueue.
    UntagQueue(UntagIn),
    /// AddPermission.
    AddPermission(AddPermissionIn),
    /// RemovePermission.
    RemovePermission(RemovePermissionIn),
    /// ListDeadLetterSourceQueues.
    ListDeadLetterSourceQueues(DlqSourcesIn),
    /// SendMessage.
    SendMessage(SendIn),
    /// SendMessageBatch.
    SendMessageBatch(SendBatchIn),
    /// ReceiveMessage.
    ReceiveMessage(ReceiveIn),
    /// DeleteMessage.
    DeleteMessage(HandleIn),
    /// DeleteMessageBatch.
    DeleteMessageBatch(HandleBatchIn),
    /// ChangeMessageVisibility.
    ChangeMessageVisibility(HandleIn),
    /// ChangeMessageVisibilityBatch.
    ChangeMessageVisibilityBatch(HandleBatchIn),
    /// StartMessageMoveTask.
    StartMessageMoveTask(StartMoveIn),
    /// CancelMessageMoveTask.
    CancelMessageMoveTask(CancelMoveIn),
    /// ListMessageMoveTasks.
    ListMessageMoveTasks(ListMovesIn),
}

fn input<T: serde::de::DeserializeOwned>(body: Map<String, Json>) -> Result<T> {
    serde_json::from_value(Json::Object(body))
        .map_err(|e| SqsError::new(Kind::Serialization, e.to_string()))
}

impl Op {
    /// The typed operation `name` with its (shape-checked) input.
    pub fn parse(name: &str, body: Map<String, Json>) -> Result<Op> {
        Ok(match name {
            "CreateQueue" => Op::CreateQueue(input(body)?),
            "GetQueueUrl" => Op::GetQueueUrl(input(body)?),
            "ListQueues" => Op::ListQueues(input(body)?),
            "DeleteQueue" => Op::DeleteQueue(input(body)?),
            "GetQueueAttributes" => Op::GetQueueAttributes(input(body)?),
            "SetQueueAttributes" => Op::SetQueueAttributes(input(body)?),
            "PurgeQueue" => Op::PurgeQueue(input(body)?),
            "ListQueueTags" => Op::ListQueueTags(input(body)?),
            "TagQueue" => Op::TagQueue(input(body)?),
            "UntagQueue" => Op::UntagQueue(input(body)?),
            "AddPermission" => Op::AddPermission(input(body)?),
            "RemovePermission" => Op::RemovePermission(input(body)?),
            "ListDeadLetterSourceQueues" => Op::ListDeadLetterSourceQueues(input(body)?),
            "SendMessage" => Op::SendMessage(input(body)?),
            "SendMessageBatch" => Op::SendMessageBatch(input(body)?),
            "ReceiveMessage" => Op::ReceiveMessage(input(body)?),
            "DeleteMessage" => Op::DeleteMessage(input(body)?),
            "DeleteMessageBatch" => Op::DeleteMessageBatch(input(body)?),
            "ChangeMessageVisibility" => Op::ChangeMessageVisibility(input(body)?),
            "ChangeMessageVisibilityBatch" => Op::ChangeMessageVisibilityBatch(input(body)?),
            "StartMessageMoveTask" => Op::StartMessageMoveTask(input(body)?),
            "CancelMessageMoveTask" => Op::CancelMessageMoveTask(input(body)?),
            "ListMessageMoveTasks" => Op::ListMessageMoveTasks(input(body)?),
            other => {
                return Err(SqsError::new(
                    Kind::InvalidAction,
                    format!("The action {other} is not valid for this endpoint."),
                ))
            }
        })
    }
}

/// Runs one operation; returns the output object.
pub async fn run(sqs: &Sqs, ctx: &RequestContext, op: Op) -> Result<Json> {
    match op {
        Op::CreateQueue(i) => queues::create(sqs, ctx, i).await,
        Op::GetQueueUrl(i) => queues::get_url(sqs, ctx, i),
        Op::ListQueues(i) => queues::list(sqs, ctx, i),
        Op::DeleteQueue(i) => queues::delete(sqs, ctx, i).await,
        Op::GetQueueAttributes(i) => queues::get_attributes(sqs, ctx, i),
        Op::SetQueueAttributes(i) => queues::set_attributes(sqs, ctx, i).await,
        Op::PurgeQueue(i) => queues::purge(sqs, ctx, i).await,
        Op::ListQueueTags(i) => queues::list_tags(sqs, ctx, i),
        Op::TagQueue(i) => queues::tag(sqs, ctx, i).await,
        Op::UntagQueue(i) => queues::untag(sqs, ctx, i).await,
        Op::AddPermission(i) => queues::add_permission(sqs, ctx, i).await,
        Op::RemovePermission(i) => queues::remove_permission(sqs, ctx, i).await,
        Op::ListDeadLetterSourceQueues(i) => queues::dead_letter_sources(sqs, ctx, i),
        Op::SendMessage(i) => messages::send(sqs, ctx, i).await,
        Op::SendMessageBatch(i) => messages::send_batch(sqs, ctx, i).await,
        Op::ReceiveMessage(i) => messages::receive(sqs, ctx, i).await,
        Op::DeleteMessage(i) => messages::delete(sqs, ctx, i).await,
        Op::DeleteMessageBatch(i) => messages::delete_batch(sqs, ctx, i).await,
        Op::ChangeMessageVisibility(i) => messages::change_visibility(sqs, ctx, i),
        Op::ChangeMessageVisibilityBatch(i) => messages::change_visibility_batch(sqs, ctx, i),
        Op::StartMessageMoveTask(i) => moves::start(sqs, ctx, i),
        Op::CancelMessageMoveTask(i) => moves::cancel(sqs, ctx, i),
        Op::ListMessageMoveTasks(i) => moves::list(sqs, ctx, i),
    }
}
