"""SNS state on a --data-dir survives a clean restart and kill -9: topics with attributes and tags,
subscriptions (confirmed and pending, with filter policies), the mailbox, and accepted messages whose
delivery had not succeeded yet (delivered after the restart: at-least-once)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from serval_harness import make_client, wait_until
from test_sns_http_email import Endpoint


def _mail(server, to):
    with urllib.request.urlopen(f"{server.endpoint}/_serval/mail?to={to}") as r:
        return json.load(r)["messages"]


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_topics_subscriptions_mail_and_pending_deliveries_survive(serval_factory, tmp_path, how):
    endpoint = Endpoint()
    try:
        server = serval_factory(data_dir=tmp_path / "data")
        sns, sqs = make_client(server.endpoint, "sns"), make_client(server.endpoint, "sqs")
        topic = sns.create_topic(Name="keep", Attributes={"DisplayName": "Keep"},
                                 Tags=[{"Key": "k", "Value": "v"}])["TopicArn"]
        fifo = sns.create_topic(Name="keep.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        url = sqs.create_queue(QueueName="target")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        qsub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={
            "FilterPolicy": json.dumps({"keep": ["yes"]}), "RawMessageDelivery": "true"})["SubscriptionArn"]
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="keep@example.com")
        # An HTTP subscription, confirmed, whose endpoint then fails: its message stays pending.
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url, Attributes={
            "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"numRetries": 50, "minDelayTarget": 1,
                                                                 "maxDelayTarget": 1}})})
        wait_until(lambda: endpoint.of_type("SubscriptionConfirmation"), timeout=10)
        with urllib.request.urlopen(json.loads(endpoint.of_type("SubscriptionConfirmation")[0]["body"])[
                "SubscribeURL"]):
            pass
        endpoint.status = 500
        pub = sns.publish(TopicArn=topic, Message="survivor",
                          MessageAttributes={"keep": {"DataType": "String", "StringValue": "yes"}})
        wait_until(lambda: endpoint.of_type("Notification"), timeout=10)

        if how == "kill9":
            server.kill9()
        else:
            server.stop()
        endpoint.status = 200
        seen_before = len(endpoint.of_type("Notification"))
        server.start()
        sns, sqs = make_client(server.endpoint, "sns"), make_client(server.endpoint, "sqs")

        arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        assert sorted(arns) == sorted([topic, fifo])
        a = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
        assert a["DisplayName"] == "Keep" and a["SubscriptionsConfirmed"] == "2"
        assert a["SubscriptionsPending"] == "1"
        assert sns.get_topic_attributes(TopicArn=fifo)["Attributes"]["FifoTopic"] == "true"
        assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "k", "Value": "v"}]
        sa = sns.get_subscription_attributes(SubscriptionArn=qsub)["Attributes"]
        assert json.loads(sa["FilterPolicy"]) == {"keep": ["yes"]} and sa["RawMessageDelivery"] == "true"
        (conf,) = _mail(server, "keep@example.com")
        # The pending HTTP delivery resumes after the restart.
        wait_until(lambda: len(endpoint.of_type("Notification")) > seen_before, timeout=15)
        assert endpoint.of_type("Notification")[-1]["headers"]["x-amz-sns-message-id"] == pub["MessageId"]
        # The queue got its message once (before the crash) and the filter still applies.
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        assert [m["Body"] for m in r["Messages"]] == ["survivor"]
        sns.publish(TopicArn=topic, Message="filtered out")
        sns.publish(TopicArn=topic, Message="after", MessageAttributes={
            "keep": {"DataType": "String", "StringValue": "yes"}})
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, VisibilityTimeout=30)
        assert [m["Body"] for m in r["Messages"]] == ["after"]
        # The confirmation link from before the restart still confirms.
        with urllib.request.urlopen(conf["confirm_url"]):
            pass
        assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"] == "3"
    finally:
        endpoint.close()


def test_accepted_publishes_survive_kill9(serval_factory, tmp_path):
    """Every acknowledged Publish reaches the queue even when Serval is killed right after."""
    server = serval_factory(data_dir=tmp_path / "data")
    sns, sqs = make_client(server.endpoint, "sns"), make_client(server.endpoint, "sqs")
    topic = sns.create_topic(Name="burst")["TopicArn"]
    url = sqs.create_queue(QueueName="burst")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    sent = [f"m{i}" for i in range(200)]
    for body in sent:
        sns.publish(TopicArn=topic, Message=body)
    server.kill9()
    server.start()
    sqs = make_client(server.endpoint, "sqs")
    got: set[str] = set()

    def drain():
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            got.add(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got >= set(sent)

    wait_until(drain, timeout=30, interval=0)
