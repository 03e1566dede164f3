"""SNS delivery to SQS and Lambda: the JSON envelope exactly, raw delivery with message attributes,
filter policies on attributes and on the body, MessageStructure=json, FIFO topics to FIFO queues,
Lambda's SNS event, SNS -> SQS -> Lambda through an event source mapping, subscription dead-letter
queues, and SNS as the target of Lambda's asynchronous-invocation destinations."""

from __future__ import annotations

import base64
import json
import time

import pytest

from serval_harness import Notifier, make_zip, wait_until

RECORDER = """
import json, os, socket
def handler(event, context):
    host, port = os.environ["NOTIFY"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(json.dumps(event).encode())
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
        return resp["FunctionArn"], notifier

    yield make
    for n in made:
        n.close()


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _receive(sqs, url, n=1, timeout=10.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                MessageAttributeNames=["All"], AttributeNames=["All"])
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def _nothing(sqs, url):
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return r.get("Messages", [])


def test_sqs_gets_the_json_envelope(sns, sqs, make_topic, make_queue, serval):
    topic = make_topic()
    url = make_queue()
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, url))["SubscriptionArn"]
    pub = sns.publish(TopicArn=topic, Message="hello", Subject="Greetings", MessageAttributes={
        "color": {"DataType": "String", "StringValue": "red"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "arr": {"DataType": "String.Array", "StringValue": '["a","b"]'},
    })
    (m,) = _receive(sqs, url)
    assert "MessageAttributes" not in m, "attributes travel inside the envelope"
    body = m["Body"]
    doc = json.loads(body)
    assert list(doc) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                         "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes"]
    assert doc["Type"] == "Notification" and doc["MessageId"] == pub["MessageId"]
    assert doc["TopicArn"] == topic and doc["Subject"] == "Greetings" and doc["Message"] == "hello"
    assert doc["SignatureVersion"] == "1" and len(base64.b64decode(doc["Signature"])) == 256
    assert doc["Timestamp"].endswith("Z") and len(doc["Timestamp"]) == 24
    assert doc["SigningCertURL"].startswith(serval.endpoint)
    assert doc["UnsubscribeURL"] == f"{serval.endpoint}/?Action=Unsubscribe&SubscriptionArn={sub}"
    assert doc["MessageAttributes"] == {
        "arr": {"Type": "String.Array", "Value": '["a","b"]'},
        "b": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
        "color": {"Type": "String", "Value": "red"},
        "n": {"Type": "Number", "Value": "42"},
    }
    assert body.startswith('{\n  "Type" : "Notification",\n  "MessageId" : ')
    # No subject, no attributes: both left out.
    sns.publish(TopicArn=topic, Message="plain")
    (m,) = _receive(sqs, url)
    doc = json.loads(m["Body"])
    assert "Subject" not in doc and "MessageAttributes" not in doc
    # The UnsubscribeURL works unsigned.
    import urllib.request
    with urllib.request.urlopen(doc["UnsubscribeURL"]) as r:
        assert r.status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_raw_delivery_carries_message_attributes(sns, sqs, make_topic, make_queue):
    topic = make_topic()
    url = make_queue()
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, url),
                  Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message='{"raw": true}', MessageAttributes={
        "color": {"DataType": "String", "StringValue": "red"},
        "n": {"DataType": "Number", "StringValue": "7"},
        "b": {"DataType": "Binary", "BinaryValue": b"bin"},
    })
    (m,) = _receive(sqs, url)
    assert m["Body"] == '{"raw": true}'
    assert m["MessageAttributes"] == {
        "color": {"StringValue": "red", "DataType": "String"},
        "n": {"StringValue": "7", "DataType": "Number"},
        "b": {"BinaryValue": b"bin", "DataType": "Binary"},
    }


def test_filter_policies_on_attributes(sns, sqs, make_topic, make_queue):
    topic = make_topic()
    urls = {}
    policies = {
        "red": {"color": ["red"]},
        "big": {"price": [{"numeric": [">=", 100]}]},
        "not_red": {"color": [{"anything-but": "red"}]},
        "prefix": {"store": [{"prefix": "eu-"}], "color": [{"exists": True}]},
        "either": {"$or": [{"color": ["blue"]}, {"price": [{"numeric": ["<", 10]}]}]},
    }
    for name, policy in policies.items():
        urls[name] = make_queue(f"-{name}")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, urls[name]),
                      Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"})

    def pub(body, **attrs):
        ma = {}
        for k, v in attrs.items():
            if isinstance(v, (int, float)):
                ma[k] = {"DataType": "Number", "StringValue": str(v)}
            else:
                ma[k] = {"DataType": "String", "StringValue": v}
        sns.publish(TopicArn=topic, Message=body, MessageAttributes=ma)

    pub("m1", color="red", price=150, store="eu-west")
    pub("m2", color="blue", price=5)
    pub("m3", price=50)
    pub("m4", color="green", store="us-east")
    want = {"red": ["m1"], "big": ["m1"], "not_red": ["m2", "m4"], "prefix": ["m1"], "either": ["m2"]}
    for name, bodies in want.items():
        got = sorted(m["Body"] for m in _receive(sqs, urls[name], n=len(bodies)))
        assert got == bodies, name
    time.sleep(0.3)
    for name in want:
        assert _nothing(sqs, urls[name]) == [], name


def test_filter_policies_on_the_body(sns, sqs, make_topic, make_queue):
    topic = make_topic()
    url = make_queue()
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, url), Attributes={
        "FilterPolicyScope": "MessageBody", "RawMessageDelivery": "true",
        "FilterPolicy": json.dumps({"order": {"status": ["paid"], "total": [{"numeric": [">", 100]}]}}),
    })
    good = json.dumps({"order": {"status": "paid", "total": 120}})
    for body in [good, json.dumps({"order": {"status": "paid", "total": 50}}),
                 json.dumps({"order": {"status": "new", "total": 500}}), "not json"]:
        sns.publish(TopicArn=topic, Message=body)
    msgs = _receive(sqs, url)
    assert [m["Body"] for m in msgs] == [good]
    time.sleep(0.3)
    assert _nothing(sqs, url) == []


def test_message_structure_json_picks_the_protocols_message(sns, sqs, make_topic, make_queue, serval):
    topic = make_topic()
    url = make_queue()
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, url))
    addr = "structure@example.com"
    sub = sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=addr,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    import urllib.request
    with urllib.request.urlopen(f"{serval.endpoint}/_serval/mail?to={addr}") as r:
        token = json.load(r)["messages"][0]["token"]
    sns.confirm_subscription(TopicArn=topic, Token=token)
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "sqs": "for queues"}))
    (m,) = _receive(sqs, url)
    assert json.loads(m["Body"])["Message"] == "for queues"

    def mails():
        with urllib.request.urlopen(f"{serval.endpoint}/_serval/mail?to={addr}") as r:
            return [x for x in json.load(r)["messages"] if x["kind"] == "notification"]

    wait_until(mails, timeout=10)
    (mail,) = mails()
    env = json.loads(mail["body"])
    assert env["Message"] == "for everyone" and env["UnsubscribeURL"].endswith(sub)


def test_fifo_topic_to_fifo_queue_keeps_order_and_ids(sns, sqs, make_topic, make_queue):
    topic = make_topic(fifo=True, ContentBasedDeduplication="true")
    url = make_queue(fifo=True)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, url),
                  Attributes={"RawMessageDelivery": "true"})
    seqs = []
    for i in range(10):
        seqs.append(sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId="g")["SequenceNumber"])
    sns.publish(TopicArn=topic, Message="m0", MessageGroupId="g")  # a duplicate: dropped
    assert seqs == sorted(seqs)
    msgs = _receive(sqs, url, n=10)
    assert [m["Body"] for m in msgs] == [f"m{i}" for i in range(10)]
    assert all(m["Attributes"]["MessageGroupId"] == "g" for m in msgs)
    time.sleep(0.3)
    assert _nothing(sqs, url) == []


def test_lambda_gets_the_sns_event(sns, make_topic, recorder):
    topic = make_topic()
    fn, notifier = recorder()
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    pub = sns.publish(TopicArn=topic, Message="to lambda",
                      MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    event = json.loads(notifier.wait(timeout=30))
    (rec,) = event["Records"]
    assert rec["EventSource"] == "aws:sns" and rec["EventVersion"] == "1.0"
    assert rec["EventSubscriptionArn"] == sub
    s = rec["Sns"]
    assert s["Type"] == "Notification" and s["MessageId"] == pub["MessageId"] and s["TopicArn"] == topic
    assert s["Subject"] is None and s["Message"] == "to lambda"
    assert s["SignatureVersion"] == "1" and s["Signature"]
    assert "SigningCertUrl" in s and "UnsubscribeUrl" in s and "SigningCertURL" not in s
    assert s["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert s["Timestamp"].endswith("Z")


def test_sns_to_sqs_to_lambda_end_to_end(lam, sns, sqs, make_topic, make_queue, recorder):
    topic = make_topic()
    url = make_queue()
    qarn = _arn(sqs, url)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    fn, notifier = recorder()
    lam.create_event_source_mapping(EventSourceArn=qarn, FunctionName=fn, BatchSize=10)
    pub = sns.publish(TopicArn=topic, Message="all the way", Subject="e2e")
    wait_until(lambda: notifier.messages, timeout=30, interval=0.1)
    (rec,) = json.loads(notifier.messages[0])["Records"]
    assert rec["eventSource"] == "aws:sqs" and rec["eventSourceARN"] == qarn
    inner = json.loads(rec["body"])
    assert inner["Type"] == "Notification" and inner["MessageId"] == pub["MessageId"]
    assert inner["Message"] == "all the way" and inner["Subject"] == "e2e"


def test_undeliverable_messages_go_to_the_subscription_dlq(sns, sqs, make_topic, make_queue):
    topic = make_topic()
    dlq = make_queue("-dlq")
    target = make_queue("-target")
    target_arn = _arn(sqs, target)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=target_arn, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": _arn(sqs, dlq)})})
    sqs.delete_queue(QueueUrl=target)
    pub = sns.publish(TopicArn=topic, Message="lost", MessageAttributes={
        "why": {"DataType": "String", "StringValue": "deleted queue"}})
    (m,) = _receive(sqs, dlq)
    doc = json.loads(m["Body"])
    assert doc["MessageId"] == pub["MessageId"] and doc["Message"] == "lost"
    assert m["MessageAttributes"]["why"]["StringValue"] == "deleted queue"
    # A function that does not exist: the same.
    fsub = sns.subscribe(TopicArn=topic, Protocol="lambda",
                         Endpoint="arn:aws:lambda:us-east-1:000000000000:function:no-such-function")
    sns.set_subscription_attributes(SubscriptionArn=fsub["SubscriptionArn"], AttributeName="RedrivePolicy",
                                    AttributeValue=json.dumps({"deadLetterTargetArn": _arn(sqs, dlq)}))
    pub2 = sns.publish(TopicArn=topic, Message="no function")
    got = _receive(sqs, dlq, n=2)
    ids = [json.loads(x["Body"])["MessageId"] for x in got]
    assert ids.count(pub2["MessageId"]) == 2, "the queue subscription and the function subscription"


def test_lambda_async_destinations_publish_to_sns(lam, sns, sqs, make_topic, make_queue, recorder):
    topic = make_topic()
    url = make_queue()
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_arn(sqs, url),
                  Attributes={"RawMessageDelivery": "true"})
    fn, _ = recorder()
    lam.put_function_event_invoke_config(FunctionName=fn, DestinationConfig={
        "OnSuccess": {"Destination": topic}})
    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=b'{"hi": 1}')
    (m,) = _receive(sqs, url, timeout=30)
    record = json.loads(m["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"hi": 1}
