"""S3 lifecycle: PutBucketLifecycleConfiguration validation, x-amz-expiration on GET/HEAD, and
expiration applied by the sweeper on a server whose days pass in about a second (--time-scale)."""

from __future__ import annotations

import calendar
import json
import re
import time
from email.utils import parsedate_to_datetime

import pytest
from botocore.exceptions import ClientError

from serval_harness import make_client, unique_name

DAY = 86_400
SCALE = 86_400  # one platform day per real second


def err(exc) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def rule(rid="r", **extra):
    r = {"ID": rid, "Status": "Enabled", "Filter": {"Prefix": ""}}
    r.update(extra)
    return r


def put_rules(s3, bucket, *rules):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


def test_validation(s3, bucket):
    exp = {"Expiration": {"Days": 1}}
    with pytest.raises(ClientError) as e:
        put_rules(s3, bucket, rule("a", **exp), rule("a", **exp))
    assert err(e) == ("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
    with pytest.raises(ClientError) as e:
        put_rules(s3, bucket, rule(Expiration={"Days": 0}))
    assert err(e) == ("InvalidArgument", "'Days' for Expiration action must be a positive integer")
    with pytest.raises(ClientError) as e:
        put_rules(s3, bucket, rule(Expiration={"Date": "2030-01-01T10:00:00Z"}))
    assert err(e) == ("InvalidArgument", "'Date' must be at midnight GMT")
    with pytest.raises(ClientError) as e:
        put_rules(s3, bucket, rule())
    assert err(e) == ("InvalidRequest", "At least one action needs to be specified in a rule")
    with pytest.raises(ClientError) as e:
        put_rules(s3, bucket, rule(Status="On", **exp))
    assert err(e)[0] == "MalformedXML"
    with pytest.raises(ClientError) as e:
        put_rules(s3, bucket, *[rule(f"r{i}", **exp) for i in range(1001)])
    assert err(e)[0] == "MalformedXML"
    put_rules(s3, bucket, rule("logs", Filter={"Prefix": "logs/"}, Expiration={"Days": 3}),
              rule("mpu", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 7}))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["logs", "mpu"]


def test_expiration_header_rounds_to_midnight(s3, bucket):
    put_rules(s3, bucket, rule("logs", Filter={"Prefix": "logs/"}, Expiration={"Days": 3}))
    s3.put_object(Bucket=bucket, Key="logs/a", Body=b"x")
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    head = s3.head_object(Bucket=bucket, Key="logs/a")
    m = re.fullmatch(r'expiry-date="([^"]+)", rule-id="logs"', head["Expiration"])
    assert m, head["Expiration"]
    expiry = calendar.timegm(parsedate_to_datetime(m.group(1)).timetuple())
    modified = calendar.timegm(head["LastModified"].timetuple())
    assert expiry % DAY == 0
    assert expiry == (modified + 3 * DAY) // DAY * DAY + DAY
    assert "Expiration" in s3.get_object(Bucket=bucket, Key="logs/a")
    assert "Expiration" not in s3.head_object(Bucket=bucket, Key="other")


@pytest.fixture
def fast(serval_factory):
    server = serval_factory(extra_args=["--time-scale", str(SCALE)])
    s3 = make_client(server.endpoint, "s3", s3={"addressing_style": "path"})
    sqs = make_client(server.endpoint, "sqs")
    return server, s3, sqs


