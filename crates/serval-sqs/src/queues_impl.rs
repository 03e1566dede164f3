//! [`serval_core::Queues`] for other services: the same cores as the API's
//! SendMessage, ReceiveMessage, DeleteMessage and ChangeMessageVisibility,
//! with queues named by ARN.

use crate::error::{invalid_param, no_queue, SqsError};
use crate::ops::messages::{self, system_attributes, Prepared};
use crate::Sqs;
use serval_core::{
    AwsError, CallFuture, QueueInfo, Queues, ReceiveMessages, ReceivedMessage, SendMessage,
    SentMessage,
};
use std::sync::Arc;
use std::time::Duration;

/// SQS as other services see it.
#[derive(Clone)]
pub struct SqsQueues(pub Arc<Sqs>);

fn queue(sqs: &Sqs, arn: &str) -> Result<Arc<crate::Queue>, AwsError> {
    sqs.by_arn(arn).ok_or_else(|| no_queue().into())
}

impl Queues for SqsQueues {
    fn send(&self, msg: SendMessage) -> CallFuture<'_, SentMessage> {
        Box::pin(async move {
            let q = queue(&self.0, &msg.queue_arn)?;
            let input = crate::ops::SendIn {
                message_body: Some(msg.body),
                delay_seconds: msg.delay_seconds.map(i64::from),
                message_group_id: msg.group_id,
                message_deduplication_id: msg.dedup_id,
                ..Default::default()
            };
            let mut p: Prepared = messages::prepare(&input)?;
            p.attrs = msg.message_attributes;
            p.trace = msg.trace_header;
            p.size += p
                .attrs
                .iter()
                .map(|(k, v)| {
                    k.len()
                        + v.data_type.len()
                        + v.string_value.as_ref().map_or(0, String::len)
                        + v.binary_value.as_ref().map_or(0, Vec::len)
                })
                .sum::<usize>();
            let sender = q.account.clone();
            let mut out = messages::send_to(&self.0, &q, vec![p], &sender).await?;
            match out.pop() {
                Some(Ok(s)) => Ok(SentMessage {
                    message_id: s.id,
                    sequence_number: s.sequence,
                    md5_of_body: s.md5_body,
                    md5_of_message_attributes: s.md5_attrs,
                }),
                Some(Err(e)) => Err(e.into()),
                None => Err(AwsError::internal("no result")),
            }
        })
    }

    fn receive(&self, req: ReceiveMessages) -> CallFuture<'_, Vec<ReceivedMessage>> {
        Box::pin(async move {
            let q = queue(&self.0, &req.queue_arn)?;
            if !(1..=10).contains(&req.max_messages) {
                return Err(invalid_param(
                    req.max_messages,
                    "MaxNumberOfMessages",
                    "Must be between 1 and 10, if provided.",
                )
                .into());
            }
            let wait = req.wait.min(Duration::from_secs(20));
            let got = messages::receive_from(
                &self.0,
                &q,
                req.max_messages as usize,
                req.visibility_timeout,
                wait,
            )
            .await;
            Ok(got
                .into_iter()
                .map(|d| ReceivedMessage {
                    attributes: system_attributes(&d.msg, q.fifo),
                    message_id: d.msg.id,
                    receipt_handle: d.handle,
                    body: d.msg.body,
                    message_attributes: d.msg.attrs,
                    md5_of_body: d.msg.md5_body,
                    md5_of_message_attributes: d.msg.md5_attrs,
                })
                .collect())
        })
    }

    fn delete(&self, queue_arn: String, receipt_handle: String) -> CallFuture<'_, ()> {
        Box::pin(async move {
            let q = queue(&self.0, &queue_arn)?;
            messages::delete_in(&self.0, &q, &receipt_handle)
                .await
                .map_err(AwsError::from)
        })
    }

    fn change_visibility(
        &self,
        queue_arn: String,
        receipt_handle: String,
        visibility_timeout: u32,
    ) -> CallFuture<'_, ()> {
        Box::pin(async move {
            let q = queue(&self.0, &queue_arn)?;
            messages::change_visibility_in(
                &self.0,
                &q,
                &receipt_handle,
                i64::from(visibility_timeout),
            )
            .map_err(|e: SqsError| AwsError::from(e))
        })
    }

    fn queue(&self, queue_arn: &str) -> Option<QueueInfo> {
        let q = self.0.by_arn(queue_arn)?;
        let (visibility, max_size) = {
            let inner = q.lock();
            (inner.st.cfg.visibility, inner.st.cfg.max_size)
        };
        Some(QueueInfo {
            arn: q.arn.clone(),
            url: self.0.url_of(&q),
            name: q.name.clone(),
            account_id: q.account.clone(),
            region: q.region.clone(),
            fifo: q.fifo,
            visibility_timeout: visibility,
            maximum_message_size: max_size,
        })
    }
}
