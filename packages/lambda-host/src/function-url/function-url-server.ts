import crypto from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { readRequestBody, sendBody } from '../api/http-io';
import { MAX_REQUEST_PAYLOAD_BYTES } from '../api/invoke';
import type { FunctionRunner } from '../execution/function-runner';
import { LATEST_VERSION } from '../function-definition';
import { buildFunctionUrlEvent } from './function-url-event';
import { FUNCTION_URL_ERROR_RESPONSE, toFunctionUrlResponse } from './function-url-response';

/**
 * Creates the listener of one function's Function URL (auth type NONE). Each request becomes a
 * synchronous invocation of `$LATEST`.
 */
export function createFunctionUrlServer(runner: FunctionRunner, logger: Logger): http.Server {
  // Real url-ids are 32 lower-case letters and digits.
  const urlId = crypto.randomBytes(16).toString('hex');
  return http.createServer((request, response) => {
    const requestId = crypto.randomUUID();
    response.setHeader('x-amzn-RequestId', requestId);
    serveFunctionUrl(runner, urlId, requestId, request, response).catch((error: unknown) => {
      logger.error({ err: error, functionName: runner.fn.name }, 'function url request failed');
      if (response.headersSent) response.destroy();
      else sendFunctionUrlResponse(response, FUNCTION_URL_ERROR_RESPONSE);
    });
  });
}

async function serveFunctionUrl(
  runner: FunctionRunner,
  urlId: string,
  requestId: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const receivedAt = new Date();
  const body = await readRequestBody(request, MAX_REQUEST_PAYLOAD_BYTES);
  if (body.tooLarge) {
    // NOTE: the status and body of an oversized Function URL request are unconfirmed.
    sendBody(
      response,
      413,
      { 'Content-Type': 'application/json' },
      '{"Message":"Request Entity Too Large"}',
    );
    return;
  }

  const event = buildFunctionUrlEvent(request, body.bytes, { requestId, urlId, receivedAt });
  const result = await runner.runNow({
    requestId,
    eventJson: JSON.stringify(event),
    functionVersion: LATEST_VERSION,
    invokedFunctionArn: runner.fn.arn,
    clientContext: undefined,
  });
  if (result.kind === 'throttled') {
    // NOTE: the body of a throttled Function URL response is unconfirmed.
    sendBody(response, 429, { 'Content-Type': 'application/json' }, '{"Message":"Rate Exceeded."}');
    return;
  }
  sendFunctionUrlResponse(response, toFunctionUrlResponse(result.report.outcome));
}

function sendFunctionUrlResponse(
  response: ServerResponse,
  functionUrlResponse: { status: number; headers: Record<string, string | string[]>; body: Buffer },
): void {
  sendBody(
    response,
    functionUrlResponse.status,
    functionUrlResponse.headers,
    functionUrlResponse.body,
  );
}