def new_bucket(s3, versioned=False):
    name = unique_name("lc").lower().replace("_", "-")
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def watch(s3, sqs, bucket):
    q = sqs.create_queue(QueueName=unique_name("lcq"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:LifecycleExpiration:*"]}]})
    return q


def drain(sqs, q, want, timeout=20):
    events = []
    deadline = time.time() + timeout
    while len(events) < want and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            events.append(json.loads(m["Body"])["Records"][0])
    return sorted((e["eventName"], e["s3"]["object"]["key"]) for e in events)


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def keys(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_days_expire_with_filters_and_events(fast):
    _, s3, sqs = fast
    b = new_bucket(s3)
    q = watch(s3, sqs, b)
    put_rules(s3, b,
              rule("tmp", Filter={"Prefix": "tmp/"}, Expiration={"Days": 1}),
              rule("tagged", Filter={"And": {"Prefix": "t/", "Tags": [{"Key": "gone", "Value": "yes"}],
                                             "ObjectSizeGreaterThan": 2}}, Expiration={"Days": 1}),
              rule("off", Status="Disabled", Filter={"Prefix": "keep/"}, Expiration={"Days": 1}))
    s3.put_object(Bucket=b, Key="tmp/a", Body=b"1")
    s3.put_object(Bucket=b, Key="keep/b", Body=b"1")
    s3.put_object(Bucket=b, Key="t/big", Body=b"12345", Tagging="gone=yes")
    s3.put_object(Bucket=b, Key="t/small", Body=b"1", Tagging="gone=yes")
    s3.put_object(Bucket=b, Key="t/untagged", Body=b"12345")
    assert wait_for(lambda: keys(s3, b) == ["keep/b", "t/small", "t/untagged"]), keys(s3, b)
    assert drain(sqs, q, 2) == [("LifecycleExpiration:Delete", "t/big"), ("LifecycleExpiration:Delete", "tmp/a")]


def test_versioned_expiration_noncurrent_and_markers(fast):
    _, s3, sqs = fast
    b = new_bucket(s3, versioned=True)
    q = watch(s3, sqs, b)
    put_rules(s3, b,
              rule("cur", Filter={"Prefix": "v/"}, Expiration={"Days": 1}),
              rule("markers", Filter={"Prefix": "v/"}, Expiration={"ExpiredObjectDeleteMarker": True}),
              rule("old", Filter={"Prefix": "v/"}, NoncurrentVersionExpiration={"NoncurrentDays": 1}))
    s3.put_object(Bucket=b, Key="v/a", Body=b"1")
    s3.put_object(Bucket=b, Key="v/a", Body=b"2")

    def versions():
        r = s3.list_object_versions(Bucket=b)
        return len(r.get("Versions", [])), len(r.get("DeleteMarkers", []))
    # current -> delete marker, noncurrent versions removed, then the lone marker goes.
    assert wait_for(lambda: versions() == (0, 0)), versions()
    events = drain(sqs, q, 4)
    assert ("LifecycleExpiration:DeleteMarkerCreated", "v/a") in events
    assert events.count(("LifecycleExpiration:Delete", "v/a")) == 3, events


def test_newer_noncurrent_versions_kept(fast):
    _, s3, _ = fast
    b = new_bucket(s3, versioned=True)
    put_rules(s3, b, rule("old", NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}))
    for body in [b"1", b"2", b"3"]:
        s3.put_object(Bucket=b, Key="k", Body=body)
    assert wait_for(lambda: len(s3.list_object_versions(Bucket=b).get("Versions", [])) == 2)
    time.sleep(2)  # several more platform days: still the current one and one noncurrent
    vs = s3.list_object_versions(Bucket=b)["Versions"]
    assert len(vs) == 2
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"3"


def test_abort_incomplete_multipart(fast):
    _, s3, _ = fast
    b = new_bucket(s3)
    put_rules(s3, b, rule("mpu", Filter={"Prefix": "up/"}, AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}))
    u = s3.create_multipart_upload(Bucket=b, Key="up/x")["UploadId"]
    s3.upload_part(Bucket=b, Key="up/x", UploadId=u, PartNumber=1, Body=b"p")
    s3.create_multipart_upload(Bucket=b, Key="stay/y")
    assert wait_for(lambda: [x["Key"] for x in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])] == ["stay/y"])


def test_date_expiration(fast):
    _, s3, _ = fast
    b = new_bucket(s3)
    tomorrow = (int(time.time()) // DAY + 2) * DAY
    date = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(tomorrow))
    put_rules(s3, b, rule("d", Expiration={"Date": date}))
    s3.put_object(Bucket=b, Key="x", Body=b"1")
    assert "rule-id=\"d\"" in s3.head_object(Bucket=b, Key="x")["Expiration"]
    assert wait_for(lambda: keys(s3, b) == [])
