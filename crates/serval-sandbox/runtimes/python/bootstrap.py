# Serval Python runtime bootstrap.
#
# Serval's own stand-in for AWS's awslambdaric. It imports the handler named by
# _HANDLER (e.g. "app.handler", "src/app.handler", "pkg.mod.handler") from
# LAMBDA_TASK_ROOT and serves invocations over the Lambda Runtime API
# (2018-06-01) at AWS_LAMBDA_RUNTIME_API, following the AWS Python handler
# contract: event/context arguments, JSON results, the error and init-error
# payloads, and AWS's log formats.
#
# Started as:  python3 -u -S -s /path/to/bootstrap.py   (cwd = the code dir)
# Stdlib only; CPython 3.9 - 3.13; POSIX only.
#
# Cold start is the point of this file's shape:
#   * Only builtin C modules are imported up front (posix, _json, _socket, time):
#     no os, json, re, socket, http.client or logging. HTTP/1.1 is spoken over
#     _socket and JSON goes through the _json accelerator directly; traceback,
#     the json package (for exact error messages) and the logging setup load
#     only when needed.
#   * Python never caches bytecode for the main script and compiling this much
#     code costs ~3 ms per start, so the runtime's code is the string _SOURCE
#     below. _boot() compiles it once per interpreter version and caches the
#     code object in __pycache__/ next to this file (regardless of
#     PYTHONDONTWRITEBYTECODE, which is meant for the function's own code; an
#     unwritable directory just means compiling every time). It is compiled
#     under this file's name with its line numbers, so tracebacks point here.
#     `bootstrap.py --precompile /var/runtime/bootstrap/bootstrap.py` writes
#     the cache for the path a sandbox shows (read-only there).

import sys

