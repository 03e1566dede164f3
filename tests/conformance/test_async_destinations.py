"""Asynchronous invocation settings (Put/Get/Update/Delete/ListFunctionEventInvokeConfigs) and
what they do: MaximumRetryAttempts, and OnSuccess/OnFailure destinations receiving Lambda's
destination record (version 1.0, requestContext.condition, approximateInvokeCount,
requestPayload, responseContext, responsePayload). The `recorder` fixture (conftest) is a function
that sends each event it gets over TCP to a Notifier."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from serval_harness import error_of, function_arn, invoke


def test_event_invoke_config_lifecycle(lam, create_fn):
    name = create_fn()["FunctionName"]
    with pytest.raises(ClientError) as e:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert error_of(e.value)[:2] == ("ResourceNotFoundException", 404)
    put = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    assert put["FunctionArn"] == function_arn(name, "$LATEST")
    assert put["MaximumRetryAttempts"] == 1 and "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    upd = lam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=120)
    assert (upd["MaximumRetryAttempts"], upd["MaximumEventAgeInSeconds"]) == (1, 120)
    # Put replaces everything
    again = lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in again and again["MaximumEventAgeInSeconds"] == 60
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert got["MaximumEventAgeInSeconds"] == 60
    listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [function_arn(name, "$LATEST")]
    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.delete_function_event_invoke_config(FunctionName=name)
    assert error_of(e.value)[0] == "ResourceNotFoundException"


def test_event_invoke_config_validation(lam_raw, create_fn):
    name = create_fn()["FunctionName"]
    for kwargs, field in [({"MaximumRetryAttempts": 3}, "maximumRetryAttempts"),
                          ({"MaximumEventAgeInSeconds": 59}, "maximumEventAgeInSeconds")]:
        with pytest.raises(ClientError) as e:
            lam_raw.put_function_event_invoke_config(FunctionName=name, **kwargs)
        code, status, resp = error_of(e.value)
        assert (code, status) == ("ValidationException", 400) and field in resp["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        lam_raw.put_function_event_invoke_config(FunctionName=name, Qualifier="nope", MaximumRetryAttempts=0)
    assert error_of(e.value)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam_raw.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": function_arn(name)}})
    assert error_of(e.value)[0] == "InvalidParameterValueException"


def _record(notifier) -> dict:
    return json.loads(notifier.wait(timeout=30))


def test_on_success_destination_gets_the_record(lam, create_fn, recorder):
    dest, notifier = recorder
    name = create_fn()["FunctionName"]
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": dest}})
    inv = invoke(lam, name, {"hello": "world"}, InvocationType="Event")
    assert inv.status == 202
    rec = _record(notifier)
    assert rec["version"] == "1.0"
    assert rec["requestContext"]["condition"] == "Success"
    assert rec["requestContext"]["functionArn"] == function_arn(name, "$LATEST")
    assert rec["requestContext"]["approximateInvokeCount"] == 1
    assert rec["requestContext"]["requestId"] == inv.request_id
    assert rec["requestPayload"] == {"hello": "world"}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert rec["responsePayload"] == {"hello": "world"}


def test_on_failure_destination_after_the_configured_retries(lam, create_fn, recorder):
    dest, notifier = recorder
    name = create_fn()["FunctionName"]
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": dest}})
    invoke(lam, name, {"fail": "boom"}, InvocationType="Event")
    rec = _record(notifier)
    assert rec["requestContext"]["condition"] == "RetriesExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 1
    assert rec["requestPayload"] == {"fail": "boom"}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                      "functionError": "Unhandled"}
    assert rec["responsePayload"]["errorMessage"] == "boom"
