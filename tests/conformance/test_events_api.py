"""EventBridge control plane: event buses (the `default` bus of every account and region),
rules, targets, tags, PutEvents' per-entry results and TestEventPattern, with the error codes
and messages AWS answers (ResourceNotFoundException, InvalidEventPatternException,
ValidationException, LimitExceededException, ResourceAlreadyExistsException)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from serval_harness import ACCOUNT, REGION, UUID_RE, error_of, unique_name


def code_of(exc) -> str:
    return exc.value.response["Error"]["Code"]


def message_of(exc) -> str:
    return exc.value.response["Error"]["Message"]


@pytest.fixture
def bus(events):
    name = unique_name("bus")
    events.create_event_bus(Name=name)
    yield name
    for r in events.list_rules(EventBusName=name)["Rules"]:
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=r["Name"], EventBusName=name)["Targets"]]
        if ids:
            events.remove_targets(Rule=r["Name"], EventBusName=name, Ids=ids)
    events.delete_event_bus(Name=name)


PATTERN = json.dumps({"source": ["shop"], "detail-type": ["Order Placed"]})


def test_default_bus_exists_everywhere(events, serval):
    d = events.describe_event_bus()
    assert d["Name"] == "default"
    assert d["Arn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    assert events.describe_event_bus(Name="default")["Arn"] == d["Arn"]
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names
    other = serval.client("events", access_key="111111111111")
    assert other.describe_event_bus()["Arn"] == f"arn:aws:events:{REGION}:111111111111:event-bus/default"
    import boto3
    west = boto3.session.Session().client("events", endpoint_url=serval.endpoint, region_name="eu-west-1",
                                          aws_access_key_id="test", aws_secret_access_key="test-secret")
    assert west.describe_event_bus()["Arn"].startswith("arn:aws:events:eu-west-1:")


def test_event_bus_lifecycle(events):
    name = unique_name("orders")
    created = events.create_event_bus(Name=name, Description="orders bus", Tags=[{"Key": "team", "Value": "a"}])
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
    assert created["EventBusArn"] == arn
    d = events.describe_event_bus(Name=name)
    assert (d["Name"], d["Arn"], d["Description"]) == (name, arn, "orders bus")
    assert "CreationTime" in d and "LastModifiedTime" in d
    assert events.describe_event_bus(Name=arn)["Name"] == name
    listed = events.list_event_buses(NamePrefix=name)["EventBuses"]
    assert [b["Name"] for b in listed] == [name]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(ClientError) as e:
        events.create_event_bus(Name=name)
    assert code_of(e) == "ResourceAlreadyExistsException"
    assert message_of(e) == f"Event bus {name} already exists."
    events.delete_event_bus(Name=name)
    with pytest.raises(ClientError) as e:
        events.describe_event_bus(Name=name)
    assert code_of(e) == "ResourceNotFoundException"
    assert message_of(e) == f"Event bus {name} does not exist."
    events.delete_event_bus(Name=name)  # deleting what is gone is no error


def test_default_bus_cannot_be_created_or_deleted(events):
    with pytest.raises(ClientError) as e:
        events.create_event_bus(Name="default")
    assert code_of(e) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        events.delete_event_bus(Name="default")
    assert code_of(e) == "ValidationException"


def test_bus_name_is_validated(events_raw):
    with pytest.raises(ClientError) as e:
        events_raw.create_event_bus(Name="bad name!")
    assert code_of(e) == "ValidationException"
    assert "failed to satisfy constraint: Member must satisfy regular expression pattern" in message_of(e)


def test_list_event_buses_pages(events):
    prefix = unique_name("pg")
    names = [f"{prefix}-{i}" for i in range(3)]
    for n in names:
        events.create_event_bus(Name=n)
    try:
        first = events.list_event_buses(NamePrefix=prefix, Limit=2)
        assert len(first["EventBuses"]) == 2 and first["NextToken"]
        rest = events.list_event_buses(NamePrefix=prefix, Limit=2, NextToken=first["NextToken"])
        assert "NextToken" not in rest
        assert sorted(b["Name"] for b in first["EventBuses"] + rest["EventBuses"]) == names
    finally:
        for n in names:
            events.delete_event_bus(Name=n)


def test_rule_lifecycle_on_a_custom_bus(events, bus):
    name = unique_name("rule")
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN, Description="d")["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}"
    d = events.describe_rule(Name=name, EventBusName=bus)
    assert d["Name"] == name and d["Arn"] == arn
    assert json.loads(d["EventPattern"]) == json.loads(PATTERN)
    assert (d["State"], d["Description"], d["EventBusName"], d["CreatedBy"]) == ("ENABLED", "d", bus, ACCOUNT)
    events.disable_rule(Name=name, EventBusName=bus)
    assert events.describe_rule(Name=name, EventBusName=bus)["State"] == "DISABLED"
    events.enable_rule(Name=name, EventBusName=bus)
    assert events.describe_rule(Name=name, EventBusName=bus)["State"] == "ENABLED"
    # PutRule again updates
    events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN, State="DISABLED")
    d = events.describe_rule(Name=name, EventBusName=bus)
    assert d["State"] == "DISABLED" and "Description" not in d
    rules = events.list_rules(EventBusName=bus)["Rules"]
    assert [r["Name"] for r in rules] == [name]
    assert rules[0]["EventBusName"] == bus
    assert events.list_rules(EventBusName=bus, NamePrefix="zzz")["Rules"] == []
    # not on the default bus
    with pytest.raises(ClientError) as e:
        events.describe_rule(Name=name)
    assert code_of(e) == "ResourceNotFoundException"
    assert message_of(e) == f"Rule {name} does not exist on EventBus default."
    events.delete_rule(Name=name, EventBusName=bus)
    with pytest.raises(ClientError) as e:
        events.describe_rule(Name=name, EventBusName=bus)
    assert message_of(e) == f"Rule {name} does not exist on EventBus {bus}."
    events.delete_rule(Name=name, EventBusName=bus)  # no error


def test_rule_arn_on_the_default_bus_and_schedules(events):
    name = unique_name("sched")
    arn = events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
    d = events.describe_rule(Name=name)
    assert d["ScheduleExpression"] == "rate(5 minutes)" and "EventPattern" not in d
    events.put_rule(Name=name, ScheduleExpression="cron(0/5 * * * ? *)")
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "cron(0/5 * * * ? *)"
    events.delete_rule(Name=name)


def test_rule_errors(events, bus):
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="r1", EventBusName=unique_name("nobus"), EventPattern=PATTERN)
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="r1")
    assert code_of(e) == "ValidationException"
    assert message_of(e) == "Parameter(s) EventPattern or ScheduleExpression must be specified."
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="r1", EventPattern='{"source": "shop"}')
    assert code_of(e) == "InvalidEventPatternException"
    assert message_of(e) == 'Event pattern is not valid. Reason: "source" must be an object or an array'
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="r1", EventPattern='{"a": [{"numeric": [">", "x"]}]}')
    assert message_of(e) == "Event pattern is not valid. Reason: Value of > must be numeric"
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="r1", EventPattern="[1]")
    assert message_of(e) == "Event pattern is not valid. Reason: Filter is not an object"
    for bad in ["rate(1 minutes)", "rate(0 minutes)", "cron(* * * * * *)", "cron(0 12 * * ?)", "every day"]:
        with pytest.raises(ClientError) as e:
            events.put_rule(Name="r1", ScheduleExpression=bad)
        assert code_of(e) == "ValidationException", bad
        assert message_of(e) == "Parameter ScheduleExpression is not valid.", bad
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="r1", EventBusName=bus, ScheduleExpression="rate(1 minute)")
    assert message_of(e) == "ScheduleExpression is supported only on the default event bus."
    for op in (events.describe_rule, events.enable_rule, events.disable_rule):
        with pytest.raises(ClientError) as e:
            op(Name=unique_name("missing"))
        assert code_of(e) == "ResourceNotFoundException"


def test_rule_name_is_validated(events_raw):
    with pytest.raises(ClientError) as e:
        events_raw.put_rule(Name="has space", EventPattern=PATTERN)
    assert code_of(e) == "ValidationException"
    assert "at 'name' failed to satisfy constraint" in message_of(e)
    with pytest.raises(ClientError) as e:
        events_raw.put_rule(Name="x" * 65, EventPattern=PATTERN)
    assert "Member must have length less than or equal to 64" in message_of(e)


def test_targets(events, bus):
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=PATTERN)
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    targets = [
        {"Id": "a", "Arn": fn},
        {"Id": "b", "Arn": fn, "Input": '{"k": 1}'},
        {"Id": "c", "Arn": fn, "InputPath": "$.detail"},
        {"Id": "d", "Arn": fn, "InputTransformer": {"InputPathsMap": {"s": "$.source"},
                                                    "InputTemplate": '{"src": <s>}'}},
    ]
    out = events.put_targets(Rule=rule, EventBusName=bus, Targets=targets)
    assert out["FailedEntryCount"] == 0 and out["FailedEntries"] == []
    listed = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    assert listed == targets
    # replacing by Id
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "a", "Arn": fn, "Input": "[]"}])
    listed = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    assert len(listed) == 4 and listed[0] == {"Id": "a", "Arn": fn, "Input": "[]"}
    assert events.list_rule_names_by_target(TargetArn=fn, EventBusName=bus)["RuleNames"] == [rule]
    assert events.list_rule_names_by_target(TargetArn=fn + "x", EventBusName=bus)["RuleNames"] == []
    # five at most
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "e", "Arn": fn}])
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "f", "Arn": fn}])
    assert code_of(e) == "LimitExceededException"
    # a rule with targets cannot be deleted
    with pytest.raises(ClientError) as e:
        events.delete_rule(Name=rule, EventBusName=bus)
    assert code_of(e) == "ValidationException"
    assert message_of(e) == "Rule can't be deleted since it has targets."
    removed = events.remove_targets(Rule=rule, EventBusName=bus, Ids=["a", "b", "nope"])
    assert removed["FailedEntryCount"] == 1
    assert removed["FailedEntries"][0]["TargetId"] == "nope"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]] == ["c", "d", "e"]
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["c", "d", "e"])
    events.delete_rule(Name=rule, EventBusName=bus)


def test_target_errors(events, events_raw, bus):
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=PATTERN)
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=unique_name("missing"), EventBusName=bus, Targets=[{"Id": "a", "Arn": fn}])
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        events.list_targets_by_rule(Rule=unique_name("missing"))
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "a", "Arn": fn, "Input": "{}", "InputPath": "$"}])
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "a", "Arn": "not-an-arn"}])
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "a", "Arn": fn, "Input": "{not json"}])
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events_raw.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "bad id", "Arn": fn}])
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": str(i), "Arn": fn} for i in range(6)])
    assert code_of(e) == "LimitExceededException"
    assert events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"] == []
    events.delete_rule(Name=rule, EventBusName=bus)


def test_put_events_entries(events, bus):
    out = events.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 1}'},
        {"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 2}', "EventBusName": bus},
        {"Source": "shop", "DetailType": "Order Placed", "Detail": "not json"},
        {"DetailType": "Order Placed", "Detail": "{}"},
        {"Source": "shop", "Detail": "{}"},
        {"Source": "shop", "DetailType": "x"},
        {"Source": "shop", "DetailType": "x", "Detail": "[1]"},
        {"Source": "shop", "DetailType": "x", "Detail": "{}", "EventBusName": unique_name("nobus")},
        {"Source": "aws.ec2", "DetailType": "x", "Detail": "{}"},
    ])
    entries = out["Entries"]
    assert len(entries) == 9
    assert out["FailedEntryCount"] == 7
    assert UUID_RE.match(entries[0]["EventId"]) and UUID_RE.match(entries[1]["EventId"])
    assert entries[0]["EventId"] != entries[1]["EventId"]
    assert entries[2] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert entries[3] == {"ErrorCode": "InvalidArgument",
                          "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."}
    assert entries[4]["ErrorCode"] == "InvalidArgument" and "DetailType" in entries[4]["ErrorMessage"]
    assert entries[5]["ErrorCode"] == "InvalidArgument" and "Detail is a required" in entries[5]["ErrorMessage"]
    assert entries[6]["ErrorCode"] == "MalformedDetail"
    assert entries[7]["ErrorCode"] == "ResourceNotFoundException"
    assert entries[8]["ErrorCode"] == "NotAuthorizedForSourceException"


def test_put_events_limits(events_raw):
    entry = {"Source": "shop", "DetailType": "x", "Detail": "{}"}
    with pytest.raises(ClientError) as e:
        events_raw.put_events(Entries=[entry] * 11)
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events_raw.put_events(Entries=[])
    assert code_of(e) == "ValidationException"
    big = {"Source": "shop", "DetailType": "x", "Detail": json.dumps({"pad": "x" * 100_000})}
    with pytest.raises(ClientError) as e:
        events_raw.put_events(Entries=[big] * 3)
    assert code_of(e) == "ValidationException"
    assert message_of(e) == "Total size of the entries in the request is over the limit."
    ok = events_raw.put_events(Entries=[big, big])
    assert ok["FailedEntryCount"] == 0


def _event(**detail):
    return json.dumps({"id": "1", "account": ACCOUNT, "source": "shop", "time": "2024-01-01T00:00:00Z",
                       "region": REGION, "resources": [], "detail-type": "Order Placed", "detail": detail})


def test_test_event_pattern(events):
    assert events.test_event_pattern(EventPattern=PATTERN, Event=_event())["Result"] is True
    assert events.test_event_pattern(EventPattern='{"source": ["other"]}', Event=_event())["Result"] is False
    rich = json.dumps({"detail": {"n": [{"numeric": [">", 5, "<=", 10]}], "s": [{"prefix": "ab"}],
                                  "gone": [{"exists": False}], "ip": [{"cidr": "10.0.0.0/8"}],
                                  "w": [{"wildcard": "*.png"}], "c": [{"anything-but": ["x", "y"]}]}})
    assert events.test_event_pattern(EventPattern=rich, Event=_event(n=10, s="abc", ip="10.1.2.3", w="a.png", c="z"))["Result"]
    assert not events.test_event_pattern(EventPattern=rich, Event=_event(n=11, s="abc", ip="10.1.2.3", w="a.png", c="z"))["Result"]
    assert not events.test_event_pattern(EventPattern=rich, Event=_event(n=10, s="abc", ip="10.1.2.3", w="a.png", c="x"))["Result"]
    assert not events.test_event_pattern(EventPattern=rich, Event=_event(n="10", s="abc", ip="10.1.2.3", w="a.png", c="z"))["Result"]
    orp = json.dumps({"$or": [{"detail": {"a": [1]}}, {"detail": {"b": [2]}}]})
    assert events.test_event_pattern(EventPattern=orp, Event=_event(b=2))["Result"]
    assert not events.test_event_pattern(EventPattern=orp, Event=_event(b=3))["Result"]
    with pytest.raises(ClientError) as e:
        events.test_event_pattern(EventPattern='{"a": [{"bogus": 1}]}', Event=_event())
    assert code_of(e) == "InvalidEventPatternException"
    assert message_of(e) == "Event pattern is not valid. Reason: Unrecognized match type bogus"
    with pytest.raises(ClientError) as e:
        events.test_event_pattern(EventPattern=PATTERN, Event='{"source": "shop"}')
    assert code_of(e) == "ValidationException"


def test_tags_on_rules_and_buses(events, bus):
    rule = unique_name("rule")
    arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern=PATTERN,
                          Tags=[{"Key": "a", "Value": "1"}])["RuleArn"]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    events.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    default_arn = events.describe_event_bus()["Arn"]
    events.tag_resource(ResourceARN=default_arn, Tags=[{"Key": "x", "Value": "y"}])
    assert {"Key": "x", "Value": "y"} in events.list_tags_for_resource(ResourceARN=default_arn)["Tags"]
    events.untag_resource(ResourceARN=default_arn, TagKeys=["x"])
    missing = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{unique_name('nope')}"
    with pytest.raises(ClientError) as e:
        events.list_tags_for_resource(ResourceARN=missing)
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        events.tag_resource(ResourceARN=missing, Tags=[{"Key": "a", "Value": "b"}])
    assert code_of(e) == "ResourceNotFoundException"
    events.delete_rule(Name=rule, EventBusName=bus)


def test_accounts_are_isolated(events, serval):
    rule = unique_name("mine")
    events.put_rule(Name=rule, EventPattern=PATTERN)
    other = serval.client("events", access_key="222222222222")
    with pytest.raises(ClientError) as e:
        other.describe_rule(Name=rule)
    assert code_of(e) == "ResourceNotFoundException"
    assert rule not in [r["Name"] for r in other.list_rules()["Rules"]]
    events.delete_rule(Name=rule)


def test_unknown_operation(serval):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    import urllib.error
    import urllib.request

    req = AWSRequest(method="POST", url=serval.endpoint + "/", data=b"{}",
                     headers={"X-Amz-Target": "AWSEvents.Nope", "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials("test", "test-secret"), "events", REGION).add_auth(req)
    r = urllib.request.Request(serval.endpoint + "/", data=b"{}", headers=dict(req.headers.items()), method="POST")
    try:
        urllib.request.urlopen(r, timeout=10)
        raise AssertionError("expected an error")
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        assert e.code == 400 and body["__type"] == "UnknownOperationException"
