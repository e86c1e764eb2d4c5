import type { Context } from 'aws-lambda';
import type { CallbackSender } from './callbacks';
import type { EventSource } from './event';

/** Per-attempt helpers passed to a job handler: callbacks, the attempt number and the deadline. */
export interface JobContext {
  readonly queue: string;
  /** Number of this attempt: 1 for the first. */
  readonly attempt: number;
  /** The job's `attempts` option: how many attempts it has in all (1 when unset or 0). */
  readonly maxAttempts: number;
  /** Whether the request came as a direct Invoke or through a Function URL. */
  readonly source: EventSource;
  /**
   * Aborted shortly before Lambda's timeout (see `deadlineMarginMs`), with a `TimeoutError`
   * reason, so work that honours it can stop and report before the function is killed.
   * Never aborts when no Lambda context with a deadline was given.
   */
  readonly signal: AbortSignal;
  /** The Lambda context of this invocation, when the runtime passed one. */
  readonly lambdaContext: Context | undefined;
  /** Milliseconds until Lambda stops this invocation; Infinity without a Lambda context. */
  remainingTimeMs(): number;
  /**
   * Sets the job's progress to any JSON value. Rejects with CallbackError when the API does
   * not accept it; the handler may ignore that, because the job does not depend on it.
   */
  progress(value: unknown): Promise<void>;
  /** Appends a line to the job's logs. Rejects with CallbackError like `progress`. */
  log(line: string): Promise<void>;
}

export interface Deadline {
  readonly signal: AbortSignal;
  remainingTimeMs(): number;
  dispose(): void;
}

/** Starts the timer behind `ctx.signal`: it fires `marginMs` before Lambda's deadline. */
export function startDeadline(lambdaContext: Context | undefined, marginMs: number): Deadline {
  const controller = new AbortController();
  if (typeof lambdaContext?.getRemainingTimeInMillis !== 'function') {
    return {
      signal: controller.signal,
      remainingTimeMs: () => Number.POSITIVE_INFINITY,
      dispose: () => undefined,
    };
  }

  const remainingTimeMs = () => lambdaContext.getRemainingTimeInMillis();
  const delayMs = Math.max(0, remainingTimeMs() - marginMs);
  const timer = setTimeout(() => {
    controller.abort(
      new DOMException(
        `The invocation has ${remainingTimeMs()} ms left before Lambda stops it`,
        'TimeoutError',
      ),
    );
  }, delayMs);
  // The timer must not keep a local process alive after the handler has returned.
  timer.unref();

  return { signal: controller.signal, remainingTimeMs, dispose: () => clearTimeout(timer) };
}

function maxAttemptsOf(attemptsOption: unknown): number {
  return typeof attemptsOption === 'number' && attemptsOption >= 1 ? attemptsOption : 1;
}

export function createJobContext(fields: {
  queue: string;
  attemptsMade: number;
  attemptsOption: unknown;
  source: EventSource;
  lambdaContext: Context | undefined;
  deadline: Deadline;
  callbacks: CallbackSender;
}): JobContext {
  const { callbacks, deadline } = fields;
  return {
    queue: fields.queue,
    attempt: fields.attemptsMade + 1,
    // BullMQ stores `attempts: 0` for a job added without the option, and runs it once.
    maxAttempts: maxAttemptsOf(fields.attemptsOption),
    source: fields.source,
    signal: deadline.signal,
    lambdaContext: fields.lambdaContext,
    remainingTimeMs: deadline.remainingTimeMs,
    progress: (value) => callbacks.send('progress', value ?? null),
    log: (line) => callbacks.send('logs', String(line)),
  };
}
