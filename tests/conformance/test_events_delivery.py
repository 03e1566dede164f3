"""EventBridge delivery to Lambda targets: PutEvents -> matching rule -> the function gets the
event in AWS's exact shape (or its Input / InputPath / InputTransformer output); disabled and
non-matching rules deliver nothing; a Lambda destination puts its record on a bus; a
rate(1 minute) rule fires with the scheduled-event shape."""

from __future__ import annotations

import json
import re
import time

import pytest

from serval_harness import ACCOUNT, REGION, UUID_RE, unique_name, wait_until

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _messages(notifier, n, timeout=30):
    wait_until(lambda: len(notifier.messages) >= n, timeout=timeout, message=f"{n} deliveries")
    return [json.loads(m) for m in notifier.messages]


def _rule_to(events, fn_arn, pattern, targets=None, bus="default"):
    name = unique_name("rule")
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=targets or [{"Id": "fn", "Arn": fn_arn}])
    return name, arn


def _cleanup(events, name, bus="default"):
    ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]]
    events.remove_targets(Rule=name, EventBusName=bus, Ids=ids)
    events.delete_rule(Name=name, EventBusName=bus)


def test_matched_event_reaches_the_function_in_aws_shape(events, recorder):
    fn, notifier = recorder
    source = unique_name("shop")
    name, _ = _rule_to(events, fn, {"source": [source], "detail": {"total": [{"numeric": [">", 10]}]}})
    try:
        out = events.put_events(Entries=[
            {"Source": source, "DetailType": "Order Placed", "Detail": json.dumps({"total": 5}),
             "Resources": ["arn:aws:s3:::b"]},
            {"Source": source, "DetailType": "Order Placed", "Detail": json.dumps({"total": 50, "items": ["a"]}),
             "Resources": ["arn:aws:s3:::b"]},
        ])
        assert out["FailedEntryCount"] == 0
        [event] = _messages(notifier, 1)
        time.sleep(1)
        assert len(notifier.messages) == 1, notifier.messages  # the first did not match
        assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region",
                               "resources", "detail"]
        assert event["version"] == "0"
        assert event["id"] == out["Entries"][1]["EventId"] and UUID_RE.match(event["id"])
        assert event["detail-type"] == "Order Placed"
        assert event["source"] == source
        assert (event["account"], event["region"]) == (ACCOUNT, REGION)
        assert TIME_RE.match(event["time"])
        assert event["resources"] == ["arn:aws:s3:::b"]
        assert event["detail"] == {"total": 50, "items": ["a"]}
    finally:
        _cleanup(events, name)


def test_entry_time_is_the_event_time(events, recorder):
    fn, notifier = recorder
    source = unique_name("clock")
    name, _ = _rule_to(events, fn, {"source": [source]})
    try:
        import datetime
        t = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
        events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": "{}", "Time": t}])
        [event] = _messages(notifier, 1)
        assert event["time"] == "2024-05-06T07:08:09Z"
    finally:
        _cleanup(events, name)


def test_input_input_path_and_transformer(events, recorder):
    fn, notifier = recorder
    source = unique_name("tx")
    targets = [
        {"Id": "const", "Arn": fn, "Input": '{"constant": true}'},
        {"Id": "path", "Arn": fn, "InputPath": "$.detail.order"},
        {"Id": "tpl", "Arn": fn, "InputTransformer": {
            "InputPathsMap": {"id": "$.detail.order.id", "item": "$.detail.order.item", "src": "$.source",
                              "order": "$.detail.order"},
            "InputTemplate": '{"message": "order <id> of <item> from <src>", "id": <id>, "item": <item>, '
                             '"order": <order>, "rule": <aws.events.rule-name>}'}},
    ]
    name, _ = _rule_to(events, fn, {"source": [source]}, targets)
    try:
        events.put_events(Entries=[{"Source": source, "DetailType": "t",
                                    "Detail": json.dumps({"order": {"id": 7, "item": "book"}})}])
        got = _messages(notifier, 3)
        assert {"constant": True} in got
        assert {"id": 7, "item": "book"} in got
        tpl = [g for g in got if "message" in g]
        assert tpl == [{"message": f"order 7 of book from {source}", "id": 7, "item": "book",
                        "order": {"id": 7, "item": "book"}, "rule": name}]
    finally:
        _cleanup(events, name)


