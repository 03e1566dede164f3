"""SNS to HTTP endpoints and email: the SubscriptionConfirmation handshake (fetching SubscribeURL
confirms), notifications with SNS's headers, raw delivery over HTTP, retries per the delivery policy
on a time-scaled server, the dead-letter queue after the policy is exhausted, and email through the
local mailbox (`/_serval/mail` and `serval mail`)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import urllib.request

import pytest

from serval_harness import make_client, serval_bin, unique_name, wait_until


class Endpoint:
    """A local HTTP endpoint that records what SNS posts and answers `status` (or each of `script`)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[int] = []
        self.status = 200
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n).decode()
                me.requests.append({"path": self.path, "body": body,
                                    "headers": {k.lower(): v for k, v in self.headers.items()}})
                status = me.script.pop(0) if me.script else me.status
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def of_type(self, t):
        return [r for r in self.requests if r["headers"].get("x-amz-sns-message-type") == t]

    def close(self):
        self.server.shutdown()


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.close()


@pytest.fixture
def fast(serval_factory):
    """A server whose platform time runs 100 times faster (20 s retry delays take 0.2 s)."""
    return serval_factory(extra_args=["--time-scale", "100"])


def _confirm_http(sns, topic, endpoint, **attrs):
    r = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url, Attributes=attrs)
    assert r["SubscriptionArn"] == "pending confirmation"
    wait_until(lambda: endpoint.of_type("SubscriptionConfirmation"), timeout=10)
    conf = endpoint.of_type("SubscriptionConfirmation")[0]
    doc = json.loads(conf["body"])
    with urllib.request.urlopen(doc["SubscribeURL"]) as resp:
        assert resp.status == 200
        assert b"<ConfirmSubscriptionResult><SubscriptionArn>" in resp.read()
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    return sub["SubscriptionArn"], conf, doc


def test_http_confirmation_handshake_and_notifications(serval, sns, make_topic, endpoint):
    topic = make_topic()
    sub, conf, doc = _confirm_http(sns, topic, endpoint)
    assert sub.startswith(topic + ":")
    assert list(doc) == ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
                         "SignatureVersion", "Signature", "SigningCertURL"]
    assert doc["Type"] == "SubscriptionConfirmation" and doc["TopicArn"] == topic
    assert doc["SubscribeURL"].startswith(f"{serval.endpoint}/?Action=ConfirmSubscription&TopicArn={topic}&Token=")
    assert doc["Message"].startswith(f"You have chosen to subscribe to the topic {topic}.")
    h = conf["headers"]
    assert h["x-amz-sns-message-type"] == "SubscriptionConfirmation" and h["x-amz-sns-topic-arn"] == topic
    assert h["x-amz-sns-message-id"] == doc["MessageId"] and "x-amz-sns-subscription-arn" not in h
    assert h["content-type"].startswith("text/plain")
    pub = sns.publish(TopicArn=topic, Message="over http", Subject="S")
    wait_until(lambda: endpoint.of_type("Notification"), timeout=10)
    (note,) = endpoint.of_type("Notification")
    assert note["path"] == "/hook"
    h = note["headers"]
    assert h["x-amz-sns-message-id"] == pub["MessageId"] and h["x-amz-sns-topic-arn"] == topic
    assert h["x-amz-sns-subscription-arn"] == sub
    assert h["user-agent"] == "Amazon Simple Notification Service Agent"
    body = json.loads(note["body"])
    assert body["Type"] == "Notification" and body["Message"] == "over http" and body["Subject"] == "S"
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["PendingConfirmation"] == "false"
    assert json.loads(a["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3


def test_http_raw_delivery(sns, make_topic, endpoint):
    topic = make_topic()
    sub, _, _ = _confirm_http(sns, topic, endpoint, RawMessageDelivery="true")
    sns.publish(TopicArn=topic, Message="just the text")
    wait_until(lambda: endpoint.of_type("Notification"), timeout=10)
    (note,) = endpoint.of_type("Notification")
    assert note["body"] == "just the text"
    assert note["headers"]["x-amz-sns-rawdelivery"] == "true"
    assert note["headers"]["x-amz-sns-subscription-arn"] == sub


def test_http_retries_after_failures(fast, endpoint):
    sns = make_client(fast.endpoint, "sns")
    topic = sns.create_topic(Name=unique_name("retry"))["TopicArn"]
    _confirm_http(sns, topic, endpoint)
    endpoint.script = [500, 503]
    pub = sns.publish(TopicArn=topic, Message="eventually")
    wait_until(lambda: len(endpoint.of_type("Notification")) >= 3, timeout=20)
    notes = endpoint.of_type("Notification")
    assert {n["headers"]["x-amz-sns-message-id"] for n in notes} == {pub["MessageId"]}
    import time
    time.sleep(0.5)
    assert len(endpoint.of_type("Notification")) == 3, "no more attempts after a success"


def test_http_policy_exhausted_goes_to_the_dlq(fast, endpoint):
    sns = make_client(fast.endpoint, "sns")
    sqs = make_client(fast.endpoint, "sqs")
    dlq = sqs.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=unique_name("exhaust"))["TopicArn"]
    sub, _, _ = _confirm_http(sns, topic, endpoint)
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy",
                                    AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}))
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
        {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 5, "maxDelayTarget": 5}}))
    endpoint.status = 500
    pub = sns.publish(TopicArn=topic, Message="never")
    got = []
    wait_until(lambda: got.extend(sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])) or got,
               timeout=20)
    assert json.loads(got[0]["Body"])["MessageId"] == pub["MessageId"]
    assert len(endpoint.of_type("Notification")) == 3, "the first attempt and 2 retries"


def _mail(serval, to):
    with urllib.request.urlopen(f"{serval.endpoint}/_serval/mail?to={to}") as r:
        return json.load(r)["messages"]


def test_email_through_the_local_mailbox(serval, sns, make_topic):
    topic = make_topic(DisplayName="Uploads")
    addr = f"{unique_name('me')}@example.com"
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=addr)
    (conf,) = _mail(serval, addr)
    assert conf["kind"] == "confirmation" and conf["to"] == addr
    assert conf["subject"] == "AWS Notification - Subscription Confirmation"
    assert conf["from"] == "Uploads <no-reply@sns.amazonaws.com>"
    assert conf["confirm_url"] in conf["body"]
    # Not confirmed yet: nothing delivered.
    sns.publish(TopicArn=topic, Message="too early")
    with urllib.request.urlopen(conf["confirm_url"]) as r:
        assert r.status == 200
    sns.publish(TopicArn=topic, Message="A file was uploaded: report.pdf", Subject="New upload")
    wait_until(lambda: len(_mail(serval, addr)) == 2, timeout=10)
    note = _mail(serval, addr)[1]
    assert note["kind"] == "notification" and note["subject"] == "New upload"
    assert note["body"].startswith("A file was uploaded: report.pdf\n")
    assert "Action=Unsubscribe" in note["body"]
    out = subprocess.run([str(serval_bin()), "mail", "--endpoint", serval.endpoint, "--to", addr],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Subject: New upload" in out.stdout and "A file was uploaded: report.pdf" in out.stdout
    out = subprocess.run([str(serval_bin()), "mail", "--endpoint", serval.endpoint, "--to", addr, "--json"],
                         capture_output=True, text=True, timeout=30)
    doc = json.loads(out.stdout)
    assert [m["kind"] for m in doc["messages"]] == ["confirmation", "notification"]
    assert _mail(serval, "nobody-" + addr) == []
