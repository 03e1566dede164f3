"""SQS queue operations over the JSON protocol with boto3: create (idempotent, name rules,
attribute checks), URLs, listing and paging, attributes and their defaults, purge, tags,
permissions, dead-letter source listing, account and region isolation, and the error codes
boto3 users see (legacy query codes in Error.Code, modeled exception classes)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from serval_harness import ACCOUNT, REGION, make_client, unique_name
from sqs_util import queue_arn


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_create_queue_url_forms_and_defaults(sqs, make_queue, serval):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    assert url == f"http://sqs.{REGION}.localhost:{serval.port}/{ACCOUNT}/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MessageRetentionPeriod"] == "345600"
    assert attrs["MaximumMessageSize"] == "262144"
    assert attrs["DelaySeconds"] == "0"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "0"
    assert attrs["SqsManagedSseEnabled"] == "true"
    assert attrs["QueueArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"):
        assert attrs[k] == "0"
    assert int(attrs["CreatedTimestamp"]) > 1_600_000_000
    assert "FifoQueue" not in attrs
    # Only what was asked for; nothing when nothing was asked for.
    one = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert one == {"VisibilityTimeout": "30"}
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)


def test_queue_url_accepted_in_every_form(sqs, make_queue, serval):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    for form in (
        f"http://localhost:{serval.port}/{ACCOUNT}/{name}",
        f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
        f"http://sqs.{REGION}.localhost/{ACCOUNT}/{name}",
        name,
    ):
        attrs = sqs.get_queue_attributes(QueueUrl=form, AttributeNames=["ApproximateNumberOfMessages"])
        assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1", form


def test_path_style_urls_flag(serval_factory):
    server = serval_factory(extra_args=["--sqs-queue-url", "path"])
    c = make_client(server.endpoint, "sqs")
    url = c.create_queue(QueueName="pathy")["QueueUrl"]
    assert url == f"http://localhost:{server.port}/{ACCOUNT}/pathy"
    assert c.list_queues()["QueueUrls"] == [url]


def test_create_is_idempotent_and_conflicts_on_different_attributes(sqs, make_queue):
    url = make_queue(VisibilityTimeout=45)
    name = url.rsplit("/", 1)[1]
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueNameExists) as e:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "46"})
    assert code(e.value) == "QueueAlreadyExists"
    assert e.value.response["Error"]["QueryErrorCode"] == "QueueNameExists"


@pytest.mark.parametrize("name", ["", "a" * 81, "has space", "dot.ted", "x.fifo", "slash/y"])
def test_bad_queue_names(sqs, name):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name)
    assert code(e.value) in ("InvalidParameterValue", "MissingParameter")


def test_fifo_name_rules(sqs, make_queue):
    url = make_queue(fifo=True)
    assert url.endswith(".fifo")
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique_name("nofifo"), Attributes={"FifoQueue": "true"})
    assert code(e.value) == "InvalidParameterValue"
    name80 = unique_name("f")[:75] + ".fifo"
    assert len(name80) <= 80
    u = sqs.create_queue(QueueName=name80, Attributes={"FifoQueue": "true"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    assert attrs["DeduplicationScope"] == "queue"
    assert attrs["FifoThroughputLimit"] == "perQueue"
    sqs.delete_queue(QueueUrl=u)


def test_attribute_validation(sqs, make_queue):
    url = make_queue()
    for attrs in ({"VisibilityTimeout": "43201"}, {"DelaySeconds": "901"}, {"MessageRetentionPeriod": "59"},
                  {"MaximumMessageSize": "1023"}, {"ReceiveMessageWaitTimeSeconds": "21"}):
        with pytest.raises(ClientError) as e:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        assert code(e.value) == "InvalidAttributeValue", attrs
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Bogus": "1"})
    assert code(e.value) == "InvalidAttributeName"
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"})
    assert code(e.value) == "InvalidAttributeName"
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"])
    assert code(e.value) == "InvalidAttributeName"


def test_set_attributes_and_last_modified(sqs, make_queue):
    url = make_queue()
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5", "DelaySeconds": "3",
                                                       "Policy": policy, "MaximumMessageSize": "1024"})
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (a["VisibilityTimeout"], a["DelaySeconds"], a["MaximumMessageSize"]) == ("5", "3", "1024")
    assert json.loads(a["Policy"]) == json.loads(policy)
    assert int(a["LastModifiedTimestamp"]) >= int(a["CreatedTimestamp"])


def test_nonexistent_queue_errors(sqs, serval):
    missing = f"http://sqs.{REGION}.localhost:{serval.port}/{ACCOUNT}/{unique_name('gone')}"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as e:
        sqs.send_message(QueueUrl=missing, MessageBody="x")
    assert code(e.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == \
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=unique_name("gone"))
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.delete_queue(QueueUrl=missing)


def test_delete_and_recreate_at_once(sqs):
    name = unique_name("recreate")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    # No 60-second wait locally; the new queue is empty.
    url2 = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url2 == url
    assert "Messages" not in sqs.receive_message(QueueUrl=url2)
    sqs.delete_queue(QueueUrl=url2)


def test_list_queues_prefix_and_paging(sqs):
    prefix = unique_name("lst")
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)]
    try:
        got = sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]
        assert got == sorted(urls)
        page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
        assert len(page["QueueUrls"]) == 2 and "NextToken" in page
        seen = list(page["QueueUrls"])
        while "NextToken" in page:
            page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=page["NextToken"])
            seen += page["QueueUrls"]
        assert seen == sorted(urls)
        assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=unique_name("none"))
        with pytest.raises(ClientError) as e:
            sqs.list_queues(MaxResults=1001)
        assert code(e.value) == "InvalidParameterValue"
    finally:
        for u in urls:
            sqs.delete_queue(QueueUrl=u)


def test_accounts_and_regions_are_isolated(serval, make_queue, sqs):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    other = make_client(serval.endpoint, "sqs", access_key="111122223333")
    with pytest.raises(other.exceptions.QueueDoesNotExist):
        other.get_queue_url(QueueName=name)
    assert not any(name in u for u in other.list_queues().get("QueueUrls", []))
    west = boto_region(serval, "eu-west-1")
    with pytest.raises(west.exceptions.QueueDoesNotExist):
        west.get_queue_url(QueueName=name)
    mine = west.create_queue(QueueName=name)["QueueUrl"]
    assert "sqs.eu-west-1.localhost" in mine
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    west.delete_queue(QueueUrl=mine)
    # Another account names its own queue by URL with its own account id.
    ou = other.create_queue(QueueName=name)["QueueUrl"]
    assert "/111122223333/" in ou
    other.delete_queue(QueueUrl=ou)


def boto_region(serval, region):
    import boto3
    from botocore.config import Config
    return boto3.session.Session().client("sqs", endpoint_url=serval.endpoint, region_name=region,
                                          aws_access_key_id="test", aws_secret_access_key="x",
                                          config=Config(retries={"total_max_attempts": 1}))


def test_purge_and_purge_in_progress(sqs, make_queue):
    url = make_queue()
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.purge_queue(QueueUrl=url)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "0"
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as e:
        sqs.purge_queue(QueueUrl=url)
    assert code(e.value) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tags(sqs, make_queue):
    url = make_queue(tags={"team": "a"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev", "team": "b"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "b", "env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "absent"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.tag_queue(QueueUrl=url, Tags={f"k{i}": "v" for i in range(51)})
    assert code(e.value) == "InvalidParameterValue"


def test_permissions_are_recorded_in_the_policy(sqs, make_queue):
    url = make_queue()
    sqs.add_permission(QueueUrl=url, Label="AliceSend", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    st = policy["Statement"]
    assert st[0]["Sid"] == "AliceSend"
    assert st[0]["Action"] == ["SQS:SendMessage"]
    assert st[0]["Principal"]["AWS"] == ["arn:aws:iam::111122223333:root"]
    with pytest.raises(ClientError) as e:
        sqs.add_permission(QueueUrl=url, Label="AliceSend", AWSAccountIds=["111122223333"], Actions=["*"])
    assert code(e.value) == "InvalidParameterValue"
    sqs.remove_permission(QueueUrl=url, Label="AliceSend")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    with pytest.raises(ClientError) as e:
        sqs.remove_permission(QueueUrl=url, Label="AliceSend")
    assert code(e.value) == "InvalidParameterValue"


def test_redrive_policy_and_dead_letter_sources(sqs, make_queue):
    dlq = make_queue("-dlq")
    src1 = make_queue("-a", RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": "3"}))
    src2 = make_queue("-b")
    sqs.set_queue_attributes(QueueUrl=src2, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 2})})
    rp = json.loads(sqs.get_queue_attributes(QueueUrl=src1, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert rp == {"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 3}
    assert sorted(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sorted([src1, src2])
    assert sqs.list_dead_letter_source_queues(QueueUrl=src1)["queueUrls"] == []
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=src2, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique_name('nodlq')}", "maxReceiveCount": 2})})
    assert code(e.value) == "InvalidParameterValue"
    fifo = make_queue("-f", fifo=True)
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 2})})


def test_unknown_operation_and_missing_parameters(sqs_raw, serval):
    with pytest.raises(ClientError) as e:
        sqs_raw.get_queue_url()
    assert code(e.value) == "MissingParameter"
    with pytest.raises(ClientError) as e:
        sqs_raw.create_queue(QueueName=5)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
