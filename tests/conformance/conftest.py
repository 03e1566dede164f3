"""Fixtures for the Serval Lambda conformance suite.

One ephemeral server is shared by the whole session (restarted on the same port if a test
kills it); `serval_factory` starts extra instances (own --data-dir, extra flags) for restart,
kill -9 and flag tests. Function zips are built in memory from tests/functions/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serval_harness import (  # noqa: E402
    FUNCTIONS_DIR,
    Notifier,
    ROLE,
    ServalProcess,
    make_client,
    make_zip,
    rust_echo_bin,
    unique_name,
    zip_dir,
)


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def serval():
    server = ServalProcess()
    try:
        server.start()
    except RuntimeError as e:
        pytest.exit(f"cannot start serval: {e}", returncode=3)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _server_watchdog(request, serval):
    """Restart the shared server if a previous test took it down, and blame the test that did."""
    if not serval.alive():
        serval.start()
    yield
    if not serval.alive():
        code = serval.proc.returncode
        tail = serval.log_tail()
        serval.start()
        pytest.fail(f"the shared serval process died during this test (exit {code})\n{tail}")


@pytest.fixture
def serval_factory(tmp_path):
    """Start extra servers: factory(data_dir=None, extra_args=(), env=None, wrapper=()) -> started ServalProcess."""
    started: list[ServalProcess] = []

    def factory(data_dir=None, extra_args=(), start=True, env=None, wrapper=()) -> ServalProcess:
        server = ServalProcess(data_dir=data_dir, extra_args=extra_args, env=env, wrapper=wrapper)
        started.append(server)
        return server.start() if start else server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def endpoint(serval) -> str:
    return serval.endpoint


@pytest.fixture(scope="session")
def lam(serval):
    """Lambda client (no retries, so throttles and 5xx surface as they are)."""
    return serval.client()


@pytest.fixture(scope="session")
def lam_raw(serval):
    """Lambda client without botocore's client-side parameter validation (for server-side checks)."""
    return serval.client(parameter_validation=False)


# --------------------------------------------------------------------------- zips


@pytest.fixture(scope="session")
def python_zip() -> bytes:
    return zip_dir(FUNCTIONS_DIR / "python" / "echo")


@pytest.fixture(scope="session")
def python_v2_zip() -> bytes:
    return zip_dir(FUNCTIONS_DIR / "python" / "v2")


@pytest.fixture(scope="session")
def python_import_error_zip() -> bytes:
    return zip_dir(FUNCTIONS_DIR / "python" / "import_error")


@pytest.fixture(scope="session")
def node_zips() -> dict[str, bytes]:
    base = FUNCTIONS_DIR / "node"
    return {style: zip_dir(base / style) for style in ("async", "callback", "esm")}


@pytest.fixture(scope="session")
def rust_zip() -> bytes:
    path = rust_echo_bin()
    if not path.exists():
        pytest.fail(
            f"rust-echo bootstrap not found at {path}: build it with "
            "`cargo build --release -p rust-echo` or set RUST_ECHO_BIN"
        )
    return make_zip({"bootstrap": (path.read_bytes(), 0o755)})


# --------------------------------------------------------------------------- functions


@pytest.fixture
def fn_name(request):
    """A fresh, unique function name derived from the test's name."""
    base = request.node.name.replace("test_", "", 1)

    def make(suffix: str = "") -> str:
        return unique_name(f"{base[:30]}{suffix}")

    return make


@pytest.fixture
def create_fn(lam, python_zip, fn_name):
    """create_fn(zip=None, runtime='python3.12', handler='handler.handler', name=None,
    wait=True, client=lam, **CreateFunction kwargs) -> CreateFunction response.
    Functions are deleted when the test ends."""
    created: list[tuple] = []

    def create(zip_bytes: bytes | None = None, runtime: str = "python3.12", handler: str = "handler.handler",
               name: str | None = None, wait: bool = True, client=None, **kwargs):
        client = client or lam
        name = name or fn_name()
        params = dict(
            FunctionName=name,
            Runtime=runtime,
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": zip_bytes if zip_bytes is not None else python_zip},
        )
        params.update(kwargs)
        resp = client.create_function(**params)
        created.append((client, name))
        if wait:
            client.get_waiter("function_active_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
            )
        return resp

    yield create
    for client, name in created:
        try:
            client.delete_function(FunctionName=name)
        except Exception:
            pass


