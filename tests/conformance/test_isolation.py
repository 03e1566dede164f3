"""Sandboxed execution environments (issue 3), tested the way a hostile function behaves.

Each test lets a function (tests/functions/python/hostile, driven by its event) try something a
function must not be able to do or must not be able to do without limit: read the data dir or
another function's code, signal or ptrace host processes, fork bomb, allocate past MemorySize,
fill /tmp, open 100,000 files, leave a daemon behind, sleep past its timeout, write to its code
or the system files, use privileged system calls, reach the network with `--function-network
none`. Each asserts what the function got (the AWS-shaped error where one applies), that Serval
keeps serving, that nothing is left behind on the host, and that the next invocation works.
The last test starts and tears down 1,000 environments and checks that no process, mount,
cgroup or temp dir remains.

Only Serval's `namespaces` backend confines functions this way: every test that needs it skips
when /_serval/health reports another isolation mode (not root, no cgroups, not Linux). Processes
of a function are found on the host by a unique marker in their environment (procs_with).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from serval_harness import (
    tagged_processes,
    FUNCTIONS_DIR,
    REPO_ROOT,
    ROLE,
    error_of,
    invoke,
    make_zip,
    ok,
    procs_with,
    serval_bin,
    unique_name,
    wait_until,
    zip_dir,
)

FEATURES = (
    "user", "pid_namespace", "mount_namespace", "ipc_namespace", "uts_namespace", "network_namespace",
    "cgroups", "memory_limit", "cpu_weight", "pids_limit", "seccomp", "no_new_privs",
    "capabilities_dropped", "rlimits",
)
FIRST_FUNCTION_UID = 2_000_000  # each environment runs as a user of its own from here
LIMIT = 1024  # processes + threads, and open files, per environment (as on Lambda)
REFUSED_SYSCALLS = (
    "mount", "umount2", "pivot_root", "ptrace_attach_own_child", "kexec_load", "init_module",
    "finit_module", "delete_module", "bpf", "reboot", "swapon", "swapoff", "unshare_user",
    "unshare_mount", "unshare_net", "setns", "keyctl", "perf_event_open",
)
WRITE_REFUSED = {"EROFS", "EACCES"}


# --------------------------------------------------------------------------- fixtures and helpers


def isolation_report(server) -> dict:
    status, health = server.health()
    assert status == 200, health
    return health.get("isolation") or {}


def require_namespaces(server) -> dict:
    """Skip unless `server` confines functions with its namespaces backend."""
    report = isolation_report(server)
    if report.get("mode") != "namespaces":
        pytest.skip(f"functions are not sandboxed by namespaces here (isolation: {report or 'not reported'})")
    return report


@pytest.fixture
def sandboxed(serval):
    return require_namespaces(serval)


@pytest.fixture(scope="module")
def hostile_zip() -> bytes:
    return zip_dir(FUNCTIONS_DIR / "python" / "hostile")


@pytest.fixture
def tags():
    """tags() -> (env-var dict, "NAME=value"), unique; processes still carrying one when the
    test ends are killed (by pid) so that a failure leaves nothing running."""
    yield from tagged_processes("SERVAL_ISOLATION_TAG")


@pytest.fixture
def hostile(create_fn, hostile_zip, tags):
    """hostile(env=None, **CreateFunction kwargs) -> (name, tag): a hostile function whose
    processes carry a unique tag (plus `env`) in their environment."""

    def make(env: dict | None = None, **kwargs):
        variables, tag = tags()
        variables.update(env or {})
        kwargs.setdefault("Timeout", 10)
        name = create_fn(hostile_zip, Environment={"Variables": variables}, **kwargs)["FunctionName"]
        return name, tag

    return make


def findings(out: dict) -> dict:
    """An action's per-item results, without the pid and boot id every answer carries."""
    return {k: v for k, v in out.items() if k not in ("pid", "boot")}


def act(client, function: str, action: str, /, **args) -> dict:
    """Invoke the hostile function with one action; assert it ran; return its report."""
    return ok(invoke(client, function, {"action": action, **args}))


def retire(client, name: str, variables: dict) -> None:
    """UpdateFunctionConfiguration with new variables, which retires the current environments."""
    client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})


def env_of(client, name: str) -> dict:
    return client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]


def refused(result) -> bool:
    """A path probe that found nothing: an error, or an empty directory."""
    return "error" in result or result.get("dir") == []


def host_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                out[key] = value.split()
    except OSError:
        pass
    return out


def host_fs_path(path: Path) -> str:
    """`path` as the root field of a bind mount of it would show it (/proc/<pid>/mountinfo): its
    path inside the filesystem that holds it."""
    best = ("/", "/")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            root, point = fields[3], fields[4]
            if (str(path) == point or str(path).startswith(point.rstrip("/") + "/")) and len(point) >= len(best[1]):
                best = (root, point)
    rel = os.path.relpath(path, best[1])
    return os.path.normpath(os.path.join(best[0], rel)) if rel != "." else best[0]


def report_line(log: str) -> str:
    return next((ln for ln in log.splitlines() if ln.startswith("REPORT")), "")


def max_memory_used(log: str) -> int:
    m = re.search(r"Max Memory Used: (\d+) MB", report_line(log))
    assert m, log
    return int(m.group(1))


# --------------------------------------------------------------------------- cgroups on the host


def _cgroup_mounts() -> dict[str, tuple[str, str]]:
    """controller (v1) or "" (v2) -> (root of the mount in its hierarchy, mount point)."""
    mounts: dict[str, tuple[str, str]] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            fstype, options = rfields[0], rfields[2] if len(rfields) > 2 else ""
            if fstype == "cgroup2":
                mounts.setdefault("", (fields[3], fields[4]))
            elif fstype == "cgroup":
                for opt in options.split(","):
                    mounts.setdefault(opt, (fields[3], fields[4]))
    return mounts


def serval_cgroup_dirs(pid: int, owner: int | None = None) -> dict[str, Path]:
    """Where Serval (pid) keeps its environments' cgroups: serval-<pid> below its own cgroup,
    in the v1 memory, cpu and pids hierarchies, or in the v2 unified one. (With `owner`:
    serval-<owner> below the cgroup of pid.)"""
    mounts = _cgroup_mounts()
    dirs: dict[str, Path] = {}
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [ln.rstrip("\n").split(":", 2) for ln in f if ln.strip()]
    for _, controllers, path in lines:
        for ctrl in controllers.split(",") if controllers else [""]:
            wanted = ctrl in ("memory", "cpu", "pids") or (ctrl == "" and not controllers)
            if not wanted or ctrl not in mounts:
                continue
            root, mountpoint = mounts[ctrl]
            rel = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
            dirs[ctrl or "unified"] = Path(mountpoint) / rel / f"serval-{owner or pid}"
    if any(k in dirs for k in ("memory", "cpu", "pids")):
        dirs.pop("unified", None)  # hybrid host: the v1 hierarchies carry the controllers
    return dirs


