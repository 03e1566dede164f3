"""Serval's own command line: `serval logs`, and the serve flags --idle-timeout and
--account-concurrency (Serval-specific, not AWS behaviour)."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
import uuid

from serval_harness import ROLE, invoke, ok, serval_bin, unique_name, wait_until


def run_logs(name: str, endpoint: str) -> str:
    out = subprocess.run([str(serval_bin()), "logs", name, "--endpoint", endpoint],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_logs_prints_invocation_lines(lam, create_fn, serval):
    name = create_fn()["FunctionName"]
    marker = f"logs-marker-{uuid.uuid4().hex}"
    inv = invoke(lam, name, {"print": marker})
    ok(inv)
    rid = inv.request_id

    def has_all():
        text = run_logs(name, serval.endpoint)
        return text if all(s in text for s in (marker, f"START RequestId: {rid}", f"END RequestId: {rid}",
                                                f"REPORT RequestId: {rid}")) else None

    text = wait_until(has_all, timeout=10, interval=0.2, message="serval logs to show the invocation")
    assert text.index(f"START RequestId: {rid}") < text.index(marker) < text.index(f"REPORT RequestId: {rid}")


def test_logs_of_missing_function_fails(serval):
    out = subprocess.run([str(serval_bin()), "logs", "no-such-function-xyz", "--endpoint", serval.endpoint],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode != 0


def test_logs_follow(lam, create_fn, serval):
    name = create_fn()["FunctionName"]
    proc = subprocess.Popen([str(serval_bin()), "logs", name, "--follow", "--endpoint", serval.endpoint],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        marker = f"follow-marker-{uuid.uuid4().hex}"
        ok(invoke(lam, name, {"print": marker}))
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        seen = b""
        deadline = time.monotonic() + 10
        while marker.encode() not in seen and time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                seen += chunk
        assert marker.encode() in seen, seen[-2000:]
        assert proc.poll() is None, "--follow should keep running"
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_idle_timeout_reaps_environments(serval_factory, python_zip):
    server = serval_factory(extra_args=["--idle-timeout", "1"])
    client = server.client()
    name = unique_name("idle")
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                           Code={"ZipFile": python_zip})
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    first = ok(invoke(client, name, {"counter": True}))
    assert ok(invoke(client, name, {"counter": True}))["counter"] == 2  # warm within the idle window
    time.sleep(3)
    later = ok(invoke(client, name, {"counter": True}))
    assert later["counter"] == 1, "environment was not reaped after --idle-timeout"
    assert later["env_id"] != first["env_id"]


def test_account_concurrency_flag(serval_factory):
    server = serval_factory(extra_args=["--account-concurrency", "250"])
    limit = server.client().get_account_settings()["AccountLimit"]
    assert limit["ConcurrentExecutions"] == 250
    assert limit["UnreservedConcurrentExecutions"] == 250
