"""A runtime that streams its response (chunked, with error trailers), as the
official Node client does for `awslambda.streamifyResponse` handlers, invoked
through the buffered Invoke API."""

from serval_harness import FUNCTIONS_DIR, invoke, make_zip, ok

BOOTSTRAP = (FUNCTIONS_DIR / "raw" / "streaming_bootstrap.py").read_text()


def test_streamed_response_and_midstream_error(lam, create_fn, fn_name):
    name = fn_name()
    create_fn(make_zip({"bootstrap": (BOOTSTRAP, 0o755)}), runtime="provided.al2023",
              handler="stream", name=name)
    good = invoke(lam, name, {"mode": "ok"})
    assert ok(good) == b"partial"
    bad = invoke(lam, name, {"mode": "fail"})
    assert bad.status == 200
    assert bad.function_error == "Unhandled"
    assert bad.payload == {"errorType": "Error", "errorMessage": "midway"}
