"""Handler run by the official runtime interface client (python3 -m awslambdaric app.handler)."""

import os

import awslambdaric


class RicError(Exception):
    pass


def handler(event, context):
    if isinstance(event, dict) and "fail" in event:
        raise RicError(event["fail"])
    return {
        "echo": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "runtime": "awslambdaric",
        "handler_env": os.environ.get("_HANDLER"),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        # where the client was loaded from: the deployment package, not the host
        "ric_file": awslambdaric.__file__,
    }
