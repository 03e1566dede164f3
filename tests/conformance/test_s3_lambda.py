"""S3 with Lambda: code packages read from Serval's own S3 (Code.S3Bucket/S3Key/S3ObjectVersion in
CreateFunction and UpdateFunctionCode, as `aws cloudformation package` and `sam deploy` ship code)
and the classic pipeline: an upload notifies a Python function, which reads the object and writes a
derived one to another bucket."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from serval_harness import error_of, invoke, make_zip, ok, unique_name, wait_until

DERIVE = """
import boto3, urllib.parse
s3 = boto3.client("s3")
def handler(event, context):
    for r in event["Records"]:
        bucket = r["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket + "-out", Key=key + ".upper", Body=body.upper())
    return {"done": len(event["Records"])}
"""


def _new_bucket(s3, suffix=""):
    name = unique_name("bkt").lower().replace("_", "-")[:50] + suffix
    s3.create_bucket(Bucket=name)
    return name


def test_code_from_s3(lam, s3, bucket, python_zip, python_v2_zip, fn_name):
    s3.put_object(Bucket=bucket, Key="code/v1.zip", Body=python_zip)
    name = fn_name()
    from serval_harness import ROLE
    created = lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                                  Code={"S3Bucket": bucket, "S3Key": "code/v1.zip"})
    try:
        import base64
        import hashlib
        assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(python_zip).digest()).decode()
        assert created["CodeSize"] == len(python_zip)
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
        assert ok(invoke(lam, name, {"x": 1})) == {"x": 1}
        # UpdateFunctionCode from S3 too
        s3.put_object(Bucket=bucket, Key="code/v2.zip", Body=python_v2_zip)
        upd = lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="code/v2.zip")
        assert upd["CodeSize"] == len(python_v2_zip)
        # a missing key or bucket is refused as Lambda words it
        for code in ({"S3Bucket": bucket, "S3Key": "nope.zip"}, {"S3Bucket": bucket + "-nope", "S3Key": "x.zip"}):
            with pytest.raises(ClientError) as e:
                lam.update_function_code(FunctionName=name, **code)
            code_, _, resp = error_of(e.value)
            assert code_ == "InvalidParameterValueException"
            assert resp["Error"]["Message"].startswith("Error occurred while GetObject. S3 Error Code: NoSuch")
    finally:
        lam.delete_function(FunctionName=name)


def test_upload_triggers_a_function_that_writes_a_derived_object(lam, s3, create_fn):
    src = _new_bucket(s3)
    out = src + "-out"
    s3.create_bucket(Bucket=out)
    fn = create_fn(make_zip({"derive.py": DERIVE}), handler="derive.handler", Timeout=30)
    s3.put_bucket_notification_configuration(Bucket=src, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".txt"}]}},
        }]})
    s3.put_object(Bucket=src, Key="hello world.txt", Body=b"make me loud")
    s3.put_object(Bucket=src, Key="ignored.bin", Body=b"not me")

    def derived():
        try:
            return s3.get_object(Bucket=out, Key="hello world.txt.upper")["Body"].read()
        except ClientError:
            return None

    assert wait_until(derived, timeout=60, interval=0.2, message="the derived object") == b"MAKE ME LOUD"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=out).get("Contents", [])]
    assert keys == ["hello world.txt.upper"]
