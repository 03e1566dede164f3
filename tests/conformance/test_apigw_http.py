"""API Gateway HTTP APIs (apigatewayv2): management with boto3, invocation over plain HTTP
through both addressings, payload formats 1.0 and 2.0, response mapping, errors, CORS,
stages and throttling."""

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from serval_harness import ACCOUNT, REGION, http_call


def host(api_id):
    return f"{api_id}.execute-api.localhost"


def call(serval, api_id, method, path, **kw):
    return http_call(serval, method, path, host=host(api_id), **kw)


@pytest.fixture
def quick_api(apigw2, apigw_fn):
    api = apigw2.create_api(Name="quick", ProtocolType="HTTP", Target=apigw_fn)
    yield api
    apigw2.delete_api(ApiId=api["ApiId"])


def test_quick_create_shapes(apigw2, quick_api, serval):
    api_id = quick_api["ApiId"]
    assert quick_api["ProtocolType"] == "HTTP"
    assert quick_api["ApiEndpoint"] == f"http://{api_id}.execute-api.localhost:{serval.port}"
    assert quick_api["RouteSelectionExpression"] == "$request.method $request.path"
    routes = apigw2.get_routes(ApiId=api_id)["Items"]
    assert [r["RouteKey"] for r in routes] == ["$default"]
    integ = apigw2.get_integrations(ApiId=api_id)["Items"][0]
    assert integ["IntegrationType"] == "AWS_PROXY"
    assert integ["PayloadFormatVersion"] == "2.0"
    assert routes[0]["Target"] == f"integrations/{integ['IntegrationId']}"
    stage = apigw2.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True and stage["DeploymentId"]
    assert quick_api["ApiId"] in [a["ApiId"] for a in apigw2.get_apis()["Items"]]


