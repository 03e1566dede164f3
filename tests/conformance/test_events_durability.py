"""EventBridge and Scheduler state on a --data-dir survives kill -9: buses, rules with their
targets and tags, schedule groups and schedules; a one-time at() schedule whose time passed
while Serval was down fires once when it is back."""

from __future__ import annotations

import json
import time

from serval_harness import ACCOUNT, REGION, ROLE, Notifier, make_zip, unique_name, wait_until
from conftest import RECORDER


def test_state_survives_kill9_and_missed_at_fires_on_start(serval_factory, tmp_path):
    data = tmp_path / "data"
    server = serval_factory(data_dir=data)
    events = server.client("events")
    scheduler = server.client("scheduler")
    lam = server.client("lambda")
    notifier = Notifier()
    try:
        fn = lam.create_function(FunctionName="rec", Runtime="python3.12", Role=ROLE, Handler="recorder.handler",
                                 Code={"ZipFile": make_zip({"recorder.py": RECORDER})},
                                 Environment={"Variables": {"NOTIFY": notifier.addr}})["FunctionArn"]
        lam.get_waiter("function_active_v2").wait(FunctionName="rec", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
        bus = unique_name("bus")
        events.create_event_bus(Name=bus, Tags=[{"Key": "a", "Value": "b"}])
        events.put_rule(Name="r", EventBusName=bus, EventPattern='{"source": ["x"]}', Description="kept")
        events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "t", "Arn": fn, "InputPath": "$.detail"}])
        events.disable_rule(Name="r", EventBusName=bus)
        events.put_rule(Name="tick", ScheduleExpression="rate(10 minutes)")
        scheduler.create_schedule_group(Name="g")
        scheduler.create_schedule(Name="later", GroupName="g", ScheduleExpression="rate(1 day)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn, "RoleArn": ROLE})
        import datetime
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=4)
        scheduler.create_schedule(Name="missed", ScheduleExpression=f"at({t.strftime('%Y-%m-%dT%H:%M:%S')})",
                                  FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": fn, "RoleArn": ROLE, "Input": '{"missed": true}'})
        server.kill9()
        time.sleep(5)
        assert notifier.messages == []
        server.start()

        d = events.describe_rule(Name="r", EventBusName=bus)
        assert (d["State"], d["Description"]) == ("DISABLED", "kept")
        assert events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"] == [
            {"Id": "t", "Arn": fn, "InputPath": "$.detail"}]
        bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
        assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "a", "Value": "b"}]
        assert events.describe_rule(Name="tick")["ScheduleExpression"] == "rate(10 minutes)"
        assert scheduler.get_schedule(Name="later", GroupName="g")["ScheduleExpression"] == "rate(1 day)"
        wait_until(lambda: notifier.messages, timeout=30, message="the missed at() schedule to fire")
        assert json.loads(notifier.messages[0]) == {"missed": True}
        # it fired once, and that is remembered across another crash
        time.sleep(1)
        server.kill9()
        server.start()
        time.sleep(2)
        assert len(notifier.messages) == 1
        # the rule still routes after the restart
        events.enable_rule(Name="r", EventBusName=bus)
        events.put_events(Entries=[{"Source": "x", "DetailType": "t", "Detail": '{"after": "restart"}',
                                    "EventBusName": bus}])
        wait_until(lambda: len(notifier.messages) >= 2, timeout=30, message="the event after restart")
        assert json.loads(notifier.messages[1]) == {"after": "restart"}
    finally:
        notifier.close()
