import type { Dispatcher } from 'undici';
import type { AbandonableCall, InFlightCalls } from './call-context';

/** A response as far as the exchange read it. */
export interface ExchangeResponse {
  readonly statusCode: number;
  readonly statusText: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body, or its first `limit` bytes when `overLimit` is true. */
  readonly body: Buffer;
  /** The body was longer than the limit for its status, and the read stopped there. */
  readonly overLimit: boolean;
}

/** Cause of an early end of the exchange, before or during the response. */
export type ExchangeAbortCause = 'timeout' | 'abandoned';

/** The error an exchange ends with when its own timeout or a shutdown aborts it. */
export class ExchangeAbortedError extends Error {
  readonly abortCause: ExchangeAbortCause;

  constructor(abortCause: ExchangeAbortCause) {
    super(abortCause === 'timeout' ? 'the call timed out' : 'the call was abandoned at shutdown');
    this.name = 'ExchangeAbortedError';
    this.abortCause = abortCause;
  }
}

/** Internal signal to undici that the body limit was reached; the response is already read. */
class BodyLimitReachedError extends Error {
  constructor() {
    super('the response body limit was reached');
    this.name = 'BodyLimitReachedError';
  }
}

export interface ExchangeLimits {
  /** Time for the whole exchange, from dispatch to the last byte of the body. */
  readonly timeoutMs: number;
  /** Bytes read from a 2xx body before the read stops. */
  readonly successBodyBytes: number;
  /** Bytes read from any other body, which only feeds an error message. */
  readonly errorBodyBytes: number;
}

/** State of a running exchange, which the exchange drops when it settles. */
interface RunningExchange {
  readonly limits: ExchangeLimits;
  readonly inFlight: InFlightCalls;
  readonly resolve: (response: ExchangeResponse) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  controller: Dispatcher.DispatchController | undefined;
  statusCode: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  limit: number;
  readonly chunks: Buffer[];
  length: number;
}

/**
 * One HTTP exchange as an undici dispatch handler. Driving undici at this level, rather
 * than through `request()`, means no AbortSignal, no body stream and no async steps per
 * chunk: the body is collected in `onResponseData` up to its limit, and the timeout and
 * shutdown abort the exchange through the controller undici hands over. Each of those
 * showed up in dispatch profiles.
 *
 * `start` returns the response promise. It resolves with the response, or rejects with the
 * transport error, an ExchangeAbortedError, or undici's error for a body that ended early.
 *
 * Once settled, the exchange keeps only `cause` and `responseStarted`, because scavenges kept
 * finished exchanges alive, likely through undici's request, an unreachable old object. With
 * their references, 2.5 to 2.6 MB were promoted per scavenge, and without them 0.61 to 0.64 MB
 * (--trace-gc-nvp; docs/benchmarks.md, path 1).
 */
export class HttpExchange implements Dispatcher.DispatchHandler, AbandonableCall {
  /** Set once response headers have arrived; errors after that concern the body. */
  responseStarted = false;
  private abortCause: ExchangeAbortCause | undefined;
  private running: RunningExchange | undefined;
  private started = false;

  /** Cause of the abort that ended the exchange, if one did. */
  get cause(): ExchangeAbortCause | undefined {
    return this.abortCause;
  }

  /**
   * Registers the exchange with `inFlight`, starts its timer and dispatches the request.
   * An exchange that `inFlight` abandons at once never reaches the dispatcher.
   */
  start(
    dispatcher: Dispatcher,
    options: Dispatcher.DispatchOptions,
    limits: ExchangeLimits,
    inFlight: InFlightCalls,
  ): Promise<ExchangeResponse> {
    if (this.started) throw new Error('an HttpExchange can be started only once');
    this.started = true;
    const response = new Promise<ExchangeResponse>((resolve, reject) => {
      this.running = {
        limits,
        inFlight,
        resolve,
        reject,
        timer: undefined,
        controller: undefined,
        statusCode: 0,
        statusText: '',
        headers: {},
        limit: 0,
        chunks: [],
        length: 0,
      };
    });
    inFlight.add(this);
    const running = this.running;
    if (running) {
      running.timer = setTimeout(abortOnTimeout, limits.timeoutMs, this);
      try {
        dispatcher.dispatch(options, this);
      } catch (error) {
        // undici 7 passes dispatch errors to onResponseError, so this covers other dispatchers.
        this.fail(error as Error);
      }
    }
    return response;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const running = this.running;
    if (running) running.controller = controller;
    else controller.abort(new ExchangeAbortedError(this.abortCause ?? 'abandoned'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    const running = this.running;
    // 1xx responses are informational and followed by the real one.
    if (!running || statusCode < 200) return;
    this.responseStarted = true;
    running.statusCode = statusCode;
    running.statusText = statusMessage ?? '';
    running.headers = headers;
    running.limit =
      statusCode < 300 ? running.limits.successBodyBytes : running.limits.errorBodyBytes;

    const declaredLength = Number(headers['content-length']);
    if (statusCode < 300 && declaredLength > running.limit) this.stopAtLimit(controller);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const running = this.running;
    if (!running) return;
    if (running.length + chunk.length > running.limit) {
      running.chunks.push(chunk.subarray(0, running.limit - running.length));
      running.length = running.limit;
      this.stopAtLimit(controller);
      return;
    }
    running.length += chunk.length;
    running.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.settle(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  abandon(): void {
    this.abort('abandoned');
  }

  abort(cause: ExchangeAbortCause): void {
    const running = this.finish();
    if (!running) return;
    this.abortCause = cause;
    running.reject(new ExchangeAbortedError(cause));
    // Before onRequestStart the request is still waiting for a connection; it is aborted
    // there as soon as it starts.
    running.controller?.abort(new ExchangeAbortedError(cause));
  }

  private fail(error: Error): void {
    const running = this.finish();
    running?.reject(error);
  }

  /** Ends the exchange with what was read and closes the connection, which drops the rest. */
  private stopAtLimit(controller: Dispatcher.DispatchController): void {
    this.settle(true);
    controller.abort(new BodyLimitReachedError());
  }

  private settle(overLimit: boolean): void {
    const running = this.finish();
    if (!running) return;
    const { chunks } = running;
    running.resolve({
      statusCode: running.statusCode,
      statusText: running.statusText,
      headers: running.headers,
      body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
      overLimit,
    });
  }

  /** Stops the timer, unregisters the exchange and returns its running state the first time. */
  private finish(): RunningExchange | undefined {
    const running = this.running;
    if (!running) return undefined;
    this.running = undefined;
    clearTimeout(running.timer);
    running.inFlight.delete(this);
    return running;
  }
}

function abortOnTimeout(exchange: HttpExchange): void {
  exchange.abort('timeout');
}
