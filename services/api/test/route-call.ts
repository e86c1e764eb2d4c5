import type { ApiServer } from '../src/server';

/** Bound on one call, so that a hung request fails its test instead of stalling it. */
const REQUEST_TIMEOUT_MS = 10_000;

/** One response as the Redis failure tests check it. */
export interface Reply {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly contentType: string;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
  readonly elapsedMs: number;
}

/** One request; `headers` replaces the default headers of `callRoute` when given. */
export interface RouteCall {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** Sends `route` to the API server, with `body` as JSON, and reads the whole response. */
export async function callRoute(
  server: ApiServer,
  route: RouteCall,
  defaultHeaders: Record<string, string>,
): Promise<Reply> {
  const started = performance.now();
  const response = await fetch(`${server.url}${route.path}`, {
    method: route.method,
    headers: route.headers ?? defaultHeaders,
    body: route.body === undefined ? undefined : JSON.stringify(route.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  const elapsedMs = performance.now() - started;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text, so that the assertion shows what came back.
  }
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    contentType: response.headers.get('content-type') ?? '',
    body,
    elapsedMs,
  };
}
