# Serval Python runtime bootstrap.
#
# Serval's own replacement for AWS's awslambdaric: loads the user's handler named
# by _HANDLER from LAMBDA_TASK_ROOT and serves invocations over the Lambda Runtime
# API (2018-06-01) at AWS_LAMBDA_RUNTIME_API, following the AWS Python handler
# contract (event/context, error and init-error payloads, log formats).
#
# Start it as:  python3 -u -S -E -s /path/to/bootstrap.py
# Stdlib only; supports CPython 3.9 - 3.13. Cold start matters, so only builtin
# C modules are imported up front (no json/http.client/socket/re/logging):
# HTTP/1.1 is spoken over _socket and JSON goes through the _json accelerator
# directly. Everything else (traceback, logging setup, the json package for
# error messages) is imported only when it is needed.

import sys
import os
import _json
import _socket
from time import time as _time

_THIS_FILE = sys._getframe().f_code.co_filename
_ENV = os.environ


def _runtime_minor():
    # As awslambdaric: python3.12+ runtimes emit non-ASCII text unescaped.
    env = _ENV.get("AWS_EXECUTION_ENV") or ""
    if env.startswith("AWS_Lambda_python3."):
        try:
            return int(env[19:])
        except ValueError:
            pass
    return sys.version_info[1]


_PY312 = _runtime_minor() >= 12

# Id of the invocation in progress; read by the logging filter.
_request_id = None


