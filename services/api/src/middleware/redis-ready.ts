import { RedisUnavailableError } from '@bullpen/core';
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';

/**
 * Returns 503 at once while the Redis connection is not ready, and when a route has not
 * finished within `timeoutMs`. BullMQ waits for a connection that is reconnecting instead of
 * failing, so without the deadline a request could hang for as long as Redis is away.
 */
export function requireRedis(redis: Redis, timeoutMs: number): MiddlewareHandler {
  return (_c, next) => {
    if (redis.status !== 'ready') {
      return Promise.reject(
        new RedisUnavailableError(`Redis is unavailable (${redis.status}); try again shortly.`),
      );
    }
    // One promise settled by whichever comes first, rather than Promise.race over a second
    // deadline promise, because every request on a Redis route passes here.
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisUnavailableError(`Redis did not respond within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      const fail = (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      };

      let route: Promise<void>;
      try {
        route = next();
      } catch (error) {
        fail(error);
        return;
      }
      route.then(() => {
        clearTimeout(timer);
        resolve();
      }, fail);
    });
  };
}
