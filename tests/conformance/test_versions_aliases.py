"""PublishVersion, ListVersionsByFunction, aliases (with weighted routing), qualified invokes and
DeleteFunction with a Qualifier."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from serval_harness import UUID_RE, error_of, function_arn, invoke, ok


def _two_versions(lam, create_fn, name, wait_fn_updated):
    """$LATEST with USER_V=one published as 1, then USER_V=two published as 2."""
    create_fn(name=name, Environment={"Variables": {"USER_V": "one"}})
    v1 = lam.publish_version(FunctionName=name, Description="first")
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"USER_V": "two"}})
    wait_fn_updated(lam, name)
    v2 = lam.publish_version(FunctionName=name, Description="second")
    return v1, v2


def test_publish_version(lam, create_fn, fn_name, python_zip):
    name = fn_name()
    create_fn(name=name)
    v1 = lam.publish_version(FunctionName=name, Description="first version")
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v1["Version"] == "1"
    assert v1["FunctionArn"] == function_arn(name, "1")
    assert v1["Description"] == "first version"
    assert v1["CodeSha256"] == lam.get_function_configuration(FunctionName=name)["CodeSha256"]
    assert UUID_RE.match(v1["RevisionId"])

    # nothing changed since version 1: AWS hands back version 1 instead of publishing a new one
    again = lam.publish_version(FunctionName=name)
    assert again["Version"] == "1"

    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    assert versions[0]["FunctionArn"] == function_arn(name, "$LATEST")
    assert versions[1]["FunctionArn"] == function_arn(name, "1")


def test_publish_after_description_change(lam, create_fn, fn_name, wait_fn_updated):
    """A configuration change of any kind, the description included, makes the next publish a new version."""
    name = fn_name()
    create_fn(name=name, Publish=True)
    lam.update_function_configuration(FunctionName=name, Description="changed")
    wait_fn_updated(lam, name)
    v2 = lam.publish_version(FunctionName=name)
    assert v2["Version"] == "2"
    assert v2["Description"] == "changed"


def test_versions_are_immutable_snapshots(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    v1, v2 = _two_versions(lam, create_fn, name, wait_fn_updated)
    assert (v1["Version"], v2["Version"]) == ("1", "2")
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["Environment"]["Variables"] == {
        "USER_V": "one"
    }
    assert lam.get_function_configuration(FunctionName=name, Qualifier="2")["Environment"]["Variables"] == {
        "USER_V": "two"
    }
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"USER_V": "three"}})
    wait_fn_updated(lam, name)

    inv1 = invoke(lam, name, {"env": True}, Qualifier="1")
    inv2 = invoke(lam, name, {"env": True}, Qualifier="2")
    latest = invoke(lam, name, {"env": True})
    assert ok(inv1)["env"]["USER_V"] == "one"
    assert ok(inv2)["env"]["USER_V"] == "two"
    assert ok(latest)["env"]["USER_V"] == "three"
    assert (inv1.executed_version, inv2.executed_version, latest.executed_version) == ("1", "2", "$LATEST")
    assert ok(inv1)["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "1"
    assert ok(latest)["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"


def test_list_versions_pagination(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    pages = list(lam.get_paginator("list_versions_by_function").paginate(
        FunctionName=name, PaginationConfig={"PageSize": 1}))
    versions = [v["Version"] for p in pages for v in p["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    assert all(len(p["Versions"]) <= 1 for p in pages)


def test_invoke_qualified_arns(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")

    by_version_arn = invoke(lam, function_arn(name, "2"), {"context": True})
    assert by_version_arn.executed_version == "2"
    assert ok(by_version_arn)["context"]["invoked_function_arn"] == function_arn(name, "2")

    by_alias_arn = invoke(lam, function_arn(name, "live"), {"context": True})
    assert by_alias_arn.executed_version == "1"
    assert ok(by_alias_arn)["context"]["invoked_function_arn"] == function_arn(name, "live")

    by_alias_qualifier = invoke(lam, name, {"context": True}, Qualifier="live")
    assert by_alias_qualifier.executed_version == "1"
    assert ok(by_alias_qualifier)["context"]["invoked_function_arn"] == function_arn(name, "live")

    unqualified = invoke(lam, name, {"context": True})
    assert unqualified.executed_version == "$LATEST"
    assert ok(unqualified)["context"]["invoked_function_arn"] == function_arn(name)

    partial = invoke(lam, f"000000000000:function:{name}:2", {"x": 1})
    assert partial.executed_version == "2"
    assert ok(partial) == {"x": 1}


def test_qualifier_mismatch_and_missing_qualifier(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=function_arn(name, "1"), Qualifier="2", Payload=b"{}")
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)
    for qualifier in ("7", "no-such-alias"):
        with pytest.raises(ClientError) as ei:
            lam.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
        assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name, Qualifier="7")
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)


def test_alias_lifecycle(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)

    created = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="prod")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AliasArn"] == function_arn(name, "live")
    assert created["Name"] == "live"
    assert created["FunctionVersion"] == "1"
    assert created["Description"] == "prod"
    assert UUID_RE.match(created["RevisionId"])

    got = lam.get_alias(FunctionName=name, Name="live")
    for key in ("AliasArn", "Name", "FunctionVersion", "Description", "RevisionId"):
        assert got[key] == created[key]

    with pytest.raises(ClientError) as ei:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert error_of(ei.value)[:2] == ("ResourceConflictException", 409)

    lam.create_alias(FunctionName=name, Name="staging", FunctionVersion="2")
    aliases = lam.list_aliases(FunctionName=name)["Aliases"]
    assert sorted(a["Name"] for a in aliases) == ["live", "staging"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]] == ["staging"]

    updated = lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", Description="moved")
    assert updated["FunctionVersion"] == "2"
    assert updated["Description"] == "moved"
    assert updated["RevisionId"] != created["RevisionId"]
    assert invoke(lam, name, {}, Qualifier="live").executed_version == "2"

    # the alias shows up as a qualifier of GetFunction, with its own ARN
    cfg = lam.get_function(FunctionName=name, Qualifier="live")["Configuration"]
    assert cfg["FunctionArn"] == function_arn(name, "live")
    assert cfg["Version"] == "2"

    resp = lam.delete_alias(FunctionName=name, Name="live")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        lam.get_alias(FunctionName=name, Name="live")
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["staging"]


def test_alias_to_missing_version(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False)
    with pytest.raises(ClientError) as ei:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="42")
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)


def test_alias_weighted_routing(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    created = lam.create_alias(
        FunctionName=name, Name="canary", FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    assert created["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    assert lam.get_alias(FunctionName=name, Name="canary")["RoutingConfig"] == {
        "AdditionalVersionWeights": {"2": 0.5}
    }

    executed = {}
    for _ in range(40):
        inv = invoke(lam, name, {"env": True}, Qualifier="canary")
        env = ok(inv)["env"]
        # the executed version and the code that ran agree
        assert env["AWS_LAMBDA_FUNCTION_VERSION"] == inv.executed_version
        executed[inv.executed_version] = executed.get(inv.executed_version, 0) + 1
    assert set(executed) == {"1", "2"}, executed

    # clearing the routing config sends everything to the primary version
    lam.update_alias(FunctionName=name, Name="canary", RoutingConfig={"AdditionalVersionWeights": {}})
    assert {invoke(lam, name, {}, Qualifier="canary").executed_version for _ in range(10)} == {"1"}


def test_alias_routing_validation(lam_raw, create_fn, fn_name, lam, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    with pytest.raises(ClientError) as ei:
        lam_raw.create_alias(FunctionName=name, Name="bad", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 1.5}})
    assert error_of(ei.value)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as ei:
        lam.create_alias(FunctionName=name, Name="bad", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)


def test_delete_function_with_qualifier(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    resp = lam.delete_function(FunctionName=name, Qualifier="1")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "2"]
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name, Qualifier="1")
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    # the function itself and its other versions are untouched
    assert invoke(lam, name, {}, Qualifier="2").executed_version == "2"
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name

    with pytest.raises(ClientError) as ei:
        lam.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)

    # a new publish never reuses a deleted version number
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"USER_V": "three"}})
    wait_fn_updated(lam, name)
    assert lam.publish_version(FunctionName=name)["Version"] == "3"


def test_delete_version_referenced_by_alias(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as ei:
        lam.delete_function(FunctionName=name, Qualifier="1")
    assert error_of(ei.value)[:2] == ("ResourceConflictException", 409)


def test_delete_function_removes_versions_and_aliases(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    _two_versions(lam, create_fn, name, wait_fn_updated)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.delete_function(FunctionName=name)
    for qualifier in ("1", "2", "live"):
        with pytest.raises(ClientError) as ei:
            lam.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
        assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    # the name can be reused, starting again from version 1
    create_fn(name=name, Publish=True)
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
