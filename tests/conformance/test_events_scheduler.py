"""EventBridge Scheduler: schedules and schedule groups (the `default` group of every account
and region), their validation and errors, and one-time at() schedules firing a function with
the target's Input verbatim (ActionAfterCompletion DELETE removes the schedule after)."""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from serval_harness import ACCOUNT, REGION, ROLE, unique_name, wait_until

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nothing"


def code_of(exc) -> str:
    return exc.value.response["Error"]["Code"]


def status_of(exc) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _target(arn=FN, **extra):
    return {"Arn": arn, "RoleArn": ROLE, **extra}


def _at(seconds_ahead: float, tz=datetime.timezone.utc) -> str:
    t = datetime.datetime.now(tz) + datetime.timedelta(seconds=seconds_ahead)
    return f"at({t.strftime('%Y-%m-%dT%H:%M:%S')})"


def test_default_group_and_group_lifecycle(scheduler):
    d = scheduler.get_schedule_group(Name="default")
    assert d["Arn"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/default"
    assert d["State"] == "ACTIVE"
    name = unique_name("grp")
    arn = scheduler.create_schedule_group(Name=name, Tags=[{"Key": "k", "Value": "v"}])["ScheduleGroupArn"]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{name}"
    assert scheduler.get_schedule_group(Name=name)["Name"] == name
    names = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert "default" in names and name in names
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "k2", "Value": "v2"}])
    scheduler.untag_resource(ResourceArn=arn, TagKeys=["k"])
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k2", "Value": "v2"}]
    with pytest.raises(ClientError) as e:
        scheduler.create_schedule_group(Name=name)
    assert (code_of(e), status_of(e)) == ("ConflictException", 409)
    scheduler.create_schedule(Name="in-group", GroupName=name, ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=_target())
    scheduler.delete_schedule_group(Name=name)
    with pytest.raises(ClientError) as e:
        scheduler.get_schedule_group(Name=name)
    assert (code_of(e), status_of(e)) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        scheduler.get_schedule(Name="in-group", GroupName=name)
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        scheduler.delete_schedule_group(Name="default")
    assert code_of(e) == "ValidationException"


