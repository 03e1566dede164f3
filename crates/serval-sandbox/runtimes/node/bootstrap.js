// Serval Node.js runtime bootstrap.
//
// Serval's own stand-in for AWS's aws-lambda-nodejs-runtime-interface-client.
// It loads the handler named by _HANDLER (e.g. "index.handler",
// "src/index.handler", "index.nested.fn") from LAMBDA_TASK_ROOT and serves
// invocations over the Lambda Runtime API (2018-06-01) at
// AWS_LAMBDA_RUNTIME_API, following the AWS Node.js handler contract: async
// (promise-returning) handlers, callback handlers with
// context.callbackWaitsForEmptyEventLoop, context.done/succeed/fail, error and
// init-error payloads, and the patched console's log format.
//
// Started as:  node /path/to/bootstrap.js   (cwd = the code dir)
// CommonJS, Node 18 - 22, stdlib only. Handlers may be CommonJS (.js, .cjs) or
// ES modules (.mjs, or .js under a package.json with "type": "module"), which
// are loaded with dynamic import(). Only `http` is loaded beyond what Node has
// already loaded at startup; the module loader pieces for ESM load on demand.

'use strict';

const http = require('http');
const util = require('util');
const path = require('path');
const fs = require('fs');

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const BEFORE_EXIT = Symbol.for('aws.lambda.beforeExit');
const NO_OP = () => {};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

function runtimeError(name) {
  const cls = class extends Error {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}

const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');

class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason === undefined ? undefined : safeString(reason));
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a ' +
        'Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
NodeJsExit.prototype.name = 'Runtime.NodeJsExit';

function safeString(value) {
  try {
    return String(value);
  } catch (_) {
    return util.inspect(value);
  }
}

function isError(obj) {
  return (
    obj &&
    obj.name &&
    obj.message &&
    obj.stack &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string'
  );
}

// The body posted to /error and /init/error (as the AWS client builds it).
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isError(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      };
    }
    return {
      errorType: typeof error,
      errorMessage: error.toString(),
      trace: [],
    };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// The JSON that follows "Invoke Error" / "Uncaught Exception" in the log.
function toFormatted(error) {
  try {
    return (
      '\t' +
      JSON.stringify(error, (_k, v) => {
        if (!(v instanceof Error)) return v;
        const ret = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
        if (typeof v.stack === 'string') ret.stack = v.stack.split('\n');
        return ret;
      })
    );
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------
// Console: "<ISO time>\t<request id>\t<LEVEL>\t<message>", one line per call
// ---------------------------------------------------------------------------

function patchConsole() {
  const priority = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
  const min = priority[String(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || 1;
  const make = (level, toStderr) => {
    if (priority[level] < min) return NO_OP;
    return (...args) => {
      const line = `${new Date().toISOString()}\t${global[REQUEST_ID]}\t${level}\t${util.format(...args)}`;
      (toStderr ? process.stderr : process.stdout).write(line.replace(/\n/g, '\r') + '\n');
    };
  };
  console.trace = make('TRACE', false);
  console.debug = make('DEBUG', false);
  console.info = make('INFO', false);
  console.log = console.info;
  console.warn = make('WARN', true);
  console.error = make('ERROR', true);
  console.fatal = make('FATAL', true);
}

function logError(label, err) {
  console.error(label, toFormatted(intoError(err)));
}

function die(message) {
  try {
    process.stderr.write(`[serval-bootstrap] ${message}\n`);
  } finally {
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------
// Runtime API client (one keep-alive connection)
// ---------------------------------------------------------------------------

const API = process.env.AWS_LAMBDA_RUNTIME_API || '';
const API_HOST = (() => {
  const i = API.lastIndexOf(':');
  let host = i >= 0 ? API.slice(0, i) : API;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host || '127.0.0.1';
})();
const API_PORT = (() => {
  const i = API.lastIndexOf(':');
  return i >= 0 ? parseInt(API.slice(i + 1), 10) : 80;
})();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, urlPath, headers, body, retried) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: API_HOST, port: API_PORT, path: urlPath, method, agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      // A kept-alive connection the server dropped while idle: retry once.
      if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        resolve(request(method, urlPath, headers, body, true));
      } else {
        reject(err);
      }
    });
    req.end(body);
  });
}

