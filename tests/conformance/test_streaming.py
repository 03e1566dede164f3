"""A runtime that streams its response (chunked, with error trailers), as the
official Node client does for `awslambda.streamifyResponse` handlers, invoked
through the buffered Invoke API."""

from serval_harness import FUNCTIONS_DIR, invoke, make_zip, ok

BOOTSTRAP = (FUNCTIONS_DIR / "raw" / "streaming_bootstrap.py").read_text()


def test_streamed_response_and_midstream_error(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(make_zip({"bootstrap": (BOOTSTRAP, 0o755)}), runtime="provided.al2023",
              handler="stream", name=name)
    good = invoke(lam, name, {"mode": "ok"})
    assert ok(good) == b"partial"
    bad = invoke(lam, name, {"mode": "fail"})
    assert bad.status == 200
    assert bad.function_error == "Unhandled"
    assert bad.payload == {"errorType": "Error", "errorMessage": "midway"}


def _events(resp):
    out = []
    for event in resp["EventStream"]:
        out.append(event)
    return out


def test_invoke_with_response_stream(lam, create_fn, fn_name):
    """InvokeWithResponseStream through boto3's event-stream parser: the payload
    arrives as PayloadChunk events, then InvokeComplete; a function error is
    reported in InvokeComplete."""
    name = fn_name()
    create_fn(name=name)
    resp = lam.invoke_with_response_stream(FunctionName=name, Payload=b'{"hello": "stream"}', LogType="Tail")
    assert resp["StatusCode"] == 200
    assert resp["ExecutedVersion"] == "$LATEST"
    events = _events(resp)
    payload = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
    assert b"stream" in payload
    complete = [e["InvokeComplete"] for e in events if "InvokeComplete" in e]
    assert len(complete) == 1 and "ErrorCode" not in complete[0]
    assert "REPORT RequestId" in __import__("base64").b64decode(complete[0]["LogResult"]).decode()

    failed = _events(lam.invoke_with_response_stream(FunctionName=name, Payload=b'{"fail": "stream broke"}'))
    done = [e["InvokeComplete"] for e in failed if "InvokeComplete" in e][0]
    assert done["ErrorCode"]
    assert "stream broke" in done["ErrorDetails"]


QUIRKY = (FUNCTIONS_DIR / "raw" / "quirky_bootstrap.py").read_text()


def _quirky(create_fn, fn_name, scenario):
    name = fn_name()
    create_fn(make_zip({"bootstrap": (QUIRKY, 0o755)}), runtime="provided.al2023", handler="x", name=name,
              Timeout=5, Environment={"Variables": {"SCENARIO": scenario}})
    return name


def test_runtime_that_reconnects_for_next(lam, create_fn, fn_name):
    name = _quirky(create_fn, fn_name, "reconnect")
    for i in range(3):
        assert ok(invoke(lam, name, {"n": i})) == {"echo": {"n": i}}


def test_runtime_that_closes_after_next(lam, create_fn, fn_name):
    name = _quirky(create_fn, fn_name, "close")
    for i in range(3):
        assert ok(invoke(lam, name, {"n": i})) == {"echo": {"n": i}}


def test_oversized_answer_on_another_connection(lam, create_fn, fn_name):
    name = _quirky(create_fn, fn_name, "big_elsewhere")
    inv = invoke(lam, name, {})
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Function.ResponseSizeTooLarge"
