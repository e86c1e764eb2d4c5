import http from 'node:http';
import https from 'node:https';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  type InvocationResponse,
} from '@aws-sdk/client-lambda';
import {
  MAX_ENDPOINT_TIMEOUT_MS,
  UNRECOVERABLE_ERROR_TYPE,
  regionFromFunctionArn,
  type DispatchRequest,
  type LambdaEndpoint,
  type Logger,
} from '@bullpen/core';
import type { HttpHandlerOptions } from '@smithy/types';
import { decodeReturnValue, type CallOutcome } from '../outcome';
import type { AwsCredentialsSource } from './aws-credentials';
import {
  CallOptionsHttpHandler,
  addCallOptionsMiddleware,
  carriesCallOptions,
  fileCallOptions,
} from './lambda-call-options';
import {
  CallDeadline,
  MAX_RETRY_AFTER_MS,
  type CallContext,
  type Clock,
  type InFlightCalls,
} from './call-context';

/** Creates the Lambda client of one region, normally with `createLambdaClient`. */
export type LambdaClientFactory = (region: string) => LambdaClient;

export interface LambdaClientSettings {
  readonly region: string;
  /** Lambda API endpoint override (LocalStack, the local Lambda host); default AWS's own. */
  readonly endpoint?: string;
  readonly credentials: AwsCredentialsSource;
  /** Idle time before the first TCP keep-alive probe; default 30 s, well under NAT idle timeouts. */
  readonly keepAliveMsecs?: number;
}

/**
 * Creates a Lambda client for dispatching. `maxAttempts: 1` because a retried Invoke
 * after a client-side timeout runs the function a second time, and the job's own
 * attempts already decide retries. The agents keep TCP keep-alive probes going so that a
 * NAT gateway does not drop a connection that waits up to 15 minutes for its response.
 * `throwOnRequestTimeout` makes the request timeout an error; @smithy/node-http-handler 4
 * only logs a warning without it. `cacheMiddleware` resolves the middleware stack once per
 * command class instead of on every call. Each call's deadline then reaches the request
 * handler as lambda-call-options.ts describes.
 */
export function createLambdaClient(settings: LambdaClientSettings): LambdaClient {
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: settings.keepAliveMsecs ?? 30_000,
    // Each in-flight Invoke keeps a socket busy for its whole run, so the SDK's default of 50
    // sockets would queue calls that the worker's concurrency allows.
    maxSockets: Infinity,
  };
  const client = new LambdaClient({
    region: settings.region,
    endpoint: settings.endpoint,
    credentials: settings.credentials,
    maxAttempts: 1,
    cacheMiddleware: true,
    requestHandler: new CallOptionsHttpHandler({
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      connectionTimeout: 10_000,
      throwOnRequestTimeout: true,
    }),
  });
  addCallOptionsMiddleware(client);
  return client;
}

/** Added to a function's configured timeout so Lambda reports its own timeout first. */
const FUNCTION_TIMEOUT_MARGIN_MS = 5_000;
/** Default time limit for reading a function's configured timeout. */
const CONFIGURATION_TIMEOUT_MS = 10_000;
/** How long a function's configured timeout is trusted before it is read again. */
const FUNCTION_TIMEOUT_CACHE_MS = 5 * 60 * 1000;

const UNRECOVERABLE_ERROR_NAMES = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidParameterValueException',
  'InvalidRequestContentException',
  'ValidationException',
  'RequestTooLargeException',
  'UnsupportedMediaTypeException',
  'KMSAccessDeniedException',
  'EC2AccessDeniedException',
  'RecursiveInvocationException',
]);
const THROTTLE_ERROR_NAMES = new Set([
  'TooManyRequestsException',
  'EC2ThrottledException',
  'ThrottlingException',
]);

export interface LambdaInvokerSettings {
  readonly clientFactory: LambdaClientFactory;
  /** Calls that shutdown may abandon. */
  readonly inFlight: InFlightCalls;
  /** Region for function names that are not ARNs and endpoints that name no region. */
  readonly defaultRegion?: string;
  readonly clock: Clock;
  /** Queue pause after a throttle that gives no `retryAfterSeconds`. */
  readonly throttleDelayMs: number;
  readonly logger: Logger;
  /** Time limit for reading a function's configured timeout, CONFIGURATION_TIMEOUT_MS unless set. */
  readonly configurationTimeoutMs?: number;
}

/** The client of a region, and whether it takes per-call options through the command input. */
interface RegionClient {
  readonly client: LambdaClient;
  readonly carriesCallOptions: boolean;
}

interface CachedTimeout {
  readonly timeoutMs: number;
  readonly expiresAtMs: number;
}

/** Invokes Lambda functions synchronously and maps their responses to call outcomes. */
export class LambdaInvoker {
  private readonly settings: LambdaInvokerSettings;
  private readonly clients = new Map<string, RegionClient>();
  private readonly timeouts = new Map<string, CachedTimeout>();

  constructor(settings: LambdaInvokerSettings) {
    this.settings = settings;
  }