def env_cgroups(dirs: dict[str, Path]) -> dict[str, list[Path]]:
    """The per-environment children of each serval-<pid> directory."""
    out = {}
    for ctrl, d in dirs.items():
        try:
            out[ctrl] = sorted(p for p in d.iterdir() if p.is_dir())
        except FileNotFoundError:
            out[ctrl] = []
    return out


def _is_spare(cgroup: Path, serval_pid: int) -> bool:
    """A cgroup holding one of Serval's spare zygotes: a single process, a direct child of
    Serval that has not become an environment's init yet (it still carries Serval's command line)."""
    try:
        pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
        if len(pids) != 1:
            return False
        stat = Path(f"/proc/{pids[0]}/stat").read_text()
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        cmdline = Path(f"/proc/{pids[0]}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False
    return ppid == serval_pid and b"serval" in cmdline


def leftover_env_cgroups(dirs: dict[str, Path], serval_pid: int) -> dict[str, list[Path]]:
    """Environment cgroups other than those of the (at most a few) spare zygotes Serval keeps ready."""
    out = {ctrl: [c for c in children if not _is_spare(c, serval_pid)]
           for ctrl, children in env_cgroups(dirs).items()}
    # v1 lists a spare in each controller's tree; a pids-only spare would hold the same process
    for ctrl, children in env_cgroups(dirs).items():
        assert len(children) - len(out[ctrl]) <= 4, f"too many spare environments in {ctrl}: {children}"
    return out


def cgroup_of(dirs: dict[str, Path], host_pid: int) -> dict[str, Path]:
    """The environment cgroup (per controller) that holds host_pid."""
    found = {}
    for ctrl, children in env_cgroups(dirs).items():
        for child in children:
            try:
                pids = {int(x) for x in (child / "cgroup.procs").read_text().split()}
            except OSError:
                continue
            if host_pid in pids:
                found[ctrl] = child
    return found


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process whose parent is `pid`."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(p), fields[0]))
    return out


# --------------------------------------------------------------------------- the report


def test_health_reports_isolation(serval):
    report = isolation_report(serval)
    assert report.get("mode") in ("namespaces", "process"), report
    assert isinstance(report.get("warnings"), list), report
    features = report.get("features") or {}
    assert set(FEATURES) <= set(features), f"missing features: {set(FEATURES) - set(features)}"
    for name, feature in features.items():
        assert isinstance(feature.get("active"), bool), (name, feature)
        assert isinstance(feature.get("detail"), str), (name, feature)
    active = {name for name, f in features.items() if f["active"]}
    if report["mode"] == "namespaces":
        must = {"pid_namespace", "mount_namespace", "ipc_namespace", "uts_namespace", "seccomp",
                "no_new_privs", "capabilities_dropped", "rlimits"}
        assert must <= active, f"inactive in namespaces mode: {must - active}"
        if os.environ.get("SERVAL_FUNCTION_NETWORK", "host") == "host":
            assert not features["network_namespace"]["active"], "the default function network is the host's"
    else:
        assert not {"pid_namespace", "mount_namespace"} & active, features
        assert features["rlimits"]["active"], features
        if os.environ.get("SERVAL_ISOLATION", "auto") == "auto":
            assert report["warnings"], "the fallback to plain processes must say why"
    if features["cgroups"]["active"]:
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        assert ("v2" if v2 else "v1") in features["cgroups"]["detail"], features["cgroups"]
        assert {"memory_limit", "pids_limit"} <= active, features


def test_doctor_prints_the_isolation_report(serval):
    proc = subprocess.Popen([str(serval_bin()), "doctor"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    text, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # whatever it probed on the host, it leaves nothing behind
    left = [d for d in serval_cgroup_dirs(os.getpid(), owner=proc.pid).values() if d.exists()]
    assert not left, f"serval doctor left cgroups behind: {left}"
    assert "isolation" in text.lower(), text
    assert "namespaces" in text or "process" in text, text
    missing = [name for name in FEATURES if name not in text]
    assert not missing, f"doctor does not mention {missing}:\n{text}"


def test_process_isolation_mode_still_runs_functions(serval_factory, hostile_zip):
    server = serval_factory(extra_args=["--isolation", "process"])
    report = isolation_report(server)
    assert report["mode"] == "process", report
    assert not report["features"]["pid_namespace"]["active"], report
    assert report["features"]["rlimits"]["active"], report
    client = server.client()
    name = unique_name("iso-process")
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                           Code={"ZipFile": hostile_zip}, Timeout=10)
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    out = act(client, name, "whoami")
    assert out["nofile"][0] <= LIMIT, out  # rlimits hold in this mode too


def test_isolation_namespaces_flag(serval, serval_factory):
    require_namespaces(serval)  # auto chose namespaces here, so asking for them must work
    server = serval_factory(extra_args=["--isolation", "namespaces"])
    assert isolation_report(server)["mode"] == "namespaces"


# --------------------------------------------------------------------------- 1. what a function sees


def test_code_is_at_var_task_with_only_its_own_files(lam, sandboxed, hostile, hostile_zip):
    name, _ = hostile()
    out = act(lam, name, "whoami")
    assert out["task_root"] == "/var/task"
    assert out["cwd"] == "/var/task"
    assert out["task_root_files"] == ["handler.py"], out["task_root_files"]


def test_cannot_read_the_data_dir_or_another_functions_code(serval_factory, hostile_zip, tags):
    # A data dir outside /tmp, readable by everyone on the host: only the sandbox hides it.
    data = Path("/var/tmp") / f"serval-isolation-{uuid.uuid4().hex[:12]}"
    try:
        server = serval_factory(data_dir=data)
        require_namespaces(server)
        client = server.client()
        secret = f"secret-{uuid.uuid4().hex}"
        names = {}
        for role in ("victim", "attacker"):
            variables, _ = tags()
            names[role] = unique_name(f"iso-{role}")
            files = {"handler.py": (FUNCTIONS_DIR / "python" / "hostile" / "handler.py").read_bytes()}
            if role == "victim":
                files[f"{secret}.txt"] = b"the victim's secret\n"
            client.create_function(FunctionName=names[role], Runtime="python3.12", Role=ROLE,
                                   Handler="handler.handler", Code={"ZipFile": make_zip(files)}, Timeout=15,
                                   Environment={"Variables": variables})
            client.get_waiter("function_active_v2").wait(FunctionName=names[role],
                                                         WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
        victim, attacker = names["victim"], names["attacker"]
        # the victim is warm: its code is mounted in its environment right now
        assert sorted(act(client, victim, "whoami")["task_root_files"]) == sorted(["handler.py", f"{secret}.txt"])

        on_host = [Path(d) / f"{secret}.txt" for d, _, files in os.walk(data) if f"{secret}.txt" in files]
        assert on_host, f"the victim's code is not under {data}: cannot aim the attack"
        for p in [data, *on_host[0].parents]:
            if data in p.parents or p == data:
                os.chmod(p, 0o755)  # nothing but the sandbox stands in the way
        os.chmod(on_host[0], 0o644)

        # (the host interpreter's prefix is visible read-only at its own path, which may be below
        # /root or the repository, e.g. the test venv: the paths toward it exist, nothing else)
        sensitive = [str(data), str(data / "code"), str(on_host[0]), str(on_host[0].parent),
                     str(REPO_ROOT / "README.md"), str(REPO_ROOT / "Cargo.toml"), str(REPO_ROOT / "crates"),
                     "/root/.bashrc", "/home", "/sys/fs/cgroup", "/etc/shadow"]
        sensitive += [str(p) for p in data.glob("serval.db*")]
        probed = act(client, attacker, "paths", paths=sensitive + ["/", "/var/task", "/proc"])
        leaked = {p: probed[p] for p in sensitive if not refused(probed[p])}
        assert not leaked, f"visible to a function: {leaked}\n/ is {probed['/']}"
        assert probed["/var/task"]["dir"] == ["handler.py"], probed["/var/task"]

        # no mount of the function's shows the data dir, except its own code at /var/task
        data_fs, code_fs = host_fs_path(data), host_fs_path(data / "code")
        victim_fs = host_fs_path(on_host[0].parent)
        mounts = act(client, attacker, "mounts")["mounts"]
        bad = [m for m in mounts if m[0] == data_fs or m[0].startswith(data_fs + "/")
               if not m[0].startswith(code_fs + "/") or m[0] == victim_fs or m[0].startswith(victim_fs + "/")]
        assert not bad, f"the function's mounts show the data dir: {bad}"
        assert [m[1] for m in mounts if m[0].startswith(code_fs + "/")] == ["/var/task"], mounts
        # nowhere in its view of the filesystem (the host's read-only system trees aside), nor
        # through /proc/<pid>/root
        found = act(client, attacker, "find", roots=["/"], name=f"{secret}.txt", seconds=20,
                    skip=["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc"])
        assert not found["timed_out_in"], found
        assert found["found"] == [], found
        via_proc = act(client, attacker, "proc_roots", name=f"{secret}.txt")
        via_proc = findings(via_proc)
        assert all(v in ("ENOENT", "EACCES", "EPERM", "ESRCH") for v in via_proc.values()), via_proc

        # both keep working
        assert act(client, victim, "whoami")["task_root_files"]
        assert act(client, attacker, "whoami")["task_root_files"] == ["handler.py"]
        assert server.health()[0] == 200
    finally:
        shutil.rmtree(data, ignore_errors=True)


# --------------------------------------------------------------------------- 2. host processes


def test_cannot_signal_or_ptrace_host_processes(serval, lam, sandboxed, hostile):
    victim, victim_tag = hostile()
    victim_boot = act(lam, victim, "whoami")["boot"]
    victim_host_pids = procs_with(victim_tag)
    assert victim_host_pids, "the victim's runtime is not visible on the host"
    name, _ = hostile()

    seen = act(lam, name, "procs")
    visible = {int(p) for p in seen["procs"]}
    assert len(visible) <= 10, f"a function sees {len(visible)} processes: {seen['procs']}"

    serval_pid, me = serval.proc.pid, os.getpid()
    targets = [p for p in (serval_pid, me, *victim_host_pids) if p not in visible]
    assert targets, "every host pid of interest collides with a pid inside the sandbox"
    sig = {serval_pid: signal.SIGTERM, me: 0}
    out = act(lam, name, "signal", targets=[[p, int(sig.get(p, signal.SIGKILL))] for p in targets])
    assert all(r in ("ESRCH", "EPERM") for r in out["results"]), dict(zip(targets, out["results"]))
    traced = act(lam, name, "ptrace", pids=targets)
    traced = findings(traced)
    assert all(r[0] == -1 and r[1] in ("ESRCH", "EPERM") for r in traced.values()), traced

    # Serval, the other function and the attacker itself all carry on
    assert serval.alive() and serval.health()[0] == 200
    again = act(lam, victim, "whoami")
    assert again["boot"] == victim_boot, "the victim's environment was replaced"
    assert set(procs_with(victim_tag)) >= set(victim_host_pids)
    assert act(lam, name, "whoami")["boot"] == seen["boot"]


# --------------------------------------------------------------------------- 3. fork bomb


def test_fork_bomb_is_bounded(serval, lam, sandboxed, hostile):
    name, tag = hostile(MemorySize=1024, Timeout=60)
    first = act(lam, name, "fork_bomb", limit=5000)
    assert first["error"] in ("EAGAIN", "ENOMEM"), first
    assert 100 <= first["forked"] <= LIMIT, first
    threads = act(lam, name, "thread_bomb", limit=5000)
    assert threads["error"], threads
    assert 100 <= threads["started"] <= LIMIT, threads
    assert serval.health()[0] == 200
    out = act(lam, name, "whoami")
    assert out["boot"] == first["boot"], "the environment was replaced after a bounded fork bomb"
    assert len(procs_with(tag)) <= 3, procs_with(tag)


def test_fork_bomb_left_running_is_killed_with_the_environment(serval, lam, sandboxed, hostile):
    name, tag = hostile(MemorySize=1024, Timeout=60, env={"GEN": "1"})
    bomb = act(lam, name, "fork_bomb", limit=5000, keep=True)
    assert bomb["error"] in ("EAGAIN", "ENOMEM") and bomb["forked"] <= LIMIT, bomb
    assert len(procs_with(tag)) >= bomb["forked"], "the bomb's processes are not on the host"
    # the platform keeps serving others while the bomb is alive, and the function too (an
    # invocation that needs no new process or thread)
    other, _ = hostile()
    assert act(lam, other, "whoami")["pid"]
    assert serval.health()[0] == 200
    assert ok(invoke(lam, name, {"still": "here"}))["boot"] == bomb["boot"]
    variables = env_of(lam, name)
    retire(lam, name, {**variables, "GEN": "2"})
    wait_until(lambda: not procs_with(tag, "GEN=1"), timeout=20, interval=0.2,
               message="the bomb's processes to go with their environment")
    assert act(lam, name, "whoami")["pid"]


# --------------------------------------------------------------------------- 4. memory


def test_allocating_past_memory_size_is_out_of_memory(serval, lam, sandboxed, hostile):
    name, tag = hostile(MemorySize=128, Timeout=30)
    before = act(lam, name, "whoami")
    inv = invoke(lam, name, {"action": "alloc", "mb": 400}, LogType="Tail")
    assert inv.status == 200, inv
    assert inv.function_error == "Unhandled", inv
    assert inv.payload == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {inv.request_id} Error: Runtime exited with error: signal: killed",
    }, inv.payload
    used = max_memory_used(inv.log)
    assert 100 <= used <= 128, report_line(inv.log)
    assert "Memory Size: 128 MB" in report_line(inv.log)
    wait_until(lambda: not procs_with(tag), timeout=10, message="the killed environment's processes to go")
    assert serval.health()[0] == 200
    after = act(lam, name, "whoami")
    assert after["boot"] != before["boot"] and procs_with(tag), "no fresh environment"
    small = invoke(lam, name, {"action": "alloc", "mb": 48}, LogType="Tail")
    assert ok(small)["allocated_mb"] == 48
    assert max_memory_used(small.log) < 128


def test_environment_cgroup_limits(serval, lam, sandboxed, hostile):
    name, tag = hostile(MemorySize=256, env={"GEN": "1"})
    act(lam, name, "whoami")
    dirs = serval_cgroup_dirs(serval.proc.pid)
    assert dirs, "no cgroup hierarchy for serval"
    host_pid = procs_with(tag)[0]
    mine = cgroup_of(dirs, host_pid)
    assert set(mine) == set(dirs), f"the runtime (host pid {host_pid}) is not in an environment's cgroups: {mine}"
    # CPU in proportion to memory, 1,769 MB getting one CPU's weight (1024 shares, or 100 in v2)
    if "memory" in mine:
        assert int((mine["memory"] / "memory.limit_in_bytes").read_text()) == 256 << 20
        assert (mine["pids"] / "pids.max").read_text().strip() == str(LIMIT)
        assert abs(int((mine["cpu"] / "cpu.shares").read_text()) - 256 * 1024 / 1769) <= 1
    else:
        assert int((mine["unified"] / "memory.max").read_text()) == 256 << 20
        assert (mine["unified"] / "pids.max").read_text().strip() == str(LIMIT)
        assert abs(int((mine["unified"] / "cpu.weight").read_text()) - 256 * 100 / 1769) <= 1
    retire(lam, name, {**env_of(lam, name), "GEN": "2"})
    wait_until(lambda: not any(p.exists() for p in mine.values()), timeout=10, interval=0.1,
               message="the retired environment's cgroups to be removed")


# --------------------------------------------------------------------------- 5. /tmp


def test_tmp_is_private_sized_and_lives_with_the_environment(lam, sandboxed, hostile):
    name, _ = hostile(MemorySize=1024, EphemeralStorage={"Size": 512}, Timeout=60, env={"GEN": "1"})
    note = f"note-{uuid.uuid4().hex}"
    first = act(lam, name, "tmp", write={note: "kept while warm"})
    assert 500 <= first["tmp_size_mb"] <= 512, first
    assert not Path("/tmp", note).exists(), "the function wrote to the host's /tmp"
    second = act(lam, name, "tmp", read=[note])
    assert second["boot"] == first["boot"]
    assert second["read"][note] == "kept while warm"

    other, _ = hostile(EphemeralStorage={"Size": 1024})
    seen = act(lam, other, "tmp", read=[note])
    assert seen["read"][note] == {"error": "ENOENT"}, seen
    assert 1000 <= seen["tmp_size_mb"] <= 1024, seen
    default, _ = hostile()
    assert 500 <= act(lam, default, "tmp")["tmp_size_mb"] <= 512

    # fill it: ENOSPC, caught by the function
    full = act(lam, name, "fill_tmp", path="/tmp/fill")
    assert full["error"] == "ENOSPC", full
    assert 400 <= full["written_mb"] <= 512, full
    # still there while warm, and it can be cleaned up
    after = act(lam, name, "tmp", read=[note], size=["fill"], remove=["fill"])
    assert after["boot"] == first["boot"], "the environment was replaced after /tmp filled up"
    assert after["size_mb"]["fill"] >= 400, after
    assert after["read"][note] == "kept while warm"
    assert after["tmp_free_mb"] >= 500, after

    # a new environment starts with an empty /tmp
    retire(lam, name, {**env_of(lam, name), "GEN": "2"})
    fresh = act(lam, name, "tmp", read=[note])
    assert fresh["boot"] != first["boot"]
    assert fresh["read"][note] == {"error": "ENOENT"}, fresh


# --------------------------------------------------------------------------- 6. open files


def test_open_files_are_limited(lam, sandboxed, hostile):
    name, _ = hostile()
    out = act(lam, name, "open_files", limit=100_000)
    assert out["error"] == "EMFILE", out
    assert 900 <= out["opened"] <= LIMIT, out
    assert out["hard"] <= LIMIT, out
    again = act(lam, name, "whoami")
    assert again["boot"] == out["boot"]
    assert again["nofile"] == [LIMIT, LIMIT], again


# --------------------------------------------------------------------------- 7. daemons


def test_daemon_goes_with_its_environment(lam, sandboxed, hostile):
    name, tag = hostile(env={"GEN": "1"})
    out = act(lam, name, "daemon")
    generation = (tag, "GEN=1")
    wait_until(lambda: len(procs_with(*generation)) >= 2, timeout=5, message="the daemon on the host")
    # the next invocation works (the daemon may live on while the environment is warm)
    assert act(lam, name, "whoami")["boot"] == out["boot"]

    retire(lam, name, {**env_of(lam, name), "GEN": "2"})
    wait_until(lambda: not procs_with(*generation), timeout=15, interval=0.1,
               message="the daemon to be killed with its retired environment")
    fresh = act(lam, name, "tmp", read=["daemon.pid"])
    assert fresh["read"]["daemon.pid"] == {"error": "ENOENT"}, fresh


# --------------------------------------------------------------------------- 8. timeouts


def test_timeout_kills_the_whole_environment(serval, lam, sandboxed, hostile):
    name, tag = hostile(Timeout=2)
    act(lam, name, "whoami")
    start = time.monotonic()
    inv = invoke(lam, name, {"action": "sleep", "seconds": 60, "child": True, "setsid": True})
    elapsed = time.monotonic() - start
    assert inv.status == 200 and inv.function_error == "Unhandled", inv
    assert inv.payload["errorType"] == "Sandbox.Timedout", inv.payload
    assert "Task timed out after 2.00 seconds" in inv.payload["errorMessage"], inv.payload
    assert elapsed < 5, f"answered after {elapsed:.1f}s"
    # the runtime and the `sleep 300` it started in a session of its own
    wait_until(lambda: not procs_with(tag), timeout=10, interval=0.1,
               message="no process of the timed-out environment left")
    assert serval.health()[0] == 200
    assert act(lam, name, "whoami")["pid"]


# --------------------------------------------------------------------------- 9. read-only filesystem


def test_code_and_system_files_are_read_only(lam, sandboxed, hostile):
    name, _ = hostile()
    stamp = f"serval-isolation-{uuid.uuid4().hex[:12]}"
    targets = ["/var/task/handler.py", f"/var/task/{stamp}", f"/{stamp}", f"/etc/{stamp}", f"/usr/{stamp}",
               f"/opt/{stamp}", f"/var/{stamp}", f"/bin/{stamp}", f"/lib/{stamp}"]
    out = act(lam, name, "write", paths=targets)
    out = findings(out)
    allowed = {**{t: WRITE_REFUSED for t in targets}, f"/opt/{stamp}": WRITE_REFUSED | {"ENOENT"},
               f"/lib/{stamp}": WRITE_REFUSED | {"ENOENT"}}
    on_host = [t for t in targets[2:] if Path(t).exists()]
    for t in on_host:
        Path(t).unlink()
    assert not on_host, f"created on the host: {on_host}"
    wrong = {t: r for t, r in out.items() if r not in allowed[t]}
    assert not wrong, f"writes that did not fail as read-only: {wrong}"
    # untouched, so it keeps working
    again = act(lam, name, "whoami")
    assert again["task_root_files"] == ["handler.py"]
    assert act(lam, name, "tmp", write={"ok": "writable"}, read=["ok"])["read"]["ok"] == "writable"


# --------------------------------------------------------------------------- 10-11. identity


def test_runs_unprivileged_with_seccomp(lam, sandboxed, hostile):
    name, tag = hostile()
    out = act(lam, name, "whoami")
    assert out["uid"] == out["euid"] >= FIRST_FUNCTION_UID, out
    assert out["gid"] == out["egid"] == out["uid"], out
    assert set(out["groups"]) <= {out["gid"]}, out
    st = out["status"]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(st[cap], 16) == 0, (cap, st)
    assert st["NoNewPrivs"] == "1", st
    assert st["Seccomp"] == "2", st
    assert out["nofile"] == [LIMIT, LIMIT], out
    # on the host, none of its processes is root either
    for pid in procs_with(tag):
        uids = host_status(pid).get("Uid", [])
        assert uids and "0" not in uids, (pid, uids)

    calls = act(lam, name, "syscalls")
    calls = findings(calls)
    wrong = {c: calls.get(c) for c in REFUSED_SYSCALLS if calls.get(c) != [-1, "EPERM"]}
    assert not wrong, f"system calls not refused with EPERM: {wrong}"
    assert act(lam, name, "whoami")["boot"] == out["boot"]


def test_hostname_is_its_own(lam, sandboxed, hostile):
    name, _ = hostile()
    out = act(lam, name, "whoami")
    assert out["nodename"] != socket.gethostname(), out["nodename"]
    assert out["sethostname"] == [-1, "EPERM"], out["sethostname"]
    assert socket.gethostname() != "hostile"


def test_sysv_ipc_is_private(lam, sandboxed, hostile):
    key = int(uuid.uuid4().int % 2**30) + 1
    a, _ = hostile()
    b, _ = hostile()
    made = act(lam, a, "shm", create=key)
    assert made["id"] >= 0, made
    assert act(lam, a, "shm", lookup=key)["id"] == made["id"]
    other = act(lam, b, "shm", lookup=key)
    assert (other["id"], other["error"]) == (-1, "ENOENT"), other
    try:
        host = Path("/proc/sysvipc/shm").read_text().split("\n")[1:]
    except OSError:
        host = []
    assert not any(line.split() and line.split()[0] == str(key) for line in host), "the segment is on the host"


# --------------------------------------------------------------------------- another environment's Runtime API


def test_cannot_take_another_environments_events(lam, sandboxed, hostile):
    victim, victim_tag = hostile(Timeout=5)
    act(lam, victim, "whoami")
    api = None
    for pid in procs_with(victim_tag):
        with open(f"/proc/{pid}/environ", "rb") as f:
            for entry in f.read().split(b"\0"):
                if entry.startswith(b"AWS_LAMBDA_RUNTIME_API="):
                    api = entry.split(b"=", 1)[1].decode()
    assert api, "the victim's Runtime API address is not in its environment"
    attacker, _ = hostile(Timeout=10)
    result = {}

    def steal():
        result["out"] = act(lam, attacker, "http_get", timeout=4,
                            url=f"http://{api}/2018-06-01/runtime/invocation/next")

    thief = threading.Thread(target=steal)
    thief.start()
    time.sleep(1.0)  # the attacker is waiting on the victim's /next (if it could connect)
    secrets = [f"secret-{uuid.uuid4().hex}" for _ in range(2)]
    answers = []
    for s in secrets:
        try:
            answers.append(invoke(lam, victim, {"secret": s}))
        except ClientError as e:  # pragma: no cover - reported below
            answers.append(error_of(e))
    thief.join(timeout=15)
    stolen = json.dumps(result.get("out"))
    assert not any(s in stolen for s in secrets), f"the attacker got the victim's event: {stolen}"
    for s, a in zip(secrets, answers):
        assert ok(a)["echo"] == {"secret": s}, a
    assert result.get("out", {}).get("status") != 200, result


# --------------------------------------------------------------------------- 13. network


def _listener():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.5)
    return srv


def _accepted(srv) -> int:
    n = 0
    while True:
        try:
            conn, _ = srv.accept()
        except (socket.timeout, BlockingIOError):
            return n
        conn.close()
        n += 1


def test_default_network_reaches_serval_and_loopback(lam, sandboxed, hostile):
    name, _ = hostile()
    who = act(lam, name, "whoami")
    assert who["endpoint"], who
    health = act(lam, name, "http_get", url=f"{who['endpoint']}/_serval/health")
    assert health.get("status") == 200, health
    srv = _listener()
    try:
        port = srv.getsockname()[1]
        out = act(lam, name, "connect", targets=[["127.0.0.1", port]])
        assert out["results"] == ["ok"], out
        assert _accepted(srv) == 1
    finally:
        srv.close()


def test_function_network_none(serval_factory, hostile_zip, tags):
    server = serval_factory(extra_args=["--function-network", "none"])
    report = require_namespaces(server)
    assert report["features"]["network_namespace"]["active"], report["features"]["network_namespace"]
    client = server.client()
    variables, _ = tags()
    name = unique_name("iso-no-network")
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                           Code={"ZipFile": hostile_zip}, Timeout=15, Environment={"Variables": variables})
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    who = act(client, name, "whoami")  # the Runtime API works
    srv = _listener()
    try:
        port = srv.getsockname()[1]
        out = act(client, name, "connect", targets=[["127.0.0.1", server.port], ["127.0.0.1", port]])
        assert all(r != "ok" for r in out["results"]), out
        assert _accepted(srv) == 0
        if who["endpoint"]:
            got = act(client, name, "http_get", url=f"{who['endpoint']}/_serval/health")
            assert "status" not in got, got
    finally:
        srv.close()
    # and it keeps completing invocations
    for _ in range(3):
        assert act(client, name, "whoami")["boot"] == who["boot"]


