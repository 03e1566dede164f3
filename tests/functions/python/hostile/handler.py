"""A hostile function for the isolation tests (tests/conformance/test_isolation.py).

The event names what to try, {"action": NAME, ...arguments}; every action reports what happened
(errno names rather than exceptions) so that the test can assert on it. Anything that could hurt
the runtime process itself if the sandbox let it through (unshare, ptrace, mount, ...) is tried in
a forked child. Linux only (x86_64 and aarch64 syscall numbers).

Actions:
  whoami        ids, capabilities, NoNewPrivs, Seccomp, hostname, rlimits, task root, cwd, pids
  syscalls      the calls the seccomp filter refuses, each tried in a child: {"name": [ret, errno]}
  paths         {"paths": [...]}: for each, listing (dir) or first bytes (file) or the errno
  find          {"roots": [...], "name": "x", "skip": [...]}: every file called x below the roots
                (not below /proc, /sys or the skipped dirs)
  mounts        the function's mount table: [root in its filesystem, mount point, fs type, source]
  procs         the pids /proc shows, with their command lines
  proc_roots    {"name": "x"}: try /proc/<pid>/root/var/task/<x> for every visible pid
  signal        {"targets": [[pid, sig], ...]}: os.kill each, "ok" or the errno name
  ptrace        {"pids": [...]}: PTRACE_ATTACH each (from a child), plus a child of its own
  fork_bomb     {"limit": N, "keep": bool}: fork until it fails (at most N); the children are then
                released and reaped, or with "keep" left blocked for good
  thread_bomb   {"limit": N}: start threads until it fails (at most N); they are released
  alloc         {"mb": N}: allocate and touch N MB in 8 MB blocks
  fill_tmp      {"path": p}: write 1 MB blocks to p until it fails
  tmp           {"write": {name: text}, "read": [names], "remove": [names]}: in /tmp; + statvfs
  open_files    {"limit": N}: raise RLIMIT_NOFILE's soft limit to the hard one, open until it fails
  daemon        double fork + setsid; the daemon sleeps forever; its pid goes to /tmp/daemon.pid
  alive         {"pid": p}: is p alive (signal 0)?
  sleep         {"seconds": s, "child": bool}: optionally start `sleep 300` first, then sleep
  write         {"paths": [...]}: try to create/overwrite each, "ok" or the errno name
  connect       {"targets": [[host, port], ...]}: TCP connect each (1 s), "ok" or the error
  http_get      {"url": u}: GET it (2 s), the status or the error
  shm           {"create": key} / {"lookup": key}: SysV shared memory segment by key
"""

import ctypes
import errno
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

BOOT = uuid.uuid4().hex  # one per runtime process: tells environments apart (pids do not, in a PID namespace)
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long

SYSCALLS = {
    "x86_64": {"mount": 165, "umount2": 166, "pivot_root": 155, "ptrace": 101, "kexec_load": 246,
               "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321, "reboot": 169,
               "swapon": 167, "swapoff": 168, "unshare": 272, "setns": 308, "keyctl": 250,
               "perf_event_open": 298},
    "aarch64": {"mount": 40, "umount2": 39, "pivot_root": 41, "ptrace": 117, "kexec_load": 104,
                "init_module": 105, "finit_module": 273, "delete_module": 106, "bpf": 280, "reboot": 142,
                "swapon": 224, "swapoff": 225, "unshare": 97, "setns": 268, "keyctl": 219,
                "perf_event_open": 241},
}[platform.machine()]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PTRACE_ATTACH = 16
PTRACE_DETACH = 17


def errname(e: int) -> str:
    return errno.errorcode.get(e, str(e))


