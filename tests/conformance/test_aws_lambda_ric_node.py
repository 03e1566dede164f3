"""The official Node.js runtime interface client (aws-lambda-ric, npm) speaking Serval's Runtime API,
from a provided.al2023 function whose bootstrap runs `node node_modules/aws-lambda-ric/bin/index.mjs index.handler`.

aws-lambda-ric compiles a native addon (aws-lambda-cpp + libcurl) that does the Runtime API's
next / response / error calls, so this checks Serval against AWS's own C++ client as well.
As on AWS, the client is part of the deployment package: the test zips what it needs at run time
(package.json, bin/, dist/ with the addon; its npm dependencies are build-time only) from
tests/conformance/.node/ (installed by scripts/test), or wherever NODE_RIC_DIR points (the
aws-lambda-ric package directory itself), into node_modules/aws-lambda-ric/.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from serval_harness import FUNCTIONS_DIR, function_arn, invoke, make_zip, ok, repo_path

RIC_VERSION = "3.3.0"  # keep in step with NODE_RIC_VERSION in scripts/test
HANDLER = "index.handler"


def ric_dir():
    return repo_path("NODE_RIC_DIR", "tests/conformance/.node/node_modules/aws-lambda-ric")


@pytest.fixture(scope="module")
def node_ric_zip() -> bytes:
    pkg = ric_dir()
    entry = pkg / "bin" / "index.mjs"
    addon = pkg / "dist" / "rapid-client.node"
    if not entry.is_file() or not addon.is_file():
        pytest.skip(
            f"aws-lambda-ric is not installed at {pkg} (no bin/index.mjs or dist/rapid-client.node); "
            f"scripts/test installs aws-lambda-ric@{RIC_VERSION} there when npm, a compiler, cmake and "
            "autotools are available (see its output for why it did not)"
        )
    node = shutil.which("node")
    if node is None:
        pytest.skip("aws-lambda-ric is installed but there is no `node` on PATH to run it")
    version = json.loads((pkg / "package.json").read_text()).get("version")
    if version != RIC_VERSION:
        pytest.skip(f"aws-lambda-ric {version} at {pkg}, these tests are for {RIC_VERSION}")
    src = FUNCTIONS_DIR / "node" / "ric"
    bootstrap = (src / "bootstrap.tmpl").read_text().replace("@NODE@", shlex.quote(os.path.realpath(node)))
    return make_zip({
        **ric_package_files(pkg),
        "bootstrap": (bootstrap, 0o755),
        "index.mjs": (src / "index.mjs").read_bytes(),
    })


# What aws-lambda-ric needs at run time: bin/index.mjs imports dist/index.mjs, which loads
# dist/rapid-client.node and node's built-in modules only (its dependencies node-addon-api and
# node-gyp build the addon). The sources of libcurl and aws-lambda-cpp (deps/, ~150 MB) stay out.
RIC_RUNTIME_PARTS = ("package.json", "LICENSE", "NOTICE", "THIRD-PARTY-LICENSES", "bin", "dist")


def ric_package_files(pkg: Path) -> dict[str, tuple[bytes, int]]:
    entries: dict[str, tuple[bytes, int]] = {}
    for part in RIC_RUNTIME_PARTS:
        top = pkg / part
        for path in ([top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []):
            if path.is_file():
                rel = f"node_modules/aws-lambda-ric/{path.relative_to(pkg).as_posix()}"
                entries[rel] = (path.read_bytes(), (path.stat().st_mode & 0o777) | 0o644)
    return entries


@pytest.fixture
def ric_fn(create_fn, node_ric_zip):
    def make(**kwargs) -> str:
        kwargs.setdefault("Timeout", 10)
        return create_fn(zip_bytes=node_ric_zip, runtime="provided.al2023", handler=HANDLER, **kwargs)[
            "FunctionName"
        ]

    return make


def test_node_ric_echo(lam, ric_fn):
    name = ric_fn(MemorySize=256)
    event = {"hello": "node-ric", "nested": {"list": [1, 2.5, None, True]}, "unicode": "żółw 🐢"}
    inv = invoke(lam, name, event)
    body = ok(inv)
    assert body["echo"] == event
    assert body["runtime"] == "aws-lambda-ric"
    assert body["functionName"] == name
    assert body["functionVersion"] == "$LATEST"
    assert body["invokedFunctionArn"] == function_arn(name)
    assert body["memoryLimitInMB"] == "256"
    assert 0 < body["remainingTimeInMillis"] <= 10_000
    assert body["handlerEnv"] == HANDLER
    # the client loads index.mjs from its working directory, which is the task root
    assert body["cwd"] == body["taskRoot"]
    # the client running is the one in the deployment package
    assert body["ricScript"] == f"{body['taskRoot']}/node_modules/aws-lambda-ric/bin/index.mjs", body


def test_node_ric_request_id(lam, ric_fn):
    """context.awsRequestId (from the Lambda-Runtime-Aws-Request-Id header the C++ client read)
    is the invoke's x-amzn-RequestId, and the client's console lines carry it too."""
    name = ric_fn()
    marker = "ric-log-marker"
    inv = invoke(lam, name, {"print": marker}, LogType="Tail")
    body = ok(inv)
    assert inv.request_id
    assert body["requestId"] == inv.request_id
    # aws-lambda-ric's patched console.log writes "<timestamp>\t<request id>\tINFO\t<message>"
    line = next((ln for ln in inv.log.splitlines() if marker in ln), None)
    assert line is not None, inv.log
    assert f"\t{inv.request_id}\tINFO\t{marker}" in line, line
    # a second invoke gets a new id, seen the same way by the handler
    inv2 = invoke(lam, name, {"again": True})
    assert inv2.request_id != inv.request_id
    assert ok(inv2)["requestId"] == inv2.request_id


def test_node_ric_error(lam, ric_fn):
    name = ric_fn()
    inv = invoke(lam, name, {"fail": "node ric boom"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    # the Node.js runtimes' error shape: errorType, errorMessage and a "trace" list
    assert inv.payload["errorType"] == "RicError"
    assert inv.payload["errorMessage"] == "node ric boom"
    assert isinstance(inv.payload.get("trace"), list)
    assert any("RicError" in frame for frame in inv.payload["trace"]), inv.payload["trace"]
    # the runtime keeps serving after reporting an error
    assert ok(invoke(lam, name, {"ok": True}))["echo"] == {"ok": True}


def test_node_ric_warm_state(lam, ric_fn):
    name = ric_fn()
    first = ok(invoke(lam, name, {"n": 1}))
    second = ok(invoke(lam, name, {"n": 2}))
    assert second["echo"] == {"n": 2}
    # one runtime process served both: same module instance, module state carried over
    assert second["bootId"] == first["bootId"]
    assert second["pid"] == first["pid"]
    assert second["counter"] == first["counter"] + 1
