//! PutEvents and TestEventPattern, and the delivery of events to targets:
//! the event in the shape AWS sends it, the target's input (Input,
//! InputPath, InputTransformer), retries and the dead-letter queue.

use crate::api::{PutEvents, TestEventPattern};
use crate::error::{self, Result};
use crate::model::Rule;
use crate::ops::bus_name;
use crate::ops::buses::bus_exists;
use crate::pattern::Pattern;
use crate::transform;
use crate::Events;
use serde_json::{json, Map, Value as Json};
use serval_core::{Clock, Delivery, EventSink, RequestContext};
use std::sync::Arc;

/// The largest PutEvents request (sum of entry sizes as AWS counts them).
pub const MAX_PUT_EVENTS_BYTES: usize = 256 * 1024;

/// An event as targets receive it.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event's id.
    pub id: String,
    /// Its JSON text, keys in AWS's order.
    pub text: String,
    /// Its parsed form (for matching and input paths).
    pub value: Json,
}

/// `2024-01-31T12:34:56Z`: the event `time` format (whole seconds).
pub fn event_time(ms: u64) -> String {
    let s = serval_core::time::iso8601(ms);
    format!("{}Z", &s[..19])
}

/// Builds an event from its parts; `detail` must be a JSON object's text.
#[allow(clippy::too_many_arguments)]
pub fn build_event(
    id: String,
    detail_type: &str,
    source: &str,
    account: &str,
    time: &str,
    region: &str,
    resources: &[String],
    detail: &Json,
) -> Event {
    let q = |s: &str| Json::String(s.to_string()).to_string();
    let text = format!(
        "{{\"version\":\"0\",\"id\":{},\"detail-type\":{},\"source\":{},\"account\":{},\"time\":{},\"region\":{},\"resources\":{},\"detail\":{}}}",
        q(&id),
        q(detail_type),
        q(source),
        q(account),
        q(time),
        q(region),
        Json::from(resources.to_vec()),
        detail
    );
    let value = json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": source,
        "account": account, "time": time, "region": region, "resources": resources,
        "detail": detail,
    });
    Event { id, text, value }
}

/// What one target needs to receive an event.
#[derive(Debug, Clone)]
pub struct Dispatch {
    /// The rule's ARN.
    pub rule_arn: String,
    /// The rule's name.
    pub rule_name: String,
    /// The target as given to PutTargets.
    pub target: Map<String, Json>,
}

/// The targets of every enabled rule on a bus whose pattern matches.
pub(crate) fn matching(
    ev: &Events,
    account: &str,
    region: &str,
    bus: &str,
    e: &Json,
) -> Vec<Dispatch> {
    let st = ev.lock();
    let mut out = Vec::new();
    for r in st.rules.values() {
        if r.account != account || r.region != region || r.bus != bus || !r.enabled() {
            continue;
        }
        let Some(p) = &r.event_pattern else { continue };
        match ev.compiled(p) {
            Ok(p) if p.matches(e) => out.extend(dispatches(r)),
            Ok(_) => {}
            Err(reason) => {
                tracing::warn!(rule = %r.name, %reason, "stored pattern does not compile")
            }
        }
    }
    out
}

/// One [`Dispatch`] per target of a rule.
pub(crate) fn dispatches(r: &Rule) -> Vec<Dispatch> {
    let arn = r.arn();
    r.targets
        .iter()
        .map(|t| Dispatch {
            rule_arn: arn.clone(),
            rule_name: r.name.clone(),
            target: t.clone(),
        })
        .collect()
}

/// The text a target receives for an event.
pub fn target_input(t: &Map<String, Json>, e: &Event, rule_arn: &str, rule_name: &str) -> String {
    if let Some(input) = t.get("Input").and_then(Json::as_str) {
        return input.to_string();
    }
    if let Some(path) = t.get("InputPath").and_then(Json::as_str) {
        return transform::select(&e.value, path)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "null".into());
    }
    if let Some(tr) = t.get("InputTransformer") {
        let paths: Vec<(String, String)> = tr
            .get("InputPathsMap")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let template = tr
            .get("InputTemplate")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let ingestion = e.value["time"].as_str().unwrap_or_default().to_string();
        return transform::apply_template(
            template,
            &paths,
            &e.value,
            &transform::Context {
                rule_arn,
                rule_name,
                ingestion_time: &ingestion,
            },
        );
    }
    e.text.clone()
}

