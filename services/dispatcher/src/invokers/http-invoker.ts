import http from 'node:http';
import { errors as undiciErrors } from 'undici';
import {
  DISPATCH_HEADERS,
  EndpointAddressError,
  UNRECOVERABLE_HEADER,
  idempotencyKeyFor,
  type DispatchRequest,
  type HttpEndpoint,
} from '@bullpen/core';
import type { CallOutcome } from '../outcome';
import { decodeReturnValue } from '../outcome';
import {
  parseRetryAfterMs,
  type CallContext,
  type Clock,
  type InFlightCalls,
} from './call-context';
import type { EndpointPools } from './endpoint-pools';
import { HttpExchange, type ExchangeAbortCause, type ExchangeResponse } from './http-exchange';
import type { SigV4Signer } from './sigv4-signer';
import { TraceparentSource } from './traceparent';

/** How much of an error response body goes into the job's `failedReason`. */
const FAILED_REASON_BODY_BYTES = 1024;

const USER_AGENT = 'bullpen-dispatcher';

export interface HttpInvokerSettings {
  /** Connection pools per endpoint origin; see `EndpointPools`. */
  readonly pools: EndpointPools;
  /** Calls that shutdown may abandon. */
  readonly inFlight: InFlightCalls;
  readonly clock: Clock;
  /** Queue pause after a 429 or 503 response that has no usable Retry-After. */
  readonly throttleDelayMs: number;
  /** Signs endpoints registered with `auth: {type: "aws-iam"}`. */
  readonly signer: SigV4Signer;
  /** Region for SigV4 when the endpoint names none. */
  readonly defaultRegion?: string;
}

/** An endpoint prepared once for every request to it. */
interface PreparedEndpoint {
  readonly url: URL;
  readonly origin: string;
  /** Path and query string. */
  readonly path: string;
  /** Registered headers with lower-case names, so that the protocol headers replace them. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Calls HTTP endpoints and maps their responses to call outcomes. */
export class HttpInvoker {
  private readonly settings: HttpInvokerSettings;
  private readonly traceparents = new TraceparentSource();
  /** Keyed by the endpoint object, which lives as long as its registration. */
  private readonly prepared = new WeakMap<HttpEndpoint, PreparedEndpoint>();

  constructor(settings: HttpInvokerSettings) {
    this.settings = settings;
  }

  async call(
    endpoint: HttpEndpoint,
    dispatchRequest: DispatchRequest,
    context: CallContext,
  ): Promise<CallOutcome> {
    const body = JSON.stringify(dispatchRequest);
    const target = this.prepare(endpoint);

    let headers = this.buildHeaders(target, dispatchRequest, context.attempt);
    if (endpoint.auth) {
      try {
        headers = await this.sign(endpoint, target.url, headers, body);
      } catch (error) {
        return {
          kind: 'failed',
          reason: `Signing the request failed: ${(error as Error).message}`,
        };
      }
    }

    // The exchange's own timer covers the whole exchange, from connecting to the last byte
    // of the body, and shutdown can abandon it.
    const exchange = new HttpExchange();
    const responsePromise = exchange.start(
      this.settings.pools.poolFor(target.origin),
      { path: target.path, method: endpoint.method, headers, body },
      {
        timeoutMs: endpoint.timeout,
        successBodyBytes: endpoint.maxResponseBytes,
        errorBodyBytes: FAILED_REASON_BODY_BYTES,
      },
      this.settings.inFlight,
    );

    let response: ExchangeResponse;
    try {
      response = await responsePromise;
    } catch (error) {
      return describeCallError(
        error,
        exchange.cause,
        exchange.responseStarted,
        endpoint,
        target.origin,
      );
    }
    return this.readResponse(endpoint, response);
  }

  private prepare(endpoint: HttpEndpoint): PreparedEndpoint {
    let prepared = this.prepared.get(endpoint);
    if (!prepared) {
      const url = new URL(endpoint.url);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(endpoint.headers ?? {})) {
        headers[name.toLowerCase()] = value;
      }
      prepared = { url, origin: url.origin, path: `${url.pathname}${url.search}`, headers };
      this.prepared.set(endpoint, prepared);
    }
    return prepared;
  }

