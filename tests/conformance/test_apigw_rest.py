"""API Gateway REST APIs (apigateway v1): management with boto3 and the aws CLI, invocation over
plain HTTP through all three addressings, the REST proxy event, MOCK and HTTP integrations,
API keys and usage plans, Lambda authorizers, stage throttling and caching, OpenAPI import."""

import base64
import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from serval_harness import ACCOUNT, REGION, http_call


def lambda_uri(fn_arn):
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"


def host(api_id):
    return f"{api_id}.execute-api.localhost"


def call(serval, api_id, method, path, **kw):
    return http_call(serval, method, path, host=host(api_id), **kw)


def root_id(apigw1, api_id):
    return next(r["id"] for r in apigw1.get_resources(restApiId=api_id)["items"] if r["path"] == "/")


def proxy_method(apigw1, api_id, resource_id, fn_arn, method="ANY", **method_kw):
    apigw1.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method,
                      authorizationType=method_kw.pop("authorizationType", "NONE"), **method_kw)
    apigw1.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method,
                           type="AWS_PROXY", integrationHttpMethod="POST", uri=lambda_uri(fn_arn))


@pytest.fixture
def rest_api(apigw1):
    made = []

    def make(name="rest", **kw):
        api = apigw1.create_rest_api(name=name, **kw)
        made.append(api["id"])
        return api

    yield make
    for api_id in made:
        try:
            apigw1.delete_rest_api(restApiId=api_id)
        except ClientError:
            pass


@pytest.fixture
def pets_api(apigw1, rest_api, apigw_fn):
    """/pets (GET), /pets/{id} (GET), /files/{proxy+} (ANY), deployed to stage `dev`."""
    api = rest_api("pets", binaryMediaTypes=["image/png"])
    api_id = api["id"]
    root = root_id(apigw1, api_id)
    pets = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="pets")
    pet = apigw1.create_resource(restApiId=api_id, parentId=pets["id"], pathPart="{id}")
    files = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="files")
    proxy = apigw1.create_resource(restApiId=api_id, parentId=files["id"], pathPart="{proxy+}")
    proxy_method(apigw1, api_id, pets["id"], apigw_fn, "GET")
    proxy_method(apigw1, api_id, pet["id"], apigw_fn, "GET")
    proxy_method(apigw1, api_id, proxy["id"], apigw_fn, "ANY")
    apigw1.create_deployment(restApiId=api_id, stageName="dev", variables={"color": "green"})
    return {"id": api_id, "pets": pets["id"], "pet": pet["id"], "root": root}


def test_management_shapes(apigw1, pets_api):
    api_id = pets_api["id"]
    api = apigw1.get_rest_api(restApiId=api_id)
    assert api["name"] == "pets" and api["apiKeySource"] == "HEADER"
    assert api["binaryMediaTypes"] == ["image/png"]
    paths = sorted(r["path"] for r in apigw1.get_resources(restApiId=api_id)["items"])
    assert paths == ["/", "/files", "/files/{proxy+}", "/pets", "/pets/{id}"]
    m = apigw1.get_method(restApiId=api_id, resourceId=pets_api["pet"], httpMethod="GET")
    assert m["authorizationType"] == "NONE"
    assert m["methodIntegration"]["type"] == "AWS_PROXY"
    assert m["methodIntegration"]["timeoutInMillis"] == 29000
    stage = apigw1.get_stage(restApiId=api_id, stageName="dev")
    assert stage["variables"] == {"color": "green"}
    with pytest.raises(ClientError) as e:
        apigw1.create_resource(restApiId=api_id, parentId=pets_api["root"], pathPart="pets")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as e:
        apigw1.get_rest_api(restApiId="nope000000")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    apigw1.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/description", "value": "pets api"}])
    assert apigw1.get_rest_api(restApiId=api_id)["description"] == "pets api"