_SOURCE_LINE = sys._getframe().f_lineno + 1
_SOURCE = r"""
import posix
import _json
import _socket
from time import time as _time

_environ = posix.environ  # bytes -> bytes, as at startup; os.environ is made from it


def _getenv(name, default=None):
    os = sys.modules.get("os")
    if os is not None:
        return os.environ.get(name, default)
    value = _environ.get(name.encode())
    return default if value is None else value.decode("utf-8", "surrogateescape")


def _setenv(name, value):
    # Through os.environ once the function has imported os; until then straight
    # into the process environment and the dict os.environ will be built from.
    os = sys.modules.get("os")
    if os is not None:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
        return
    key = name.encode()
    if value is None:
        if key in _environ:
            posix.unsetenv(key)
            del _environ[key]
    else:
        value = value.encode("utf-8", "surrogateescape")
        posix.putenv(key, value)
        _environ[key] = value


def _runtime_minor():
    env = _getenv("AWS_EXECUTION_ENV") or ""
    if env.startswith("AWS_Lambda_python3."):
        try:
            return int(env[19:])
        except ValueError:
            pass
    return sys.version_info[1]


# As awslambdaric: python3.12+ runtimes write non-ASCII text unescaped.
_ENSURE_ASCII = _runtime_minor() < 12

# Id of the invocation in progress; read by the logging filter.
_request_id = None


class _Fault(Exception):
    # An error reported with a Runtime.* errorType.
    def __init__(self, error_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.error_type = error_type
        self.msg = msg
        self.trace = trace


# --------------------------------------------------------------------------
# JSON: json.loads / json.dumps(obj) output, Decimal written as a number
# --------------------------------------------------------------------------

_NAN = float("nan")
_INF = float("inf")
_encode_str = _json.encode_basestring_ascii if _ENSURE_ASCII else _json.encode_basestring
_dec_mark = None  # random marker that carries Decimal text through the encoder


class _ScanContext(object):
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": -_INF, "Infinity": _INF, "NaN": _NAN}.__getitem__


try:
    _scan = _json.make_scanner(_ScanContext())
except Exception:  # _loads falls back to the json package
    _scan = None


def _loads(data):
    # json.loads for bytes.
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
        # Slow path: the json package produces the exact error message (or
        # parses what the fast path does not cover, such as UTF-16).
        import json

        return json.loads(data)


def _c_encoder(default):
    return _json.make_encoder({}, default, _encode_str, None, ": ", ", ", False, False, True)


def _dumps(obj):
    # json.dumps(obj), except that Decimal is written as a JSON number
    # (NaN as NaN), like awslambdaric's simplejson-based encoder.
    seen = None

    def default(o):
        nonlocal seen
        dec = sys.modules.get("decimal")
        if dec is not None and isinstance(o, dec.Decimal):
            if o.is_nan():
                return _NAN
            global _dec_mark
            if _dec_mark is None:
                _dec_mark = "@serval-decimal-%s@" % posix.urandom(12).hex()
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
    if _dumps({"a": [1, 2.5, "\xe9", None, True]}) != '{"a": [1, 2.5, %s, null, true]}' % _encode_str("\xe9"):
        raise ValueError
except Exception:  # the private _json API changed: use the json package
    import json as _jsonpkg

    def _make_encoder(default):
        enc = _jsonpkg.JSONEncoder(ensure_ascii=_ENSURE_ASCII, allow_nan=True, default=default)
        return lambda obj, _level: enc.iterencode(obj)


# --------------------------------------------------------------------------
# Runtime API client: minimal HTTP/1.1 over one keep-alive connection
# --------------------------------------------------------------------------

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(s):
    if all(c in _SAFE for c in s):
        return s
    return "".join(c if c in _SAFE else "".join("%%%02X" % b for b in c.encode("utf-8")) for c in s)


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
                head += "%s: %s\r\n" % (k, str(v).replace("\r", " ").replace("\n", " "))
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
                    raise OSError("the Runtime API at %s closed the connection" % self.addr)
            except BaseException:
                self.close()
                raise

    def _fill(self, terminator=None, size=0):
        buf = self.buf
        while (terminator is not None and terminator not in buf) or len(buf) < size:
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
            # A 1xx interim response: skip it.
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
                while True:  # trailers, up to an empty line
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
            status = self.request("POST", path, body, headers)[0]
        except OSError as e:
            _die("POST %s failed: %s" % (path, e))
        # Anything but 202 (413 for an oversized response, 400 for an invocation
        # that already timed out, ...) is the Runtime API's to report.
        return status


def _write(stream, text):
    try:
        stream.write(text)
        stream.flush()
    except Exception:
        pass


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _die(msg):
    _flush_stdio()
    _write(sys.stderr, "[serval-bootstrap] %s\n" % msg)
    posix._exit(1)


# --------------------------------------------------------------------------
# Context object (as awslambdaric's LambdaContext)
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
    for field in cls.__slots__:
        setattr(obj, field, d.get(field) if isinstance(d, dict) else None)
    return obj


def _parse_json_header(value, name):
    try:
        return _loads(value.encode("utf-8", "surrogatepass"))
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e))


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
        self.log_group_name = _FUNCTION["log_group_name"]
        self.log_stream_name = _FUNCTION["log_stream_name"]
        self.function_name = _FUNCTION["function_name"]
        self.memory_limit_in_mb = _FUNCTION["memory_limit_in_mb"]
        self.function_version = _FUNCTION["function_version"]
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        try:
            self._epoch_deadline_time_in_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)
        except ValueError:
            self._epoch_deadline_time_in_ms = 0

        raw = headers.get("lambda-runtime-client-context")
        self.client_context = _obj_from_dict(ClientContext, _parse_json_header(raw, "Client Context") if raw else None)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)

        raw = headers.get("lambda-runtime-cognito-identity")
        identity = _parse_json_header(raw, "Cognito Identity") if raw else None
        if isinstance(identity, dict):
            self.identity = CognitoIdentity(identity.get("cognitoIdentityId"), identity.get("cognitoIdentityPoolId"))
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


def _function_info():
    memory = _getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    try:
        memory = int(memory)
    except (TypeError, ValueError):
        pass
    return {
        "function_name": _getenv("AWS_LAMBDA_FUNCTION_NAME"),
        "function_version": _getenv("AWS_LAMBDA_FUNCTION_VERSION"),
        "memory_limit_in_mb": memory,
        "log_group_name": _getenv("AWS_LAMBDA_LOG_GROUP_NAME"),
        "log_stream_name": _getenv("AWS_LAMBDA_LOG_STREAM_NAME"),
    }


_FUNCTION = _function_info()


# --------------------------------------------------------------------------
# Errors: payload shape and log record as awslambdaric produces them
# --------------------------------------------------------------------------


def _make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def _error_from_exception(request_id=None):
    # Payload for the exception being handled; the bootstrap's own frames at
    # the top of the traceback are left out.
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
    # One log record, as AWS writes it: "[ERROR] Type: message", then the
    # traceback; lines joined by CR, trace indentation as NO-BREAK SPACEs.
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
    _write(sys.stderr, "\r".join(lines) + "\n")


def _post_error(client, path, error):
    try:
        body = _dumps(error)
    except Exception:
        body = _dumps(_make_error(repr(error.get("errorMessage")), str(error.get("errorType")), [], error.get("requestId")))
    client.post(
        path,
        body.encode("utf-8", "surrogatepass"),
        {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error["errorType"]},
    )


# --------------------------------------------------------------------------
# Logging: AWS's root handler, installed when (and if) `logging` is imported
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
                # One record per call (AWS frames them); CR keeps it on one line.
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
    level = (_getenv("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level == "TRACE":
        level = "DEBUG"
    if level in getattr(logging, "_nameToLevel", {}):
        root.setLevel(level)


class _LoggingLoader(object):
    # Wraps the loader of `logging`: runs the module, then configures it.
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
    # sys.meta_path finder that hands out `logging` with a _LoggingLoader.
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
    module = sys.modules.get("logging")
    if module is None:
        sys.meta_path.insert(0, _LoggingImportHook)
        return
    try:
        _setup_logging(module)
    except Exception:
        pass


# --------------------------------------------------------------------------
# Init and the invoke loop
# --------------------------------------------------------------------------


def _same_file(a, b):
    try:
        sa = posix.stat(a)
        sb = posix.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _setup_sys_path(task_root):
    # LAMBDA_TASK_ROOT first, then SERVAL_PYTHONPATH; the bootstrap's own
    # directory (which Python put at sys.path[0]) is dropped.
    paths = list(sys.path)
    if paths and _same_file((paths[0] or ".") + "/" + _THIS_FILE.rpartition("/")[2], _THIS_FILE):
        del paths[0]
    front = [task_root]
    for p in (_getenv("SERVAL_PYTHONPATH") or "").split(":"):
        if p and p not in front:
            front.append(p)
    sys.path[:] = front + [p for p in paths if p not in front]


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
    _setup_sys_path(_getenv("LAMBDA_TASK_ROOT") or posix.getcwd())
    if not getattr(sys.stdout, "write_through", True):
        try:  # started without -u: at least flush print()s line by line
            sys.stdout.reconfigure(line_buffering=True)
        except Exception:
            pass
    _install_logging_hook()
    try:
        return _get_handler(_getenv("_HANDLER", ""))
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
    while True:
        try:
            status, headers, body = client.request("GET", "/2018-06-01/runtime/invocation/next")
        except OSError as e:
            _die("GET /2018-06-01/runtime/invocation/next failed: %s" % e)
        if status != 200:
            # The environment is shutting down (500), or the API is unusable.
            _flush_stdio()
            posix._exit(0 if status == 500 else 1)
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        _request_id = request_id
        _setenv("_X_AMZN_TRACE_ID", headers.get("lambda-runtime-trace-id") or None)

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
        path = "/2018-06-01/runtime/invocation/" + _quote(request_id)
        if error is None:
            _flush_stdio()
            client.post(path + "/response", payload, {"Content-Type": result_type})
        else:
            _log_error(error)
            _post_error(client, path + "/error", error)
        result = payload = event = context = body = None


def main():
    addr = _getenv("AWS_LAMBDA_RUNTIME_API")
    if not addr:
        _die("AWS_LAMBDA_RUNTIME_API is not set")
    client = _RuntimeClient(addr)
    _serve(client, _init(client))
"""


