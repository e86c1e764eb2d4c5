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

/**
 * One HTTP exchange as an undici dispatch handler. Driving undici at this level, rather
 * than through `request()`, means no AbortSignal, no body stream and no async steps per
 * chunk: the body is collected in `onResponseData` up to its limit, and the timeout and
 * shutdown abort the exchange through the controller undici hands over. Each of those
 * showed up in dispatch profiles.
 *
 * `response` resolves with the response, or rejects with the transport error, an
 * ExchangeAbortedError, or undici's error for a body that ended early.
 */
export class HttpExchange implements Dispatcher.DispatchHandler, AbandonableCall {
  readonly response: Promise<ExchangeResponse>;
  /** Set once response headers have arrived; errors after that concern the body. */
  responseStarted = false;
  private readonly limits: ExchangeLimits;
  private readonly inFlight: InFlightCalls;
  private readonly timer: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | undefined;
  private abortCause: ExchangeAbortCause | undefined;
  private settled = false;
  private resolveResponse!: (response: ExchangeResponse) => void;
  private rejectResponse!: (error: Error) => void;
  private statusCode = 0;
  private statusText = '';
  private headers: Record<string, string | string[] | undefined> = {};
  private limit = 0;
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(limits: ExchangeLimits, inFlight: InFlightCalls) {
    this.limits = limits;
    this.inFlight = inFlight;
    this.response = new Promise((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    this.timer = setTimeout(abortOnTimeout, limits.timeoutMs, this);
    inFlight.add(this);
  }

  /** Cause of the abort that ended the exchange, if one did. */
  get cause(): ExchangeAbortCause | undefined {
    return this.abortCause;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortCause) controller.abort(new ExchangeAbortedError(this.abortCause));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    // 1xx responses are informational and followed by the real one.
    if (statusCode < 200) return;
    this.responseStarted = true;
    this.statusCode = statusCode;
    this.statusText = statusMessage ?? '';
    this.headers = headers;
    this.limit = statusCode < 300 ? this.limits.successBodyBytes : this.limits.errorBodyBytes;

    const declaredLength = Number(headers['content-length']);
    if (statusCode < 300 && declaredLength > this.limit) this.stopAtLimit(controller);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.length + chunk.length > this.limit) {
      this.chunks.push(chunk.subarray(0, this.limit - this.length));
      this.length = this.limit;
      this.stopAtLimit(controller);
      return;
    }
    this.length += chunk.length;
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.settle(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.rejectResponse(error);
  }

  abandon(): void {
    this.abort('abandoned');
  }

  abort(cause: ExchangeAbortCause): void {
    if (this.settled) return;
    this.abortCause = cause;
    this.settled = true;
    this.release();
    this.rejectResponse(new ExchangeAbortedError(cause));
    // Before onRequestStart the request is still waiting for a connection; it is aborted
    // there as soon as it starts.
    this.controller?.abort(new ExchangeAbortedError(cause));
  }

  /** Ends the exchange with what was read and closes the connection, which drops the rest. */
  private stopAtLimit(controller: Dispatcher.DispatchController): void {
    this.settle(true);
    controller.abort(new BodyLimitReachedError());
  }

  private settle(overLimit: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.resolveResponse({
      statusCode: this.statusCode,
      statusText: this.statusText,
      headers: this.headers,
      body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks),
      overLimit,
    });
  }

  private release(): void {
    clearTimeout(this.timer);
    this.inFlight.delete(this);
  }
}

function abortOnTimeout(exchange: HttpExchange): void {
  exchange.abort('timeout');
}