def test_proxy_event_and_addressings(serval, pets_api):
    api_id = pets_api["id"]
    status, headers, body = call(serval, api_id, "GET", "/dev/pets/42?a=1&a=2&b=3",
                                 headers={"X-Thing": "t"})
    assert status == 200, body
    ev = json.loads(body)
    assert "version" not in ev
    assert ev["resource"] == "/pets/{id}" and ev["path"] == "/pets/42"
    assert ev["httpMethod"] == "GET" and ev["pathParameters"] == {"id": "42"}
    assert ev["queryStringParameters"] == {"a": "2", "b": "3"}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["3"]}
    assert ev["headers"]["X-Thing"] == "t" and ev["multiValueHeaders"]["X-Thing"] == ["t"]
    assert ev["headers"]["Host"] == f"{api_id}.execute-api.localhost:{serval.port}"
    assert ev["stageVariables"] == {"color": "green"}
    rc = ev["requestContext"]
    assert rc["stage"] == "dev" and rc["path"] == "/dev/pets/42"
    assert rc["resourcePath"] == "/pets/{id}" and rc["resourceId"] == pets_api["pet"]
    assert rc["accountId"] == ACCOUNT and rc["apiId"] == api_id
    assert rc["identity"]["sourceIp"] == "127.0.0.1"
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    for path in (f"/_aws/execute-api/{api_id}/dev/pets/7", f"/restapis/{api_id}/dev/_user_request_/pets/7"):
        status, _, body = http_call(serval, "GET", path)
        assert status == 200, (path, body)
        assert json.loads(body)["pathParameters"] == {"id": "7"}


def test_greedy_paths_missing_routes_and_errors(serval, pets_api):
    api_id = pets_api["id"]
    status, _, body = call(serval, api_id, "DELETE", "/dev/files/a/b/c.txt")
    assert status == 200
    ev = json.loads(body)
    assert ev["resource"] == "/files/{proxy+}" and ev["pathParameters"] == {"proxy": "a/b/c.txt"}
    status, headers, body = call(serval, api_id, "GET", "/dev/nothing")
    assert status == 403 and json.loads(body) == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert call(serval, api_id, "POST", "/dev/pets")[0] == 403
    assert call(serval, api_id, "GET", "/nostage/pets")[0] == 403
    status, _, body = call(serval, api_id, "GET", "/dev/pets?mode=fail")
    assert status == 502 and json.loads(body) == {"message": "Internal server error"}
    status, _, body = call(serval, api_id, "GET", "/dev/pets?mode=plain")
    assert status == 502  # REST needs a statusCode
    status, _, _ = call(serval, api_id, "GET", "/dev/pets?mode=status&code=201")
    assert status == 201


def test_binary_bodies(serval, pets_api):
    api_id = pets_api["id"]
    png = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    status, _, body = call(serval, api_id, "POST", "/dev/files/up.png", body=png,
                           headers={"Content-Type": "image/png"})
    ev = json.loads(body)
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == png
    status, _, body = call(serval, api_id, "POST", "/dev/files/t.txt", body="plain",
                           headers={"Content-Type": "text/plain"})
    ev = json.loads(body)
    assert ev["isBase64Encoded"] is False and ev["body"] == "plain"
    status, headers, body = call(serval, api_id, "GET", "/dev/files/x?mode=binary")
    assert status == 200 and body.startswith(b"\x89PNG") and headers["content-type"] == "image/png"


