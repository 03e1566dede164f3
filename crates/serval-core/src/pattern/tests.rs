use super::*;
use serde_json::json;

fn event() -> Json {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {
            "instance-id": "i-1234567890abcdef0",
            "state": "terminated",
            "c-count": 5,
            "d-count": 3.018e2,
            "x-limit": 301.8,
            "source-ip": "10.0.0.123",
            "flag": true,
            "nothing": null,
            "empty": "",
            "tags": ["prod", "web"],
            "numbers": [1, 2, 30],
            "items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 7}],
            "location": {"city": "Seattle", "zip": "98101"},
            "filename": "dir/file.PNG",
            "ipv6": "2001:db8::1"
        }
    })
}

fn m(pattern: Json) -> bool {
    Pattern::compile(&pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .matches(&event())
}

fn reason(pattern: &str) -> String {
    Pattern::parse(pattern).expect_err(pattern)
}

#[test]
fn exact_values_on_envelope_and_detail() {
    assert!(m(json!({"source": ["aws.ec2"]})));
    assert!(m(json!({"source": ["aws.s3", "aws.ec2"]})));
    assert!(!m(json!({"source": ["aws.s3"]})));
    assert!(m(
        json!({"source": ["aws.ec2"], "detail": {"state": ["terminated"]}})
    ));
    assert!(!m(
        json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}})
    ));
    assert!(m(json!({"detail": {"location": {"city": ["Seattle"]}}})));
    assert!(m(json!({})));
}

#[test]
fn case_sensitive_and_typed() {
    assert!(!m(json!({"source": ["AWS.EC2"]})));
    assert!(!m(json!({"detail": {"c-count": ["5"]}})));
    assert!(m(json!({"detail": {"c-count": [5]}})));
    assert!(m(json!({"detail": {"c-count": [5.0]}})));
    assert!(m(json!({"detail": {"d-count": [301.8]}})));
    assert!(m(json!({"detail": {"flag": [true]}})));
    assert!(!m(json!({"detail": {"flag": ["true"]}})));
}

#[test]
fn null_and_empty_string() {
    assert!(m(json!({"detail": {"nothing": [null]}})));
    assert!(!m(json!({"detail": {"missing": [null]}})));
    assert!(m(json!({"detail": {"empty": [""]}})));
    assert!(!m(json!({"detail": {"nothing": [""]}})));
    assert!(!m(json!({"detail": {"empty": [null]}})));
}

#[test]
fn arrays_match_any_element() {
    assert!(m(json!({"detail": {"tags": ["web"]}})));
    assert!(m(json!({"detail": {"tags": ["db", "prod"]}})));
    assert!(!m(json!({"detail": {"tags": ["db"]}})));
    assert!(m(
        json!({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]})
    ));
    assert!(m(json!({"detail": {"numbers": [{"numeric": [">", 10]}]}})));
    // an array of objects: one element must match the whole sub-pattern
    assert!(m(json!({"detail": {"items": {"name": ["b"], "qty": [7]}}})));
    assert!(!m(
        json!({"detail": {"items": {"name": ["a"], "qty": [7]}}})
    ));
}

#[test]
fn prefix_suffix_and_ignore_case() {
    assert!(m(json!({"detail": {"instance-id": [{"prefix": "i-12"}]}})));
    assert!(!m(json!({"detail": {"instance-id": [{"prefix": "I-12"}]}})));
    assert!(m(
        json!({"detail": {"instance-id": [{"prefix": {"equals-ignore-case": "I-12"}}]}})
    ));
    assert!(m(json!({"detail": {"filename": [{"suffix": ".PNG"}]}})));
    assert!(!m(json!({"detail": {"filename": [{"suffix": ".png"}]}})));
    assert!(m(
        json!({"detail": {"filename": [{"suffix": {"equals-ignore-case": ".png"}}]}})
    ));
    assert!(m(
        json!({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"equals-ignore-case": "TERMINATE"}]}})
    ));
    // prefix never matches numbers
    assert!(!m(json!({"detail": {"c-count": [{"prefix": "5"}]}})));
    assert!(m(json!({"detail": {"empty": [{"prefix": ""}]}})));
}

