//! Feeds arbitrary text to the PartiQL lexer and parser, with a few
//! parameters, and checks and projects whatever parses: nothing may panic,
//! overflow the stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serval_dynamodb::model::{KeyAttr, KeySchema};
use serval_dynamodb::number::Num;
use serval_dynamodb::ops::partiql::check_statement;
use serval_dynamodb::value::{Item, Value};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = [
        Value::S("p".into()),
        Value::N(Num::from_i64(1)),
        Value::Ss(vec!["x".into()]),
    ];
    let keys = KeySchema::simple(
        KeyAttr {
            name: "pk".into(),
            ty: "S".into(),
        },
        Some(KeyAttr {
            name: "sk".into(),
            ty: "S".into(),
        }),
    );
    let item: Item = BTreeMap::from([
        ("pk".to_string(), Value::S("p".into())),
        ("l".to_string(), Value::L(vec![Value::M(BTreeMap::new())])),
    ]);
    for n in 0..=params.len() {
        let _ = check_statement(text, &params[..n], &keys, &item);
    }
});