/// Sends an event to each dispatch's target in the background (with the
/// target's retry policy, then its dead-letter queue).
pub(crate) fn deliver_all(ev: &Events, e: &Event, targets: Vec<Dispatch>) {
    let Some(sink) = ev.sink.get().cloned() else {
        if !targets.is_empty() {
            tracing::warn!("no event sink: matched targets are not delivered");
        }
        return;
    };
    for d in targets {
        let arn = d
            .target
            .get("Arn")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let body = target_input(&d.target, e, &d.rule_arn, &d.rule_name);
        let mut delivery = Delivery::new(arn.clone(), body);
        if delivery.service() == "events" {
            // Another bus gets the event itself (its parts).
            delivery.body = e.value["detail"].to_string();
            delivery.source = e.value["source"].as_str().unwrap_or_default().to_string();
            delivery.detail_type = e.value["detail-type"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            delivery.resources = e.value["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
        }
        let dlq = d
            .target
            .get("DeadLetterConfig")
            .and_then(|c| c.get("Arn"))
            .and_then(Json::as_str)
            .map(str::to_string);
        spawn_delivery(
            &sink,
            ev,
            delivery,
            d.target.get("RetryPolicy"),
            dlq,
            vec![("RULE_ARN".into(), "String", d.rule_arn)],
            e.text.clone(),
        );
    }
}

/// Delivers in the background, retrying as the target's RetryPolicy says
/// (default 185 attempts within 24 hours), then to the dead-letter queue
/// `dlq` with `attributes` and the error.
pub(crate) fn spawn_delivery(
    sink: &Arc<dyn EventSink>,
    ev: &Events,
    delivery: Delivery,
    policy: Option<&Json>,
    dlq: Option<String>,
    attributes: Vec<serval_core::events::MessageAttribute>,
    dlq_body: String,
) {
    let retries = policy
        .and_then(|p| p.get("MaximumRetryAttempts"))
        .and_then(Json::as_u64)
        .unwrap_or(185);
    let max_age_ms = policy
        .and_then(|p| p.get("MaximumEventAgeInSeconds"))
        .and_then(Json::as_u64)
        .unwrap_or(86_400)
        * 1000;
    let job = Job {
        sink: sink.clone(),
        clock: ev.clock.clone(),
        delivery,
        retries,
        max_age_ms,
        dlq,
        attributes,
        dlq_body,
    };
    tokio::spawn(job.run());
}

struct Job {
    sink: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    delivery: Delivery,
    retries: u64,
    max_age_ms: u64,
    dlq: Option<String>,
    attributes: Vec<serval_core::events::MessageAttribute>,
    dlq_body: String,
}

/// Sleeps until platform time has advanced by `ms` (in short real steps,
/// so a faster clock shortens the wait).
pub(crate) async fn sleep_platform(clock: &dyn Clock, ms: u64) {
    let until = clock.now_millis().saturating_add(ms);
    loop {
        let now = clock.now_millis();
        if now >= until {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis((until - now).min(200))).await;
    }
}

impl Job {
    async fn run(self) {
        let started = self.clock.now_millis();
        let mut attempt = 0u64;
        let mut backoff = 1_000u64;
        let last = loop {
            match self.sink.deliver(self.delivery.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::debug!(target_arn = %self.delivery.target_arn, error = %e.message, attempt, "event delivery failed");
                    let age = self.clock.now_millis().saturating_sub(started);
                    if attempt >= self.retries || age + backoff > self.max_age_ms {
                        break e;
                    }
                    // A target that does not exist will not appear by retrying
                    // quickly; back off as EventBridge does (up to minutes).
                    sleep_platform(&*self.clock, backoff).await;
                    attempt += 1;
                    backoff = (backoff * 2).min(300_000);
                }
            }
        };
        tracing::warn!(target_arn = %self.delivery.target_arn, error = %last.message, "event not delivered");
        let Some(dlq) = self.dlq else { return };
        let mut d = Delivery::new(dlq.clone(), self.dlq_body);
        d.attributes = self.attributes;
        d.attributes.extend([
            (
                "TARGET_ARN".into(),
                "String",
                self.delivery.target_arn.clone(),
            ),
            ("ERROR_CODE".into(), "String", last.code.clone()),
            ("ERROR_MESSAGE".into(), "String", last.message.clone()),
        ]);
        if let Err(e) = self.sink.deliver(d).await {
            tracing::warn!(dlq = %dlq, error = %e.message, "could not deliver to the dead-letter queue");
        }
    }
}

fn entry_error(code: &str, message: &str) -> Json {
    json!({"ErrorCode": code, "ErrorMessage": message})
}

fn time_of(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_f64().map(|s| (s * 1000.0) as u64),
        Json::String(s) => s
            .parse::<f64>()
            .ok()
            .map(|s| (s * 1000.0) as u64)
            .or_else(|| {
                s.parse::<jiff::Timestamp>()
                    .ok()
                    .map(|t| t.as_millisecond().max(0) as u64)
            }),
        _ => None,
    }
}

