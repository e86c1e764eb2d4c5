/**
 * How one call to an endpoint ended, before it is turned into a job state.
 * - `completed`: the job completes with `returnValue`.
 * - `failed`: the attempt fails and the job retries while it has attempts left.
 * - `unrecoverable`: the job fails without its remaining attempts.
 * - `throttled`: the endpoint requested a slower pace. The job goes back to waiting without
 *   using an attempt, and the queue pauses for `retryAfterMs` or the configured default.
 * - `abandoned`: shutdown cut the call off; the job goes back to waiting.
 *
 * `reason` is logged. `detail` comes from the endpoint (a response body, an error message)
 * and may echo job data, so it goes only into the job's `failedReason`, never into logs.
 */
export type CallOutcome =
  | { readonly kind: 'completed'; readonly returnValue: unknown }
  | { readonly kind: 'failed'; readonly reason: string; readonly detail?: string }
  | { readonly kind: 'unrecoverable'; readonly reason: string; readonly detail?: string }
  | { readonly kind: 'throttled'; readonly reason: string; readonly retryAfterMs?: number }
  | { readonly kind: 'abandoned'; readonly reason: string };

export type OutcomeKind = CallOutcome['kind'];

export const OUTCOME_KINDS: readonly OutcomeKind[] = [
  'completed',
  'failed',
  'unrecoverable',
  'throttled',
  'abandoned',
];

/**
 * Turns a response body into a job return value: parsed JSON when the body is JSON,
 * otherwise the text, and `null` for an empty body.
 */
export function decodeReturnValue(body: Buffer): unknown {
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Builds the job's `failedReason` for a failed or unrecoverable outcome. */
export function failedReasonOf(outcome: { reason: string; detail?: string }): string {
  return outcome.detail ? `${outcome.reason}: ${outcome.detail}` : outcome.reason;
}