  async call(
    endpoint: LambdaEndpoint,
    dispatchRequest: DispatchRequest,
    _context: CallContext,
  ): Promise<CallOutcome> {
    const region =
      regionFromFunctionArn(endpoint.functionName) ??
      endpoint.region ??
      this.settings.defaultRegion;
    if (!region) {
      return {
        kind: 'unrecoverable',
        reason:
          `No AWS region for function "${endpoint.functionName}": register a function ARN, ` +
          'set "region" on the endpoint, or set AWS_REGION for the dispatcher',
      };
    }
    const target = this.clientFor(region);

    const timeout = await this.resolveTimeoutMs(target, region, endpoint);
    if (typeof timeout !== 'number') return timeout;

    const deadline = new CallDeadline(timeout, this.settings.inFlight);
    try {
      const input = {
        FunctionName: endpoint.functionName,
        Qualifier: endpoint.qualifier,
        // InvocationType is left out because its default, RequestResponse, is the synchronous
        // call, and one header fewer is one fewer to sign on every job.
        Payload: Buffer.from(JSON.stringify(dispatchRequest)),
      };
      const response = await target.client.send(
        new InvokeCommand(input),
        sendOptions(target, input, { abortSignal: deadline, requestTimeout: timeout }),
      );
      return readInvocation(endpoint, response);
    } catch (error) {
      return this.describeInvokeError(error, deadline.cause, endpoint, timeout);
    } finally {
      deadline.dispose();
    }
  }