/// PutEvents.
pub async fn put_events(ev: &Events, ctx: &RequestContext, i: PutEvents) -> Result<Json> {
    let size: usize = i
        .entries
        .iter()
        .map(|e| {
            e.time.as_ref().map_or(0, |_| 14)
                + e.source.as_ref().map_or(0, String::len)
                + e.detail_type.as_ref().map_or(0, String::len)
                + e.detail.as_ref().map_or(0, String::len)
                + e.resources.iter().map(String::len).sum::<usize>()
        })
        .sum();
    if size > MAX_PUT_EVENTS_BYTES {
        return Err(error::validation(
            "Total size of the entries in the request is over the limit.",
        ));
    }
    let now = ev.now();
    let mut results = Vec::with_capacity(i.entries.len());
    let mut failed = 0;
    for entry in i.entries {
        let fail = |code: &str, msg: &str| entry_error(code, msg);
        let bus = bus_name(entry.event_bus_name.as_deref());
        let checked = (|| {
            let Some(source) = entry.source.as_deref().filter(|s| !s.is_empty()) else {
                return Err(fail(
                    "InvalidArgument",
                    "Parameter Source is not valid. Reason: Source is a required argument.",
                ));
            };
            let Some(detail_type) = entry.detail_type.as_deref().filter(|s| !s.is_empty()) else {
                return Err(fail(
                    "InvalidArgument",
                    "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
                ));
            };
            let Some(detail) = entry.detail.as_deref().filter(|s| !s.is_empty()) else {
                return Err(fail(
                    "InvalidArgument",
                    "Parameter Detail is not valid. Reason: Detail is a required argument.",
                ));
            };
            let detail: Json = match serde_json::from_str(detail) {
                Ok(d @ Json::Object(_)) => d,
                _ => return Err(fail("MalformedDetail", "Detail is malformed.")),
            };
            if source.starts_with("aws.") {
                return Err(fail(
                    "NotAuthorizedForSourceException",
                    "Not authorized for the source.",
                ));
            }
            Ok((source.to_string(), detail_type.to_string(), detail))
        })();
        let (source, detail_type, detail) = match checked {
            Ok(parts) => parts,
            Err(e) => {
                failed += 1;
                results.push(e);
                continue;
            }
        };
        let exists = {
            let mut st = ev.lock();
            let (exists, ops) = bus_exists(ev, &mut st, ctx, &bus);
            if !ops.is_empty() {
                ev.store.write_detached(ops);
            }
            exists
        };
        if !exists {
            failed += 1;
            results.push(fail(
                "ResourceNotFoundException",
                &format!("Event bus {bus} does not exist."),
            ));
            continue;
        }
        let time = entry.time.as_ref().and_then(time_of).unwrap_or(now);
        let event = build_event(
            serval_core::ids::uuid_v4(),
            &detail_type,
            &source,
            &ctx.account_id,
            &event_time(time),
            &ctx.region,
            &entry.resources,
            &detail,
        );
        let targets = matching(ev, &ctx.account_id, &ctx.region, &bus, &event.value);
        deliver_all(ev, &event, targets);
        results.push(json!({"EventId": event.id}));
    }
    Ok(json!({"FailedEntryCount": failed, "Entries": results}))
}

