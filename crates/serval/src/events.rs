//! The binary's [`EventSink`]: delivers a message to whatever service owns
//! the target ARN, so that services never import each other.

use serval_core::events::Delivery;
use serval_core::invoke::CallFuture;
use serval_core::{AwsError, EventSink, Queues};
use serval_events::Events;
use serval_lambda::Lambda;
use std::sync::Arc;

/// Routes deliveries by the service named in the target ARN.
pub struct EventRouter {
    /// Lambda functions (invoked asynchronously).
    pub lambda: Arc<Lambda>,
    /// SQS queues.
    pub queues: Arc<dyn Queues>,
    /// EventBridge buses (the delivery becomes an event on the bus).
    pub events: Arc<Events>,
    /// SNS topics (a delivery is published to the topic).
    pub sns: Arc<serval_sns::Sns>,
}

fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, _, region, account, _] => Some((region, account)),
        _ => None,
    }
}

impl EventSink for EventRouter {
    fn deliver(&self, d: Delivery) -> CallFuture<'_, ()> {
        Box::pin(async move {
            let (region, account) = arn_parts(&d.target_arn).ok_or_else(|| {
                AwsError::validation(format!("Invalid target ARN: {}", d.target_arn))
            })?;
            match d.service() {
                "lambda" => {
                    self.lambda
                        .invoke_async(account, region, &d.target_arn, d.body.clone())
                        .await?;
                    Ok(())
                }
                "sqs" => {
                    let message_attributes = d
                        .attributes
                        .iter()
                        .map(|(name, ty, value)| {
                            (
                                name.clone(),
                                serval_core::MessageAttribute {
                                    data_type: ty.to_string(),
                                    string_value: Some(value.clone()),
                                    binary_value: None,
                                },
                            )
                        })
                        .collect();
                    self.queues
                        .send(serval_core::SendMessage {
                            queue_arn: d.target_arn.clone(),
                            body: d.body.clone(),
                            message_attributes,
                            ..Default::default()
                        })
                        .await?;
                    Ok(())
                }
                "events" => {
                    self.events.put_from_service(
                        &d.target_arn,
                        &d.source,
                        &d.detail_type,
                        &d.resources,
                        &d.body,
                    )?;
                    Ok(())
                }
                "sns" => {
                    let attributes = d
                        .attributes
                        .iter()
                        .map(|(name, ty, value)| (name.clone(), ty.to_string(), value.clone()))
                        .collect();
                    self.sns
                        .publish_from_service(&d.target_arn, d.body.clone(), attributes)
                        .await?;
                    Ok(())
                }
                other => Err(AwsError::validation(format!(
                    "Serval cannot deliver to {other} targets yet: {}",
                    d.target_arn
                ))),
            }
        })
    }
}
