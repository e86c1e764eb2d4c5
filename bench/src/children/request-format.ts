import {
  DISPATCH_HEADERS,
  idempotencyKeyFor,
  toJobJson,
  type DispatchRequest,
} from '@bullpen/core';
import type { Job } from 'bullmq';
import crypto from 'node:crypto';

/**
 * Request a hand-written worker sends. `minimal` is the least an endpoint needs, the job's id,
 * name and data. `bullpen` is the request Bullpen's dispatcher sends: the whole job JSON,
 * the lock token, the queue and the callback URL, plus Bullpen's headers on HTTP.
 */
export type RequestFormat = 'minimal' | 'bullpen';

/** Sent as `callbackUrl`; no-op endpoints never call it. */
const CALLBACK_URL = 'http://127.0.0.1:9';

export function readRequestFormat(value: string | undefined): RequestFormat {
  if (value === 'minimal' || value === 'bullpen') return value;
  throw new Error(`REQUEST_FORMAT is "${value}"; use minimal or bullpen`);
}

/** Serialises the request body of one job in `format`. */
export function requestBody(
  format: RequestFormat,
  queue: string,
  job: Job,
  token: string | undefined,
): string {
  if (format === 'minimal') return JSON.stringify({ id: job.id, name: job.name, data: job.data });
  const request: DispatchRequest = {
    job: toJobJson(job),
    token: token ?? '',
    queue,
    callbackUrl: CALLBACK_URL,
  };
  return JSON.stringify(request);
}

/** Builds the HTTP headers of one job's request in `format`. */
export function requestHeaders(
  format: RequestFormat,
  queue: string,
  job: Job,
): Record<string, string> {
  if (format === 'minimal') return { 'content-type': 'application/json' };
  const jobId = String(job.id);
  return {
    'content-type': 'application/json',
    'user-agent': 'bullpen-dispatcher',
    [DISPATCH_HEADERS.queue]: queue,
    [DISPATCH_HEADERS.jobId]: jobId,
    [DISPATCH_HEADERS.attempt]: String(job.attemptsMade + 1),
    [DISPATCH_HEADERS.idempotencyKey]: idempotencyKeyFor(queue, jobId),
    [DISPATCH_HEADERS.traceparent]: `00-${crypto.randomBytes(16).toString('hex')}-${crypto.randomBytes(8).toString('hex')}-01`,
  };
}