#[test]
fn anything_but_forms() {
    assert!(m(
        json!({"detail": {"state": [{"anything-but": "running"}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": "terminated"}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}})
    ));
    assert!(m(
        json!({"detail": {"c-count": [{"anything-but": [1, 2, 3]}]}})
    ));
    assert!(!m(json!({"detail": {"c-count": [{"anything-but": 5}]}})));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}})
    ));
    assert!(m(
        json!({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": {"prefix": ["x", "term"]}}]}})
    ));
    assert!(!m(
        json!({"detail": {"filename": [{"anything-but": {"suffix": ".PNG"}}]}})
    ));
    assert!(!m(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}})
    ));
    assert!(m(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}})
    ));
    assert!(!m(
        json!({"detail": {"filename": [{"anything-but": {"wildcard": "dir/*"}}]}})
    ));
    assert!(m(
        json!({"detail": {"filename": [{"anything-but": {"wildcard": "other/*"}}]}})
    ));
    // a missing field has no value to differ from
    assert!(!m(json!({"detail": {"missing": [{"anything-but": "x"}]}})));
    // arrays: any element that differs
    assert!(m(json!({"detail": {"tags": [{"anything-but": "prod"}]}})));
    assert!(!m(
        json!({"detail": {"tags": [{"anything-but": ["prod", "web"]}]}})
    ));
}

#[test]
fn numeric_ranges_on_numbers_only() {
    assert!(m(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}})
    ));
    assert!(!m(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}})
    ));
    assert!(m(json!({"detail": {"c-count": [{"numeric": ["=", 5]}]}})));
    assert!(m(
        json!({"detail": {"d-count": [{"numeric": [">=", 301.8]}]}})
    ));
    assert!(!m(json!({"detail": {"d-count": [{"numeric": ["<", 10]}]}})));
    assert!(m(
        json!({"detail": {"x-limit": [{"numeric": [">=", 301.8, "<", 400]}]}})
    ));
    assert!(!m(
        json!({"detail": {"zip-as-string": [{"numeric": [">", 0]}]}})
    ));
    assert!(!m(
        json!({"detail": {"location": {"zip": [{"numeric": [">", 0]}]}}})
    ));
}

#[test]
fn exists_on_leaves_only() {
    assert!(m(json!({"detail": {"state": [{"exists": true}]}})));
    assert!(!m(json!({"detail": {"state": [{"exists": false}]}})));
    assert!(m(json!({"detail": {"missing": [{"exists": false}]}})));
    assert!(!m(json!({"detail": {"missing": [{"exists": true}]}})));
    assert!(m(json!({"detail": {"nothing": [{"exists": true}]}})));
    // not on intermediate nodes
    assert!(!m(json!({"detail": {"location": [{"exists": true}]}})));
    assert!(m(json!({"nothere": {"deeper": [{"exists": false}]}})));
    assert!(m(
        json!({"detail": {"state": ["running", {"exists": true}]}})
    ));
}

#[test]
fn wildcards() {
    assert!(m(
        json!({"detail": {"filename": [{"wildcard": "dir/*.PNG"}]}})
    ));
    assert!(m(json!({"detail": {"filename": [{"wildcard": "*"}]}})));
    assert!(m(json!({"detail": {"filename": [{"wildcard": "dir/*"}]}})));
    assert!(!m(
        json!({"detail": {"filename": [{"wildcard": "dir/*.png"}]}})
    ));
    assert!(m(
        json!({"detail": {"instance-id": [{"wildcard": "i-*0"}]}})
    ));
    assert!(wildcard_match("a*b*c", "abc"));
    assert!(wildcard_match("a*b*c", "aXXbYYc"));
    assert!(!wildcard_match("a*b*c", "aXXbYY"));
    assert!(wildcard_match("a\\*b", "a*b"));
    assert!(!wildcard_match("a\\*b", "axb"));
    assert!(wildcard_match("*.png", ".png"));
    assert!(wildcard_match("\\\\x", "\\x"));
}

