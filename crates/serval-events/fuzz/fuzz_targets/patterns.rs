//! Feeds arbitrary text to the event pattern compiler (and matches what
//! compiles against an event), the schedule expression parser (and asks
//! for the next firing) and the input template filler: nothing may panic,
//! overflow the stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serval_events::{pattern::Pattern, schedule, transform};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let event = serde_json::json!({"source": "s", "detail": {"a": [1, "x", null, {"b": "10.0.0.1"}], "c": 2.5}});
    if let Ok(p) = Pattern::parse(text) {
        p.matches(&event);
    }
    if let Ok(e) = schedule::parse(text, true) {
        let _ = e.next_after(1_700_000_000_000, 1_600_000_000_000, &jiff_utc());
    }
    let ctx = transform::Context { rule_arn: "arn", rule_name: "r", ingestion_time: "t" };
    let _ = transform::apply_template(text, &[("v".into(), "$.detail.a[0]".into())], &event, &ctx);
    let _ = transform::select(&event, text);
});

fn jiff_utc() -> serval_events::schedule::Zone {
    serval_events::schedule::zone(None).unwrap_or_else(|_| unreachable!())
}
