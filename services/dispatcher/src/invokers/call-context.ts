/** What an invoker needs to know about the call beyond the request document. */
export interface CallContext {
  /** 1 for the first attempt of the job. */
  readonly attempt: number;
  /**
   * Aborted when shutdown gives up waiting for in-flight calls. An invoker then ends the
   * call with the `abandoned` outcome.
   */
  readonly abandonSignal: AbortSignal;
}

/** The dispatcher's source of time, replaceable in tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Longest queue pause a Retry-After header or `retryAfterSeconds` can ask for. */
export const MAX_RETRY_AFTER_MS = 15 * 60 * 1000;

/**
 * Parses an HTTP Retry-After value, either delay-seconds or an HTTP date, into a delay in
 * ms, capped at 15 minutes so one answer cannot stop a queue for days. Returns undefined
 * when the value is missing or malformed.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;

  let delayMs: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    delayMs = Math.ceil(Number(text) * 1000);
  } else {
    const dateMs = Date.parse(text);
    if (Number.isNaN(dateMs)) return undefined;
    delayMs = dateMs - nowMs;
  }
  return Math.min(Math.max(delayMs, 0), MAX_RETRY_AFTER_MS);
}
