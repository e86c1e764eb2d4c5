import { RedisUnavailableError } from '@bullpen/core';
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';

/**
 * Returns 503 at once while the Redis connection is not ready, and when a route has not
 * finished within `timeoutMs`. BullMQ waits for a connection that is reconnecting instead of
 * failing, so without the deadline a request could hang for as long as Redis is away.
 */
export function requireRedis(redis: Redis, timeoutMs: number): MiddlewareHandler {
  const checkReady = () => {
    if (redis.status !== 'ready') {
      throw new RedisUnavailableError(`Redis is unavailable (${redis.status}); try again shortly.`);
    }
  };

  return async (c, next) => {
    checkReady();
    // The deadline is for Redis, not for a client's slow upload, so the body is read first.
    // Hono keeps it, and the route's own read returns the same bytes.
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      await c.req.arrayBuffer();
      checkReady();
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
