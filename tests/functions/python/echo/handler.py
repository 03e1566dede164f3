"""Conformance-test function for the Python runtimes.

The event drives what it does; with no recognised key it echoes the event back.
  {"sleep_ms": N}        sleep N milliseconds first (combinable with the others)
  {"print": "text"}      print text to stdout (shows up in the function's log)
  {"fail": "msg"}        raise EchoError(msg)            -> FunctionError Unhandled
  {"exit": N}            os._exit(N): the runtime process dies mid-invoke
  {"counter": true}      return {"counter": n, "env_id": ...}, n counting invokes in this environment
  {"env": true}          return {"env": dict(os.environ), "task_root_files": [...]}
  {"context": true}      return the interesting fields of the context object
  {"touch": "/path"}     write the request id to /path (inside the function's sandbox)
  {"notify": "h:port"}   send the request id over TCP to h:port (a side effect the test sees)
  {"boto3": true}        call Lambda ListFunctions with boto3 and no endpoint configuration
  {"big_response": N}    return a string of N bytes
"""

import json
import os
import sys
import time

COUNTER = 0
INIT_PID = os.getpid()
# Identifies this execution environment (pids repeat: each environment has its own PID namespace).
ENV_ID = os.urandom(8).hex()


class EchoError(Exception):
    pass


def _context(context):
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": str(context.memory_limit_in_mb),
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": getattr(context, "log_group_name", None),
        "log_stream_name": getattr(context, "log_stream_name", None),
        "remaining_time_in_millis": context.get_remaining_time_in_millis(),
    }


def handler(event, context):
    global COUNTER
    COUNTER += 1
    if not isinstance(event, dict):
        return event

    if "print" in event:
        print(event["print"])
        sys.stdout.flush()

    if "sleep_ms" in event:
        time.sleep(event["sleep_ms"] / 1000.0)

    if "touch" in event:
        with open(event["touch"], "w") as f:
            f.write(context.aws_request_id)

    if "notify" in event:
        import socket
        host, port = event["notify"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(context.aws_request_id.encode())

    if "fail" in event:
        raise EchoError(event["fail"])

    if "exit" in event:
        sys.stdout.flush()
        os._exit(int(event["exit"]))

    if event.get("counter"):
        return {"counter": COUNTER, "pid": os.getpid(), "init_pid": INIT_PID, "env_id": ENV_ID}

    if event.get("env"):
        root = os.environ.get("LAMBDA_TASK_ROOT", "")
        try:
            files = sorted(os.listdir(root)) if root else []
        except OSError:
            files = []
        return {"env": dict(os.environ), "task_root_files": files, "cwd": os.getcwd()}

    if event.get("context"):
        return {"context": _context(context)}

    if event.get("boto3"):
        import boto3

        client = boto3.client("lambda")
        names = []
        for page in client.get_paginator("list_functions").paginate():
            names.extend(f["FunctionName"] for f in page["Functions"])
        return {"functions": names, "endpoint": client.meta.endpoint_url}

    if "big_response" in event:
        return "x" * int(event["big_response"])

    return event