def wait_updated(client, name: str, qualifier: str | None = None) -> None:
    kwargs = {"FunctionName": name}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    client.get_waiter("function_updated_v2").wait(**kwargs, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})


@pytest.fixture
def wait_fn_updated():
    return wait_updated


@pytest.fixture
def notifier():
    """A loopback TCP listener functions report side effects to ({"notify": notifier.addr})."""
    n = Notifier()
    yield n
    n.close()


# --------------------------------------------------------------------------- api gateway


@pytest.fixture(scope="session")
def apigw_zip() -> bytes:
    return zip_dir(FUNCTIONS_DIR / "python" / "apigw")


@pytest.fixture(scope="session")
def apigw2(serval):
    """apigatewayv2 (HTTP APIs) client."""
    return serval.client("apigatewayv2")


@pytest.fixture(scope="session")
def apigw1(serval):
    """apigateway (REST APIs) client."""
    return serval.client("apigateway")


@pytest.fixture
def apigw_fn(create_fn, apigw_zip):
    """A function running tests/functions/python/apigw; returns its ARN."""
    return create_fn(apigw_zip)["FunctionArn"]


@pytest.fixture
def upstream():
    """A small HTTP server that answers every request with what it received, as JSON."""
    import http.server
    import json
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            n = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(n).decode() if n else ""
            doc = json.dumps({"method": self.command, "path": self.path, "body": body,
                              "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("x-upstream", "yes")
            self.send_header("content-length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


# --------------------------------------------------------------------------- dynamodb


def _ddb_endpoint(serval) -> str:
    # DDB_REFERENCE_ENDPOINT points the DynamoDB tests at another implementation (a reference
    # emulator, say) to check the tests themselves; tests that need serval_factory still use Serval.
    return os.environ.get("DDB_REFERENCE_ENDPOINT") or serval.endpoint


@pytest.fixture(scope="session")
def ddb(serval):
    """Low-level DynamoDB client (AttributeValue dicts in and out; no retries)."""
    return make_client(_ddb_endpoint(serval), "dynamodb")


@pytest.fixture(scope="session")
def ddb_raw(serval):
    """DynamoDB client without botocore's parameter validation, for server-side checks."""
    return make_client(_ddb_endpoint(serval), "dynamodb", parameter_validation=False)


@pytest.fixture(scope="session")
def ddb_streams(serval):
    """DynamoDB Streams client."""
    return make_client(_ddb_endpoint(serval), "dynamodbstreams")


def _key_schema(hash_key, range_key):
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    defs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    if range_key:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        defs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
    return schema, defs


@pytest.fixture
def make_table(ddb, request):
    """make_table(hash_key=("pk", "S"), range_key=None, name=None, client=ddb, extra_defs=(),
    wait=True, **CreateTable kwargs) -> table name. PAY_PER_REQUEST unless BillingMode or
    ProvisionedThroughput is given. Tables are deleted when the test ends."""
    created: list[tuple] = []

    def make(hash_key=("pk", "S"), range_key=None, name=None, client=None, extra_defs=(), wait=True, **kwargs):
        client = client or ddb
        name = name or unique_name(f"t-{request.node.name.replace('test_', '', 1)[:24]}")
        schema, defs = _key_schema(hash_key, range_key)
        defs += [{"AttributeName": n, "AttributeType": t} for n, t in extra_defs]
        params = dict(TableName=name, KeySchema=schema, AttributeDefinitions=defs)
        if "ProvisionedThroughput" not in kwargs:
            params["BillingMode"] = "PAY_PER_REQUEST"
        params.update(kwargs)
        client.create_table(**params)
        created.append((client, name))
        if wait:
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
        return name

    yield make
    for client, name in created:
        try:
            client.delete_table(TableName=name)
        except Exception:
            pass


@pytest.fixture
def table_s(make_table):
    """A fresh table with a string hash key `pk` only."""
    return make_table()


@pytest.fixture
def table_ss(make_table):
    """A fresh table with string hash key `pk` and string range key `sk`."""
    return make_table(range_key=("sk", "S"))


@pytest.fixture
def table_sn(make_table):
    """A fresh table with string hash key `pk` and number range key `sk`."""
    return make_table(range_key=("sk", "N"))


# --------------------------------------------------------------------------- sqs


@pytest.fixture(scope="session")
def sqs(serval):
    """SQS client (JSON protocol, no retries)."""
    return make_client(serval.endpoint, "sqs")


@pytest.fixture(scope="session")
def sqs_raw(serval):
    """SQS client without botocore's parameter validation, for server-side checks."""
    return make_client(serval.endpoint, "sqs", parameter_validation=False)


@pytest.fixture(scope="session")
def sns(serval):
    """SNS client (query protocol, no retries)."""
    return make_client(serval.endpoint, "sns")


@pytest.fixture(scope="session")
def sns_raw(serval):
    """SNS client without botocore's parameter validation, for server-side checks."""
    return make_client(serval.endpoint, "sns", parameter_validation=False)


@pytest.fixture
def make_topic(sns, request):
    """make_topic(suffix="", fifo=False, client=sns, tags=None, **Attributes) -> topic ARN; deleted afterwards."""
    created: list[tuple] = []

    def make(suffix: str = "", fifo: bool = False, client=None, tags=None, **attributes):
        client = client or sns
        name = unique_name(f"t-{request.node.name.replace('test_', '', 1)[:30]}{suffix}")
        attrs = {k: str(v) for k, v in attributes.items()}
        if fifo:
            name += ".fifo"
            attrs["FifoTopic"] = "true"
        kwargs = {"Name": name, "Attributes": attrs}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        arn = client.create_topic(**kwargs)["TopicArn"]
        created.append((client, arn))
        return arn

    yield make
    for client, arn in created:
        try:
            client.delete_topic(TopicArn=arn)
        except Exception:
            pass


@pytest.fixture
def make_queue(sqs, request):
    """make_queue(suffix="", fifo=False, client=sqs, **Attributes) -> queue URL; deleted afterwards."""
    created: list[tuple] = []

    def make(suffix: str = "", fifo: bool = False, client=None, tags=None, **attributes):
        client = client or sqs
        name = unique_name(f"q-{request.node.name.replace('test_', '', 1)[:30]}{suffix}")
        attrs = {k: str(v) for k, v in attributes.items()}
        if fifo:
            name += ".fifo"
            attrs["FifoQueue"] = "true"
        kwargs = {"QueueName": name, "Attributes": attrs}
        if tags:
            kwargs["tags"] = tags
        url = client.create_queue(**kwargs)["QueueUrl"]
        created.append((client, url))
        return url

    yield make
    for client, url in created:
        try:
            client.delete_queue(QueueUrl=url)
        except Exception:
            pass


# --------------------------------------------------------------------------- s3


@pytest.fixture(scope="session")
def s3(serval):
    """S3 client, path-style addressing (the endpoint is an IP address)."""
    return make_client(serval.endpoint, "s3", s3={"addressing_style": "path"})


@pytest.fixture
def bucket(s3, request):
    """A fresh bucket, emptied and deleted when the test ends."""
    name = unique_name("bkt").lower().replace("_", "-")[:60]
    s3.create_bucket(Bucket=name)
    yield name
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
        for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
        s3.delete_bucket(Bucket=name)
    except Exception:
        pass
# --------------------------------------------------------------------------- eventbridge


@pytest.fixture(scope="session")
def events(serval):
    """EventBridge client."""
    return serval.client("events")


@pytest.fixture(scope="session")
def events_raw(serval):
    """EventBridge client without botocore's parameter validation, for server-side checks."""
    return serval.client("events", parameter_validation=False)


@pytest.fixture(scope="session")
def scheduler(serval):
    """EventBridge Scheduler client."""
    return serval.client("scheduler")


@pytest.fixture(scope="session")
def scheduler_raw(serval):
    """Scheduler client without botocore's parameter validation."""
    return serval.client("scheduler", parameter_validation=False)


RECORDER = """
import json, os, socket
def handler(event, context):
    host, port = os.environ["NOTIFY"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(json.dumps(event).encode())
    return "recorded"
"""


@pytest.fixture
def recorder(create_fn):
    """A function that sends every event it gets to a TCP notifier; yields (arn, notifier)."""
    from serval_harness import make_zip as _make_zip

    notifier = Notifier()
    resp = create_fn(_make_zip({"recorder.py": RECORDER}), handler="recorder.handler",
                     Environment={"Variables": {"NOTIFY": notifier.addr}})
    yield resp["FunctionArn"], notifier
    notifier.close()
