"""JWT authorizers of HTTP APIs: an OIDC issuer served by the test (discovery + JWKS), tokens
signed with PyJWT, checked for signature, issuer, audience, expiry and scopes."""

import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from serval_harness import http_call


class Issuer:
    """An OIDC issuer on loopback whose key set can change (rotation)."""

    def __init__(self, discovery=True):
        self.keys = {}
        self.fetches = 0
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration" and discovery:
                    doc = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
                elif self.path in ("/jwks.json", "/.well-known/jwks.json"):
                    issuer.fetches += 1
                    doc = {"keys": [issuer.public_jwk(k) for k in issuer.keys]
                           + [{"kty": "unknown-kind", "kid": "junk"}]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_rsa(self, kid):
        self.keys[kid] = ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def add_ec(self, kid):
        self.keys[kid] = ("ES256", ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self, kid):
        alg, key = self.keys[kid]
        algo = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
        jwk = json.loads(algo.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "alg": alg, "use": "sig"})
        return jwk

    def token(self, kid="k1", key=None, **claims):
        alg, own = self.keys[kid]
        now = int(time.time())
        body = {"iss": self.url, "sub": "user-1", "aud": "my-app", "iat": now, "exp": now + 300}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or own, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def issuer():
    i = Issuer()
    i.add_rsa("k1")
    yield i
    i.server.shutdown()


@pytest.fixture
def jwt_api(apigw2, apigw_fn, issuer):
    api_id = apigw2.create_api(Name="jwt", ProtocolType="HTTP")["ApiId"]
    integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                      IntegrationUri=apigw_fn, PayloadFormatVersion="2.0")
    target = f"integrations/{integ['IntegrationId']}"
    au = apigw2.create_authorizer(ApiId=api_id, AuthorizerType="JWT", Name="oidc",
                                  IdentitySource=["$request.header.Authorization"],
                                  JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})
    apigw2.create_route(ApiId=api_id, RouteKey="GET /me", Target=target,
                        AuthorizationType="JWT", AuthorizerId=au["AuthorizerId"])
    apigw2.create_route(ApiId=api_id, RouteKey="GET /admin", Target=target,
                        AuthorizationType="JWT", AuthorizerId=au["AuthorizerId"],
                        AuthorizationScopes=["admin", "root"])
    apigw2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    yield api_id
    apigw2.delete_api(ApiId=api_id)


def get(serval, api_id, path, token=None, raw=None):
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if raw is not None:
        headers["Authorization"] = raw
    return http_call(serval, "GET", path, host=f"{api_id}.execute-api.localhost", headers=headers)


def test_valid_token_reaches_the_function_with_claims(serval, jwt_api, issuer):
    status, _, body = get(serval, jwt_api, "/me", issuer.token(groups=["a", "b"], n=5))
    assert status == 200, body
    auth = json.loads(body)["requestContext"]["authorizer"]["jwt"]
    assert auth["claims"]["sub"] == "user-1"
    assert auth["claims"]["iss"] == issuer.url
    assert auth["claims"]["groups"] == "[a b]"
    assert auth["claims"]["n"] == "5"
    assert auth["scopes"] is None
    # Without "Bearer " works too, and keys are cached (one JWKS fetch so far).
    assert get(serval, jwt_api, "/me", raw=issuer.token())[0] == 200
    assert issuer.fetches == 1


def test_refusals(serval, jwt_api, issuer):
    status, headers, body = get(serval, jwt_api, "/me")
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    assert headers["www-authenticate"].startswith("Bearer")
    assert get(serval, jwt_api, "/me", "not-a-jwt")[0] == 401
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert get(serval, jwt_api, "/me", issuer.token(key=other))[0] == 401          # bad signature
    assert get(serval, jwt_api, "/me", issuer.token(exp=int(time.time()) - 10))[0] == 401
    assert get(serval, jwt_api, "/me", issuer.token(aud="someone-else"))[0] == 401
    assert get(serval, jwt_api, "/me", issuer.token(iss="http://evil.example"))[0] == 401
    assert get(serval, jwt_api, "/me", issuer.token(nbf=int(time.time()) + 600))[0] == 401
    # client_id stands in for a missing aud (Cognito access tokens).
    assert get(serval, jwt_api, "/me", issuer.token(aud=None, client_id="my-app"))[0] == 200
    assert get(serval, jwt_api, "/me", issuer.token(aud=None, client_id="nope"))[0] == 401


def test_scopes(serval, jwt_api, issuer):
    status, _, body = get(serval, jwt_api, "/admin", issuer.token(scope="read write"))
    assert status == 403 and json.loads(body) == {"message": "Forbidden"}
    status, _, body = get(serval, jwt_api, "/admin", issuer.token(scope="read root"))
    assert status == 200
    assert json.loads(body)["requestContext"]["authorizer"]["jwt"]["scopes"] == ["read", "root"]
    assert get(serval, jwt_api, "/admin", issuer.token(scp=["admin"]))[0] == 200