# --------------------------------------------------------------------------- 12. 1,000 cold starts


def _data_dir_state(data: Path) -> set[str]:
    """Directories below the data dir (except code packages) and every file of the sandbox area."""
    out = set()
    for d, dirs, files in os.walk(data):
        rel = os.path.relpath(d, data)
        out.add(rel + "/")
        if rel.split(os.sep)[0] == "sandbox":
            out.update(os.path.join(rel, f) for f in files)
    return out


def _loop_devices() -> set[str]:
    """Attached loop devices (their backing files) on the host."""
    out = set()
    for dev in Path("/sys/block").glob("loop*"):
        backing = dev / "loop" / "backing_file"
        if backing.exists():
            out.add(f"/dev/{dev.name}")
    return out


def _loop_devices_of(images: set[str], data: Path) -> set[str]:
    names = {str(data / i) for i in images}
    out = set()
    for dev in Path("/sys/block").glob("loop*"):
        try:
            if (dev / "loop" / "backing_file").read_text().strip() in names:
                out.add(dev.name)
        except OSError:
            pass
    return out


def _host_tmp_state() -> set[str]:
    names = set()
    for base in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            names.update(f"{base}/{n}" for n in os.listdir(base) if "serval" in n.lower() and "conformance" not in n)
        except OSError:
            pass
    return names


