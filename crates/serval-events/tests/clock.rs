//! The timer reads platform time from the injected clock: a scheduled rule
//! and an `at()` schedule fire when the clock says so, not when real time
//! has passed, and matched events reach the sink in AWS's shape.

use serde_json::{json, Value as Json};
use serval_core::invoke::CallFuture;
use serval_core::{Clock, Delivery, EventSink, RequestContext};
use serval_events::api::EventsOp;
use serval_events::{Events, EventsConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Delivery>>);

impl EventSink for Recorder {
    fn deliver(&self, d: Delivery) -> CallFuture<'_, ()> {
        Box::pin(async move {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(d);
            Ok(())
        })
    }
}

impl Recorder {
    fn bodies(&self) -> Vec<(String, Json)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|d| {
                (
                    d.target_arn.clone(),
                    serde_json::from_str(&d.body).unwrap_or(Json::Null),
                )
            })
            .collect()
    }
}

async fn call(ev: &Events, op: &str, body: Json) -> Json {
    let ctx = RequestContext::default_for_tests();
    let parsed = EventsOp::parse(op, body.as_object().cloned().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    serval_events::ops::dispatch(ev, &ctx, parsed)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"))
}

async fn settle(rec: &Recorder, n: usize) {
    for _ in 0..200 {
        if rec.bodies().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn schedules_follow_the_platform_clock() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = serval_store::Store::open(dir.path(), serval_store::SyncMode::Normal)
        .unwrap_or_else(|e| panic!("{e}"));
    // 2024-01-01T00:00:00Z
    let clock = Arc::new(ManualClock(AtomicU64::new(1_704_067_200_000)));
    let ev = Events::start(
        store,
        EventsConfig {
            clock: clock.clone(),
            tick: Duration::from_millis(10),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rec = Arc::new(Recorder::default());
    ev.set_event_sink(rec.clone());

    let fn_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
    let rule = call(
        &ev,
        "PutRule",
        json!({"Name": "tick", "ScheduleExpression": "rate(5 minutes)"}),
    )
    .await;
    call(
        &ev,
        "PutTargets",
        json!({"Rule": "tick", "Targets": [{"Id": "t", "Arn": fn_arn}]}),
    )
    .await;

    ev.fire_due().await;
    clock.0.fetch_add(299_000, Ordering::SeqCst);
    ev.fire_due().await;
    settle(&rec, 1).await;
    assert!(rec.bodies().is_empty(), "fired early");

    clock.0.fetch_add(1_000, Ordering::SeqCst);
    ev.fire_due().await;
    settle(&rec, 1).await;
    let got = rec.bodies();
    assert_eq!(got.len(), 1);
    let (arn, event) = &got[0];
    assert_eq!(arn, fn_arn);
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["time"], "2024-01-01T00:05:00Z");
    assert_eq!(event["resources"], json!([rule["RuleArn"]]));
    assert_eq!(event["detail"], json!({}));

    // a pattern rule gets PutEvents' matching entries only
    call(
        &ev,
        "PutRule",
        json!({"Name": "p", "EventPattern": "{\"detail\": {\"n\": [{\"numeric\": [\">\", 1]}]}}"}),
    )
    .await;
    call(&ev, "PutTargets", json!({"Rule": "p", "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "InputPath": "$.detail"}]})).await;
    let out = call(
        &ev,
        "PutEvents",
        json!({"Entries": [
            {"Source": "s", "DetailType": "d", "Detail": "{\"n\": 1}"},
            {"Source": "s", "DetailType": "d", "Detail": "{\"n\": 2}"}
        ]}),
    )
    .await;
    assert_eq!(out["FailedEntryCount"], 0);
    settle(&rec, 2).await;
    let got = rec.bodies();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1],
        (
            "arn:aws:sqs:us-east-1:000000000000:q".to_string(),
            json!({"n": 2})
        )
    );
}
