"""Services reaching each other through Serval's event routing: an EventBridge rule with an SQS
target, a Lambda success destination on an event bus, and S3 object events on EventBridge (the
bucket's EventBridgeConfiguration), each ending in an SQS queue the test reads."""

from __future__ import annotations

import json

from serval_harness import unique_name, wait_until


def _queue(sqs, make_queue):
    url = make_queue()
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _one(sqs, url):
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    return json.loads(got[0]["Body"]) if got else None


def _rule_to_queue(events, pattern, arn, bus="default"):
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return rule


def test_rule_with_an_sqs_target(events, sqs, make_queue):
    url, arn = _queue(sqs, make_queue)
    _rule_to_queue(events, {"source": ["my.app"], "detail": {"n": [{"numeric": [">", 1]}]}}, arn)
    events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "thing", "Detail": json.dumps({"n": 1})},
        {"Source": "my.app", "DetailType": "thing", "Detail": json.dumps({"n": 2})},
    ])
    event = wait_until(lambda: _one(sqs, url), timeout=20, message="the event in the queue")
    assert event["source"] == "my.app" and event["detail-type"] == "thing" and event["detail"] == {"n": 2}
    assert event["version"] == "0" and event["account"] == "000000000000" and event["region"] == "us-east-1"
    assert _one(sqs, url) is None


def test_lambda_success_destination_on_an_event_bus(lam, events, sqs, make_queue, create_fn):
    url, arn = _queue(sqs, make_queue)
    _rule_to_queue(events, {"source": ["lambda"],
                            "detail-type": ["Lambda Function Invocation Result - Success"]}, arn)
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    name = create_fn()["FunctionName"]
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": bus_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"hello": "bus"}')
    event = wait_until(lambda: _one(sqs, url), timeout=30, message="the destination event in the queue")
    assert event["detail"]["requestContext"]["condition"] == "Success"
    assert event["detail"]["requestPayload"] == {"hello": "bus"}
    assert event["detail"]["responsePayload"] == {"hello": "bus"}


def test_s3_object_events_on_eventbridge(s3, events, sqs, make_queue):
    url, arn = _queue(sqs, make_queue)
    bucket = unique_name("bkt").lower().replace("_", "-")[:50]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket,
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    _rule_to_queue(events, {"source": ["aws.s3"], "detail-type": ["Object Created"],
                            "detail": {"bucket": {"name": [bucket]}}}, arn)
    s3.put_object(Bucket=bucket, Key="photos/cat.jpg", Body=b"meow")
    event = wait_until(lambda: _one(sqs, url), timeout=30, message="the S3 event in the queue")
    assert event["source"] == "aws.s3" and event["detail"]["object"]["key"] == "photos/cat.jpg"
    assert event["detail"]["object"]["size"] == 4