impl Events {
    /// Puts an event on a bus for another service (Lambda destinations,
    /// a rule whose target is a bus): `bus_arn` names the bus, `detail`
    /// is the event detail's JSON text (a non-object is wrapped as AWS
    /// cannot carry it). Returns the event id.
    pub fn put_from_service(
        &self,
        bus_arn: &str,
        source: &str,
        detail_type: &str,
        resources: &[String],
        detail: &str,
    ) -> Result<String> {
        let parts: Vec<&str> = bus_arn.splitn(6, ':').collect();
        let [_, _, _, region, account, resource] = parts[..] else {
            return Err(error::validation(format!(
                "Invalid event bus ARN: {bus_arn}"
            )));
        };
        let bus = resource
            .strip_prefix("event-bus/")
            .ok_or_else(|| error::validation(format!("Invalid event bus ARN: {bus_arn}")))?;
        let ctx = RequestContext {
            account_id: account.to_string(),
            region: region.to_string(),
            access_key_id: String::new(),
            request_id: String::new(),
        };
        let exists = {
            let mut st = self.lock();
            let (exists, ops) = bus_exists(self, &mut st, &ctx, bus);
            if !ops.is_empty() {
                self.store.write_detached(ops);
            }
            exists
        };
        if !exists {
            return Err(error::bus_not_found(bus));
        }
        let detail: Json = match serde_json::from_str(detail) {
            Ok(d @ Json::Object(_)) => d,
            Ok(other) => json!({ "value": other }),
            Err(_) => json!({ "value": detail }),
        };
        let event = build_event(
            serval_core::ids::uuid_v4(),
            detail_type,
            source,
            account,
            &event_time(self.now()),
            region,
            resources,
            &detail,
        );
        let targets = matching(self, account, region, bus, &event.value);
        deliver_all(self, &event, targets);
        Ok(event.id)
    }
}

/// TestEventPattern.
pub fn test_pattern(i: TestEventPattern) -> Result<Json> {
    let pattern = Pattern::parse(&i.event_pattern).map_err(|r| error::bad_pattern(&r))?;
    let event: Json = serde_json::from_str(&i.event)
        .map_err(|_| error::validation("Parameter Event is not valid."))?;
    let complete = ["id", "account", "source", "time", "region", "detail-type"]
        .iter()
        .all(|k| event.get(*k).is_some());
    if !event.is_object() || !complete {
        return Err(error::validation("Parameter Event is not valid."));
    }
    Ok(json!({"Result": pattern.matches(&event)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        build_event(
            "id-1".into(),
            "Order Placed",
            "shop",
            "000000000000",
            "2024-01-01T00:00:00Z",
            "us-east-1",
            &["arn:x".to_string()],
            &json!({"order": {"id": 7, "item": "book"}}),
        )
    }

    #[test]
    fn event_text_has_aws_shape_and_order() {
        let e = sample();
        assert!(e.text.starts_with("{\"version\":\"0\",\"id\":\"id-1\",\"detail-type\":\"Order Placed\",\"source\":\"shop\",\"account\":\"000000000000\",\"time\":\"2024-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[\"arn:x\"],\"detail\":"));
        let parsed: Json = serde_json::from_str(&e.text).unwrap_or_default();
        assert_eq!(parsed, e.value);
        assert_eq!(event_time(1_704_067_200_123), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn target_inputs() {
        let e = sample();
        let t = |v: Json| v.as_object().cloned().unwrap_or_default();
        assert_eq!(target_input(&t(json!({"Id": "a"})), &e, "arn", "r"), e.text);
        assert_eq!(
            target_input(&t(json!({"Input": "{\"k\":1}"})), &e, "arn", "r"),
            "{\"k\":1}"
        );
        assert_eq!(
            target_input(&t(json!({"InputPath": "$.detail.order"})), &e, "arn", "r"),
            "{\"id\":7,\"item\":\"book\"}"
        );
        assert_eq!(
            target_input(
                &t(
                    json!({"InputTransformer": {"InputPathsMap": {"item": "$.detail.order.item"},
                    "InputTemplate": "{\"msg\": \"got <item>\", \"item\": <item>, \"rule\": <aws.events.rule-name>}"}})
                ),
                &e,
                "arn",
                "r"
            ),
            "{\"msg\": \"got book\", \"item\": \"book\", \"rule\": \"r\"}"
        );
    }

    #[test]
    fn test_event_pattern_requires_the_envelope() {
        let ok = test_pattern(TestEventPattern {
            event_pattern: r#"{"source": ["shop"]}"#.into(),
            event: sample().text,
        });
        assert_eq!(ok.ok(), Some(json!({"Result": true})));
        let bad = test_pattern(TestEventPattern {
            event_pattern: r#"{"source": ["shop"]}"#.into(),
            event: r#"{"source": "shop"}"#.into(),
        });
        assert_eq!(
            bad.err().map(|e| e.code),
            Some("ValidationException".into())
        );
        let invalid = test_pattern(TestEventPattern {
            event_pattern: r#"{"source": "shop"}"#.into(),
            event: sample().text,
        });
        assert_eq!(
            invalid.err().map(|e| e.message),
            Some(
                "Event pattern is not valid. Reason: \"source\" must be an object or an array"
                    .into()
            )
        );
    }
}