  /** Destroys every client and its connections. */
  close(): void {
    for (const { client } of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private clientFor(region: string): RegionClient {
    let entry = this.clients.get(region);
    if (!entry) {
      const client = this.settings.clientFactory(region);
      entry = { client, carriesCallOptions: carriesCallOptions(client) };
      this.clients.set(region, entry);
    }
    return entry;
  }

  /**
   * Returns the call's timeout in ms: the registered one, else the function's configured
   * timeout plus a margin. Reading the configuration needs `lambda:GetFunctionConfiguration`,
   * which a role allowed only to invoke lacks; the call then gets Lambda's 15-minute maximum.
   */
  private async resolveTimeoutMs(
    target: RegionClient,
    region: string,
    endpoint: LambdaEndpoint,
  ): Promise<number | CallOutcome> {
    if (endpoint.timeout !== undefined) return endpoint.timeout;

    const key = `${region}|${endpoint.functionName}|${endpoint.qualifier ?? ''}`;
    const nowMs = this.settings.clock.now();
    const cached = this.timeouts.get(key);
    if (cached && cached.expiresAtMs > nowMs) return cached.timeoutMs;

    let timeoutMs: number;
    // Shutdown abandons this read like an Invoke, so a stalled Lambda API cannot hold it up.
    const limitMs = this.settings.configurationTimeoutMs ?? CONFIGURATION_TIMEOUT_MS;
    const deadline = new CallDeadline(limitMs, this.settings.inFlight);
    try {
      const input = { FunctionName: endpoint.functionName, Qualifier: endpoint.qualifier };
      const configuration = await target.client.send(
        new GetFunctionConfigurationCommand(input),
        sendOptions(target, input, { abortSignal: deadline, requestTimeout: limitMs }),
      );
      timeoutMs = (configuration.Timeout ?? 3) * 1000 + FUNCTION_TIMEOUT_MARGIN_MS;
    } catch (error) {
      if (deadline.cause === 'abandoned') {
        return { kind: 'abandoned', reason: 'the dispatcher shut down before the call started' };
      }
      const name = (error as Error).name;
      if (name === 'ResourceNotFoundException') {
        return {
          kind: 'unrecoverable',
          reason: notFoundReason(endpoint, (error as Error).message),
        };
      }
      this.settings.logger.warn(
        { functionName: endpoint.functionName, region, errorName: name, err: error },
        'reading the function timeout failed; using the Lambda maximum',
      );
      timeoutMs = MAX_ENDPOINT_TIMEOUT_MS + FUNCTION_TIMEOUT_MARGIN_MS;
    } finally {
      deadline.dispose();
    }
    this.timeouts.set(key, { timeoutMs, expiresAtMs: nowMs + FUNCTION_TIMEOUT_CACHE_MS });
    return timeoutMs;
  }

  private describeInvokeError(
    error: unknown,
    abortCause: CallDeadline['cause'],
    endpoint: LambdaEndpoint,
    timeoutMs: number,
  ): CallOutcome {
    const name = (error as Error).name ?? 'Error';
    const message = (error as Error).message ?? String(error);
    const code = (error as { code?: string }).code ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const target = describeFunction(endpoint);

    if (abortCause === 'abandoned') {
      return { kind: 'abandoned', reason: 'the dispatcher shut down before the call finished' };
    }
    // The call's own deadline, or the SDK's requestTimeout, which the invoker sets to the same
    // value.
    if (abortCause === 'timeout' || (code === 'ETIMEDOUT' && message.includes('requestTimeout'))) {
      return { kind: 'failed', reason: `The Invoke of ${target} timed out after ${timeoutMs} ms` };
    }
    // @smithy/node-http-handler renames socket errors with the codes ECONNRESET and EPIPE to
    // TimeoutError, so the code decides before the name does.
    if (hasErrorCode(code, message, 'ECONNRESET') || hasErrorCode(code, message, 'EPIPE')) {
      return {
        kind: 'failed',
        reason: `The connection to Lambda was reset during ${target}: ${message}`,
      };
    }
    if (name === 'TimeoutError' && message.includes('did not establish a connection')) {
      return {
        kind: 'failed',
        reason: `Connecting to the Lambda endpoint for ${target} timed out: ${message}`,
      };
    }
    // Socket inactivity and operating system timeouts, such as failed keep-alive probes.
    if (name === 'TimeoutError' || hasErrorCode(code, message, 'ETIMEDOUT')) {
      return {
        kind: 'failed',
        reason: `The connection to Lambda timed out during ${target}: ${message}`,
      };
    }
    if (THROTTLE_ERROR_NAMES.has(name) || status === 429) {
      return {
        kind: 'throttled',
        reason: `${name}: ${message}`,
        retryAfterMs: this.retryAfterMs(error),
      };
    }
    if (name === 'ResourceNotFoundException') {
      return { kind: 'unrecoverable', reason: notFoundReason(endpoint, message) };
    }
    if (UNRECOVERABLE_ERROR_NAMES.has(name)) {
      return { kind: 'unrecoverable', reason: `${name} from ${target}: ${message}` };
    }
    // @smithy/core 3 wraps a thrown value that is not an Error of its own realm in a new
    // Error whose message is the only place the socket error code survives.
    if (hasErrorCode(code, message, 'ECONNREFUSED')) {
      return { kind: 'failed', reason: `Connection refused by the Lambda endpoint for ${target}` };
    }
    return { kind: 'failed', reason: `${name} from ${target}: ${message}` };
  }

  private retryAfterMs(error: unknown): number {
    const seconds = Number((error as { retryAfterSeconds?: string }).retryAfterSeconds);
    if (!Number.isFinite(seconds) || seconds < 0) return this.settings.throttleDelayMs;
    return Math.min(Math.ceil(seconds * 1000), MAX_RETRY_AFTER_MS);
  }
}

/**
 * Returns the options to give `send` for a call with `input`: none for a client that takes
 * them through the input, which keeps its cached middleware in use.
 */
function sendOptions(
  target: RegionClient,
  input: object,
  options: HttpHandlerOptions,
): HttpHandlerOptions | undefined {
  if (!target.carriesCallOptions) return options;
  fileCallOptions(input, options);
  return undefined;
}

/** Maps a finished Invoke to an outcome: the payload on success, the error on FunctionError. */
function readInvocation(endpoint: LambdaEndpoint, response: InvocationResponse): CallOutcome {
  const bytes = response.Payload ?? new Uint8Array();
  // A view of the SDK's bytes, not a copy.
  const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (response.FunctionError) {
    const { errorType, errorMessage } = readFunctionError(payload, response.FunctionError);
    const kind = errorType === UNRECOVERABLE_ERROR_TYPE ? 'unrecoverable' : 'failed';
    return { kind, reason: errorType, detail: errorMessage };
  }
  // Lambda caps a synchronous response at 6 MB and the SDK reads it whole, so the cap is
  // checked after the read rather than during it.
  if (payload.length > endpoint.maxResponseBytes) {
    return {
      kind: 'unrecoverable',
      reason:
        `The function returned ${payload.length} bytes, more than maxResponseBytes ` +
        `(${endpoint.maxResponseBytes} bytes). Return less data or register a larger maxResponseBytes.`,
    };
  }
  return { kind: 'completed', returnValue: decodeReturnValue(payload) };
}

function readFunctionError(
  payload: Buffer,
  functionError: string,
): { errorType: string; errorMessage: string } {
  const decoded = decodeReturnValue(payload);
  if (decoded !== null && typeof decoded === 'object') {
    const { errorType, errorMessage } = decoded as { errorType?: unknown; errorMessage?: unknown };
    return {
      errorType: typeof errorType === 'string' ? errorType : functionError,
      errorMessage: typeof errorMessage === 'string' ? errorMessage : JSON.stringify(decoded),
    };
  }
  const text = typeof decoded === 'string' ? decoded : '';
  return { errorType: functionError, errorMessage: text.slice(0, 1024) || 'no error payload' };
}

function hasErrorCode(code: string, message: string, expected: string): boolean {
  return code === expected || new RegExp(`\\b${expected}\\b`).test(message);
}

function describeFunction(endpoint: LambdaEndpoint): string {
  return endpoint.qualifier
    ? `function ${endpoint.functionName}:${endpoint.qualifier}`
    : `function ${endpoint.functionName}`;
}

function notFoundReason(endpoint: LambdaEndpoint, message: string): string {
  return (
    `ResourceNotFoundException: ${describeFunction(endpoint)} does not exist in this ` +
    `account and region (${message}). Register an existing function or deploy it first.`
  );
}
