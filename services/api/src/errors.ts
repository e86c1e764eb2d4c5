import {
  BullpenError,
  MethodNotAllowedError,
  withoutRedisCommandArguments,
  RedisOutOfMemoryError,
  RedisUnavailableError,
  ValidationError,
  type Logger,
} from '@bullpen/core';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RateLimitedWarning } from './rate-limited-warning';

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
 * Redis rejects commands for a while (LOADING, BUSY, READONLY).
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
  // A primary that became a replica in a failover rejects writes without running them. The
  // connection reconnects on this reply (see createRedis in @bullpen/core).
  /^READONLY /,
  /Reached the max retries per request limit/i,
  // ioredis 5 rejects the rest of a pipeline with this when the connection closes after
  // some of its replies. With auto-pipelining every command is in a pipeline.
  /Command aborted due to connection close/i,
];

function isRedisConnectionError(error: Error): boolean {
  return anyRedisReply(error, (reply) =>
    CONNECTION_ERROR_PATTERNS.some((pattern) => pattern.test(reply.message)),
  );
}

/**
 * Redis 7.0 rejects a command that may grow memory use, while used memory is over
 * `maxmemory`, with "OOM command not allowed when used memory > 'maxmemory'.". When the
 * command runs in a Lua script, as BullMQ's job writes do, Redis appends
 * " script: <sha1>, on @user_script:<line>.". Inside MULTI, Redis rejects every queued command,
 * reads too, so EXEC fails with EXECABORT, and ioredis 5 lists the queued commands' errors in
 * `previousErrors`.
 */
const OUT_OF_MEMORY_PATTERN = /OOM command not allowed/;

function isRedisOutOfMemoryError(error: Error): boolean {
  return anyRedisReply(error, (reply) => OUT_OF_MEMORY_PATTERN.test(reply.message));
}

/**
 * Returns whether `error` matches, or for an EXECABORT, one of its queued commands' errors,
 * which ioredis 5 lists in `previousErrors`. For example, a replica rejects a queued write with
 * READONLY, and Redis then aborts the whole transaction.
 */
function anyRedisReply(error: Error, matches: (reply: Error) => boolean): boolean {
  if (matches(error)) return true;
  const previousErrors = (error as { previousErrors?: unknown }).previousErrors;
  return (
    Array.isArray(previousErrors) &&
    previousErrors.some((queued) => queued instanceof Error && matches(queued))
  );
}

/**
 * Wraps an error from ioredis or BullMQ in the Bullpen error for its Redis condition, if any.
 * Bullpen's own errors and Hono's pass unchanged, because their messages can quote request
 * values that happen to match a pattern.
 */
function toRedisError(error: Error): BullpenError | undefined {
  if (error instanceof BullpenError || error instanceof HTTPException) return undefined;
  if (isRedisOutOfMemoryError(error)) return new RedisOutOfMemoryError(undefined, error);
  if (isRedisConnectionError(error)) return new RedisUnavailableError(undefined, error);
  return undefined;
}

/** Rate-limited warn lines for requests that got 503 because of Redis, one per cause. */
export interface RedisWarnings {
  readonly unavailable: RateLimitedWarning;
  readonly outOfMemory: RateLimitedWarning;
}

/** Creates the two rate-limited warn lines, each allowing one line per `intervalMs`. */
export function createRedisWarnings(logger: Logger, intervalMs: number): RedisWarnings {
  return {
    unavailable: new RateLimitedWarning(logger, 'redis unavailable', intervalMs),
    outOfMemory: new RateLimitedWarning(logger, 'redis out of memory', intervalMs),
  };
}

/** Warn line and Retry-After value of a 503 caused by Redis. */
interface RedisRejection {
  readonly warning: RateLimitedWarning;
  readonly retryAfterSeconds: number;
}

/** Returns the warn line and Retry-After value for a Redis error, or undefined for others. */
function describeRedisRejection(
  error: BullpenError,
  warnings: RedisWarnings,
): RedisRejection | undefined {
  if (error instanceof RedisOutOfMemoryError) {
    return { warning: warnings.outOfMemory, retryAfterSeconds: error.retryAfterSeconds };
  }
  if (error instanceof RedisUnavailableError) {
    return { warning: warnings.unavailable, retryAfterSeconds: error.retryAfterSeconds };
  }
  return undefined;
}

function errorResponse(c: Context, status: number, body: ErrorBody): Response {
  return c.json(body, status as ContentfulStatusCode);
}

/**
 * Turns every error into the JSON error format. Only BullpenErrors and Hono's own HTTP
 * exceptions reach the client with their message. Redis connection and out-of-memory errors
 * become 503 with Retry-After and a rate-limited warn line. Anything else is logged with the
 * request id and returns 500 without internal text.
 */
export function createErrorHandler(logger: Logger, redisWarnings: RedisWarnings) {
  return (thrown: Error, c: Context): Response => {
    const requestId = c.get('requestId') as string | undefined;
    const error = toRedisError(thrown) ?? thrown;

    if (error instanceof BullpenError) {
      const body: ErrorBody = { error: { code: error.code, message: error.message } };
      if (error instanceof ValidationError && error.issues.length > 0) {
        body.error.issues = error.issues;
      }
      if (error instanceof MethodNotAllowedError) {
        c.header('Allow', error.allowedMethods.join(', '));
      }
      const redisRejection = describeRedisRejection(error, redisWarnings);
      if (redisRejection) {
        redisRejection.warning.warn({
          requestId,
          path: c.req.path,
          err: withoutRedisCommandArguments(error.cause),
        });
        c.header('Retry-After', String(redisRejection.retryAfterSeconds));
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

    logger.error(
      { requestId, path: c.req.path, err: withoutRedisCommandArguments(error) },
      'request failed unexpectedly',
    );
    return errorResponse(c, 500, {
      error: {
        code: 'internal_error',
        message: 'The server failed to handle the request; report the request id.',
        requestId,
      },
    });
  };
}
