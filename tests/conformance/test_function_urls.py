"""Lambda resource policies (AddPermission, RemovePermission, GetPolicy) and function URLs:
the URL configs through boto3 and the aws CLI, and the URLs themselves over plain HTTP."""

import json
import re

import pytest
from botocore.exceptions import ClientError

from serval_harness import ACCOUNT, REGION, http_call, function_arn


def code(e):
    return e.value.response["Error"]["Code"]


def test_permissions_are_recorded(lam, create_fn, apigw_zip, fn_name):
    name = fn_name()
    create_fn(apigw_zip, name=name)
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert code(e) == "ResourceNotFoundException"
    source = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/*/GET/pets"
    out = lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                             Principal="apigateway.amazonaws.com", SourceArn=source)
    stmt = json.loads(out["Statement"])
    assert stmt == {"Sid": "apigw", "Effect": "Allow",
                    "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "lambda:InvokeFunction", "Resource": function_arn(name),
                    "Condition": {"ArnLike": {"AWS:SourceArn": source}}}
    lam.add_permission(FunctionName=name, StatementId="acct", Action="lambda:*",
                       Principal="123456789012")
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com")
    assert code(e) == "ResourceConflictException"
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="bad", Action="s3:GetObject",
                           Principal="s3.amazonaws.com")
    assert code(e) in ("ValidationException", "InvalidParameterValueException")
    got = lam.get_policy(FunctionName=name)
    policy = json.loads(got["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Id"] == "default"
    assert [s["Sid"] for s in policy["Statement"]] == ["apigw", "acct"]
    assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="nope")
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="acct", RevisionId="stale")
    assert code(e) == "PreconditionFailedException"
    lam.remove_permission(FunctionName=name, StatementId="acct")
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]] == ["apigw"]
    # Qualified policies are their own documents.
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="x", Action="lambda:InvokeFunction",
                           Principal="sns.amazonaws.com", Qualifier="nope")
    assert code(e) == "ResourceNotFoundException"
    lam.publish_version(FunctionName=name)
    lam.add_permission(FunctionName=name, StatementId="v1", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", Qualifier="1")
    q = json.loads(lam.get_policy(FunctionName=name, Qualifier="1")["Policy"])
    assert q["Statement"][0]["Resource"] == function_arn(name, "1")


def test_function_url_configs(lam, create_fn, apigw_zip, fn_name, serval):
    name = fn_name()
    create_fn(apigw_zip, name=name)
    with pytest.raises(ClientError) as e:
        lam.get_function_url_config(FunctionName=name)
    assert code(e) == "ResourceNotFoundException"
    cfg = lam.create_function_url_config(FunctionName=name, AuthType="NONE",
                                         Cors={"AllowOrigins": ["https://a.example"], "MaxAge": 60})
    m = re.fullmatch(rf"http://([a-z0-9]{{32}})\.lambda-url\.{REGION}\.localhost:{serval.port}/",
                     cfg["FunctionUrl"])
    assert m, cfg["FunctionUrl"]
    assert cfg["FunctionArn"] == function_arn(name)
    assert cfg["AuthType"] == "NONE" and cfg["InvokeMode"] == "BUFFERED"
    assert cfg["Cors"] == {"AllowOrigins": ["https://a.example"], "MaxAge": 60}
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert code(e) == "ResourceConflictException"
    got = lam.get_function_url_config(FunctionName=name)
    assert got["FunctionUrl"] == cfg["FunctionUrl"] and "LastModifiedTime" in got
    upd = lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert upd["AuthType"] == "AWS_IAM" and upd["FunctionUrl"] == cfg["FunctionUrl"]
    with pytest.raises(ClientError) as e:
        lam.update_function_url_config(FunctionName=name, Cors={"MaxAge": 90000})
    assert code(e) in ("ValidationException", "InvalidParameterValueException")
    # An alias gets its own URL; a version cannot have one.
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    alias_cfg = lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    assert alias_cfg["FunctionArn"] == function_arn(name, "live")
    assert alias_cfg["FunctionUrl"] != cfg["FunctionUrl"]
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=name, Qualifier="1", AuthType="NONE")
    assert code(e) in ("ValidationException", "InvalidParameterValueException")
    listed = lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert sorted(c["FunctionUrl"] for c in listed) == sorted([cfg["FunctionUrl"], alias_cfg["FunctionUrl"]])
    lam.delete_function_url_config(FunctionName=name, Qualifier="live")
    assert len(lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]) == 1
    with pytest.raises(ClientError) as e:
        lam.delete_function_url_config(FunctionName=name, Qualifier="live")
    assert code(e) == "ResourceNotFoundException"


def url_host(url):
    return url.split("//", 1)[1].split(":", 1)[0]


def test_function_url_serves_requests(lam, create_fn, apigw_zip, fn_name, serval):
    name = fn_name()
    create_fn(apigw_zip, name=name)
    cfg = lam.create_function_url_config(
        FunctionName=name, AuthType="NONE",
        Cors={"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET"], "ExposeHeaders": ["x-single"]})
    host = url_host(cfg["FunctionUrl"])
    url_id = host.split(".")[0]
    status, headers, body = http_call(serval, "POST", "/some/path?a=1&a=2", host=host,
                                      headers={"Content-Type": "application/json",
                                               "Cookie": "k=v"}, body='{"x": 1}')
    assert status == 200, body
    ev = json.loads(body)
    assert ev["version"] == "2.0" and ev["routeKey"] == "$default"
    assert ev["rawPath"] == "/some/path" and ev["rawQueryString"] == "a=1&a=2"
    assert ev["queryStringParameters"] == {"a": "1,2"}
    assert ev["cookies"] == ["k=v"]
    assert ev["body"] == '{"x": 1}'
    rc = ev["requestContext"]
    assert rc["apiId"] == url_id and rc["accountId"] == ACCOUNT
    assert rc["domainPrefix"] == url_id and rc["stage"] == "$default"
    assert rc["http"]["method"] == "POST" and rc["http"]["sourceIp"] == "127.0.0.1"
    status, _, body = http_call(serval, "GET", "/?mode=plain", host=host)
    assert status == 200 and json.loads(body) == {"hello": "world"}
    status, _, body = http_call(serval, "GET", "/?mode=fail", host=host)
    assert status == 502
    status, headers, _ = http_call(serval, "OPTIONS", "/", host=host, headers={
        "Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
    assert headers["access-control-allow-origin"] == "https://a.example"
    status, headers, _ = http_call(serval, "GET", "/?mode=cookies", host=host,
                                   headers={"Origin": "https://a.example"})
    assert headers["access-control-allow-origin"] == "https://a.example"
    assert headers["access-control-expose-headers"] == "x-single"
    assert headers["set-cookie"] == ["a=1; Path=/", "b=2"]
    # AWS_IAM needs a signature.
    lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert http_call(serval, "GET", "/", host=host)[0] == 403
    signed = {"Authorization": f"AWS4-HMAC-SHA256 Credential=test/20250101/{REGION}/lambda/aws4_request, "
                               "SignedHeaders=host, Signature=abc"}
    assert http_call(serval, "GET", "/?mode=plain", host=host, headers=signed)[0] == 200
    # Deleting the function takes its URL with it.
    lam.delete_function(FunctionName=name)
    status, _, body = http_call(serval, "GET", "/", host=host)
    assert status == 403 and json.loads(body) == {"Message": "Forbidden"}


def test_alias_url_runs_the_alias(lam, create_fn, apigw_zip, fn_name, serval):
    name = fn_name()
    create_fn(apigw_zip, name=name)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    cfg = lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    status, _, body = http_call(serval, "GET", "/", host=url_host(cfg["FunctionUrl"]))
    assert status == 200
    assert json.loads(body)["requestContext"]["http"]["path"] == "/"


def test_url_configs_and_policies_survive_restart(serval_factory, apigw_zip, tmp_path):
    from serval_harness import ROLE
    s = serval_factory(data_dir=tmp_path / "data")
    lam = s.client()
    lam.create_function(FunctionName="url-durable", Runtime="python3.12", Role=ROLE,
                        Handler="handler.handler", Code={"ZipFile": apigw_zip})
    lam.get_waiter("function_active_v2").wait(FunctionName="url-durable")
    cfg = lam.create_function_url_config(FunctionName="url-durable", AuthType="NONE")
    lam.add_permission(FunctionName="url-durable", StatementId="public",
                       Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
    s.kill9()
    s.start()
    lam = s.client()
    assert lam.get_function_url_config(FunctionName="url-durable")["FunctionUrl"] == cfg["FunctionUrl"]
    stmt = json.loads(lam.get_policy(FunctionName="url-durable")["Policy"])["Statement"][0]
    assert stmt["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    status, _, body = http_call(s, "GET", "/?mode=plain", host=url_host(cfg["FunctionUrl"]))
    assert status == 200 and json.loads(body) == {"hello": "world"}


def test_aws_cli_function_url(serval, create_fn, apigw_zip, fn_name):
    import subprocess
    import os
    name = fn_name()
    create_fn(apigw_zip, name=name)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION=REGION)
    out = subprocess.run(["aws", "--endpoint-url", serval.endpoint, "lambda",
                          "create-function-url-config", "--function-name", name,
                          "--auth-type", "NONE"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    url = json.loads(out.stdout)["FunctionUrl"]
    status, _, _ = http_call(serval, "GET", "/?mode=plain", host=url_host(url))
    assert status == 200
