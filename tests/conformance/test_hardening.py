"""Regression tests for the hardening review: other accounts' functions, malformed regions,
symlinks in zips, out-of-range concurrency and markers, callers that hang up, provisioned
environments that outlive their alias, processes left behind by a crashed runtime, and runtimes
that exit between invocations. Each asserts what AWS Lambda does."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import stat
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from serval_harness import (
    tagged_processes,
    error_type,
    raw_request,
    ACCOUNT,
    FUNCTIONS_DIR,
    REGION,
    ROLE,
    ZIP_DATE,
    error_of,
    function_arn,
    invoke,
    make_client,
    make_zip,
    ok,
    procs_with,
    wait_until,
)


def fresh_account() -> str:
    """A 12-digit access key, which Serval (like the local AWS emulators) takes as the account."""
    return str(random.randint(10**11, 10**12 - 1))


# --------------------------------------------------------------------------- processes


@pytest.fixture
def marker():
    """marker() -> (env-var dict, "NAME=value") unique to this test; processes still carrying
    it when the test ends are killed (by pid) so that a failure leaves nothing behind."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs /proc to find a function's processes")
    yield from tagged_processes("SERVAL_HARDENING_TAG")


# --------------------------------------------------------------------------- 1. other accounts


OWNER = "111111111111"
OTHER = "222222222222"


@pytest.fixture
def owner_and_other(serval):
    return serval.client(access_key=OWNER), serval.client(access_key=OTHER)


@pytest.mark.parametrize("form", ["arn", "partial-arn"])
def test_other_accounts_function_is_access_denied(owner_and_other, create_fn, fn_name, form):
    owner, other = owner_and_other
    name = fn_name()
    create_fn(name=name, client=owner, Timeout=7, Environment={"Variables": {"DB_PASSWORD": "hunter2"}})
    ref = function_arn(name, account=OWNER) if form == "arn" else f"{OWNER}:function:{name}"

    calls = {
        "GetFunctionConfiguration": lambda: other.get_function_configuration(FunctionName=ref),
        "GetFunction": lambda: other.get_function(FunctionName=ref),
        "UpdateFunctionConfiguration": lambda: other.update_function_configuration(FunctionName=ref, Timeout=9),
        "Invoke": lambda: other.invoke(FunctionName=ref, Payload=b'{"counter": true}'),
        "DeleteFunction": lambda: other.delete_function(FunctionName=ref),
    }
    for op, call in calls.items():
        with pytest.raises(ClientError) as e:
            call()
        code, status, resp = error_of(e.value)
        assert (code, status) == ("AccessDeniedException", 403), (op, resp)
        assert "hunter2" not in json.dumps(resp, default=str), op

    # untouched, and still the owner's
    cfg = owner.get_function_configuration(FunctionName=name)
    assert cfg["Timeout"] == 7
    assert cfg["Environment"]["Variables"] == {"DB_PASSWORD": "hunter2"}
    assert cfg["FunctionArn"] == function_arn(name, account=OWNER)
    assert ok(invoke(owner, name, {"counter": True}))["counter"] == 1
    # the other account has no function of that name of its own either
    with pytest.raises(ClientError) as e:
        other.get_function(FunctionName=name)
    assert error_of(e.value)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- 2. regions


@pytest.mark.parametrize("region", ["us-east-1/victim", "US-EAST-1", "us-east-1.."])
def test_malformed_region_in_arn_is_a_validation_error(lam, region):
    ref = f"arn:aws:lambda:{region}:{ACCOUNT}:function:zz"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=ref, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                            Code={"ZipFile": make_zip({"handler.py": "def handler(e, c):\n    return 1\n"})})
    assert error_of(e.value)[:2] == ("ValidationException", 400), error_of(e.value)[2]
    for call in (lambda: lam.get_function(FunctionName=ref),
                 lambda: lam.invoke(FunctionName=ref, Payload=b"{}")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e.value)[:2] == ("ValidationException", 400), error_of(e.value)[2]
    names = [f["FunctionName"] for f in lam.list_functions(MaxItems=10000)["Functions"]]
    assert "zz" not in names and ref not in names


def _hand_signed(serval, region: str, path: str = "/2015-03-31/functions/"):
    """GET with a hand-written SigV4 Authorization header whose scope names `region`."""
    headers = {
        "Host": f"127.0.0.1:{serval.port}",
        "X-Amz-Date": "20240101T000000Z",
        "Authorization": (f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20240101/{region}/lambda/aws4_request, "
                          f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}"),
    }
    return raw_request(serval, "GET", path, headers=headers, sign=False)


