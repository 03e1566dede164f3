"""Invoke: invocation types, logs, errors, timeouts, crashes, payload limits and warm state,
for the Python, Node.js and Rust (provided.al2023 + lambda_runtime) test functions."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from serval_harness import error_of, invoke, make_zip, ok, serval_bin, wait_until

SIX_MB = 6 * 1024 * 1024


# --------------------------------------------------------------------------- echo per runtime


@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
def test_python_echo(lam, create_fn, runtime):
    name = create_fn(runtime=runtime)["FunctionName"]
    event = {"hello": "world", "n": [1, 2, 3], "nested": {"unicode": "żółw 🐢"}}
    inv = invoke(lam, name, event)
    assert ok(inv) == event
    assert inv.executed_version == "$LATEST"
    assert inv.headers.get("content-type", "").startswith("application/json")


@pytest.mark.parametrize("style", ["async", "callback", "esm"])
def test_node_echo(lam, create_fn, node_zips, style):
    name = create_fn(zip_bytes=node_zips[style], runtime="nodejs20.x", handler="index.handler")["FunctionName"]
    event = {"hello": style, "list": [1, "two", None]}
    assert ok(invoke(lam, name, event)) == event
    assert ok(invoke(lam, name, {"counter": True})) == {"counter": 2, "style": style}


def test_rust_echo(lam, create_fn, rust_zip):
    name = create_fn(zip_bytes=rust_zip, runtime="provided.al2023", handler="bootstrap")["FunctionName"]
    event = {"hello": "rust", "n": 42}
    inv = invoke(lam, name, event)
    assert ok(inv) == event
    assert inv.executed_version == "$LATEST"


def test_non_object_payloads(lam, create_fn):
    name = create_fn()["FunctionName"]
    for payload in ([1, 2, 3], "a string", 42, None):
        assert ok(invoke(lam, name, json.dumps(payload).encode())) == payload


def test_empty_payload(lam, create_fn):
    # Invoke with no payload at all: the function receives {} (an empty JSON object)
    name = create_fn()["FunctionName"]
    assert ok(invoke(lam, name)) == {}


def test_invalid_json_payload(lam, create_fn):
    name = create_fn()["FunctionName"]
    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert error_of(ei.value)[:2] == ("InvalidRequestContentException", 400)


# --------------------------------------------------------------------------- invocation types


def test_event_invocation_runs_function(lam, create_fn, notifier, serval):
    name = create_fn()["FunctionName"]
    marker = f"async-marker-{uuid.uuid4().hex}"
    inv = invoke(lam, name, {"notify": notifier.addr, "print": marker}, InvocationType="Event")
    assert inv.status == 202
    assert inv.body_bytes == b""
    assert inv.function_error is None

    def ran():
        if notifier.messages:
            return "notified"
        try:
            out = subprocess.run([str(serval_bin()), "logs", name, "--endpoint", serval.endpoint],
                                 capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return "logs" if marker in out.stdout else None

    wait_until(ran, timeout=15, interval=0.2, message="the Event invocation to run")


def test_event_invocation_of_missing_function(lam):
    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=f"missing-{uuid.uuid4().hex[:8]}", InvocationType="Event", Payload=b"{}")
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)


def test_dry_run(lam, create_fn, notifier):
    name = create_fn()["FunctionName"]
    inv = invoke(lam, name, {"notify": notifier.addr}, InvocationType="DryRun")
    assert inv.status == 204
    assert inv.body_bytes == b""
    time.sleep(0.3)
    assert not notifier.messages


def test_log_type_tail(lam, create_fn):
    name = create_fn()["FunctionName"]
    marker = f"tail-marker-{uuid.uuid4().hex}"
    inv = invoke(lam, name, {"print": marker}, LogType="Tail")
    ok(inv)
    assert inv.log_result, "no X-Amz-Log-Result header"
    log = inv.log
    rid = inv.request_id
    assert marker in log
    assert f"START RequestId: {rid}" in log
    assert f"END RequestId: {rid}" in log
    assert f"REPORT RequestId: {rid}" in log
    report = next(line for line in log.splitlines() if line.startswith("REPORT"))
    for field in ("Duration:", "Billed Duration:", "Memory Size: 128 MB", "Max Memory Used:"):
        assert field in report, report
    assert log.index("START") < log.index(marker) < log.index("END")
    assert len(base64.b64decode(inv.log_result)) <= 4096


def test_log_tail_is_last_4kb(lam, create_fn):
    name = create_fn()["FunctionName"]
    inv = invoke(lam, name, {"print": "y" * 10000}, LogType="Tail")
    ok(inv)
    log = base64.b64decode(inv.log_result)
    assert 0 < len(log) <= 4096
    assert b"REPORT RequestId" in log  # the tail, not the head


def test_no_log_result_without_tail(lam, create_fn):
    name = create_fn()["FunctionName"]
    inv = invoke(lam, name, {"print": "quiet"})
    ok(inv)
    assert inv.log_result is None


# --------------------------------------------------------------------------- function errors


def test_python_function_error(lam, create_fn):
    name = create_fn()["FunctionName"]
    inv = invoke(lam, name, {"fail": "boom"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorMessage"] == "boom"
    assert inv.payload["errorType"] == "EchoError"
    assert isinstance(inv.payload["stackTrace"], list) and inv.payload["stackTrace"]
    assert any("handler.py" in frame for frame in inv.payload["stackTrace"])
    # the environment survives a handled exception: state is kept
    assert ok(invoke(lam, name, {"counter": True}))["counter"] == 2


@pytest.mark.parametrize("style", ["async", "callback", "esm"])
def test_node_function_error(lam, create_fn, node_zips, style):
    name = create_fn(zip_bytes=node_zips[style], runtime="nodejs20.x", handler="index.handler")["FunctionName"]
    inv = invoke(lam, name, {"fail": "node boom"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorMessage"] == "node boom"
    assert inv.payload["errorType"] == "Error"
    assert isinstance(inv.payload.get("trace", inv.payload.get("stackTrace")), list)


def test_rust_function_error(lam, create_fn, rust_zip):
    name = create_fn(zip_bytes=rust_zip, runtime="provided.al2023", handler="bootstrap")["FunctionName"]
    inv = invoke(lam, name, {"fail": "rust boom"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload == {"errorType": "EchoError", "errorMessage": "rust boom"}
    assert ok(invoke(lam, name, {"after": "error"})) == {"after": "error"}


# --------------------------------------------------------------------------- timeouts and crashes


@pytest.mark.parametrize("kind", ["python", "rust"])
def test_timeout_then_fresh_environment(lam, create_fn, rust_zip, kind):
    if kind == "python":
        name = create_fn(Timeout=1)["FunctionName"]
    else:
        name = create_fn(zip_bytes=rust_zip, runtime="provided.al2023", handler="bootstrap", Timeout=1)["FunctionName"]
    ok(invoke(lam, name, {"counter": True}))  # warm up, so the timeout hits a warm environment

    start = time.monotonic()
    inv = invoke(lam, name, {"sleep_ms": 3000})
    elapsed = time.monotonic() - start
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert "Task timed out after 1.00 seconds" in inv.payload["errorMessage"]
    assert elapsed < 2.8, f"timeout answered after {elapsed:.2f}s: the function was not stopped at 1 s"

    # the timed-out environment is discarded: the next invoke works, in a fresh one
    nxt = invoke(lam, name, {"counter": True})
    assert ok(nxt)["counter"] == 1


def test_timeout_reported_in_logs(lam, create_fn):
    name = create_fn(Timeout=1)["FunctionName"]
    inv = invoke(lam, name, {"sleep_ms": 2500}, LogType="Tail")
    assert inv.function_error == "Unhandled"
    assert "Task timed out after 1.00 seconds" in inv.log
    assert f"REPORT RequestId: {inv.request_id}" in inv.log


def test_process_crash(lam, create_fn, serval):
    name = create_fn()["FunctionName"]
    ok(invoke(lam, name, {"counter": True}))
    inv = invoke(lam, name, {"exit": 1})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.ExitError"
    assert "Runtime exited" in inv.payload["errorMessage"]
    assert serval.health()[0] == 200
    assert ok(invoke(lam, name, {"counter": True}))["counter"] == 1


def test_runtime_exiting_during_init(lam, create_fn):
    # a bootstrap that dies before its first /next: the invocation that waited for it gets the error
    name = create_fn(make_zip({"bootstrap": ("#!/bin/sh\necho starting\nexit 3\n", 0o755)}),
                     runtime="provided.al2023", handler="x")["FunctionName"]
    inv = invoke(lam, name, {})
    assert inv.function_error == "Unhandled"
    assert inv.payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {inv.request_id} Error: Runtime exited with error: exit status 3",
    }


def test_process_exit_zero_mid_invoke(lam, create_fn, serval):
    # exit status 0 in the middle of an invoke is still an error for that invoke
    name = create_fn()["FunctionName"]
    inv = invoke(lam, name, {"exit": 0})
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.ExitError"
    assert ok(invoke(lam, name, {"x": 1})) == {"x": 1}


# --------------------------------------------------------------------------- payload limits


def test_request_payload_too_large(lam, create_fn, serval):
    name = create_fn()["FunctionName"]
    payload = b'{"data":"' + b"x" * SIX_MB + b'"}'
    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=name, Payload=payload)
    code, status, _ = error_of(ei.value)
    assert (code, status) == ("RequestTooLargeException", 413)
    assert serval.health()[0] == 200
    assert ok(invoke(lam, name, {"still": "fine"})) == {"still": "fine"}


def test_large_payload_round_trip(lam, create_fn):
    name = create_fn(MemorySize=512)["FunctionName"]
    data = "z" * (5 * 1024 * 1024)
    assert ok(invoke(lam, name, {"data": data})) == {"data": data}


def test_response_payload_too_large(lam, create_fn):
    name = create_fn(MemorySize=512)["FunctionName"]
    inv = invoke(lam, name, {"big_response": SIX_MB + 1024})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Function.ResponseSizeTooLarge"


# --------------------------------------------------------------------------- warm state


def test_warm_state_python(lam, create_fn):
    name = create_fn()["FunctionName"]
    results = [ok(invoke(lam, name, {"counter": True})) for _ in range(4)]
    assert [r["counter"] for r in results] == [1, 2, 3, 4]
    assert len({r["pid"] for r in results}) == 1


def test_warm_state_rust(lam, create_fn, rust_zip):
    name = create_fn(zip_bytes=rust_zip, runtime="provided.al2023", handler="bootstrap")["FunctionName"]
    counts = [ok(invoke(lam, name, {"counter": True}))["counter"] for _ in range(3)]
    assert counts == [1, 2, 3]


def test_parallel_invokes(lam, create_fn):
    name = create_fn(Timeout=30)["FunctionName"]
    ok(invoke(lam, name, {}))

    def one(i):
        return invoke(lam, name, {"sleep_ms": 1000, "i": i})

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(10)))
    elapsed = time.monotonic() - start
    for i, inv in enumerate(results):
        assert ok(inv) == {"sleep_ms": 1000, "i": i}
    assert len({inv.request_id for inv in results}) == 10
    assert elapsed < 6.0, f"10 parallel 1 s invokes took {elapsed:.1f}s: they did not run concurrently"