def test_custom_bus_and_disabled_rules(events, recorder):
    fn, notifier = recorder
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    source = unique_name("b")
    name, _ = _rule_to(events, fn, {"source": [source]}, bus=bus)
    try:
        # the same event on the default bus does not reach the custom bus's rule
        events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": '{"n": 1}'}])
        events.disable_rule(Name=name, EventBusName=bus)
        events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": '{"n": 2}', "EventBusName": bus}])
        events.enable_rule(Name=name, EventBusName=bus)
        events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": '{"n": 3}', "EventBusName": bus}])
        [event] = _messages(notifier, 1)
        time.sleep(1)
        assert [json.loads(m)["detail"]["n"] for m in notifier.messages] == [3]
        assert event["detail"] == {"n": 3}
    finally:
        _cleanup(events, name, bus)
        events.delete_event_bus(Name=bus)


def test_lambda_destination_puts_its_record_on_a_bus(events, lam, create_fn, recorder):
    fn, notifier = recorder
    bus = unique_name("dest")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    name, _ = _rule_to(events, fn, {"source": ["lambda"], "detail-type": [
        "Lambda Function Invocation Result - Success"]}, bus=bus)
    try:
        src = create_fn()["FunctionName"]
        lam.put_function_event_invoke_config(FunctionName=src, DestinationConfig={"OnSuccess": {"Destination": bus_arn}})
        lam.invoke(FunctionName=src, InvocationType="Event", Payload=b'{"hello": "bus"}')
        [event] = _messages(notifier, 1)
        assert event["source"] == "lambda"
        assert event["detail-type"] == "Lambda Function Invocation Result - Success"
        # Lambda names the invoked function (AWS qualifies it with the version)
        assert event["resources"][0].startswith(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{src}")
        assert event["detail"]["requestPayload"] == {"hello": "bus"}
        assert event["detail"]["requestContext"]["condition"] == "Success"
    finally:
        _cleanup(events, name, bus)
        events.delete_event_bus(Name=bus)


def test_rule_can_target_another_bus(events, recorder):
    fn, notifier = recorder
    bus = unique_name("fwd")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique_name("fw")
    first, _ = _rule_to(events, bus_arn, {"source": [source]}, [{"Id": "bus", "Arn": bus_arn}])
    second, _ = _rule_to(events, fn, {"source": [source]}, bus=bus)
    try:
        events.put_events(Entries=[{"Source": source, "DetailType": "fwd", "Detail": '{"x": 1}'}])
        [event] = _messages(notifier, 1)
        assert (event["source"], event["detail-type"], event["detail"]) == (source, "fwd", {"x": 1})
    finally:
        _cleanup(events, first)
        _cleanup(events, second, bus)
        events.delete_event_bus(Name=bus)


@pytest.mark.slow
def test_rate_rule_fires_with_the_scheduled_event_shape(events, recorder):
    """One real firing of rate(1 minute): up to 60 s (the first firing is a minute after PutRule)."""
    fn, notifier = recorder
    name = unique_name("every-minute")
    arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": fn}])
    try:
        [event] = _messages(notifier, 1, timeout=75)
        assert event["source"] == "aws.events"
        assert event["detail-type"] == "Scheduled Event"
        assert event["detail"] == {}
        assert event["resources"] == [arn]
        assert (event["account"], event["region"], event["version"]) == (ACCOUNT, REGION, "0")
        assert TIME_RE.match(event["time"])
    finally:
        _cleanup(events, name)
