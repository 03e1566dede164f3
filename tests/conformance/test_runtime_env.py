"""What a function sees inside its execution environment: the context object, the environment
variables Lambda defines, credentials and endpoint for SDK calls, and init-phase errors."""

from __future__ import annotations

import re
import time

import pytest

from serval_harness import REGION, function_arn, invoke, ok


# --------------------------------------------------------------------------- context


def test_python_context(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, MemorySize=256, Timeout=10)
    inv = invoke(lam, name, {"context": True})
    ctx = ok(inv)["context"]
    assert ctx["aws_request_id"] == inv.request_id
    assert ctx["function_name"] == name
    assert ctx["function_version"] == "$LATEST"
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["invoked_function_arn"] == function_arn(name)
    assert ctx["log_group_name"] == f"/aws/lambda/{name}"
    assert ctx["log_stream_name"]
    assert 8000 < ctx["remaining_time_in_millis"] <= 10000


def test_request_ids_are_unique(lam, create_fn):
    name = create_fn()["FunctionName"]
    ids = set()
    for _ in range(5):
        inv = invoke(lam, name, {"context": True})
        assert ok(inv)["context"]["aws_request_id"] == inv.request_id
        ids.add(inv.request_id)
    assert len(ids) == 5
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", i) for i in ids)


def test_remaining_time_decreases(lam, create_fn):
    name = create_fn(Timeout=5)["FunctionName"]
    before = ok(invoke(lam, name, {"context": True}))["context"]["remaining_time_in_millis"]
    # sleep inside the handler before reading the clock
    inv = invoke(lam, name, {"sleep_ms": 600, "context": True})
    after = ok(inv)["context"]["remaining_time_in_millis"]
    assert before > 4500
    assert after < before - 500


@pytest.mark.parametrize("style", ["async", "callback", "esm"])
def test_node_context(lam, create_fn, node_zips, fn_name, style):
    name = fn_name()
    create_fn(name=name, zip_bytes=node_zips[style], runtime="nodejs20.x", handler="index.handler", Timeout=10)
    inv = invoke(lam, name, {"context": True})
    ctx = ok(inv)["context"]
    assert ctx["awsRequestId"] == inv.request_id
    assert ctx["functionName"] == name
    assert 8000 < ctx["remainingTimeInMillis"] <= 10000
    if style == "async":
        assert ctx["functionVersion"] == "$LATEST"
        assert ctx["memoryLimitInMB"] == "128"
        assert ctx["invokedFunctionArn"] == function_arn(name)
        assert ctx["logGroupName"] == f"/aws/lambda/{name}"


def test_rust_context(lam, create_fn, rust_zip, fn_name):
    name = fn_name()
    create_fn(name=name, zip_bytes=rust_zip, runtime="provided.al2023", handler="bootstrap", Timeout=10, MemorySize=192)
    now_ms = int(time.time() * 1000)
    inv = invoke(lam, name, {"context": True})
    ctx = ok(inv)["context"]
    assert ctx["request_id"] == inv.request_id
    assert ctx["invoked_function_arn"] == function_arn(name)
    # deadline is epoch milliseconds, about Timeout seconds away
    assert now_ms + 8000 < ctx["deadline"] < now_ms + 11000 + 2000
    assert ctx["function_name"] == name
    assert ctx["memory"] == 192
    assert ctx["version"] == "$LATEST"


# --------------------------------------------------------------------------- environment variables


def test_python_environment_variables(lam, create_fn, fn_name, serval):
    name = fn_name()
    create_fn(name=name, MemorySize=256, Environment={"Variables": {"USER_A": "1", "USER_B": "hello world"}})
    body = ok(invoke(lam, name, {"env": True}))
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == REGION
    assert env["AWS_DEFAULT_REGION"] == REGION
    assert env["_HANDLER"] == "handler.handler"
    assert env["USER_A"] == "1"
    assert env["USER_B"] == "hello world"

    task_root = env["LAMBDA_TASK_ROOT"]
    assert task_root
    assert "handler.py" in body["task_root_files"]
    assert body["cwd"] == task_root

    assert re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d+", env["AWS_LAMBDA_RUNTIME_API"]), env["AWS_LAMBDA_RUNTIME_API"]
    endpoint = env["AWS_ENDPOINT_URL"]
    assert endpoint.startswith("http")
    assert endpoint.rstrip("/").endswith(f":{serval.port}"), endpoint

    # credentials so that SDK calls sign
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert env.get(key), key


