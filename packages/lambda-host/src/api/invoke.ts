import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { InvocationReport, InvocationRequest } from '../execution/execution-environment';
import type { FunctionRunner } from '../execution/function-runner';
import type { FunctionTarget } from './function-reference';
import { readRequestBody, sendBody } from './http-io';
import {
  invalidParameterValue,
  invalidRequestContent,
  requestTooLarge,
  reservedConcurrencyExceeded,
  validationFailed,
} from './lambda-api-error';

/** Largest Invoke request payload Lambda accepts: 6 MB (6,291,456 bytes). */
export const MAX_REQUEST_PAYLOAD_BYTES = 6_291_456;

/**
 * Retry-After value, in seconds, of a throttled invocation. NOTE: the value Lambda sends is
 * unconfirmed; 1 s keeps retrying callers quick in tests.
 */
export const THROTTLE_RETRY_AFTER_SECONDS = 1;

const INVOCATION_TYPES = ['RequestResponse', 'Event', 'DryRun'] as const;
type InvocationType = (typeof INVOCATION_TYPES)[number];

/** Everything the Invoke operation needs besides the request itself. */
export interface InvokeDependencies {
  readonly runner: FunctionRunner;
  readonly logger: Logger;
  /** Receives each asynchronous invocation, so closing the host can wait for it. */
  readonly trackBackground: (invocation: Promise<unknown>) => void;
}

/** Serves `POST /2015-03-31/functions/{FunctionName}/invocations`. */
export async function handleInvoke(
  dependencies: InvokeDependencies,
  target: FunctionTarget,
  requestId: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const invocationType = parseInvocationType(request.headers['x-amz-invocation-type']);
  const wantsLogTail = parseLogType(request.headers['x-amz-log-type']) === 'Tail';
  const clientContext = parseClientContext(request.headers['x-amz-client-context']);

  const body = await readRequestBody(request, MAX_REQUEST_PAYLOAD_BYTES);
  if (body.tooLarge) throw requestTooLarge(MAX_REQUEST_PAYLOAD_BYTES);
  const invocation: InvocationRequest = {
    requestId,
    eventJson: parseEventJson(body.bytes),
    functionVersion: target.version,
    invokedFunctionArn: target.invokedArn,
    clientContext,
  };

  if (invocationType === 'DryRun') {
    sendBody(response, 204, {});
    return;
  }

  if (invocationType === 'Event') {
    startInBackground(dependencies, invocation);
    sendBody(response, 202, {});
    return;
  }

  const result = await dependencies.runner.runNow(invocation);
  if (result.kind === 'throttled') throw reservedConcurrencyExceeded(THROTTLE_RETRY_AFTER_SECONDS);
  sendInvocationResult(response, result.report, target.version, wantsLogTail);
}

/**
 * Runs an Event invocation after the response. Like Lambda's internal queue, it waits for the
 * reserved concurrency instead of being throttled.
 * NOTE: Lambda retries a failed asynchronous invocation twice; this host runs it once.
 */
function startInBackground(dependencies: InvokeDependencies, invocation: InvocationRequest): void {
  const { runner, logger } = dependencies;
  const background = runner.runWhenFree(invocation).then(
    (report) => {
      if (report.outcome.kind === 'function-error') {
        logger.warn(
          {
            functionName: runner.fn.name,
            requestId: invocation.requestId,
            errorType: report.outcome.error.errorType,
          },
          'asynchronous invocation failed',
        );
      }
    },
    (error: unknown) =>
      logger.debug(
        { functionName: runner.fn.name, requestId: invocation.requestId, err: error },
        'asynchronous invocation dropped',
      ),
  );
  dependencies.trackBackground(background);
}

function sendInvocationResult(
  response: ServerResponse,
  report: InvocationReport,
  version: string,
  wantsLogTail: boolean,
): void {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'X-Amz-Executed-Version': version,
  };
  if (wantsLogTail) headers['X-Amz-Log-Result'] = report.log.tailBase64();

  const { outcome } = report;
  if (outcome.kind === 'success') {
    sendBody(response, 200, headers, outcome.payloadJson);
    return;
  }
  // Thrown errors, timeouts and crashes are all reported as Unhandled.
  headers['X-Amz-Function-Error'] = 'Unhandled';
  sendBody(response, 200, headers, JSON.stringify(outcome.error));
}

function parseInvocationType(header: string | string[] | undefined): InvocationType {
  if (header === undefined) return 'RequestResponse';
  const value = String(header);
  if ((INVOCATION_TYPES as readonly string[]).includes(value)) return value as InvocationType;
  throw validationFailed(
    `1 validation error detected: Value '${value}' at 'invocationType' failed to satisfy ` +
      `constraint: Member must satisfy enum value set: [${INVOCATION_TYPES.join(', ')}]`,
  );
}

function parseLogType(header: string | string[] | undefined): 'None' | 'Tail' {
  if (header === undefined || header === 'None') return 'None';
  if (header === 'Tail') return 'Tail';
  throw validationFailed(
    `1 validation error detected: Value '${String(header)}' at 'logType' failed to satisfy ` +
      'constraint: Member must satisfy enum value set: [None, Tail]',
  );
}

/** Decodes `X-Amz-Client-Context`: base64 of a JSON object, passed to the handler's context. */
function parseClientContext(header: string | string[] | undefined): unknown {
  if (header === undefined || header === '') return undefined;
  try {
    return JSON.parse(Buffer.from(String(header), 'base64').toString('utf8'));
  } catch {
    throw invalidParameterValue('Client context must be a valid Base64-encoded JSON object.');
  }
}

/** Checks that the payload is JSON; an empty payload is the event `{}`, as in Lambda. */
function parseEventJson(bytes: Buffer): string {
  if (bytes.length === 0) return '{}';
  const text = bytes.toString('utf8');
  try {
    JSON.parse(text);
  } catch (error) {
    throw invalidRequestContent((error as Error).message);
  }
  return text;
}
