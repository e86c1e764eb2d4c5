/**
 * The Lambda runtime inside one execution environment's worker thread: loads the handler
 * module once, then runs one invocation at a time when the host sends one. Console output goes to the
 * host as Lambda-formatted log lines instead of the process's standard output.
 */
import util from 'node:util';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toErrorPayload } from './error-payload';
import type {
  EnvironmentMessage,
  EnvironmentSettings,
  ErrorPayload,
  HostMessage,
  InvokeMessage,
} from './messages';

type Handler = (event: unknown, context: unknown, callback: HandlerCallback) => unknown;
type HandlerCallback = (error?: unknown, result?: unknown) => void;

/** A failure of the runtime itself, reported with one of Lambda's `Runtime.*` error types. */
class RuntimeError extends Error {
  constructor(errorType: string, message: string) {
    super(message);
    this.name = errorType;
  }
}

/** Console methods and the log level Lambda's Node.js runtime writes for each. */
const CONSOLE_LEVELS = {
  log: 'INFO',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  debug: 'DEBUG',
  trace: 'TRACE',
} as const;

function startRuntime(port: MessagePort, settings: EnvironmentSettings): void {
  const send = (message: EnvironmentMessage): void => port.postMessage(message);
  let currentRequestId: string | undefined;

  redirectOutput(send, () => currentRequestId);

  loadHandler(settings).then(
    (handler) => {
      port.on('message', (message: HostMessage) => {
        currentRequestId = message.requestId;
        void runInvocation(handler, settings, message).then(send);
      });
      send({ kind: 'ready' });
    },
    (error: unknown) => send({ kind: 'init-error', error: toErrorPayload(error) }),
  );
}

/** Sends console calls and direct standard output writes to the host as log text. */
function redirectOutput(
  send: (message: EnvironmentMessage) => void,
  requestId: () => string | undefined,
): void {
  for (const [method, level] of Object.entries(CONSOLE_LEVELS)) {
    (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...args) => {
      // Same layout as Lambda's Node.js runtime: time, request id, level, message.
      const text = `${new Date().toISOString()}\t${requestId() ?? 'undefined'}\t${level}\t${util.format(...args)}\n`;
      send({ kind: 'log', text });
    };
  }

  const writeToLog = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    send({ kind: 'log', text });
    const callback = rest.find((argument) => typeof argument === 'function');
    if (callback !== undefined) (callback as () => void)();
    return true;
  };
  process.stdout.write = writeToLog as typeof process.stdout.write;
  process.stderr.write = writeToLog as typeof process.stderr.write;
}

async function loadHandler(settings: EnvironmentSettings): Promise<Handler> {
  let moduleNamespace: Record<string, unknown>;
  try {
    moduleNamespace = (await import(settings.handlerModuleUrl)) as Record<string, unknown>;
  } catch (error) {
    // Lambda's Node.js runtime wraps only syntax errors and missing modules in Runtime.* errors.
    // An error that the module's own code throws while loading is reported as thrown.
    if (error instanceof SyntaxError) {
      throw new RuntimeError('Runtime.UserCodeSyntaxError', util.format('%s', error));
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', util.format('%s', error));
    }
    throw error;
  }

  // A CommonJS module imported from ESM exposes its exports object as `default`.
  const commonJsExports = moduleNamespace.default as Record<string, unknown> | undefined;
  const exported =
    moduleNamespace[settings.handlerExport] ?? commonJsExports?.[settings.handlerExport];
  if (exported === undefined || exported === null) {
    throw new RuntimeError(
      'Runtime.HandlerNotFound',
      `${settings.handlerName} is undefined or not exported`,
    );
  }
  if (typeof exported !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${settings.handlerName} is not a function`);
  }
  return exported as Handler;
}

async function runInvocation(
  handler: Handler,
  settings: EnvironmentSettings,
  message: InvokeMessage,
): Promise<EnvironmentMessage> {
  const { requestId } = message;
  try {
    const event: unknown = JSON.parse(message.eventJson);
    const result = await callHandler(handler, event, buildContext(settings, message));
    return { kind: 'result', requestId, payloadJson: serializeResult(result) };
  } catch (error) {
    const payload: ErrorPayload = toErrorPayload(error);
    return { kind: 'error', requestId, error: payload };
  }
}

/** Builds the context object of Lambda's Node.js runtime, without the deprecated done/succeed/fail. */
function buildContext(settings: EnvironmentSettings, message: InvokeMessage): object {
  return {
    awsRequestId: message.requestId,
    functionName: settings.functionName,
    functionVersion: message.functionVersion,
    invokedFunctionArn: message.invokedFunctionArn,
    // Lambda's Node.js runtime passes the memory size as a string.
    memoryLimitInMB: String(settings.memorySizeMb),
    logGroupName: settings.logGroupName,
    logStreamName: settings.logStreamName,
    clientContext: message.clientContext,
    identity: undefined,
    // NOTE: accepted but ignored, because the host returns the result as soon as the handler settles.
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  };
}

/**
 * Calls an async handler, or a callback-style one (three parameters, no promise returned).
 * A synchronous two-parameter handler's return value is taken as its result.
 */
function callHandler(handler: Handler, event: unknown, context: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback: HandlerCallback = (error, result) => {
      if (error === undefined || error === null) resolve(result);
      else reject(error);
    };

    let returned: unknown;
    try {
      returned = handler(event, context, callback);
    } catch (error) {
      reject(error);
      return;
    }

    if (isThenable(returned)) returned.then(resolve, reject);
    else if (handler.length < 3) resolve(returned);
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Serializes a result as Lambda does: `undefined` becomes `null`. */
function serializeResult(result: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(result === undefined ? null : result);
  } catch {
    // NOTE: error text of aws-lambda-nodejs-runtime-interface-client; the type Lambda reports
    // for it is not documented.
    throw new Error('Unable to stringify response body');
  }
  return json ?? 'null';
}

if (parentPort === null) {
  throw new Error('environment-runtime must run in a worker thread started by the Lambda host');
}
startRuntime(parentPort, workerData as EnvironmentSettings);
