"""SQS state on a --data-dir survives a clean restart and kill -9: queues with their attributes and
tags, every acknowledged SendMessage (also under concurrent senders), deletes, receive counts and
in-flight visibility, delayed messages, and FIFO order and deduplication ids."""

from __future__ import annotations

import json
import threading
import time

import pytest

from serval_harness import make_client


def _client(server):
    return make_client(server.endpoint, "sqs")


def _count(c, url, attr="ApproximateNumberOfMessages"):
    return int(c.get_queue_attributes(QueueUrl=url, AttributeNames=[attr])["Attributes"][attr])


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_queues_and_messages_survive(serval_factory, tmp_path, how):
    server = serval_factory(data_dir=tmp_path / "data")
    c = _client(server)
    dlq = c.create_queue(QueueName="dlq")["QueueUrl"]
    url = c.create_queue(QueueName="work", Attributes={
        "VisibilityTimeout": "600",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq",
                                     "maxReceiveCount": 5})}, tags={"keep": "me"})["QueueUrl"]
    for i in range(20):
        c.send_message(QueueUrl=url, MessageBody=f"m{i}",
                       MessageAttributes={"i": {"DataType": "Number", "StringValue": str(i)}})
    c.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"b{i}"} for i in range(10)])
    inflight = c.receive_message(QueueUrl=url, MaxNumberOfMessages=5)["Messages"]
    c.delete_message(QueueUrl=url, ReceiptHandle=inflight[0]["ReceiptHandle"])
    c.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=900)
    fifo = c.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    first = c.send_message(QueueUrl=fifo, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="d1")
    c.send_message(QueueUrl=fifo, MessageBody="f2", MessageGroupId="g", MessageDeduplicationId="d2")
    time.sleep(0.1)  # let the detached receive-state writes land

    if how == "kill9":
        server.kill9()
    else:
        server.stop()
    server.start()
    c = _client(server)

    assert sorted(c.list_queues()["QueueUrls"]) == sorted([dlq, url, fifo])
    assert c.list_queue_tags(QueueUrl=url)["Tags"] == {"keep": "me"}
    a = c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert a["VisibilityTimeout"] == "600"
    assert json.loads(a["RedrivePolicy"])["maxReceiveCount"] == 5
    # 30 sent, 1 deleted, 4 in flight, 1 delayed
    assert int(a["ApproximateNumberOfMessages"]) == 25
    assert int(a["ApproximateNumberOfMessagesNotVisible"]) == 4
    assert int(a["ApproximateNumberOfMessagesDelayed"]) == 1
    # Handles of in-flight messages still work after the restart.
    c.delete_message(QueueUrl=url, ReceiptHandle=inflight[1]["ReceiptHandle"])
    assert _count(c, url, "ApproximateNumberOfMessagesNotVisible") == 3
    got = []
    while True:
        r = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if "Messages" not in r:
            break
        got += r["Messages"]
    assert len(got) == 25
    assert all("i" in m["MessageAttributes"] for m in got if m["Body"].startswith("m"))
    # FIFO: order kept, the dedup id still remembered.
    again = c.send_message(QueueUrl=fifo, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="d1")
    assert again["MessageId"] == first["MessageId"]
    fm = c.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in fm] == ["f1", "f2"]


def test_acknowledged_sends_survive_kill9_under_load(serval_factory, tmp_path):
    server = serval_factory(data_dir=tmp_path / "data")
    c = _client(server)
    url = c.create_queue(QueueName="load")["QueueUrl"]
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(n):
        cl = _client(server)
        i = 0
        while not stop.is_set():
            try:
                r = cl.send_message(QueueUrl=url, MessageBody=f"{n}-{i}")
            except Exception:
                return
            with lock:
                acked.append(r["MessageId"])
            i += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    # kill once enough sends are acknowledged (a loaded machine may need more than a second)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 200:
                break
        time.sleep(0.05)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) > 50, f"only {len(acked)} sends acknowledged before the kill"
    server.start()
    c = _client(server)
    seen = set()
    while True:
        r = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
        if "Messages" not in r:
            break
        seen.update(m["MessageId"] for m in r["Messages"])
    missing = set(acked) - seen
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged sends lost ({len(seen)} received)"


def test_ephemeral_keeps_nothing(serval_factory):
    server = serval_factory()
    c = _client(server)
    c.create_queue(QueueName="gone")
    server.stop()
    server.start()
    assert "QueueUrls" not in _client(server).list_queues()
