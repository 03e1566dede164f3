"""Asynchronous invocations are durable: in a burst of 10,000 Event invokes with the server killed
(-9) in the middle, every invocation that was acknowledged (202) runs at least once after the
restart."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from serval_harness import ROLE, Notifier, make_zip, unique_name, wait_until

SENDER = """
import os, socket
def handler(event, context):
    host, port = os.environ["NOTIFY"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(str(event["id"]).encode())
    return None
"""

TOTAL = 10_000
KILL_AFTER = TOTAL // 2


def test_burst_of_async_invokes_survives_kill_9(serval_factory, tmp_path):
    server = serval_factory(data_dir=tmp_path / "data")
    notifier = Notifier()
    try:
        lam = server.client()
        name = unique_name("burst")
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="sender.handler",
                            Code={"ZipFile": make_zip({"sender.py": SENDER})},
                            Environment={"Variables": {"NOTIFY": notifier.addr}})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
        acked: set[int] = set()
        lock = threading.Lock()
        killed = threading.Event()
        local = threading.local()

        def client():
            if not hasattr(local, "c"):
                local.c = server.client(max_pool_connections=4)
            return local.c

        def send(i: int):
            if killed.is_set():
                return
            try:
                resp = client().invoke(FunctionName=name, InvocationType="Event", Payload=f'{{"id": {i}}}'.encode())
            except Exception:
                return
            if resp["StatusCode"] == 202:
                with lock:
                    acked.add(i)
                    if len(acked) >= KILL_AFTER and not killed.is_set():
                        killed.set()
                        server.kill9()

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(send, range(TOTAL)))
        assert killed.is_set() and len(acked) >= KILL_AFTER
        server.start()  # same data dir, same port
        # every acknowledged invocation runs (at least once)
        def seen():
            return {int(m) for m in list(notifier.messages) if m.strip().isdigit()}
        wait_until(lambda: acked <= seen(), timeout=240, interval=1,
                   message=f"all {len(acked)} acknowledged async invocations to run")
    finally:
        notifier.close()
