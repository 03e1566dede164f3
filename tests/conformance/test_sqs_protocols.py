"""SQS beyond boto3's JSON protocol: the query protocol (signed form posts to the endpoint and to
queue URL paths, XML answers in the 2012-11-05 namespace, flattened lists and maps, legacy error
codes), the aws CLI, and requests addressed by the sqs.<region>.localhost host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from serval_harness import ACCOUNT, REGION, unique_name
from sqs_util import md5_hex, md5_of_attributes, query


def test_query_protocol_round_trip(serval):
    name = unique_name("qp")
    status, root, raw = query(serval, {"Action": "CreateQueue", "QueueName": name, "Version": "2012-11-05",
                                       "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "40",
                                       "Tag.1.Key": "team", "Tag.1.Value": "q"})
    assert status == 200, raw
    assert b'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"' in raw
    url = root.find("CreateQueueResult/QueueUrl").text
    assert url.endswith(f"/{ACCOUNT}/{name}")
    assert root.find("ResponseMetadata/RequestId").text

    status, root, _ = query(serval, {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "All"})
    attrs = {a.find("Name").text: a.find("Value").text for a in root.findall("GetQueueAttributesResult/Attribute")}
    assert attrs["VisibilityTimeout"] == "40"
    status, root, _ = query(serval, {"Action": "ListQueueTags", "QueueUrl": url})
    assert [(t.find("Key").text, t.find("Value").text) for t in root.findall("ListQueueTagsResult/Tag")] == [("team", "q")]

    status, root, _ = query(serval, {
        "Action": "SendMessage", "QueueUrl": url, "MessageBody": "hi & <there>",
        "MessageAttribute.1.Name": "n", "MessageAttribute.1.Value.DataType": "Number",
        "MessageAttribute.1.Value.StringValue": "7",
        "MessageAttribute.2.Name": "b", "MessageAttribute.2.Value.DataType": "Binary",
        "MessageAttribute.2.Value.BinaryValue": "AAEC"})
    assert status == 200
    res = root.find("SendMessageResult")
    assert res.find("MD5OfMessageBody").text == md5_hex("hi & <there>")
    assert res.find("MD5OfMessageAttributes").text == md5_of_attributes({
        "n": {"DataType": "Number", "StringValue": "7"}, "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}})

    status, root, _ = query(serval, {"Action": "ReceiveMessage", "QueueUrl": url, "AttributeName.1": "All",
                                     "MessageAttributeName.1": "All", "MaxNumberOfMessages": "5"})
    (m,) = root.findall("ReceiveMessageResult/Message")
    assert m.find("Body").text == "hi & <there>"
    sys_attrs = {a.find("Name").text: a.find("Value").text for a in m.findall("Attribute")}
    assert sys_attrs["ApproximateReceiveCount"] == "1"
    mattrs = {a.find("Name").text: a.find("Value") for a in m.findall("MessageAttribute")}
    assert mattrs["n"].find("StringValue").text == "7"
    assert mattrs["b"].find("BinaryValue").text == "AAEC"
    handle = m.find("ReceiptHandle").text

    status, root, _ = query(serval, {"Action": "DeleteMessageBatch", "QueueUrl": url,
                                     "DeleteMessageBatchRequestEntry.1.Id": "a",
                                     "DeleteMessageBatchRequestEntry.1.ReceiptHandle": handle,
                                     "DeleteMessageBatchRequestEntry.2.Id": "b",
                                     "DeleteMessageBatchRequestEntry.2.ReceiptHandle": "junk"})
    assert status == 200
    assert root.find("DeleteMessageBatchResult/DeleteMessageBatchResultEntry/Id").text == "a"
    err = root.find("DeleteMessageBatchResult/BatchResultErrorEntry")
    assert err.find("Id").text == "b" and err.find("Code").text == "ReceiptHandleIsInvalid"
    assert err.find("SenderFault").text == "true"

    status, root, raw = query(serval, {"Action": "DeleteQueue", "QueueUrl": url})
    assert status == 200 and root.tag == "DeleteQueueResponse" and root.find("DeleteQueueResult") is None


def test_query_protocol_errors_use_legacy_codes(serval):
    status, root, _ = query(serval, {"Action": "GetQueueUrl", "QueueName": unique_name("none")})
    assert status == 400
    assert root.tag == "ErrorResponse"
    assert root.find("Error/Code").text == "AWS.SimpleQueueService.NonExistentQueue"
    assert root.find("Error/Type").text == "Sender"
    status, root, _ = query(serval, {"Action": "CreateQueue"})
    assert status == 400 and root.find("Error/Code").text == "MissingParameter"
    status, root, _ = query(serval, {"Action": "FlyToTheMoon"})
    assert status == 400 and root.find("Error/Code").text == "InvalidAction"


def test_query_protocol_posted_to_the_queue_url_path(serval, sqs, make_queue):
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    path = f"/{ACCOUNT}/{name}"
    status, root, raw = query(serval, {"Action": "SendMessageBatch",
                                       "SendMessageBatchRequestEntry.1.Id": "one",
                                       "SendMessageBatchRequestEntry.1.MessageBody": "first",
                                       "SendMessageBatchRequestEntry.2.Id": "two",
                                       "SendMessageBatchRequestEntry.2.MessageBody": "second",
                                       "SendMessageBatchRequestEntry.2.DelaySeconds": "0"}, path=path)
    assert status == 200, raw
    ids = [e.find("Id").text for e in root.findall("SendMessageBatchResult/SendMessageBatchResultEntry")]
    assert ids == ["one", "two"]
    # The same, addressed by the queue URL's host.
    status, root, raw = query(serval, {"Action": "GetQueueAttributes", "AttributeName.1": "ApproximateNumberOfMessages"},
                              path=path, host=f"sqs.{REGION}.localhost:{serval.port}")
    assert status == 200, raw
    assert root.find("GetQueueAttributesResult/Attribute/Value").text == "2"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["first", "second"]


def test_json_errors_carry_the_query_error_header(serval):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", serval.port, timeout=10)
    body = json.dumps({"QueueName": unique_name("nope")})
    conn.request("POST", "/", body=body, headers={
        "X-Amz-Target": "AmazonSQS.GetQueueUrl", "Content-Type": "application/x-amz-json-1.0",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20240101/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0"})
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    assert resp.status == 400
    assert doc["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert resp.getheader("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"


def _aws(serval, *args) -> dict:
    venv_bin = Path(sys.executable).parent
    aws = venv_bin / "aws" if (venv_bin / "aws").exists() else "aws"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
               AWS_PAGER="")
    out = subprocess.run([str(aws), "--endpoint-url", serval.endpoint, "--output", "json", "sqs", *args],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def test_aws_cli(serval, sqs):
    name = unique_name("cli")
    url = _aws(serval, "create-queue", "--queue-name", name)["QueueUrl"]
    try:
        sent = _aws(serval, "send-message", "--queue-url", url, "--message-body", "from the cli",
                    "--message-attributes", '{"k":{"DataType":"String","StringValue":"v"}}')
        assert sent["MD5OfMessageBody"] == md5_hex("from the cli")
        got = _aws(serval, "receive-message", "--queue-url", url, "--message-attribute-names", "All",
                   "--attribute-names", "All")
        (m,) = got["Messages"]
        assert m["Body"] == "from the cli" and m["MessageAttributes"]["k"]["StringValue"] == "v"
        _aws(serval, "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"])
        attrs = _aws(serval, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    finally:
        sqs.delete_queue(QueueUrl=url)
