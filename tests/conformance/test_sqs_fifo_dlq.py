"""SQS FIFO queues (group ordering, in-flight groups blocking, deduplication by id and by content,
per-group deduplication scope, sequence numbers) and dead-letter queues (redrive after
maxReceiveCount, DeadLetterQueueSourceArn, StartMessageMoveTask back to the source, listing and
cancelling move tasks)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from serval_harness import wait_until
from sqs_util import queue_arn


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_fifo_group_order_and_in_flight_groups(sqs, make_queue):
    url = make_queue(fifo=True, ContentBasedDeduplication="true")
    for i in range(3):
        for g in ("a", "b"):
            sqs.send_message(QueueUrl=url, MessageBody=f"{g}{i}", MessageGroupId=g)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in first] == ["a0", "a1"]
    assert first[0]["Attributes"]["MessageGroupId"] == "a"
    assert int(first[1]["Attributes"]["SequenceNumber"]) > int(first[0]["Attributes"]["SequenceNumber"])
    # Group a has messages in flight: only b delivers.
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b0", "b1", "b2"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    for m in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    third = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in third] == ["a2"]


def test_fifo_redelivers_in_order_after_visibility_timeout(sqs, make_queue):
    url = make_queue(fifo=True, VisibilityTimeout=1)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId="g", MessageDeduplicationId=f"d{i}")
    (m,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert m["Body"] == "0"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    time.sleep(1.1)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [x["Body"] for x in got] == ["0", "1", "2"]


def test_fifo_deduplication_by_id_and_content(sqs, make_queue):
    url = make_queue(fifo=True)
    a = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="same")
    b = sqs.send_message(QueueUrl=url, MessageBody="y", MessageGroupId="g", MessageDeduplicationId="same")
    assert a["MessageId"] == b["MessageId"]
    assert a["SequenceNumber"] == b["SequenceNumber"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageDeduplicationId"])["Messages"]
    assert [m["Body"] for m in got] == ["x"]
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "same"
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="z", MessageGroupId="g")
    assert code(e.value) == "InvalidParameterValue"
    cbd = make_queue("-cbd", fifo=True, ContentBasedDeduplication="true")
    c1 = sqs.send_message(QueueUrl=cbd, MessageBody="same body", MessageGroupId="g1")
    c2 = sqs.send_message(QueueUrl=cbd, MessageBody="same body", MessageGroupId="g2")
    assert c1["MessageId"] == c2["MessageId"]
    sqs.send_message(QueueUrl=cbd, MessageBody="other body", MessageGroupId="g1")
    a = sqs.get_queue_attributes(QueueUrl=cbd, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "2"


def test_fifo_high_throughput_dedup_per_group(sqs, make_queue):
    url = make_queue(fifo=True, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g1", MessageDeduplicationId="d")
    b = sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="g2", MessageDeduplicationId="d")
    assert a["MessageId"] != b["MessageId"]
    c = sqs.send_message(QueueUrl=url, MessageBody="3", MessageGroupId="g1", MessageDeduplicationId="d")
    assert c["MessageId"] == a["MessageId"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoThroughputLimit"] == "perMessageGroupId"
    with pytest.raises(ClientError):
        make_queue("-bad", fifo=True, DeduplicationScope="queue", FifoThroughputLimit="perMessageGroupId")


def test_fifo_dedup_window_is_five_minutes_of_platform_time(serval_factory):
    from serval_harness import make_client
    server = serval_factory(extra_args=["--time-scale", "600"])
    c = make_client(server.endpoint, "sqs")
    url = c.create_queue(QueueName="dd.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    a = c.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    time.sleep(0.6)  # 360 platform seconds
    b = c.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    assert a["MessageId"] != b["MessageId"]


def test_fifo_parameter_rules(sqs, make_queue, sqs_raw):
    url = make_queue(fifo=True, ContentBasedDeduplication="true")
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert code(e.value) == "MissingParameter"
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", DelaySeconds=5)
    assert code(e.value) == "InvalidParameterValue"
    r = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "1", "MessageBody": "a", "MessageGroupId": "g"},
        {"Id": "2", "MessageBody": "b"}])
    assert [e["Id"] for e in r["Successful"]] == ["1"]
    assert r["Successful"][0]["SequenceNumber"]
    assert r["Failed"][0]["Code"] == "MissingParameter"


def test_dead_letter_redrive_after_max_receive_count(sqs, make_queue):
    dlq = make_queue("-dlq")
    src = make_queue("-src", VisibilityTimeout=0,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 2}))
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison",
                            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    for i in (1, 2):
        (m,) = sqs.receive_message(QueueUrl=src, AttributeNames=["ApproximateReceiveCount"])["Messages"]
        assert m["Attributes"]["ApproximateReceiveCount"] == str(i)
    # The third receive moves it instead of delivering it.
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    (d,) = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    assert d["MessageId"] == sent["MessageId"]
    assert d["Body"] == "poison"
    assert d["MessageAttributes"]["k"]["StringValue"] == "v"
    assert d["Attributes"]["DeadLetterQueueSourceArn"] == queue_arn(src)


def test_fifo_dead_letter_queue(sqs, make_queue):
    dlq = make_queue("-dlq", fifo=True)
    src = make_queue("-src", fifo=True, VisibilityTimeout=0, ContentBasedDeduplication="true",
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 1}))
    sqs.send_message(QueueUrl=src, MessageBody="p", MessageGroupId="g")
    sqs.send_message(QueueUrl=src, MessageBody="q", MessageGroupId="g")
    assert sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"] == "p"
    got = sqs.receive_message(QueueUrl=src)["Messages"]
    assert [m["Body"] for m in got] == ["q"]
    (d,) = sqs.receive_message(QueueUrl=dlq, AttributeNames=["MessageGroupId"])["Messages"]
    assert d["Body"] == "p" and d["Attributes"]["MessageGroupId"] == "g"


def test_message_move_task_back_to_the_source(sqs, make_queue):
    dlq = make_queue("-dlq")
    src = make_queue("-src", VisibilityTimeout=0,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 1}))
    for i in range(3):
        sqs.send_message(QueueUrl=src, MessageBody=f"m{i}")
    for _ in range(3):
        sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10)
    wait_until(lambda: sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"] == "3", timeout=5, message="3 messages in the DLQ")
    with pytest.raises(ClientError):
        sqs.start_message_move_task(SourceArn=queue_arn(src))
    handle = sqs.start_message_move_task(SourceArn=queue_arn(dlq))["TaskHandle"]
    assert handle

    def done():
        r = sqs.list_message_move_tasks(SourceArn=queue_arn(dlq))["Results"]
        return r and r[0]["Status"] == "COMPLETED" and r[0]

    task = wait_until(done, timeout=10, message="the move task to complete")
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    assert task["ApproximateNumberOfMessagesToMove"] == 3
    assert task["SourceArn"] == queue_arn(dlq)
    got = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"],
                              VisibilityTimeout=30)["Messages"]
    assert sorted(m["Body"] for m in got) == ["m0", "m1", "m2"]
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in got)
    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert code(e.value) == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.cancel_message_move_task(TaskHandle="bm90LWEtdGFzaw==")


def test_message_move_task_to_a_destination_with_a_rate_and_cancel(sqs, make_queue):
    dlq = make_queue("-dlq")
    make_queue("-src", RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 1}))
    dest = make_queue("-dest")
    sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)])
    handle = sqs.start_message_move_task(SourceArn=queue_arn(dlq), DestinationArn=queue_arn(dest),
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    with pytest.raises(ClientError):
        sqs.start_message_move_task(SourceArn=queue_arn(dlq))
    (t,) = sqs.list_message_move_tasks(SourceArn=queue_arn(dlq))["Results"]
    assert t["Status"] == "RUNNING" and t["TaskHandle"] == handle and t["MaxNumberOfMessagesPerSecond"] == 1
    assert t["DestinationArn"] == queue_arn(dest)
    time.sleep(1.2)
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved < 10
    (t,) = sqs.list_message_move_tasks(SourceArn=queue_arn(dlq))["Results"]
    assert t["Status"] == "CANCELLED"
