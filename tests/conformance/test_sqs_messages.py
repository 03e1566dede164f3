"""SQS messages over the JSON protocol with boto3: send/receive/delete, the MD5 digests the SDKs
verify (body, message attributes, system attributes), attribute selection, visibility timeouts
and receipt handles, long polling woken by a send, delays, batches and their errors, limits."""

from __future__ import annotations

import base64
import threading
import time

import pytest
from botocore.exceptions import ClientError

from sqs_util import md5_hex, md5_of_attributes


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


ATTRS = {
    "str": {"DataType": "String", "StringValue": "héllo"},
    "num": {"DataType": "Number", "StringValue": "-12.5"},
    "bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    "custom": {"DataType": "String.custom", "StringValue": "label"},
}


def test_send_receive_delete_with_md5s(sqs, make_queue):
    url = make_queue()
    body = "hello ✓ wörld"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=ATTRS,
                            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(ATTRS)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    assert "SequenceNumber" not in sent
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
    (m,) = got["Messages"]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == body
    assert m["MD5OfBody"] == md5_hex(body)
    assert m["MessageAttributes"] == ATTRS
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(ATTRS)
    a = m["Attributes"]
    assert a["ApproximateReceiveCount"] == "1"
    assert a["SenderId"] == "test"
    assert a["AWSTraceHeader"] == "Root=1-abc"
    assert int(a["ApproximateFirstReceiveTimestamp"]) >= int(a["SentTimestamp"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_attribute_selection_and_md5_of_the_returned_subset(sqs, make_queue):
    url = make_queue()
    attrs = {"a.one": {"DataType": "String", "StringValue": "1"}, "a.two": {"DataType": "String", "StringValue": "2"},
             "b": {"DataType": "Number", "StringValue": "3"}}
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs)
    (m,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["a.*"], AttributeNames=["SentTimestamp"],
                               VisibilityTimeout=0)["Messages"]
    want = {k: v for k, v in attrs.items() if k.startswith("a.")}
    assert m["MessageAttributes"] == want
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(want)
    assert list(m["Attributes"]) == ["SentTimestamp"]
    (m,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["b"], VisibilityTimeout=0)["Messages"]
    assert m["MessageAttributes"] == {"b": attrs["b"]}
    (m,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert "MessageAttributes" not in m and "Attributes" not in m and "MD5OfMessageAttributes" not in m


def test_visibility_timeout_receipt_handles_and_receive_count(sqs, make_queue):
    url = make_queue(VisibilityTimeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="v")
    (m1,) = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")
    time.sleep(1.2)
    (m2,) = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert m2["MessageId"] == m1["MessageId"]
    assert m2["ReceiptHandle"] != m1["ReceiptHandle"]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"
    # The old handle deletes nothing (only the latest receive's handle does).
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m1["ReceiptHandle"])
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m1["ReceiptHandle"], VisibilityTimeout=10)
    assert code(e.value) == "InvalidParameterValue"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"], VisibilityTimeout=0)
    (m3,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m3["ReceiptHandle"])
    # Deleting twice is fine.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m3["ReceiptHandle"])


def test_invalid_receipt_handle_and_message_not_inflight(sqs, make_queue):
    url = make_queue()
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as e:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert code(e.value) == "ReceiptHandleIsInvalid"
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="xyz", VisibilityTimeout=5)
    other = make_queue("-other")
    sqs.send_message(QueueUrl=other, MessageBody="o")
    (m,) = sqs.receive_message(QueueUrl=other, VisibilityTimeout=1)["Messages"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    time.sleep(1.1)
    # Its visibility expired: it is no longer in flight.
    with pytest.raises(sqs.exceptions.MessageNotInflight) as e:
        sqs.change_message_visibility(QueueUrl=other, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=5)
    assert code(e.value) == "AWS.SimpleQueueService.MessageNotInflight"


def test_long_poll_wakes_on_send(sqs, make_queue):
    url = make_queue()
    out = {}

    def poll():
        t = time.monotonic()
        out["resp"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        out["took"] = time.monotonic() - t

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=url, MessageBody="wake")
    th.join(15)
    assert out["resp"]["Messages"][0]["Body"] == "wake"
    assert 0.4 < out["took"] < 3


def test_long_poll_times_out_empty_and_queue_default_wait(sqs, make_queue):
    url = make_queue(ReceiveMessageWaitTimeSeconds=1)
    t = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert 0.9 < time.monotonic() - t < 3
    t = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - t < 0.5


def test_delay_per_message_and_per_queue(sqs, make_queue):
    url = make_queue(DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert a["ApproximateNumberOfMessagesDelayed"] == "1"
    (m,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert m["Body"] == "no-delay"
    # A long poll wakes when the delay ends.
    t = time.monotonic()
    (m,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert m["Body"] == "queue-delay"
    assert time.monotonic() - t < 2
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)
    assert code(e.value) == "InvalidParameterValue"


def test_receive_parameter_ranges(sqs, make_queue):
    url = make_queue()
    for kwargs in ({"MaxNumberOfMessages": 11}, {"MaxNumberOfMessages": 0}, {"WaitTimeSeconds": 21},
                   {"VisibilityTimeout": 43201}):
        with pytest.raises(ClientError) as e:
            sqs.receive_message(QueueUrl=url, **kwargs)
        assert code(e.value) == "InvalidParameterValue", kwargs


def test_max_number_of_messages(sqs, make_queue):
    url = make_queue()
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    assert len({m["MessageId"] for m in got}) == 10


def test_message_limits_and_contents(sqs, make_queue, sqs_raw):
    url = make_queue()
    sqs.send_message(QueueUrl=url, MessageBody="x" * 262_144)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 262_145)
    assert code(e.value) == "InvalidParameterValue"
    small = make_queue("-small", MaximumMessageSize=1024)
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=small, MessageBody="x" * 1000,
                         MessageAttributes={"a": {"DataType": "String", "StringValue": "y" * 100}})
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x01 char")
    assert code(e.value) == "InvalidMessageContents"
    with pytest.raises(ClientError) as e:
        sqs_raw.send_message(QueueUrl=url, MessageBody="")
    assert code(e.value) == "MissingParameter"
    too_many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=too_many)
    assert code(e.value) == "InvalidParameterValue"
    for bad in ({"DataType": "Number", "StringValue": "abc"}, {"DataType": "Weird", "StringValue": "v"},
                {"DataType": "String", "StringValue": ""}):
        with pytest.raises(ClientError) as e:
            sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"a": bad})
        assert code(e.value) == "InvalidParameterValue", bad
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"AWS.reserved": ATTRS["str"]})
    assert code(e.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert code(e.value) == "InvalidParameterValue"


def test_send_batch_success_and_per_entry_failures(sqs, make_queue):
    url = make_queue()
    r = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok1", "MessageBody": "one", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "bad", "MessageBody": "two", "DelaySeconds": 901},
        {"Id": "ok2", "MessageBody": "three", "DelaySeconds": 0},
    ])
    ok = {e["Id"]: e for e in r["Successful"]}
    assert set(ok) == {"ok1", "ok2"}
    assert ok["ok1"]["MD5OfMessageBody"] == md5_hex("one")
    assert ok["ok1"]["MD5OfMessageAttributes"] == md5_of_attributes({"k": {"DataType": "String", "StringValue": "v"}})
    (f,) = r["Failed"]
    assert f["Id"] == "bad" and f["SenderFault"] is True and f["Code"] == "InvalidParameterValue"


