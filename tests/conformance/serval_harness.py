"""Process harness and small helpers shared by the Serval conformance tests.

Nothing here builds anything: the server binary comes from $SERVAL_BIN (default
target/release/serval) and the Rust test function from $RUST_ECHO_BIN (default
target/release/bootstrap), both relative to the repository root when not absolute.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Iterable, Mapping

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "tests" / "functions"

REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/serval-conformance"

# Timestamp used for every zip entry, so that a zip built twice hashes the same.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)

LAST_MODIFIED_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def repo_path(env_var: str, default: str) -> Path:
    p = Path(os.environ.get(env_var) or default)
    return p if p.is_absolute() else REPO_ROOT / p


def serval_bin() -> Path:
    return repo_path("SERVAL_BIN", "target/release/serval")


def rust_echo_bin() -> Path:
    return repo_path("RUST_ECHO_BIN", "target/release/bootstrap")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- zips


def make_zip(entries: Mapping[str, bytes | str | tuple]) -> bytes:
    """Build a zip in memory. A value is bytes/str (mode 0o644) or (content, mode)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            value = entries[name]
            mode = 0o644
            if isinstance(value, tuple):
                value, mode = value
            if isinstance(value, str):
                value = value.encode()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, value)
    return buf.getvalue()


def zip_dir(directory: Path, exclude: Iterable[str] = ()) -> bytes:
    """Zip every file of a directory (relative names), keeping executable bits."""
    entries: dict[str, tuple] = {}
    skip = set(exclude)
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.name in skip:
            continue
        mode = path.stat().st_mode & 0o777
        entries[str(path.relative_to(directory))] = (path.read_bytes(), mode | 0o644)
    return make_zip(entries)


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --------------------------------------------------------------------------- naming


def unique_name(prefix: str = "fn") -> str:
    prefix = re.sub(r"[^A-Za-z0-9-_]", "-", prefix).strip("-_")[:40] or "fn"
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def function_arn(name: str, qualifier: str | None = None, account: str = ACCOUNT) -> str:
    arn = f"arn:aws:lambda:{REGION}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


# --------------------------------------------------------------------------- invoke


class Invocation:
    """A decoded Invoke response."""

    def __init__(self, resp: dict):
        self.raw = resp
        self.status = resp["StatusCode"]
        self.function_error = resp.get("FunctionError")
        self.executed_version = resp.get("ExecutedVersion")
        self.log_result = resp.get("LogResult")
        self.request_id = resp["ResponseMetadata"].get("RequestId")
        self.headers = resp["ResponseMetadata"].get("HTTPHeaders", {})
        body = resp["Payload"].read() if resp.get("Payload") is not None else b""
        self.body_bytes = body
        try:
            self.payload = json.loads(body) if body else None
        except ValueError:
            self.payload = body

    @property
    def log(self) -> str:
        return base64.b64decode(self.log_result).decode("utf-8", "replace") if self.log_result else ""

    def __repr__(self) -> str:
        return (
            f"Invocation(status={self.status}, function_error={self.function_error!r}, "
            f"version={self.executed_version!r}, payload={str(self.payload)[:500]!r})"
        )


def invoke(client, name: str, payload=None, **kwargs) -> Invocation:
    if payload is not None and not isinstance(payload, (bytes, bytearray)):
        payload = json.dumps(payload)
    if payload is not None:
        kwargs["Payload"] = payload
    return Invocation(client.invoke(FunctionName=name, **kwargs))


def ok(inv: Invocation):
    """Assert a successful synchronous invocation and return its decoded payload."""
    assert inv.status == 200, inv
    assert inv.function_error is None, inv
    return inv.payload


def error_of(exc) -> tuple[str, int, dict]:
    resp = exc.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"], resp


# --------------------------------------------------------------------------- server


def make_client(endpoint: str, service: str = "lambda", access_key: str = "test", **config):
    cfg = dict(
        region_name=REGION,
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=120,
        max_pool_connections=32,
    )
    cfg.update(config)
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key="test-secret",
        config=Config(**cfg),
    )