def test_mock_integration(serval, apigw1, rest_api):
    api_id = rest_api("mock")["id"]
    root = root_id(apigw1, api_id)
    res = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="health")
    apigw1.put_method(restApiId=api_id, resourceId=res["id"], httpMethod="GET", authorizationType="NONE")
    apigw1.put_integration(restApiId=api_id, resourceId=res["id"], httpMethod="GET", type="MOCK",
                           requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw1.put_method_response(restApiId=api_id, resourceId=res["id"], httpMethod="GET", statusCode="200",
                               responseParameters={"method.response.header.X-Mock": True})
    apigw1.put_integration_response(restApiId=api_id, resourceId=res["id"], httpMethod="GET",
                                    statusCode="200",
                                    responseTemplates={"application/json": '{"ok": true}'},
                                    responseParameters={"method.response.header.X-Mock": "'yes'"})
    apigw1.put_integration_response(restApiId=api_id, resourceId=res["id"], httpMethod="GET",
                                    statusCode="503", selectionPattern="5\\d{2}",
                                    responseTemplates={"application/json": '{"ok": false}'})
    apigw1.create_deployment(restApiId=api_id, stageName="prod")
    status, headers, body = call(serval, api_id, "GET", "/prod/health")
    assert status == 200 and json.loads(body) == {"ok": True} and headers["x-mock"] == "yes"
    apigw1.update_integration(restApiId=api_id, resourceId=res["id"], httpMethod="GET", patchOperations=[
        {"op": "replace", "path": "/requestTemplates/application~1json", "value": '{"statusCode": 500}'}])
    apigw1.create_deployment(restApiId=api_id, stageName="prod")
    status, _, body = call(serval, api_id, "GET", "/prod/health")
    assert status == 503 and json.loads(body) == {"ok": False}


def test_http_proxy_integration(serval, apigw1, rest_api, upstream):
    api_id = rest_api("http")["id"]
    root = root_id(apigw1, api_id)
    res = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
    apigw1.put_method(restApiId=api_id, resourceId=res["id"], httpMethod="ANY", authorizationType="NONE",
                      requestParameters={"method.request.path.proxy": True})
    apigw1.put_integration(restApiId=api_id, resourceId=res["id"], httpMethod="ANY", type="HTTP_PROXY",
                           integrationHttpMethod="ANY", uri=f"{upstream}/up/{{proxy}}")
    apigw1.create_deployment(restApiId=api_id, stageName="v1")
    status, headers, body = call(serval, api_id, "POST", "/v1/x/y?q=1", body="data")
    assert status == 200, body
    got = json.loads(body)
    assert got["path"] == "/up/x/y?q=1" and got["method"] == "POST" and got["body"] == "data"
    assert headers["x-upstream"] == "yes"


def test_api_keys_usage_plans_throttle_and_quota(serval, apigw1, rest_api, apigw_fn):
    api_id = rest_api("keys")["id"]
    root = root_id(apigw1, api_id)
    proxy_method(apigw1, api_id, root, apigw_fn, "GET", apiKeyRequired=True)
    apigw1.create_deployment(restApiId=api_id, stageName="prod")
    key = apigw1.create_api_key(name="client", enabled=True)
    assert len(key["value"]) >= 20
    assert "value" not in apigw1.get_api_key(apiKey=key["id"])
    assert apigw1.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    plan = apigw1.create_usage_plan(name="basic", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                    throttle={"rateLimit": 100, "burstLimit": 100},
                                    quota={"limit": 3, "period": "DAY"})
    apigw1.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert [k["id"] for k in apigw1.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]

    status, _, body = call(serval, api_id, "GET", "/prod/")
    assert status == 403 and json.loads(body) == {"message": "Forbidden"}
    assert call(serval, api_id, "GET", "/prod/", headers={"x-api-key": "wrong" * 5})[0] == 403
    hdr = {"x-api-key": key["value"]}
    for _ in range(3):
        status, _, body = call(serval, api_id, "GET", "/prod/", headers=hdr)
        assert status == 200, body
    ev = json.loads(body)
    assert ev["requestContext"]["identity"]["apiKey"] == key["value"]
    assert ev["requestContext"]["identity"]["apiKeyId"] == key["id"]
    status, _, body = call(serval, api_id, "GET", "/prod/", headers=hdr)
    assert status == 429 and json.loads(body) == {"message": "Limit Exceeded"}
    usage = apigw1.get_usage(usagePlanId=plan["id"], startDate="2026-01-01", endDate="2026-12-31")
    assert usage["items"][key["id"]] == [[3, 0]]

    # Throttling: a fresh quota, a tiny burst.
    apigw1.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/quota/limit", "value": "1000"},
        {"op": "replace", "path": "/throttle/burstLimit", "value": "2"},
        {"op": "replace", "path": "/throttle/rateLimit", "value": "0.5"}])
    codes = [call(serval, api_id, "GET", "/prod/", headers=hdr)[0] for _ in range(5)]
    assert codes[:2] == [200, 200] and codes[-1] == 429
    status, _, body = call(serval, api_id, "GET", "/prod/", headers=hdr)
    assert json.loads(body) == {"message": "Too Many Requests"}
    # A disabled key is refused.
    apigw1.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    assert call(serval, api_id, "GET", "/prod/", headers=hdr)[0] == 403