def test_batch_request_errors(sqs, make_queue, sqs_raw):
    url = make_queue()
    with pytest.raises(sqs_raw.exceptions.EmptyBatchRequest) as e:
        sqs_raw.send_message_batch(QueueUrl=url, Entries=[])
    assert code(e.value) == "AWS.SimpleQueueService.EmptyBatchRequest"
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    with pytest.raises(sqs.exceptions.InvalidBatchEntryId):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a.b", "MessageBody": "x"}])
    with pytest.raises(sqs.exceptions.BatchRequestTooLong):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x" * 30_000} for i in range(10)])
    with pytest.raises(sqs_raw.exceptions.EmptyBatchRequest):
        sqs_raw.delete_message_batch(QueueUrl=url, Entries=[])
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": "h", "VisibilityTimeout": 1} for i in range(11)])


def test_delete_and_visibility_batches(sqs, make_queue):
    url = make_queue()
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 3
    r = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])
    assert [e["Id"] for e in r["Successful"]] == ["a"]
    assert r["Failed"][0]["Id"] == "b" and r["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    again = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert again["MessageId"] == msgs[0]["MessageId"]
    r = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "x", "ReceiptHandle": again["ReceiptHandle"]},
        {"Id": "y", "ReceiptHandle": msgs[1]["ReceiptHandle"]},
        {"Id": "z", "ReceiptHandle": "garbage"}])
    assert sorted(e["Id"] for e in r["Successful"]) == ["x", "y"]
    assert r["Failed"][0]["Id"] == "z" and r["Failed"][0]["SenderFault"] is True
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]) == 1


def test_retention_period_expires_messages(sqs, serval_factory):
    server = serval_factory(extra_args=["--time-scale", "120"])
    from serval_harness import make_client
    c = make_client(server.endpoint, "sqs")
    url = c.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    c.send_message(QueueUrl=url, MessageBody="soon gone")
    time.sleep(0.8)  # 96 platform seconds
    assert "Messages" not in c.receive_message(QueueUrl=url)
    a = c.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "0"


def test_time_scale_makes_a_60s_visibility_timeout_expire_fast(serval_factory):
    server = serval_factory(extra_args=["--time-scale", "100"])
    from serval_harness import make_client
    c = make_client(server.endpoint, "sqs")
    url = c.create_queue(QueueName="scaled", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    c.send_message(QueueUrl=url, MessageBody="again")
    first = c.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in c.receive_message(QueueUrl=url)
    t = time.monotonic()
    # 60 platform seconds are 0.6 real seconds; a long poll wakes when the message is visible again.
    again = c.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert time.monotonic() - t < 2
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    # PurgeQueue's 60 s also runs on platform time.
    c.purge_queue(QueueUrl=url)
    time.sleep(0.7)
    c.purge_queue(QueueUrl=url)


def test_binary_attribute_round_trip(sqs, make_queue):
    url = make_queue()
    blob = bytes(range(256))
    sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes={"blob": {"DataType": "Binary", "BinaryValue": blob}})
    (m,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert m["MessageAttributes"]["blob"]["BinaryValue"] == blob
    assert base64.b64encode(blob)