def test_refusals_say_why_in_www_authenticate(serval, jwt_api, issuer):
    status, headers, _ = get(serval, jwt_api, "/me")
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    status, headers, _ = get(serval, jwt_api, "/me", issuer.token(exp=int(time.time()) - 10))
    assert status == 401
    assert headers["www-authenticate"] == ('Bearer scope="" error="invalid_token" '
                                           'error_description="the token has expired"')
    status, headers, _ = get(serval, jwt_api, "/me", issuer.token(aud=["x", "y"]))
    assert status == 401
    assert 'error_description="the token does not have a valid audience"' in headers["www-authenticate"]
    # Issued in the future (beyond a few seconds of clock skew).
    assert get(serval, jwt_api, "/me", issuer.token(iat=int(time.time()) + 600))[0] == 401
    # The key set says k1 is for RS256: the same key under another algorithm is refused,
    # and so is a shared-secret algorithm.
    _, key = issuer.keys["k1"]
    now = int(time.time())
    body = {"iss": issuer.url, "aud": "my-app", "sub": "u", "iat": now, "exp": now + 300}
    rs512 = jwt.encode(body, key, algorithm="RS512", headers={"kid": "k1"})
    assert get(serval, jwt_api, "/me", rs512)[0] == 401
    hs256 = jwt.encode(body, "secret-secret-secret-secret-1234", algorithm="HS256", headers={"kid": "k1"})
    assert get(serval, jwt_api, "/me", hs256)[0] == 401
    # Any one of several audiences will do.
    assert get(serval, jwt_api, "/me", issuer.token(aud=["x", "my-app"]))[0] == 200


def test_claims_are_text_and_scopes_only_on_scoped_routes(serval, jwt_api, issuer):
    token = issuer.token(scope="read write", verified=True,
                         address={"zip": "1000", "city": "Brussels"}, aud=["my-app", "other"])
    status, _, body = get(serval, jwt_api, "/me", token)
    assert status == 200, body
    auth = json.loads(body)["requestContext"]["authorizer"]["jwt"]
    claims = auth["claims"]
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["verified"] == "true"
    assert claims["address"] == "map[city:Brussels zip:1000]"
    assert claims["aud"] == "[my-app other]"
    assert claims["scope"] == "read write"
    assert claims["exp"].isdigit()
    # The route asks for no scopes: API Gateway hands on null even though the token has some.
    assert auth["scopes"] is None


def test_token_from_the_query_string(serval, apigw2, apigw_fn, issuer):
    api_id = apigw2.create_api(Name="jwtq", ProtocolType="HTTP")["ApiId"]
    try:
        integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                          IntegrationUri=apigw_fn, PayloadFormatVersion="2.0")
        au = apigw2.create_authorizer(ApiId=api_id, AuthorizerType="JWT", Name="q",
                                      IdentitySource=["$request.querystring.access_token"],
                                      JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})
        apigw2.create_route(ApiId=api_id, RouteKey="GET /q", Target=f"integrations/{integ['IntegrationId']}",
                            AuthorizationType="JWT", AuthorizerId=au["AuthorizerId"])
        apigw2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        host = f"{api_id}.execute-api.localhost"
        status, _, body = http_call(serval, "GET", f"/q?access_token={issuer.token()}", host=host)
        assert status == 200, body
        assert json.loads(body)["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "user-1"
        # A token in the Authorization header is not where this authorizer looks.
        status, _, _ = http_call(serval, "GET", "/q", host=host,
                                 headers={"Authorization": f"Bearer {issuer.token()}"})
        assert status == 401
    finally:
        apigw2.delete_api(ApiId=api_id)


def test_key_rotation_and_ec_keys(serval, jwt_api, issuer):
    assert get(serval, jwt_api, "/me", issuer.token())[0] == 200
    issuer.add_ec("k2")
    # A token signed with a key the cache has not seen yet makes Serval fetch the keys again.
    status, _, body = get(serval, jwt_api, "/me", issuer.token(kid="k2"))
    assert status == 200, body
    assert get(serval, jwt_api, "/me", issuer.token(kid="k1"))[0] == 200


def test_issuer_without_discovery_uses_well_known_jwks(serval, apigw2, apigw_fn):
    issuer = Issuer(discovery=False)
    issuer.add_rsa("k1")
    api_id = apigw2.create_api(Name="jwks", ProtocolType="HTTP")["ApiId"]
    try:
        integ = apigw2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                          IntegrationUri=apigw_fn, PayloadFormatVersion="2.0")
        au = apigw2.create_authorizer(ApiId=api_id, AuthorizerType="JWT", Name="plain",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})
        apigw2.create_route(ApiId=api_id, RouteKey="GET /x", Target=f"integrations/{integ['IntegrationId']}",
                            AuthorizationType="JWT", AuthorizerId=au["AuthorizerId"])
        apigw2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        assert get(serval, api_id, "/x", issuer.token())[0] == 200
    finally:
        apigw2.delete_api(ApiId=api_id)
        issuer.server.shutdown()
