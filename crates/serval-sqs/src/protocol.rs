//! The two wire protocols of SQS. JSON (`X-Amz-Target: AmazonSQS.<Op>`,
//! `application/x-amz-json-1.0`) is what today's SDKs speak; the query
//! protocol (`Action=<Op>&...` in a form body or the query string, posted to
//! the endpoint or to a queue URL path `/<account>/<name>`) is what older
//! SDKs speak, answered in XML in the `2012-11-05` namespace with the legacy
//! error codes. Both become the same typed operation.

use crate::error::{missing, Kind, SqsError};
use crate::ops::{self, Op};
use crate::Sqs;
use bytes::Bytes;
use serde_json::{Map, Value as Json};
use serval_core::RequestContext;
use serval_wire::query::{self, XmlRules};
use serval_wire::shapes::{Model, ShapeError};
use serval_wire::{error_render, Protocol, Request, Response};
use std::sync::OnceLock;

/// The XML namespace of SQS's query responses.
pub const XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// Every SQS action.
pub const ACTIONS: &[&str] = &[
    "AddPermission",
    "CancelMessageMoveTask",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "CreateQueue",
    "DeleteMessage",
    "DeleteMessageBatch",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "ListMessageMoveTasks",
    "ListQueueTags",
    "ListQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "RemovePermission",
    "SendMessage",
    "SendMessageBatch",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
];

/// Query-protocol names of members (their `locationName` in the query model).
const ALIASES: query::Aliases<'static> = &[
    ("Attributes", &["Attribute"]),
    ("tags", &["Tag", "Tags"]),
    ("Tags", &["Tag"]),
    ("TagKeys", &["TagKey"]),
    ("MessageAttributes", &["MessageAttribute"]),
    ("MessageSystemAttributes", &["MessageSystemAttribute"]),
    ("AttributeNames", &["AttributeName"]),
    ("MessageAttributeNames", &["MessageAttributeName"]),
    (
        "MessageSystemAttributeNames",
        &["MessageSystemAttributeName"],
    ),
    ("AWSAccountIds", &["AWSAccountId"]),
    ("Actions", &["ActionName"]),
    ("StringListValues", &["StringListValue"]),
    ("BinaryListValues", &["BinaryListValue"]),
    (
        "Entries",
        &[
            "SendMessageBatchRequestEntry",
            "DeleteMessageBatchRequestEntry",
            "ChangeMessageVisibilityBatchRequestEntry",
        ],
    ),
];

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::parse(include_str!("../model/sqs.json")).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the embedded SQS model does not parse");
            Model::parse(r#"{"ops":{},"shapes":{}}"#).unwrap_or_else(|_| unreachable!())
        })
    })
}

/// Whether a request is addressed to SQS by host: `sqs.<region>.localhost`
/// (the host of Serval's queue URLs) or AWS's `sqs.<region>.amazonaws.com`.
pub fn is_sqs_host(req: &Request) -> bool {
    req.host().is_some_and(|h| {
        h.starts_with("sqs.") && (h.ends_with(".localhost") || h.ends_with(".amazonaws.com"))
    })
}

/// Whether an (unsigned) request is SQS's: its `X-Amz-Target`, or a
/// query-protocol action of SQS.
pub fn is_sqs_request(req: &Request) -> bool {
    if let Some(t) = req.header("x-amz-target") {
        return t.starts_with("AmazonSQS.");
    }
    let params = query::params(req);
    query::param(&params, "Action").is_some_and(|a| ACTIONS.contains(&a))
}

/// `QueueDoesNotExist` -> `MissingParameter` etc.: a shape check's result
/// as SQS reports it.
fn shape_error(e: ShapeError) -> SqsError {
    match e {
        ShapeError::Serialization(m) => SqsError::new(Kind::Serialization, m),
        ShapeError::Invalid(errors) => {
            if let Some(v) = errors.iter().find(|v| v.value.is_none()) {
                let name = v.wire_path.rsplit('.').next().unwrap_or(&v.wire_path);
                return missing(name);
            }
            SqsError::new(
                Kind::InvalidParameterValue,
                ShapeError::violations_message(&errors),
            )
        }
    }
}

