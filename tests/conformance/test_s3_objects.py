"""S3 buckets and objects with boto3: CRUD, errors, ranges, conditions, copy, listing,
versioning, tagging, multipart, presigned URLs, checksums, notifications."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import time
import urllib.error
import urllib.request
import zlib

import pytest
from botocore.exceptions import ClientError

from serval_harness import unique_name


def err(exc: ClientError) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------- buckets


def test_bucket_lifecycle_and_errors(s3):
    name = unique_name("life").lower().replace("_", "-")
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert err(e) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=name)
    assert err(e) == ("NoSuchBucket", 404)
    assert e.value.response["Error"]["BucketName"] == name


def test_invalid_and_owned_bucket_names(s3, bucket):
    for bad in ["ab", "Upper-Case", "a..b", "192.168.0.1"]:
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=bad)
        assert err(e) == ("InvalidBucketName", 400), bad
    s3w = s3  # us-east-1 re-create by the owner is a 200
    s3w.create_bucket(Bucket=bucket)
    other = unique_name("west").lower().replace("_", "-")
    s3.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=other)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert err(e) == ("BucketAlreadyOwnedByYou", 409)
    s3.delete_bucket(Bucket=other)


def test_bucket_tagging_policy_cors_config(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert err(e) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "a", "Value": "1"}]
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert err(e) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://example.com"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 60}]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT"]


def test_cors_preflight(s3, bucket, endpoint):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://example.com"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]})
    req = urllib.request.Request(f"{endpoint}/{bucket}/k", method="OPTIONS", headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "https://example.com"
        assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    req = urllib.request.Request(f"{endpoint}/{bucket}/k", method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 403


# --------------------------------------------------------------------------- objects


def test_put_get_head_delete_with_metadata(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="dir/hello.txt", Body=b"hello", ContentType="text/plain",
                      Metadata={"colour": "blue"}, CacheControl="max-age=60")
    assert r["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    g = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert g["Body"].read() == b"hello"
    assert g["ContentType"] == "text/plain"
    assert g["Metadata"] == {"colour": "blue"}
    assert g["CacheControl"] == "max-age=60"
    h = s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert h["ContentLength"] == 5 and h["ETag"] == r["ETag"]
    s3.delete_object(Bucket=bucket, Key="dir/hello.txt")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert err(e) == ("NoSuchKey", 404)
    assert e.value.response["Error"]["Key"] == "dir/hello.txt"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Deleting a missing key is a 204, as S3.
    s3.delete_object(Bucket=bucket, Key="never")


def test_keys_with_odd_characters(s3, bucket):
    for key in ["a b/c+d", "ünï/cødé", "x?y=z&w", "trailing/", "%41"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()


def test_ranges(s3, bucket):
    body = bytes(range(256)) * 100
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    g = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert g["Body"].read() == body[10:20]
    assert g["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == body[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=25500-")["Body"].read() == body[25500:]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert err(e) == ("InvalidRange", 416)


def test_conditional_get(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"data")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert err(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    lm = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=lm.replace(year=2000))
    assert err(e) == ("PreconditionFailed", 412)
    # Conditional write.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="c", Body=b"again", IfNoneMatch="*")
    assert err(e) == ("PreconditionFailed", 412)


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    g = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="application/x-test",
                      ResponseContentDisposition="attachment; filename=a.txt")
    assert g["ContentType"] == "application/x-test"
    assert g["ContentDisposition"] == "attachment; filename=a.txt"


def test_content_md5_and_checksums(s3, bucket):
    body = b"checksummed body"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=body, ContentMD5=md5)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="m", Body=body, ContentMD5=base64.b64encode(b"0" * 16).decode())
    assert err(e) == ("BadDigest", 400)
    # CRC32C needs botocore[crt] on the client side; the Rust unit tests cover it.
    for algo in ["CRC32", "SHA1", "SHA256"]:
        r = s3.put_object(Bucket=bucket, Key=f"sum-{algo}", Body=body, ChecksumAlgorithm=algo)
        assert r[f"Checksum{algo}"]
        h = s3.head_object(Bucket=bucket, Key=f"sum-{algo}", ChecksumMode="ENABLED")
        assert h[f"Checksum{algo}"] == r[f"Checksum{algo}"]
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert s3.put_object(Bucket=bucket, Key="c1", Body=body, ChecksumCRC32=crc)["ChecksumCRC32"] == crc
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="c2", Body=body, ChecksumSHA256=base64.b64encode(b"x" * 32).decode())
    assert err(e) == ("BadDigest", 400)


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"source", Metadata={"a": "1"}, ContentType="text/x")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    g = s3.get_object(Bucket=bucket, Key="dst")
    assert g["Body"].read() == b"source" and g["Metadata"] == {"a": "1"} and g["ContentType"] == "text/x"
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"})
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"b": "2"}
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert err(e) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d3", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch='"zzz"')
    assert err(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d3", CopySource={"Bucket": bucket, "Key": "missing"})
    assert err(e) == ("NoSuchKey", 404)
    # Deleting the source keeps the copy (blobs are shared immutably).
    big = os.urandom(100_000)
    s3.put_object(Bucket=bucket, Key="bigsrc", Body=big)
    s3.copy_object(Bucket=bucket, Key="bigdst", CopySource={"Bucket": bucket, "Key": "bigsrc"})
    s3.delete_object(Bucket=bucket, Key="bigsrc")
    assert s3.get_object(Bucket=bucket, Key="bigdst")["Body"].read() == big


def test_delete_objects(s3, bucket):
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "b", "zz"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_object_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"1", Tagging="a=1&b=2")
    assert s3.head_object(Bucket=bucket, Key="t").get("ResponseMetadata")["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "x", "Value": "y"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "x", "Value": "y"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []


# --------------------------------------------------------------------------- listing


def test_listing_prefix_delimiter_pagination(s3, bucket):
    keys = [f"photos/2024/{i:03}.jpg" for i in range(7)] + ["photos/a.txt", "readme", "z/1", "z/2"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["photos/", "z/"]
    assert [o["Key"] for o in r["Contents"]] == ["readme"]
    assert r["KeyCount"] == 3
    r = s3.list_objects_v2(Bucket=bucket, Prefix="photos/", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["photos/2024/"]
    assert [o["Key"] for o in r["Contents"]] == ["photos/a.txt"]
    seen = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}):
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys)
    seen = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}, Delimiter="/"):
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen == ["readme", "photos/", "z/"] or sorted(seen) == sorted(["readme", "photos/", "z/"])
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="photos/2024/005.jpg", MaxKeys=2)
    assert [o["Key"] for o in r["Contents"]] == ["photos/2024/006.jpg", "photos/a.txt"]
    assert r["IsTruncated"] is True
    s3.put_object(Bucket=bucket, Key="sp ace", Body=b"")
    r = s3.list_objects_v2(Bucket=bucket, Prefix="sp", EncodingType="url")
    assert r["Contents"][0]["Key"] == "sp+ace"  # as S3 encodes it; botocore leaves it


def test_versioning(s3, bucket):
    s3.put_object(Bucket=bucket, Key="v", Body=b"zero")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="v", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="v", VersionId="null")["Body"].read() == b"zero"
    d = s3.delete_object(Bucket=bucket, Key="v")
    assert d["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="v")
    assert err(e) == ("NoSuchKey", 404)
    r = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in r["Versions"]] == [v2, v1, "null"]
    assert r["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bucket, Key="v", VersionId=d["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="v", VersionId="ffffffffffffffff")
    assert err(e) == ("NoSuchVersion", 404)


# --------------------------------------------------------------------------- multipart


def test_multipart_rules_and_etag(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"k": "v"})["UploadId"]
    p1 = os.urandom(5 * 1024 * 1024)
    p2 = b"tail"
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]] == [1, 2]
    assert s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["UploadId"] == up
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert err(e) == ("InvalidPartOrder", 400)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert err(e) == ("InvalidPart", 400)
    r = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    expect = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + "-2"
    assert r["ETag"] == f'"{expect}"'
    g = s3.get_object(Bucket=bucket, Key="mp")
    assert g["Body"].read() == p1 + p2 and g["Metadata"] == {"k": "v"}
    assert s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={len(p1) - 2}-{len(p1) + 1}")["Body"].read() == p1[-2:] + p2[:2]
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)
    assert err(e) == ("NoSuchUpload", 404)


def test_multipart_entity_too_small_and_abort(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small", UploadId=up, PartNumber=1, Body=b"a" * 100)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="small", UploadId=up, PartNumber=2, Body=b"b")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert err(e) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=up)
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=up)
    assert err(e) == ("NoSuchUpload", 404)


def test_upload_part_copy(s3, bucket):
    src = os.urandom(6 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    up = s3.create_multipart_upload(Bucket=bucket, Key="pc")["UploadId"]
    c1 = s3.upload_part_copy(Bucket=bucket, Key="pc", UploadId=up, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{5 * 1024 * 1024 - 1}")
    c2 = s3.upload_part_copy(Bucket=bucket, Key="pc", UploadId=up, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes={5 * 1024 * 1024}-{len(src) - 1}")
    s3.complete_multipart_upload(Bucket=bucket, Key="pc", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": c1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": c2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="pc")["Body"].read() == src


def test_transfer_manager_roundtrip(s3, bucket, tmp_path):
    data = os.urandom(20 * 1024 * 1024 + 123)
    s3.upload_fileobj(io.BytesIO(data), bucket, "tm")
    out = io.BytesIO()
    s3.download_fileobj(bucket, "tm", out)
    assert out.getvalue() == data
    assert s3.head_object(Bucket=bucket, Key="tm")["ETag"].endswith('-3"')


# --------------------------------------------------------------------------- presigned


def test_presigned_get_put_and_expiry(s3, bucket):
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    req = urllib.request.Request(put_url, data=b"via presigned", method="PUT")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    with urllib.request.urlopen(get_url) as r:
        assert r.read() == b"via presigned"
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=1)
    time.sleep(2.2)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(expired)
    assert e.value.code == 403
    body = e.value.read().decode()
    assert "<Code>AccessDenied</Code>" in body and "Request has expired" in body


def test_presigned_sigv4(serval, bucket):
    from serval_harness import make_client
    s3v4 = make_client(serval.endpoint, "s3", s3={"addressing_style": "path"}, signature_version="s3v4")
    s3v4.put_object(Bucket=bucket, Key="v4", Body=b"four")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v4"}, ExpiresIn=60)
    assert "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"four"


# --------------------------------------------------------------------------- addressing


def test_virtual_host_addressing(serval, bucket, s3):
    s3.put_object(Bucket=bucket, Key="vh", Body=b"virtual")
    port = serval.endpoint.rsplit(":", 1)[1]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/vh", headers={"Host": f"{bucket}.s3.localhost:{port}",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"})
    with urllib.request.urlopen(req) as r:
        assert r.read() == b"virtual"
    req = urllib.request.Request(f"http://127.0.0.1:{port}/vh", headers={"Host": f"{bucket}.s3.eu-west-1.localhost:{port}",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"})
    with urllib.request.urlopen(req) as r:
        assert r.read() == b"virtual"


def test_website(serval, s3, bucket):
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="err.html", Body=b"oops", ContentType="text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "err.html"}})
    port = serval.endpoint.rsplit(":", 1)[1]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"{bucket}.s3-website.localhost:{port}"})
    with urllib.request.urlopen(req) as r:
        assert r.read() == b"<h1>home</h1>"
    req = urllib.request.Request(f"http://127.0.0.1:{port}/missing", headers={"Host": f"{bucket}.s3-website.localhost:{port}"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 404 and e.value.read() == b"oops"


# --------------------------------------------------------------------------- notifications


def test_notifications_to_sqs_with_filters(s3, bucket, serval):
    from serval_harness import make_client
    sqs = make_client(serval.endpoint, "sqs")
    q = sqs.create_queue(QueueName=unique_name("s3evt"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "Id": "cfg", "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".txt"}]}}}]})
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"][0]["QueueArn"] == arn
    s3.put_object(Bucket=bucket, Key="in/a b.txt", Body=b"12345")
    s3.put_object(Bucket=bucket, Key="in/skip.bin", Body=b"x")
    s3.put_object(Bucket=bucket, Key="out/skip.txt", Body=b"x")
    s3.copy_object(Bucket=bucket, Key="in/copy.txt", CopySource={"Bucket": bucket, "Key": "in/a b.txt"})
    s3.delete_object(Bucket=bucket, Key="in/a b.txt")
    events = []
    deadline = time.time() + 10
    while len(events) < 3 and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            events.append(json.loads(m["Body"])["Records"][0])
    names = sorted((e["eventName"], e["s3"]["object"]["key"]) for e in events)
    assert names == [("ObjectCreated:Copy", "in/copy.txt"), ("ObjectCreated:Put", "in/a+b.txt"), ("ObjectRemoved:Delete", "in/a+b.txt")]
    put = next(e for e in events if e["eventName"] == "ObjectCreated:Put")
    assert put["eventSource"] == "aws:s3" and put["eventVersion"] == "2.1"
    assert put["s3"]["bucket"]["name"] == bucket and put["s3"]["object"]["size"] == 5
    assert put["s3"]["object"]["eTag"] == hashlib.md5(b"12345").hexdigest()
    assert put["s3"]["configurationId"] == "cfg"
