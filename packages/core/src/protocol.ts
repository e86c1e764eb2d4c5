import type { JobJson } from './job-json';

/**
 * The document every endpoint receives, the same for HTTP and Lambda. `job` and `token`
 * keep BullMQ Proxy's shape; `callbackUrl` is the API base URL for progress and logs.
 */
export interface DispatchRequest {
  readonly job: JobJson;
  readonly token: string;
  readonly queue: string;
  readonly callbackUrl: string;
}

/** Headers the dispatcher adds to every HTTP call. */
export const DISPATCH_HEADERS = {
  queue: 'bullpen-queue',
  jobId: 'bullpen-job-id',
  /** 1 for the first attempt. */
  attempt: 'bullpen-attempt',
  /** Same for every attempt of one job: `<queue>:<job id>`. */
  idempotencyKey: 'idempotency-key',
  traceparent: 'traceparent',
} as const;

/**
 * Response header by which an HTTP endpoint marks its failure as permanent: with the value
 * `true` on a non-2xx answer, the job fails at once without its remaining attempts.
 */
export const UNRECOVERABLE_HEADER = 'bullpen-unrecoverable';

/** Lambda `errorType` (and HTTP error name) that marks a failure as permanent. */
export const UNRECOVERABLE_ERROR_TYPE = 'UnrecoverableError';

/** Builds the idempotency key that stays the same across every attempt of one job. */
export function idempotencyKeyFor(queue: string, jobId: string): string {
  return `${queue}:${jobId}`;
}
