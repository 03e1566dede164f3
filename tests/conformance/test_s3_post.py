"""S3 POST uploads (browser forms): boto3's generate_presigned_post builds the form, urllib posts it
as multipart/form-data; policy conditions, expiry, success_action_*, notifications."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest

from serval_harness import make_client, unique_name


def encode_form(fields, file_body: bytes, filename: str = "photo.png", after=()):
    """multipart/form-data with `fields` first, the file, then `after` (ignored by S3)."""
    boundary = "----serval" + uuid.uuid4().hex
    out = []
    for k, v in list(fields.items()) if isinstance(fields, dict) else fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    out.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    out.append(file_body)
    out.append(b"\r\n")
    for k, v in after:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def post(url, fields, body=b"hello", filename="photo.png", after=()):
    data, ctype = encode_form(fields, body, filename, after)
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": ctype})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def error_of(body: bytes) -> tuple[str, str]:
    root = ET.fromstring(body)
    return root.findtext("Code"), root.findtext("Message")


def test_presigned_post_default_204_and_filename(s3, bucket):
    p = s3.generate_presigned_post(bucket, "uploads/${filename}", ExpiresIn=300)
    status, headers, _ = post(p["url"], p["fields"], b"png bytes", filename="cat.png")
    assert status == 204
    assert headers["ETag"] == '"%s"' % hashlib.md5(b"png bytes").hexdigest()
    assert headers["Location"].endswith(f"/{bucket}/uploads/cat.png")
    assert s3.get_object(Bucket=bucket, Key="uploads/cat.png")["Body"].read() == b"png bytes"


def test_success_action_status_201_and_200_and_metadata(s3, bucket):
    fields = {"success_action_status": "201", "Content-Type": "image/png", "x-amz-meta-owner": "eric"}
    conditions = [
        {"success_action_status": "201"},
        ["starts-with", "$Content-Type", "image/"],
        ["starts-with", "$x-amz-meta-owner", ""],
    ]
    p = s3.generate_presigned_post(bucket, "a/b c.txt", Fields=fields, Conditions=conditions)
    status, _, body = post(p["url"], p["fields"], b"x" * 100)
    assert status == 201
    root = ET.fromstring(body)
    ns = {"s": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert root.tag.endswith("PostResponse")
    assert root.findtext("s:Bucket", namespaces=ns) == bucket
    assert root.findtext("s:Key", namespaces=ns) == "a/b c.txt"
    assert root.findtext("s:ETag", namespaces=ns) == '"%s"' % hashlib.md5(b"x" * 100).hexdigest()
    assert root.findtext("s:Location", namespaces=ns).endswith(f"/{bucket}/a/b%20c.txt")
    head = s3.head_object(Bucket=bucket, Key="a/b c.txt")
    assert head["ContentType"] == "image/png"
    assert head["Metadata"] == {"owner": "eric"}

    p = s3.generate_presigned_post(bucket, "k200", Fields={"success_action_status": "200"},
                                   Conditions=[{"success_action_status": "200"}])
    status, _, body = post(p["url"], p["fields"])
    assert (status, body) == (200, b"")


def test_success_action_redirect(s3, bucket):
    url = "https://example.com/done?x=1"
    p = s3.generate_presigned_post(bucket, "r.txt", Fields={"success_action_redirect": url},
                                   Conditions=[{"success_action_redirect": url}])
    status, headers, _ = post(p["url"], p["fields"], b"abc")
    assert status == 303
    loc = headers["Location"]
    assert loc.startswith(url + "&") and f"bucket={bucket}" in loc and "key=r.txt" in loc
    assert "etag=%22" + hashlib.md5(b"abc").hexdigest() + "%22" in loc


def test_policy_condition_failures(s3, bucket):
    p = s3.generate_presigned_post(bucket, "uploads/${filename}")
    fields = dict(p["fields"], key="elsewhere/x")
    status, _, body = post(p["url"], fields)
    assert status == 403
    assert error_of(body) == ("AccessDenied", 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "uploads/"]')

    p = s3.generate_presigned_post(bucket, "exact")
    fields = dict(p["fields"], key="other")
    status, _, body = post(p["url"], fields)
    assert (status, error_of(body)) == (403, ("AccessDenied", 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "exact"]'))

    # A field no condition covers.
    fields = dict(p["fields"], **{"x-amz-meta-sneaky": "1"})
    status, _, body = post(p["url"], fields)
    assert (status, error_of(body)) == (403, ("AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky"))

    # Posted to another bucket than the policy names.
    other = unique_name("post2").lower().replace("_", "-")
    s3.create_bucket(Bucket=other)
    try:
        status, _, body = post(p["url"].replace(bucket, other), p["fields"])
        assert status == 403
        assert error_of(body)[1] == f'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "{bucket}"]'
    finally:
        s3.delete_bucket(Bucket=other)
    for key in ["exact", "other", "elsewhere/x"]:
        with pytest.raises(Exception):
            s3.head_object(Bucket=bucket, Key=key)


def test_content_length_range(s3, bucket):
    p = s3.generate_presigned_post(bucket, "sized", Conditions=[["content-length-range", 10, 20]])
    status, _, body = post(p["url"], p["fields"], b"x" * 21)
    assert (status, error_of(body)[0]) == (400, "EntityTooLarge")
    status, _, body = post(p["url"], p["fields"], b"x" * 9)
    assert (status, error_of(body)[0]) == (400, "EntityTooSmall")
    status, _, _ = post(p["url"], p["fields"], b"x" * 10)
    assert status == 204
    assert s3.head_object(Bucket=bucket, Key="sized")["ContentLength"] == 10


def test_expired_policy(s3, bucket, serval):
    policy = {"expiration": "2000-01-01T00:00:00.000Z", "conditions": [{"bucket": bucket}, ["starts-with", "$key", ""]]}
    fields = {"key": "late", "AWSAccessKeyId": "test", "signature": "x",
              "policy": base64.b64encode(json.dumps(policy).encode()).decode()}
    status, _, body = post(f"{serval.endpoint}/{bucket}", fields)
    assert (status, error_of(body)) == (403, ("AccessDenied", "Invalid according to Policy: Policy expired."))


def test_missing_fields_and_bad_policy(s3, bucket, serval):
    url = f"{serval.endpoint}/{bucket}"
    p = s3.generate_presigned_post(bucket, "k")
    fields = {k: v for k, v in p["fields"].items() if k != "key"}
    status, _, body = post(url, fields)
    assert status == 400
    assert error_of(body) == ("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
    fields = {k: v for k, v in p["fields"].items() if k != "policy"}
    status, _, body = post(url, fields)
    assert (status, error_of(body)[0]) == (400, "InvalidArgument")
    fields = dict(p["fields"], policy="not base64 json")
    status, _, body = post(url, fields)
    assert (status, error_of(body)[0]) == (400, "InvalidPolicyDocument")
    # No file part at all.
    data = (f'--B\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--B--\r\n').encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "multipart/form-data; boundary=B"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 400
    assert error_of(e.value.read()) == ("InvalidArgument", "POST requires exactly one file upload per request.")


def test_pre_data_limit_and_fields_after_file(s3, bucket, serval):
    url = f"{serval.endpoint}/{bucket}"
    status, _, body = post(url, {"key": "big", "x-ignore-pad": "p" * 25_000})
    assert (status, error_of(body)[0]) == (400, "MaxPostPreDataLengthExceeded")
    # Anonymous form (no policy): fields after the file are ignored.
    status, _, _ = post(url, {"key": "anon"}, b"data", after=[("x-amz-meta-late", "1")])
    assert status == 204
    assert s3.head_object(Bucket=bucket, Key="anon")["Metadata"] == {}


def test_large_post_streams(s3, bucket):
    body = bytes(range(256)) * (12 * 4096)  # 12 MB, crosses the streamed-body threshold
    p = s3.generate_presigned_post(bucket, "big.bin")
    status, headers, _ = post(p["url"], p["fields"], body)
    assert status == 204
    assert headers["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert got == body


def test_post_notification(s3, bucket, serval):
    sqs = make_client(serval.endpoint, "sqs")
    q = sqs.create_queue(QueueName=unique_name("s3post"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:Post"]}]})
    s3.put_object(Bucket=bucket, Key="not-a-post", Body=b"x")
    p = s3.generate_presigned_post(bucket, "posted")
    assert post(p["url"], p["fields"])[0] == 204
    events = []
    deadline = time.time() + 10
    while not events and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1).get("Messages", []):
            events.append(json.loads(m["Body"])["Records"][0])
    assert [(e["eventName"], e["s3"]["object"]["key"]) for e in events] == [("ObjectCreated:Post", "posted")]
