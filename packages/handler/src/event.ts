import type { DispatchRequest, JobJson } from '@bullpen/core';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { z } from 'zod';
import { InvalidDispatchEventError } from './errors';

/**
 * The fields of the dispatch document the SDK relies on. The job keeps every other field
 * BullMQ's `Job.toJSON()` produces, so a newer API that adds fields does not break handlers.
 */
const dispatchRequestSchema = z.object({
  job: z.looseObject({
    id: z.string().min(1),
    name: z.string(),
    data: z.unknown(),
    opts: z.record(z.string(), z.unknown()).default({}),
    attemptsMade: z.int().min(0).default(0),
  }),
  token: z.string().min(1),
  queue: z.string().min(1),
  callbackUrl: z.url({ protocol: /^https?$/ }),
});

/** How the request reached the function, which decides the shape of the response. */
export type EventSource = 'invoke' | 'function-url';

export interface ParsedEvent {
  readonly source: EventSource;
  readonly request: DispatchRequest;
}

/**
 * Tells a Function URL request from a direct Invoke: Function URLs use the API Gateway
 * HTTP API payload format version 2.0, which has `version` "2.0" and `requestContext.http`.
 */
export function isFunctionUrlEvent(event: unknown): event is LambdaFunctionURLEvent {
  if (event === null || typeof event !== 'object') return false;
  const candidate = event as { version?: unknown; requestContext?: { http?: unknown } };
  return candidate.version === '2.0' && typeof candidate.requestContext?.http === 'object';
}

/** Reads the dispatch request from either event shape, or throws InvalidDispatchEventError. */
export function parseDispatchEvent(event: unknown): ParsedEvent {
  if (isFunctionUrlEvent(event)) {
    return { source: 'function-url', request: validateRequest(readFunctionUrlBody(event)) };
  }
  return { source: 'invoke', request: validateRequest(event) };
}

function readFunctionUrlBody(event: LambdaFunctionURLEvent): unknown {
  if (event.body === undefined || event.body === '') {
    throw new InvalidDispatchEventError('the Function URL request has no body');
  }
  const text = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64').toString('utf8')
    : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidDispatchEventError('the Function URL request body is not valid JSON');
  }
}

function validateRequest(input: unknown): DispatchRequest {
  const result = dispatchRequestSchema.safeParse(input);
  if (!result.success) {
    const first = result.error.issues[0];
    const path = first && first.path.length > 0 ? first.path.join('.') : '(event)';
    throw new InvalidDispatchEventError(`${path} ${first?.message ?? 'is invalid'}`);
  }
  const { job, ...rest } = result.data;
  return { ...rest, job: job as unknown as JobJson };
}