function headerValue(value) {
  return String(value).replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

function post(urlPath, body, headers) {
  headers['Content-Length'] = Buffer.byteLength(body);
  // A status other than 202 (413 for an oversized response, 400 for an
  // invocation that already timed out) is the Runtime API's to report.
  return request('POST', urlPath, headers, body).then(
    (res) => res.status,
    (err) => die(`POST ${urlPath} failed: ${err.message}`),
  );
}

function serializeError(error) {
  const response = toRapidResponse(error);
  let body;
  try {
    body = JSON.stringify(response);
  } catch (_) {
    body = JSON.stringify({ errorType: safeString(response.errorType), errorMessage: safeString(response.errorMessage), trace: [] });
  }
  return [body, { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': headerValue(response.errorType) }];
}

const client = {
  async nextInvocation() {
    let res;
    try {
      res = await request('GET', '/2018-06-01/runtime/invocation/next', {});
    } catch (err) {
      die(`GET /2018-06-01/runtime/invocation/next failed: ${err.message}`);
    }
    if (res.status !== 200) {
      // The environment is shutting down (500), or the API is unusable. If a
      // fatal error is being reported, that report exits once it is posted.
      if (exiting) return new Promise(NO_OP);
      process.exit(res.status === 500 ? 0 : 1);
    }
    return { bodyJson: res.body.toString('utf8'), headers: res.headers };
  },

  // Throws (synchronously) if the result cannot be serialised, like AWS's client.
  postInvocationResponse(result, id) {
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (_) {
      throw new Error('Unable to stringify response body');
    }
    if (body === undefined) body = 'null';
    return post(`/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`, body, {
      'Content-Type': 'application/json',
    });
  },

  postInvocationError(error, id) {
    const [body, headers] = serializeError(error);
    return post(`/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/error`, body, headers);
  },

  postInitError(error) {
    const [body, headers] = serializeError(error);
    return post('/2018-06-01/runtime/init/error', body, headers);
  },
};

// ---------------------------------------------------------------------------
// Loading the handler (as AWS's UserFunction)
// ---------------------------------------------------------------------------

function hasPackageJsonTypeModule(folder) {
  // The nearest package.json decides; a node_modules folder or / stops the walk.
  for (;;) {
    if (folder.endsWith('/node_modules')) return false;
    const pj = path.join(folder, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(pj, 'utf8'));
        if (pkg) return pkg.type === 'module';
      } catch (e) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
        return false;
      }
    }
    if (folder === '/') return false;
    folder = path.resolve(folder, '..');
  }
}

