//! Fires scheduled rules and Scheduler schedules on time.
//!
//! One task wakes every `tick` of real time (or when a rule or schedule
//! changes), reads platform time from the clock and fires whatever is due,
//! so a clock running N times faster fires schedules N times sooner. Next
//! firings live in memory and are recomputed from the definitions after a
//! restart: a rate or cron firing missed while Serval was down is skipped
//! (the next one comes on time), while a one-time `at()` schedule that has
//! not fired fires once as soon as Serval is back.

use crate::model::{Rule, Schedule};
use crate::ops::events::{build_event, deliver_all, dispatches, event_time, spawn_delivery};
use crate::schedule::{self, Expr};
use crate::Events;
use serde_json::{json, Value as Json};
use serval_core::Delivery;
use std::sync::Arc;

/// What is due: a scheduled rule or a schedule, with the platform time it was due.
enum Due {
    Rule(Box<Rule>, i64),
    Schedule(Box<Schedule>, i64),
}

/// The first firing of a schedule's expression after `after`, within its
/// StartDate/EndDate, with the flexible window's random delay added:
/// `(fire at, nominal time)`.
pub fn schedule_next(s: &Schedule, after: i64) -> Option<(i64, i64)> {
    let expr = schedule::parse(s.get("ScheduleExpression")?, true).ok()?;
    let tz = schedule::zone(s.get("ScheduleExpressionTimezone")).ok()?;
    let secs = |k: &str| {
        s.spec
            .get(k)
            .and_then(Json::as_f64)
            .map(|x| (x * 1000.0) as i64)
    };
    let start = secs("StartDate");
    let end = secs("EndDate");
    let nominal = match &expr {
        Expr::At(_) => {
            if s.done {
                return None;
            }
            // A one-time schedule fires once, even when its time has passed.
            expr.at_instant(&tz)?
        }
        _ => {
            let anchor = start.unwrap_or(s.created as i64);
            let from = match start {
                Some(st) if st > after => st - 1,
                _ => after,
            };
            expr.next_after(from, anchor, &tz)?
        }
    };
    if end.is_some_and(|e| nominal > e) {
        return None;
    }
    let window = s
        .spec
        .get("FlexibleTimeWindow")
        .filter(|w| w.get("Mode").and_then(Json::as_str) == Some("FLEXIBLE"))
        .and_then(|w| w.get("MaximumWindowInMinutes"))
        .and_then(Json::as_u64)
        .unwrap_or(0) as f64
        * 60_000.0;
    let jitter = (serval_core::ids::random_unit() * window) as i64;
    Some((nominal + jitter, nominal))
}

impl Events {
    /// Starts the timer task.
    pub fn spawn_timer(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let tick = self.config.tick;
        tokio::spawn(async move {
            loop {
                let Some(ev) = me.upgrade() else { return };
                ev.fire_due().await;
                let _ = tokio::time::timeout(tick, ev.wake.notified()).await;
            }
        });
    }

    fn due(&self, now: i64) -> Vec<Due> {
        let (rules, schedules): (Vec<Rule>, Vec<Schedule>) = {
            let st = self.lock();
            (
                st.rules
                    .values()
                    .filter(|r| r.schedule_expression.is_some() && r.enabled())
                    .cloned()
                    .collect(),
                st.schedules
                    .values()
                    .filter(|s| s.get("State") != Some("DISABLED") && !s.done)
                    .cloned()
                    .collect(),
            )
        };
        let mut next = self.next_fire.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for r in rules {
            let arn = r.arn();
            let Some(expr) = r
                .schedule_expression
                .as_deref()
                .and_then(|s| schedule::parse(s, false).ok())
            else {
                continue;
            };
            let utc = jiff::tz::TimeZone::UTC;
            let anchor = r.created as i64;
            let entry = next.entry(arn.clone()).or_insert_with(|| {
                let n = expr.next_after(now, anchor, &utc).unwrap_or(i64::MAX);
                (n, n)
            });
            if entry.0 <= now {
                let due = entry.0;
                let n = expr.next_after(now, anchor, &utc).unwrap_or(i64::MAX);
                *entry = (n, n);
                out.push(Due::Rule(Box::new(r), due));
            }
        }
        for s in schedules {
            let arn = s.arn();
            let entry = next
                .entry(arn)
                .or_insert_with(|| schedule_next(&s, now).unwrap_or((i64::MAX, i64::MAX)));
            if entry.0 <= now {
                let nominal = entry.1;
                *entry = schedule_next(&s, nominal.max(now)).unwrap_or((i64::MAX, i64::MAX));
                out.push(Due::Schedule(Box::new(s), nominal));
            }
        }
        out
    }

