"""Function behind API Gateway routes in the conformance tests.

`handler` looks at the query string (`mode`) and answers:
  (none)       {"statusCode": 200, "body": <the event as JSON>}
  plain        {"hello": "world"}            (2.0's simplified response)
  string       "hi"                          (a bare string)
  binary       a PNG header, base64 with isBase64Encoded
  cookies      two cookies and a multi-value header
  status       statusCode from ?code=
  fail         raises                        -> 500/502
  bad          {"statusCode": "abc"}         -> malformed
  sleep        sleeps ?ms= milliseconds first, then echoes
`authorizer` is a REQUEST authorizer: identity header `authorization` must be
"allow" (or "deny"/anything else). With payload 2.0 and simple responses it
answers {"isAuthorized": ..., "context": {...}}; otherwise an IAM policy.
`token_authorizer` is a REST TOKEN authorizer on the same rule.
"""

import base64
import json
import time

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff"


def _query(event):
    return event.get("queryStringParameters") or {}


def handler(event, context):
    q = _query(event)
    mode = q.get("mode")
    if mode == "sleep":
        time.sleep(int(q.get("ms", "0")) / 1000)
    if mode == "plain":
        return {"hello": "world"}
    if mode == "string":
        return "hi"
    if mode == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(PNG).decode(), "isBase64Encoded": True}
    if mode == "cookies":
        return {"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"],
                "headers": {"x-single": "s"}, "multiValueHeaders": {"x-multi": ["1", "2"]},
                "body": "ok"}
    if mode == "status":
        return {"statusCode": int(q.get("code", "200")), "body": ""}
    if mode == "fail":
        raise RuntimeError("boom")
    if mode == "bad":
        return {"statusCode": "abc"}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}


def _allowed(value):
    return value == "allow"


def authorizer(event, context):
    headers = event.get("headers") or {}
    token = headers.get("authorization") or headers.get("Authorization")
    ok = _allowed(token)
    ctx = {"user": "alice", "n": 7, "flag": True}
    if event.get("version") == "2.0" and event.get("type") == "REQUEST" and "routeArn" in event:
        # simple response shape when the authorizer enables it; IAM shape works for both
        if headers.get("x-shape") == "iam":
            return _policy(ok, event["routeArn"], ctx)
        return {"isAuthorized": ok, "context": ctx}
    return _policy(ok, event.get("methodArn") or event.get("routeArn"), ctx)


def token_authorizer(event, context):
    ok = _allowed(event.get("authorizationToken"))
    return _policy(ok, event["methodArn"], {"user": "bob"})


def _policy(allow, resource, ctx):
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow" if allow else "Deny",
                           "Resource": resource}],
        },
        "context": ctx,
    }