def test_schedule_lifecycle(scheduler):
    name = unique_name("sch")
    arn = scheduler.create_schedule(
        Name=name, ScheduleExpression="cron(0 9 ? * MON-FRI *)", ScheduleExpressionTimezone="Europe/Berlin",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Target=_target(Input='{"a": 1}', RetryPolicy={"MaximumRetryAttempts": 3}),
        Description="weekday mornings",
        StartDate=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
    )["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}"
    got = scheduler.get_schedule(Name=name)
    assert got["Arn"] == arn and got["Name"] == name and got["GroupName"] == "default"
    assert got["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert got["Target"]["Input"] == '{"a": 1}' and got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3}
    assert got["State"] == "ENABLED" and got["Description"] == "weekday mornings"
    assert got["StartDate"].year == 2030
    assert "CreationDate" in got and "LastModificationDate" in got
    with pytest.raises(ClientError) as e:
        scheduler.create_schedule(Name=name, ScheduleExpression="rate(1 hour)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target=_target())
    assert (code_of(e), status_of(e)) == ("ConflictException", 409)
    scheduler.update_schedule(Name=name, ScheduleExpression="rate(2 hours)", State="DISABLED",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=_target())
    got = scheduler.get_schedule(Name=name)
    assert (got["ScheduleExpression"], got["State"]) == ("rate(2 hours)", "DISABLED")
    assert "Description" not in got  # update replaces the definition
    listed = scheduler.list_schedules(NamePrefix=name)["Schedules"]
    assert [(s["Name"], s["GroupName"], s["State"], s["Target"]["Arn"]) for s in listed] == [
        (name, "default", "DISABLED", FN)]
    assert scheduler.list_schedules(NamePrefix=name, State="ENABLED")["Schedules"] == []
    assert len(scheduler.list_schedules(NamePrefix=name, GroupName="default")["Schedules"]) == 1
    scheduler.delete_schedule(Name=name)
    with pytest.raises(ClientError) as e:
        scheduler.get_schedule(Name=name)
    assert (code_of(e), status_of(e)) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        scheduler.delete_schedule(Name=name)
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        scheduler.update_schedule(Name=name, ScheduleExpression="rate(1 hour)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target=_target())
    assert code_of(e) == "ResourceNotFoundException"


def test_schedule_validation(scheduler, scheduler_raw):
    base = dict(FlexibleTimeWindow={"Mode": "OFF"}, Target=_target())
    for expr in ["rate(1 minutes)", "cron(* * * * * *)", "at(2030-01-01)", "every minute"]:
        with pytest.raises(ClientError) as e:
            scheduler.create_schedule(Name=unique_name("bad"), ScheduleExpression=expr, **base)
        assert code_of(e) == "ValidationException", expr
    with pytest.raises(ClientError) as e:
        scheduler.create_schedule(Name=unique_name("bad"), ScheduleExpression="rate(1 hour)",
                                  ScheduleExpressionTimezone="Mars/Olympus", **base)
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        scheduler.create_schedule(Name=unique_name("bad"), ScheduleExpression="rate(1 hour)",
                                  FlexibleTimeWindow={"Mode": "FLEXIBLE"}, Target=_target())
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        scheduler.create_schedule(Name=unique_name("bad"), ScheduleExpression="rate(1 hour)",
                                  GroupName=unique_name("nogroup"), **base)
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        scheduler_raw.create_schedule(Name="bad name!", ScheduleExpression="rate(1 hour)", **base)
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        scheduler_raw.create_schedule(Name=unique_name("bad"), ScheduleExpression="rate(1 hour)",
                                      FlexibleTimeWindow={"Mode": "SOMETIMES"}, Target=_target())
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        scheduler_raw.create_schedule(Name=unique_name("bad"), ScheduleExpression="rate(1 hour)",
                                      FlexibleTimeWindow={"Mode": "OFF"})
    assert code_of(e) == "ValidationException"


def test_at_schedule_fires_with_the_input_verbatim(scheduler, recorder):
    fn, notifier = recorder
    name = unique_name("once")
    scheduler.create_schedule(Name=name, ScheduleExpression=_at(2), FlexibleTimeWindow={"Mode": "OFF"},
                              Target=_target(fn, Input='{"greeting": "hello", "n": [1, 2]}'))
    wait_until(lambda: notifier.messages, timeout=20, message="the schedule to fire")
    assert json.loads(notifier.messages[0]) == {"greeting": "hello", "n": [1, 2]}
    # it fired once and stays (ActionAfterCompletion NONE)
    assert scheduler.get_schedule(Name=name)["Name"] == name
    scheduler.delete_schedule(Name=name)


def test_at_schedule_in_a_time_zone_is_deleted_after_completion(scheduler, recorder):
    fn, notifier = recorder
    name = unique_name("tz")
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    scheduler.create_schedule(Name=name, ScheduleExpression=_at(2, tokyo), ScheduleExpressionTimezone="Asia/Tokyo",
                              FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion="DELETE",
                              Target=_target(fn, Input='{"arn": "<aws.scheduler.schedule-arn>"}'))
    wait_until(lambda: notifier.messages, timeout=20, message="the schedule to fire")
    assert json.loads(notifier.messages[0]) == {
        "arn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}"}

    def gone():
        try:
            scheduler.get_schedule(Name=name)
            return False
        except ClientError as e:
            return e.response["Error"]["Code"] == "ResourceNotFoundException"

    wait_until(gone, timeout=10, message="the completed schedule to be deleted")


def test_disabled_schedule_does_not_fire(scheduler, recorder):
    import time

    fn, notifier = recorder
    name = unique_name("off")
    scheduler.create_schedule(Name=name, ScheduleExpression=_at(1), FlexibleTimeWindow={"Mode": "OFF"},
                              State="DISABLED", Target=_target(fn, Input="{}"))
    time.sleep(3)
    assert notifier.messages == []
    scheduler.delete_schedule(Name=name)
