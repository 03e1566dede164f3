//! SNS in-process against a real store and a recording `Queues`: a publish
//! fans out to matching subscriptions only, the queue gets SNS's envelope
//! (or the raw message with its attributes), a missing queue sends the
//! message to the subscription's dead-letter queue, and pending jobs are
//! reloaded from the store by a new instance.

#![allow(clippy::unwrap_used)]

use serval_core::invoke::CallFuture;
use serval_core::{
    QueueInfo, Queues, ReceiveMessages, ReceivedMessage, RequestContext, SendMessage, SentMessage,
    SystemClock,
};
use serval_sns::{Sns, SnsConfig};
use serval_store::{Store, SyncMode};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<SendMessage>>,
}

impl Queues for Recorder {
    fn send(&self, msg: SendMessage) -> CallFuture<'_, SentMessage> {
        Box::pin(async move {
            self.sent.lock().unwrap().push(msg);
            Ok(SentMessage {
                message_id: "m".into(),
                sequence_number: None,
                md5_of_body: String::new(),
                md5_of_message_attributes: None,
            })
        })
    }
    fn receive(&self, _req: ReceiveMessages) -> CallFuture<'_, Vec<ReceivedMessage>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn delete(&self, _a: String, _r: String) -> CallFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn change_visibility(&self, _a: String, _r: String, _v: u32) -> CallFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn queue(&self, arn: &str) -> Option<QueueInfo> {
        // Every queue exists but `gone`.
        let name = arn.rsplit(':').next()?.to_string();
        (name != "gone").then(|| QueueInfo {
            arn: arn.to_string(),
            url: String::new(),
            name,
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            fifo: false,
            visibility_timeout: 30,
            maximum_message_size: 262_144,
        })
    }
}

async fn call(sns: &Sns, query: &str) -> (u16, String) {
    let req = serval_wire::Request {
        method: http::Method::POST,
        path: "/".into(),
        query: String::new(),
        headers: {
            let mut h = http::HeaderMap::new();
            h.insert(
                "content-type",
                "application/x-www-form-urlencoded".parse().unwrap(),
            );
            h
        },
        body: bytes::Bytes::from(query.to_string()),
        remote_addr: None,
    };
    let resp = serval_sns::protocol::handle(sns, RequestContext::default_for_tests(), req).await;
    (
        resp.status.as_u16(),
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn between<'a>(doc: &'a str, open: &str, close: &str) -> &'a str {
    let start = doc.find(open).unwrap() + open.len();
    let end = doc[start..].find(close).unwrap() + start;
    &doc[start..end]
}

async fn wait_for(rec: &Recorder, n: usize) -> Vec<SendMessage> {
    for _ in 0..200 {
        if rec.sent.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rec.sent.lock().unwrap().clone()
}

fn start(store: &Store, rec: &Arc<Recorder>) -> Arc<Sns> {
    let sns = Sns::start(
        store.clone(),
        Arc::new(SystemClock),
        SnsConfig {
            endpoint_url: "http://localhost:4566".into(),
        },
    )
    .unwrap();
    sns.set_queues(rec.clone());
    sns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_fans_out_filters_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), SyncMode::Normal).unwrap();
    let rec = Arc::new(Recorder::default());
    let sns = start(&store, &rec);

    let (status, doc) = call(&sns, "Action=CreateTopic&Name=t").await;
    assert_eq!(status, 200, "{doc}");
    let topic = between(&doc, "<TopicArn>", "</TopicArn>").to_string();
    let q = "arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000";
    let (status, doc) = call(
        &sns,
        &format!("Action=Subscribe&TopicArn={topic}&Protocol=sqs&Endpoint={q}%3Aall"),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let sub_all = between(&doc, "<SubscriptionArn>", "</SubscriptionArn>").to_string();
    let policy = "%7B%22color%22%3A%5B%22red%22%5D%7D";
    call(&sns, &format!("Action=Subscribe&TopicArn={topic}&Protocol=sqs&Endpoint={q}%3Ared&Attributes.entry.1.key=FilterPolicy&Attributes.entry.1.value={policy}&Attributes.entry.2.key=RawMessageDelivery&Attributes.entry.2.value=true")).await;
    let redrive = format!("%7B%22deadLetterTargetArn%22%3A%22{q}%3Adlq%22%7D");
    call(&sns, &format!("Action=Subscribe&TopicArn={topic}&Protocol=sqs&Endpoint={q}%3Agone&Attributes.entry.1.key=RedrivePolicy&Attributes.entry.1.value={redrive}")).await;

    // Nothing runs the engine yet: the jobs wait in the store.
    let (status, doc) = call(&sns, &format!("Action=Publish&TopicArn={topic}&Message=hi&MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=blue")).await;
    assert_eq!(status, 200, "{doc}");
    let first_id = between(&doc, "<MessageId>", "</MessageId>").to_string();
    assert_eq!(
        sns.engine_pending(),
        2,
        "the red-only subscription is filtered out"
    );

    // A new instance on the same store finds the jobs and delivers them.
    drop(sns);
    let sns = start(&store, &rec);
    sns.spawn_background();
    let sent = wait_for(&rec, 2).await;
    assert_eq!(sent.len(), 2);
    let all = sent.iter().find(|m| m.queue_arn.ends_with(":all")).unwrap();
    let env: serde_json::Value = serde_json::from_str(&all.body).unwrap();
    assert_eq!(env["MessageId"], first_id.as_str());
    assert_eq!(env["Message"], "hi");
    assert_eq!(env["MessageAttributes"]["color"]["Value"], "blue");
    assert!(env["UnsubscribeURL"].as_str().unwrap().ends_with(&sub_all));
    let dlq = sent.iter().find(|m| m.queue_arn.ends_with(":dlq")).unwrap();
    assert_eq!(
        dlq.message_attributes["color"].string_value.as_deref(),
        Some("blue")
    );

    call(&sns, &format!("Action=Publish&TopicArn={topic}&Message=raw&MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=red")).await;
    let sent = wait_for(&rec, 5).await;
    let red = sent.iter().find(|m| m.queue_arn.ends_with(":red")).unwrap();
    assert_eq!(red.body, "raw");
    assert_eq!(red.message_attributes["color"].data_type, "String");
    for _ in 0..100 {
        if sns.engine_pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sns.engine_pending(), 0);
}
