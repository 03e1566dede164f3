"""The aws CLI (v1 or v2) against Serval with --endpoint-url."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from serval_harness import ROLE, unique_name


def aws_executable() -> str | None:
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    return shutil.which("aws")


@pytest.fixture(scope="module")
def aws(serval, tmp_path_factory):
    exe = aws_executable()
    if not exe:
        pytest.skip("aws CLI not installed")
    home = tmp_path_factory.mktemp("awshome")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_PAGER="",
        HOME=str(home),
    )

    def run(*args, check=True):
        cmd = [exe, "lambda", *args, "--endpoint-url", serval.endpoint, "--output", "json"]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        if check:
            assert out.returncode == 0, f"{' '.join(cmd)}\nstdout: {out.stdout}\nstderr: {out.stderr}"
        return out

    return run


def test_cli_create_invoke_list_delete(aws, python_zip, tmp_path, lam):
    name = unique_name("cli")
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(python_zip)
    try:
        created = json.loads(aws("create-function", "--function-name", name, "--runtime", "python3.12",
                                 "--handler", "handler.handler", "--role", ROLE,
                                 "--zip-file", f"fileb://{zip_path}", "--timeout", "10").stdout)
        assert created["FunctionName"] == name
        assert created["Timeout"] == 10
        aws("wait", "function-active-v2", "--function-name", name)

        payload = tmp_path / "payload.json"
        payload.write_text(json.dumps({"from": "cli"}))
        out_file = tmp_path / "out.json"
        result = json.loads(aws("invoke", "--function-name", name, "--payload", f"fileb://{payload}",
                                str(out_file)).stdout)
        assert result["StatusCode"] == 200
        assert result.get("ExecutedVersion") == "$LATEST"
        assert "FunctionError" not in result
        assert json.loads(out_file.read_text()) == {"from": "cli"}

        listed = json.loads(aws("list-functions").stdout)
        assert name in [f["FunctionName"] for f in listed["Functions"]]

        cfg = json.loads(aws("get-function-configuration", "--function-name", name).stdout)
        assert cfg["State"] == "Active"
    finally:
        aws("delete-function", "--function-name", name, check=False)


def test_cli_invoke_function_error(aws, python_zip, tmp_path, create_fn):
    name = create_fn()["FunctionName"]
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"fail": "cli boom"}))
    out_file = tmp_path / "out.json"
    result = json.loads(aws("invoke", "--function-name", name, "--payload", f"fileb://{payload}",
                            str(out_file)).stdout)
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    assert json.loads(out_file.read_text())["errorMessage"] == "cli boom"


def test_cli_invoke_log_tail(aws, create_fn, tmp_path):
    name = create_fn()["FunctionName"]
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"print": "cli-tail-marker"}))
    result = json.loads(aws("invoke", "--function-name", name, "--payload", f"fileb://{payload}",
                            "--log-type", "Tail", str(tmp_path / "out.json")).stdout)
    log = base64.b64decode(result["LogResult"]).decode()
    assert "cli-tail-marker" in log
    assert "REPORT RequestId" in log


def test_cli_missing_function_error(aws):
    out = aws("get-function", "--function-name", unique_name("missing"), check=False)
    assert out.returncode != 0
    assert "ResourceNotFoundException" in out.stderr
