"""The official Python runtime interface client (awslambdaric) speaking Serval's Runtime API, from a
provided.al2023 function whose bootstrap runs `python3 -m awslambdaric app.handler`.

As on AWS, the client is part of the deployment package: the test copies the installed
awslambdaric and its runtime dependencies (from their dist-info RECORDs, following Requires-Dist)
out of the test venv's site-packages into the zip, the way `pip install --target` lays them out.
Only the interpreter comes from the host (a sandboxed function sees the host's system files, not
the test venv), and it must be of the minor version the client's C extension was built for.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from serval_harness import FUNCTIONS_DIR, invoke, make_zip, ok


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    """Names of the distributions `dist` needs at run time (markers evaluated, extras ignored)."""
    names = []
    for spec in dist.requires or []:
        try:
            from packaging.requirements import Requirement

            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            names.append(req.name)
        except ImportError:  # no `packaging`: skip anything conditional
            if ";" in spec:
                continue
            names.append(re.match(r"[A-Za-z0-9._-]+", spec).group(0))
    return names


def package_files(root: str) -> dict[str, tuple[bytes, int]]:
    """Every installed file of distribution `root` and of what it requires, by its path
    relative to site-packages (no bytecode caches, nothing installed outside site-packages)."""
    entries: dict[str, tuple[bytes, int]] = {}
    todo, seen = [root], set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        dist = metadata.distribution(name)
        for f in dist.files or []:
            rel = f.as_posix()
            if rel.startswith("..") or "__pycache__" in f.parts or rel.endswith(".pyc"):
                continue
            path = Path(f.locate())
            if path.is_file():
                entries[rel] = (path.read_bytes(), (path.stat().st_mode & 0o777) | 0o644)
        todo.extend(_requirement_names(dist))
    return entries


@pytest.fixture(scope="module")
def ric_zip() -> bytes:
    try:
        import awslambdaric  # noqa: F401
    except ImportError as e:
        pytest.skip(f"awslambdaric is not importable ({e}); scripts/test installs it")
    files = package_files("awslambdaric")
    for needed in ("awslambdaric/__main__.py", "snapshot_restore_py.py", "simplejson/__init__.py"):
        assert needed in files, f"{needed} missing from the packaged client: {sorted(files)[:20]}..."
    src = FUNCTIONS_DIR / "python" / "ric"
    bootstrap = (src / "bootstrap.tmpl").read_text().replace(
        "@PYTHON@", f"python{sys.version_info.major}.{sys.version_info.minor}")
    return make_zip({
        **files,
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
    # the client running is the one in the deployment package
    assert body["ric_file"].startswith(body["task_root"].rstrip("/") + "/awslambdaric/"), body
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