@pytest.fixture
def token_authorizer_fn(create_fn, apigw_zip):
    return create_fn(apigw_zip, handler="handler.token_authorizer")["FunctionArn"]


@pytest.fixture
def request_authorizer_fn(create_fn, apigw_zip):
    return create_fn(apigw_zip, handler="handler.authorizer")["FunctionArn"]


def test_lambda_authorizers(serval, apigw1, rest_api, apigw_fn, token_authorizer_fn, request_authorizer_fn):
    api_id = rest_api("auth")["id"]
    root = root_id(apigw1, api_id)
    tok = apigw1.create_authorizer(restApiId=api_id, name="tok", type="TOKEN",
                                   authorizerUri=lambda_uri(token_authorizer_fn),
                                   identitySource="method.request.header.Authorization",
                                   identityValidationExpression="allow|deny|other")
    assert tok["authorizerResultTtlInSeconds"] == 300
    req = apigw1.create_authorizer(restApiId=api_id, name="req", type="REQUEST",
                                   authorizerUri=lambda_uri(request_authorizer_fn),
                                   identitySource="method.request.header.Authorization",
                                   authorizerResultTtlInSeconds=0)
    t = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="token")
    r = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="request")
    i = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="iam")
    proxy_method(apigw1, api_id, t["id"], apigw_fn, "GET", authorizationType="CUSTOM", authorizerId=tok["id"])
    proxy_method(apigw1, api_id, r["id"], apigw_fn, "GET", authorizationType="CUSTOM", authorizerId=req["id"])
    proxy_method(apigw1, api_id, i["id"], apigw_fn, "GET", authorizationType="AWS_IAM")
    apigw1.create_deployment(restApiId=api_id, stageName="prod")

    status, _, body = call(serval, api_id, "GET", "/prod/token")
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    assert call(serval, api_id, "GET", "/prod/token", headers={"Authorization": "nope"})[0] == 401
    status, _, body = call(serval, api_id, "GET", "/prod/token", headers={"Authorization": "deny"})
    assert status == 403
    assert json.loads(body) == {"Message": "User is not authorized to access this resource with an explicit deny"}
    for _ in range(2):  # the second comes from the cache
        status, _, body = call(serval, api_id, "GET", "/prod/token", headers={"Authorization": "allow"})
        assert status == 200, body
        auth = json.loads(body)["requestContext"]["authorizer"]
        assert auth["principalId"] == "user-1" and auth["user"] == "bob"

    status, _, body = call(serval, api_id, "GET", "/prod/request", headers={"Authorization": "allow"})
    assert status == 200, body
    assert json.loads(body)["requestContext"]["authorizer"]["user"] == "alice"
    assert call(serval, api_id, "GET", "/prod/request", headers={"Authorization": "deny"})[0] == 403

    assert call(serval, api_id, "GET", "/prod/iam")[0] == 403
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/execute-api/aws4_request, "
                               "SignedHeaders=host, Signature=abc"}
    assert call(serval, api_id, "GET", "/prod/iam", headers=signed)[0] == 200


def test_stage_throttling_and_cache(serval, apigw1, pets_api):
    api_id = pets_api["id"]
    apigw1.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.5"}])
    settings = apigw1.get_stage(restApiId=api_id, stageName="dev")["methodSettings"]["*/*"]
    assert settings["throttlingBurstLimit"] == 2 and settings["throttlingRateLimit"] == 0.5
    codes = [call(serval, api_id, "GET", "/dev/pets/1")[0] for _ in range(5)]
    assert codes[:2] == [200, 200] and codes[-1] == 429
    # The cache: the same GET answers the same body (the event carries a fresh request id).
    apigw1.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "remove", "path": "/*/*/throttling/burstLimit"},
        {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
        {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
        {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "60"}])
    first = call(serval, api_id, "GET", "/dev/pets/9")[2]
    second = call(serval, api_id, "GET", "/dev/pets/9")[2]
    other = call(serval, api_id, "GET", "/dev/pets/10")[2]
    assert first == second and first != other
    # Query strings are not part of the key unless declared as cache key parameters.
    assert call(serval, api_id, "GET", "/dev/pets/9?x=1")[2] == first
    apigw1.flush_stage_cache(restApiId=api_id, stageName="dev")
    assert call(serval, api_id, "GET", "/dev/pets/9")[2] != first


