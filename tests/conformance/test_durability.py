"""State on a --data-dir survives a kill -9 and a clean restart; --ephemeral keeps nothing."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from serval_harness import ROLE, code_sha256, error_of, function_arn, invoke, ok, unique_name


def _deploy(client, python_zip, name):
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                           Code={"ZipFile": python_zip}, Environment={"Variables": {"USER_V": "one"}},
                           Tags={"durable": "yes"})
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    client.publish_version(FunctionName=name, Description="v1")
    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"USER_V": "two"}})
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="durable alias")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    assert ok(invoke(client, name, {"env": True}, Qualifier="live"))["env"]["USER_V"] == "one"


def _check(client, python_zip, name):
    cfg = client.get_function(FunctionName=name)
    assert cfg["Configuration"]["CodeSha256"] == code_sha256(python_zip)
    assert cfg["Configuration"]["Environment"]["Variables"] == {"USER_V": "two"}
    assert cfg["Tags"] == {"durable": "yes"}
    assert cfg["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1"]
    alias = client.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == "1"
    assert alias["Description"] == "durable alias"
    assert alias["AliasArn"] == function_arn(name, "live")

    inv = invoke(client, name, {"env": True}, Qualifier="live")
    assert inv.executed_version == "1"
    assert ok(inv)["env"]["USER_V"] == "one"
    assert ok(invoke(client, name, {"env": True}))["env"]["USER_V"] == "two"
    assert ok(invoke(client, name, {"x": 1}, Qualifier="1")) == {"x": 1}
    # the code download still works after a restart
    assert client.get_function(FunctionName=name, Qualifier="1")["Configuration"]["Version"] == "1"


def test_kill_9_and_restart(serval_factory, tmp_path, python_zip):
    data = tmp_path / "data"
    server = serval_factory(data_dir=data)
    client = server.client()
    name = unique_name("durable")
    _deploy(client, python_zip, name)

    server.kill9()
    server.start()  # same data dir, same port
    client = server.client()
    _check(client, python_zip, name)

    # and it keeps working for writes after the restart
    client.update_function_configuration(FunctionName=name, Description="after crash")
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    assert client.publish_version(FunctionName=name)["Version"] == "2"


def test_clean_restart(serval_factory, tmp_path, python_zip):
    data = tmp_path / "data"
    server = serval_factory(data_dir=data)
    name = unique_name("durable")
    _deploy(server.client(), python_zip, name)
    server.stop()
    assert server.proc.returncode is not None
    server.start()
    _check(server.client(), python_zip, name)


def test_restart_on_new_port_same_dir(serval_factory, tmp_path, python_zip):
    data = tmp_path / "data"
    first = serval_factory(data_dir=data)
    name = unique_name("durable")
    _deploy(first.client(), python_zip, name)
    first.kill9()
    second = serval_factory(data_dir=data)
    assert second.port != first.port
    client = second.client()
    _check(client, python_zip, name)
    # functions see the new endpoint
    env = ok(invoke(client, name, {"env": True}))["env"]
    assert env["AWS_ENDPOINT_URL"].rstrip("/").endswith(f":{second.port}")


def test_ephemeral_keeps_nothing(serval_factory, python_zip):
    server = serval_factory()
    name = unique_name("ephemeral")
    client = server.client()
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                           Code={"ZipFile": python_zip})
    server.stop()
    server.start()
    with pytest.raises(ClientError) as ei:
        server.client().get_function(FunctionName=name)
    assert error_of(ei.value)[0] == "ResourceNotFoundException"