    /// Fires everything due now.
    pub async fn fire_due(&self) {
        let now = self.now() as i64;
        for d in self.due(now) {
            match d {
                Due::Rule(r, at) => self.fire_rule(&r, at),
                Due::Schedule(s, at) => self.fire_schedule(&s, at).await,
            }
        }
    }

    fn fire_rule(&self, r: &Rule, at: i64) {
        let event = build_event(
            serval_core::ids::uuid_v4(),
            "Scheduled Event",
            "aws.events",
            &r.account,
            &event_time(at.max(0) as u64),
            &r.region,
            &[r.arn()],
            &json!({}),
        );
        deliver_all(self, &event, dispatches(r));
    }

    async fn fire_schedule(&self, s: &Schedule, at: i64) {
        let one_time = s
            .get("ScheduleExpression")
            .is_some_and(|e| e.trim_start().starts_with("at("));
        if let Some(sink) = self.sink.get().cloned() {
            let target = s.spec.get("Target").cloned().unwrap_or(Json::Null);
            let arn = target
                .get("Arn")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let input = target
                .get("Input")
                .and_then(Json::as_str)
                .map(|i| context_attributes(i, s, at))
                .unwrap_or_else(|| "{}".to_string());
            let dlq = target
                .get("DeadLetterConfig")
                .and_then(|c| c.get("Arn"))
                .and_then(Json::as_str)
                .map(str::to_string);
            let attrs = vec![(
                "X-Amz-Scheduler-Schedule-Arn".to_string(),
                "String",
                s.arn(),
            )];
            spawn_delivery(
                &sink,
                self,
                Delivery::new(arn, input.clone()),
                target.get("RetryPolicy"),
                dlq,
                attrs,
                input,
            );
        } else {
            tracing::warn!(schedule = %s.name, "no event sink: schedule not delivered");
        }
        if one_time {
            crate::scheduler::complete_one_time(self, s).await;
        }
    }
}

/// Replaces Scheduler's context attributes in a target's Input.
fn context_attributes(input: &str, s: &Schedule, at: i64) -> String {
    input
        .replace("<aws.scheduler.schedule-arn>", &s.arn())
        .replace(
            "<aws.scheduler.scheduled-time>",
            &event_time(at.max(0) as u64),
        )
        .replace("<aws.scheduler.execution-id>", &serval_core::ids::uuid_v4())
        .replace("<aws.scheduler.attempt-number>", "1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn sched(spec: Json) -> Schedule {
        Schedule {
            v: 1,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            group: "default".into(),
            name: "s".into(),
            spec: spec.as_object().cloned().unwrap_or_else(Map::new),
            created: 1_000,
            modified: 1_000,
            done: false,
        }
    }

    #[test]
    fn one_time_schedules_fire_once_even_late() {
        let mut s = sched(json!({"ScheduleExpression": "at(2024-01-01T00:00:00)"}));
        let at = 1_704_067_200_000;
        assert_eq!(schedule_next(&s, at - 5_000), Some((at, at)));
        assert_eq!(schedule_next(&s, at + 3_600_000), Some((at, at)));
        s.done = true;
        assert_eq!(schedule_next(&s, at - 5_000), None);
    }

    #[test]
    fn rates_count_from_the_start_date_and_stop_at_the_end() {
        let s = sched(
            json!({"ScheduleExpression": "rate(1 minute)", "StartDate": 120.0, "EndDate": 300.0}),
        );
        assert_eq!(schedule_next(&s, 0), Some((120_000, 120_000)));
        assert_eq!(schedule_next(&s, 120_000), Some((180_000, 180_000)));
        assert_eq!(schedule_next(&s, 300_000), None);
    }

    #[test]
    fn flexible_windows_delay_within_the_window() {
        let s = sched(json!({"ScheduleExpression": "cron(0 * * * ? *)",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10}}));
        for _ in 0..50 {
            let (fire, nominal) = schedule_next(&s, 0).unwrap_or((0, 0));
            assert_eq!(nominal, 3_600_000);
            assert!((nominal..nominal + 600_000).contains(&fire));
        }
    }

    #[test]
    fn time_zones_apply_to_cron() {
        let s = sched(json!({"ScheduleExpression": "cron(0 9 * * ? *)",
            "ScheduleExpressionTimezone": "Asia/Tokyo"}));
        // 09:00 in Tokyo is 00:00 UTC
        assert_eq!(schedule_next(&s, 0).map(|x| x.1), Some(86_400_000));
    }

    #[test]
    fn context_attributes_are_filled() {
        let s = sched(json!({}));
        let out = context_attributes("{\"arn\": \"<aws.scheduler.schedule-arn>\", \"t\": \"<aws.scheduler.scheduled-time>\"}", &s, 0);
        assert_eq!(out, "{\"arn\": \"arn:aws:scheduler:us-east-1:000000000000:schedule/default/s\", \"t\": \"1970-01-01T00:00:00Z\"}");
    }
}