def test_import_rest_api_from_openapi(serval, apigw1, apigw_fn, rest_api):
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "imported-rest", "version": "1"},
        "x-amazon-apigateway-binary-media-types": ["application/octet-stream"],
        "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
        "paths": {
            "/items/{id}": {"get": {"x-amazon-apigateway-integration": {
                "type": "aws_proxy", "httpMethod": "POST", "uri": lambda_uri(apigw_fn)}}},
            "/ping": {"get": {"x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "responses": {"default": {"statusCode": "200",
                                          "responseTemplates": {"application/json": '{"pong": 1}'}}}}}},
            "/secret": {"get": {"security": [{"api_key": []}], "x-amazon-apigateway-integration": {
                "type": "aws_proxy", "httpMethod": "POST", "uri": lambda_uri(apigw_fn)}}},
        },
    }
    api = apigw1.import_rest_api(body=json.dumps(doc).encode())
    api_id = api["id"]
    try:
        assert api["name"] == "imported-rest"
        assert api["binaryMediaTypes"] == ["application/octet-stream"]
        paths = sorted(r["path"] for r in apigw1.get_resources(restApiId=api_id)["items"])
        assert paths == ["/", "/items", "/items/{id}", "/ping", "/secret"]
        apigw1.create_deployment(restApiId=api_id, stageName="prod")
        status, _, body = call(serval, api_id, "GET", "/prod/items/3")
        assert status == 200 and json.loads(body)["pathParameters"] == {"id": "3"}
        status, _, body = call(serval, api_id, "GET", "/prod/ping")
        assert status == 200 and json.loads(body) == {"pong": 1}
        assert call(serval, api_id, "GET", "/prod/secret")[0] == 403
        # PutRestApi overwrite replaces the resources.
        doc["paths"] = {"/only": doc["paths"]["/ping"]}
        apigw1.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(doc).encode())
        paths = sorted(r["path"] for r in apigw1.get_resources(restApiId=api_id)["items"])
        assert paths == ["/", "/only"]
    finally:
        apigw1.delete_rest_api(restApiId=api_id)