function tryRequire(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImport(file) {
  if (!fs.existsSync(file)) return undefined;
  const { pathToFileURL } = require('url');
  return import(pathToFileURL(file).href);
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequire(lambdaStylePath);
  if (extensionless) return extensionless;

  const isModule = hasPackageJsonTypeModule(path.dirname(lambdaStylePath));
  if (!isModule) {
    const loaded = tryRequire(lambdaStylePath + '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (isModule && (await tryImport(lambdaStylePath + '.js'))) ||
    (await tryImport(lambdaStylePath + '.mjs')) ||
    tryRequire(lambdaStylePath + '.cjs');
  if (loaded) return loaded;

  // Fall back to Node's resolution (node_modules, NODE_PATH), relative to the
  // code rather than to this file.
  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = match;

  let userApp;
  try {
    userApp = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) {
      const err = new UserCodeSyntaxError(e);
      if (typeof e.stack === 'string') err.stack = e.stack;
      throw err;
    }
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }

  const handler = handlerPath.split('.').reduce((nested, key) => nested && nested[key], userApp);
  if (!handler) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  return handler;
}

// ---------------------------------------------------------------------------
// Invocations (as AWS's Runtime / CallbackContext / InvokeContext)
// ---------------------------------------------------------------------------

const beforeExit = {
  invoke: () => global[BEFORE_EXIT](),
  reset: () => (global[BEFORE_EXIT] = NO_OP),
  set: (listener) => (global[BEFORE_EXIT] = listener),
};

// The callback, the context's done/succeed/fail/callbackWaitsForEmptyEventLoop,
// and a function marking the invocation complete. Only the first call of any
// of callback/done/succeed/fail counts.
function buildCallbackContext(id, scheduleNext) {
  const postError = (err) => {
    logError('Invoke Error', err);
    client.postInvocationError(err, id).then(scheduleNext);
  };

  let isCompleteInvoked = false;
  const complete = (result) => {
    if (isCompleteInvoked) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    isCompleteInvoked = true;
    client.postInvocationResponse(result, id).then(scheduleNext);
  };

  let waitForEmptyEventLoop = true;
  const callback = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) {
      postError(err);
    } else if (!waitForEmptyEventLoop) {
      complete(result);
    } else {
      beforeExit.set(() => setImmediate(() => complete(result)));
    }
  };
  const done = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) {
      postError(err);
    } else {
      complete(result);
    }
  };
  const succeed = (result) => done(null, result);
  const fail = (err) => (err === undefined || err === null ? done('handled') : done(err, null));

  let finished = false;
  const once =
    (fn) =>
    (...args) => {
      if (!finished) {
        fn(...args);
        finished = true;
      }
    };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: once(succeed),
    fail: once(fail),
    done: once(done),
  };
  return [once(callback), context, () => (isCompleteInvoked = true)];
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function attachEnvironmentData(context, headers) {
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  const deadline = Number(headers['lambda-runtime-deadline-ms']) || 0;
  return Object.assign(context, {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis() {
      return Math.max(0, deadline - Date.now());
    },
  });
}

function isPromise(obj) {
  return obj && obj.then && typeof obj.then === 'function';
}

// Reporting for uncaught exceptions and unhandled rejections: an init error
// until the first invocation, then an error of the invocation in progress.
// Either way the process exits afterwards, as on AWS.
let exiting = false;
const errorCallbacks = {
  uncaughtException: (error) => reportFatal(() => client.postInitError(error), 129),
  unhandledRejection: (error) => reportFatal(() => client.postInitError(error), 128),
};

function reportFatal(postIt, code) {
  if (exiting) return;
  exiting = true;
  postIt().then(() => process.exit(code));
}

function runLoop(handler) {
  const isAsync = !!(handler && handler.constructor && handler.constructor.name === 'AsyncFunction');

  const scheduleIteration = () => {
    setImmediate(() => {
      handleOnce().catch((err) => {
        console.log(`Unexpected Top Level Error: ${err.toString()}`);
        errorCallbacks.uncaughtException(err);
      });
    });
  };

  const handleOnce = async () => {
    const { bodyJson, headers } = await client.nextInvocation();
    const id = headers['lambda-runtime-aws-request-id'] || '';
    global[REQUEST_ID] = id;

    const [callback, callbackContext, markCompleted] = buildCallbackContext(id, scheduleIteration);
    try {
      errorCallbacks.uncaughtException = (error) => reportFatal(() => client.postInvocationError(error, id), 129);
      errorCallbacks.unhandledRejection = (error) => reportFatal(() => client.postInvocationError(error, id), 128);

      // When the event loop drains without the handler reporting a result:
      // a callback-style handler succeeds with null, an async one failed.
      beforeExit.set(() => {
        markCompleted();
        if (isAsync) {
          const error = new NodeJsExit();
          logError('Invoke Error', error);
          client.postInvocationError(error, id).then(scheduleIteration);
        } else {
          client.postInvocationResponse(null, id).then(scheduleIteration);
        }
      });

      const context = attachEnvironmentData(callbackContext, headers);
      const result = handler(JSON.parse(bodyJson), context, callback);
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  };

  scheduleIteration();
}

async function main() {
  if (!API) die('AWS_LAMBDA_RUNTIME_API is not set');
  patchConsole();

  process.on('uncaughtException', (error) => {
    logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  beforeExit.reset();
  process.on('beforeExit', beforeExit.invoke);

  let handler;
  try {
    handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || '');
  } catch (error) {
    logError('Uncaught Exception', error);
    exiting = true;
    await client.postInitError(error);
    process.exit(1);
  }
  runLoop(handler);
}

main();
