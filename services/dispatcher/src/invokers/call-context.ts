import { EventEmitter } from 'node:events';

/** What an invoker needs to know about the call beyond the request document. */
export interface CallContext {
  /** 1 for the first attempt of the job. */
  readonly attempt: number;
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

/**
 * The calls in flight that a shutdown may abandon. Each call registers its own abort
 * function here rather than listening on a shared AbortSignal, which would need one
 * listener per concurrent call.
 */
export class InFlightCalls {
  private readonly abortFunctions = new Set<() => void>();
  private abandoned = false;

  /** Registers a call's abort function and returns the function that unregisters it. */
  track(abort: () => void): () => void {
    if (this.abandoned) {
      abort();
      return () => undefined;
    }
    this.abortFunctions.add(abort);
    return () => this.abortFunctions.delete(abort);
  }

  /** Aborts every registered call and every call registered from now on. */
  abandonAll(): void {
    this.abandoned = true;
    for (const abort of this.abortFunctions) abort();
    this.abortFunctions.clear();
  }
}

/**
 * The deadline of one call: `abort` runs once, when the call's timeout passes or when
 * shutdown abandons the call, and `cause` tells which happened first.
 */
export class CallAbort {
  private readonly timer: NodeJS.Timeout;
  private readonly untrack: () => void;
  private readonly onAbort: () => void;
  cause: 'timeout' | 'abandoned' | undefined;

  constructor(timeoutMs: number, inFlight: InFlightCalls, onAbort: () => void) {
    this.onAbort = onAbort;
    this.timer = setTimeout(() => this.abort('timeout'), timeoutMs);
    this.untrack = inFlight.track(() => this.abort('abandoned'));
  }

  /** Stops the timer and unregisters the call; call it once the call has ended. */
  dispose(): void {
    clearTimeout(this.timer);
    this.untrack();
  }

  private abort(cause: 'timeout' | 'abandoned'): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    this.onAbort();
  }
}

/**
 * An abort signal in the EventEmitter form that undici's `signal` option accepts. It costs
 * less per request than an AbortController, whose EventTarget listener bookkeeping showed
 * up in dispatch profiles.
 */
export class EmitterAbortSignal extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
