#!/usr/bin/env python3
"""A runtime with unusual but legal Runtime API habits, chosen by $SCENARIO:
- reconnect: asks /next, drops that connection, then asks again on a new one;
- close: asks /next with `Connection: close` and answers on a new connection;
- big_elsewhere: answers on a second connection with a body over 6 MB."""
import json
import os
import socket

HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
SCENARIO = os.environ.get("SCENARIO", "")
BASE = "/2018-06-01/runtime/invocation/"


def connect():
    return socket.create_connection((HOST, int(PORT)))


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(0)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += s.recv(65536)
    return headers, rest[:length]


def next_event(extra=b""):
    s = connect()
    s.sendall(b"GET " + BASE.encode() + b"next HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    headers, body = read_response(s)
    return s, headers["lambda-runtime-aws-request-id"], body


def post(rid, body):
    s = connect()
    s.sendall(
        b"POST %sresponse HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % ((BASE + rid + "/").encode(), len(body))
    )
    try:
        s.sendall(body)
        read_response(s)
    except OSError:
        pass
    s.close()


while True:
    if SCENARIO == "reconnect":
        s = connect()
        s.sendall(b"GET " + BASE.encode() + b"next HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()  # gone before any event arrives
        s, rid, body = next_event()
        s.close()
        post(rid, json.dumps({"echo": json.loads(body)}).encode())
    elif SCENARIO == "close":
        s, rid, body = next_event(b"Connection: close\r\n")
        s.close()
        post(rid, json.dumps({"echo": json.loads(body)}).encode())
    else:
        s, rid, body = next_event()
        post(rid, b'"' + b"x" * (7 * 1024 * 1024) + b'"')
        s.close()