@pytest.mark.parametrize("region", ["..", "US-EAST-1", "us-east-1..victim", "us_east_1", "us-east-1%2F..", "x" * 40])
def test_credential_scope_with_malformed_region_is_refused(serval, region):
    status, headers, body = _hand_signed(serval, region)
    assert status == 403, body
    assert error_type(headers, body) == "IncompleteSignatureException", (headers, body)


@pytest.mark.parametrize("region", [REGION, "eu-west-1", "us-gov-west-1"])
def test_credential_scope_with_real_region_is_accepted(serval, region):
    status, _, body = _hand_signed(serval, region)
    assert status == 200, body
    assert "Functions" in json.loads(body)


# --------------------------------------------------------------------------- 3. symlinks in zips


def zip_with_links(entries: list[tuple[str, bytes | str, str]]) -> bytes:
    """entries: (name, data, kind) with kind "file" or "link" (data is then the target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, kind in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            mode = (stat.S_IFLNK | 0o777) if kind == "link" else (stat.S_IFREG | 0o644)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _files_named(root: Path, name: str) -> list[Path]:
    """Every file called `name` below `root`, without following links."""
    return [Path(d) / name for d, _, files in os.walk(root) if name in files]


def test_chained_symlinks_cannot_escape_the_package(serval_factory, tmp_path, fn_name):
    # The package lands in <data>/code/<sha256>/: `l -> .` makes l/l/l the package root, and
    # `esc -> ../../..` from there is the data dir's parent (tmp_path/a/b).
    data = tmp_path / "a" / "b" / "data"
    server = serval_factory(data_dir=data)
    client = server.client()
    victim = f"serval_zipslip_{uuid.uuid4().hex}"
    handler = ("handler.py", "def handler(e, c):\n    return 1\n", "file")
    links = [("l", ".", "link"), ("l/l/l/esc", "../../..", "link")]
    name = fn_name()

    def create(package):
        try:
            client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                   Handler="handler.handler", Code={"ZipFile": package})
        except ClientError as e:
            return e
        client.delete_function(FunctionName=name)
        return None

    err = create(zip_with_links([handler, *links, (f"l/l/l/esc/{victim}", "owned\n", "file")]))
    code_dir = data / "code"
    outside = {p for p in _files_named(tmp_path, victim) if code_dir not in p.parents}
    outside |= {p / victim for p in data.parents if (p / victim).exists()}
    assert not outside, f"a zip entry was written outside the package: {outside}"
    assert err is not None, "the chained-symlink zip was accepted"
    assert error_of(err)[:2] == ("InvalidParameterValueException", 400), error_of(err)[2]
    with pytest.raises(ClientError) as e:
        client.get_function(FunctionName=name)
    assert error_of(e.value)[0] == "ResourceNotFoundException"

    # the links alone, with nothing below them, are refused too
    err = create(zip_with_links([handler, *links]))
    assert err is not None, "the chained-symlink zip was accepted"
    assert error_of(err)[:2] == ("InvalidParameterValueException", 400), error_of(err)[2]


def test_relative_symlinks_inside_the_package_work(lam, create_fn, fn_name):
    handler = (
        "import os\n"
        "def handler(event, context):\n"
        "    root = os.environ['LAMBDA_TASK_ROOT']\n"
        "    out = {}\n"
        "    for rel in ('alias.txt', 'dir/real.txt', 'lib/alias_up.txt'):\n"
        "        with open(os.path.join(root, rel)) as f:\n"
        "            out[rel] = f.read()\n"
        "    out['alias_is_link'] = os.path.islink(os.path.join(root, 'alias.txt'))\n"
        "    return out\n"
    )
    package = zip_with_links([
        ("handler.py", handler, "file"),
        ("data/real.txt", "through the link", "file"),
        ("alias.txt", "data/real.txt", "link"),
        ("dir", "data", "link"),
        ("lib/alias_up.txt", "../data/real.txt", "link"),
    ])
    name = fn_name()
    create_fn(package, name=name)
    out = ok(invoke(lam, name, {}))
    assert out == {
        "alias.txt": "through the link",
        "dir/real.txt": "through the link",
        "lib/alias_up.txt": "through the link",
        "alias_is_link": True,
    }


# --------------------------------------------------------------------------- 4. reserved concurrency


@pytest.mark.parametrize("value", ["u32-max", "limit-99"])
def test_reserved_concurrency_beyond_the_account_limit(serval, create_fn, fn_name, value):
    # A fresh account, so that the other reservations of the suite do not count.
    client = serval.client(access_key=fresh_account())
    first, second = fn_name("-a"), fn_name("-b")
    create_fn(name=first, client=client)
    create_fn(name=second, client=client)
    limit = client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    client.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=10)

    n = 4294967295 if value == "u32-max" else limit - 100 - 10 + 1
    with pytest.raises(ClientError) as e:
        client.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=n)
    assert error_of(e.value)[:2] == ("InvalidParameterValueException", 400), error_of(e.value)[2]

    # the largest allowed value still goes through, and then nothing more does
    biggest = limit - 100 - 10
    assert client.put_function_concurrency(
        FunctionName=second, ReservedConcurrentExecutions=biggest)["ReservedConcurrentExecutions"] == biggest
    client.delete_function_concurrency(FunctionName=second)

    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=second)
    assert client.get_function_concurrency(FunctionName=first)["ReservedConcurrentExecutions"] == 10
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == limit
    assert settings["UnreservedConcurrentExecutions"] == limit - 10
    assert ok(invoke(client, second, {"counter": True}))["counter"] == 1


# --------------------------------------------------------------------------- 5. markers


HUGE_MARKER = str(2**64 - 1)  # usize::MAX: past the end, and start + page size overflows


def test_list_functions_invalid_marker(lam):
    with pytest.raises(ClientError) as e:
        lam.list_functions(Marker="abc")
    assert error_of(e.value)[:2] == ("InvalidParameterValueException", 400), error_of(e.value)[2]


def test_list_functions_huge_marker(serval, create_fn, fn_name):
    # a fresh account with 2 functions, so that a wrapped-around marker would show up
    client = serval.client(access_key=fresh_account())
    names = sorted([fn_name("-a"), fn_name("-b")])
    for n in names:
        create_fn(name=n, client=client)
    for kwargs in ({}, {"MaxItems": 1}):
        page = client.list_functions(Marker=HUGE_MARKER, **kwargs)
        assert page["Functions"] == [], kwargs
        assert "NextMarker" not in page, (kwargs, page.get("NextMarker"))
    # ordinary paging still walks everything
    first = client.list_functions(MaxItems=1)
    assert len(first["Functions"]) == 1 and first.get("NextMarker")
    rest = client.list_functions(MaxItems=1, Marker=first["NextMarker"])
    assert sorted(f["FunctionName"] for f in first["Functions"] + rest["Functions"]) == names
    assert "NextMarker" not in rest


@pytest.fixture
def three_versions(lam, create_fn, fn_name, wait_fn_updated):
    """A function with $LATEST, 1 and 2."""
    name = fn_name()
    create_fn(name=name)
    lam.publish_version(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Description="v2")
    wait_fn_updated(lam, name)
    lam.publish_version(FunctionName=name)
    return name


def test_list_versions_invalid_marker(lam, three_versions):
    with pytest.raises(ClientError) as e:
        lam.list_versions_by_function(FunctionName=three_versions, Marker="abc")
    assert error_of(e.value)[:2] == ("InvalidParameterValueException", 400), error_of(e.value)[2]


def test_list_versions_huge_marker(lam, three_versions):
    for kwargs in ({}, {"MaxItems": 2}):
        page = lam.list_versions_by_function(FunctionName=three_versions, Marker=HUGE_MARKER, **kwargs)
        assert page["Versions"] == [], kwargs
        assert "NextMarker" not in page, (kwargs, page.get("NextMarker"))
    versions = lam.list_versions_by_function(FunctionName=three_versions)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]


# --------------------------------------------------------------------------- 6. caller hangs up


def test_caller_hanging_up_does_not_stop_the_invocation(serval, lam, create_fn, fn_name, notifier):
    name = fn_name()
    create_fn(name=name, Timeout=30)
    # one environment only: a later invoke either waits its turn (throttled) or reuses it
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    first = ok(invoke(lam, name, {"counter": True}))
    assert first["counter"] == 1

    # (botocore's max_attempts counts retries: total_max_attempts=1 is one attempt, no retry)
    impatient = make_client(serval.endpoint, read_timeout=1,
                            retries={"mode": "standard", "total_max_attempts": 1})
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        impatient.invoke(FunctionName=name, Payload=json.dumps({"sleep_ms": 2500, "notify": notifier.addr}))
    assert time.monotonic() - started < 2.5

    # the function carried on after the caller left: its side effect happens
    assert notifier.wait(timeout=15)  # the request id

    def warm_invoke():
        try:
            return ok(invoke(lam, name, {"counter": True}))
        except ClientError as e:
            if error_of(e)[0] == "TooManyRequestsException":  # still finishing the abandoned one
                return None
            raise

    again = wait_until(warm_invoke, timeout=15, interval=0.1, message="a warm invoke after the hang-up")
    # the same environment, which has run the abandoned invocation too
    assert again["pid"] == first["pid"]
    assert again["counter"] == 3


# --------------------------------------------------------------------------- 7. provisioned concurrency


def _provisioned(client, name, qualifier):
    return client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)


def test_provisioned_environments_go_away_with_their_alias(lam, create_fn, fn_name, marker):
    env, tag = marker()
    name = fn_name()
    create_fn(name=name, Environment={"Variables": env})
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    wait_until(lambda: _provisioned(lam, name, "live")["Status"] == "READY", timeout=30, interval=0.1,
               message="provisioned READY")
    wait_until(lambda: len(procs_with(tag)) == 2, timeout=10, message="2 provisioned processes")

    lam.delete_alias(FunctionName=name, Name="live")
    wait_until(lambda: not procs_with(tag), timeout=30, interval=0.1,
               message="the provisioned processes to go away after DeleteAlias")
    assert lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []


def test_concurrent_provisioned_puts_start_the_environments_once(serval, lam, create_fn, fn_name, marker):
    env, tag = marker()
    name = fn_name()
    create_fn(name=name, Environment={"Variables": env})
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)

    clients = [serval.client(), serval.client()]
    barrier = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def put(client):
        try:
            barrier.wait(timeout=10)
            client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                                      ProvisionedConcurrentExecutions=2)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=put, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors

    wait_until(lambda: _provisioned(lam, name, "live")["Status"] == "READY", timeout=30, interval=0.1,
               message="provisioned READY")
    wait_until(lambda: len(procs_with(tag)) >= 2, timeout=10, message="the provisioned processes")
    # Nothing more starts afterwards: watch for a moment (a second run would start 2 more).
    deadline = time.monotonic() + 1.5
    seen = set()
    while time.monotonic() < deadline:
        seen.add(len(procs_with(tag)))
        time.sleep(0.05)
    assert seen == {2}, f"provisioned process counts seen: {sorted(seen)}"
    cfg = _provisioned(lam, name, "live")
    assert cfg["RequestedProvisionedConcurrentExecutions"] == 2
    assert cfg["AvailableProvisionedConcurrentExecutions"] == 2
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    wait_until(lambda: not procs_with(tag), timeout=30, interval=0.1,
               message="the provisioned processes to go away")


# --------------------------------------------------------------------------- 8. crashed runtime's children


FORK_THEN_CRASH = (
    "import os\n"
    "def handler(event, context):\n"
    "    os.system('sleep 300 &')\n"
    "    os._exit(1)\n"
)


def test_children_of_a_crashed_runtime_are_killed(lam, create_fn, fn_name, marker):
    env, tag = marker()
    name = fn_name()
    create_fn(make_zip({"handler.py": FORK_THEN_CRASH}), name=name, Environment={"Variables": env})
    inv = invoke(lam, name, {})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.payload["errorType"] == "Runtime.ExitError", inv
    wait_until(lambda: not procs_with(tag), timeout=15, interval=0.1,
               message="no process of the crashed environment left (its `sleep 300` child)")


# --------------------------------------------------------------------------- 9. runtime exits after answering


EXIT_BOOTSTRAP = (FUNCTIONS_DIR / "raw" / "exit_bootstrap.py").read_text()


@pytest.mark.parametrize("exit_delay_ms", [0, 300])
def test_runtime_exiting_after_its_answer_does_not_fail_the_next_invoke(lam, create_fn, fn_name, exit_delay_ms):
    name = fn_name()
    create_fn(make_zip({"bootstrap": (EXIT_BOOTSTRAP, 0o755)}), runtime="provided.al2023",
              handler="unused", name=name, Timeout=10)
    env_id = ok(invoke(lam, name, {"n": 0}))["env_id"]
    for i in range(1, 4):
        assert ok(invoke(lam, name, {"mode": "respond_then_exit", "exit_delay_ms": exit_delay_ms})) == "bye"
        # the next event goes to a fresh environment, not to the one that exited
        out = ok(invoke(lam, name, {"n": i}))
        assert out["event"] == {"n": i}
        assert out["env_id"] != env_id
        env_id = out["env_id"]