def test_aws_cli_rest_api(serval):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION)

    def aws(*args):
        out = subprocess.run(["aws", "--endpoint-url", serval.endpoint, "apigateway", *args],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else None

    api = aws("create-rest-api", "--name", "cli-api")
    try:
        root = aws("get-resources", "--rest-api-id", api["id"])["items"][0]["id"]
        aws("put-method", "--rest-api-id", api["id"], "--resource-id", root, "--http-method", "GET",
            "--authorization-type", "NONE")
        aws("put-integration", "--rest-api-id", api["id"], "--resource-id", root, "--http-method", "GET",
            "--type", "MOCK", "--request-templates", '{"application/json": "{\\"statusCode\\": 200}"}')
        aws("put-integration-response", "--rest-api-id", api["id"], "--resource-id", root,
            "--http-method", "GET", "--status-code", "200",
            "--response-templates", '{"application/json": "{\\"cli\\": true}"}')
        aws("create-deployment", "--rest-api-id", api["id"], "--stage-name", "test")
        status, _, body = call(serval, api["id"], "GET", "/test/")
        assert status == 200 and json.loads(body) == {"cli": True}
    finally:
        aws("delete-rest-api", "--rest-api-id", api["id"])


def test_rest_apis_survive_restart(serval_factory, apigw_zip, tmp_path):
    from serval_harness import ROLE
    s = serval_factory(data_dir=tmp_path / "data")
    lam = s.client()
    fn = lam.create_function(FunctionName="rest-durable", Runtime="python3.12", Role=ROLE,
                             Handler="handler.handler", Code={"ZipFile": apigw_zip})["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="rest-durable")
    gw = s.client("apigateway")
    api_id = gw.create_rest_api(name="durable")["id"]
    root = root_id(gw, api_id)
    proxy_method(gw, api_id, root, fn, "GET", apiKeyRequired=True)
    gw.create_deployment(restApiId=api_id, stageName="prod")
    key = gw.create_api_key(name="k", enabled=True)
    plan = gw.create_usage_plan(name="p", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                quota={"limit": 2, "period": "MONTH"})
    gw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    hdr = {"x-api-key": key["value"]}
    assert http_call(s, "GET", "/prod/?mode=status&code=204", host=host(api_id), headers=hdr)[0] == 204
    time.sleep(0.5)  # usage counts are committed without the request waiting for it
    s.kill9()
    s.start()
    status, _, body = http_call(s, "GET", "/prod/?mode=status&code=204", host=host(api_id), headers=hdr)
    assert status == 204, body
    # The month's usage survived the restart: the quota of 2 is now used up.
    status, _, body = http_call(s, "GET", "/prod/", host=host(api_id), headers=hdr)
    assert status == 429 and json.loads(body) == {"message": "Limit Exceeded"}


def test_stage_variables_pick_the_function(serval, apigw1, rest_api, apigw_fn):
    api_id = rest_api("vars")["id"]
    root = root_id(apigw1, api_id)
    name = apigw_fn.rsplit(":", 1)[1]
    uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
           f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:${{stageVariables.fn}}/invocations")
    apigw1.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw1.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=uri)
    apigw1.create_deployment(restApiId=api_id, stageName="a", variables={"fn": name})
    apigw1.create_deployment(restApiId=api_id, stageName="b", variables={"fn": "missing-fn"})
    status, _, body = call(serval, api_id, "GET", "/a/")
    assert status == 200, body
    assert json.loads(body)["stageVariables"] == {"fn": name}
    assert call(serval, api_id, "GET", "/b/")[0] == 500


def test_non_proxy_integrations_pass_through(serval, apigw1, rest_api, apigw_fn, upstream):
    api_id = rest_api("custom")["id"]
    root = root_id(apigw1, api_id)
    fn_res = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="fn")
    http_res = apigw1.create_resource(restApiId=api_id, parentId=root, pathPart="http")
    apigw1.put_method(restApiId=api_id, resourceId=fn_res["id"], httpMethod="POST", authorizationType="NONE")
    apigw1.put_integration(restApiId=api_id, resourceId=fn_res["id"], httpMethod="POST", type="AWS",
                           integrationHttpMethod="POST", uri=lambda_uri(apigw_fn),
                           requestTemplates={"application/json": "$input.json('$')"})
    apigw1.put_integration_response(restApiId=api_id, resourceId=fn_res["id"], httpMethod="POST",
                                    statusCode="200", responseTemplates={"application/json": ""})
    apigw1.put_integration_response(restApiId=api_id, resourceId=fn_res["id"], httpMethod="POST",
                                    statusCode="400", selectionPattern="boom.*")
    apigw1.put_method(restApiId=api_id, resourceId=http_res["id"], httpMethod="GET", authorizationType="NONE")
    apigw1.put_integration(restApiId=api_id, resourceId=http_res["id"], httpMethod="GET", type="HTTP",
                           integrationHttpMethod="GET", uri=f"{upstream}/plain")
    apigw1.put_integration_response(restApiId=api_id, resourceId=http_res["id"], httpMethod="GET",
                                    statusCode="200", selectionPattern="2\\d{2}")
    apigw1.create_deployment(restApiId=api_id, stageName="v1")
    # The request body is the event; the answer is the body of the default response.
    status, _, body = call(serval, api_id, "POST", "/v1/fn",
                           body=json.dumps({"queryStringParameters": {"mode": "plain"}}),
                           headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(body) == {"hello": "world"}
    # A function error selects the response whose pattern matches its errorMessage.
    status, _, body = call(serval, api_id, "POST", "/v1/fn",
                           body=json.dumps({"queryStringParameters": {"mode": "fail"}}),
                           headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["errorMessage"] == "boom"
    status, _, body = call(serval, api_id, "GET", "/v1/http")
    assert status == 200 and json.loads(body)["path"] == "/plain"
