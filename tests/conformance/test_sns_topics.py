"""SNS topics and subscriptions through boto3 (query protocol): CreateTopic (idempotence, attributes,
FIFO, tags), DeleteTopic, ListTopics paging, Get/SetTopicAttributes, Subscribe/Unsubscribe/
ConfirmSubscription, Get/SetSubscriptionAttributes, ListSubscriptions(ByTopic), tags, permissions,
Publish/PublishBatch checks, and the error codes and messages SNS answers with."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from serval_harness import unique_name


def _err(e: pytest.ExceptionInfo) -> tuple[str, str, int]:
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _client(serval, region="us-east-1", access_key="test"):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "sns", endpoint_url=serval.endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key="test-secret", config=Config(retries={"total_max_attempts": 1}))


def _queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_create_topic_is_idempotent_and_has_default_attributes(sns, make_topic):
    arn = make_topic()
    name = arn.split(":")[-1]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["TopicArn"] == arn and a["Owner"] == "000000000000"
    assert a["DisplayName"] == ""
    assert (a["SubscriptionsConfirmed"], a["SubscriptionsPending"], a["SubscriptionsDeleted"]) == ("0", "0", "0")
    policy = json.loads(a["Policy"])
    assert policy["Version"] == "2008-10-17" and policy["Statement"][0]["Resource"] == arn
    eff = json.loads(a["EffectiveDeliveryPolicy"])
    assert eff["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3
    assert "FifoTopic" not in a


def test_create_topic_with_different_attributes_fails(sns, make_topic):
    arn = make_topic(DisplayName="one")
    name = arn.split(":")[-1]
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "one"})["TopicArn"] == arn
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"DisplayName": "two"})
    assert _err(e) == ("InvalidParameter",
                       "Invalid parameter: Attributes Reason: Topic already exists with different attributes", 400)


@pytest.mark.parametrize("name", ["", "has space", "x" * 257, "dot.ted"])
def test_invalid_topic_names(sns, name):
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name)
    assert _err(e)[:2] == ("InvalidParameter", "Invalid parameter: Topic Name")


def test_fifo_topics(sns, make_topic):
    arn = make_topic(fifo=True, ContentBasedDeduplication="true")
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["FifoTopic"] == "true" and a["ContentBasedDeduplication"] == "true"
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=unique_name("nofifo"), Attributes={"FifoTopic": "true"})
    assert _err(e)[0] == "InvalidParameter" and "must end with .fifo" in _err(e)[1]
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=unique_name("plain"), Attributes={"ContentBasedDeduplication": "true"})
    assert _err(e)[0] == "InvalidParameter"
    # FIFO publish rules.
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="m")
    assert _err(e)[1] == "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    r1 = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g")
    assert len(r1["SequenceNumber"]) == 20
    r2 = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g")
    assert r2["MessageId"] == r1["MessageId"], "content-based deduplication"
    plain = make_topic(fifo=True)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=plain, Message="m", MessageGroupId="g")
    assert "ContentBasedDeduplication" in _err(e)[1]
    r3 = sns.publish(TopicArn=plain, Message="m", MessageGroupId="g", MessageDeduplicationId="d")
    r4 = sns.publish(TopicArn=plain, Message="other", MessageGroupId="g", MessageDeduplicationId="d")
    assert r3["MessageId"] == r4["MessageId"]
    assert int(r3["SequenceNumber"]) > int(r1["SequenceNumber"])
    std = make_topic()
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=std, Message="m", MessageGroupId="g")
    assert _err(e)[0] == "InvalidParameter"
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="a@example.com")
    assert _err(e)[0] == "InvalidParameter"


def test_list_topics_pages_and_isolates_accounts_and_regions(serval, sns):
    other_region = _client(serval, region="eu-west-1")
    other_account = _client(serval, access_key="111122223333")
    prefix = unique_name("page")
    arns = [sns.create_topic(Name=f"{prefix}-{i:03d}")["TopicArn"] for i in range(105)]
    try:
        seen, token = [], None
        while True:
            page = sns.list_topics(**({"NextToken": token} if token else {}))
            seen += [t["TopicArn"] for t in page["Topics"]]
            token = page.get("NextToken")
            if not token:
                break
        assert set(arns) <= set(seen) and len(seen) == len(set(seen))
        assert not [t for t in other_region.list_topics()["Topics"] if prefix in t["TopicArn"]]
        assert not [t for t in other_account.list_topics()["Topics"] if prefix in t["TopicArn"]]
        with pytest.raises(ClientError) as e:
            other_account.get_topic_attributes(TopicArn=arns[0])
        assert _err(e)[0] == "AuthorizationError" and _err(e)[2] == 403
        with pytest.raises(ClientError) as e:
            other_region.get_topic_attributes(TopicArn=arns[0])
        assert _err(e)[0] == "InvalidParameter"
    finally:
        for a in arns:
            sns.delete_topic(TopicArn=a)


def test_set_topic_attributes(sns, make_topic):
    arn = make_topic()
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="My Topic")
    policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 2}}}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy))
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["DisplayName"] == "My Topic"
    assert json.loads(a["DeliveryPolicy"]) == policy
    eff = json.loads(a["EffectiveDeliveryPolicy"])
    assert eff["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 5
    assert eff["http"]["defaultHealthyRetryPolicy"]["backoffFunction"] == "linear"
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Bogus", AttributeValue="x")
    assert _err(e)[:2] == ("InvalidParameter", "Invalid parameter: AttributeName")
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue="{nope")
    assert _err(e)[0] == "InvalidParameter"
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn + "-gone", AttributeName="DisplayName", AttributeValue="x")
    assert _err(e) == ("NotFound", "Topic does not exist", 404)


def test_delete_topic_removes_subscriptions_and_is_idempotent(sns, sqs, make_topic, make_queue):
    arn = make_topic()
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=_queue_arn(sqs, make_queue()))["SubscriptionArn"]
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert _err(e)[:2] == ("NotFound", "Subscription does not exist")
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="x")
    assert _err(e) == ("NotFound", "Topic does not exist", 404)


def test_tags(sns, make_topic):
    arn = make_topic(tags={"env": "dev"})
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "prod"}])
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "prod", "team": "a"}
    sns.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(ClientError) as e:
        sns.list_tags_for_resource(ResourceArn=arn + "-gone")
    assert _err(e)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert _err(e)[0] == "TagLimitExceeded"
    name = arn.split(":")[-1]
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Tags=[{"Key": "other", "Value": "x"}])
    assert _err(e)[0] == "InvalidParameter"


def test_permissions_are_recorded(serval, sns, make_topic):
    arn = make_topic()
    other = _client(serval, access_key="111122223333")
    with pytest.raises(ClientError) as e:
        other.publish(TopicArn=arn, Message="x")
    assert _err(e)[0] == "AuthorizationError"
    sns.add_permission(TopicArn=arn, Label="p1", AWSAccountId=["111122223333"], ActionName=["Publish"])
    assert other.publish(TopicArn=arn, Message="x")["MessageId"]
    with pytest.raises(ClientError) as e:
        sns.add_permission(TopicArn=arn, Label="p1", AWSAccountId=["111122223333"], ActionName=["Publish"])
    assert _err(e)[0] == "InvalidParameter"
    sns.remove_permission(TopicArn=arn, Label="p1")
    with pytest.raises(ClientError) as e:
        sns.remove_permission(TopicArn=arn, Label="p1")
    assert _err(e)[0] == "InvalidParameter"


def test_subscribe_sqs_and_lambda_are_confirmed_at_once(sns, sqs, make_topic, make_queue):
    arn = make_topic()
    qarn = _queue_arn(sqs, make_queue())
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    # Same endpoint again: the same subscription.
    assert sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"] == sub
    fn = "arn:aws:lambda:us-east-1:000000000000:function:whatever"
    lsub = sns.subscribe(TopicArn=arn, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["Protocol"] == "sqs" and a["Endpoint"] == qarn and a["TopicArn"] == arn
    assert a["PendingConfirmation"] == "false" and a["RawMessageDelivery"] == "false"
    assert a["Owner"] == "000000000000" and a["SubscriptionArn"] == sub
    t = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert t["SubscriptionsConfirmed"] == "2"
    by_topic = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sorted(s["SubscriptionArn"] for s in by_topic) == sorted([sub, lsub])
    assert {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]} >= {sub, lsub}
    sns.unsubscribe(SubscriptionArn=lsub)
    sns.unsubscribe(SubscriptionArn=lsub)
    t = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (t["SubscriptionsConfirmed"], t["SubscriptionsDeleted"]) == ("1", "1")
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    assert _err(e)[1] == "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"


@pytest.mark.parametrize("protocol,endpoint,message", [
    ("sqs", "not-an-arn", "Invalid parameter: SQS endpoint ARN"),
    ("lambda", "arn:aws:sqs:us-east-1:000000000000:q", "Invalid parameter: Lambda endpoint ARN"),
    ("http", "https://example.com", "Invalid parameter: Endpoint must match the specified protocol"),
    ("email", "nobody", "Invalid parameter: Email address"),
    ("carrier-pigeon", "x", "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"),
])
def test_subscribe_checks_endpoints(sns, make_topic, protocol, endpoint, message):
    arn = make_topic()
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=endpoint)
    assert _err(e) == ("InvalidParameter", message, 400)


def test_subscription_attributes(sns, sqs, make_topic, make_queue):
    arn = make_topic()
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=_queue_arn(sqs, make_queue()),
                        Attributes={"RawMessageDelivery": "true",
                                    "FilterPolicy": json.dumps({"a": ["b"]})})["SubscriptionArn"]
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["RawMessageDelivery"] == "true" and json.loads(a["FilterPolicy"]) == {"a": ["b"]}
    assert a["FilterPolicyScope"] == "MessageAttributes"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope",
                                    AttributeValue="MessageBody")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"o": {"k": ["v"]}}))
    dlq = "arn:aws:sqs:us-east-1:000000000000:some-dlq"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy",
                                    AttributeValue=json.dumps({"deadLetterTargetArn": dlq}))
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["FilterPolicyScope"] == "MessageBody"
    assert json.loads(a["RedrivePolicy"]) == {"deadLetterTargetArn": dlq}
    cases = [
        ("FilterPolicyScope", "MessageAttributes",
         "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"),
        ("FilterPolicyScope", "Nope", None),
        ("FilterPolicy", json.dumps({"a": [{"prefix": 1}]}),
         "Invalid parameter: FilterPolicy: prefix match pattern must be a string"),
        ("FilterPolicy", json.dumps({"a": [{"bogus": 1}]}),
         "Invalid parameter: FilterPolicy: Unrecognized match type bogus"),
        ("FilterPolicy", json.dumps({k: ["x"] for k in "abcdef"}),
         "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"),
        ("RawMessageDelivery", "maybe", None),
        ("RedrivePolicy", "{}", None),
        ("Bogus", "x", "Invalid parameter: AttributeName"),
    ]
    for name, value, message in cases:
        with pytest.raises(ClientError) as e:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
        code, msg, status = _err(e)
        assert code == "InvalidParameter" and status == 400, (name, value, msg)
        if message:
            assert msg == message, (name, value)
    lsub = sns.subscribe(TopicArn=arn, Protocol="lambda",
                         Endpoint="arn:aws:lambda:us-east-1:000000000000:function:f")["SubscriptionArn"]
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=lsub, AttributeName="RawMessageDelivery",
                                        AttributeValue="true")
    assert "does not support raw message delivery" in _err(e)[1]
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=arn + ":00000000-0000-0000-0000-000000000000")
    assert _err(e) == ("NotFound", "Subscription does not exist", 404)
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn="garbage")
    assert _err(e)[0] == "InvalidParameter"


def test_email_subscription_is_pending_until_confirmed(sns, make_topic, serval):
    import urllib.request

    arn = make_topic()
    addr = f"{unique_name('user')}@example.com"
    assert sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=addr)["SubscriptionArn"] == "pending confirmation"
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == ["PendingConfirmation"]
    t = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert t["SubscriptionsPending"] == "1"
    full = sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=addr, ReturnSubscriptionArn=True)
    assert full["SubscriptionArn"].startswith(arn + ":")
    assert sns.get_subscription_attributes(SubscriptionArn=full["SubscriptionArn"])["Attributes"][
        "PendingConfirmation"] == "true"
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=arn, Token="bogus")
    assert _err(e) == ("InvalidParameter", "Invalid parameter: Invalid token", 400)
    with urllib.request.urlopen(f"{serval.endpoint}/_serval/mail?to={addr}") as r:
        (mail,) = json.load(r)["messages"]
    confirmed = sns.confirm_subscription(TopicArn=arn, Token=mail["token"])
    assert confirmed["SubscriptionArn"] == full["SubscriptionArn"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1"


def test_publish_checks(sns_raw, make_topic):
    sns = sns_raw
    arn = make_topic()
    cases = [
        (dict(TopicArn=arn, Message=""), "InvalidParameter", "Invalid parameter: Empty message"),
        (dict(Message="x"), "InvalidParameter",
         "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"),
        (dict(TopicArn=arn, Message="x" * 262_145), "InvalidParameter", "Invalid parameter: Message too long"),
        (dict(TopicArn=arn, Message="x", Subject="a\nb"), "InvalidParameter", "Invalid parameter: Subject"),
        (dict(TopicArn=arn, Message="x", MessageStructure="json"), "InvalidParameter",
         "Invalid parameter: Message Structure - JSON message body failed to parse"),
        (dict(TopicArn=arn, Message='{"sqs":"x"}', MessageStructure="json"), "InvalidParameter",
         "Invalid parameter: Message Structure - No default entry in JSON message body"),
        (dict(TopicArn=arn, Message="x", MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}}),
         "ParameterValueInvalid", "Could not cast message attribute 'n' value to number."),
        (dict(TopicArn=arn, Message="x", MessageAttributes={"n": {"DataType": "Date", "StringValue": "1"}}),
         "ParameterValueInvalid",
         "The message attribute 'n' has an invalid message attribute type, the set of supported type prefixes is "
         "Binary, Number, and String."),
        (dict(TopicArn=arn, Message="x", MessageAttributes={"s": {"DataType": "String", "StringValue": ""}}),
         "ParameterValueInvalid",
         "The message attribute 's' must contain non-empty message attribute value for message attribute type "
         "'String'."),
        (dict(TopicArn=arn + "-gone", Message="x"), "NotFound", "Topic does not exist"),
        (dict(TopicArn="not-an-arn", Message="x"), "InvalidParameter", "Invalid parameter: TopicArn"),
    ]
    for kwargs, code, message in cases:
        with pytest.raises(ClientError) as e:
            sns.publish(**kwargs)
        assert _err(e)[:2] == (code, message), kwargs
    ok = sns.publish(TargetArn=arn, Message="via target", Subject="Hello there")
    assert ok["MessageId"] and "SequenceNumber" not in ok
    assert sns.publish(PhoneNumber="+15555550100", Message="sms")["MessageId"]


def test_publish_batch(sns_raw, make_topic):
    sns = sns_raw
    arn = make_topic()
    r = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "ok1", "Message": "a"},
        {"Id": "bad", "Message": ""},
        {"Id": "ok2", "Message": "b", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
    ])
    assert sorted(s["Id"] for s in r["Successful"]) == ["ok1", "ok2"]
    assert r["Failed"] == [{"Id": "bad", "Code": "InvalidParameter", "Message": "Invalid parameter: Empty message",
                            "SenderFault": True}]
    cases = [
        ([], "EmptyBatchRequest"),
        ([{"Id": str(i), "Message": "m"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}], "BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id!", "Message": "m"}], "InvalidBatchEntryId"),
        ([{"Id": str(i), "Message": "x" * 30_000} for i in range(10)], "BatchRequestTooLong"),
    ]
    for entries, code in cases:
        with pytest.raises(ClientError) as e:
            sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
        assert _err(e)[0] == code, code
    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=arn + "-gone", PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}])
    assert _err(e)[0] == "NotFound"
    fifo = make_topic(fifo=True)
    r = sns.publish_batch(TopicArn=fifo, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
        {"Id": "b", "Message": "m"},
    ])
    assert [s["Id"] for s in r["Successful"]] == ["a"] and r["Successful"][0]["SequenceNumber"]
    assert [f["Id"] for f in r["Failed"]] == ["b"]


def test_data_protection_policy(sns, make_topic):
    arn = make_topic()
    assert "DataProtectionPolicy" not in sns.get_data_protection_policy(ResourceArn=arn)
    doc = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=doc)
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == doc


def test_unknown_action_and_unsigned_requests(serval):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{serval.endpoint}/?Action=ListTopics")
    assert e.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{serval.endpoint}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:"
                               f"000000000000:{unique_name('none')}&Token=x")
    assert e.value.code == 404 and b"<Code>NotFound</Code>" in e.value.read()