class _Fault(Exception):
    """An error reported with a Runtime.* errorType."""

    def __init__(self, error_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.error_type = error_type
        self.msg = msg
        self.trace = trace


# --------------------------------------------------------------------------
# JSON (same output as json.dumps(obj) with AWS's Decimal handling)
# --------------------------------------------------------------------------

_NAN = float("nan")
_INF = float("inf")
_CONSTANTS = {"-Infinity": -_INF, "Infinity": _INF, "NaN": _NAN}.__getitem__
_encode_str = _json.encode_basestring if _PY312 else _json.encode_basestring_ascii
_dec_mark = None  # random marker that carries Decimal text through the encoder


class _ScanContext(object):
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS


try:
    _scan = _json.make_scanner(_ScanContext())
except Exception:  # pragma: no cover - _loads falls back to the json package
    _scan = None


def _loads(data):
    """json.loads for the event body (bytes)."""
    try:
        s = data.decode("utf-8", "surrogatepass")
        i = 0
        n = len(s)
        while i < n and s[i] in " \t\n\r":
            i += 1
        obj, end = _scan(s, i)
        if end != n and s[end:].strip(" \t\n\r"):
            raise ValueError
        return obj
    except Exception:
        # Slow path: lets the json package produce the exact error (or parse
        # inputs the fast path does not cover, such as UTF-16).
        import json

        return json.loads(data)


def _c_encoder(default):
    return _json.make_encoder({}, default, _encode_str, None, ": ", ", ", False, False, True)


def _dumps(obj):
    """json.dumps(obj) where Decimal is written as a JSON number (NaN -> NaN)."""
    seen = None

    def default(o):
        nonlocal seen
        dec = sys.modules.get("decimal")
        if dec is not None and isinstance(o, dec.Decimal):
            if o.is_nan():
                return _NAN
            global _dec_mark
            if _dec_mark is None:
                _dec_mark = "@serval-decimal-%s@" % os.urandom(12).hex()
            if seen is None:
                seen = set()
            s = str(o)
            seen.add(s)
            # Encoded as a marked string, then swapped for the bare number.
            return _dec_mark + s + _dec_mark
        raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

    out = "".join(_make_encoder(default)(obj, 0))
    if seen:
        for s in seen:
            out = out.replace('"%s%s%s"' % (_dec_mark, s, _dec_mark), s)
    return out


_make_encoder = _c_encoder
try:
    if _dumps({"a": [1, 2.5, "\xe9", None, True]}) != '{"a": [1, 2.5, %s, null, true]}' % _encode_str("\xe9") or _loads(
        b' {"a": [1, 2.5, "x", null, true]} '
    ) != {"a": [1, 2.5, "x", None, True]}:
        raise ValueError
except Exception:  # pragma: no cover - the private _json API changed: use the json package
    import json as _jsonpkg

    def _make_encoder(default):
        enc = _jsonpkg.JSONEncoder(ensure_ascii=not _PY312, allow_nan=True, default=default)
        return lambda obj, _level: enc.iterencode(obj)

    _loads = _jsonpkg.loads


# --------------------------------------------------------------------------
# Runtime API client: minimal HTTP/1.1 over one keep-alive connection
# --------------------------------------------------------------------------

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(s):
    if all(c in _SAFE for c in s):
        return s
    return "".join(c if c in _SAFE else "".join("%%%02X" % b for b in c.encode("utf-8")) for c in s)


def _header_value(v):
    return str(v).replace("\r", " ").replace("\n", " ")


class _Closed(Exception):
    pass


class _RuntimeClient(object):
    def __init__(self, addr):
        self.addr = addr
        host, sep, port = addr.rpartition(":")
        if not sep or not port.isdigit():
            host, port = addr, "80"
        if host[:1] == "[" and host[-1:] == "]":
            host = host[1:-1]
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""

    def _connect(self):
        err = None
        host = self.host
        try:
            host = host.encode("ascii")  # a str host would load the idna codec (and re)
        except UnicodeEncodeError:
            pass
        for family, kind, proto, _, sa in _socket.getaddrinfo(host, self.port, 0, _socket.SOCK_STREAM):
            s = _socket.socket(family, kind, proto)
            try:
                s.connect(sa)
            except OSError as e:
                s.close()
                err = e
                continue
            try:
                s.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError:
                pass
            self.sock = s
            self.buf = b""
            return
        raise err or OSError("cannot connect to %s" % self.addr)

    def request(self, method, path, body=None, headers=None):
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: serval-python/%d.%d\r\n" % (
            method,
            path,
            self.addr,
            sys.version_info[0],
            sys.version_info[1],
        )
        if body is not None:
            head += "Content-Length: %d\r\n" % len(body)
        if headers:
            for k, v in headers.items():
                head += "%s: %s\r\n" % (k, _header_value(v))
        msg = (head + "\r\n").encode("utf-8", "replace")
        if body:
            msg += body
        for attempt in (0, 1):
            reused = self.sock is not None
            if not reused:
                self._connect()
            try:
                self.sock.sendall(msg)
                return self._response()
            except (_Closed, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server dropped while idle: retry once.
                self.close()
                if attempt or not reused:
                    raise OSError("Runtime API at %s closed the connection" % self.addr)
            except BaseException:
                self.close()
                raise

    def _fill(self, need_terminator=None, need_len=0):
        buf = self.buf
        while (need_terminator is not None and need_terminator not in buf) or len(buf) < need_len:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("Runtime API connection closed mid-response")
            buf += chunk
        self.buf = buf

    def _response(self):
        while True:
            buf = self.buf
            while b"\r\n\r\n" not in buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    if buf:
                        raise OSError("Runtime API connection closed mid-response")
                    raise _Closed()
                buf += chunk
            i = buf.index(b"\r\n\r\n")
            lines = buf[:i].decode("utf-8", "replace").split("\r\n")
            self.buf = buf[i + 4 :]
            parts = lines[0].split(" ", 2)
            version = parts[0]
            status = int(parts[1])
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            if status >= 200 or status == 101:
                break
            # 1xx interim response: skip it.
        keep_alive = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunked()
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if len(self.buf) >= n:
                body = self.buf[:n]
                self.buf = self.buf[n:]
            else:
                body = bytearray(n)
                have = len(self.buf)
                body[:have] = self.buf
                self.buf = b""
                view = memoryview(body)
                while have < n:
                    k = self.sock.recv_into(view[have:])
                    if not k:
                        raise OSError("Runtime API connection closed mid-response")
                    have += k
                view.release()
        else:
            chunks = [self.buf]
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            body = b"".join(chunks)
            keep_alive = False
        if not keep_alive:
            self.close()
        return status, headers, body

    def _chunked(self):
        parts = []
        while True:
            self._fill(b"\r\n")
            i = self.buf.index(b"\r\n")
            size = int(self.buf[:i].split(b";", 1)[0].strip(), 16)
            self.buf = self.buf[i + 2 :]
            if size == 0:
                # Trailers (if any) end with an empty line.
                while True:
                    self._fill(b"\r\n")
                    i = self.buf.index(b"\r\n")
                    line = self.buf[:i]
                    self.buf = self.buf[i + 2 :]
                    if not line:
                        return b"".join(parts)
            self._fill(None, size + 2)
            parts.append(self.buf[:size])
            self.buf = self.buf[size + 2 :]

    def post(self, path, body, headers):
        try:
            status, _, _ = self.request("POST", path, body, headers)
        except OSError as e:
            _die("POST %s failed: %s" % (path, e))
        # Anything but 202 (e.g. 413 for an oversized response, 400 for an
        # invocation that already timed out) is the Runtime API's to report.
        return status


def _stderr(text):
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:
        pass


def _die(msg):
    _stderr("[serval-bootstrap] %s\n" % msg)
    os._exit(1)


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Context object (mirrors awslambdaric's LambdaContext)
# --------------------------------------------------------------------------


class CognitoIdentity(object):
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client(object):
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __repr__(self):
        return "Client([%s])" % ",".join("%s=%s" % (f, getattr(self, f)) for f in self.__slots__)


class ClientContext(object):
    __slots__ = ("custom", "env", "client")

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (self.custom, self.env, self.client)


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    get = d.get if isinstance(d, dict) else (lambda _k, _d=None: None)
    for field in cls.__slots__:
        setattr(obj, field, get(field, None))
    return obj


def _parse_json_header(value, name):
    try:
        return _loads(value.encode("utf-8", "surrogatepass"))
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e))


