"""Serval gives Python functions boto3 even when the host interpreter lacks it:
it installs boto3 once into its runtime cache with the host's pip. Exercised
with Debian's /usr/bin/python3 (no boto3, has pip) as the only python3 on PATH."""

import subprocess
from pathlib import Path

import pytest

from serval_harness import ROLE, invoke, make_zip, ok, unique_name

SYSTEM_PY = Path("/usr/bin/python3")

APP = """
import os
def handler(event, context):
    import boto3
    names = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    return {"boto3": boto3.__version__, "functions": names}
"""


def _usable() -> str | None:
    if not SYSTEM_PY.exists():
        return "no /usr/bin/python3 on this host"
    has_boto3 = subprocess.run([SYSTEM_PY, "-c", "import boto3"], capture_output=True).returncode == 0
    if has_boto3:
        return "/usr/bin/python3 already has boto3: nothing to provision"
    has_pip = subprocess.run([SYSTEM_PY, "-m", "pip", "--version"], capture_output=True).returncode == 0
    if not has_pip:
        return "/usr/bin/python3 has no pip"
    return None


@pytest.mark.skipif(_usable() is not None, reason=_usable() or "")
def test_boto3_is_installed_into_the_runtime_cache(serval_factory, tmp_path):
    cache = tmp_path / "cache"
    server = serval_factory(env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache)})
    lam = server.client()
    name = unique_name("sdk")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Timeout=120, Code={"ZipFile": make_zip({"app.py": APP})})
    out = ok(invoke(lam, name, {}))
    assert out["boto3"]
    # The function reached Serval itself through AWS_ENDPOINT_URL, no configuration.
    assert name in out["functions"]
    assert (cache / "serval" / "python-sdk" / ".complete").exists()


def test_runtime_without_interpreter_is_an_invalid_runtime(serval_factory, tmp_path):
    """A runtime whose interpreter the host lacks: CreateFunction succeeds (as on
    AWS, where runtimes are checked at invoke), Invoke answers 502
    InvalidRuntimeException with a message naming what is missing."""
    server = serval_factory(env={"PATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    lam = server.client()
    name = unique_name("noint")
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": make_zip({"index.js": "exports.handler = async () => 1;"})})
    with pytest.raises(lam.exceptions.InvalidRuntimeException) as ei:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert "node" in ei.value.response["Error"]["Message"]