def _boot(namespace, seen_as=None):
    # Runs _SOURCE in `namespace`, from cached bytecode when there is some.
    # With `seen_as`, only writes the cache for this file as a sandbox shows
    # it at that path (Serval does this on the host, where it can write).
    import marshal
    import posix
    import _imp

    here = sys._getframe().f_code.co_filename
    path = seen_as or here
    namespace["_THIS_FILE"] = path
    key = _imp.source_hash(sys.hexversion, (path + "\0" + _SOURCE).encode("utf-8", "surrogateescape"))
    cache_dir = (here.rpartition("/")[0] or ".") + "/__pycache__"
    cache = "%s/bootstrap.%s.%s.serval" % (cache_dir, sys.implementation.cache_tag, key.hex())
    code = None
    try:
        with open(cache, "rb") as f:
            code = marshal.loads(f.read())
    except Exception:
        pass
    if type(code) is not type(_boot.__code__):
        code = compile("\n" * (_SOURCE_LINE - 1) + _SOURCE, path, "exec", dont_inherit=True)
        tmp = "%s.%d.tmp" % (cache, posix.getpid())
        try:
            try:
                posix.mkdir(cache_dir, 0o755)
            except FileExistsError:
                pass
            with open(tmp, "wb") as f:
                f.write(marshal.dumps(code))
            posix.chmod(tmp, 0o644)
            posix.rename(tmp, cache)
        except OSError:
            try:
                posix.unlink(tmp)
            except OSError:
                pass
    if seen_as is None:
        exec(code, namespace)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--precompile"]:
        _boot(globals(), seen_as=sys.argv[2])
        sys.exit(0)
    _boot(globals())
    main()  # noqa: F821 - defined by _SOURCE