def _env_memory():
    v = _ENV.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


class LambdaContext(object):
    __slots__ = (
        "aws_request_id",
        "log_group_name",
        "log_stream_name",
        "function_name",
        "memory_limit_in_mb",
        "function_version",
        "invoked_function_arn",
        "tenant_id",
        "client_context",
        "identity",
        "_epoch_deadline_time_in_ms",
    )

    def __init__(self, request_id, headers):
        self.aws_request_id = request_id
        self.log_group_name = _ENV.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = _ENV.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = _ENV.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = _env_memory()
        self.function_version = _ENV.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        try:
            self._epoch_deadline_time_in_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)
        except ValueError:
            self._epoch_deadline_time_in_ms = 0

        raw = headers.get("lambda-runtime-client-context")
        cc = _parse_json_header(raw, "Client Context") if raw else None
        self.client_context = _obj_from_dict(ClientContext, cc)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)

        raw = headers.get("lambda-runtime-cognito-identity")
        ci = _parse_json_header(raw, "Cognito Identity") if raw else None
        if isinstance(ci, dict):
            self.identity = CognitoIdentity(ci.get("cognitoIdentityId"), ci.get("cognitoIdentityPoolId"))
        else:
            self.identity = CognitoIdentity()

    def get_remaining_time_in_millis(self):
        delta = self._epoch_deadline_time_in_ms - int(_time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,"
            "identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


# --------------------------------------------------------------------------
# Errors (payload shape and log record as awslambdaric produces them)
# --------------------------------------------------------------------------


def _make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def _error_from_exception(request_id=None):
    """Error payload for the exception being handled (user frames only)."""
    import traceback

    etype, value, tb = sys.exc_info()
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] != _THIS_FILE:
            frames = frames[i:]
            break
    try:
        message = str(value)
    except Exception:
        message = "<exception str() failed>"
    return _make_error(message, etype.__name__, traceback.format_list(frames), request_id)


