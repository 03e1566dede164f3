#!/usr/bin/env python3
"""A minimal runtime speaking the Runtime API with urllib only, for runtimes that
misbehave between invocations. The event drives it:
  {"mode": "respond_then_exit"}   answer "bye", then exit (status 3) without asking for
                                  the next event; {"exit_delay_ms": N} waits N ms first
  anything else                   answer {"pid": <this process>, "env_id": <this environment>, "event": <the event>}"""
import json
import os
import time
import urllib.request

ENV_ID = os.urandom(8).hex()
BASE = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


def respond(request_id, body):
    req = urllib.request.Request(f"{BASE}/invocation/{request_id}/response",
                                 data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req) as r:
        r.read()


while True:
    with urllib.request.urlopen(f"{BASE}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read() or b"null")
    if isinstance(event, dict) and event.get("mode") == "respond_then_exit":
        respond(request_id, "bye")
        time.sleep(event.get("exit_delay_ms", 0) / 1000.0)
        os._exit(3)
    respond(request_id, {"pid": os.getpid(), "env_id": ENV_ID, "event": event})