def _mount_count() -> int:
    with open("/proc/self/mountinfo") as f:
        return sum(1 for _ in f)


def test_thousand_cold_starts_leave_nothing_behind(serval_factory, tmp_path, rust_zip, python_zip,
                                                   hostile_zip, tags):
    data = tmp_path / "data"
    server = serval_factory(data_dir=data, extra_args=["--idle-timeout", "5"])
    require_namespaces(server)
    client = server.client(max_pool_connections=64)
    started = time.monotonic()

    def create(name, zip_bytes, runtime, handler, variables, **kw):
        client.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                               Code={"ZipFile": zip_bytes}, Environment={"Variables": variables}, **kw)
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})

    rust_vars, rust_tag = tags()
    py_vars, py_tag = tags()
    slow_vars, slow_tag = tags()
    rust = unique_name("leak-rust")
    crash = unique_name("leak-crash")
    slow = unique_name("leak-timeout")
    create(rust, rust_zip, "provided.al2023", "bootstrap", {**rust_vars, "GEN": "0"}, Timeout=10)
    create(crash, python_zip, "python3.12", "handler.handler", py_vars, Timeout=10)
    create(slow, hostile_zip, "python3.12", "handler.handler", slow_vars, Timeout=1)

    # warm-up: the first environments of the server set up whatever it keeps for its lifetime
    assert ok(invoke(client, rust, {"counter": True}))["counter"] == 1
    assert ok(invoke(client, crash, {"counter": True}))["counter"] == 1
    retire(client, rust, {**rust_vars, "GEN": "warm"})
    retire(client, crash, {**py_vars, "GEN": "warm"})
    wait_until(lambda: not procs_with(rust_tag) and not procs_with(py_tag), timeout=10,
               message="the warm-up environments to go")
    serval_pid = server.proc.pid
    dirs = serval_cgroup_dirs(serval_pid)
    wait_until(lambda: all(not v for v in leftover_env_cgroups(dirs, serval_pid).values()), timeout=10, interval=0.1,
               message="the warm-up environments' cgroups to go")
    before = {
        "mounts": _mount_count(),
        "data": _data_dir_state(data),
        "loops": _loop_devices(),
        "tmp": _host_tmp_state(),
    }

    cold = 0
    pool = ThreadPoolExecutor(max_workers=50)
    try:
        # 1. retirement: rounds of 20 concurrent environments, retired by a configuration update
        width, generation = 20, 0
        while cold < 800:
            generation += 1
            retire(client, rust, {**rust_vars, "GEN": str(generation)})
            outs = list(pool.map(lambda _: ok(invoke(client, rust, {"counter": True, "sleep_ms": 100})),
                                 range(width)))
            cold += sum(1 for o in outs if o["counter"] == 1)
            assert generation < 80, f"only {cold} cold starts in {generation} rounds"
        # 2. crashes: every invocation a fresh environment whose runtime exits mid-invoke
        crashes = list(pool.map(lambda _: invoke(client, crash, {"exit": 1}), range(100)))
        for inv in crashes:
            assert inv.function_error == "Unhandled" and inv.payload["errorType"] == "Runtime.ExitError", inv
        cold += len(crashes)
        # 3. timeouts: runtimes that left a process in a session of its own, killed at 1 s
        for _ in range(2):
            timed_out = list(pool.map(
                lambda _: invoke(client, slow, {"action": "sleep", "seconds": 30, "child": True, "setsid": True}),
                range(50)))
            for inv in timed_out:
                assert inv.payload["errorType"] == "Sandbox.Timedout", inv
            cold += len(timed_out)
    finally:
        pool.shutdown(wait=True)
    assert cold >= 1000, cold
    retire(client, rust, {**rust_vars, "GEN": "final"})
    spent = time.monotonic() - started

    # nothing left: processes, zombies, cgroups, mounts, temp dirs
    tags_all = (rust_tag, py_tag, slow_tag)
    wait_until(lambda: not any(procs_with(t) for t in tags_all), timeout=20, interval=0.2,
               message="every environment's processes to go")
    wait_until(lambda: all(not v for v in leftover_env_cgroups(dirs, serval_pid).values()), timeout=10, interval=0.1,
               message=f"the environments' cgroups under {dirs} to be removed")
    zombies = [(p, s) for p, s in children_of(serval_pid) if s == "Z"]
    assert not zombies, f"zombie children of serval: {zombies}"
    assert _mount_count() == before["mounts"], "mounts were left on the host"
    new = _data_dir_state(data) - before["data"]
    # the /tmp disk images of the (at most a few) spare environments Serval keeps ready
    spare_images = {p for p in new if re.fullmatch(r"sandbox/tmp/[^/]+\.img", p)}
    assert len(spare_images) <= 4, f"/tmp images left behind: {sorted(spare_images)}"
    assert new - spare_images == set(), "new files or dirs in the data dir"
    assert _loop_devices() - before["loops"] <= {f"/dev/{d}" for d in _loop_devices_of(spare_images, data)}, \
        "loop devices left attached"
    assert _host_tmp_state() - before["tmp"] == set(), "temp dirs left on the host"
    assert server.health()[0] == 200
    assert ok(invoke(client, rust, {"counter": True}))["counter"] == 1

    # and when Serval stops, its own cgroups go too
    server.stop()
    assert not [d for d in dirs.values() if d.exists()], f"serval's cgroups outlive it: {dirs}"
    assert not any(procs_with(t) for t in tags_all)
    assert spent < 90, f"1,000 cold starts took {spent:.0f}s"