def test_event_2_0_shape(serval, quick_api):
    api_id = quick_api["ApiId"]
    status, headers, body = call(serval, api_id, "POST", "/some/path?a=1&a=2&b=x%20y",
                                 headers={"Cookie": "c1=v1; c2=v2", "X-Custom": "hello",
                                          "Content-Type": "application/json"},
                                 body='{"k": 1}')
    assert status == 200, body
    assert headers["apigw-requestid"]
    ev = json.loads(body)
    assert ev["version"] == "2.0"
    assert ev["routeKey"] == "$default"
    assert ev["rawPath"] == "/some/path"
    assert ev["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert ev["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert ev["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in ev["headers"]
    assert ev["headers"]["x-custom"] == "hello"
    assert ev["body"] == '{"k": 1}' and ev["isBase64Encoded"] is False
    rc = ev["requestContext"]
    assert rc["accountId"] == ACCOUNT and rc["apiId"] == api_id
    assert rc["stage"] == "$default" and rc["routeKey"] == "$default"
    assert rc["http"]["method"] == "POST" and rc["http"]["path"] == "/some/path"
    assert rc["http"]["sourceIp"] == "127.0.0.1"
    assert rc["domainName"] == host(api_id) and rc["domainPrefix"] == api_id
    assert isinstance(rc["timeEpoch"], int) and "+0000" in rc["time"]
    assert "pathParameters" not in ev and "stageVariables" not in ev
    assert ev["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert ev["headers"]["x-forwarded-proto"] == "http"
    assert ev["headers"]["x-forwarded-port"] == str(serval.port)
    assert ev["headers"]["x-amzn-trace-id"].startswith("Root=1-")


def test_payload_limits(serval, quick_api):
    api_id = quick_api["ApiId"]
    status, _, body = call(serval, api_id, "POST", "/big", body=b"x" * (7 * 1024 * 1024),
                           headers={"Content-Type": "text/plain"})
    assert status == 413 and json.loads(body) == {"message": "Request Entity Too Large"}
    status, _, _ = call(serval, api_id, "POST", "/big", body=b"x" * (11 * 1024 * 1024),
                        headers={"Content-Type": "text/plain"})
    assert status == 413
    # The gateway is still serving.
    assert call(serval, api_id, "GET", "/?mode=plain")[0] == 200


def test_path_addressing_and_binary_bodies(serval, quick_api):
    api_id = quick_api["ApiId"]
    png = b"\x89PNG\r\n\x1a\nbinary\x00\xff"
    status, _, body = http_call(serval, "PUT", f"/_aws/execute-api/{api_id}/upload",
                                headers={"Content-Type": "image/png"}, body=png)
    assert status == 200
    ev = json.loads(body)
    assert ev["rawPath"] == "/upload"
    assert ev["isBase64Encoded"] is True
    assert base64.b64decode(ev["body"]) == png
    status, headers, body = call(serval, api_id, "GET", "/x?mode=binary")
    assert status == 200 and headers["content-type"] == "image/png"
    assert body.startswith(b"\x89PNG") and body.endswith(b"\x00\xff")


def test_response_mapping(serval, quick_api):
    api_id = quick_api["ApiId"]
    status, headers, body = call(serval, api_id, "GET", "/?mode=plain")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert headers["content-type"] == "application/json"
    status, _, body = call(serval, api_id, "GET", "/?mode=string")
    assert status == 200 and body == b"hi"
    status, headers, body = call(serval, api_id, "GET", "/?mode=cookies")
    assert status == 200 and body == b"ok"
    assert headers["set-cookie"] == ["a=1; Path=/", "b=2"]
    assert headers["x-single"] == "s" and headers["x-multi"] == "1, 2"
    status, _, _ = call(serval, api_id, "GET", "/?mode=status&code=418")
    assert status == 418


def test_function_errors_and_malformed_responses(serval, quick_api):
    api_id = quick_api["ApiId"]
    status, _, body = call(serval, api_id, "GET", "/?mode=fail")
    assert status == 500 and json.loads(body) == {"message": "Internal Server Error"}
    status, _, body = call(serval, api_id, "GET", "/?mode=bad")
    assert status == 500 and json.loads(body) == {"message": "Internal Server Error"}


def test_integration_timeout(serval, apigw2, quick_api):
    api_id = quick_api["ApiId"]
    integ = apigw2.get_integrations(ApiId=api_id)["Items"][0]
    apigw2.update_integration(ApiId=api_id, IntegrationId=integ["IntegrationId"], TimeoutInMillis=300)
    status, _, body = call(serval, api_id, "GET", "/?mode=sleep&ms=1500")
    assert status == 504, body


def test_routes_params_and_specificity(serval, apigw2, apigw_fn):
    api_id = apigw2.create_api(Name="routes", ProtocolType="HTTP")["ApiId"]
    try:
        integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                          IntegrationUri=apigw_fn, PayloadFormatVersion="2.0")
        target = f"integrations/{integ['IntegrationId']}"
        for key in ["GET /pets", "GET /pets/{id}", "GET /pets/dog", "ANY /pets/{proxy+}",
                    "POST /pets"]:
            apigw2.create_route(ApiId=api_id, RouteKey=key, Target=target)
        with pytest.raises(ClientError) as e:
            apigw2.create_route(ApiId=api_id, RouteKey="GET /pets", Target=target)
        assert e.value.response["Error"]["Code"] == "ConflictException"
        with pytest.raises(ClientError) as e:
            apigw2.create_route(ApiId=api_id, RouteKey="FETCH /x", Target=target)
        assert e.value.response["Error"]["Code"] == "BadRequestException"
        # No stage yet: nothing is served.
        status, _, _ = call(serval, api_id, "GET", "/pets")
        assert status == 404
        apigw2.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True,
                            StageVariables={"color": "blue"})

        def route_of(method, path):
            status, _, body = call(serval, api_id, method, path)
            assert status == 200, (method, path, status, body)
            ev = json.loads(body)
            return ev["routeKey"], ev.get("pathParameters"), ev

        assert route_of("GET", "/prod/pets")[0] == "GET /pets"
        key, params, ev = route_of("GET", "/prod/pets/7")
        assert key == "GET /pets/{id}" and params == {"id": "7"}
        assert ev["rawPath"] == "/prod/pets/7"
        assert ev["requestContext"]["stage"] == "prod"
        assert ev["stageVariables"] == {"color": "blue"}
        assert route_of("GET", "/prod/pets/dog")[0] == "GET /pets/dog"
        key, params, _ = route_of("DELETE", "/prod/pets/7/toys/3")
        assert key == "ANY /pets/{proxy+}" and params == {"proxy": "7/toys/3"}
        assert route_of("POST", "/prod/pets")[0] == "POST /pets"
        status, _, body = call(serval, api_id, "GET", "/prod/nothing")
        assert status == 404 and json.loads(body) == {"message": "Not Found"}
        status, _, _ = call(serval, api_id, "PUT", "/prod/pets")
        assert status == 404
        # Unknown stage, and $default missing.
        status, _, _ = call(serval, api_id, "GET", "/dev/pets")
        assert status == 404
        # The LocalStack-style path works too.
        status, _, body = http_call(serval, "GET", f"/restapis/{api_id}/prod/_user_request_/pets/9")
        assert status == 200 and json.loads(body)["pathParameters"] == {"id": "9"}
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_payload_format_1_0(serval, apigw2, apigw_fn):
    api_id = apigw2.create_api(Name="v1fmt", ProtocolType="HTTP")["ApiId"]
    try:
        integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                          IntegrationUri=apigw_fn, PayloadFormatVersion="1.0")
        apigw2.create_route(ApiId=api_id, RouteKey="GET /items/{id}",
                            Target=f"integrations/{integ['IntegrationId']}")
        apigw2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        status, _, body = call(serval, api_id, "GET", "/items/42?x=1&x=2",
                               headers={"X-A": "1"})
        assert status == 200, body
        ev = json.loads(body)
        assert ev["version"] == "1.0"
        assert ev["resource"] == "/items/{id}" and ev["path"] == "/items/42"
        assert ev["httpMethod"] == "GET"
        assert ev["pathParameters"] == {"id": "42"}
        assert ev["queryStringParameters"] == {"x": "2"}
        assert ev["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
        assert ev["multiValueHeaders"]["x-a"] == ["1"]
        assert ev["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
        assert ev["body"] is None and ev["isBase64Encoded"] is False
        # 1.0 needs a statusCode.
        status, _, _ = call(serval, api_id, "GET", "/items/1?mode=plain")
        assert status == 500
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_manual_deployments_freeze_routes(serval, apigw2, apigw_fn):
    api_id = apigw2.create_api(Name="manual", ProtocolType="HTTP")["ApiId"]
    try:
        integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                          IntegrationUri=apigw_fn, PayloadFormatVersion="2.0")
        target = f"integrations/{integ['IntegrationId']}"
        apigw2.create_route(ApiId=api_id, RouteKey="GET /a", Target=target)
        apigw2.create_stage(ApiId=api_id, StageName="live")
        status, _, _ = call(serval, api_id, "GET", "/live/a")
        assert status == 404  # not deployed yet
        dep = apigw2.create_deployment(ApiId=api_id, StageName="live")
        assert dep["DeploymentStatus"] == "DEPLOYED"
        assert call(serval, api_id, "GET", "/live/a")[0] == 200
        apigw2.create_route(ApiId=api_id, RouteKey="GET /b", Target=target)
        assert call(serval, api_id, "GET", "/live/b")[0] == 404
        apigw2.create_deployment(ApiId=api_id, StageName="live")
        assert call(serval, api_id, "GET", "/live/b")[0] == 200
        with pytest.raises(ClientError) as e:
            apigw2.delete_deployment(ApiId=api_id, DeploymentId=apigw2.get_stage(
                ApiId=api_id, StageName="live")["DeploymentId"])
        assert e.value.response["Error"]["Code"] == "BadRequestException"
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_cors_preflight_and_headers(serval, apigw2, apigw_fn):
    api = apigw2.create_api(Name="cors", ProtocolType="HTTP", Target=apigw_fn,
                            CorsConfiguration={"AllowOrigins": ["https://app.example"],
                                               "AllowMethods": ["GET", "POST"],
                                               "AllowHeaders": ["content-type", "x-token"],
                                               "ExposeHeaders": ["x-single"], "MaxAge": 300})
    api_id = api["ApiId"]
    try:
        status, headers, _ = call(serval, api_id, "OPTIONS", "/anything", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-token"})
        assert status == 204
        assert headers["access-control-allow-origin"] == "https://app.example"
        assert headers["access-control-allow-methods"] == "GET,POST"
        assert headers["access-control-allow-headers"] == "content-type,x-token"
        assert headers["access-control-max-age"] == "300"
        status, headers, _ = call(serval, api_id, "OPTIONS", "/anything", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in headers
        status, headers, _ = call(serval, api_id, "GET", "/?mode=cookies",
                                  headers={"Origin": "https://app.example"})
        assert status == 200
        assert headers["access-control-allow-origin"] == "https://app.example"
        assert headers["access-control-expose-headers"] == "x-single"
        apigw2.delete_cors_configuration(ApiId=api_id)
        assert "CorsConfiguration" not in apigw2.get_api(ApiId=api_id)
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_stage_throttling(serval, apigw2, quick_api):
    api_id = quick_api["ApiId"]
    apigw2.update_stage(ApiId=api_id, StageName="$default",
                        DefaultRouteSettings={"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.5})
    codes = [call(serval, api_id, "GET", "/?mode=plain")[0] for _ in range(5)]
    assert codes[:2] == [200, 200]
    assert 429 in codes[2:]
    status, _, body = call(serval, api_id, "GET", "/?mode=plain")
    assert status == 429 and json.loads(body) == {"message": "Too Many Requests"}


def test_management_errors(apigw2):
    with pytest.raises(ClientError) as e:
        apigw2.get_api(ApiId="nope123456")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        apigw2.create_integration(ApiId="nope123456", IntegrationType="AWS_PROXY",
                                  IntegrationUri="arn:aws:lambda:us-east-1:000000000000:function:x")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    api_id = apigw2.create_api(Name="errs", ProtocolType="HTTP")["ApiId"]
    try:
        with pytest.raises(ClientError) as e:
            apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri="nope")
        assert e.value.response["Error"]["Code"] == "BadRequestException"
        with pytest.raises(ClientError) as e:
            apigw2.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/missing")
        assert e.value.response["Error"]["Code"] == "BadRequestException"
        apigw2.tag_resource(ResourceArn=f"arn:aws:apigateway:{REGION}::/apis/{api_id}", Tags={"a": "1"})
        assert apigw2.get_tags(ResourceArn=f"arn:aws:apigateway:{REGION}::/apis/{api_id}")["Tags"] == {"a": "1"}
        apigw2.update_api(ApiId=api_id, Name="renamed", Description="d")
        got = apigw2.get_api(ApiId=api_id)
        assert got["Name"] == "renamed" and got["Description"] == "d"
    finally:
        apigw2.delete_api(ApiId=api_id)
    with pytest.raises(ClientError):
        apigw2.get_api(ApiId=api_id)


def test_apis_survive_restart(serval_factory, apigw_zip, tmp_path):
    from serval_harness import ROLE
    s = serval_factory(data_dir=tmp_path / "data")
    lam = s.client()
    fn = lam.create_function(FunctionName="gw-durable", Runtime="python3.12", Role=ROLE,
                             Handler="handler.handler", Code={"ZipFile": apigw_zip})["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="gw-durable")
    api_id = s.client("apigatewayv2").create_api(Name="d", ProtocolType="HTTP", Target=fn)["ApiId"]
    s.kill9()
    s.start()
    status, _, body = http_call(s, "GET", "/?mode=plain", host=host(api_id))
    assert status == 200 and json.loads(body) == {"hello": "world"}


@pytest.fixture
def authorizer_fn(create_fn, apigw_zip):
    return create_fn(apigw_zip, handler="handler.authorizer")["FunctionArn"]


def test_lambda_request_authorizer(serval, apigw2, apigw_fn, authorizer_fn):
    api_id = apigw2.create_api(Name="lauth", ProtocolType="HTTP")["ApiId"]
    try:
        integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                          IntegrationUri=apigw_fn, PayloadFormatVersion="2.0")
        target = f"integrations/{integ['IntegrationId']}"
        uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
               f"{authorizer_fn}/invocations")
        simple = apigw2.create_authorizer(
            ApiId=api_id, AuthorizerType="REQUEST", Name="simple", AuthorizerUri=uri,
            IdentitySource=["$request.header.Authorization"], AuthorizerPayloadFormatVersion="2.0",
            EnableSimpleResponses=True, AuthorizerResultTtlInSeconds=300)
        iam = apigw2.create_authorizer(
            ApiId=api_id, AuthorizerType="REQUEST", Name="iam", AuthorizerUri=uri,
            IdentitySource=["$request.header.Authorization"], AuthorizerPayloadFormatVersion="2.0")
        apigw2.create_route(ApiId=api_id, RouteKey="GET /simple", Target=target,
                            AuthorizationType="CUSTOM", AuthorizerId=simple["AuthorizerId"])
        apigw2.create_route(ApiId=api_id, RouteKey="GET /policy", Target=target,
                            AuthorizationType="CUSTOM", AuthorizerId=iam["AuthorizerId"])
        apigw2.create_route(ApiId=api_id, RouteKey="GET /iam", Target=target,
                            AuthorizationType="AWS_IAM")
        apigw2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        with pytest.raises(ClientError):
            apigw2.delete_authorizer(ApiId=api_id, AuthorizerId=simple["AuthorizerId"])

        assert call(serval, api_id, "GET", "/simple")[0] == 401
        status, _, body = call(serval, api_id, "GET", "/simple", headers={"Authorization": "deny"})
        assert status == 403 and json.loads(body) == {"message": "Forbidden"}
        for _ in range(2):  # the second answer may come from the cache
            status, _, body = call(serval, api_id, "GET", "/simple", headers={"Authorization": "allow"})
            assert status == 200, body
            ev = json.loads(body)
            assert ev["requestContext"]["authorizer"] == {"lambda": {"user": "alice", "n": 7, "flag": True}}
        apigw2.reset_authorizers_cache(ApiId=api_id, StageName="$default")

        hdr = {"Authorization": "allow", "X-Shape": "iam"}
        status, _, body = call(serval, api_id, "GET", "/policy", headers=hdr)
        assert status == 200, body
        assert json.loads(body)["requestContext"]["authorizer"]["lambda"]["user"] == "alice"
        status, _, _ = call(serval, api_id, "GET", "/policy",
                            headers={"Authorization": "deny", "X-Shape": "iam"})
        assert status == 403

        assert call(serval, api_id, "GET", "/iam")[0] == 403
        signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=123456789012/20250101/us-east-1/"
                                   "execute-api/aws4_request, SignedHeaders=host, Signature=abc"}
        status, _, body = call(serval, api_id, "GET", "/iam", headers=signed)
        assert status == 200, body
        assert json.loads(body)["requestContext"]["authorizer"]["iam"]["accountId"] == "123456789012"
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_access_logs(serval, apigw2, quick_api):
    import urllib.parse
    from serval_harness import wait_until
    api_id = quick_api["ApiId"]
    group = f"/serval-tests/access/{api_id}"
    apigw2.update_stage(ApiId=api_id, StageName="$default", AccessLogSettings={
        "DestinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}",
        "Format": '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                  '"method":"$context.httpMethod","routeKey":"$context.routeKey",'
                  '"status":"$context.status","len":"$context.responseLength"}'})
    status, headers, _ = call(serval, api_id, "GET", "/logged?mode=plain")
    assert status == 200

    def lines():
        q = urllib.parse.urlencode({"group": group})
        _, _, body = http_call(serval, "GET", f"/_serval/logs?{q}")
        return [json.loads(e["message"]) for e in json.loads(body)["events"]]

    wait_until(lambda: lines(), timeout=10, message="access log line")
    line = lines()[0]
    assert line == {"requestId": headers["apigw-requestid"], "ip": "127.0.0.1", "method": "GET",
                    "routeKey": "$default", "status": "200", "len": "18"}


def test_http_proxy_integration(serval, apigw2, upstream):
    api = apigw2.create_api(Name="proxy", ProtocolType="HTTP", Target=upstream)
    api_id = api["ApiId"]
    try:
        status, headers, body = call(serval, api_id, "POST", "/a/b?x=1", body="hello",
                                     headers={"X-Client": "c"})
        assert status == 200, body
        assert headers["x-upstream"] == "yes"
        got = json.loads(body)
        assert got["method"] == "POST" and got["path"] == "/a/b?x=1" and got["body"] == "hello"
        assert got["headers"]["x-client"] == "c"
        assert got["headers"]["x-forwarded-for"] == "127.0.0.1"

        integ = apigw2.create_integration(
            ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
            IntegrationUri=f"{upstream}/base/{{proxy}}", PayloadFormatVersion="1.0",
            RequestParameters={"overwrite:header.x-added": "static-value",
                               "append:querystring.q": "$request.header.x-client",
                               "remove:header.x-drop": "''"},
            ResponseParameters={"200": {"overwrite:statuscode": "202",
                                        "append:header.x-mapped": "$response.header.x-upstream"}})
        apigw2.create_route(ApiId=api_id, RouteKey="ANY /svc/{proxy+}",
                            Target=f"integrations/{integ['IntegrationId']}")
        status, headers, body = call(serval, api_id, "GET", "/svc/deep/path",
                                     headers={"X-Client": "me", "X-Drop": "gone"})
        assert status == 202, body
        assert headers["x-mapped"] == "yes"
        got = json.loads(body)
        assert got["path"] == "/base/deep/path?q=me"
        assert got["headers"]["x-added"] == "static-value"
        assert "x-drop" not in got["headers"]
    finally:
        apigw2.delete_api(ApiId=api_id)
    # An unreachable upstream is a 500, not a hang.
    api_id = apigw2.create_api(Name="dead", ProtocolType="HTTP", Target="http://127.0.0.1:9")["ApiId"]
    try:
        status, _, body = call(serval, api_id, "GET", "/")
        assert status == 500 and json.loads(body) == {"message": "Internal Server Error"}
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_import_export_openapi(serval, apigw2, apigw_fn, authorizer_fn):
    doc = f"""
openapi: 3.0.1
info:
  title: imported
  version: "3"
x-amazon-apigateway-cors:
  allowOrigins: ["*"]
  allowMethods: [GET]
components:
  securitySchemes:
    lam:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer:
        type: request
        identitySource: $request.header.Authorization
        authorizerUri: {authorizer_fn}
        authorizerPayloadFormatVersion: "2.0"
        enableSimpleResponses: true
paths:
  /items/{{id}}:
    get:
      operationId: getItem
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: {apigw_fn}
        payloadFormatVersion: "2.0"
  /secret:
    get:
      security: [{{lam: []}}]
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: {apigw_fn}
        payloadFormatVersion: "2.0"
"""
    api = apigw2.import_api(Body=doc)
    api_id = api["ApiId"]
    try:
        assert api["Name"] == "imported" and api["Version"] == "3"
        assert api["CorsConfiguration"]["AllowOrigins"] == ["*"]
        keys = sorted(r["RouteKey"] for r in apigw2.get_routes(ApiId=api_id)["Items"])
        assert keys == ["GET /items/{id}", "GET /secret"]
        assert apigw2.get_authorizers(ApiId=api_id)["Items"][0]["AuthorizerType"] == "REQUEST"
        apigw2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        status, _, body = call(serval, api_id, "GET", "/items/5")
        assert status == 200 and json.loads(body)["pathParameters"] == {"id": "5"}
        assert call(serval, api_id, "GET", "/secret")[0] == 401
        assert call(serval, api_id, "GET", "/secret", headers={"Authorization": "allow"})[0] == 200

        exported = json.loads(apigw2.export_api(ApiId=api_id, Specification="OAS30",
                                                OutputType="JSON")["body"].read())
        assert exported["openapi"] == "3.0.1"
        assert set(exported["paths"]) == {"/items/{id}", "/secret"}
        integ = exported["paths"]["/items/{id}"]["get"]["x-amazon-apigateway-integration"]
        assert integ["type"] == "aws_proxy" and integ["uri"] == apigw_fn
        yaml_body = apigw2.export_api(ApiId=api_id, Specification="OAS30",
                                      OutputType="YAML")["body"].read().decode()
        assert "openapi: 3.0.1" in yaml_body

        # Reimport replaces the routes.
        exported["paths"] = {"/only": exported["paths"]["/items/{id}"]}
        del exported["components"]
        apigw2.reimport_api(ApiId=api_id, Body=json.dumps(exported))
        keys = [r["RouteKey"] for r in apigw2.get_routes(ApiId=api_id)["Items"]]
        assert keys == ["GET /only"]
        assert call(serval, api_id, "GET", "/only")[0] == 200
        assert call(serval, api_id, "GET", "/items/5")[0] == 404
    finally:
        apigw2.delete_api(ApiId=api_id)
    with pytest.raises(ClientError) as e:
        apigw2.import_api(Body="openapi: [unclosed")
    assert e.value.response["Error"]["Code"] == "BadRequestException"


def test_encoded_and_unicode_stage_paths(serval, apigw2, quick_api):
    api_id = quick_api["ApiId"]
    apigw2.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
    # An encoded stage segment selects the stage; the rest of the path stays intact.
    status, _, body = call(serval, api_id, "GET", "/pr%6Fd/a%2Fb/%C3%A9t%C3%A9")
    assert status == 200, body
    ev = json.loads(body)
    assert ev["requestContext"]["stage"] == "prod"
    # Non-ASCII and odd first segments fall through to $default without harm.
    for path in ["/%C3%A9t%C3%A9/x", "/%FF%FE/x", "/%/x", "/$default/x"]:
        status, _, _ = call(serval, api_id, "GET", path)
        assert status == 200, path


def test_https_integration_is_verified(serval, apigw2, tmp_path):
    """HTTPS integrations go through TLS with certificate verification: a self-signed
    upstream is refused with a 500, quickly, instead of being trusted or hanging."""
    import datetime
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"trusted?")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    api_id = apigw2.create_api(Name="tls", ProtocolType="HTTP",
                               Target=f"https://127.0.0.1:{srv.server_address[1]}")["ApiId"]
    try:
        started = time.time()
        status, _, body = call(serval, api_id, "GET", "/")
        assert status == 500 and json.loads(body) == {"message": "Internal Server Error"}
        assert time.time() - started < 10
    finally:
        apigw2.delete_api(ApiId=api_id)
        srv.shutdown()
