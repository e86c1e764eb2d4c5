import { createRedis } from '@bullpen/core';
import type { Redis } from 'ioredis';
import type { ApiConfig } from './config';

/**
 * Opens the Redis connection that all routes of one API process share. No offline queue and
 * a command timeout make a request fail fast while Redis is away, and the retry strategy
 * keeps reconnecting.
 *
 * Auto-pipelining sends the commands of concurrent requests in one write instead of one
 * write each, which halved the write calls per single-job post (docs/benchmarks.md).
 * NOTE: a command issued while an earlier batch waits for its replies waits too, and its
 * command timeout starts only when it is sent. The `requireRedis` deadline still bounds each
 * request.
 */
export function createApiRedis(config: ApiConfig): Redis {
  return createRedis(config.redis, {
    enableOfflineQueue: false,
    commandTimeout: config.redisTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    connectionName: 'bullpen-api',
    enableAutoPipelining: true,
  });
}
