"""SQS with Lambda: event source mappings on queues (Lambda's SQS event shape, deletion of what
succeeded, ReportBatchItemFailures re-delivering only the failed messages until the queue's redrive
policy parks them in the dead-letter queue) and SQS as the target of asynchronous invocations
(a function's DeadLetterConfig and an OnFailure destination)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from serval_harness import Notifier, error_of, make_zip, wait_until

RECORDER = """
import json, os, socket
def handler(event, context):
    host, port = os.environ["NOTIFY"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(json.dumps(event).encode())
    if os.environ.get("MODE") == "report":
        bad = [r["messageId"] for r in event["Records"] if r["body"].startswith("bad")]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}
    if os.environ.get("MODE") == "fail":
        raise Exception("failing on purpose")
    return "ok"
"""


@pytest.fixture
def recorder(create_fn):
    made = []

    def make(mode="", **kwargs):
        notifier = Notifier()
        made.append(notifier)
        resp = create_fn(make_zip({"recorder.py": RECORDER}), handler="recorder.handler",
                         Environment={"Variables": {"NOTIFY": notifier.addr, "MODE": mode}}, **kwargs)
        return resp["FunctionName"], notifier

    yield make
    for n in made:
        n.close()


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _records(notifier):
    return [r for m in list(notifier.messages) for r in json.loads(m)["Records"]]


def _counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def test_sqs_mapping_defaults_and_checks(lam_raw, sqs, make_queue, recorder):
    url = make_queue()
    arn = _arn(sqs, url)
    name, _ = recorder()
    m = lam_raw.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert m["BatchSize"] == 10 and m["MaximumBatchingWindowInSeconds"] == 0
    assert "StartingPosition" not in m and "MaximumRetryAttempts" not in m
    lam_raw.delete_event_source_mapping(UUID=m["UUID"])
    for kwargs in [dict(StartingPosition="LATEST"), dict(BatchSize=11), dict(MaximumRetryAttempts=1)]:
        with pytest.raises(ClientError) as e:
            lam_raw.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, **kwargs)
        assert error_of(e.value)[0] == "InvalidParameterValueException", kwargs
    with pytest.raises(ClientError) as e:
        lam_raw.create_event_source_mapping(EventSourceArn=arn + "-missing", FunctionName=name)
    assert error_of(e.value)[0] == "InvalidParameterValueException"
    fifo = _arn(sqs, make_queue(fifo=True))
    with pytest.raises(ClientError) as e:
        lam_raw.create_event_source_mapping(EventSourceArn=fifo, FunctionName=name, BatchSize=20,
                                            MaximumBatchingWindowInSeconds=1)
    assert error_of(e.value)[0] == "InvalidParameterValueException"


def test_messages_reach_the_function_and_are_deleted(lam, sqs, make_queue, recorder):
    url = make_queue()
    arn = _arn(sqs, url)
    name, notifier = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=5)
    sent = sqs.send_message(QueueUrl=url, MessageBody="hello",
                            MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}})
    wait_until(lambda: _records(notifier), timeout=30, interval=0.1)
    (rec,) = _records(notifier)
    assert rec["messageId"] == sent["MessageId"] and rec["body"] == "hello"
    assert rec["eventSource"] == "aws:sqs" and rec["eventSourceARN"] == arn and rec["awsRegion"] == "us-east-1"
    assert rec["md5OfBody"] == sent["MD5OfMessageBody"]
    assert rec["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert rec["messageAttributes"] == {"color": {"stringValue": "red", "stringListValues": [],
                                                  "binaryListValues": [], "dataType": "String"}}
    assert rec["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(rec["attributes"])
    assert rec["receiptHandle"]
    wait_until(lambda: _counts(sqs, url) == (0, 0), timeout=10, interval=0.1, message="the message deleted")


def test_partial_batch_failure_redelivers_only_the_failed_message_until_the_dlq(lam, sqs, make_queue, recorder):
    dlq = make_queue("-dlq")
    dlq_arn = _arn(sqs, dlq)
    url = make_queue(VisibilityTimeout=2,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    name, notifier = recorder("report")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "good"},
                                                  {"Id": "2", "MessageBody": "bad"}])
    lam.create_event_source_mapping(EventSourceArn=_arn(sqs, url), FunctionName=name, BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_until(lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages"), timeout=30,
               message="the failed message in the dead-letter queue")
    bodies = [r["body"] for r in _records(notifier)]
    assert bodies.count("good") == 1 and bodies.count("bad") == 2
    assert _counts(sqs, url) == (0, 0)


def test_async_failures_go_to_the_dead_letter_queue_and_the_on_failure_destination(lam, sqs, make_queue,
                                                                                   recorder):
    dlq = make_queue("-dlq")
    dest = make_queue("-dest")
    name, _ = recorder("fail", DeadLetterConfig={"TargetArn": _arn(sqs, dlq)})
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": _arn(sqs, dest)}})
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    request_id = resp["ResponseMetadata"]["RequestId"]

    def one(url, **kw):
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, **kw).get("Messages")
        return got[0] if got else None

    dead = wait_until(lambda: one(dlq, MessageAttributeNames=["All"]), timeout=30)
    assert json.loads(dead["Body"]) == {"n": 1}
    attrs = dead["MessageAttributes"]
    assert attrs["RequestID"] == {"StringValue": request_id, "DataType": "String"}
    assert attrs["ErrorCode"]["DataType"] == "Number"
    assert attrs["ErrorMessage"]["StringValue"] == "failing on purpose"
    record = json.loads(wait_until(lambda: one(dest), timeout=30)["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"n": 1}
    assert record["responsePayload"]["errorMessage"] == "failing on purpose"


def test_deleting_the_mapping_stops_the_polling(lam, sqs, make_queue, recorder):
    url = make_queue()
    name, notifier = recorder()
    m = lam.create_event_source_mapping(EventSourceArn=_arn(sqs, url), FunctionName=name)
    lam.delete_event_source_mapping(UUID=m["UUID"])
    time.sleep(1.5)
    sqs.send_message(QueueUrl=url, MessageBody="after")
    time.sleep(1.5)
    assert not notifier.messages
    assert _counts(sqs, url)[0] == 1


def test_failing_async_function_reaches_its_dlq_after_exactly_two_retries(serval_factory):
    """Lambda retries a failing Event invoke twice (about 1 and 2 minutes later) and then sends it to
    the dead-letter queue; with --time-scale 60 those minutes take about 3 seconds."""
    server = serval_factory(extra_args=["--time-scale", "60"])
    lam, sqs = server.client(), server.client("sqs")
    notifier = Notifier()
    try:
        dlq = sqs.create_queue(QueueName="retries-dlq")["QueueUrl"]
        from serval_harness import ROLE, unique_name
        name = unique_name("retries")
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="recorder.handler",
                            Code={"ZipFile": make_zip({"recorder.py": RECORDER})},
                            Environment={"Variables": {"NOTIFY": notifier.addr, "MODE": "fail"}},
                            DeadLetterConfig={"TargetArn": _arn(sqs, dlq)})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
        started = time.monotonic()
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"Records": [{"body": "x"}]}')
        msg = wait_until(lambda: (sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages") or [None])[0],
                         timeout=60, message="the event in the dead-letter queue")
        assert json.loads(msg["Body"]) == {"Records": [{"body": "x"}]}
        assert len(notifier.messages) == 3  # the first attempt and two retries
        assert time.monotonic() - started >= 2.5  # 1 + 2 platform minutes at 60x
    finally:
        notifier.close()


def test_filter_criteria_pass_matching_messages_and_delete_the_rest(lam, lam_raw, sqs, make_queue, recorder):
    url = make_queue()
    arn = _arn(sqs, url)
    name, notifier = recorder()
    with pytest.raises(ClientError) as e:
        lam_raw.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                            FilterCriteria={"Filters": [{"Pattern": '{"body": "not a list"}'}]})
    assert error_of(e.value)[0] == "InvalidParameterValueException"
    m = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})},
                                    {"Pattern": json.dumps({"body": [{"prefix": "plain-keep"}]})}]})
    assert len(m["FilterCriteria"]["Filters"]) == 2
    for body in [json.dumps({"kind": "drop"}), json.dumps({"kind": "keep", "n": 1}), "plain text", "plain-keep me"]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    wait_until(lambda: _counts(sqs, url) == (0, 0), timeout=30, interval=0.1, message="every message consumed")
    time.sleep(0.5)
    assert sorted(r["body"] for r in _records(notifier)) == sorted([json.dumps({"kind": "keep", "n": 1}),
                                                                  "plain-keep me"])
