#!/usr/bin/env python3
"""A minimal runtime speaking the Runtime API over raw sockets: it streams its
response (chunked, `Lambda-Runtime-Function-Response-Mode: streaming`) and
reports a mid-stream failure in trailers, the way the official Node client
does for `awslambda.streamifyResponse` handlers. The event's "mode" picks
"ok" (a clean stream) or anything else (error in trailers)."""
import os, socket, base64, json
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
def req(data):
    s = socket.create_connection((host, int(port))); s.sendall(data); return s
while True:
    s = req(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf: buf += s.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    head = head.decode()
    length = int([l.split(":", 1)[1] for l in head.split("\r\n") if l.lower().startswith("content-length")][0])
    while len(rest) < length:
        rest += s.recv(65536)
    event = json.loads(rest[:length] or b"{}")
    rid = [l.split(":",1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("lambda-runtime-aws-request-id")][0]
    s.close()
    if event.get("mode") == "ok":
        trailer = b""
    else:
        err64 = base64.b64encode(json.dumps({"errorType": "Error", "errorMessage": "midway"}).encode())
        trailer = b"Lambda-Runtime-Function-Error-Type: Error\r\nLambda-Runtime-Function-Error-Body: " + err64 + b"\r\n"
    body = (b"POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Lambda-Runtime-Function-Response-Mode: streaming\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
            b"7\r\npartial\r\n0\r\n%s\r\n") % (rid.encode(), trailer)
    s = req(body)
    s.recv(1000)
    s.close()
