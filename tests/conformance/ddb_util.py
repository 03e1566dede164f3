"""Small helpers for the DynamoDB conformance tests: Python values <-> AttributeValues, and
asserting the error a call fails with."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from serval_harness import REGION, error_of


def av(v):
    """A Python value as a DynamoDB AttributeValue (int/Decimal/float -> N, set -> SS/NS/BS)."""
    if isinstance(v, bool):
        return {"BOOL": v}
    if v is None:
        return {"NULL": True}
    if isinstance(v, (int, Decimal)):
        return {"N": str(v)}
    if isinstance(v, float):
        return {"N": repr(v)}
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, (bytes, bytearray)):
        return {"B": bytes(v)}
    if isinstance(v, (list, tuple)):
        return {"L": [av(x) for x in v]}
    if isinstance(v, dict):
        return {"M": {k: av(x) for k, x in v.items()}}
    if isinstance(v, (set, frozenset)):
        items = list(v)
        if all(isinstance(x, str) for x in items):
            return {"SS": items}
        if all(isinstance(x, (bytes, bytearray)) for x in items):
            return {"BS": [bytes(x) for x in items]}
        return {"NS": [str(x) for x in items]}
    raise TypeError(f"no AttributeValue for {v!r}")


def avs(d: dict) -> dict:
    """A dict of Python values as an item / key / ExpressionAttributeValues map."""
    return {k: av(v) for k, v in d.items()}


def _num(s: str):
    d = Decimal(s)
    return int(d) if d == d.to_integral_value() and "." not in s and "e" not in s.lower() else d


def py(a: dict):
    """An AttributeValue as a Python value (N -> int when written as an integer, else Decimal)."""
    (t, v), = a.items()
    if t == "S":
        return v
    if t == "N":
        return _num(v)
    if t == "B":
        return v
    if t == "BOOL":
        return v
    if t == "NULL":
        return None
    if t == "L":
        return [py(x) for x in v]
    if t == "M":
        return {k: py(x) for k, x in v.items()}
    if t == "SS":
        return set(v)
    if t == "NS":
        return {_num(x) for x in v}
    if t == "BS":
        return set(v)
    raise AssertionError(f"unknown AttributeValue type {t}")


def pyitem(item: dict | None):
    return None if item is None else {k: py(v) for k, v in item.items()}


def expect_error(code: str, fn, *args, message: str | None = None, contains: str | None = None,
                 status: int = 400, **kwargs) -> dict:
    """Call fn(*args, **kwargs), assert it fails with `code` (and the exact `message`, or a message
    containing `contains`), return the error response."""
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    got, http, resp = error_of(ei.value)
    msg = resp.get("Error", {}).get("Message", "")
    assert got == code, f"expected {code}, got {got}: {msg}"
    assert http == status, resp
    if message is not None:
        assert msg == message
    if contains is not None:
        assert contains in msg, msg
    return resp


def raw_call(endpoint: str, target: str, body: bytes | str, content_type: str = "application/x-amz-json-1.0",
             service: str = "dynamodb", extra_headers: dict | None = None):
    """POST one signed request with an arbitrary body; return (status, headers, parsed-or-raw body)."""
    import urllib.error
    import urllib.request

    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": content_type, "X-Amz-Target": target, **(extra_headers or {})}
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials("test", "test-secret"), service, REGION).add_auth(req)
    r = urllib.request.Request(endpoint + "/", data=body, headers=dict(req.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            status, hdrs, data = resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, data = e.code, dict(e.headers.items()), e.read()
    try:
        doc = json.loads(data)
    except ValueError:
        doc = data
    return status, {k.lower(): v for k, v in hdrs.items()}, doc


def error_code_of_body(doc) -> str:
    """The short error code of a JSON 1.0 error body (`__type` after the '#')."""
    return str(doc.get("__type", "")).split("#")[-1] if isinstance(doc, dict) else ""


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()
