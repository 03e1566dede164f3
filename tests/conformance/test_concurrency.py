"""Reserved concurrency (Put/Get/DeleteFunctionConcurrency, throttling) and provisioned
concurrency (Put/Get/List/DeleteProvisionedConcurrencyConfig)."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from serval_harness import ROLE, error_of, function_arn, invoke, make_zip, ok, wait_until


# --------------------------------------------------------------------------- reserved


def test_reserved_concurrency_lifecycle(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)

    put = lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert put["ReservedConcurrentExecutions"] == 5
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 5}

    resp = lam.delete_function_concurrency(FunctionName=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert "Concurrency" not in lam.get_function(FunctionName=name)


def test_reserved_zero_throttles(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    ok(invoke(lam, name, {}))
    assert lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)[
        "ReservedConcurrentExecutions"] == 0

    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=name, Payload=b"{}")
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("TooManyRequestsException", 429)
    assert resp.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded", resp
    assert resp.get("Type") == "User", resp

    lam.delete_function_concurrency(FunctionName=name)
    assert ok(invoke(lam, name, {"back": 1})) == {"back": 1}


def test_reserved_concurrency_one_throttles_second_caller(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, Timeout=10)
    ok(invoke(lam, name, {}))
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)

    results = {}

    def slow():
        results["slow"] = invoke(lam, name, {"sleep_ms": 2000})

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.6)
    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=name, Payload=b"{}")
    t.join()
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("TooManyRequestsException", 429)
    assert resp.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert ok(results["slow"]) == {"sleep_ms": 2000}
    # capacity is released once the first invoke ends
    assert ok(invoke(lam, name, {"after": 1})) == {"after": 1}


def test_reserved_concurrency_reduces_unreserved(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False)
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=7)
    during = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    lam.delete_function_concurrency(FunctionName=name)
    after = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert during == before - 7
    assert after == before


def test_reserved_concurrency_validation(lam, lam_raw, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False, Publish=True)
    # more than the account can give while keeping 100 unreserved
    with pytest.raises(ClientError) as ei:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1000)
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)
    # only on the function, not on a version
    with pytest.raises(ClientError) as ei:
        lam.put_function_concurrency(FunctionName=function_arn(name, "1"), ReservedConcurrentExecutions=1)
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as ei:
        lam.put_function_concurrency(FunctionName="no-such-fn-xyz", ReservedConcurrentExecutions=1)
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- provisioned


def _ready(lam, name, qualifier):
    cfg = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
    assert cfg["Status"] in ("IN_PROGRESS", "READY"), cfg
    return cfg if cfg["Status"] == "READY" else None


def test_provisioned_concurrency_lifecycle(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, Publish=True)

    put = lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    assert put["Status"] in ("IN_PROGRESS", "READY")

    cfg = wait_until(lambda: _ready(lam, name, "1"), timeout=30, interval=0.2, message="provisioned READY")
    assert cfg["RequestedProvisionedConcurrentExecutions"] == 1
    assert cfg["AvailableProvisionedConcurrentExecutions"] == 1
    assert cfg["AllocatedProvisionedConcurrentExecutions"] == 1
    assert cfg["LastModified"]

    listed = lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [function_arn(name, "1")]

    # a provisioned environment is already initialised
    env = ok(invoke(lam, name, {"env": True}, Qualifier="1"))["env"]
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"

    resp = lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert error_of(ei.value)[:2] == ("ProvisionedConcurrencyConfigNotFoundException", 404)
    assert lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []
    assert ok(invoke(lam, name, {"x": 1}, Qualifier="1")) == {"x": 1}


def test_provisioned_concurrency_on_alias(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_until(lambda: _ready(lam, name, "live"), timeout=30, interval=0.2, message="provisioned READY")
    inv = invoke(lam, name, {"y": 2}, Qualifier="live")
    assert ok(inv) == {"y": 2}
    assert inv.executed_version == "1"
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")


def test_provisioned_concurrency_on_latest_is_refused(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False)
    with pytest.raises(ClientError) as ei:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST",
                                               ProvisionedConcurrentExecutions=1)
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "unpublished" in resp["Error"]["Message"]
    with pytest.raises(ClientError) as ei:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST")
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)


def test_provisioned_concurrency_errors(lam, lam_raw, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False, Publish=True)
    with pytest.raises(ClientError) as ei:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert error_of(ei.value)[:2] == ("ProvisionedConcurrencyConfigNotFoundException", 404)
    # deleting a config that does not exist is not an error
    resp = lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="9", ProvisionedConcurrentExecutions=1)
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        lam_raw.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=0)
    assert error_of(ei.value)[:2] == ("ValidationException", 400)


def test_provisioned_concurrency_shares_the_unreserved_pool(serval_factory):
    """Provisioned concurrency of functions without reserved concurrency comes
    out of one account pool, which keeps 100 unreserved."""
    server = serval_factory(extra_args=["--account-concurrency", "105"])
    lam = server.client()
    zip_bytes = make_zip({"handler.py": "def handler(e, c):\n    return e\n"})
    for name in ("pa", "pb"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": zip_bytes}, Publish=True)
    lam.put_provisioned_concurrency_config(FunctionName="pa", Qualifier="1", ProvisionedConcurrentExecutions=3)
    with pytest.raises(ClientError) as ei:
        lam.put_provisioned_concurrency_config(FunctionName="pb", Qualifier="1", ProvisionedConcurrentExecutions=3)
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)
    # Reserving for another function must leave room for pa's provisioned 3 too.
    with pytest.raises(ClientError) as ei:
        lam.put_function_concurrency(FunctionName="pb", ReservedConcurrentExecutions=3)
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)
    lam.put_provisioned_concurrency_config(FunctionName="pb", Qualifier="1", ProvisionedConcurrentExecutions=2)
