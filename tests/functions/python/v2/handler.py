"""Second code revision used by the UpdateFunctionCode tests."""

import os


def handler(event, context):
    return {"code": "v2", "variant": os.environ.get("VARIANT")}
