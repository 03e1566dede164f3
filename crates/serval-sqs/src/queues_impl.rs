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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{queues, CreateQueueIn};
    use crate::SqsConfig;
    use serval_core::{MessageAttribute, RequestContext, ScaledClock};
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn other_services_send_receive_and_delete_by_arn(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = serval_store::Store::open(dir.path(), serval_store::SyncMode::Normal)?;
        let sqs = Sqs::start(store, Arc::new(ScaledClock::new(1.0)), SqsConfig::default())?;
        let ctx = RequestContext::default_for_tests();
        queues::create(
            &sqs,
            &ctx,
            CreateQueueIn {
                queue_name: "events".into(),
                attributes: BTreeMap::new(),
                tags: BTreeMap::new(),
            },
        )
        .await?;
        let arn = "arn:aws:sqs:us-east-1:000000000000:events".to_string();
        let q: Arc<dyn Queues> = Arc::new(SqsQueues(sqs.clone()));
        let info = q.queue(&arn).ok_or("no queue info")?;
        assert!(!info.fifo);
        assert_eq!(info.visibility_timeout, 30);
        assert_eq!(
            info.url,
            "http://sqs.us-east-1.localhost:4566/000000000000/events"
        );
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "k".to_string(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("v".into()),
                binary_value: None,
            },
        );
        let sent = q
            .send(SendMessage {
                queue_arn: arn.clone(),
                body: "hello".into(),
                message_attributes: attrs,
                ..Default::default()
            })
            .await?;
        assert_eq!(sent.md5_of_body, crate::md5::of_body("hello"));
        assert!(sent.md5_of_message_attributes.is_some());
        let got = q
            .receive(ReceiveMessages {
                queue_arn: arn.clone(),
                max_messages: 10,
                visibility_timeout: Some(30),
                wait: Duration::ZERO,
            })
            .await?;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message_id, sent.message_id);
        assert_eq!(got[0].attributes["ApproximateReceiveCount"], "1");
        assert_eq!(
            got[0].message_attributes["k"].string_value.as_deref(),
            Some("v")
        );
        q.change_visibility(arn.clone(), got[0].receipt_handle.clone(), 60)
            .await?;
        q.delete(arn.clone(), got[0].receipt_handle.clone()).await?;
        let none = q
            .receive(ReceiveMessages {
                queue_arn: arn.clone(),
                max_messages: 1,
                visibility_timeout: None,
                wait: Duration::ZERO,
            })
            .await?;
        assert!(none.is_empty());
        let err = q
            .delete(arn.clone(), "forged".into())
            .await
            .err()
            .ok_or("a forged handle was accepted")?;
        assert_eq!(err.code, "ReceiptHandleIsInvalid");
        let missing = q
            .send(SendMessage {
                queue_arn: "arn:aws:sqs:us-east-1:000000000000:nope".into(),
                body: "x".into(),
                ..Default::default()
            })
            .await
            .err()
            .ok_or("sent to a missing queue")?;
        assert_eq!(missing.code, "QueueDoesNotExist");
        Ok(())
    }
}