# --------------------------------------------------------------------------- unprivileged Serval


WHOAMI_BOOTSTRAP = """#!/usr/bin/python3
# A raw runtime (no SDK) reporting who it runs as and what it can see.
import json, os, urllib.request
BASE = "http://%s/2018-06-01/runtime/invocation/" % os.environ["AWS_LAMBDA_RUNTIME_API"]
while True:
    with urllib.request.urlopen(BASE + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
    out = {"uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "cap_bnd": status["CapBnd"].strip(),
           "no_new_privs": status["NoNewPrivs"].strip(), "seccomp": status["Seccomp"].strip(),
           "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()), "root": sorted(os.listdir("/")),
           "event": event}
    try:
        open("/var/task/x", "w")
        out["task_writable"] = True
    except OSError:
        out["task_writable"] = False
    req = urllib.request.Request(BASE + rid + "/response", data=json.dumps(out).encode(), method="POST")
    urllib.request.urlopen(req).read()
"""


@pytest.fixture
def nobody_dir():
    """A directory the nobody user can write (pytest's tmp_path is root's alone)."""
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="nobody-work-"))
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _serval_as_nobody(serval_factory, work: Path):
    """A Serval run as nobody (setpriv), with no python3 on PATH (so it provisions no boto3)."""
    if os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to become nobody), setpriv and /usr/bin/python3")
    return serval_factory(
        wrapper=[shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--"],
        env={"XDG_CACHE_HOME": str(work / "cache"), "TMPDIR": str(work), "HOME": str(work), "PATH": "/nonexistent"},
    )


def test_unprivileged_serval_sandboxes_with_user_namespaces(serval_factory, nobody_dir):
    """Serval run by an ordinary user (here: nobody) still isolates functions where the host allows
    unprivileged user namespaces: own PID and mount namespaces, no capabilities, seccomp."""
    server = _serval_as_nobody(serval_factory, nobody_dir)
    iso = server.health()[1]["isolation"]
    if iso["mode"] != "namespaces":
        pytest.skip(f"this host gives unprivileged users no namespaces: {iso['warnings']}")
    assert "user namespace" in iso["features"]["user"]["detail"], iso
    client = server.client()
    name = unique_name("nobody")
    client.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x", Timeout=10,
                           Code={"ZipFile": make_zip({"bootstrap": (WHOAMI_BOOTSTRAP, 0o755)})})
    out = ok(invoke(client, name, {"hi": 1}))
    assert out["event"] == {"hi": 1}
    assert out["uid"] == 0  # Serval's own user, mapped to 0 inside its user namespace
    assert int(out["cap_eff"], 16) == 0 and int(out["cap_bnd"], 16) == 0, out
    assert out["no_new_privs"] == "1" and out["seccomp"] == "2", out
    assert len(out["pids"]) <= 3, out  # init, the runtime (and nothing of the host)
    assert "root" not in out["root"] and "home" not in out["root"], out
    assert out["task_writable"] is False
    # warm again on the same environment
    assert ok(invoke(client, name, {"hi": 2}))["event"] == {"hi": 2}


