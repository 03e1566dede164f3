"""Function CRUD: CreateFunction, GetFunction(Configuration), ListFunctions, UpdateFunctionCode,
UpdateFunctionConfiguration, DeleteFunction, tags and account settings, as AWS Lambda answers them."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from serval_harness import (
    ACCOUNT,
    LAST_MODIFIED_RE,
    REGION,
    ROLE,
    UUID_RE,
    code_sha256,
    error_of,
    function_arn,
    invoke,
    make_zip,
    ok,
    unique_name,
)


# --------------------------------------------------------------------------- CreateFunction


def test_create_function_response_fields(lam, create_fn, python_zip, fn_name):
    name = fn_name()
    resp = create_fn(name=name, wait=False, Description="conformance", Timeout=7, MemorySize=256)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert resp["FunctionName"] == name
    assert resp["FunctionArn"] == function_arn(name)
    assert resp["Runtime"] == "python3.12"
    assert resp["Role"] == ROLE
    assert resp["Handler"] == "handler.handler"
    assert resp["CodeSize"] == len(python_zip)
    assert resp["CodeSha256"] == code_sha256(python_zip)
    assert resp["Description"] == "conformance"
    assert resp["Timeout"] == 7
    assert resp["MemorySize"] == 256
    assert resp["Version"] == "$LATEST"
    assert resp["PackageType"] == "Zip"
    assert resp["Architectures"] == ["x86_64"]
    assert resp["EphemeralStorage"] == {"Size": 512}
    assert resp["TracingConfig"] == {"Mode": "PassThrough"}
    assert UUID_RE.match(resp["RevisionId"]), resp["RevisionId"]
    assert LAST_MODIFIED_RE.match(resp["LastModified"]), resp["LastModified"]
    assert resp["State"] in ("Pending", "Active")

    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["State"] == "Active"
    assert cfg["LastUpdateStatus"] == "Successful"
    assert cfg["CodeSha256"] == code_sha256(python_zip)
    assert cfg["FunctionArn"] == function_arn(name)


def test_create_function_defaults(create_fn):
    resp = create_fn(wait=False)
    assert resp["Timeout"] == 3
    assert resp["MemorySize"] == 128
    assert resp["Description"] == ""


def test_create_function_publish_returns_version_1(lam, create_fn, fn_name):
    name = fn_name()
    resp = create_fn(name=name, Publish=True)
    assert resp["Version"] == "1"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1"]
    cfg = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert cfg["FunctionArn"] == function_arn(name, "1")
    assert cfg["Version"] == "1"


def test_create_function_optional_settings_are_echoed(lam, create_fn, fn_name):
    name = fn_name()
    resp = create_fn(
        name=name,
        wait=False,
        Architectures=["arm64"],
        EphemeralStorage={"Size": 2048},
        MemorySize=10240,
        Timeout=900,
        Environment={"Variables": {"USER_A": "1", "USER_B": "two"}},
        Description="d" * 256,
    )
    assert resp["Architectures"] == ["arm64"]
    assert resp["EphemeralStorage"] == {"Size": 2048}
    assert resp["MemorySize"] == 10240
    assert resp["Timeout"] == 900
    assert resp["Environment"] == {"Variables": {"USER_A": "1", "USER_B": "two"}}
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["Architectures"] == ["arm64"]
    assert cfg["EphemeralStorage"] == {"Size": 2048}
    assert cfg["Environment"]["Variables"] == {"USER_A": "1", "USER_B": "two"}
    assert cfg["Description"] == "d" * 256


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12", "python3.13", "nodejs20.x", "provided.al2023"])
def test_create_function_supported_runtimes(create_fn, runtime):
    resp = create_fn(runtime=runtime, wait=False)
    assert resp["Runtime"] == runtime


def test_create_duplicate_name_conflict(lam, create_fn, python_zip, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False)
    with pytest.raises(ClientError) as ei:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": python_zip})
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("ResourceConflictException", 409)
    assert name in resp["Error"]["Message"]


def test_create_invalid_zip(lam, fn_name):
    name = fn_name()
    with pytest.raises(ClientError) as ei:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": b"this is not a zip archive"})
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "Could not unzip uploaded file" in resp["Error"]["Message"]
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name)
    assert error_of(ei.value)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize("runtime", ["python2.0", "PYTHON3.12", "cobol85"])
def test_create_unknown_runtime(lam, python_zip, fn_name, runtime):
    with pytest.raises(ClientError) as ei:
        lam.create_function(FunctionName=fn_name(), Runtime=runtime, Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": python_zip})
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "runtime" in resp["Error"]["Message"]


def test_create_invalid_role(lam_raw, python_zip, fn_name):
    with pytest.raises(ClientError) as ei:
        lam_raw.create_function(FunctionName=fn_name(), Runtime="python3.12", Role="r1",
                                Handler="handler.handler", Code={"ZipFile": python_zip})
    code, status, _ = error_of(ei.value)
    assert (code, status) == ("ValidationException", 400)


# Below a modelled minimum AWS answers with the generic ValidationException; above the
# documented maximum (which the current model no longer encodes) it may answer either.
@pytest.mark.parametrize(
    "field,value,codes",
    [
        ("MemorySize", 127, {"ValidationException"}),
        ("MemorySize", 64, {"ValidationException"}),
        ("MemorySize", 10241, {"ValidationException", "InvalidParameterValueException"}),
        ("Timeout", 0, {"ValidationException"}),
        ("Timeout", 901, {"ValidationException", "InvalidParameterValueException"}),
    ],
)
def test_create_out_of_range_settings(lam_raw, lam, python_zip, fn_name, field, value, codes):
    name = fn_name()
    with pytest.raises(ClientError) as ei:
        lam_raw.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                                Code={"ZipFile": python_zip}, **{field: value})
    code, status, resp = error_of(ei.value)
    assert status == 400, resp
    assert code in codes, resp
    with pytest.raises(ClientError):
        lam.get_function(FunctionName=name)


def _env_of_json_size(total: int) -> dict:
    # {"BIG":"xxx"} : the JSON text AWS measures is 10 bytes of syntax + key + value.
    key = "BIG"
    value_len = total - len(json.dumps({key: ""}, separators=(",", ":")))
    env = {key: "x" * value_len}
    assert len(json.dumps(env, separators=(",", ":"))) == total
    return env


def test_environment_4kb_limit(lam, create_fn, python_zip, fn_name):
    # exactly 4 KB is accepted
    resp = create_fn(wait=False, Environment={"Variables": _env_of_json_size(4096)})
    assert len(resp["Environment"]["Variables"]["BIG"]) > 4000
    # one byte more is refused, and nothing is created
    name = fn_name("big")
    with pytest.raises(ClientError) as ei:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": python_zip},
                            Environment={"Variables": _env_of_json_size(4097)})
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "4KB" in resp["Error"]["Message"]
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name)
    assert error_of(ei.value)[0] == "ResourceNotFoundException"


def test_environment_4kb_limit_on_update(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    with pytest.raises(ClientError) as ei:
        lam.update_function_configuration(FunctionName=name,
                                          Environment={"Variables": _env_of_json_size(4097)})
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)


def test_reserved_environment_keys_refused(lam, python_zip, fn_name):
    with pytest.raises(ClientError) as ei:
        lam.create_function(FunctionName=fn_name(), Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": python_zip}, Environment={"Variables": {"AWS_REGION": "eu-west-1"}})
    code, status, resp = error_of(ei.value)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "AWS_REGION" in resp["Error"]["Message"]


# --------------------------------------------------------------------------- Get / List


def test_get_function(lam, create_fn, python_zip, fn_name):
    name = fn_name()
    create_fn(name=name, Tags={"team": "serval", "suite": "conformance"})
    resp = lam.get_function(FunctionName=name)
    cfg = resp["Configuration"]
    assert cfg["FunctionName"] == name
    assert cfg["FunctionArn"] == function_arn(name)
    assert cfg["CodeSha256"] == code_sha256(python_zip)
    assert cfg["State"] == "Active"
    assert cfg["LastUpdateStatus"] == "Successful"
    assert resp["Code"]["RepositoryType"] == "S3"
    assert resp["Code"]["Location"].startswith("http")
    assert resp["Tags"] == {"team": "serval", "suite": "conformance"}

    # by ARN, and qualified with $LATEST (whose ARN then carries the qualifier)
    assert lam.get_function(FunctionName=function_arn(name))["Configuration"]["FunctionName"] == name
    latest = lam.get_function(FunctionName=name, Qualifier="$LATEST")["Configuration"]
    assert latest["FunctionArn"] == function_arn(name, "$LATEST")


def test_get_function_code_location_downloads_the_zip(lam, create_fn, python_zip, fn_name):
    name = fn_name()
    create_fn(name=name)
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as r:
        body = r.read()
    assert code_sha256(body) == code_sha256(python_zip)


def test_get_function_configuration_matches_get_function(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    cfg = lam.get_function_configuration(FunctionName=name)
    full = lam.get_function(FunctionName=name)["Configuration"]
    cfg.pop("ResponseMetadata")
    assert cfg == full


def test_get_missing_function(lam):
    name = unique_name("missing")
    for call in (lam.get_function, lam.get_function_configuration):
        with pytest.raises(ClientError) as ei:
            call(FunctionName=name)
        code, status, resp = error_of(ei.value)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert "Function not found" in resp["Error"]["Message"]
        assert function_arn(name) in resp["Error"]["Message"]


def test_list_functions_pagination(lam, create_fn, fn_name):
    prefix = fn_name("page")
    names = {f"{prefix}-{i}" for i in range(5)}
    for n in names:
        create_fn(name=n, wait=False)

    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        kwargs = {"MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_functions(**kwargs)
        pages += 1
        assert len(page["Functions"]) <= 2
        seen.extend(f["FunctionName"] for f in page["Functions"])
        marker = page.get("NextMarker")
        if not marker:
            break
        assert pages < 1000
    assert len(seen) == len(set(seen)), "a function was listed twice"
    assert names <= set(seen)

    via_paginator = []
    for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["Functions"]) <= 2
        via_paginator.extend(f["FunctionName"] for f in page["Functions"])
    assert names <= set(via_paginator)
    assert sorted(via_paginator) == sorted(seen)

    listed = {f["FunctionName"]: f for f in lam.list_functions(MaxItems=50)["Functions"]}
    # entries look like FunctionConfiguration, with unqualified ARNs
    some = [listed[n] for n in names if n in listed]
    for f in some:
        assert f["FunctionArn"] == function_arn(f["FunctionName"])
        assert f["Version"] == "$LATEST"


def test_list_functions_all_versions(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, Publish=True)
    everything = []
    for page in lam.get_paginator("list_functions").paginate(FunctionVersion="ALL"):
        everything.extend(f for f in page["Functions"] if f["FunctionName"] == name)
    assert sorted(f["Version"] for f in everything) == sorted(["$LATEST", "1"])
    arns = {f["Version"]: f["FunctionArn"] for f in everything}
    assert arns["1"] == function_arn(name, "1")
    assert arns["$LATEST"] == function_arn(name, "$LATEST")


# --------------------------------------------------------------------------- updates


def test_update_function_code_takes_effect(lam, create_fn, python_v2_zip, python_zip, fn_name, wait_fn_updated):
    name = fn_name()
    create_fn(name=name)
    before = lam.get_function_configuration(FunctionName=name)
    assert ok(invoke(lam, name, {"counter": True}))["counter"] == 1  # warm environment exists

    resp = lam.update_function_code(FunctionName=name, ZipFile=python_v2_zip)
    assert resp["CodeSha256"] == code_sha256(python_v2_zip)
    assert resp["CodeSize"] == len(python_v2_zip)
    assert resp["CodeSha256"] != code_sha256(python_zip)
    assert resp["RevisionId"] != before["RevisionId"]
    assert resp["LastUpdateStatus"] in ("InProgress", "Successful")
    wait_fn_updated(lam, name)
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["LastUpdateStatus"] == "Successful"
    assert cfg["CodeSha256"] == code_sha256(python_v2_zip)

    # the warm environment running the old code is retired
    for _ in range(3):
        assert ok(invoke(lam, name, {}))["code"] == "v2"


def test_update_function_code_invalid_zip(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    with pytest.raises(ClientError) as ei:
        lam.update_function_code(FunctionName=name, ZipFile=b"PK\x03\x04 definitely broken")
    assert error_of(ei.value)[:2] == ("InvalidParameterValueException", 400)


def test_update_function_configuration_takes_effect(lam, create_fn, fn_name, wait_fn_updated):
    name = fn_name()
    create_fn(name=name, Environment={"Variables": {"USER_COLOR": "red"}}, Timeout=5)
    env = ok(invoke(lam, name, {"env": True}))["env"]
    assert env["USER_COLOR"] == "red"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"

    resp = lam.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {"USER_COLOR": "blue", "USER_NEW": "yes"}},
        MemorySize=256,
        Timeout=9,
        Description="updated",
    )
    assert resp["Environment"]["Variables"] == {"USER_COLOR": "blue", "USER_NEW": "yes"}
    assert resp["MemorySize"] == 256
    assert resp["Timeout"] == 9
    assert resp["Description"] == "updated"
    assert resp["LastUpdateStatus"] in ("InProgress", "Successful")
    wait_fn_updated(lam, name)

    env = ok(invoke(lam, name, {"env": True}))["env"]
    assert env["USER_COLOR"] == "blue"
    assert env["USER_NEW"] == "yes"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    ctx = ok(invoke(lam, name, {"context": True}))["context"]
    assert 5000 < ctx["remaining_time_in_millis"] <= 9000


def test_update_configuration_revision_id_precondition(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    with pytest.raises(ClientError) as ei:
        lam.update_function_configuration(FunctionName=name, Description="x",
                                          RevisionId="00000000-0000-0000-0000-000000000000")
    assert error_of(ei.value)[:2] == ("PreconditionFailedException", 412)
    current = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    resp = lam.update_function_configuration(FunctionName=name, Description="x", RevisionId=current)
    assert resp["Description"] == "x"
    assert resp["RevisionId"] != current


# --------------------------------------------------------------------------- delete


def test_delete_function(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name)
    ok(invoke(lam, name, {"a": 1}))
    resp = lam.delete_function(FunctionName=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name)
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        lam.delete_function(FunctionName=name)
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    names = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate() for f in p["Functions"]]
    assert name not in names


def test_delete_function_by_arn(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(name=name, wait=False)
    lam.delete_function(FunctionName=function_arn(name))
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name)
    assert error_of(ei.value)[0] == "ResourceNotFoundException"


# --------------------------------------------------------------------------- tags


def test_tags_lifecycle(lam, create_fn, fn_name):
    name = fn_name()
    arn = create_fn(name=name, wait=False, Tags={"team": "serval"})["FunctionArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "serval"}

    resp = lam.tag_resource(Resource=arn, Tags={"env": "test", "team": "lambda"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "lambda", "env": "test"}
    assert lam.get_function(FunctionName=name)["Tags"] == {"team": "lambda", "env": "test"}

    resp = lam.untag_resource(Resource=arn, TagKeys=["team", "not-there"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "test"}


def test_tags_on_missing_function(lam):
    arn = function_arn(unique_name("missing"))
    with pytest.raises(ClientError) as ei:
        lam.list_tags(Resource=arn)
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        lam.tag_resource(Resource=arn, Tags={"a": "b"})
    assert error_of(ei.value)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- account settings


def test_get_account_settings(lam, create_fn):
    create_fn(wait=False)
    resp = lam.get_account_settings()
    limit, usage = resp["AccountLimit"], resp["AccountUsage"]
    assert limit["ConcurrentExecutions"] == 1000
    assert limit["CodeSizeZipped"] == 52428800
    assert limit["CodeSizeUnzipped"] == 262144000
    assert limit["TotalCodeSize"] == 80530636800
    assert 0 < limit["UnreservedConcurrentExecutions"] <= limit["ConcurrentExecutions"]
    assert usage["FunctionCount"] >= 1
    assert usage["TotalCodeSize"] > 0


def test_account_usage_counts_functions(lam, create_fn):
    before = lam.get_account_settings()["AccountUsage"]
    zip_bytes = make_zip({"handler.py": "def handler(e, c):\n    return e\n"})
    create_fn(zip_bytes=zip_bytes, wait=False)
    after = lam.get_account_settings()["AccountUsage"]
    assert after["FunctionCount"] == before["FunctionCount"] + 1
    assert after["TotalCodeSize"] >= before["TotalCodeSize"] + len(zip_bytes)


def test_accounts_are_isolated(serval, create_fn, lam):
    other = serval.client(access_key="123456789012")
    name = unique_name("acct")
    resp = create_fn(name=name, client=other, wait=False)
    assert resp["FunctionArn"] == f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
    assert ACCOUNT not in resp["FunctionArn"]
    with pytest.raises(ClientError) as ei:
        lam.get_function(FunctionName=name)
    assert error_of(ei.value)[0] == "ResourceNotFoundException"
