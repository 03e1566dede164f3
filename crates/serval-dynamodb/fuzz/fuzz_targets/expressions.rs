//! Feeds arbitrary text to every DynamoDB expression parser and evaluates
//! whatever parses: nothing may panic, overflow the stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serval_dynamodb::expr::{self, Attrs, ExprKind, KeySchema};
use serval_dynamodb::number::Num;
use serval_dynamodb::value::{Item, Value};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names = BTreeMap::from([("#n".to_string(), "a".to_string())]);
    let values = BTreeMap::from([
        (":v".to_string(), Value::N(Num::from_i64(1))),
        (":s".to_string(), Value::S("S".into())),
        (":l".to_string(), Value::L(vec![Value::Null])),
        (":ss".to_string(), Value::Ss(vec!["x".into()])),
    ]);
    let Ok(attrs) = Attrs::new(Some(names), Some(values)) else {
        return;
    };
    let mut item: Item = BTreeMap::from([
        ("a".to_string(), Value::N(Num::from_i64(1))),
        ("l".to_string(), Value::L(vec![Value::S("x".into())])),
        ("m".to_string(), Value::M(BTreeMap::new())),
    ]);
    if let Ok(c) = expr::parse_condition(text, ExprKind::Filter, &attrs) {
        c.eval(&item);
    }
    let schema = KeySchema {
        hash: ("a", "N"),
        range: Some(("b", "S")),
        more_hash: &[],
        more_range: &[],
    };
    let _ = expr::parse_key_condition(text, &attrs, &schema);
    if let Ok(u) = expr::parse_update(text, &attrs) {
        let _ = u.apply(&mut item, true);
        expr::project(&item, &u.paths());
    }
    if let Ok(p) = expr::parse_projection(text, &attrs) {
        p.apply(&item);
    }
    let _ = attrs.check_unused();
});
