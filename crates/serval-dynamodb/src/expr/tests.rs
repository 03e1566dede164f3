//! Cross-module tests: whole expressions from text to evaluation, DynamoDB's
//! messages, and robustness against hostile input.

use super::*;
use crate::number::Num;
use crate::value::{Item, Value};
use std::collections::BTreeMap;

fn s(x: &str) -> Value {
    Value::S(x.into())
}

fn n(x: &str) -> Value {
    Value::N(Num::parse(x).unwrap_or_else(|e| panic!("{e}")))
}

fn attrs(names: &[(&str, &str)], values: &[(&str, Value)]) -> Attrs {
    let names = (!names.is_empty()).then(|| {
        names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    });
    let values = (!values.is_empty()).then(|| {
        values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    });
    Attrs::new(names, values).unwrap_or_else(|e| panic!("{e}"))
}

fn cond_error(expr: &str, a: &Attrs) -> String {
    match parse_condition(expr, ExprKind::Filter, a) {
        Ok(c) => format!("ok {c:?}"),
        Err(e) => e,
    }
}

fn item(pairs: &[(&str, Value)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn eval(expr: &str, a: &Attrs, it: &Item) -> bool {
    parse_condition(expr, ExprKind::Condition, a)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .eval(it)
}

#[test]
fn condition_errors_have_dynamodb_messages_and_precedence() {
    let none = Attrs::none();
    let f = |m: &str| format!("Invalid FilterExpression: {m}");
    assert_eq!(cond_error("", &none), f("The expression can not be empty;"));
    for (e, want) in [
        ("a=a and a > ((views))", "The expression has redundant parentheses;"),
        ("a=a and whatever((:things)) > a", "Invalid function name; function: whatever"),
        ("attRIbute_exIsts((views), #a)", "Invalid function name; function: attRIbute_exIsts"),
        ("a=a and attribute_exists((views), (#a)) > b", "The function is not allowed to be used this way in an expression; function: attribute_exists"),
        ("size(things)", "The function is not allowed to be used this way in an expression; function: size"),
        ("size(contains(a, b)) > a", "The function is not allowed to be used this way in an expression; function: contains"),
        ("a in (b, attribute_exists(things))", "The function is not allowed to be used this way in an expression; function: attribute_exists"),
        ("attribute_exists(views, #a)", "Attribute name is a reserved keyword; reserved keyword: views"),
        (":a < abOrT", "Attribute name is a reserved keyword; reserved keyword: abOrT"),
        ("attribute_exists(#Pictures.RearView, :a) and a=a", "An expression attribute name used in the document path is not defined; attribute name: #Pictures"),
        ("(#P between :lo and :hi) and (#PC in (:cat1, :cat2))", "An expression attribute name used in the document path is not defined; attribute name: #P"),
        ("begins_with(:hello, #a, #b)", "An expression attribute value used in expression is not defined; attribute value: :hello"),
        ("attribute_type(things)", "Incorrect number of operands for operator or function; operator or function: attribute_type, number of operands: 1"),
        ("begins_with(things, size(a), b)", "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 3"),
        ("a > a", "The first operand must be distinct from the remaining operands for this operator or function; operator: >, first operand: [a]"),
        ("contains(ab.bc[1].a, ab.bc[1].a)", "The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [ab, bc, [1], a]"),
        ("size(size(a)) > b", "Incorrect operand type for operator or function; operator or function: size, operand type: N"),
        ("begins_with(a, size(a)) and b = c", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"),
    ] {
        assert_eq!(cond_error(e, &none), f(want), "{e}");
    }
    let a = attrs(
        &[],
        &[
            (":a", n("1")),
            (":s", s("x")),
            (":t", s("DOG")),
            (":b", n("2")),
        ],
    );
    for (e, want) in [
        ("attribute_type(a, :a)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"),
        ("attribute_type(a, b)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}"),
        ("attribute_type(a, :t)", "Invalid attribute type name found; type: DOG, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"),
        ("attribute_exists(:s)", "Operator or function requires a document path; operator or function: attribute_exists"),
        ("size(:a) > a", "Incorrect operand type for operator or function; operator or function: size, operand type: N"),
        ("a between :b and :a", "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"),
        ("a between :a and :s", "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:x}"),
    ] {
        assert_eq!(cond_error(e, &a), f(want), "{e}");
    }
    // constants may repeat, and comparisons of two values are fine
    assert!(cond_error(":a = :a", &a).starts_with("ok"));
    // the first leaf with a problem decides
    assert_eq!(
        cond_error("a > a and begins_with(b, :zz)", &a),
        f("The first operand must be distinct from the remaining operands for this operator or function; operator: >, first operand: [a]")
    );
}

#[test]
fn precedence_is_not_and_or() {
    let a = attrs(&[], &[(":t", Value::Bool(true))]);
    let it = item(&[("t", Value::Bool(true)), ("f", Value::Bool(false))]);
    // OR binds loosest: true OR (false AND false)
    assert!(eval("t = :t OR f = :t AND f = :t", &a, &it));
    assert!(!eval("(t = :t OR f = :t) AND f = :t", &a, &it));
    // NOT binds tightest: (NOT false) AND true
    assert!(eval("NOT f = :t AND t = :t", &a, &it));
    assert!(!eval("NOT (f = :t OR t = :t)", &a, &it));
    assert!(eval("NOT NOT t = :t", &a, &it));
    // BETWEEN's AND is not a conjunction
    let a = attrs(
        &[],
        &[(":lo", n("1")), (":hi", n("5")), (":t", Value::Bool(true))],
    );
    let it = item(&[("x", n("3")), ("t", Value::Bool(true))]);
    assert!(eval("x BETWEEN :lo AND :hi AND t = :t", &a, &it));
}

#[test]
fn evaluates_with_dynamodb_semantics() {
    let a = attrs(
        &[("#n", "a.b")],
        &[
            (":one", n("1")),
            (":s", s("he")),
            (":x", s("1")),
            (":set", Value::Ss(vec!["y".into(), "x".into()])),
            (":five", n("5")),
            (":two", n("2")),
            (":S", s("S")),
            (":L", s("L")),
            (":b", Value::B(vec![1, 2])),
        ],
    );
    let it = item(&[
        ("num", n("1")),
        ("str", s("hello")),
        ("st", Value::Ss(vec!["x".into(), "y".into()])),
        ("lst", Value::L(vec![s("a"), n("1"), Value::L(vec![])])),
        ("mp", Value::M(BTreeMap::from([("k".to_string(), n("7"))]))),
        ("a.b", n("9")),
        ("bin", Value::B(vec![1, 2, 3])),
    ]);
    let t = |e: &str| eval(e, &a, &it);
    assert!(t("num = :one"));
    assert!(!t("num = :x"), "different types are not equal");
    assert!(t("num <> :x"), "different types are unequal");
    assert!(t("gone <> :one"), "a gone attribute is unequal");
    assert!(!t("gone = missing2"));
    assert!(t("gone <> missing2"));
    assert!(!t("num < :x"), "ordering across types is false");
    assert!(!t("gone < :one"));
    assert!(t("st = :set"), "sets compare as sets");
    assert!(t("num BETWEEN :one AND :five"));
    assert!(t("num IN (:x, :one)"));
    assert!(!t("gone IN (:x, :one)"));
    assert!(t("attribute_exists(mp.k) AND attribute_not_exists(mp.z)"));
    assert!(t(
        "attribute_exists(lst[2]) AND attribute_not_exists(lst[3])"
    ));
    assert!(
        t("attribute_exists(#n)"),
        "a name with a dot is one attribute"
    );
    assert!(t("attribute_type(str, :S) AND attribute_type(lst, :L)"));
    assert!(t("begins_with(str, :s)"));
    assert!(t("begins_with(bin, :b)"));
    assert!(!t("begins_with(num, :s)"));
    assert!(t("contains(str, :s)"));
    assert!(
        !t("contains(st, :x)"),
        "the set holds x and y, :x is the string 1"
    );
    assert!(t("contains(lst, :one)"));
    assert!(t("contains(bin, :b)"));
    assert!(t(
        "size(str) = :five AND size(st) = :two AND size(mp) = :one"
    ));
    assert!(!t("size(num) = :one"), "a number has no size");
    assert!(t("size(str) > size(st)"));
    assert!(t("mp.k > num"));
}

#[test]
fn key_conditions_follow_the_schema() {
    let a = attrs(&[], &[(":a", s("1")), (":b", s("2")), (":n", n("1"))]);
    let range = KeySchema {
        hash: ("a", "S"),
        range: Some(("b", "S")),
        more_hash: &[],
        more_range: &[],
    };
    let hash_only = KeySchema {
        hash: ("a", "S"),
        range: None,
        more_hash: &[],
        more_range: &[],
    };
    let k = |e: &str, schema: &KeySchema<'_>| parse_key_condition(e, &a, schema);
    let ok = k("a = :a AND b BETWEEN :a AND :b", &range).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.hash, s("1"));
    assert_eq!(
        ok.range,
        Some(("b".to_string(), RangeCond::Between(s("1"), s("2"))))
    );
    let flipped = k(":b > b AND :a = a", &range).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        flipped.range,
        Some(("b".to_string(), RangeCond::Lt(s("2"))))
    );
    assert!(flipped.matches(&item(&[("a", s("1")), ("b", s("11"))])));
    assert!(!flipped.matches(&item(&[("a", s("1")), ("b", s("3"))])));
    for (e, schema, want) in [
        ("a = :a OR b = :b", &range, "Invalid operator used in KeyConditionExpression: OR"),
        ("a <> :a", &range, "Invalid operator used in KeyConditionExpression: <>"),
        ("attribute_exists(a)", &range, "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("size(a) = :n", &range, "KeyConditionExpressions cannot contain nested operations"),
        ("a = b", &range, "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
        (":a = :b", &range, "Invalid condition in KeyConditionExpression: No key attribute specified"),
        ("a.x = :a", &range, "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("a = :a AND a = :b", &range, "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"),
        ("b = :a", &range, "Query condition missed key schema element: a"),
        ("a = :a AND c = :b", &range, "Query condition missed key schema element: b"),
        ("a = :a AND b = :b", &hash_only, "Query key condition not supported"),
        ("a > :a", &range, "Query key condition not supported"),
        ("a = :n", &range, "One or more parameter values were invalid: Condition parameter type does not match schema type"),
        ("a = :a AND b > :a AND b < :b", &range, "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"),
        ("a = :a AND b > :a AND c = :b", &range, "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)"),
    ] {
        assert_eq!(k(e, schema).err().as_deref(), Some(want), "{e}");
    }
}

fn upd(expr: &str, a: &Attrs) -> Result<Update, String> {
    parse_update(expr, a)
}

fn apply(expr: &str, a: &Attrs, it: &mut Item) -> Result<(), String> {
    upd(expr, a)?.apply(it, true)
}

#[test]
fn update_errors_have_dynamodb_messages() {
    let a = attrs(
        &[],
        &[(":v", n("1")), (":s", s("x")), (":l", Value::L(vec![]))],
    );
    let u = |e: &str| upd(e, &a).err().unwrap_or_default();
    let f = |m: &str| format!("Invalid UpdateExpression: {m}");
    assert_eq!(
        u("SET a = :v SET b = :v"),
        f("The \"SET\" section can only be used once in an update expression;")
    );
    assert_eq!(u("SET a = :v, a = :v"), f("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"));
    assert_eq!(u("SET a = :v REMOVE a.b"), f("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"));
    assert_eq!(u("SET a.b = :v, a[1] = :v"), f("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"));
    assert_eq!(
        u("SET name = :v"),
        f("Attribute name is a reserved keyword; reserved keyword: name")
    );
    assert_eq!(u("SET a = f(b)"), f("Invalid function name; function: f"));
    assert_eq!(
        u("SET a = LIST_APPEND(:l, :l)"),
        f("Invalid function name; function: LIST_APPEND")
    );
    assert_eq!(u("SET a = #x"), f("An expression attribute name used in the document path is not defined; attribute name: #x"));
    assert_eq!(
        u("SET a = :zz"),
        f("An expression attribute value used in expression is not defined; attribute value: :zz")
    );
    assert_eq!(u("SET a = list_append(:l)"), f("Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1"));
    assert_eq!(u("SET a = list_append(:l, :s)"), f("Incorrect operand type for operator or function; operator or function: list_append, operand type: S"));
    assert_eq!(u("SET a = :v + :s"), f("Incorrect operand type for operator or function; operator or function: +, operand type: S"));
    assert_eq!(
        u("SET a = if_not_exists(:v, :v)"),
        f("Operator or function requires a document path; operator or function: if_not_exists")
    );
    assert_eq!(u("SET a = list_append(list_append(:l, :l), :l)"), f("The function is not allowed to be used this way in an expression; function: list_append"));
    assert_eq!(
        u("ADD a :s"),
        f("Incorrect operand type for operator or function; operator: ADD, operand type: STRING")
    );
    assert_eq!(u("DELETE a :v"), f("Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"));
    assert!(u("SET a = :v + :v + :v")
        .starts_with("Invalid UpdateExpression: Syntax error; token: \"+\""));
}

#[test]
fn updates_apply_as_dynamodb() {
    let a = attrs(
        &[],
        &[
            (":one", n("1")),
            (":v", s("v")),
            (":l", Value::L(vec![n("9")])),
            (":set", Value::Ss(vec!["b".into(), "c".into()])),
            (":del", Value::Ss(vec!["a".into(), "b".into(), "c".into()])),
        ],
    );
    let mut it = item(&[
        ("n", n("5")),
        (
            "lst",
            Value::L(vec![n("2"), n("3"), n("4"), n("5"), n("6"), n("7")]),
        ),
        ("st", Value::Ss(vec!["a".into()])),
        ("m", Value::M(BTreeMap::new())),
    ]);
    let ok = |e: &str, it: &mut Item| apply(e, &a, it).unwrap_or_else(|err| panic!("{e}: {err}"));
    ok("SET n = n + :one, m.x = :v, c = n", &mut it);
    assert_eq!(it.get("n"), Some(&n("6")));
    assert_eq!(
        it.get("c"),
        Some(&n("5")),
        "values are read before any write"
    );
    assert_eq!(
        Path(vec![PathElem::Key("m".into()), PathElem::Key("x".into())]).get(&it),
        Some(&s("v"))
    );
    // indexes refer to the original lst, whatever the clause order
    ok("REMOVE lst[1] SET lst[3] = :one", &mut it);
    assert_eq!(
        it.get("lst"),
        Some(&Value::L(vec![n("2"), n("4"), n("1"), n("6"), n("7")]))
    );
    ok("SET lst[84] = :v, lst[37] = :one", &mut it);
    let Some(Value::L(l)) = it.get("lst") else {
        panic!("lst")
    };
    assert_eq!(&l[5..], &[n("1"), s("v")], "appends sorted by index");
    ok("REMOVE lst[0], lst[1], lst[99], nothing", &mut it);
    let Some(Value::L(l)) = it.get("lst") else {
        panic!("lst")
    };
    assert_eq!(l.len(), 5);
    ok("SET l2 = list_append(if_not_exists(l2, :l), :l)", &mut it);
    assert_eq!(it.get("l2"), Some(&Value::L(vec![n("9"), n("9")])));
    ok("ADD st :set, cnt :one", &mut it);
    assert_eq!(
        it.get("st"),
        Some(&Value::Ss(vec!["a".into(), "b".into(), "c".into()]))
    );
    assert_eq!(it.get("cnt"), Some(&n("1")));
    ok("DELETE st :del", &mut it);
    assert_eq!(it.get("st"), None, "a st emptied by DELETE is removed");
    ok("DELETE st :del", &mut it);

    let before = it.clone();
    let err = |e: &str, it: &mut Item| apply(e, &a, it).err().unwrap_or_default();
    assert_eq!(
        err("SET x = gone + :one", &mut it),
        "The provided expression refers to an attribute that does not exist in the item"
    );
    assert_eq!(err("SET x = :v + :one", &mut it), "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S");
    assert_eq!(
        err("SET x = m + :one", &mut it),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        err("ADD m :one", &mut it),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        err("SET q.x = :one", &mut it),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        err("SET n[0] = :one", &mut it),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        err("REMOVE q.x", &mut it),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        err("SET ok = :one, n = n + :one ADD m :one", &mut it),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(it, before, "a failed update changes nothing");
    // REMOVE of a nested path on an item that does not exist is a no-op
    let mut fresh = item(&[("pk", s("k"))]);
    upd("REMOVE q.x", &a)
        .and_then(|u| u.apply(&mut fresh, false))
        .unwrap_or_else(|e| panic!("{e}"));
    // overflow comes from Num
    let big = attrs(&[], &[(":big", n("9.9e125"))]);
    let mut it = item(&[("x", n("9.9e125"))]);
    assert!(apply("SET x = x + :big", &big, &mut it)
        .err()
        .unwrap_or_default()
        .contains("Number overflow"));
}

#[test]
fn updated_paths_project_old_and_new() {
    let a = attrs(&[], &[(":v", n("2"))]);
    let u = upd("SET m.a = :v, t = :v REMOVE r", &a).unwrap_or_else(|e| panic!("{e}"));
    let mut it = item(&[
        (
            "m",
            Value::M(BTreeMap::from([
                ("a".to_string(), n("1")),
                ("b".to_string(), n("1")),
            ])),
        ),
        ("r", n("3")),
        ("keep", n("4")),
    ]);
    let old = project(&it, &u.paths());
    u.apply(&mut it, true).unwrap_or_else(|e| panic!("{e}"));
    let new = project(&it, &u.paths());
    assert_eq!(
        old,
        item(&[
            ("m", Value::M(BTreeMap::from([("a".to_string(), n("1"))]))),
            ("r", n("3"))
        ])
    );
    assert_eq!(
        new,
        item(&[
            ("m", Value::M(BTreeMap::from([("a".to_string(), n("2"))]))),
            ("t", n("2"))
        ])
    );
    assert_eq!(u.touched_attrs(), ["m", "t", "r"]);
}

#[test]
fn projections_keep_structure_and_compact_lists() {
    let a = attrs(&[("#k", "key")], &[]);
    let p =
        parse_projection("l[3], l[1].x, #k, m.a, nope, l[9]", &a).unwrap_or_else(|e| panic!("{e}"));
    let it = item(&[
        (
            "l",
            Value::L(vec![
                n("0"),
                Value::M(BTreeMap::from([
                    ("x".to_string(), n("1")),
                    ("y".to_string(), n("2")),
                ])),
                n("2"),
                n("3"),
            ]),
        ),
        ("key", s("k")),
        (
            "m",
            Value::M(BTreeMap::from([
                ("a".to_string(), n("1")),
                ("b".to_string(), n("2")),
            ])),
        ),
        ("other", n("1")),
    ]);
    let got = p.apply(&it);
    assert_eq!(
        got,
        item(&[
            (
                "l",
                Value::L(vec![
                    Value::M(BTreeMap::from([("x".to_string(), n("1"))])),
                    n("3")
                ])
            ),
            ("key", s("k")),
            ("m", Value::M(BTreeMap::from([("a".to_string(), n("1"))]))),
        ])
    );
    let e = |x: &str| parse_projection(x, &a).err().unwrap_or_default();
    assert_eq!(e("a, a.b"), "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]");
    assert_eq!(e("a.b, a[0]"), "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]");
    assert_eq!(e("#zz"), "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #zz");
    assert_eq!(e("a, size"), "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: size");
    assert_eq!(
        e(""),
        "Invalid ProjectionExpression: The expression can not be empty;"
    );
    assert!(e("a,").starts_with("Invalid ProjectionExpression: Syntax error; token: \"<EOF>\""));
}

#[test]
fn unused_placeholders_are_reported_across_expressions() {
    let a = attrs(
        &[("#a", "a"), ("#b", "b")],
        &[(":x", n("1")), (":y", n("2"))],
    );
    parse_condition("#a = :x", ExprKind::Condition, &a).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.check_unused().err().as_deref(),
        Some("Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}")
    );
    parse_update("SET #b = :x", &a).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.check_unused().err().as_deref(),
        Some("Value provided in ExpressionAttributeValues unused in expressions: keys: {:y}")
    );
}

#[test]
fn legacy_parameters_convert() {
    use legacy::{AttributeUpdate, Condition, Expected};
    let c = |op: &str, values: Vec<Value>| Condition {
        op: op.into(),
        values,
    };
    let it = item(&[("a", n("3")), ("s", Value::Ss(vec!["x".into()]))]);
    let f = legacy::filter(
        &[
            ("a".into(), c("BETWEEN", vec![n("1"), n("5")])),
            ("s".into(), c("CONTAINS", vec![s("x")])),
        ],
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(f.eval(&it));
    let f = legacy::filter(&[("z".into(), c("NOT_CONTAINS", vec![s("x")]))], None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!f.eval(&it), "NOT_CONTAINS on a missing attribute is false");
    let f = legacy::filter(
        &[
            ("z".into(), c("NE", vec![s("x")])),
            ("a".into(), c("EQ", vec![s("x")])),
        ],
        Some("OR"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(f.eval(&it));
    for (op, vals, want) in [
        ("BETWEEN", vec![n("5"), n("1")], "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"),
        ("EQ", vec![], "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"),
        ("IN", vec![n("1"), s("x")], "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type"),
        ("LT", vec![Value::Ss(vec!["x".into()])], "One or more parameter values were invalid: ComparisonOperator LT is not valid for SS AttributeValue type"),
    ] {
        assert_eq!(legacy::filter(&[("a".into(), c(op, vals))], None).err().as_deref(), Some(want), "{op}");
    }
    let e = |x: Expected| legacy::expected(&[("a".into(), x)], None);
    assert!(e(Expected {
        value: Some(n("3")),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .eval(&it));
    assert!(!e(Expected {
        exists: Some(false),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .eval(&it));
    assert_eq!(
        e(Expected { exists: Some(true), ..Default::default() }).err().as_deref(),
        Some("One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: a")
    );
    assert_eq!(
        e(Expected { exists: Some(false), value: Some(n("1")), ..Default::default() }).err().as_deref(),
        Some("One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: a")
    );
    assert_eq!(
        e(Expected { op: Some("EQ".into()), exists: Some(true), ..Default::default() }).err().as_deref(),
        Some("One or more parameter values were invalid: Exists and ComparisonOperator cannot be used together for Attribute: a")
    );
    let schema = KeySchema {
        hash: ("a", "N"),
        range: None,
        more_hash: &[],
        more_range: &[],
    };
    let k = legacy::key_conditions(&[("a".into(), c("EQ", vec![n("3")]))], &schema)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(k.matches(&it));
    assert_eq!(
        legacy::key_conditions(&[("a".into(), c("NE", vec![n("3")]))], &schema)
            .err()
            .as_deref(),
        Some("Attempted conditional constraint is not an indexable operation")
    );
    let u = legacy::attribute_updates(&[
        (
            "a".into(),
            AttributeUpdate {
                action: Some("ADD".into()),
                value: Some(n("2")),
            },
        ),
        (
            "s".into(),
            AttributeUpdate {
                action: Some("DELETE".into()),
                value: None,
            },
        ),
        (
            "l".into(),
            AttributeUpdate {
                action: Some("ADD".into()),
                value: Some(Value::L(vec![n("1")])),
            },
        ),
        (
            "p".into(),
            AttributeUpdate {
                action: None,
                value: Some(s("x")),
            },
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let mut it2 = it.clone();
    u.apply(&mut it2, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        it2,
        item(&[("a", n("5")), ("l", Value::L(vec![n("1")])), ("p", s("x"))])
    );
    assert_eq!(
        legacy::attributes_to_get(&["a".into(), "a".into()])
            .err()
            .as_deref(),
        Some("One or more parameter values were invalid: Duplicate value in attribute name: a")
    );
}

// ---- robustness ------------------------------------------------------------

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const SOUP: &[&str] = &[
    "a",
    "b.c",
    "#n",
    "#zz",
    ":v",
    ":s",
    ":l",
    ":zz",
    "(",
    ")",
    "[",
    "]",
    "[0]",
    "[99999999999]",
    ",",
    ".",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "size",
    "size(",
    "attribute_exists(",
    "attribute_type(",
    "begins_with(",
    "contains(",
    "if_not_exists(",
    "list_append(",
    "name",
    "ü",
    "#",
    ":",
    "_",
    "1",
    " ",
    "\t",
    "\"",
];

fn soup_attrs() -> Attrs {
    attrs(
        &[("#n", "x")],
        &[
            (":v", n("1")),
            (":s", s("S")),
            (":l", Value::L(vec![n("1")])),
        ],
    )
}

/// Runs every entry point on `text` and evaluates what parses.
fn exercise(text: &str, a: &Attrs) {
    let mut it = item(&[("a", n("1")), ("x", Value::L(vec![n("1")]))]);
    if let Ok(c) = parse_condition(text, ExprKind::Condition, a) {
        c.eval(&it);
    }
    let schema = KeySchema {
        hash: ("a", "N"),
        range: Some(("b", "S")),
        more_hash: &[],
        more_range: &[],
    };
    let _ = parse_key_condition(text, a, &schema);
    if let Ok(u) = parse_update(text, a) {
        let _ = u.apply(&mut it, true);
    }
    if let Ok(p) = parse_projection(text, a) {
        p.apply(&it);
    }
}

#[test]
fn token_soup_never_panics() {
    let a = soup_attrs();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let start = std::time::Instant::now();
    for _ in 0..20_000 {
        let len = (rng.next() % 24) as usize;
        let mut text = String::new();
        for _ in 0..len {
            text.push_str(rng.pick(SOUP));
            if rng.next().is_multiple_of(2) {
                text.push(' ');
            }
        }
        exercise(&text, &a);
    }
    assert!(start.elapsed().as_secs() < 30);
}

#[test]
fn deep_and_long_inputs_fail_cleanly() {
    let a = soup_attrs();
    let deep = 100_000;
    let inputs = [
        "(".repeat(deep),
        format!("{}a < b{}", "(".repeat(deep), ")".repeat(deep)),
        format!("{}a < b", "NOT ".repeat(deep)),
        format!("a < {}b{}", "size(".repeat(deep), ")".repeat(deep)),
        format!("a{} < b", ".a".repeat(deep)),
        format!("a{} < b", "[0]".repeat(deep)),
        // within 4 KB: the nesting and operator bounds do the work
        "(".repeat(4000),
        format!("{}a < b{}", "(".repeat(2000), ")".repeat(2000)),
        format!("{}a < b", "NOT ".repeat(1000)),
        format!("a < {}b{}", "size(".repeat(800), ")".repeat(800)),
        format!(
            "SET a = {}:v{}",
            "if_not_exists(a, ".repeat(250),
            ")".repeat(250)
        ),
        format!("SET a = {}:v{}", "(".repeat(2000), ")".repeat(2000)),
        format!("a{} < b", ".a".repeat(2000)),
    ];
    let start = std::time::Instant::now();
    // the stack a tokio worker has (2 MB); a debug build's frames are far
    // larger than a release build's, so this holds with room to spare there
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            for text in &inputs {
                exercise(text, &a);
                let r = parse_condition(text, ExprKind::Condition, &a);
                if text.len() <= 4096 && !text.contains(".a.a") {
                    assert!(r.is_err(), "{}", &text[..40]);
                }
            }
        });
    let joined = handle.map(|h| h.join().is_ok());
    assert!(matches!(joined, Ok(true)));
    assert!(start.elapsed().as_secs() < 10);
}
