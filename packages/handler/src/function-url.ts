import { UNRECOVERABLE_HEADER } from '@bullpen/core/protocol';
import { InvalidDispatchEventError, UnrecoverableError } from './errors';

/** The response object a Function URL turns into the HTTP response. */
export interface FunctionUrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** 200 with the result as JSON; `undefined` becomes `null`, as it does for a direct Invoke. */
export function successResponse(result: unknown): FunctionUrlResponse {
  return { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify(result ?? null) };
}

/**
 * Maps a thrown value to an error response whose body has Lambda's error shape
 * (`errorType`, `errorMessage`), which the dispatcher puts into the job's failedReason.
 * An unrecoverable error carries the header that stops the dispatcher from retrying:
 * 400 when the request itself was malformed, 422 when the handler gave up on the job.
 * Anything else is a 500, which the dispatcher retries while attempts remain.
 */
export function errorResponse(error: unknown): FunctionUrlResponse {
  const body = JSON.stringify(describeError(error));
  if (error instanceof InvalidDispatchEventError) {
    return { statusCode: 400, headers: unrecoverableHeaders(), body };
  }
  if (error instanceof UnrecoverableError) {
    return { statusCode: 422, headers: unrecoverableHeaders(), body };
  }
  return { statusCode: 500, headers: JSON_HEADERS, body };
}

function unrecoverableHeaders(): Record<string, string> {
  return { ...JSON_HEADERS, [UNRECOVERABLE_HEADER]: 'true' };
}

function describeError(error: unknown): { errorType: string; errorMessage: string } {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: 'Error', errorMessage: String(error) };
}