def _log_error(error):
    """One log record: lines joined by CR, trace indentation as NBSP (as AWS)."""
    desc = "[ERROR]"
    if error["errorType"]:
        desc += " " + error["errorType"]
    if error["errorMessage"]:
        if error["errorType"]:
            desc += ":"
        desc += " " + error["errorMessage"]
    lines = [desc, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        if element == "":
            lines.append("")
            continue
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    _flush_stdio()
    _stderr("\r".join(lines) + "\n")


def _post_error(client, path, error):
    try:
        body = _dumps(error)
    except Exception:
        body = _dumps(_make_error(repr(error.get("errorMessage")), error.get("errorType"), [], error.get("requestId")))
    client.post(
        path,
        body.encode("utf-8", "surrogatepass"),
        {
            "Content-Type": "application/json",
            "Lambda-Runtime-Function-Error-Type": error["errorType"],
        },
    )


# --------------------------------------------------------------------------
# Logging: AWS's root handler, installed only if/when `logging` is imported
# --------------------------------------------------------------------------


def _setup_logging(logging):
    import time

    logging.Formatter.converter = time.gmtime

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
                if msg.endswith("\n"):
                    msg = msg[:-1]
                # One record per log call (AWS frames them); CR keeps it on one line.
                sys.stdout.write(msg.replace("\n", "\r") + "\n")
                sys.stdout.flush()
            except Exception:
                self.handleError(record)

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id or ""
            return True

    handler = LambdaLoggerHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(LambdaLoggerFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = (_ENV.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level == "TRACE":
        level = "DEBUG"
    if level in getattr(logging, "_nameToLevel", {}):
        root.setLevel(level)


class _LoggingLoader(object):
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._inner
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._inner
        try:
            _setup_logging(module)
        except Exception:
            pass


class _LoggingImportHook(object):
    """meta_path finder that wraps the loader of `logging` to configure it."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "logging":
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoggingLoader(spec.loader)
        return spec


def _install_logging_hook():
    mod = sys.modules.get("logging")
    if mod is not None:
        try:
            _setup_logging(mod)
        except Exception:
            pass
    else:
        sys.meta_path.insert(0, _LoggingImportHook)


# --------------------------------------------------------------------------
# Init and the invoke loop
# --------------------------------------------------------------------------


def _setup_sys_path(task_root):
    here = os.path.dirname(_THIS_FILE)
    own = {here, os.path.abspath(here), os.path.realpath(here)}
    paths = [p for p in sys.path if p not in own]
    extra = [task_root]
    for p in (_ENV.get("SERVAL_PYTHONPATH") or "").split(os.pathsep):
        if p and p not in extra:
            extra.append(p)
    sys.path[:] = extra + [p for p in paths if p not in extra]


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _Fault(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module %s as a handler module" % modname,
            )
        name = modname.replace("/", ".")
        __import__(name)
        module = sys.modules[name]
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))


def _init(client):
    task_root = _ENV.get("LAMBDA_TASK_ROOT") or os.getcwd()
    _setup_sys_path(task_root)
    if not getattr(sys.stdout, "write_through", True):
        # Started without -u: at least flush print()s line by line.
        try:
            sys.stdout.reconfigure(line_buffering=True)
        except Exception:
            pass
    _install_logging_hook()
    try:
        return _get_handler(_ENV.get("_HANDLER", ""))
    except _Fault as f:
        error = _make_error(f.msg, f.error_type, f.trace)
    except Exception:
        error = _error_from_exception()
    _log_error(error)
    _post_error(client, "/2018-06-01/runtime/init/error", error)
    _flush_stdio()
    sys.exit(1)


def _serve(client, handler):
    global _request_id
    env = _ENV
    while True:
        try:
            status, headers, body = client.request("GET", "/2018-06-01/runtime/invocation/next")
        except OSError as e:
            _die("GET /2018-06-01/runtime/invocation/next failed: %s" % e)
        if status != 200:
            # The environment is shutting down (or the API is unusable).
            _flush_stdio()
            os._exit(0 if status == 500 else 1)
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        _request_id = request_id
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            env["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in env:
            del env["_X_AMZN_TRACE_ID"]

        error = None
        try:
            context = LambdaContext(request_id, headers)
            content_type = headers.get("content-type")
            if content_type and "json" not in content_type:
                event = bytes(body)
            else:
                try:
                    event = _loads(body)
                except Exception as e:
                    raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
            result = handler(event, context)
            if isinstance(result, (bytes, bytearray)):
                payload = bytes(result)
                result_type = "application/unknown"
            else:
                try:
                    payload = _dumps(result).encode("utf-8", "surrogatepass")
                except Exception as e:
                    raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
                result_type = "application/json"
        except _Fault as f:
            error = _make_error(f.msg, f.error_type, f.trace, request_id)
        except Exception:
            error = _error_from_exception(request_id)
        base = "/2018-06-01/runtime/invocation/" + _quote(request_id)
        if error is None:
            _flush_stdio()
            client.post(base + "/response", payload, {"Content-Type": result_type})
        else:
            _log_error(error)
            _post_error(client, base + "/error", error)
        result = payload = event = context = None


def main():
    addr = _ENV.get("AWS_LAMBDA_RUNTIME_API")
    if not addr:
        _die("AWS_LAMBDA_RUNTIME_API is not set")
    client = _RuntimeClient(addr)
    handler = _init(client)
    _serve(client, handler)


if __name__ == "__main__":
    main()