# --------------------------------------------------------------------------- review regressions
# Added by the security review of the sandbox: each fails on the reviewed code and passes once the
# finding it names is fixed.

_PTY_WRAPPER = r"""
import os, pty, select, signal, sys, time
pid, fd = pty.fork()  # the child: a session leader whose controlling terminal is the pty
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
while True:
    try:
        if select.select([fd], [], [], 0.2)[0]:
            sys.stdout.buffer.write(os.read(fd, 65536)); sys.stdout.flush()
    except OSError:
        time.sleep(0.05)  # EIO: the child closed the terminal
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
"""

_TTY_PROBE = """
import errno, fcntl, os, termios
def handler(event, context):
    out = {"sid": os.getsid(0)}
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError as e:
        out["open"] = errno.errorcode.get(e.errno, str(e.errno))
        return out
    out["open"] = "ok"
    try:
        fcntl.ioctl(fd, termios.TIOCSTI, b" ")  # one harmless blank in the terminal's input queue
        out["tiocsti"] = "ok"
    except OSError as e:
        out["tiocsti"] = errno.errorcode.get(e.errno, str(e.errno))
    os.close(fd)
    return out
"""


def test_function_cannot_reach_the_terminal_serval_runs_in(serval, serval_factory, tags):
    # Review finding: zygotes keep Serval's session, so /dev/tty is Serval's controlling terminal;
    # TIOCSTI then types commands into the shell Serval was started from (root on the host).
    require_namespaces(serval)
    server = serval_factory(wrapper=[sys.executable, "-c", _PTY_WRAPPER])
    require_namespaces(server)
    client = server.client()
    variables, _ = tags()
    name = unique_name("iso-tty")
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                           Code={"ZipFile": make_zip({"handler.py": _TTY_PROBE})}, Timeout=10,
                           Environment={"Variables": variables})
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    out = ok(invoke(client, name, {}))
    assert out["open"] != "ok", f"a function opened Serval's controlling terminal: {out}"