def test_documented_runtime_environment_variables(lam, create_fn, fn_name):
    """The rest of the 'defined runtime environment variables' table of the Lambda docs."""
    name = fn_name()
    create_fn(name=name, runtime="python3.12")
    env = ok(invoke(lam, name, {"env": True}))["env"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["LAMBDA_RUNTIME_DIR"]
    assert env["TZ"] == ":UTC"
    assert env["LANG"] == "en_US.UTF-8"
    assert "PATH" in env


def test_node_environment_variables(lam, create_fn, node_zips, fn_name):
    name = fn_name()
    create_fn(name=name, zip_bytes=node_zips["async"], runtime="nodejs20.x", handler="index.handler",
              Environment={"Variables": {"USER_NODE": "yes"}})
    env = ok(invoke(lam, name, {"env": True}))["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["_HANDLER"] == "index.handler"
    assert env["AWS_REGION"] == REGION
    assert env["USER_NODE"] == "yes"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs20.x"


def test_rust_environment_variables(lam, create_fn, rust_zip, fn_name):
    name = fn_name()
    create_fn(name=name, zip_bytes=rust_zip, runtime="provided.al2023", handler="bootstrap",
              Environment={"Variables": {"USER_RUST": "ferris"}})
    env = ok(invoke(lam, name, {"env": True}))["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_RUNTIME_API"]
    assert env["AWS_REGION"] == REGION
    assert env["_HANDLER"] == "bootstrap"
    assert env["USER_RUST"] == "ferris"
    assert env["LAMBDA_TASK_ROOT"]


def test_boto3_inside_function_reaches_serval(lam, create_fn, fn_name, serval):
    name = fn_name()
    create_fn(name=name, Timeout=30, MemorySize=256)
    body = ok(invoke(lam, name, {"boto3": True}))
    assert name in body["functions"]
    assert body["endpoint"].rstrip("/").endswith(f":{serval.port}")


# --------------------------------------------------------------------------- init errors


def test_python_import_error(lam, create_fn, python_import_error_zip):
    name = create_fn(zip_bytes=python_import_error_zip)["FunctionName"]
    inv = invoke(lam, name, {})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.ImportModuleError"
    assert inv.payload["errorMessage"].startswith("Unable to import module 'handler'")
    assert "serval_module_that_does_not_exist" in inv.payload["errorMessage"]


def test_python_missing_module(lam, create_fn):
    name = create_fn(handler="nosuchmodule.handler")["FunctionName"]
    inv = invoke(lam, name, {})
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.ImportModuleError"
    assert inv.payload["errorMessage"].startswith("Unable to import module 'nosuchmodule'")


def test_python_handler_not_found(lam, create_fn):
    name = create_fn(handler="handler.nope")["FunctionName"]
    inv = invoke(lam, name, {})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.HandlerNotFound"
    assert inv.payload["errorMessage"] == "Handler 'nope' missing on module 'handler'"


def test_node_handler_not_found(lam, create_fn, node_zips):
    name = create_fn(zip_bytes=node_zips["async"], runtime="nodejs20.x", handler="index.nope")["FunctionName"]
    inv = invoke(lam, name, {})
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.HandlerNotFound"


def test_init_error_is_retried_on_next_invoke(lam, create_fn, python_import_error_zip, python_zip, wait_fn_updated):
    """After an init failure, fixing the code makes the next invoke work (no stuck environment)."""
    name = create_fn(zip_bytes=python_import_error_zip)["FunctionName"]
    assert invoke(lam, name, {}).function_error == "Unhandled"
    assert invoke(lam, name, {}).function_error == "Unhandled"
    lam.update_function_code(FunctionName=name, ZipFile=python_zip)
    wait_fn_updated(lam, name)
    assert ok(invoke(lam, name, {"fixed": True})) == {"fixed": True}
