"""Helpers for the SQS conformance tests: AWS's digest algorithms (as the Java, Go and JS SDKs
compute them to verify answers), queue ARNs, and signed query-protocol requests."""

from __future__ import annotations

import hashlib
import http.client
import struct
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from serval_harness import ACCOUNT, REGION

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def md5_of_attributes(attrs: dict) -> str:
    """The SDKs' MessageMD5ChecksumInterceptor algorithm."""
    d = hashlib.md5()

    def put(b: bytes):
        d.update(struct.pack(">I", len(b)) + b)

    for name in sorted(attrs):
        v = attrs[name]
        put(name.encode())
        put(v["DataType"].encode())
        if "StringValue" in v:
            d.update(b"\x01")
            put(v["StringValue"].encode())
        else:
            d.update(b"\x02")
            put(v["BinaryValue"])
    return d.hexdigest()


def queue_arn(url: str) -> str:
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


def query(serval, params: dict, path: str = "/", host: str | None = None, access_key: str = "test"):
    """A SigV4-signed query-protocol POST; returns (status, root element with namespaces stripped, raw)."""
    body = urllib.parse.urlencode(params)
    hdrs = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    url = f"http://{host or f'127.0.0.1:{serval.port}'}{path}"
    req = AWSRequest(method="POST", url=url, data=body, headers=hdrs)
    SigV4Auth(Credentials(access_key, "secret"), "sqs", REGION).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", serval.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    root = ET.fromstring(raw)
    for el in root.iter():
        if el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return resp.status, root, raw