def _host_uids(tag: str) -> set[int]:
    return {int(host_status(pid)["Uid"][0]) for pid in procs_with(tag) if host_status(pid).get("Uid")}


def test_two_servals_do_not_give_functions_the_same_users(serval, serval_factory, hostile_zip, tags):
    # Review finding: every Serval counts users from 2,000,000, so two Servals on one host run
    # environments as the same uid, and the Runtime API's peer check (by uid) lets one's function
    # take the other's events and answer them.
    require_namespaces(serval)
    seen = []
    for server in (serval_factory(), serval_factory()):
        require_namespaces(server)
        client = server.client()
        uids: set[int] = set()
        for _ in range(3):
            variables, tag = tags()
            name = unique_name("iso-uid")
            client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                                   Code={"ZipFile": hostile_zip}, Timeout=10, Environment={"Variables": variables})
            client.get_waiter("function_active_v2").wait(FunctionName=name,
                                                         WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
            act(client, name, "whoami")
            uids |= _host_uids(tag)
        assert uids, "no environment process found on the host"
        seen.append(uids)
    assert not (seen[0] & seen[1]), f"two Servals run environments as the same host users: {seen}"


_UNIX_PROBE = """
import errno, os, socket
def handler(event, context):
    name = "\\0" + event["name"]
    if event["role"] == "listen":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(name); s.listen(4); s.settimeout(event["seconds"])
        try:
            c, _ = s.accept()
            _, fds, _, _ = socket.recv_fds(c, 16, 4)
            return {"accepted": True, "fds": len(fds)}
        except socket.timeout:
            return {"accepted": False}
    with open("/tmp/payload", "wb") as f:
        f.write(b"x" * (1 << 20))
    f = open("/tmp/payload", "rb")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        c.connect(name)
        socket.send_fds(c, [b"x"], [f.fileno()])
        return {"connect": "ok"}
    except OSError as e:
        return {"connect": errno.errorcode.get(e.errno, str(e.errno))}
"""


def test_environments_cannot_meet_on_abstract_unix_sockets(lam, sandboxed, create_fn, fn_name):
    # Review finding: with the host network, abstract unix sockets join environments; one passes
    # descriptors of its /tmp files to another, which keeps them (and their memory, no longer
    # counted against anyone's limit) after the writer's environment is gone.
    zip_bytes = make_zip({"handler.py": _UNIX_PROBE})
    holder, writer = fn_name("-holder"), fn_name("-writer")
    create_fn(zip_bytes, name=holder, Timeout=20)
    create_fn(zip_bytes, name=writer, Timeout=20)
    socket_name = f"serval-review-{uuid.uuid4().hex}"
    result = {}
    listener = threading.Thread(target=lambda: result.setdefault(
        "held", ok(invoke(lam, holder, {"role": "listen", "name": socket_name, "seconds": 6}))))
    listener.start()
    time.sleep(2.0)  # the holder is listening
    sent = ok(invoke(lam, writer, {"role": "send", "name": socket_name}))
    listener.join(timeout=20)
    assert sent["connect"] != "ok", f"one environment reached another's abstract socket: {sent}, {result}"
    assert result["held"]["accepted"] is False, result


def test_writable_mounts_below_system_dirs_are_read_only_inside(serval, serval_factory, hostile_zip, tags):
    # Review finding: system dirs are bound with MS_REC and only the top mount is remounted
    # read-only; a writable mount below /usr, /etc, ... stays writable (and suid/dev-capable) in
    # every environment: a place to leave files for other functions and the host.
    require_namespaces(serval)
    if os.geteuid() != 0:
        pytest.skip("mounting a test filesystem needs root")
    base = Path("/usr/local") if Path("/usr/local").is_dir() else Path("/usr")
    mnt = base / f"serval-review-{uuid.uuid4().hex[:12]}"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=1777", "serval-review", str(mnt)], check=True)
        try:
            server = serval_factory()  # after the mount: its environments' view includes it
            require_namespaces(server)
            client = server.client()
            variables, _ = tags()
            name = unique_name("iso-submount")
            client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                                   Code={"ZipFile": hostile_zip}, Timeout=10, Environment={"Variables": variables})
            client.get_waiter("function_active_v2").wait(FunctionName=name,
                                                         WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
            target = str(mnt / "planted")
            out = act(client, name, "write", paths=[target])
            assert out[target] in WRITE_REFUSED, out
            assert not (mnt / "planted").exists(), "a function wrote below a system dir on the host"
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=False)
    finally:
        mnt.rmdir()


