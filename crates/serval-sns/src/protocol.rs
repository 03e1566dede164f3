//! SNS's wire protocol: the query protocol (`Action=<Op>&...` in a form body
//! or the query string), read into the operation's JSON input through the
//! compact botocore model (`model/sns.json`), answered in XML in the
//! `2010-03-31` namespace (lists as `<member>`, maps as
//! `<entry><key/><value/></entry>`).

use crate::error::{Kind, SnsError};
use crate::ops::{self, Op};
use crate::Sns;
use bytes::Bytes;
use serde_json::{Map, Value as Json};
use serval_core::RequestContext;
use serval_wire::query::{self, XmlRules};
use serval_wire::shapes::{Model, ShapeError};
use serval_wire::{error_render, Protocol, Request, Response};
use std::sync::OnceLock;

/// The XML namespace of SNS's responses.
pub const XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// The actions Serval implements.
pub const ACTIONS: &[&str] = &[
    "AddPermission",
    "ConfirmSubscription",
    "CreateTopic",
    "DeleteTopic",
    "GetDataProtectionPolicy",
    "GetSubscriptionAttributes",
    "GetTopicAttributes",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "ListTagsForResource",
    "ListTopics",
    "Publish",
    "PublishBatch",
    "PutDataProtectionPolicy",
    "RemovePermission",
    "SetSubscriptionAttributes",
    "SetTopicAttributes",
    "Subscribe",
    "TagResource",
    "Unsubscribe",
    "UntagResource",
];

/// Actions whose response has no result element.
const NO_OUTPUT: &[&str] = &[
    "AddPermission",
    "DeleteTopic",
    "PutDataProtectionPolicy",
    "RemovePermission",
    "SetSubscriptionAttributes",
    "SetTopicAttributes",
    "Unsubscribe",
];

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::parse(include_str!("../model/sns.json")).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the embedded SNS model does not parse");
            Model::parse(r#"{"ops":{},"shapes":{}}"#).unwrap_or_else(|_| unreachable!())
        })
    })
}

fn action_of(req: &Request) -> Option<String> {
    let params = query::params(req);
    query::param(&params, "Action").map(str::to_string)
}

/// Whether an (unsigned) request is SNS's: one of its query actions.
pub fn is_sns_request(req: &Request) -> bool {
    if req.header("x-amz-target").is_some() {
        return false;
    }
    action_of(req).is_some_and(|a| ACTIONS.contains(&a.as_str()))
}

/// Actions SNS serves without a signature: the SubscribeURL and
/// UnsubscribeURL links in messages.
pub fn is_public_action(req: &Request) -> bool {
    action_of(req).is_some_and(|a| a == "ConfirmSubscription" || a == "Unsubscribe")
}

fn shape_error(e: ShapeError) -> SnsError {
    match e {
        ShapeError::Serialization(m) => SnsError::new(Kind::Validation, m),
        ShapeError::Invalid(errors) => {
            SnsError::new(Kind::Validation, ShapeError::violations_message(&errors))
        }
    }
}

/// Maps become `{"entry": map}` so the XML writer emits `<entry><key/><value/></entry>`.
fn wrap_maps(out: &mut Json) {
    if let Json::Object(obj) = out {
        if let Some(attrs) = obj.get_mut("Attributes") {
            let inner = std::mem::take(attrs);
            let mut m = Map::new();
            m.insert("entry".into(), inner);
            *attrs = Json::Object(m);
        }
    }
}

/// Serves one request; errors are rendered here.
pub async fn handle(sns: &Sns, ctx: RequestContext, req: Request) -> Response {
    let request_id = ctx.request_id.clone();
    let params = query::params(&req);
    let action = query::param(&params, "Action")
        .unwrap_or_default()
        .to_string();
    match call(sns, &ctx, &action, &params).await {
        Ok(mut out) => {
            wrap_maps(&mut out);
            let rules = XmlRules {
                renames: &[],
                maps: &[("entry", "key", "value")],
                wrapped: &["Topics", "Subscriptions", "Tags", "Successful", "Failed"],
            };
            let mut doc = query::xml_response(&action, XMLNS, &request_id, &out, &rules);
            // Operations with an output shape always carry their (possibly
            // empty) result element: botocore looks for it.
            let open = format!("<{action}Result>");
            if !NO_OUTPUT.contains(&action.as_str()) && !doc.contains(&open) {
                doc = doc.replacen(
                    "<ResponseMetadata>",
                    &format!("<{action}Result/><ResponseMetadata>"),
                    1,
                );
            }
            Response::bytes(200, "text/xml", Bytes::from(doc))
        }
        Err(e) => {
            if e.kind == Kind::Internal {
                tracing::warn!(action, message = %e.message, "sns internal error");
            }
            error_render::render(&e.into(), Protocol::Query, &request_id)
        }
    }
}

async fn call(
    sns: &Sns,
    ctx: &RequestContext,
    action: &str,
    params: &[(String, String)],
) -> Result<Json, SnsError> {
    if action.is_empty() {
        return Err(SnsError::new(
            Kind::InvalidAction,
            "The request must contain the parameter Action.",
        ));
    }
    if !ACTIONS.contains(&action) {
        return Err(SnsError::new(
            Kind::InvalidAction,
            format!("The action {action} is not valid for this endpoint."),
        ));
    }
    let mut body = query::to_json(model(), action, params, &[]);
    if action == "PublishBatch" {
        // An empty list is no parameter at all in the query protocol: SNS
        // answers EmptyBatchRequest, not a missing parameter.
        // (botocore sends `PublishBatchRequestEntries=` for an empty list.)
        let entries = body
            .entry("PublishBatchRequestEntries")
            .or_insert_with(|| Json::Array(Vec::new()));
        let blank = |v: &Json| v.as_str() == Some("");
        if blank(entries)
            || entries
                .as_array()
                .is_some_and(|a| a.len() == 1 && blank(&a[0]))
        {
            *entries = Json::Array(Vec::new());
        }
    }
    model().check(action, &body).map_err(shape_error)?;
    ops::run(sns, ctx, Op::parse(action, body)?).await
}
