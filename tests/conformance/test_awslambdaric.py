"""The official Python runtime interface client (awslambdaric) speaking Serval's Runtime API, from a
provided.al2023 function whose bootstrap runs `python3 -m awslambdaric app.handler`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from serval_harness import FUNCTIONS_DIR, invoke, make_zip, ok


@pytest.fixture(scope="module")
def ric_zip() -> bytes:
    try:
        import awslambdaric  # noqa: F401
    except ImportError as e:
        pytest.skip(f"awslambdaric is not importable ({e}); scripts/test installs it")
    site = Path(awslambdaric.__file__).resolve().parent.parent
    src = FUNCTIONS_DIR / "python" / "ric"
    bootstrap = (src / "bootstrap.tmpl").read_text()
    # A python3 that can load the package's C extension: the interpreter running these tests.
    bootstrap = bootstrap.replace("@SITE@", str(site)).replace("@PYTHON@", sys.executable)
    return make_zip({
        "bootstrap": (bootstrap, 0o755),
        "app.py": (src / "app.py").read_bytes(),
    })


def test_awslambdaric_echo(lam, create_fn, ric_zip, fn_name):
    name = fn_name()
    create_fn(name=name, zip_bytes=ric_zip, runtime="provided.al2023", handler="app.handler", Timeout=10)
    inv = invoke(lam, name, {"hello": "ric"})
    body = ok(inv)
    assert body["echo"] == {"hello": "ric"}
    assert body["runtime"] == "awslambdaric"
    assert body["request_id"] == inv.request_id
    assert body["function_name"] == name
    assert body["handler_env"] == "app.handler"
    # warm: a second invoke reuses the client's loop
    assert ok(invoke(lam, name, {"again": 1}))["echo"] == {"again": 1}


def test_awslambdaric_error(lam, create_fn, ric_zip):
    name = create_fn(zip_bytes=ric_zip, runtime="provided.al2023", handler="app.handler", Timeout=10)["FunctionName"]
    inv = invoke(lam, name, {"fail": "ric boom"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "RicError"
    assert inv.payload["errorMessage"] == "ric boom"
    assert isinstance(inv.payload.get("stackTrace"), list)
    # the runtime keeps serving after reporting an error
    assert ok(invoke(lam, name, {"ok": True}))["echo"] == {"ok": True}
