import type { InvocationOutcome } from '../execution/execution-environment';

export interface FunctionUrlResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/** Response of a Function URL whose function failed, timed out or returned an invalid response. */
export const FUNCTION_URL_ERROR_RESPONSE: FunctionUrlResponse = {
  status: 502,
  headers: { 'Content-Type': 'application/json' },
  body: Buffer.from('Internal Server Error'),
};

/**
 * Turns an invocation outcome into the HTTP response of a Function URL. A result object with a
 * `statusCode` sets the status, headers, cookies and body, which is base64-decoded when
 * `isBase64Encoded` is true. Any other result is sent as a 200 JSON body.
 */
export function toFunctionUrlResponse(outcome: InvocationOutcome): FunctionUrlResponse {
  if (outcome.kind !== 'success') return FUNCTION_URL_ERROR_RESPONSE;

  const result: unknown = JSON.parse(outcome.payloadJson);
  if (!isObject(result) || !('statusCode' in result)) {
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(outcome.payloadJson),
    };
  }
  return structuredResponse(result);
}

function structuredResponse(result: Record<string, unknown>): FunctionUrlResponse {
  const status = Number(result.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    return FUNCTION_URL_ERROR_RESPONSE;
  }

  const headers: Record<string, string | string[]> = {};
  if (isObject(result.headers)) {
    for (const [name, value] of Object.entries(result.headers)) headers[name] = String(value);
  }
  if (Array.isArray(result.cookies) && result.cookies.length > 0) {
    headers['Set-Cookie'] = result.cookies.map(String);
  }

  return { status, headers, body: responseBody(result.body, result.isBase64Encoded === true) };
}

function responseBody(body: unknown, isBase64Encoded: boolean): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body !== 'string') return Buffer.from(JSON.stringify(body));
  return isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