@pytest.fixture
def disk_tmp(serval):
    detail = serval.health()[1]["isolation"]["features"]["mount_namespace"]["detail"]
    if "loop device" not in detail:
        pytest.skip(f"/tmp is a tmpfs on this host: {detail}")


@pytest.mark.usefixtures("disk_tmp")
def test_tmp_holds_its_size_at_the_default_memory_size(lam, sandboxed, hostile):
    # Review finding: /tmp is a tmpfs charged to the environment's memory cgroup, so a function
    # with the default 128 MB is killed as out of memory after ~100 MB of its 512 MB /tmp.
    name, _ = hostile(MemorySize=128, EphemeralStorage={"Size": 512}, Timeout=60)
    full = act(lam, name, "fill_tmp", path="/tmp/fill")
    assert full["error"] == "ENOSPC", full
    assert full["written_mb"] >= 400, full


@pytest.mark.parametrize("bootstrap, message", [
    ("#!/nonexistent/sh\necho hi\n", "fork/exec /var/task/bootstrap: no such file or directory"),
    ("#!/bin/sh\r\necho hi\r\n", "fork/exec /var/task/bootstrap: no such file or directory"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 57, "fork/exec /var/task/bootstrap: exec format error"),
], ids=["dangling-interpreter", "crlf-shebang", "not-an-executable"])
def test_unrunnable_bootstrap_is_lambdas_invalid_entrypoint(lam, sandboxed, create_fn, bootstrap, message):
    # Review finding: a bootstrap whose interpreter is missing is reported as a missing bootstrap,
    # and exec errors carry Rust's wording ("Exec format error (os error 8)"), not Lambda's.
    name = create_fn(make_zip({"bootstrap": (bootstrap, 0o755)}), runtime="provided.al2023",
                     handler="bootstrap", Timeout=5)["FunctionName"]
    inv = invoke(lam, name, {})
    assert inv.function_error == "Unhandled", inv
    assert inv.payload["errorType"] == "Runtime.InvalidEntrypoint", inv
    assert inv.payload["errorMessage"].endswith(message), inv


_INIT_MEMORY_BOOTSTRAP = """#!/usr/bin/python3
# A raw runtime that tries to read its namespace's init's memory (a fork of Serval's).
import json, os, urllib.request
BASE = "http://%s/2018-06-01/runtime/invocation/" % os.environ["AWS_LAMBDA_RUNTIME_API"]
def probe():
    out = {}
    try:
        with open("/proc/1/maps") as f:
            maps = [l.split() for l in f]
        out["maps"] = "ok"
    except OSError as e:
        return {"maps": e.strerror}
    try:
        mem = open("/proc/1/mem", "rb", 0)
    except OSError as e:
        out["mem"] = e.strerror
        return out
    got = 0
    for m in maps:
        if "r" not in m[1]:
            continue
        start, end = (int(x, 16) for x in m[0].split("-"))
        try:
            mem.seek(start)
            got += len(mem.read(min(end - start, 1 << 20)))
        except OSError:
            pass
    out["mem"] = "read %d bytes" % got if got else "nothing readable"
    return out
while True:
    with urllib.request.urlopen(BASE + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    req = urllib.request.Request(BASE + rid + "/response", data=json.dumps(probe()).encode(), method="POST")
    urllib.request.urlopen(req).read()
"""


def test_unprivileged_serval_init_memory_is_not_readable(serval_factory, nobody_dir):
    # Review finding: in user-namespace mode init keeps Serval's uid (0 inside) and stays dumpable,
    # so a function reads /proc/1/mem: a copy of Serval's memory, with every function's
    # configuration (other accounts' environment variables included).
    server = _serval_as_nobody(serval_factory, nobody_dir)
    iso = server.health()[1]["isolation"]
    if iso["mode"] != "namespaces" or "user namespace" not in iso["features"]["user"]["detail"]:
        pytest.skip(f"no user-namespace sandbox here: {iso}")
    client = server.client()
    name = unique_name("nobody-initmem")
    client.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x", Timeout=10,
                           Code={"ZipFile": make_zip({"bootstrap": (_INIT_MEMORY_BOOTSTRAP, 0o755)})})
    out = ok(invoke(client, name, {}))
    assert not out.get("mem", "").startswith("read"), f"a function read init's (Serval's) memory: {out}"


def test_no_vsock(lam, sandboxed, create_fn):
    """A function cannot open the hypervisor's vsock channel when Serval runs in a VM."""
    app = (
        "import socket\n"
        "def handler(event, context):\n"
        "    try:\n"
        "        socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()\n"
        "        return 'open'\n"
        "    except OSError as e:\n"
        "        return e.errno\n"
    )
    name = create_fn(make_zip({"app.py": app}), handler="app.handler")["FunctionName"]
    import errno
    assert ok(invoke(lam, name, {})) == errno.EPERM
