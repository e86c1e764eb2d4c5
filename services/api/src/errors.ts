import { BullpenError, RedisUnavailableError, ValidationError, type Logger } from '@bullpen/core';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    issues?: ReadonlyArray<{ path: string; message: string }>;
    requestId?: string;
  };
}

/**
 * Messages ioredis, BullMQ and Redis use when the connection is down, a command timed out, or
 * Redis rejects commands for a while (LOADING, BUSY).
 */
const CONNECTION_ERROR_PATTERNS = [
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /Command timed out/i,
  /ECONNREFUSED/,
  /ECONNRESET/,
  /ETIMEDOUT/,
  /EPIPE/,
  /connect ENOENT/,
  /LOADING/,
  // Redis replies BUSY to other clients' commands, without running them, while a Lua script
  // or function has run longer than busy-reply-threshold (5 s by default in Redis 7.0).
  /^BUSY /,
  /Reached the max retries per request limit/i,
  // ioredis 5 rejects the rest of a pipeline with this when the connection closes after
  // some of its replies. With auto-pipelining every command is in a pipeline.
  /Command aborted due to connection close/i,
];

function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return CONNECTION_ERROR_PATTERNS.some((pattern) => pattern.test(error.message));
}

function errorResponse(c: Context, status: number, body: ErrorBody): Response {
  return c.json(body, status as ContentfulStatusCode);
}

/**
 * Turns every error into the JSON error format. Only BullpenErrors and Hono's own HTTP
 * exceptions reach the client with their message; anything else is logged with the request
 * id and answered 500 without internal text.
 */
export function createErrorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    const requestId = c.get('requestId') as string | undefined;

    if (error instanceof BullpenError) {
      const body: ErrorBody = { error: { code: error.code, message: error.message } };
      if (error instanceof ValidationError && error.issues.length > 0) {
        body.error.issues = error.issues;
      }
      if (error instanceof RedisUnavailableError) {
        logger.warn({ requestId, path: c.req.path, err: error.cause }, 'redis unavailable');
        c.header('Retry-After', '1');
      }
      return errorResponse(c, error.status, body);
    }

    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 413 ? 'payload_too_large' : 'bad_request';
      const message =
        status === 413 ? 'The request body is larger than the API accepts.' : error.message;
      return errorResponse(c, status, { error: { code, message } });
    }

    if (isRedisConnectionError(error)) {
      logger.warn({ requestId, path: c.req.path, err: error }, 'redis unavailable');
      c.header('Retry-After', '1');
      const unavailable = new RedisUnavailableError();
      return errorResponse(c, 503, {
        error: { code: unavailable.code, message: unavailable.message },
      });
    }

    logger.error({ requestId, path: c.req.path, err: error }, 'request failed unexpectedly');
    return errorResponse(c, 500, {
      error: {
        code: 'internal_error',
        message: 'The server failed to handle the request; report the request id.',
        requestId,
      },
    });
  };
}
