"""The HTTP surface around the API: health, authentication, unknown routes, malformed requests."""

from __future__ import annotations

import json

import pytest

from serval_harness import error_type, raw_request


def test_health(serval):
    status, doc = serval.health()
    assert status == 200
    assert isinstance(doc, dict)
    assert isinstance(doc.get("version"), str) and doc["version"]
    services = doc.get("services")
    assert services, doc
    assert "lambda" in (services if isinstance(services, (list, dict)) else str(services))
    uptime_keys = [k for k in doc if k.startswith("uptime")]
    assert uptime_keys, doc
    assert isinstance(doc[uptime_keys[0]], (int, float)) and doc[uptime_keys[0]] >= 0


def test_health_content_type(serval):
    status, headers, body = raw_request(serval, "GET", "/_serval/health", sign=False)
    assert status == 200
    assert headers.get("content-type", "").startswith("application/json")
    json.loads(body)


def test_missing_authorization_is_403(serval):
    status, headers, body = raw_request(serval, "GET", "/2015-03-31/functions/", sign=False)
    assert status == 403
    assert "MissingAuthenticationToken" in (error_type(headers, body) or body.decode(errors="replace"))
    doc = json.loads(body)
    assert "Missing Authentication Token" in json.dumps(doc)


def test_unknown_path_is_aws_error_json(serval):
    status, headers, body = raw_request(serval, "GET", "/2015-03-31/no-such-resource/at-all")
    assert 400 <= status < 500, (status, body)
    json.loads(body)
    assert error_type(headers, body), (headers, body)


def test_unknown_method_on_known_path(serval):
    status, headers, body = raw_request(serval, "PATCH", "/2015-03-31/functions/")
    assert 400 <= status < 500, (status, body)
    assert error_type(headers, body), (headers, body)


def test_malformed_json_body(serval):
    status, headers, body = raw_request(serval, "POST", "/2015-03-31/functions", body=b"{this is not json")
    assert 400 <= status < 500, (status, body)
    assert error_type(headers, body), (headers, body)


def test_error_responses_carry_request_id(serval):
    status, headers, body = raw_request(serval, "GET", "/2015-03-31/functions/does-not-exist-abc")
    assert status == 404
    assert error_type(headers, body) == "ResourceNotFoundException"
    assert headers.get("x-amzn-requestid")


def test_deeply_nested_payload_does_not_kill_server(serval, lam, create_fn):
    """Invoke payloads are passed through; deep nesting must not take the server down."""
    name = create_fn()["FunctionName"]
    depth = 100_000
    payload = b"[" * depth + b"]" * depth
    try:
        lam.invoke(FunctionName=name, Payload=payload)
    except Exception:
        pass  # any answer is fine, as long as the server survives
    assert serval.health()[0] == 200


@pytest.mark.parametrize("path", ["/2015-03-31/functions/" + "a" * 200, "/2015-03-31/functions/bad%20name!"])
def test_invalid_function_names(serval, path):
    status, headers, body = raw_request(serval, "GET", path)
    assert 400 <= status < 500, (status, body)
    assert error_type(headers, body) in ("ValidationException", "InvalidParameterValueException",
                                         "ResourceNotFoundException"), (headers, body)