class ServalProcess:
    """One `serval serve` process on 127.0.0.1, ephemeral or on a data dir."""

    def __init__(self, data_dir: Path | None = None, extra_args: Iterable[str] = (), port: int | None = None,
                 env: dict | None = None, wrapper: Iterable[str] = ()):
        self.binary = serval_bin()
        self.wrapper = list(wrapper)  # e.g. setpriv ... -- to run serval as another user
        self.env_overrides = dict(env or {})
        self.data_dir = Path(data_dir) if data_dir else None
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self._logdir = Path(tempfile.mkdtemp(prefix="serval-conformance-"))
        self.log_path = self._logdir / "server.log"
        self.starts = 0
        self._old_groups: list[int] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = self.wrapper + [str(self.binary), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.data_dir is None:
            cmd.append("--ephemeral")
        else:
            cmd += ["--data-dir", str(self.data_dir)]
        return cmd + self.extra_args

    def start(self, timeout: float = 30.0) -> "ServalProcess":
        if not self.binary.exists():
            raise RuntimeError(
                f"serval binary not found at {self.binary}; build it with `cargo build --release` "
                "or point SERVAL_BIN at it"
            )
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(self.env_overrides)
        logf = open(self.log_path, "ab")
        logf.write(f"\n=== start #{self.starts + 1}: {' '.join(self.command())}\n".encode())
        logf.flush()
        self.proc = subprocess.Popen(
            self.command(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=str(REPO_ROOT), start_new_session=True,
        )
        logf.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"serval exited with {self.proc.returncode} before becoming healthy\n{self.log_tail()}"
                )
            try:
                status, _ = self.health()
                if status == 200:
                    return self
            except (OSError, urllib.error.URLError, ValueError) as e:
                last_err = e
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serval not healthy after {timeout}s ({last_err})\n{self.log_tail()}")

    def health(self, timeout: float = 2.0) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_serval/health", timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, {}

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def client(self, service: str = "lambda", access_key: str = "test", **config):
        return make_client(self.endpoint, service, access_key, **config)

    def _signal_group(self, sig, pgid: int | None = None) -> None:
        try:
            os.killpg(pgid if pgid is not None else self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL; also reaps anything left in the server's process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._signal_group(signal.SIGKILL)
        for pgid in self._old_groups:
            self._signal_group(signal.SIGKILL, pgid)
        self._old_groups.clear()

    def kill9(self) -> None:
        """kill -9 the server process only (its children are left to notice on their own)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            # Orphaned runtimes stay alive (as after a real crash); stop() reaps them later.
            self._old_groups.append(self.proc.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def actual_data_dir(self) -> Path:
        """The data dir in use: --data-dir, or the temp dir an --ephemeral server announced."""
        if self.data_dir is not None:
            return self.data_dir
        found = re.findall(r"\(data: (/[^;,)]+)", self.log_text())
        if not found:
            raise RuntimeError(f"the server did not announce its data dir\n{self.log_tail()}")
        return Path(found[-1])

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_text().splitlines()[-lines:]
        return "--- serval log tail ---\n" + "\n".join(text)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


# --------------------------------------------------------------------------- processes


def _environ_has(pid: str, needles: Iterable[bytes]) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            entries = set(f.read().split(b"\0"))
    except OSError:
        return False
    return all(n in entries for n in needles)


def procs_with(*markers: str) -> list[int]:
    """Pids of live processes whose environment holds every one of `markers` (NAME=value)."""
    needles = [m.encode() for m in markers]
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _environ_has(p, needles)]


# --------------------------------------------------------------------------- raw HTTP


def raw_request(serval, method: str, path: str, body: bytes | None = None, headers=None, sign: bool = True):
    """Send one HTTP request (SigV4-signed unless sign=False); return (status, headers, body bytes)."""
    url = f"{serval.endpoint}{path}"
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    if sign:
        req = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(Credentials("test", "test-secret"), "lambda", REGION).add_auth(req)
        headers = dict(req.headers.items())
    conn = http.client.HTTPConnection("127.0.0.1", serval.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def error_type(headers: dict, body: bytes) -> str:
    """The error type as an AWS SDK would find it: x-amzn-ErrorType, else __type/Type/code in the body."""
    if headers.get("x-amzn-errortype"):
        return headers["x-amzn-errortype"].split(":")[0]
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    for key in ("__type", "code", "Code", "Type"):
        if isinstance(doc, dict) and doc.get(key) and doc.get(key) != "User":
            return str(doc[key]).split("#")[-1]
    return ""


class Notifier:
    """A TCP listener on loopback that collects what functions send it (the echo function's
    {"notify": addr}): a side effect visible from the test even when functions cannot write
    to the test's files (they run in their own mount namespace)."""

    def __init__(self):
        import socket
        import threading

        self.messages: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while chunk := conn.recv(4096):
                        data += chunk
                except OSError:
                    pass
                self.messages.append(data.decode(errors="replace"))

    def wait(self, timeout: float = 10.0) -> str:
        wait_until(lambda: self.messages, timeout=timeout, message="a notification from the function")
        return self.messages[0]

    def close(self):
        self._sock.close()


def tagged_processes(var: str):
    """Generator for a fixture: yields make() -> (env-var dict, "VAR=value"), unique each call;
    afterwards kills (by pid) every process still carrying one, so a failure leaves nothing running."""
    import signal
    import uuid

    made: list[str] = []

    def make():
        value = uuid.uuid4().hex
        made.append(f"{var}={value}")
        return {var: value}, made[-1]

    yield make
    for m in made:
        for pid in procs_with(m):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def http_call(serval, method: str, path: str, host: str | None = None, headers=None,
              body: bytes | str | None = None, timeout: float = 40):
    """Send one plain (unsigned) HTTP request to Serval's port, optionally with another Host
    header (e.g. `<api>.execute-api.localhost`); return (status, headers, body bytes).
    Headers come back lower-cased; repeated ones are joined with ", " except set-cookie,
    which is a list under "set-cookie"."""
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", serval.port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if host:
            hdrs["Host"] = f"{host}:{serval.port}"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        out: dict = {}
        for k, v in resp.getheaders():
            k = k.lower()
            if k == "set-cookie":
                out.setdefault(k, []).append(v)
            elif k in out:
                out[k] = f"{out[k]}, {v}"
            else:
                out[k] = v
        return resp.status, out, resp.read()
    finally:
        conn.close()