  private buildHeaders(
    target: PreparedEndpoint,
    dispatchRequest: DispatchRequest,
    attempt: number,
  ): Record<string, string> {
    // Registered headers come first so that they cannot replace the protocol headers.
    return {
      ...target.headers,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      [DISPATCH_HEADERS.queue]: dispatchRequest.queue,
      [DISPATCH_HEADERS.jobId]: dispatchRequest.job.id,
      [DISPATCH_HEADERS.attempt]: String(attempt),
      [DISPATCH_HEADERS.idempotencyKey]: idempotencyKeyFor(
        dispatchRequest.queue,
        dispatchRequest.job.id,
      ),
      [DISPATCH_HEADERS.traceparent]: this.traceparents.next(),
    };
  }

  private async sign(
    endpoint: HttpEndpoint,
    url: URL,
    headers: Record<string, string>,
    body: string,
  ): Promise<Record<string, string>> {
    const region = endpoint.auth?.region ?? this.settings.defaultRegion;
    if (!region) {
      throw new Error(
        'no AWS region for SigV4: set "auth.region" in the registration or AWS_REGION ' +
          'in the dispatcher environment',
      );
    }
    return this.settings.signer.sign({ url, method: endpoint.method, headers, body }, region);
  }

  private readResponse(endpoint: HttpEndpoint, response: ExchangeResponse): CallOutcome {
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      if (response.overLimit) {
        return { kind: 'unrecoverable', reason: overCapReason(endpoint.maxResponseBytes) };
      }
      return { kind: 'completed', returnValue: decodeReturnValue(response.body) };
    }

    const statusLine =
      `HTTP ${status} ${response.statusText || http.STATUS_CODES[status] || ''}`.trim();
    const bodyText = response.overLimit
      ? `${response.body.toString('utf8')}...`
      : response.body.toString('utf8');

    if (headerValue(response, UNRECOVERABLE_HEADER)?.toLowerCase() === 'true') {
      return {
        kind: 'unrecoverable',
        reason: `${statusLine}, marked unrecoverable by the endpoint`,
        detail: bodyText,
      };
    }

    if (status >= 300 && status < 400) {
      const location = headerValue(response, 'location') ?? 'none';
      return {
        kind: 'failed',
        reason: `${statusLine}: redirects are not followed (Location: ${location})`,
      };
    }

    const retryAfter = headerValue(response, 'retry-after');
    if (status === 429 || (status === 503 && retryAfter !== undefined)) {
      const retryAfterMs = parseRetryAfterMs(retryAfter, this.settings.clock.now());
      return {
        kind: 'throttled',
        reason: `${statusLine}${retryAfter === undefined ? '' : ` (Retry-After: ${retryAfter})`}`,
        retryAfterMs: retryAfterMs ?? this.settings.throttleDelayMs,
      };
    }

    return { kind: 'failed', reason: statusLine, detail: bodyText };
  }
}

function overCapReason(maxResponseBytes: number): string {
  return (
    `The response body is larger than maxResponseBytes (${maxResponseBytes} bytes); ` +
    'the read stopped at the cap. Return less data or register a larger maxResponseBytes.'
  );
}

function headerValue(response: ExchangeResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const CONNECTION_RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const DNS_FAILURE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);

/** Maps a call that produced no usable response to an outcome that names the cause. */
function describeCallError(
  error: unknown,
  abortCause: ExchangeAbortCause | undefined,
  responseStarted: boolean,
  endpoint: HttpEndpoint,
  origin: string,
): CallOutcome {
  if (abortCause === 'abandoned') {
    return { kind: 'abandoned', reason: 'the dispatcher shut down before the call finished' };
  }
  if (
    abortCause === 'timeout' ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  ) {
    return {
      kind: 'failed',
      reason: `The call to ${origin} timed out after ${endpoint.timeout} ms`,
    };
  }
  if (error instanceof EndpointAddressError) {
    return { kind: 'unrecoverable', reason: error.message };
  }

  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? String(error);
  if (responseStarted) {
    return {
      kind: 'failed',
      reason: `The response body from ${origin} was truncated`,
      detail: message,
    };
  }
  if (code === 'ECONNREFUSED') {
    return { kind: 'failed', reason: `Connection refused by ${origin}` };
  }
  if (CONNECTION_RESET_CODES.has(code)) {
    return { kind: 'failed', reason: `The connection to ${origin} was reset: ${message}` };
  }
  if (DNS_FAILURE_CODES.has(code)) {
    return { kind: 'failed', reason: `DNS lookup for ${origin} failed (${code})` };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { kind: 'failed', reason: `Connecting to ${origin} timed out` };
  }
  return {
    kind: 'failed',
    reason: `The call to ${origin} failed: ${code ? `${code} ` : ''}${message}`,
  };
}