#[test]
fn cidr_v4_and_v6() {
    assert!(m(
        json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}})
    ));
    assert!(!m(
        json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}})
    ));
    assert!(m(json!({"detail": {"source-ip": [{"cidr": "0.0.0.0/0"}]}})));
    assert!(m(json!({"detail": {"ipv6": [{"cidr": "2001:db8::/32"}]}})));
    assert!(!m(json!({"detail": {"ipv6": [{"cidr": "10.0.0.0/8"}]}})));
    assert!(!m(json!({"detail": {"state": [{"cidr": "10.0.0.0/8"}]}})));
}

#[test]
fn or_alternatives() {
    assert!(m(
        json!({"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["terminated"]}}]})
    ));
    assert!(!m(
        json!({"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["running"]}}]})
    ));
    assert!(m(json!({"source": ["aws.ec2"], "detail": {"$or": [
        {"c-count": [{"numeric": [">", 10]}]},
        {"d-count": [{"numeric": [">", 300]}]}
    ]}})));
    assert!(!m(
        json!({"source": ["aws.s3"], "$or": [{"detail": {"flag": [true]}}, {"region": ["x"]}]})
    ));
    // "$or" whose values are not objects is an ordinary field name
    assert!(!m(json!({"$or": ["a", "b"]})));
}

#[test]
fn invalid_patterns_give_aws_reasons() {
    assert_eq!(reason("[1]"), "Filter is not an object");
    assert_eq!(
        reason(r#"{"source": "aws.ec2"}"#),
        "\"source\" must be an object or an array"
    );
    assert_eq!(reason(r#"{"source": []}"#), "Empty arrays are not allowed");
    assert_eq!(reason(r#"{"source": [[1]]}"#), MATCH_VALUE);
    assert_eq!(
        reason(r#"{"source": [{"foo": 1}]}"#),
        "Unrecognized match type foo"
    );
    assert_eq!(
        reason(r#"{"source": [{"prefix": "a", "suffix": "b"}]}"#),
        "Only one key allowed in match expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"prefix": 1}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"suffix": []}]}"#),
        "suffix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"exists": "yes"}]}"#),
        "exists match pattern must be either true or false."
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": 5}]}"#),
        "Value of numeric must be an array."
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["!", 5]}]}"#),
        "Unrecognized numeric range operator: !"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", "5"]}]}"#),
        "Value of > must be numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["=", "x"]}]}"#),
        "Value of equals must be numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 5, "<", 1]}]}"#),
        "Bottom must be less than top"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 1, ">", 5]}]}"#),
        "Bad numeric range operator: >"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"foo": "x"}}]}"#),
        "Unsupported anything-but pattern: foo"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": [true]}]}"#),
        "Inside anything but list, start|null|boolean is not supported."
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"prefix": ""}}]}"#),
        "Null prefix/suffix not allowed"
    );
    assert_eq!(
        reason(r#"{"a": [{"wildcard": "a**"}]}"#),
        "Consecutive wildcard characters at pos 2"
    );
    assert!(reason(r#"{"a": [{"wildcard": "*a*b*c*d*e*f"}]}"#).starts_with("Rule is too complex"));
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0"}]}"#),
        "Malformed CIDR, one '/' required"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0/x"}]}"#),
        "Malformed CIDR, mask bits must be an integer"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0/8"}]}"#),
        "Nonstandard IP address: 10.0.0"
    );
    assert_eq!(
        reason(r#"{"a": [{"equals-ignore-case": 1}]}"#),
        "equals-ignore-case match pattern must be a string"
    );
    assert!(Pattern::parse("{not json").is_err());
    assert_eq!(
        invalid_message("x"),
        "Event pattern is not valid. Reason: x"
    );
}