def in_child(fn):
    """Run fn() in a forked child; return what it returned (JSON) or the exception it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = json.dumps(fn())
        except BaseException as e:  # noqa: BLE001
            out = json.dumps(f"raised {type(e).__name__}: {e}")
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data) if data else "child died"


def raw(name, *args):
    """syscall(name, args...) -> [ret, errno name or None]."""
    ctypes.set_errno(0)
    cargs = [ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
    ret = LIBC.syscall(ctypes.c_long(SYSCALLS[name]), *cargs)
    e = ctypes.get_errno()
    return [ret, errname(e) if ret == -1 else None]


def status_fields():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                       "Seccomp", "NSpid"):
                out[key] = value.strip()
    return out


def files_below(root):
    found = []
    for d, dirs, files in os.walk(root):
        for name in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            found.append(os.path.relpath(os.path.join(d, name), root))
    return sorted(found)


def visible_pids():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())


def whoami(event):
    def sethostname():
        name = b"hostile"
        ctypes.set_errno(0)
        ret = LIBC.sethostname(name, len(name))
        return [ret, errname(ctypes.get_errno()) if ret == -1 else None]

    return {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "egid": os.getegid(),
        "groups": os.getgroups(), "status": status_fields(), "hostname": socket.gethostname(),
        "nodename": os.uname().nodename, "sethostname": in_child(sethostname),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"), "cwd": os.getcwd(),
        "task_root_files": files_below(os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"),
        "pid": os.getpid(), "pids": visible_pids(), "python": sys.executable,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"), "runtime_api": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
    }


def syscalls(event):
    os.makedirs("/tmp/serval-probe-mnt", exist_ok=True)

    def ptrace_own_child():
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        try:
            out = raw("ptrace", PTRACE_ATTACH, pid, 0, 0)
            if out[0] == 0:
                raw("ptrace", PTRACE_DETACH, pid, 0, 0)
            return out
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

    def setns_mnt():
        fd = os.open("/proc/self/ns/mnt", os.O_RDONLY)
        try:
            return raw("setns", fd, CLONE_NEWNS)
        finally:
            os.close(fd)

    target = b"/tmp/serval-probe-mnt"

    def mount():
        out = raw("mount", b"none", target, b"tmpfs", 0, 0)
        if out[0] == 0:
            raw("umount2", target, 2)
        return out

    # Arguments are chosen so that each call would fail harmlessly (EINVAL, ENOENT, EFAULT...)
    # even where it is permitted: only EPERM shows that it was refused.
    probes = {
        "mount": mount,
        "umount2": lambda: raw("umount2", target, 2),  # not a mount point
        "pivot_root": lambda: raw("pivot_root", target, target),  # not a mount point
        "ptrace_attach_own_child": ptrace_own_child,
        "kexec_load": lambda: raw("kexec_load", 0, 0, 0, 0x7EAD0000),  # unknown flags
        "init_module": lambda: raw("init_module", 0, 0, b""),
        "finit_module": lambda: raw("finit_module", -1, b"", 0),
        "delete_module": lambda: raw("delete_module", b"serval_no_such_module", 0),
        "bpf": lambda: raw("bpf", 0, 0, 0),
        "reboot": lambda: raw("reboot", 0, 0, 0, 0),  # bad magic: harmless even if allowed
        "swapon": lambda: raw("swapon", b"/tmp/serval-no-such-swap", 0),
        "swapoff": lambda: raw("swapoff", b"/tmp/serval-no-such-swap"),
        "unshare_user": lambda: raw("unshare", CLONE_NEWUSER),
        "unshare_mount": lambda: raw("unshare", CLONE_NEWNS),
        "unshare_net": lambda: raw("unshare", CLONE_NEWNET),
        "setns": setns_mnt,
        "keyctl": lambda: raw("keyctl", 0, -3, 0),  # KEYCTL_GET_KEYRING_ID of the session keyring
        "perf_event_open": lambda: raw("perf_event_open", 0, 0, -1, -1, 0),
    }
    return {name: in_child(probe) for name, probe in probes.items()}


def paths(event):
    out = {}
    for p in event["paths"]:
        try:
            if os.path.isdir(p):
                out[p] = {"dir": sorted(os.listdir(p))[:50]}
            else:
                with open(p, "rb") as f:
                    out[p] = {"file": f.read(100).decode("utf-8", "replace")}
        except OSError as e:
            out[p] = {"error": errname(e.errno)}
    return out


def find(event):
    deadline = time.monotonic() + event.get("seconds", 5)
    found, skipped = [], []
    skip = {"/proc", "/sys", *event.get("skip", [])}
    for root in event["roots"]:
        for d, dirs, files in os.walk(root, onerror=lambda e: None):
            if time.monotonic() > deadline:
                skipped.append(d)
                break
            dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
            if event["name"] in files or event["name"] in dirs:
                found.append(os.path.join(d, event["name"]))
    return {"found": found, "timed_out_in": skipped}


def mounts(event):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            out.append([fields[3], fields[4], rfields[0], rfields[1] if len(rfields) > 1 else ""])
    return {"mounts": out}


def procs(event):
    out = {}
    for pid in visible_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out[pid] = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError as e:
            out[pid] = f"<{errname(e.errno)}>"
    return {"self": os.getpid(), "procs": out}


def proc_roots(event):
    out = {}
    for pid in visible_pids() + [1]:
        p = f"/proc/{pid}/root/var/task/{event['name']}"
        try:
            with open(p) as f:
                out[p] = f.read(100)
        except OSError as e:
            out[p] = errname(e.errno)
    return out


def do_signal(event):
    out = []
    for pid, sig in event["targets"]:
        try:
            os.kill(pid, sig)
            out.append("ok")
        except OSError as e:
            out.append(errname(e.errno))
    return {"results": out}


def ptrace(event):
    def attach(pid):
        def go():
            r = raw("ptrace", PTRACE_ATTACH, pid, 0, 0)
            # the tracer exits right away, which detaches it: nothing stays stopped
            return r
        return go

    return {str(pid): in_child(attach(pid)) for pid in event["pids"]}


KEPT = []


def fork_bomb(event):
    limit = event.get("limit", 4000)
    r, w = os.pipe()
    children, error = [], None
    started = time.monotonic()
    while len(children) < limit:
        try:
            pid = os.fork()
        except OSError as e:
            error = errname(e.errno)
            break
        if pid == 0:
            os.close(w)
            os.read(r, 1)  # blocks until the parent closes its end
            os._exit(0)
        children.append(pid)
    forked = len(children)
    if event.get("keep"):
        KEPT.append((r, w, children))  # they stay blocked on the pipe
        return {"forked": forked, "error": error, "seconds": round(time.monotonic() - started, 3)}
    os.close(w)
    os.close(r)
    for pid in children:
        os.waitpid(pid, 0)
    return {"forked": forked, "error": error, "seconds": round(time.monotonic() - started, 3)}


def thread_bomb(event):
    limit = event.get("limit", 4000)
    release = threading.Event()
    threads, error = [], None
    while len(threads) < limit:
        t = threading.Thread(target=release.wait, daemon=True)
        try:
            t.start()
        except RuntimeError as e:
            error = str(e)
            break
        threads.append(t)
    started = len(threads)
    release.set()
    for t in threads:
        t.join()
    return {"started": started, "error": error}


HOARD = []


def alloc(event):
    block = 8 << 20
    for _ in range(event["mb"] // 8):
        HOARD.append(b"\x01" * block)  # written, so every page is really used
    return {"allocated_mb": len(HOARD) * 8}


def fill_tmp(event):
    path = event.get("path", "/tmp/fill")
    chunk = b"\x02" * (1 << 20)
    written, error = 0, None
    try:
        with open(path, "wb") as f:
            while written < (20 << 30):
                f.write(chunk)
                f.flush()
                written += len(chunk)
            os.fsync(f.fileno())
    except OSError as e:
        error = errname(e.errno)
    st = os.statvfs("/tmp")
    return {"written_mb": written >> 20, "error": error, "tmp_size_mb": (st.f_blocks * st.f_frsize) >> 20}


def tmp(event):
    out = {}
    for name, text in (event.get("write") or {}).items():
        with open(os.path.join("/tmp", name), "w") as f:
            f.write(text)
    for name in event.get("read") or []:
        try:
            with open(os.path.join("/tmp", name)) as f:
                out[name] = f.read(200)
        except OSError as e:
            out[name] = {"error": errname(e.errno)}
    sizes = {}
    for name in event.get("size") or []:
        try:
            sizes[name] = os.stat(os.path.join("/tmp", name)).st_size >> 20
        except OSError as e:
            sizes[name] = errname(e.errno)
    for name in event.get("remove") or []:
        os.remove(os.path.join("/tmp", name))
    st = os.statvfs("/tmp")
    return {"read": out, "size_mb": sizes, "listing": sorted(os.listdir("/tmp")),
            "tmp_size_mb": (st.f_blocks * st.f_frsize) >> 20,
            "tmp_free_mb": (st.f_bavail * st.f_frsize) >> 20, "pid": os.getpid()}


def open_files(event):
    limit = event.get("limit", 100_000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raised = None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        raised = "ok"
    except (OSError, ValueError) as e:
        raised = str(e)
    target = "/tmp/fd-probe"
    open(target, "w").close()
    fds, error = [], None
    try:
        while len(fds) < limit:
            fds.append(os.open(target, os.O_RDONLY))
    except OSError as e:
        error = errname(e.errno)
    opened = len(fds)
    for fd in fds:
        os.close(fd)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    except (OSError, ValueError):
        pass
    return {"opened": opened, "error": error, "soft": soft, "hard": hard, "raise_soft": raised}


def daemon(event):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        os.close(r)
        os.write(w, str(os.getpid()).encode())
        os.close(w)
        with open("/tmp/daemon.pid", "w") as f:
            f.write(str(os.getpid()))
        for fd in (0, 1, 2):
            try:
                os.close(fd)
            except OSError:
                pass
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # hard to kill: only SIGKILL ends it
        while True:
            time.sleep(3600)
    os.close(w)
    os.waitpid(pid, 0)
    daemon_pid = int(os.read(r, 32))
    os.close(r)
    return {"daemon": daemon_pid}


def alive(event):
    try:
        os.kill(event["pid"], 0)
        return {"alive": True}
    except OSError as e:
        return {"alive": False, "error": errname(e.errno)}


def do_sleep(event):
    child = None
    if event.get("child"):
        child = subprocess.Popen(["sleep", "300"], start_new_session=event.get("setsid", False)).pid
    time.sleep(event["seconds"])
    return {"child": child}


def write(event):
    out = {}
    for p in event["paths"]:
        try:
            with open(p, "w") as f:
                f.write("owned\n")
            out[p] = "ok"
        except OSError as e:
            out[p] = errname(e.errno)
    return out


def connect(event):
    out = []
    for host, port in event["targets"]:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect((host, port))
            s.sendall(event.get("send", "").encode())
            out.append("ok")
        except socket.timeout:
            out.append("timeout")
        except OSError as e:
            out.append(errname(e.errno) if e.errno else str(e))
        finally:
            s.close()
    return {"results": out}


def http_get(event):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(event["url"], timeout=event.get("timeout", 2)) as r:
            return {"status": r.status, "body": r.read(300).decode("utf-8", "replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code}
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return {"error": errname(reason.errno) if getattr(reason, "errno", None) else str(reason)}


def shm(event):
    LIBC.shmget.restype = ctypes.c_int
    ctypes.set_errno(0)
    if "create" in event:
        ret = LIBC.shmget(ctypes.c_int(event["create"]), ctypes.c_size_t(4096), ctypes.c_int(0o1000 | 0o666))
    else:
        ret = LIBC.shmget(ctypes.c_int(event["lookup"]), ctypes.c_size_t(0), ctypes.c_int(0))
    e = ctypes.get_errno()
    return {"id": ret, "error": errname(e) if ret == -1 else None}


ACTIONS = {
    "whoami": whoami, "syscalls": syscalls, "paths": paths, "find": find, "mounts": mounts, "procs": procs,
    "proc_roots": proc_roots, "signal": do_signal, "ptrace": ptrace, "fork_bomb": fork_bomb,
    "thread_bomb": thread_bomb, "alloc": alloc, "fill_tmp": fill_tmp, "tmp": tmp,
    "open_files": open_files, "daemon": daemon, "alive": alive, "sleep": do_sleep, "write": write,
    "connect": connect, "http_get": http_get, "shm": shm,
}


def handler(event, context):
    if not isinstance(event, dict) or "action" not in event:
        return {"pid": os.getpid(), "boot": BOOT, "echo": event}
    out = ACTIONS[event["action"]](event)
    out.setdefault("pid", os.getpid())
    out.setdefault("boot", BOOT)
    return out
