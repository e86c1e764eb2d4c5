import { RedisUnavailableError } from '@bullpen/core';
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';

/**
 * Returns 503 at once while the Redis connection is not ready, and when a route has not
 * finished within `timeoutMs`. BullMQ waits for a connection that is reconnecting instead of
 * failing, so without the deadline a request could hang for as long as Redis is away.
 */
export function requireRedis(redis: Redis, timeoutMs: number): MiddlewareHandler {
  return async (_c, next) => {
    if (redis.status !== 'ready') {
      throw new RedisUnavailableError(`Redis is unavailable (${redis.status}); try again shortly.`);
    }

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new RedisUnavailableError(`Redis did not respond within ${timeoutMs} ms.`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([next(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}