/// Serves one request in whichever protocol it speaks; errors are rendered
/// here (the edge renders only its own).
pub async fn handle(sqs: &Sqs, ctx: RequestContext, req: Request) -> Response {
    let request_id = ctx.request_id.clone();
    if let Some(target) = req.header("x-amz-target").map(str::to_string) {
        return match json_call(sqs, &ctx, &target, &req.body).await {
            Ok(out) => {
                let body = serde_json::to_vec(&out).unwrap_or_else(|_| b"{}".to_vec());
                Response::bytes(200, "application/x-amz-json-1.0", Bytes::from(body))
            }
            Err(e) => error_render::render(&e.to_json_error(), Protocol::AwsJson10, &request_id),
        };
    }
    let params = query::params(&req);
    let action = query::param(&params, "Action")
        .unwrap_or_default()
        .to_string();
    match query_call(sqs, &ctx, &action, &params, &req).await {
        Ok(out) => {
            let successful = format!("{action}ResultEntry");
            let renames = [
                ("QueueUrls", "QueueUrl"),
                ("queueUrls", "QueueUrl"),
                ("Attributes", "Attribute"),
                ("MessageAttributes", "MessageAttribute"),
                ("Messages", "Message"),
                ("Tags", "Tag"),
                ("Successful", successful.as_str()),
                ("Failed", "BatchResultErrorEntry"),
                ("Results", "ListMessageMoveTasksResultEntry"),
            ];
            let rules = XmlRules {
                renames: &renames,
                maps: &[
                    ("Attribute", "Name", "Value"),
                    ("MessageAttribute", "Name", "Value"),
                    ("Tag", "Key", "Value"),
                ],
                wrapped: &[],
            };
            let doc = query::xml_response(&action, XMLNS, &request_id, &out, &rules);
            Response::bytes(200, "text/xml", Bytes::from(doc))
        }
        Err(e) => error_render::render(&e.to_query_error(), Protocol::Query, &request_id),
    }
}

async fn json_call(
    sqs: &Sqs,
    ctx: &RequestContext,
    target: &str,
    raw: &[u8],
) -> Result<Json, SqsError> {
    let Some(op) = target.strip_prefix("AmazonSQS.") else {
        return Err(SqsError::new(
            Kind::InvalidAction,
            format!("Unknown operation {target}"),
        ));
    };
    let body: Map<String, Json> = if raw.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Json>(raw) {
            Ok(Json::Object(m)) => m,
            _ => {
                return Err(SqsError::new(
                    Kind::Serialization,
                    "The request body is not a JSON object.",
                ))
            }
        }
    };
    if !ACTIONS.contains(&op) {
        return Err(SqsError::new(
            Kind::InvalidAction,
            format!("The action {op} is not valid for this endpoint."),
        ));
    }
    model().check(op, &body).map_err(shape_error)?;
    ops::run(sqs, ctx, Op::parse(op, body)?).await
}

async fn query_call(
    sqs: &Sqs,
    ctx: &RequestContext,
    action: &str,
    params: &[(String, String)],
    req: &Request,
) -> Result<Json, SqsError> {
    if action.is_empty() {
        return Err(SqsError::new(
            Kind::InvalidAction,
            "The request must contain the parameter Action.",
        ));
    }
    if !ACTIONS.contains(&action) {
        return Err(SqsError::new(
            Kind::InvalidAction,
            format!("The action {action} is not valid for this endpoint."),
        ));
    }
    let mut body = query::to_json(model(), action, params, ALIASES);
    // Posted to a queue URL: the path names the queue.
    let segs = req.path_segments();
    if let [account, name] = segs.as_slice() {
        body.entry("QueueUrl")
            .or_insert_with(|| Json::String(format!("/{account}/{name}")));
    }
    model().check(action, &body).map_err(shape_error)?;
    ops::run(sqs, ctx, Op::parse(action, body)?).await
}
